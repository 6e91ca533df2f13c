//! Writes and the AP lifecycle end to end through the real PC/SC stack
//! (PROFILE.md §11, §12): `cardap sim --persist` serves a card with a card
//! manager to pcscd's vpcd reader, and `cardap issue …` / `cardap write` /
//! `cardap read --reader` (or the SDK over PC/SC) drive it.
//!
//! Needs pcscd with vpcd (`bash scripts/pcscd-up.sh`), so the tests are
//! ignored by default; `scripts/test.sh` runs them (`--include-ignored`).
#![cfg(test)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cardap::issuer::{Area, InstallRequest, Issuer};
use cardap::pcsc::PcscTransport;
use cardap::{ApRecord, ApType, Card, Error, FieldWrite, Profile};
use cardap_sim::VirtualCard;
use cardap_sim::vpcd::VpcdServer;
use common::pcsc::{PORT, PulledAt, READER, root, serial, wait_for_card, wait_for_removal};

mod common;

/// A fresh directory with a copy of the demo card and of the desk's file.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cardap-lifecycle-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        root().join("examples/cards/demo.toml"),
        dir.join("card.toml"),
    )
    .unwrap();
    std::fs::copy(root().join("examples/issuer.toml"), dir.join("issuer.toml")).unwrap();
    dir
}

fn cardap(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cardap"));
    c.current_dir(dir);
    c
}

struct Sim(Child);

impl Sim {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let child = cardap(dir)
            .args([
                "sim",
                "--persist",
                "--port",
                &PORT.to_string(),
                "--card",
                "card.toml",
            ])
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sim = Self(child);
        wait_for_card();
        sim
    }
    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        assert!(self.0.wait().unwrap().success());
        wait_for_removal();
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    cardap(dir)
        .args(args)
        .args(["--reader", READER])
        .output()
        .unwrap()
}

fn ok_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str], code: i32, text: &str) {
    let out = run(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stderr.contains(text), "{args:?}: {stderr}");
}

