//! The `cardap` binary: the demo, `list`, output formats, traces, and one-line
//! errors with a non-zero exit for every kind of bad input.
#![cfg(test)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cardap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cardap"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn tmp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("cardap-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CARD: &str = "examples/cards/demo.toml";

#[test]
fn demo_reads_every_ap() {
    let o = cardap(&["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["type"], "C");
    assert_eq!(lines[0]["user_id"], "1001000000019");
    assert_eq!(lines[0]["fields"]["member_no"], "00123456");
    assert_eq!(lines[0]["apdus"], 2);
    assert_eq!(lines[1]["type"], "A");
    assert_eq!(lines[1]["fields"]["staff_no"], "STAFF-01");
    assert_eq!(lines[1]["apdus"], 4);
    assert_eq!(lines[2]["type"], "D");
    assert_eq!(lines[2]["fields"]["name"], "山田 花子");
    assert_eq!(lines[2]["fields"]["birth_date"], "19850412");
    assert_eq!(lines[2]["apdus"], 4);
    let text = cardap(&["demo", "--format", "text"]);
    assert!(
        stdout(&text).contains("user_id    2007000000029"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn read_and_list_from_a_description_file() {
    let o = cardap(&[
        "read",
        "--profile",
        "examples/profiles/library.toml",
        "--virtual-card",
        CARD,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["aid"], "F0434152444150430001");
    assert_eq!(v["info"]["info1"], "4C4942");
    let short = cardap(&[
        "read",
        "--profile",
        "examples/profiles/evacuee.toml",
        "--virtual-card",
        CARD,
        "--short",
    ]);
    let v: serde_json::Value = serde_json::from_str(stdout(&short).trim()).unwrap();
    assert_eq!(v["apdus"], 5);
    let l = cardap(&["list", "--virtual-card", CARD]);
    assert!(l.status.success(), "{}", stderr(&l));
    let v: serde_json::Value = serde_json::from_str(stdout(&l).trim()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[1]["label"], "staff ID kiosk");
}

#[test]
fn traces_are_redacted_and_replayable_for_plain_aps() {
    let dir = std::env::temp_dir().join(format!("cardap-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.trace");
    let o = cardap(&[
        "read",
        "--profile",
        "examples/profiles/kiosk.toml",
        "--virtual-card",
        CARD,
        "--trace",
        a.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&a).unwrap();
    // Secure-messaging payloads and cryptograms are gone; the user ID too.
    assert!(text.contains("[40]"), "{text}");
    assert!(
        !text.contains(&hex::encode_upper(b"2007000000029")),
        "{text}"
    );
    assert!(!text.contains(&hex::encode_upper(b"STAFF-01")), "{text}");
    let c = dir.join("c.trace");
    let o = cardap(&[
        "read",
        "--profile",
        "examples/profiles/library.toml",
        "--virtual-card",
        CARD,
        "--trace",
        c.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let trace = cardap::trace::Trace::parse(&std::fs::read_to_string(&c).unwrap()).unwrap();
    let profile =
        cardap::Profile::from_file(root().join("examples/profiles/library.toml")).unwrap();
    let mut reader = cardap::Card::new(cardap::trace::Replay::new(trace));
    assert_eq!(
        reader.read(&profile).unwrap().user_id().as_str(),
        "1001000000019"
    );
}

fn assert_fails(o: &Output, needle: &str) {
    assert!(!o.status.success(), "expected failure, got {}", stdout(o));
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let lib = "examples/profiles/library.toml";
    assert_fails(
        &cardap(&[
            "read",
            "--profile",
            "/nonexistent.toml",
            "--virtual-card",
            CARD,
        ]),
        "nonexistent",
    );
    let bad_profile = tmp(
        "p.toml",
        "name = \"x\"\ntype = \"Z\"\naid = \"F0434152444150430001\"\n",
    );
    assert_fails(
        &cardap(&["read", "--profile", &bad_profile, "--virtual-card", CARD]),
        "type",
    );
    let bad_card = tmp(
        "c.toml",
        "[[ap]]\ntype = \"C\"\naid = \"F0434152444150430001\"\nuser_id = \"1234567890123\"\n",
    );
    assert_fails(
        &cardap(&["read", "--profile", lib, "--virtual-card", &bad_card]),
        "user_id",
    );
    let other = tmp(
        "o.toml",
        "[[ap]]\ntype = \"C\"\naid = \"F0434152444150430002\"\nuser_id = \"1234567890125\"\n",
    );
    assert_fails(
        &cardap(&["read", "--profile", lib, "--virtual-card", &other]),
        "not on the card",
    );
    // Wrong keys: authentication fails, nothing is printed on stdout.
    let wrong = std::fs::read_to_string(root().join("examples/profiles/kiosk.toml"))
        .unwrap()
        .replace(
            "000102030405060708090A0B0C0D0E0F",
            "0F0102030405060708090A0B0C0D0E0F",
        );
    let wrong = tmp("wrong.toml", &wrong);
    let o = cardap(&["read", "--profile", &wrong, "--virtual-card", CARD]);
    assert_fails(&o, "authentication");
    assert!(stdout(&o).is_empty());
    assert!(!stderr(&o).contains("0F0102030405"), "{}", stderr(&o));
    let _ = Path::new(CARD);
}
