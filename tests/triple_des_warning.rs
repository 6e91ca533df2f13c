//! A read with the `3des` suite warns (through `tracing`, once per process)
//! that 3DES is not constant time; AES reads do not. Its own test binary:
//! the warning is process-wide.
#![cfg(test)]

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use cardap::{Card, Profile};
use cardap_sim::VirtualCard;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Warning events, as text.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Text<'a>(&'a mut String);

impl Visit for Text<'_> {
    fn record_debug(&mut self, _: &Field, value: &dyn Debug) {
        self.0.push_str(&format!("{value:?}"));
    }
}

impl Subscriber for Warnings {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            let mut line = String::new();
            event.record(&mut Text(&mut line));
            self.0.lock().unwrap().push(line);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn read(profile: &str, times: usize) -> Vec<String> {
    let warnings = Warnings::default();
    tracing::subscriber::with_default(warnings.clone(), || {
        let profile = Profile::from_toml_str(profile).unwrap();
        for _ in 0..times {
            let card = VirtualCard::from_toml_str(include_str!("../bench/card.toml")).unwrap();
            Card::new(card).read(&profile).unwrap();
        }
    });
    warnings.0.lock().unwrap().clone()
}

#[test]
fn the_3des_suite_warns_once_and_aes_does_not() {
    assert!(read(include_str!("../bench/profiles/a-aes128.toml"), 2).is_empty());
    assert!(read(include_str!("../bench/profiles/d-aes256.toml"), 1).is_empty());
    let warnings = read(include_str!("../bench/profiles/d-3des.toml"), 3);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("not constant time"), "{warnings:?}");
}
