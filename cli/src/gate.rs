//! The registration desk (`cardap register`) and gate mode with a registry
//! (`cardap watch --db`): a tap, a read, a decision.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cardap::ap::Reader;
use cardap::transport::TransportError;
use cardap::{Error as CardError, Profile};
use cardap_registry::{Decision, Member, Store};
use serde_json::json;

use crate::registry::{Failure, member_json, open_db};
use crate::{OutputOpts, Source};

/// The exit class of a card error (see the README's exit codes).
pub fn card_failure(e: &CardError) -> Failure {
    let code = match e {
        CardError::Transport(
            TransportError::NoCard
            | TransportError::CardRemoved
            | TransportError::ReaderUnavailable(_)
            | TransportError::ServiceUnavailable(_),
        ) => 4,
        CardError::ApNotFound { .. } => 5,
        CardError::Status { sw, .. } if matches!(sw.to_u16(), 0x6A82 | 0x6A88) => 5,
        CardError::Auth(_) | CardError::SecureMessaging(_) | CardError::Crypto(_) => 6,
        CardError::Status { .. } => 7,
        CardError::Profile(_) => 3,
        _ => 1,
    };
    Failure::new(code, e.to_string())
}

/// `cardap register`: reads the card's AP and registers its user ID for
/// `member`. Prints the member as JSON with the APDU count.
pub fn register(
    profile: &Profile,
    source: &Source,
    member: &str,
    label: Option<&str>,
    db: &str,
) -> Result<(), Failure> {
    let mut store = open_db(db)?;
    // A virtual card's description file is an input file (3); a reader that
    // cannot be reached is class 4.
    let class = if source.virtual_card.is_some() { 3 } else { 4 };
    let transport = crate::card::open(source).map_err(|e| Failure::new(class, e))?;
    let out = OutputOpts {
        format: crate::Format::Json,
        trace: None,
        short: false,
    };
    let record = crate::card::with_reader(transport, &out, |r| r.read(profile))
        .map_err(|e| Failure::new(1, e))?
        .map_err(|e| card_failure(&e))?;
    let entry = Member::new(&record.user_id, &profile.name, member, label);
    store.add_member(&entry)?;
    let mut v = member_json(&entry);
    if let Some(map) = v.as_object_mut() {
        map.insert("apdus".into(), json!(record.apdus));
    }
    outln!("{v}");
    Ok(())
}

/// One gate line: `time, reader, ok, user_id, decision, reason, source,
/// member, apdus, ms` (and `error` when the read or the registry failed).
pub fn gate_line(
    time: &str,
    reader: &str,
    read: &Result<(String, usize), String>,
    decision: &Result<Decision, String>,
    ms: f64,
) -> serde_json::Value {
    let ms = (ms * 100.0).round() / 100.0;
    let (ok, user_id, apdus) = match read {
        Ok((id, apdus)) => (true, Some(id.clone()), Some(*apdus)),
        Err(_) => (false, None, None),
    };
    let mut line = match decision {
        Ok(d) => json!({
            "time": time, "reader": reader, "ok": ok, "user_id": user_id,
            "decision": d.decision_name(), "reason": d.deny.map(|r| r.as_str()),
            "source": d.source.map(|s| s.as_str()), "member": d.member,
            "apdus": apdus, "ms": ms,
        }),
        // The registry failed: the gate stays shut.
        Err(_) => json!({
            "time": time, "reader": reader, "ok": ok, "user_id": user_id,
            "decision": "deny", "reason": null, "source": null, "member": null,
            "apdus": apdus, "ms": ms,
        }),
    };
    let error = match (read, decision) {
        (Err(e), _) => Some(e.clone()),
        (Ok(_), Err(e)) => Some(format!("registry: {e}")),
        _ => None,
    };
    if let (Some(e), Some(map)) = (error, line.as_object_mut()) {
        map.insert("error".into(), json!(e));
    }
    line
}

/// Reads a tap and decides. `ms` covers both, from the connect to the
/// decision.
pub fn tap<T: cardap::transport::Transport>(
    transport: Result<T, String>,
    profile: &Profile,
    store: &mut dyn Store,
) -> (Result<(String, usize), String>, Result<Decision, String>) {
    let read = transport.and_then(|t| {
        Reader::new(t)
            .read(profile)
            .map(|r| (r.user_id.as_str().to_owned(), r.apdus))
            .map_err(|e| e.to_string())
    });
    let decision = match &read {
        Err(_) => Ok(Decision::read_failed()),
        Ok((id, _)) => cardap::UserId::parse(id.as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|uid| store.decide(&uid, &profile.name).map_err(|e| e.to_string())),
    };
    (read, decision)
}

/// Gate mode: one JSON line per tap with the registry's decision, until a
/// signal.
#[cfg(feature = "pcsc")]
pub fn watch(
    profile: &Profile,
    reader: Option<&str>,
    trace: Option<&PathBuf>,
    db: &str,
) -> Result<(), Failure> {
    use cardap::pcsc::{PcscTransport, ReaderMonitor};

    let mut store = open_db(db)?;
    let monitor = ReaderMonitor::new().map_err(|e| Failure::new(4, format!("PC/SC: {e}")))?;
    let canceller = monitor.canceller();
    let stop = crate::signals::stop_flag(move || {
        let _ = canceller.cancel();
    })
    .map_err(|e| Failure::new(1, e))?;
    let mut stdout = std::io::stdout();
    while !stop.load(Ordering::SeqCst) {
        let info = match monitor.wait_for_card(reader, None) {
            Ok(info) => info,
            Err(TransportError::Cancelled) => break,
            Err(e) => {
                emit(
                    &mut stdout,
                    json!({"time": now(), "reader": reader, "ok": false, "error": e.to_string()}),
                );
                std::thread::sleep(std::time::Duration::from_millis(500));
                continue;
            }
        };
        let started = Instant::now();
        let transport = PcscTransport::connect(Some(&info.name))
            .map_err(|e| e.to_string())
            .and_then(|t| crate::card::traced(Box::new(t), trace, true));
        let (read, decision) = tap(transport, profile, store.as_mut());
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        emit(
            &mut stdout,
            gate_line(&now(), &info.name, &read, &decision, ms),
        );
        match monitor.wait_for_removal(&info.name, None) {
            Ok(()) => {}
            Err(TransportError::Cancelled) => break,
            Err(e) => emit(
                &mut stdout,
                json!({"time": now(), "reader": info.name, "ok": false, "error": e.to_string()}),
            ),
        }
    }
    Ok(())
}

#[cfg(not(feature = "pcsc"))]
pub fn watch(
    _profile: &Profile,
    _reader: Option<&str>,
    _trace: Option<&PathBuf>,
    _db: &str,
) -> Result<(), Failure> {
    Err(Failure::new(
        4,
        "this cardap was built without PC/SC (feature `pcsc`)",
    ))
}

fn emit(out: &mut std::io::Stdout, v: serde_json::Value) {
    let mut lock = out.lock();
    let _ = writeln!(lock, "{v}");
    let _ = lock.flush();
}

fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
