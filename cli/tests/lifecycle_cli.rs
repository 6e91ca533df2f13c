//! `cardap write` and `cardap issue …` on an in-process virtual card (written
//! back to its file after a change): the whole lifecycle and the exit-code
//! classes of their failures. The same through pcscd is in pcsc_lifecycle.rs.
#![cfg(test)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cardap-lifecycle-cli-{}-{name}",
        std::process::id()
    ));
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

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cardap"))
        .current_dir(dir)
        .args(args)
        .args(["--virtual-card", "card.toml"])
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn code(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = run(dir, args);
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn example(name: &str) -> String {
    root()
        .join("examples/profiles")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn the_demo_card_accepts_the_desk_and_the_update_keys() {
    let dir = workdir("demo");
    let kiosk = example("kiosk.toml");
    let w = ok(
        &dir,
        &[
            "write",
            "--profile",
            &kiosk,
            "--set",
            "staff_no=STAFF-77",
            "--set",
            "info2=20270101",
        ],
    );
    assert_eq!(w["written"], serde_json::json!(["staff_no", "info2"]));
    let r = ok(&dir, &["read", "--profile", &kiosk]);
    assert_eq!(r["fields"]["staff_no"], "STAFF-77");
    assert_eq!(r["info"]["info2"], "20270101");
    // Install: a user ID with a valid check digit, a ready profile.
    let i = ok(
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
            "F0434152444150430500",
            "--label",
            "tickets",
            "--info",
            "info1=0102",
            "--keys-out",
            "c.toml",
            "--format",
            "json",
        ],
    );
    let uid = i["user_id"].as_str().unwrap().to_owned();
    assert!(cardap::UserId::parse(uid.as_bytes()).is_ok(), "{uid}");
    assert!(uid.starts_with('9'), "the desk's prefix");
    let profile = std::fs::read_to_string(dir.join("c.toml")).unwrap();
    assert!(
        profile.contains("[auth.update]") && !profile.contains("[auth]\n"),
        "{profile}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("c.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the profile holds keys");
    }
    assert_eq!(
        ok(&dir, &["read", "--profile", "c.toml"])["user_id"],
        uid.as_str()
    );
    ok(&dir, &["write", "--profile", "c.toml", "--set", "info2=AA"]);
    assert_eq!(
        ok(&dir, &["read", "--profile", "c.toml"])["info"]["info2"],
        "AA"
    );
    let listed = ok(
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
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(
        ok(&dir, &["issue", "move-out", "--issuer", "issuer.toml"])["deleted"],
        2
    );
    let listed = ok(&dir, &["issue", "list", "--issuer", "issuer.toml"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["area"] == "extension")
    );
    ok(
        &dir,
        &[
            "issue",
            "delete",
            "--issuer",
            "issuer.toml",
            "--aid",
            "F0434152444150410007",
        ],
    );
    assert_eq!(
        code(&dir, &["write", "--profile", &kiosk, "--set", "info1=00"]).0,
        5
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failures_map_to_exit_code_classes() {
    let dir = workdir("codes");
    let evac = example("evacuee.toml");
    // 2: a request the profile does not allow, a malformed --set.
    let (c, e) = code(&dir, &["write", "--profile", &evac, "--set", "data@5=00"]);
    assert_eq!(c, 2, "{e}");
    assert!(e.contains("user ID"), "{e}");
    assert_eq!(
        code(&dir, &["write", "--profile", &evac, "--set", "nothing"]).0,
        2
    );
    assert_eq!(
        code(&dir, &["write", "--profile", &evac, "--set", "data@13=XYZ"]).0,
        2
    );
    assert_eq!(
        code(
            &dir,
            &["write", "--profile", &evac, "--set", "no_such_field=1"]
        )
        .0,
        2
    );
    // 3: a profile without update keys, a bad desk file.
    std::fs::write(
        dir.join("no-update.toml"),
        "name = \"x\"\ntype = \"C\"\naid = \"F0434152444150430001\"\n",
    )
    .unwrap();
    let (c, e) = code(
        &dir,
        &["write", "--profile", "no-update.toml", "--set", "info1=00"],
    );
    assert_eq!(c, 3, "{e}");
    assert!(e.contains("auth.update"), "{e}");
    std::fs::write(
        dir.join("bad-issuer.toml"),
        "suite = \"aes256\"\nk_enc = \"00\"\n",
    )
    .unwrap();
    assert_eq!(
        code(&dir, &["issue", "list", "--issuer", "bad-issuer.toml"]).0,
        3
    );
    // 6: the read keys given as update keys: MUTUAL AUTHENTICATE with key
    // reference 82 fails (63 00); a channel of the read keys cannot write
    // either (69 82, sim/tests/lifecycle.rs).
    let kiosk = std::fs::read_to_string(example("kiosk.toml")).unwrap();
    let read_keys = kiosk
        .split("[auth]")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap();
    let wrong = format!(
        "{}[auth.update]{read_keys}",
        kiosk.split("# The update keys").next().unwrap()
    );
    std::fs::write(dir.join("wrong.toml"), wrong).unwrap();
    let (c, e) = code(
        &dir,
        &["write", "--profile", "wrong.toml", "--set", "info1=00"],
    );
    assert_eq!(c, 6, "{e}");
    assert!(e.contains("authentication"), "{e}");
    // 7: a duplicate AID (6A 89); 5: deleting an AP that is not there.
    let install = |aid: &str| {
        code(
            &dir,
            &[
                "issue",
                "install",
                "--issuer",
                "issuer.toml",
                "--type",
                "D",
                "--area",
                "extension",
                "--aid",
                aid,
                "--label",
                "d",
            ],
        )
    };
    let (c, e) = install("F0434152444150440003");
    assert_eq!(c, 7, "{e}");
    assert!(e.contains("6A 89"), "{e}");
    assert_eq!(
        code(
            &dir,
            &[
                "issue",
                "delete",
                "--issuer",
                "issuer.toml",
                "--aid",
                "F0434152444150449999"
            ]
        )
        .0,
        5
    );
    // 2: usage.
    assert_eq!(
        code(
            &dir,
            &[
                "issue",
                "install",
                "--issuer",
                "issuer.toml",
                "--type",
                "B",
                "--area",
                "local",
                "--aid",
                "00",
                "--label",
                "x"
            ]
        )
        .0,
        2
    );
    // A refused command leaves the file as it was; the registry keeps the
    // ID the refused install drew.
    let before = std::fs::read_to_string(dir.join("card.toml")).unwrap();
    assert_eq!(install("F0434152444150440003").0, 7);
    assert_eq!(
        std::fs::read_to_string(dir.join("card.toml")).unwrap(),
        before
    );
    let issuer = cardap::issuer::Issuer::from_file(dir.join("issuer.toml")).unwrap();
    let registry = cardap::issuer::Registry::open(issuer.registry_path()).unwrap();
    let rows = registry.issued().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.state == cardap::issuer::IdState::Failed)
    );
    assert_ne!(rows[0].user_id, rows[1].user_id);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn install_prints_the_new_user_id() {
    let dir = workdir("bare-id");
    let out = run(
        &dir,
        &[
            "issue",
            "install",
            "--issuer",
            "issuer.toml",
            "--type",
            "C",
            "--area",
            "extension",
            "--aid",
            "F0434152444150430777",
            "--label",
            "points",
            "--keys-out",
            "points.toml",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let uid = text.strip_suffix('\n').unwrap();
    assert_eq!(uid.len(), 13, "{text:?}");
    assert!(cardap::UserId::parse(uid.as_bytes()).is_ok(), "{uid}");
    assert_eq!(
        ok(&dir, &["read", "--profile", "points.toml"])["user_id"],
        uid
    );
}