/// `cardap read` of an AP that is gone: it fails naming it.
fn read_gone(dir: &Path, profile: &str) {
    let out = run(dir, &["read", "--profile", profile]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{profile}: {stderr}");
    assert!(stderr.contains("is not on the card"), "{profile}: {stderr}");
}

fn install(
    dir: &Path,
    kind: &str,
    area: &str,
    aid: &str,
    suite: &str,
    info: &[&str],
    out: &str,
) -> String {
    let mut args = vec![
        "issue",
        "install",
        "--issuer",
        "issuer.toml",
        "--type",
        kind,
        "--area",
        area,
        "--aid",
        aid,
        "--label",
        "e2e",
        "--suite",
        suite,
        "--keys-out",
        out,
        "--format",
        "json",
    ];
    for i in info {
        args.extend(["--info", i]);
    }
    let v = ok_json(dir, &args);
    let id = v["user_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 13);
    id
}

/// install → read → write → read → delete → read answers 6A 82, for A, C
/// and D in every suite, extended length on and off; every user ID new.
#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn lifecycle_round_trip_for_every_type_suite_and_length_mode() {
    let _lock = serial();
    let dir = workdir("round-trip");
    let mut ids = HashSet::new();
    for extended in [true, false] {
        let sim = Sim::start(&dir, if extended { &[] } else { &["--no-extended"] });
        for (n, kind) in ["A", "C", "D"].into_iter().enumerate() {
            for (m, suite) in ["3des", "aes128", "aes256"].into_iter().enumerate() {
                let aid = format!("F0434152444150{:02X}02{}{}", kind.as_bytes()[0], n, m);
                let profile = format!("{kind}-{suite}.toml");
                let info: &[&str] = match kind {
                    "D" => &["data=0102030405"],
                    _ => &["info1=4F4C44", "info2="],
                };
                let id = install(&dir, kind, "extension", &aid, suite, info, &profile);
                assert!(ids.insert(id.clone()), "user ID {id} issued twice");
                let before = ok_json(&dir, &["read", "--profile", &profile]);
                assert_eq!(before["user_id"], id.as_str());
                let (set, key) = match kind {
                    "D" => (format!("data@13={}", "AB".repeat(242)), "data"),
                    _ => ("info2=4E4557".to_owned(), "info"),
                };
                let written = ok_json(&dir, &["write", "--profile", &profile, "--set", &set]);
                assert_eq!(written["written"][0], set.split('=').next().unwrap());
                let after = ok_json(&dir, &["read", "--profile", &profile]);
                assert_eq!(after["user_id"], id.as_str(), "the user ID stays");
                if key == "data" {
                    assert_eq!(after["data"], "AB".repeat(242));
                } else {
                    assert_eq!(after["info"]["info1"], "4F4C44");
                    assert_eq!(after["info"]["info2"], "4E4557");
                }
                ok_json(
                    &dir,
                    &["issue", "delete", "--issuer", "issuer.toml", "--aid", &aid],
                );
                read_gone(&dir, &profile);
                fails(
                    &dir,
                    &["write", "--profile", &profile, "--set", &set],
                    5,
                    "is not on the card",
                );
            }
        }
        sim.stop();
    }
    // The registry has every ID, and keeps them after the deletions.
    let issuer = Issuer::from_file(dir.join("issuer.toml")).unwrap();
    let registry = cardap::issuer::Registry::open(issuer.registry_path()).unwrap();
    let issued: HashSet<String> = registry
        .issued()
        .unwrap()
        .into_iter()
        .map(|r| r.user_id.as_str().to_owned())
        .collect();
    assert_eq!(issued, ids);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Move-out removes the local-resident APs only; loaded APs survive a
/// restart of `cardap sim --persist`.
#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn move_out_clears_the_local_area_only_and_state_survives_a_restart() {
    let _lock = serial();
    let dir = workdir("move-out");
    let sim = Sim::start(&dir, &[]);
    install(
        &dir,
        "C",
        "local",
        "F0434152444150430201",
        "aes128",
        &["info1=01"],
        "local.toml",
    );
    install(
        &dir,
        "A",
        "extension",
        "F0434152444150410201",
        "aes128",
        &["info1=02"],
        "ext.toml",
    );
    sim.stop();
    // A restart: both are still there.
    let sim = Sim::start(&dir, &[]);
    let listed = ok_json(&dir, &["issue", "list", "--issuer", "issuer.toml"]);
    let aids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["aid"].as_str().unwrap())
        .collect();
    assert_eq!(
        aids,
        [
            "F0434152444150430001",
            "F0434152444150410007",
            "F0434152444150440003",
            "F0434152444150430201",
            "F0434152444150410201"
        ]
    );
    let local = ok_json(
        &dir,
        &[
            "issue",
            "list",
            "--issuer",
            "issuer.toml",
            "--area",
            "local",
        ],
    );
    assert_eq!(local.as_array().unwrap().len(), 2);
    let moved = ok_json(&dir, &["issue", "move-out", "--issuer", "issuer.toml"]);
    assert_eq!(moved["deleted"], 2);
    let listed = ok_json(&dir, &["issue", "list", "--issuer", "issuer.toml"]);
    let left: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["aid"].as_str().unwrap(), e["area"].as_str().unwrap()))
        .collect();
    assert_eq!(
        left,
        [
            ("F0434152444150410007", "extension"),
            ("F0434152444150440003", "extension"),
            ("F0434152444150410201", "extension")
        ]
    );
    assert_eq!(
        ok_json(&dir, &["read", "--profile", "ext.toml"])["info"]["info1"],
        "02"
    );
    read_gone(&dir, "local.toml");
    // EF.DIR is in step.
    let dir_list = ok_json(&dir, &["list"]);
    assert_eq!(dir_list.as_array().unwrap().len(), 3);
    sim.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The read keys cannot write, one AP's update keys cannot write another,
