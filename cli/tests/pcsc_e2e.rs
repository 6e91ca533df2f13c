//! End to end through the real PC/SC stack, with the `cardap` binary on both
//! sides: `cardap sim` serves a virtual card to pcscd's vpcd reader and
//! `cardap read/list/watch/bench --reader` (or an independent client) reads it.
//!
//! Needs pcscd with vpcd (`bash scripts/pcscd-up.sh`), so the tests are
//! ignored by default; `scripts/test.sh` runs them (`--include-ignored`).
//! Every test holds one lock: there is one pcscd and these tests share the
//! reader `Virtual PCD 00 01`.
#![cfg(test)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use cardap::pcsc::{PcscTransport, ReaderMonitor};
use cardap::{Card, Profile};
use cardap_sim::VirtualCard;
use cardap_sim::vpcd::VpcdServer;
use common::pcsc::{
    PORT, PulledAt, READER, WAIT, root, serial, terminate, wait_for_card, wait_for_removal,
};
use common::{Rng, combos, make, seed};

fn tmp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cardap-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn cardap() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cardap"));
    c.current_dir(root());
    c
}

/// `cardap sim` on the test reader for as long as it lives.
struct Sim(Child);

impl Sim {
    fn start(card: &Path, extra: &[&str]) -> Self {
        let child = cardap()
            .args(["sim", "--port", &PORT.to_string(), "--card"])
            .arg(card)
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Owned before waiting, so that a failed wait still stops the process.
        let sim = Self(child);
        wait_for_card();
        sim
    }
    fn stop(mut self) {
        terminate(&mut self.0);
        wait_for_removal();
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read_json(profile: &Path, extra: &[&str]) -> serde_json::Value {
    let out = cardap()
        .args(["read", "--reader", READER, "--profile"])
        .arg(profile)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn every_type_suite_and_length_mode_through_pcscd() {
    let _lock = serial();
    let seed = seed();
    println!("CARDAP_SEED={seed}");
    let mut rng = Rng(seed);
    for (i, (kind, suite, ext)) in combos().into_iter().enumerate() {
        let case = make(&mut rng, kind, suite, ext);
        let card = tmp(&format!("card{i}.toml"), &case.card);
        let profile = tmp(&format!("profile{i}.toml"), &case.profile);
        let sim = Sim::start(&card, &[]);
        let v = read_json(&profile, &[]);
        let ctx = format!("seed {seed} {kind} {suite} ext={ext}");
        common::assert_read_json(&v, &case, &ctx);
        sim.stop();
    }
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn list_readers_apdu_and_no_extended_through_pcscd() {
    let _lock = serial();
    let demo = root().join("examples/cards/demo.toml");
    let sim = Sim::start(&demo, &["--no-extended"]);
    let out = cardap().args(["readers"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == READER)
        .unwrap();
    assert_eq!(ours["card_present"], true);
    assert_eq!(ours["atr"], "3B858101807394010063");
    let out = cardap()
        .args(["list", "--reader", READER])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    // No extended length on the card: Type D takes five round trips.
    let v = read_json(&root().join("examples/profiles/evacuee.toml"), &[]);
    assert_eq!(v["apdus"], 5);
    assert_eq!(v["fields"]["shelter"], "市立第一小学校");
    let out = cardap()
        .args([
            "apdu",
            "--reader",
            READER,
            "00A4040C0AF0434152444150430001",
            "00B0810000",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("< C00D31303031303030303030303139"), "{text}");
    sim.stop();
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn watch_reads_every_tap_across_removals() {
    let _lock = serial();
    let mut watch = cardap()
        .args([
            "watch",
            "--reader",
            READER,
            "--profile",
            "examples/profiles/library.toml",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let demo = root().join("examples/cards/demo.toml");
    for tap in 0..3 {
        let sim = Sim::start(&demo, &[]);
        let line = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no line for tap {tap}"));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["ok"], true, "{line}");
        assert_eq!(v["user_id"], "1001000000019");
        assert_eq!(v["reader"], READER);
        assert!(v["ms"].as_f64().unwrap() >= 0.0);
        sim.stop();
    }
    terminate(&mut watch);
    assert!(rx.try_recv().is_err(), "one line per tap");
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn a_card_pulled_at_every_apdu_gives_a_typed_error_then_reads_again() {
    let _lock = serial();
    let demo = root().join("examples/cards/demo.toml");
    let profiles = ["library", "kiosk", "evacuee"]
        .map(|p| Profile::from_file(root().join(format!("examples/profiles/{p}.toml"))).unwrap());
    let server = VpcdServer::new("127.0.0.1", PORT);
    let handle = server.handle();
    let at = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let serving = {
        let (at, stop, handle) = (Arc::clone(&at), Arc::clone(&stop), handle.clone());
        let card = VirtualCard::from_file(&demo).unwrap();
        std::thread::spawn(move || {
            let mut side = PulledAt::new(card, at, handle);
            server.serve(&mut side, &stop, None)
        })
    };
    for profile in &profiles {
        let rounds = if profile.name() == "city-library" {
            2
        } else {
            4
        };
        for k in 1..=rounds {
            wait_for_card();
            at.store(k, Ordering::SeqCst);
            let mut reader = Card::new(PcscTransport::connect(Some(READER)).unwrap());
            let err = reader
                .read(profile)
                .expect_err("a pulled card returns no data");
            assert!(err.card_state_lost(), "{} k={k}: {err:?}", profile.name());
            wait_for_removal();
            at.store(0, Ordering::SeqCst);
            handle.insert();
            wait_for_card();
            let mut reader = Card::new(PcscTransport::connect(Some(READER)).unwrap());
            let rec = reader
                .read(profile)
                .unwrap_or_else(|e| panic!("{} after k={k}: {e}", profile.name()));
            assert_eq!(rec.apdus(), rounds);
        }
    }
    stop.store(true, Ordering::SeqCst);
    serving.join().unwrap().unwrap();
    wait_for_removal();
    let _ = ReaderMonitor::new();
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn two_processes_read_in_parallel_without_failures() {
    let _lock = serial();
    let sim = Sim::start(&root().join("examples/cards/demo.toml"), &[]);
    let spawn = |profile: &str| {
        cardap()
            .args(["bench", "--reader", READER, "--count", "1000", "--profile"])
            .arg(format!("examples/profiles/{profile}.toml"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Type D and Type A interleaved on one card: each read is one
    // transaction, so neither secure channel sees the other's APDUs.
    let children = [spawn("evacuee"), spawn("kiosk")];
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["count"], 1000);
        assert_eq!(v["failures"], 0, "{v}");
        println!("{v}");
    }
    sim.stop();
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn an_independent_client_gets_the_profile_bytes() {
    let _lock = serial();
    // The C-plain card of the golden transcripts, read with scriptor (pcsc-tools).
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/vectors/profile-v1.json")).unwrap(),
    )
    .unwrap();
    let t = v["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "C-plain")
        .unwrap();
    let c = &t["card"];
    let card = tmp(
        "c-plain.toml",
        &format!(
            "extended_length = false\n[[ap]]\ntype = \"C\"\naid = \"{}\"\nuser_id = \"{}\"\ninfo1 = \"{}\"\ninfo2 = \"{}\"\ninfo3 = \"{}\"\n",
            c["aid"].as_str().unwrap(),
            c["user_id"].as_str().unwrap(),
            c["info1"].as_str().unwrap(),
            c["info2"].as_str().unwrap(),
            c["info3"].as_str().unwrap()
        ),
    );
    let sim = Sim::start(&card, &[]);
    let exchanges = t["exchanges"].as_array().unwrap();
    let script: String = exchanges
        .iter()
        .map(|e| format!("{}\n", e["command"].as_str().unwrap()))
        .collect();
    let script_file = tmp("script.txt", &script);
    let out = Command::new("scriptor")
        .args(["-r", READER])
        .arg(&script_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // scriptor prints each response after '<', wrapped, ending with ': meaning'.
    let text = String::from_utf8_lossy(&out.stdout);
    let mut responses = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("< ") {
            current = Some(String::new());
            let _ = current.as_mut().map(|c| c.push_str(rest));
        } else if line.starts_with("> ") || !line.contains(' ') {
            if let Some(c) = current.take() {
                responses.push(c);
            }
            continue;
        } else if let Some(c) = current.as_mut() {
            c.push_str(line);
        }
        if let Some(c) = current.as_ref().filter(|c| c.contains(':')) {
            let hex: String = c.split(':').next().unwrap().split_whitespace().collect();
            responses.push(hex);
            current = None;
        }
    }
    let expected: Vec<String> = exchanges
        .iter()
        .map(|e| e["response"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(responses, expected, "{text}");
    sim.stop();
}

/// The registration desk and a gate with a registry, through pcscd: a tap
/// registers the demo card's Type C user ID; then `watch --db` decides each
/// tap (allow; deny for a provider suspension, a feed abolition, an unknown
/// user) while statuses change under it.
#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn register_then_watch_with_a_registry_allows_and_denies() {
    let _lock = serial();
    let db = std::env::temp_dir().join(format!("cardap-e2e-gate-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&db);
    let demo = root().join("examples/cards/demo.toml");
    let id = "1001000000019";
    let registry = |args: &[&str]| -> serde_json::Value {
        let out = cardap().args(args).arg("--db").arg(&db).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    // The desk: tap, read, register.
    let sim = Sim::start(&demo, &[]);
    let desk = registry(&[
        "register",
        "--reader",
        READER,
        "--profile",
        "examples/profiles/library.toml",
        "--member",
        "M-0001",
        "--label",
        "Hanako",
    ]);
    assert_eq!(desk["user_id"], id);
    assert_eq!(desk["ap"], "city-library");
    assert_eq!(desk["member"], "M-0001");
    assert_eq!(desk["apdus"], 2);
    sim.stop();

    let mut watch = cardap()
        .args([
            "watch",
            "--reader",
            READER,
            "--profile",
            "examples/profiles/library.toml",
            "--db",
        ])
        .arg(&db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let feed = tmp(
        "gate-feed.csv",
        &format!("user_id,status,updated_at\n{id},abolished,2026-11-30T14:05:00Z\n"),
    );
    // A card that pcscd still reports while it is being pulled out gives a
    // denied tap that could not be read: the gate's right answer, not a
    // decision under test.
    let pulled = |line: &str| -> bool {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let error = v["error"].as_str().unwrap_or_default();
        v["ok"] == false
            && v["decision"] == "deny"
            && v["reason"] == "read_failed"
            && (error.contains("removed") || error.contains("reset") || error.contains("no card"))
    };
    let tap = |before: &dyn Fn()| -> serde_json::Value {
        before();
        let sim = Sim::start(&demo, &[]);
        let line = loop {
            let line = rx.recv_timeout(WAIT).expect("no line for a tap");
            if !pulled(&line) {
                break line;
            }
        };
        sim.stop();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        for key in [
            "time", "reader", "ok", "user_id", "decision", "reason", "source", "member", "apdus",
            "ms",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
        assert_eq!(v["ok"], true, "{line}");
        assert_eq!(v["reader"], READER);
        assert_eq!(v["user_id"], id);
        assert_eq!(v["apdus"], 2);
        assert!(v["ms"].as_f64().unwrap() > 0.0);
        v
    };
    let pick = |v: &serde_json::Value| {
        (
            v["decision"].clone(),
            v["reason"].clone(),
            v["source"].clone(),
            v["member"].clone(),
        )
    };
    use serde_json::json;
    let v = tap(&|| {});
    assert_eq!(
        pick(&v),
        (json!("allow"), json!(null), json!(null), json!("M-0001"))
    );
    let v = tap(&|| {
        registry(&["revocation", "set", id, "suspended"]);
    });
    assert_eq!(
        pick(&v),
        (
            json!("deny"),
            json!("suspended"),
            json!("provider"),
            json!("M-0001")
        )
    );
    let v = tap(&|| {
        registry(&["revocation", "clear", id]);
        registry(&["revocation", "import", feed.to_str().unwrap(), "--full"]);
    });
    assert_eq!(
        pick(&v),
        (
            json!("deny"),
            json!("abolished"),
            json!("feed"),
            json!("M-0001")
        )
    );
    let v = tap(&|| {
        registry(&["revocation", "set", id, "active"]);
    });
    assert_eq!(
        pick(&v),
        (
            json!("allow"),
            json!(null),
            json!("provider"),
            json!("M-0001")
        )
    );
    let v = tap(&|| {
        registry(&[
            "registry",
            "remove",
            "--user-id",
            id,
            "--ap",
            "city-library",
        ]);
    });
    assert_eq!(
        pick(&v),
        (
            json!("deny"),
            json!("unknown_user"),
            json!(null),
            json!(null)
        )
    );
    terminate(&mut watch);
    let extra: Vec<String> = rx.try_iter().filter(|l| !pulled(l)).collect();
    assert!(extra.is_empty(), "one line per tap; also got {extra:?}");
    let _ = std::fs::remove_file(&db);
}
