//! The public surface as an integrator meets it: a card session that moves to
//! a worker thread, records read through accessors in the profile's order,
//! their JSON, the typed "no keys" error, and the `tracing` spans and events,
//! which carry no card data, keys or PINs.
#![cfg(test)]

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cardap::{ApType, Card, Error, Profile};
use cardap_sim::VirtualCard;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const DEMO: &str = include_str!("../examples/cards/demo.toml");
const EVACUEE: &str = include_str!("../examples/profiles/evacuee.toml");

fn demo() -> VirtualCard {
    VirtualCard::from_toml_str(DEMO).unwrap()
}

#[test]
fn a_card_session_moves_to_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Card<VirtualCard>>();
    let profile = Profile::from_toml_str(EVACUEE).unwrap();
    let mut card = Card::new(demo());
    let record = std::thread::spawn(move || card.read(&profile))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(record.user_id().as_str(), "3003000000035");
}

#[test]
fn records_keep_the_profile_order_in_the_api_and_the_json() {
    let profile = Profile::from_toml_str(EVACUEE).unwrap();
    let names: Vec<&str> = profile.fields().iter().map(|f| f.name()).collect();
    assert_eq!(names, ["name", "shelter", "birth_date"]);
    let record = Card::new(demo()).read(&profile).unwrap();
    assert_eq!(record.name(), "evacuee-record");
    assert_eq!(record.ap_type(), ApType::D);
    assert_eq!(record.aid(), profile.aid());
    assert_eq!(record.apdus(), 4);
    assert_eq!(record.data().map(<[u8]>::len), Some(255 - 13));
    let fields: Vec<(&str, &str)> = record.fields().collect();
    assert_eq!(
        fields,
        [
            ("name", "山田 花子"),
            ("shelter", "市立第一小学校"),
            ("birth_date", "19850412")
        ]
    );
    assert_eq!(record.field("birth_date"), Some("19850412"));
    let json = serde_json::to_string(&record).unwrap();
    assert!(
        json.starts_with(
            "{\"name\":\"evacuee-record\",\"type\":\"D\",\"aid\":\"F0434152444150440003\",\
             \"user_id\":\"3003000000035\",\"data\":\"E5B1B1"
        ),
        "{json}"
    );
    assert!(
        json.ends_with(
            "\"fields\":{\"name\":\"山田 花子\",\"shelter\":\"市立第一小学校\",\
             \"birth_date\":\"19850412\"},\"apdus\":4}"
        ),
        "{json}"
    );
    // Debug shows no card data.
    let debug = format!("{record:?}");
    assert!(
        !debug.contains("3003000000035") && !debug.contains("山田"),
        "{debug}"
    );
}

#[test]
fn an_ap_without_keys_is_a_typed_error() {
    let text: String = EVACUEE
        .lines()
        .filter(|l| !l.starts_with("k_enc") && !l.starts_with("k_mac"))
        .map(|l| format!("{l}\n"))
        .collect();
    let profile = Profile::from_toml_str(&text).unwrap();
    assert!(!profile.auth().unwrap().has_keys());
    let err = Card::new(demo()).read(&profile).unwrap_err();
    assert_eq!(
        err,
        Error::NoKeys {
            ap: "evacuee-record".into()
        }
    );
    assert!(err.to_string().contains("no keys for this AP"), "{err}");
}

/// Every span, field and event, as text.
#[derive(Clone, Default)]
struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    next: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = format!("span {}", span.metadata().name());
        span.record(&mut Fields(&mut line));
        self.lines.lock().unwrap().push(line);
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = "record".to_owned();
        values.record(&mut Fields(&mut line));
        self.lines.lock().unwrap().push(line);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = "event".to_owned();
        event.record(&mut Fields(&mut line));
        self.lines.lock().unwrap().push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn operations_are_traced_without_secrets() {
    let profile = Profile::from_toml_str(EVACUEE).unwrap();
    let capture = Capture::default();
    let record = tracing::subscriber::with_default(capture.clone(), || {
        let mut card = Card::new(demo());
        let record = card.read(&profile).unwrap();
        card.list().unwrap();
        record
    });
    let lines = capture.lines.lock().unwrap().clone();
    let text = lines.join("\n");
    assert!(
        text.contains("span read ap=\"evacuee-record\" ap_type=\"D\""),
        "{text}"
    );
    assert!(text.contains("record apdus=4"), "{text}");
    assert!(text.contains("span list"), "{text}");
    // One event per APDU (4 for the read, then the list), INS and SW only.
    let apdus: Vec<&String> = lines.iter().filter(|l| l.contains(" ins=")).collect();
    assert!(apdus.len() >= 6, "{text}");
    assert!(apdus.iter().all(|l| l.contains(" sw=")), "{text}");
    assert!(text.contains("ins=B0 sw=9000"), "{text}");
    let data = hex::encode_upper(record.data().unwrap());
    for secret in [
        record.user_id().as_str(),
        &data[..16],
        "404142434445",
        "606162636465",
        "山田",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}
