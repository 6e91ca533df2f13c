//! `cardap registry …` and `cardap revocation …` as a provider runs them:
//! the JSON contract, exit classes, malformed feeds, an import killed half
//! way, and a gate's copy that keeps answering with the server down.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

fn cardap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cardap"))
}

fn uid(n: u64) -> String {
    let body = format!("{n:012}");
    let s: u32 = body
        .bytes()
        .rev()
        .zip([2u32, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let r = s % 11;
    format!("{body}{}", if r <= 1 { 0 } else { 11 - r })
}

fn run(db: &Path, args: &[&str]) -> Output {
    cardap().args(args).arg("--db").arg(db).output().unwrap()
}

fn ok_json(db: &Path, args: &[&str]) -> Value {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn write_feed(path: &Path, rows: impl Iterator<Item = (u64, &'static str, &'static str)>) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "user_id,status,updated_at").unwrap();
    for (n, status, at) in rows {
        writeln!(f, "{},{status},{at}", uid(n)).unwrap();
    }
}

const T1: &str = "2026-04-01T00:00:00+09:00";
const T2: &str = "2026-11-30T14:05:00Z";

#[test]
fn members_statuses_and_the_json_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let id = uid(1001);
    let m = ok_json(
        &db,
        &[
            "registry",
            "add",
            "--user-id",
            &id,
            "--ap",
            "city-library",
            "--member",
            "M-1",
            "--label",
            "Hanako",
        ],
    );
    assert_eq!(
        m,
        json!({"user_id": id, "ap": "city-library", "member": "M-1", "label": "Hanako"})
    );
    // Unique per (user ID, AP): exit 1 and the existing member named.
    let dup = run(
        &db,
        &[
            "registry",
            "add",
            "--user-id",
            &id,
            "--ap",
            "city-library",
            "--member",
            "M-2",
        ],
    );
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("M-1"));
    // A bad check digit is a usage error.
    let mut bad = id.clone();
    bad.pop();
    bad.push(if id.ends_with('0') { '1' } else { '0' });
    let out = run(&db, &["revocation", "check", &bad]);
    assert_eq!(out.status.code(), Some(2));
    let list = ok_json(&db, &["registry", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);

    assert_eq!(
        ok_json(&db, &["revocation", "check", &id]),
        json!({"user_id": id, "status": "unlisted", "source": null, "updated_at": null})
    );
    let feed = dir.path().join("feed.csv");
    write_feed(
        &feed,
        [(1001, "suspended", T1), (1002, "active", T1)].into_iter(),
    );
    let report = ok_json(
        &db,
        &["revocation", "import", feed.to_str().unwrap(), "--full"],
    );
    assert_eq!(
        report,
        json!({"mode": "full", "rows": 2, "changed": 2, "removed": 0})
    );
    // Idempotent.
    let again = ok_json(
        &db,
        &["revocation", "import", feed.to_str().unwrap(), "--full"],
    );
    assert_eq!(again["changed"], 0);
    assert_eq!(
        ok_json(&db, &["revocation", "check", &id]),
        json!({"user_id": id, "status": "suspended", "source": "feed", "updated_at": T1})
    );
    let set = ok_json(&db, &["revocation", "set", &id, "active"]);
    assert_eq!(
        (&set["status"], &set["source"]),
        (&json!("active"), &json!("provider"))
    );
    let check = ok_json(&db, &["revocation", "check", &id]);
    assert_eq!(check["source"], "provider");
    // A delta that changes the feed's row does not beat the provider.
    write_feed(&feed, [(1001, "abolished", T2)].into_iter());
    ok_json(
        &db,
        &["revocation", "import", feed.to_str().unwrap(), "--delta"],
    );
    assert_eq!(
        ok_json(&db, &["revocation", "check", &id])["status"],
        "active"
    );
    let cleared = ok_json(&db, &["revocation", "clear", &id]);
    assert_eq!(
        cleared,
        json!({"user_id": id, "status": "abolished", "source": "feed", "updated_at": T2})
    );
    let stats = ok_json(&db, &["revocation", "stats"]);
    assert_eq!(stats["members"], 1);
    assert_eq!(
        stats["feed"],
        json!({"active": 1, "suspended": 0, "abolished": 1})
    );
    // Removal.
    let removed = ok_json(
        &db,
        &[
            "registry",
            "remove",
            "--user-id",
            &id,
            "--ap",
            "city-library",
        ],
    );
    assert_eq!(removed["removed"], true);
    assert_eq!(ok_json(&db, &["registry", "list"]), json!([]));
}