/// the user ID cannot be written; a full area and a duplicate AID are refused
/// with their status words and change nothing.
#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn rights_full_area_and_duplicate_aid() {
    let _lock = serial();
    let dir = workdir("rights");
    // A small free area: the demo's three APs (543 bytes), one Type A and one Type D (510), 20 spare.
    let card = std::fs::read_to_string(dir.join("card.toml")).unwrap();
    std::fs::write(
        dir.join("card.toml"),
        card.replace("free_area = 4096", "free_area = 1073"),
    )
    .unwrap();
    let sim = Sim::start(&dir, &[]);
    install(
        &dir,
        "A",
        "extension",
        "F0434152444150410301",
        "aes256",
        &["info1=01", "info2=02"],
        "a.toml",
    );
    install(
        &dir,
        "D",
        "extension",
        "F0434152444150440301",
        "aes128",
        &[],
        "d.toml",
    );
    let a = std::fs::read_to_string(dir.join("a.toml")).unwrap();
    // The read keys as update keys: the authentication with key reference 82
    // fails (a read-key channel cannot write either: sim/tests/lifecycle.rs).
    let (head, _) = a.split_once("[auth.update]").unwrap();
    let read_section = head.split_once("[auth]").unwrap().1;
    std::fs::write(
        dir.join("a-read.toml"),
        format!("{head}[auth.update]{read_section}"),
    )
    .unwrap();
    fails(
        &dir,
        &["write", "--profile", "a-read.toml", "--set", "info1=FF"],
        6,
        "authentication",
    );
    // Another AP's update keys: the authentication fails.
    let d = std::fs::read_to_string(dir.join("d.toml")).unwrap();
    let a_with_d = format!(
        "{}[auth.update]{}",
        a.split_once("[auth.update]").unwrap().0,
        d.split_once("[auth.update]").unwrap().1
    );
    std::fs::write(dir.join("a-with-d.toml"), a_with_d).unwrap();
    fails(
        &dir,
        &["write", "--profile", "a-with-d.toml", "--set", "info1=FF"],
        6,
        "authentication",
    );
    // The user ID: the SDK refuses before sending, the card would too (sim tests).
    fails(
        &dir,
        &["write", "--profile", "d.toml", "--set", "data@0=3030"],
        2,
        "user ID",
    );
    fails(
        &dir,
        &["write", "--profile", "a.toml", "--set", "info0=3030"],
        2,
        "info0",
    );
    let still = ok_json(&dir, &["read", "--profile", "a.toml"]);
    assert_eq!(still["info"]["info1"], "01");
    // Full: a Type C (33 bytes) does not fit the 20 bytes left.
    fails(
        &dir,
        &[
            "issue",
            "install",
            "--issuer",
            "issuer.toml",
            "--type",
            "C",
            "--area",
            "local",
            "--aid",
            "F0434152444150430301",
            "--label",
            "x",
        ],
        7,
        "6A 84",
    );
    // Duplicate AID.
    fails(
        &dir,
        &[
            "issue",
            "install",
            "--issuer",
            "issuer.toml",
            "--type",
            "C",
            "--area",
            "local",
            "--aid",
            "F0434152444150410301",
            "--label",
            "x",
        ],
        7,
        "6A 89",
    );
    let listed = ok_json(&dir, &["issue", "list", "--issuer", "issuer.toml"]);
    assert_eq!(listed.as_array().unwrap().len(), 5);
    sim.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What a read shows of an AP's contents: its info fields and data.
type Contents = (Vec<(String, Vec<u8>)>, Option<Vec<u8>>);

fn contents(rec: &ApRecord) -> Contents {
    (
        rec.info()
            .map(|(k, v)| (k.to_owned(), v.to_vec()))
            .collect(),
        rec.data().map(<[u8]>::to_vec),
    )
}

fn pcsc_reader() -> Card<PcscTransport> {
    Card::new(PcscTransport::connect(Some(READER)).unwrap())
}

