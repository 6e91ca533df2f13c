//! Validation of virtual card descriptions (PROFILE.md §10): one test per rule,
//! each checking that the message names the AP, the key and the problem, and
//! never shows key bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardap::Suite;
use cardap_sim::SecretKey;
use cardap_sim::{
    ApDescription, ApType, Area, Description, DescriptionError, InfoField, Problem, VirtualCard,
};

const K16: &str = "00112233445566778899AABBCCDDEEFF";
const K32: &str = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";

/// A valid description with one AP of each type; `ap_c`, `ap_a`, `ap_d` are
/// extra lines for the respective AP.
fn doc(ap_c: &str, ap_a: &str, ap_d: &str) -> String {
    format!(
        r#"
extended_length = true

[[ap]]
type = "C"
aid = "F0 43 41 52 44 41 50 43 00 01"
area = "extension"
user_id = "1234567890125"
label = "city library"
info1 = "4C 49 42"
{ap_c}

[[ap]]
type = "A"
aid = "F0 43 41 52 44 41 50 41 00 07"
suite = "aes128"
k_enc = "{K16}"
k_mac = "{K16}"
user_id = "2024000000020"
records = ["4B 49 4F 53 4B", "20250401"]
{ap_a}

[[ap]]
type = "D"
aid = "F0 43 41 52 44 41 50 44 00 03"
suite = "3des"
k_enc = "{K16}"
k_mac = "{K16}"
user_id = "2024000000080"
data = "01 02 03"
{ap_d}
"#
    )
}

