//! The CLI's conventions: exit codes by class, completions and the man page,
//! `bench` bounds, terminal-safe text, trace files, and `apdu` output that
//! never echoes secrets.
#![cfg(test)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cardap_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cardap"));
    cmd.args(args).current_dir(root());
    // No pcscd for these tests: a PC/SC command must fail for lack of it,
    // whatever runs on the machine.
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn cardap(args: &[&str]) -> Output {
    cardap_env(args, &[])
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cardap-conventions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(name: &str, text: &str) -> String {
    let p = scratch().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const CARD: &str = "examples/cards/demo.toml";
const LIBRARY: &str = "examples/profiles/library.toml";

#[test]
fn exit_codes_follow_the_classes() {
    // 0: success.
    let ok = cardap(&["read", "--profile", LIBRARY, "--virtual-card", CARD]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));

    // 2: usage.
    assert_eq!(code(&cardap(&["read"])), 2);
    assert_eq!(code(&cardap(&["no-such-command"])), 2);
    let bad_hex = cardap(&["apdu", "--virtual-card", CARD, "00A4ZZ"]);
    assert_eq!(code(&bad_hex), 2, "{}", stderr(&bad_hex));

    // 3: profile or description file.
    let missing = cardap(&[
        "read",
        "--profile",
        "/nonexistent.toml",
        "--virtual-card",
        CARD,
    ]);
    assert_eq!(code(&missing), 3, "{}", stderr(&missing));
    let bad_profile = write("bad.toml", "name = \"x\"\ntype = \"Q\"\naid = \"F0\"\n");
    let o = cardap(&["read", "--profile", &bad_profile, "--virtual-card", CARD]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let bad_card = write("badcard.toml", "[[ap]]\ntype = \"Z\"\n");
    let o = cardap(&["read", "--profile", LIBRARY, "--virtual-card", &bad_card]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));

    // 5: the AP is not on the card.
    let absent = write(
        "absent.toml",
        "name = \"absent\"\ntype = \"C\"\naid = \"F0 43 41 52 44 41 50 43 7F 7F\"\n",
    );
    let o = cardap(&["read", "--profile", &absent, "--virtual-card", CARD]);
    assert_eq!(code(&o), 5, "{}", stderr(&o));

    // 6: authentication failure (the right AP, the wrong keys).
    let kiosk = std::fs::read_to_string(root().join("examples/profiles/kiosk.toml")).unwrap();
    let wrong_keys = kiosk
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("k_enc") && !l.contains("_env") {
                "k_enc = \"00112233445566778899AABBCCDDEEFF\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(
        wrong_keys, kiosk,
        "the kiosk profile holds its keys by value"
    );
    let wrong = write("wrong-keys.toml", &wrong_keys);
    let o = cardap(&["read", "--profile", &wrong, "--virtual-card", CARD]);
    assert_eq!(code(&o), 6, "{}", stderr(&o));

    // 7: any other card status (a READ BINARY of a file that is not there
    // answers 6A 82 only to SELECT; an unknown instruction is another status).
    let odd = write(
        "odd.toml",
        "name = \"odd\"\ntype = \"custom\"\naid = \"F0 43 41 52 44 41 50 43 00 01\"\n\
         [[read]]\nsfi = 1\nkind = \"records\"\n",
    );
    let o = cardap(&["read", "--profile", &odd, "--virtual-card", CARD]);
    assert_eq!(code(&o), 7, "{}", stderr(&o));

    // 4: no reader / no pcscd (PC/SC pointed at a socket that is not there).
    #[cfg(feature = "pcsc")]
    {
        let o = cardap_env(
            &[
                "read",
                "--profile",
                LIBRARY,
                "--reader",
                "no such reader 42",
            ],
            &[("PCSCLITE_CSOCK_NAME", "/nonexistent/pcscd.comm")],
        );
        assert_eq!(code(&o), 4, "{}", stderr(&o));
    }

    // Every error is one line on stderr.
    assert_eq!(stderr(&o).trim_end().lines().count(), 1, "{}", stderr(&o));
}

#[test]
fn help_documents_the_exit_codes() {
    let o = cardap(&["--help"]);
    let text = stdout(&o);
    for line in [
        "0  success",
        "2  usage",
        "3  profile or card description file",
        "4  no reader, no card",
        "5  AP or file not on the card",
        "6  authentication or integrity failure",
        "7  any other card status",
        "1  internal error",
    ] {
        assert!(text.contains(line), "--help lacks {line:?}:\n{text}");
    }
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let o = cardap(&["completions", shell]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("cardap"), "{shell}");
        assert!(
            text.contains("watch") && text.contains("profile"),
            "{shell}"
        );
    }
    assert_eq!(code(&cardap(&["completions", "tcsh"])), 2);
    let man = cardap(&["man"]);
    assert_eq!(code(&man), 0);
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie") || page.contains(".TH cardap"),
        "{page}"
    );
    assert!(page.contains("EXIT STATUS"));
    let dir = scratch().join("man");
    std::fs::create_dir_all(&dir).unwrap();
    let o = cardap(&["man", "--out-dir", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(dir.join("cardap.1")).unwrap(), page);
}