/// A card pulled out at every APDU of a write (A, C, D) and of an install
/// ends with the old state or the new one, the next operation succeeds, and
/// no state-changing command ran twice.
#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn a_card_pulled_at_every_apdu_of_a_write_or_an_install() {
    let _lock = serial();
    let dir = workdir("pulled");
    let issuer = Issuer::from_file(dir.join("issuer.toml")).unwrap();
    let server = VpcdServer::new("127.0.0.1", PORT);
    let handle = server.handle();
    let at = Arc::new(AtomicUsize::new(0));
    let changing = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let serving = {
        let (at, changing, stop, handle) = (
            Arc::clone(&at),
            Arc::clone(&changing),
            Arc::clone(&stop),
            handle.clone(),
        );
        let card = VirtualCard::from_file(dir.join("card.toml")).unwrap();
        std::thread::spawn(move || {
            let mut side = PulledAt {
                changing,
                ..PulledAt::new(card, at, handle)
            };
            server.serve(&mut side, &stop, None)
        })
    };
    let demo_update = |name: &str,
                       kind: &str,
                       aid: &str,
                       suite: &str,
                       enc: &str,
                       mac: &str,
                       read: &str| {
        Profile::from_toml_str(&format!(
            "name = \"{name}\"\ntype = \"{kind}\"\naid = \"{aid}\"\n{read}[auth.update]\nsuite = \"{suite}\"\nk_enc = \"{enc}\"\nk_mac = \"{mac}\"\n"
        ))
        .unwrap()
    };
    let hexrange = |start: u8, n: u8| {
        (0..n)
            .map(|i| format!("{:02X}", start.wrapping_add(i)))
            .collect::<String>()
    };
    // The demo card's read keys (examples/cards/demo.toml).
    let kiosk_auth = format!(
        "[auth]\nsuite = \"aes128\"\nk_enc = \"{}\"\nk_mac = \"{}\"\n",
        hexrange(0x00, 16),
        hexrange(0x10, 16)
    );
    let evac_auth = format!(
        "[auth]\nsuite = \"aes256\"\nk_enc = \"{}\"\nk_mac = \"{}\"\n",
        hexrange(0x40, 32),
        hexrange(0x60, 32)
    );
    let cases: Vec<(Profile, Vec<FieldWrite>, usize)> = vec![
        (
            demo_update(
                "library",
                "C",
                "F0434152444150430001",
                "aes128",
                &hexrange(0x20, 16),
                &hexrange(0x30, 16),
                "",
            ),
            vec![FieldWrite::info(2, vec![0x99; 5])],
            5,
        ),
        (
            demo_update(
                "kiosk",
                "A",
                "F0434152444150410007",
                "aes128",
                &hexrange(0x80, 16),
                &hexrange(0x90, 16),
                &kiosk_auth,
            ),
            vec![FieldWrite::info(1, b"STAFF-99".to_vec())],
            4,
        ),
        (
            demo_update(
                "evacuee",
                "D",
                "F0434152444150440003",
                "aes256",
                &hexrange(0xE0, 32),
                &hexrange(0x00, 32),
                &evac_auth,
            ),
            vec![FieldWrite::data(13, vec![0x5A; 242])],
            4,
        ),
    ];
    for (profile, writes, rounds) in &cases {
        let read = |reader: &mut Card<PcscTransport>| {
            reader
                .read(&profile.without_update_keys())
                .unwrap_or_else(|e| panic!("{}: {e}", profile.name()))
        };
        wait_for_card();
        let old = read(&mut pcsc_reader());
        for k in 1..=*rounds {
            wait_for_card();
            at.store(k, Ordering::SeqCst);
            changing.store(0, Ordering::SeqCst);
            let err = pcsc_reader().write(profile, writes).expect_err("pulled");
            assert!(err.card_state_lost(), "{} k={k}: {err:?}", profile.name());
            assert!(
                changing.load(Ordering::SeqCst) <= 1,
                "{} k={k}: ran twice",
                profile.name()
            );
            wait_for_removal();
            at.store(0, Ordering::SeqCst);
            handle.insert();
            wait_for_card();
            let now = read(&mut pcsc_reader());
            let torn_at_the_write = k == *rounds;
            if torn_at_the_write {
                // The card ran the write, the answer was lost: the new value.
                assert_ne!(contents(&now), contents(&old), "{} k={k}", profile.name());
            } else {
                assert_eq!(contents(&now), contents(&old), "{} k={k}", profile.name());
            }
            // The next operation works: put the old value back for the next k.
            if torn_at_the_write {
                let back = match profile.ap_type() {
                    ApType::D => FieldWrite::data(13, old.data().unwrap().to_vec()),
                    ApType::C => FieldWrite::info(2, old.info_value("info2").unwrap().to_vec()),
                    _ => FieldWrite::info(1, old.info_value("info1").unwrap().to_vec()),
                };
                pcsc_reader().write(profile, &[back]).unwrap();
                let again = read(&mut pcsc_reader());
                assert_eq!(contents(&again), contents(&old));
            }
        }
    }
    // An install, pulled at every APDU: no AP or the whole AP.
    let request = InstallRequest::new(
        ApType::D,
        Area::Local,
        hex::decode("F0434152444150440401").unwrap(),
        "pulled",
    )
    .with_data(vec![7; 100]);
    for k in 1..=4 {
        wait_for_card();
        at.store(k, Ordering::SeqCst);
        changing.store(0, Ordering::SeqCst);
        let err = pcsc_reader()
            .install(&issuer, &request)
            .expect_err("pulled");
        assert!(err.card_state_lost(), "install k={k}: {err:?}");
        assert!(changing.load(Ordering::SeqCst) <= 1);
        wait_for_removal();
        at.store(0, Ordering::SeqCst);
        handle.insert();
        wait_for_card();
        let listed = pcsc_reader().list_area(&issuer, Some(Area::Local)).unwrap();
        let present = listed.iter().any(|e| e.aid == request.aid);
        assert_eq!(present, k == 4, "install k={k}");
        if present {
            pcsc_reader().delete_ap(&issuer, &request.aid).unwrap();
        }
    }
    // The next install works, and the registry never reissued an ID.
    let installed = pcsc_reader().install(&issuer, &request).unwrap();
    let registry = cardap::issuer::Registry::open(issuer.registry_path()).unwrap();
    let issued = registry.issued().unwrap();
    assert_eq!(issued.len(), 5);
    let unique: HashSet<_> = issued.iter().map(|r| r.user_id.clone()).collect();
    assert_eq!(unique.len(), 5);
    assert!(issued.iter().any(|r| r.user_id == installed.user_id));
    let read_profile = Profile::from_toml_str(&installed.profile_toml("pulled")).unwrap();
    let rec = pcsc_reader().read(&read_profile).unwrap();
    assert_eq!(rec.user_id(), &installed.user_id);
    assert_eq!(rec.data().unwrap()[..100], [7; 100]);
    assert!(matches!(
        pcsc_reader().delete_ap(&issuer, b"\xF0CARDAPX\x09\x09"),
        Err(Error::ApNotFound { .. })
    ));
    stop.store(true, Ordering::SeqCst);
    serving.join().unwrap().unwrap();
    wait_for_removal();
    std::fs::remove_dir_all(&dir).unwrap();
}