#[test]
fn a_malformed_feed_names_every_bad_line_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let good = dir.path().join("good.csv");
    write_feed(&good, [(1, "active", T1), (2, "active", T1)].into_iter());
    ok_json(
        &db,
        &["revocation", "import", good.to_str().unwrap(), "--full"],
    );
    let before = ok_json(&db, &["revocation", "stats"]);

    let mut bad_check = uid(3);
    let last = bad_check.pop().unwrap();
    bad_check.push(if last == '9' {
        '0'
    } else {
        char::from(last as u8 + 1)
    });
    let text = format!(
        "user_id,status,updated_at\n{},suspended,{T2}\n{bad_check},active,{T2}\n{},lost,{T2}\n{},active,yesterday\n{},active\n{},suspended,{T2}\n",
        uid(1),
        uid(4),
        uid(5),
        uid(6),
        uid(1)
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, text).unwrap();
    let out = run(
        &db,
        &["revocation", "import", bad.to_str().unwrap(), "--full"],
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = bad.display().to_string();
    for (line, what) in [
        (3, "check digit"),
        (4, "unknown status \"lost\""),
        (5, "bad time \"yesterday\""),
        (6, "missing column updated_at"),
        (7, "duplicate user ID"),
    ] {
        let needle = format!("{name}:{line}: ");
        let found = stderr.lines().find(|l| l.starts_with(&needle));
        assert!(
            found.is_some_and(|l| l.contains(what)),
            "line {line} ({what}) in:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("5 malformed rows; nothing imported"),
        "{stderr}"
    );
    // Nothing of the good first row went in either.
    assert_eq!(ok_json(&db, &["revocation", "stats"]), before);
    assert_eq!(
        ok_json(&db, &["revocation", "check", &uid(1)])["status"],
        "active"
    );
    // A missing file is an input-file error too.
    let out = run(
        &db,
        &["revocation", "import", "/nonexistent.csv", "--delta"],
    );
    assert_eq!(out.status.code(), Some(3));
}

/// The state after either import: every ID `active` (old) or every ID
/// `suspended` (new); anything else is a mix.
fn old_or_new(db: &Path, n: u64) -> &'static str {
    let stats = ok_json(db, &["revocation", "stats"]);
    let feed = &stats["feed"];
    if feed == &json!({"active": n, "suspended": 0, "abolished": 0}) {
        "old"
    } else if feed == &json!({"active": 0, "suspended": n, "abolished": 0}) {
        "new"
    } else {
        panic!("a mixed list after a killed import: {feed}")
    }
}

#[test]
fn an_import_killed_half_way_changes_nothing() {
    const N: u64 = 200_000;
    let dir = tempfile::tempdir().unwrap();
    let old_feed = dir.path().join("old.csv");
    let new_feed = dir.path().join("new.csv");
    write_feed(&old_feed, (1..=N).map(|n| (n, "active", T1)));
    write_feed(&new_feed, (1..=N).map(|n| (n, "suspended", T2)));
    let template = dir.path().join("template.db");
    ok_json(
        &template,
        &["revocation", "import", old_feed.to_str().unwrap(), "--full"],
    );
    let fresh = |name: &str| -> PathBuf {
        let db = dir.path().join(name);
        // The template is checkpointed and closed: one file is the whole state.
        std::fs::copy(&template, &db).unwrap();
        db
    };

    // How long an import runs to its end.
    let timed = fresh("timed.db");
    let t0 = Instant::now();
    ok_json(
        &timed,
        &["revocation", "import", new_feed.to_str().unwrap(), "--full"],
    );
    let whole = t0.elapsed();
    assert_eq!(old_or_new(&timed, N), "new");

    let mut killed_before_commit = 0;
    for (i, fraction) in [0.2, 0.45, 0.7, 0.9].iter().enumerate() {
        let db = fresh(&format!("k{i}.db"));
        let mut child = cardap()
            .args([
                "revocation",
                "import",
                new_feed.to_str().unwrap(),
                "--full",
                "--db",
            ])
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole.mul_f64(*fraction));
        let still_running = child.try_wait().unwrap().is_none();
        // SIGKILL: no chance to clean up.
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
        let state = old_or_new(&db, N);
        if still_running && state == "old" {
            killed_before_commit += 1;
        }
        // The next import works and completes.
        ok_json(
            &db,
            &["revocation", "import", new_feed.to_str().unwrap(), "--full"],
        );
        assert_eq!(old_or_new(&db, N), "new");
    }
    assert!(
        killed_before_commit >= 2,
        "only {killed_before_commit} kills landed before the commit (import took {whole:?})"
    );
}