#[test]
fn bench_counts_are_bounded() {
    for count in ["0", "18446744073709551615", "100000000000", "-1", "x"] {
        let o = cardap(&[
            "bench",
            "--profile",
            LIBRARY,
            "--virtual-card",
            CARD,
            "--count",
            count,
        ]);
        assert_eq!(code(&o), 2, "count {count}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    let o = cardap(&[
        "bench",
        "--profile",
        LIBRARY,
        "--virtual-card",
        CARD,
        "--count",
        "3",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["count"], 3);
    assert_eq!(v["requested"], 3);
    assert_eq!(v["interrupted"], false);
    assert_eq!(v["failures"], 0);
    assert_eq!(v["apdus_per_read"], 2);
    for key in ["us_mean", "us_p50", "us_p99", "us_max"] {
        assert!(v[key].as_f64().is_some(), "{key}");
    }
}

#[cfg(unix)]
#[test]
fn bench_prints_its_statistics_when_interrupted() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardap"))
        .args([
            "bench",
            "--profile",
            LIBRARY,
            "--virtual-card",
            CARD,
            "--count",
            "10000000",
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{status:?}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["interrupted"], true);
    let done = v["count"].as_u64().unwrap();
    assert!(done > 0 && done < 10_000_000, "{done}");
}

#[test]
fn text_output_escapes_terminal_controls() {
    // A hostile Type C card: an EF.DIR label and an info field that would
    // drive the operator's terminal.
    let card = write(
        "hostile.toml",
        "[[ap]]\ntype = \"C\"\naid = \"F0 43 41 52 44 41 50 43 00 09\"\n\
         user_id = \"1234567890125\"\nlabel = \"lib\\u001b[2J\\u0007\"\ninfo1 = \"1B 5B 33 31 6D\"\n",
    );
    let profile = write(
        "hostile-profile.toml",
        "name = \"hostile\"\ntype = \"C\"\naid = \"F0 43 41 52 44 41 50 43 00 09\"\n\
         [[field]]\nname = \"shout\"\nsource = \"info1\"\nencoding = \"ascii\"\n",
    );
    let list = cardap(&["list", "--virtual-card", &card, "--format", "text"]);
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    assert!(!list.stdout.contains(&0x1b), "{:?}", stdout(&list));
    assert!(!list.stdout.contains(&0x07));
    assert!(
        stdout(&list).contains("lib\\u{1b}[2J\\u{7}"),
        "{}",
        stdout(&list)
    );
    let read = cardap(&[
        "read",
        "--profile",
        &profile,
        "--virtual-card",
        &card,
        "--format",
        "text",
    ]);
    assert_eq!(code(&read), 0, "{}", stderr(&read));
    assert!(!read.stdout.contains(&0x1b), "{:?}", stdout(&read));
    assert!(stdout(&read).contains("\\u{1b}[31m"), "{}", stdout(&read));
}

#[cfg(unix)]
#[test]
fn traces_are_private_never_follow_links_and_fail_loudly() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch().join("traces");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("t.trace");
    let _ = std::fs::remove_file(&trace);
    let o = cardap(&[
        "read",
        "--profile",
        LIBRARY,
        "--virtual-card",
        CARD,
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mode = std::fs::metadata(&trace).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");

    // A symbolic link planted where the trace goes is not followed.
    let victim = dir.join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let link = dir.join("link.trace");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let o = cardap(&[
        "read",
        "--profile",
        LIBRARY,
        "--virtual-card",
        CARD,
        "--trace",
        link.to_str().unwrap(),
    ]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");

    // An unwritable path is an error, not a silent skip.
    for args in [
        vec!["read", "--profile", LIBRARY, "--virtual-card", CARD],
        vec!["list", "--virtual-card", CARD],
        vec![
            "apdu",
            "--virtual-card",
            CARD,
            "00A4040C0AF0434152444150430001",
        ],
    ] {
        let mut args = args.clone();
        args.extend(["--trace", "/nonexistent-dir/t.trace"]);
        let o = cardap(&args);
        assert_eq!(code(&o), 1, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("cannot write trace"), "{}", stderr(&o));
    }
}

#[test]
fn apdu_never_echoes_command_data_in_errors_or_pins_in_output() {
    // A malformed APDU that carries a PIN-like payload: the error names its
    // position, not its bytes.
    let o = cardap(&["apdu", "--virtual-card", CARD, "00200080FF31323334"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("APDU #1"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("31323334"), "{}", stderr(&o));

    // A well-formed VERIFY: its data are redacted in the echo.
    let o = cardap(&["apdu", "--virtual-card", CARD, "002000800431323334"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stdout(&o).contains("31323334"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("> 00200080<redacted 5 bytes>"),
        "{}",
        stdout(&o)
    );

    // JSON output: one object with the exchanges.
    let o = cardap(&[
        "apdu",
        "--virtual-card",
        CARD,
        "--format",
        "json",
        "00A4040C0AF0434152444150430001",
        "00B0810000",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let ex = v["exchanges"].as_array().unwrap();
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0]["command"], "00A4040C0AF0434152444150430001");
    assert_eq!(ex[0]["response"], "");
    assert_eq!(ex[0]["sw"], "9000");
    assert_eq!(ex[1]["sw"], "9000");
    assert!(ex[1]["response"].as_str().unwrap().starts_with("C00D"));
}