/// Parses `text`, expects an `Invalid` error at `index` for `key`, and returns
/// the problem and the message.
fn invalid(text: &str, index: usize, key: &str) -> (Problem, String) {
    let error = Description::from_toml_str(text).expect_err("must be refused");
    let message = error.to_string();
    assert!(!message.contains(K16), "{message}");
    assert!(!message.contains(&K16[..20]), "{message}");
    match error {
        DescriptionError::Invalid {
            index: Some(i),
            key: k,
            problem,
            ..
        } => {
            assert_eq!((i, k.as_str()), (index, key), "{message}");
            assert!(message.contains(&format!("ap[{index}]")), "{message}");
            assert!(message.contains(&format!("`{key}`")), "{message}");
            (problem, message)
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn the_base_document_is_valid() {
    let description = Description::from_toml_str(&doc("", "", "")).unwrap();
    assert!(description.extended_length());
    assert_eq!(description.aps().len(), 3);
    let c = &description.aps()[0];
    assert_eq!(
        (c.ap_type(), c.area(), c.label()),
        (ApType::C, Area::Extension, Some("city library"))
    );
    assert_eq!(c.info()[0].as_deref(), Some(&b"LIB"[..]));
    let a = &description.aps()[1];
    assert_eq!(
        a.records(),
        [b"KIOSK".to_vec(), vec![0x20, 0x25, 0x04, 0x01]]
    );
    assert_eq!(a.keys().unwrap().suite(), Suite::Aes128);
    // Defaults: extended length on, area extension.
    let minimal = Description::from_toml_str(
        "[[ap]]\ntype = \"C\"\naid = \"F0 01 02 03 04\"\nuser_id = \"1234567890125\"\n",
    )
    .unwrap();
    assert!(minimal.extended_length());
    assert_eq!(minimal.aps()[0].area(), Area::Extension);
    assert!(Description::from_toml_str("").unwrap().aps().is_empty());
}

#[test]
fn bad_hex() {
    for (text, index, key) in [
        (
            doc("", "", "").replace("F0 43 41 52 44 41 50 41 00 07", "F0 4G"),
            1,
            "aid",
        ),
        (doc("", "", "").replace("4C 49 42", "4C 4"), 0, "info1"),
        (
            doc("", "", "").replace("\"20250401\"", "\"2025040Z\""),
            1,
            "records[1]",
        ),
        (doc("", "", "").replace("01 02 03", "01 02 0x"), 2, "data"),
    ] {
        let (problem, _) = invalid(&text, index, key);
        assert_eq!(problem, Problem::BadHex);
    }
    // A bad key is named, and its text is not shown.
    let text = doc("", "", "").replacen(
        &format!("k_enc = \"{K16}\"\nk_mac"),
        &format!("k_enc = \"{}ZZ\"\nk_mac", &K16[..30]),
        1,
    );
    let (problem, message) = invalid(&text, 1, "k_enc");
    assert_eq!(problem, Problem::BadHex);
    assert!(!message.contains(&K16[..30]), "{message}");
}

#[test]
fn wrong_key_length_for_the_suite() {
    // aes128 with a 32-byte key.
    let text = doc("", "", "").replacen(
        &format!("k_mac = \"{K16}\"\nuser_id = \"2024000000020\""),
        &format!("k_mac = \"{K32}\"\nuser_id = \"2024000000020\""),
        1,
    );
    let (problem, message) = invalid(&text, 1, "k_mac");
    assert_eq!(
        problem,
        Problem::KeyLength {
            suite: Suite::Aes128,
            expected: 16,
            got: 32
        }
    );
    assert!(!message.contains(K32), "{message}");
    assert!(
        message.contains("F0434152444150410007"),
        "names the AID: {message}"
    );
    // aes256 with 16-byte keys.
    let text = doc("", "", "").replace("suite = \"3des\"", "suite = \"aes256\"");
    let (problem, _) = invalid(&text, 2, "k_enc");
    assert_eq!(
        problem,
        Problem::KeyLength {
            suite: Suite::Aes256,
            expected: 32,
            got: 16
        }
    );
    // 3des with 15 bytes.
    let text = doc("", "", "").replacen(
        &format!("suite = \"3des\"\nk_enc = \"{K16}\""),
        &format!("suite = \"3des\"\nk_enc = \"{}\"", &K16[..30]),
        1,
    );
    let (problem, _) = invalid(&text, 2, "k_enc");
    assert!(matches!(problem, Problem::KeyLength { got: 15, .. }));
}

#[test]
fn user_id_format_and_check_digit() {
    for bad in ["123456789012", "12345678901250", "12345678901X5", ""] {
        let text = doc("", "", "").replace("1234567890125", bad);
        let (problem, _) = invalid(&text, 0, "user_id");
        assert_eq!(problem, Problem::UserIdFormat, "{bad:?}");
    }
    let text = doc("", "", "").replace("2024000000080", "2024000000081");
    let (problem, message) = invalid(&text, 2, "user_id");
    assert_eq!(
        problem,
        Problem::UserIdCheckDigit {
            expected: 0,
            got: 1
        }
    );
    assert!(message.contains("check digit"), "{message}");
}

#[test]
fn type_c_info_over_12_bytes() {
    let text = doc(
        "info2 = \"00 11 22 33 44 55\"\ninfo3 = \"00 11 22 33\"",
        "",
        "",
    );
    let (problem, _) = invalid(&text, 0, "info1..info3");
    assert_eq!(problem, Problem::TooLong { max: 12, got: 13 });
    // Exactly 12 is fine, and so is an empty field.
    let text = doc(
        "info2 = \"00 11 22 33 44 55\"\ninfo3 = \"00 11 22\"",
        "",
        "",
    );
    assert!(Description::from_toml_str(&text).is_ok());
    let ok = Description::from_toml_str(&doc("info2 = \"\"", "", "")).unwrap();
    assert_eq!(ok.aps()[0].info()[1].as_deref(), Some(&[][..]));
}

#[test]
fn type_a_record_limits() {
    let hex = |n: usize| "AB".repeat(n);
    // A value over 127 bytes.
    let text = doc("", "", "").replace(
        "records = [\"4B 49 4F 53 4B\", \"20250401\"]",
        &format!("records = [\"01\", \"{}\"]", hex(128)),
    );
    let (problem, _) = invalid(&text, 1, "records[1]");
    assert_eq!(problem, Problem::TooLong { max: 127, got: 128 });
    // More than 30 records.
    let records = vec!["\"\"".to_owned(); 31].join(", ");
    let text = doc("", "", "").replace(
        "records = [\"4B 49 4F 53 4B\", \"20250401\"]",
        &format!("records = [{records}]"),
    );
    let (problem, _) = invalid(&text, 1, "records");
    assert_eq!(problem, Problem::TooMany { max: 30, got: 31 });
    // The whole EF over 255 bytes: 15 + (2 + 120) + (2 + 117) = 256.
    let text = doc("", "", "").replace(
        "records = [\"4B 49 4F 53 4B\", \"20250401\"]",
        &format!("records = [\"{}\", \"{}\"]", hex(120), hex(117)),
    );
    let (problem, _) = invalid(&text, 1, "records");
    assert_eq!(problem, Problem::EfTooLarge { max: 255, got: 256 });
    // 255 exactly is fine.
    let text = doc("", "", "").replace(
        "records = [\"4B 49 4F 53 4B\", \"20250401\"]",
        &format!("records = [\"{}\", \"{}\"]", hex(120), hex(116)),
    );
    assert!(Description::from_toml_str(&text).is_ok());
}

#[test]
fn type_d_data_over_242_bytes() {
    let text = doc("", "", "").replace(
        "data = \"01 02 03\"",
        &format!("data = \"{}\"", "00".repeat(243)),
    );
    let (problem, _) = invalid(&text, 2, "data");
    assert_eq!(problem, Problem::TooLong { max: 242, got: 243 });
    let text = doc("", "", "").replace(
        "data = \"01 02 03\"",
        &format!("data = \"{}\"", "00".repeat(242)),
    );
    assert!(Description::from_toml_str(&text).is_ok());
}

#[test]
fn duplicate_aids() {
    let text = doc("", "", "").replace("F0 43 41 52 44 41 50 44 00 03", "F0434152444150430001");
    let (problem, message) = invalid(&text, 2, "aid");
    assert_eq!(problem, Problem::DuplicateAid { first: 0 });
    assert!(message.contains("ap[0]"), "{message}");
}

#[test]
fn aid_length_outside_5_to_16() {
    let text = doc("", "", "").replace("F0 43 41 52 44 41 50 43 00 01", "F0 43 41 52");
    assert_eq!(invalid(&text, 0, "aid").0, Problem::AidLength { got: 4 });
    let long = "F0".repeat(17);
    let text = doc("", "", "").replace("F0 43 41 52 44 41 50 43 00 01", &long);
    assert_eq!(invalid(&text, 0, "aid").0, Problem::AidLength { got: 17 });
    let text = doc("", "", "").replace("F0 43 41 52 44 41 50 43 00 01", &"F0".repeat(16));
    assert!(Description::from_toml_str(&text).is_ok());
}

#[test]
fn unknown_type_suite_area() {
    let text = doc("", "", "").replace("type = \"D\"", "type = \"B\"");
    assert_eq!(
        invalid(&text, 2, "type").0,
        Problem::UnknownType("B".into())
    );
    let text = doc("", "", "").replace("suite = \"aes128\"", "suite = \"aes192\"");
    assert_eq!(
        invalid(&text, 1, "suite").0,
        Problem::UnknownSuite("aes192".into())
    );
    let text = doc("", "", "").replace("area = \"extension\"", "area = \"global\"");
    assert_eq!(
        invalid(&text, 0, "area").0,
        Problem::UnknownArea("global".into())
    );
}

#[test]
fn missing_keys() {
    let base = doc("", "", "");
    let cases = [
        (
            base.replacen(&format!("k_mac = \"{K16}\"\n"), "", 1),
            1,
            "k_mac",
        ),
        (
            base.replacen(&format!("k_enc = \"{K16}\"\n"), "", 1),
            1,
            "k_enc",
        ),
        (base.replace("suite = \"3des\"\n", ""), 2, "suite"),
        (base.replace("type = \"C\"\n", ""), 0, "type"),
        (
            base.replace("aid = \"F0 43 41 52 44 41 50 41 00 07\"\n", ""),
            1,
            "aid",
        ),
        (
            base.replace("user_id = \"2024000000080\"\n", ""),
            2,
            "user_id",
        ),
    ];
    for (text, index, key) in cases {
        assert_eq!(invalid(&text, index, key).0, Problem::Missing, "{key}");
    }
}

#[test]
fn keys_of_another_type_are_refused() {
    for (text, index, key, ap_type) in [
        (doc("records = []", "", ""), 0, "records", ApType::C),
        (
            doc(&format!("k_enc = \"{K16}\""), "", ""),
            0,
            "k_enc",
            ApType::C,
        ),
        (doc("", "data = \"00\"", ""), 1, "data", ApType::A),
        (doc("", "", "info1 = \"00\""), 2, "info1", ApType::D),
    ] {
        assert_eq!(
            invalid(&text, index, key).0,
            Problem::NotAllowed { ap_type },
            "{key}"
        );
    }
}

#[test]
fn label_over_64_bytes() {
    let text = doc("", "", "").replace("city library", &"x".repeat(65));
    assert_eq!(
        invalid(&text, 0, "label").0,
        Problem::TooLong { max: 64, got: 65 }
    );
}

#[test]
fn unknown_keys_and_syntax_errors_give_a_position() {
    let text = doc("", "k_encc = \"00\"", "");
    let error = Description::from_toml_str(&text).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, DescriptionError::Syntax { line: 21, .. }),
        "{message}"
    );
    assert!(message.contains("k_encc"), "{message}");
    let error = Description::from_toml_str("extended_length = maybe").unwrap_err();
    assert!(
        matches!(error, DescriptionError::Syntax { line: 1, .. }),
        "{error}"
    );
    let error = Description::from_toml_str("colour = \"blue\"").unwrap_err();
    assert!(error.to_string().contains("colour"), "{error}");
}

#[test]
fn a_key_given_as_a_number_is_not_echoed() {
    let text = doc("", "", "").replacen(
        &format!("k_enc = \"{K16}\""),
        "k_enc = 1234567890987654321",
        1,
    );
    let message = Description::from_toml_str(&text).unwrap_err().to_string();
    assert!(!message.contains("1234567890987654321"), "{message}");
    assert!(message.contains("hex string"), "{message}");
}

#[test]
fn errors_from_a_file_name_the_file() {
    let dir = std::env::temp_dir().join(format!("cardap-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad-card.toml");
    std::fs::write(
        &path,
        doc("", "", "").replace("2024000000080", "2024000000081"),
    )
    .unwrap();
    let error = Description::from_file(&path).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("ap[2] (AID F0434152444150440003): `user_id`"),
        "{message}"
    );
    assert!(matches!(
        error,
        DescriptionError::Invalid { file: Some(_), .. }
    ));
    // A good file loads, through VirtualCard too.
    std::fs::write(&path, doc("", "", "")).unwrap();
    assert_eq!(
        VirtualCard::from_file(&path)
            .unwrap()
            .description()
            .aps()
            .len(),
        3
    );
    // A missing file.
    let missing = dir.join("missing.toml");
    let error = Description::from_file(&missing).unwrap_err();
    assert!(matches!(error, DescriptionError::Io { .. }));
    assert!(error.to_string().contains("missing.toml"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_builder_checks_the_same_rules() {
    let key = || SecretKey::new(vec![7; 16]);
    let aid = vec![0xF0, 1, 2, 3, 4];
    let error = Description::builder()
        .ap(ApDescription::type_a(
            aid.clone(),
            "1234567890125",
            Suite::Aes256,
            key(),
            key(),
        ))
        .build()
        .unwrap_err();
    assert_eq!(error.key(), Some("k_enc"));
    assert!(!error.to_string().contains("0707070707"));
    let error = Description::builder()
        .ap(ApDescription::type_c(aid.clone(), "1234567890125"))
        .ap(ApDescription::type_c(aid.clone(), "1234567890125"))
        .build()
        .unwrap_err();
    assert_eq!(error.problem(), Some(&Problem::DuplicateAid { first: 0 }));
    let error = Description::builder()
        .ap(ApDescription::type_c(aid.clone(), "1234567890125").with_record(vec![1]))
        .build()
        .unwrap_err();
    assert_eq!(error.key(), Some("records"));
    let error = Description::builder()
        .ap(
            ApDescription::type_d(aid.clone(), "1234567890125", Suite::Aes128, key(), key())
                .with_info(InfoField::Info2, vec![1]),
        )
        .build()
        .unwrap_err();
    assert_eq!(error.key(), Some("info2"));
    let ok = Description::builder()
        .extended_length(false)
        .ap(
            ApDescription::type_d(aid, "1234567890125", Suite::Aes128, key(), key())
                .with_area(Area::Local)
                .with_label("ラベル")
                .with_data(vec![1, 2, 3]),
        )
        .build()
        .unwrap();
    let again = Description::from_toml_str(&ok.to_toml_string().unwrap()).unwrap();
    assert_eq!(again, ok);
    assert!(!format!("{ok:?}").contains("7, 7, 7"));
}
