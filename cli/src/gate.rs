//! The registration desk (`cardap register`) and gate mode with a registry
//! (`cardap watch --db`): a tap, a read, a decision.

use std::path::PathBuf;

use cardap::{Card, Profile};
use cardap_registry::Member;
#[cfg(feature = "pcsc")]
use cardap_registry::{Decision, Store};
use serde_json::json;

use crate::Source;
use crate::error::CliResult;
use crate::registry::{member_json, open_db};

/// `cardap register`: reads the card's AP and registers its user ID for
/// `member`. Prints the member as JSON with the APDU count.
pub fn register(
    profile: &Profile,
    source: &Source,
    member: &str,
    label: Option<&str>,
    db: &str,
) -> CliResult {
    let mut store = open_db(db)?;
    let transport = crate::card::open(source)?;
    let record = Card::new(transport).read(profile)?;
    let entry = Member::new(record.user_id(), profile.name(), member, label);
    store.add_member(&entry)?;
    let mut v = member_json(&entry);
    if let Some(map) = v.as_object_mut() {
        map.insert("apdus".into(), json!(record.apdus()));
    }
    outln!("{v}");
    Ok(())
}

#[cfg(feature = "pcsc")]
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

/// Reads a tap and decides.
#[cfg(feature = "pcsc")]
pub fn tap<T: cardap::Transport>(
    transport: Result<T, String>,
    profile: &Profile,
    store: &mut dyn Store,
) -> (Result<(String, usize), String>, Result<Decision, String>) {
    let read = transport.and_then(|t| {
        Card::new(t)
            .read(profile)
            .map(|r| (r.user_id().as_str().to_owned(), r.apdus()))
            .map_err(|e| e.to_string())
    });
    let decision = match &read {
        Err(_) => Ok(Decision::read_failed()),
        Ok((id, _)) => cardap::UserId::parse(id.as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|uid| {
                store
                    .decide(&uid, profile.name())
                    .map_err(|e| e.to_string())
            }),
    };
    (read, decision)
}

/// Gate mode: one JSON line per tap with the registry's decision, until a
/// signal. The same waits as `cardap watch`.
#[cfg(feature = "pcsc")]
pub fn watch(
    profile: &Profile,
    reader: Option<&str>,
    trace: Option<&PathBuf>,
    db: &str,
) -> CliResult {
    let mut store = open_db(db)?;
    crate::card::watch_taps(reader, trace, |name, transport, started| {
        let (read, decision) = tap(transport, profile, store.as_mut());
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        gate_line(&crate::card::now(), name, &read, &decision, ms)
    })
}

#[cfg(not(feature = "pcsc"))]
pub fn watch(
    _profile: &Profile,
    _reader: Option<&str>,
    _trace: Option<&PathBuf>,
    _db: &str,
) -> CliResult {
    Err(crate::error::CliError::new(
        crate::error::Exit::NoCard,
        "this cardap was built without PC/SC (feature `pcsc`)",
    ))
}
