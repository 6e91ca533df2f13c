//! Profile errors never echo profile values (key material pasted in the
//! wrong place, escaped key names, values of the wrong type), and profile and
//! card description files are capped in size.
// `cfg(test)` marks the whole file as test code (clippy.toml's test allowances).
#![cfg(test)]

use cardap::Profile;
use cardap::profile::{MAX_PROFILE_FILE_LEN, ProfileError};

const KEY: &str = "000102030405060708090A0B0C0D0E0F";
const KEY_DIGITS: &str = "1234567";

fn profile(auth: &str) -> String {
    format!("name = \"kiosk\"\ntype = \"A\"\naid = \"F0434152444150410007\"\n\n[auth]\n{auth}\n")
}

fn error(text: &str) -> String {
    match Profile::from_toml_str(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

fn assert_no_echo(text: &str, secret: &str) -> String {
    let e = error(text);
    for needle in [
        secret.to_owned(),
        secret.to_lowercase(),
        secret[..secret.len().min(12)].to_owned(),
    ] {
        assert!(!e.contains(&needle), "error echoes a value: {e}");
    }
    e
}

#[test]
fn a_key_in_an_env_name_is_not_echoed() {
    let e = assert_no_echo(
        &profile(&format!(
            "suite = \"aes128\"\nk_enc_env = \"{KEY}\"\nk_mac = \"{KEY}\""
        )),
        KEY,
    );
    assert!(e.contains("auth.k_enc_env"), "{e}");
}

#[test]
fn a_key_in_the_suite_is_not_echoed() {
    let e = assert_no_echo(
        &profile(&format!(
            "suite = \"{KEY}\"\nk_enc = \"{KEY}\"\nk_mac = \"{KEY}\""
        )),
        KEY,
    );
    assert!(e.contains("auth.suite"), "{e}");
}

#[test]
fn escaped_key_names_do_not_echo_values() {
    let e = assert_no_echo(
        &profile(&format!(
            "suite = \"aes128\"\n\"k\\u005Fenc\" = {KEY_DIGITS}\nk_mac = \"{KEY}\""
        )),
        KEY_DIGITS,
    );
    assert!(e.contains("line 7"), "{e}");
    let e = assert_no_echo(
        &profile(&format!(
            "suite = \"aes128\"\n\"k\\u005Fenc\" = \"{KEY}\" junk\nk_mac = \"{KEY}\""
        )),
        KEY,
    );
    assert!(e.contains("line 7"), "{e}");
}

#[test]
fn wrong_types_unknown_keys_and_syntax_errors_do_not_echo() {
    assert_no_echo(
        &profile(&format!(
            "suite = \"aes128\"\nk_enc = {KEY_DIGITS}\nk_mac = \"{KEY}\""
        )),
        KEY_DIGITS,
    );
    // A key pasted as a key name.
    assert_no_echo(
        &profile(&format!(
            "suite = \"aes128\"\n\"{KEY}\" = 1\nk_mac = \"{KEY}\""
        )),
        KEY,
    );
    assert_no_echo(&profile(&format!("suite = aes128 {KEY}")), KEY);
    assert_no_echo(
        &format!("name = \"{KEY}\"\ntype = \"{KEY}\"\naid = \"F0434152444150430001\"\n"),
        KEY,
    );
    assert_no_echo(
        &format!(
            "name = \"x\"\ntype = \"C\"\naid = \"F0434152444150430001\"\n[[field]]\nname = \"a\"\nsource = \"info1\"\nencoding = \"{KEY}\"\n"
        ),
        KEY,
    );
    // The schema's own names may be shown.
    assert!(error("type = \"C\"\naid = \"F0434152444150430001\"\n").contains("name"));
}

#[test]
fn profile_files_are_capped() {
    let started = std::time::Instant::now();
    let e = Profile::from_file("/dev/zero").unwrap_err();
    assert!(matches!(e, ProfileError::TooLarge { .. }), "{e:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    let dir = std::env::temp_dir().join(format!("cardap-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.toml");
    let mut text = "# padding\n".repeat((MAX_PROFILE_FILE_LEN / 10) as usize + 1);
    text.push_str("name = \"x\"\ntype = \"C\"\naid = \"F0434152444150430001\"\n");
    std::fs::write(&big, &text).unwrap();
    assert!(matches!(
        Profile::from_file(&big),
        Err(ProfileError::TooLarge { .. })
    ));
    // Just under the cap is read.
    let small = dir.join("small.toml");
    std::fs::write(
        &small,
        "name = \"x\"\ntype = \"C\"\naid = \"F0434152444150430001\"\n",
    )
    .unwrap();
    assert!(Profile::from_file(&small).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn card_description_files_are_capped() {
    let e = cardap_sim::VirtualCard::from_file("/dev/zero").unwrap_err();
    match e {
        cardap_sim::DescriptionError::Io { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::FileTooLarge);
        }
        other => panic!("{other:?}"),
    }
}