/// A gate's copy of the PostgreSQL registry: `revocation sync`, then the
/// server is unreachable and the gate still answers from its file.
#[test]
fn sync_then_the_server_is_down() {
    let Ok(url) = std::env::var("CARDAP_REGISTRY_URL") else {
        assert_ne!(
            std::env::var("CARDAP_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "CARDAP_REGISTRY_URL is not set but CARDAP_REQUIRE_POSTGRES=1"
        );
        eprintln!("SKIPPED sync_then_the_server_is_down: CARDAP_REGISTRY_URL is not set");
        return;
    };
    let schema = format!("cli_sync_{}", std::process::id());
    let pg = |args: &[&str]| -> Value {
        let out = cardap()
            .args(args)
            .args(["--db", &url])
            .env("CARDAP_REGISTRY_SCHEMA", &schema)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate.db");
    let sync = |from: &str| {
        cardap()
            .args(["revocation", "sync", "--from", from, "--db"])
            .arg(&gate)
            .env("CARDAP_REGISTRY_SCHEMA", &schema)
            .output()
            .unwrap()
    };
    let feed = dir.path().join("feed.csv");
    write_feed(&feed, [(1, "active", T1), (2, "suspended", T1)].into_iter());
    pg(&[
        "registry",
        "add",
        "--user-id",
        &uid(1),
        "--ap",
        "city-library",
        "--member",
        "M-1",
    ]);
    pg(&["revocation", "import", feed.to_str().unwrap(), "--full"]);
    let out = sync(&url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&report["full"], &report["members"], &report["statuses"]),
        (&json!(true), &json!(1), &json!(2))
    );
    pg(&["revocation", "set", &uid(1), "suspended"]);
    let out = sync(&url);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&report["full"], &report["members"], &report["statuses"]),
        (&json!(false), &json!(0), &json!(1))
    );
    assert_eq!(
        ok_json(&gate, &["revocation", "check", &uid(1)]),
        pg(&["revocation", "check", &uid(1)])
    );

    // The server is unreachable: sync fails (exit 1), the gate answers.
    let down = sync("postgres://postgres@127.0.0.1:1/cardap?connect_timeout=2");
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("PostgreSQL"));
    let check = ok_json(&gate, &["revocation", "check", &uid(1)]);
    assert_eq!(
        (&check["status"], &check["source"]),
        (&json!("suspended"), &json!("provider"))
    );
    assert_eq!(
        ok_json(&gate, &["registry", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    if let Ok(store) = cardap_registry::PostgresStore::connect_in(&url, &schema) {
        let _ = store.drop_schema();
    }
}

/// The registration desk on an in-process card: the user ID read from the
/// AP is linked to the member; the same card again is refused.
#[test]
fn register_from_a_virtual_card() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let args = |member: &str| -> Vec<String> {
        [
            "register",
            "--profile",
            root.join("examples/profiles/kiosk.toml").to_str().unwrap(),
            "--virtual-card",
            root.join("examples/cards/demo.toml").to_str().unwrap(),
            "--member",
            member,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let first: Vec<String> = args("STAFF-01");
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let v = ok_json(&db, &first);
    assert_eq!(
        v,
        json!({"user_id": "2007000000029", "ap": "staff-kiosk", "member": "STAFF-01", "label": null, "apdus": 4})
    );
    let second: Vec<String> = args("STAFF-02");
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    let out = run(&db, &second);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("STAFF-01"));
    // A card description that does not exist is an input-file error.
    let out = run(
        &db,
        &[
            "register",
            "--profile",
            root.join("examples/profiles/kiosk.toml").to_str().unwrap(),
            "--virtual-card",
            "/nonexistent.toml",
            "--member",
            "X",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
}
