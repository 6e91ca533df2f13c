//! Profiles with `[auth.update]` and write requests checked before anything
//! is sent (PROFILE.md §9, §11).
#![cfg(test)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardap::trace::{Replay, Trace};
use cardap::{Card, Error, FieldWrite, Profile};

const C_UPDATE: &str = "name = \"c\"\ntype = \"C\"\naid = \"F0434152444150430001\"\n\
    [auth.update]\nsuite = \"aes128\"\nk_enc = \"000102030405060708090A0B0C0D0E0F\"\n\
    k_mac = \"101112131415161718191A1B1C1D1E1F\"\n\
    [[field]]\nname = \"member_no\"\nsource = \"info2\"\nencoding = \"bcd\"\n";

const D_UPDATE: &str = "name = \"d\"\ntype = \"D\"\naid = \"F0434152444150440003\"\n\
    [auth]\nsuite = \"aes256\"\n\
    [auth.update]\nsuite = \"3des\"\nk_enc = \"000102030405060708090A0B0C0D0E0F\"\n\
    k_mac = \"101112131415161718191A1B1C1D1E1F\"\n\
    [[field]]\nname = \"name\"\noffset = 13\nlength = 4\nencoding = \"ascii\"\n";

#[test]
fn update_key_tables_parse_and_are_checked() {
    let c = Profile::from_toml_str(C_UPDATE).unwrap();
    assert!(c.auth().is_none(), "Type C reads need no keys");
    assert_eq!(c.update().unwrap().suite().name(), "aes128");
    assert!(c.without_update_keys().update().is_none());
    // Type C with read keys is still refused.
    let bad = C_UPDATE.replace("[auth.update]", "[auth]");
    assert!(Profile::from_toml_str(&bad).is_err());
    let short = C_UPDATE.replace("0E0F\"", "0E\"");
    let e = Profile::from_toml_str(&short).unwrap_err().to_string();
    assert!(e.contains("auth.update.k_enc"), "{e}");
    assert!(!e.contains("0D0E"), "no key bytes in errors: {e}");
    let custom = "name = \"x\"\ntype = \"custom\"\naid = \"F001020304\"\n[auth.update]\nsuite = \"aes128\"\n\
        [[read]]\nsfi = 1\nkind = \"binary\"\n";
    assert!(
        Profile::from_toml_str(custom)
            .unwrap_err()
            .to_string()
            .contains("auth.update")
    );
    let unknown = C_UPDATE.replace("suite = \"aes128\"", "suite = \"aes128\"\nextra = 1");
    assert!(Profile::from_toml_str(&unknown).is_err());
}

fn refused(profile: &Profile, writes: &[FieldWrite]) -> String {
    // An empty replay: any APDU sent would fail the test with a replay error.
    let mut reader = Card::new(Replay::new(Trace {
        atr: None,
        exchanges: Vec::new(),
    }));
    match reader.write(profile, writes) {
        Err(Error::Request { problem }) => problem,
        other => panic!("expected a refused request, got {other:?}"),
    }
}

#[test]
fn writes_the_profile_does_not_allow_send_nothing() {
    let c = Profile::from_toml_str(C_UPDATE).unwrap();
    let d = Profile::from_toml_str(D_UPDATE).unwrap();
    assert!(refused(&c, &[FieldWrite::info(4, vec![1])]).contains("info1 to info3"));
    assert!(refused(&c, &[FieldWrite::data(13, vec![1])]).contains("cannot be written"));
    assert!(refused(&c, &[FieldWrite::field("member_no", "12a")]).contains("member_no"));
    assert!(refused(&c, &[FieldWrite::field("nope", "1")]).contains("no field"));
    assert!(refused(&d, &[FieldWrite::data(12, vec![1])]).contains("user ID"));
    assert!(refused(&d, &[FieldWrite::data(250, vec![1; 6])]).contains("do not fit"));
    assert!(refused(&d, &[FieldWrite::info(1, vec![1])]).contains("cannot be written"));
    assert!(refused(&d, &[FieldWrite::field("name", "TOO LONG")]).contains("holds 4"));
    assert!(refused(&d, &[]).contains("nothing to write"));
}

#[test]
fn write_requests_parse_from_the_cli_form() {
    assert_eq!(
        FieldWrite::parse("info2=00 12").unwrap(),
        FieldWrite::info(2, vec![0, 0x12])
    );
    assert_eq!(
        FieldWrite::parse("data@13=AB").unwrap(),
        FieldWrite::data(13, vec![0xAB])
    );
    assert_eq!(
        FieldWrite::parse("data@0x0D=AB").unwrap(),
        FieldWrite::data(13, vec![0xAB])
    );
    assert_eq!(
        FieldWrite::parse("name=a=b").unwrap(),
        FieldWrite::field("name", "a=b")
    );
    assert_eq!(
        FieldWrite::parse("info1=").unwrap(),
        FieldWrite::info(1, vec![])
    );
    for bad in ["info2", "info2=XYZ", "data@x=00", "=1"] {
        assert!(
            matches!(FieldWrite::parse(bad), Err(Error::Request { .. })),
            "{bad}"
        );
    }
    // Values are not shown by Debug.
    let debug = format!("{:?}", FieldWrite::field("pin", "SECRET"));
    assert!(!debug.contains("SECRET"), "{debug}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any request text gives a write or a typed error, and planning it
        /// against any standard profile sends nothing and never panics.
        #[test]
        fn any_request_is_parsed_and_checked_without_panicking(spec in ".{0,80}", n in 0usize..40, offset in any::<usize>(), value in proptest::collection::vec(any::<u8>(), 0..300)) {
            let c = Profile::from_toml_str(C_UPDATE).unwrap();
            let d = Profile::from_toml_str(D_UPDATE).unwrap();
            let mut writes = vec![FieldWrite::info(n, value.clone()), FieldWrite::data(offset, value)];
            if let Ok(w) = FieldWrite::parse(&spec) {
                writes.push(w);
            }
            for profile in [&c, &d] {
                for w in &writes {
                    let mut reader = Card::new(Replay::new(Trace { atr: None, exchanges: Vec::new() }));
                    match reader.write(profile, std::slice::from_ref(w)) {
                        Err(Error::Request { .. }) => {}
                        // A valid request reaches the (empty) card: the replay ends it.
                        Err(Error::Transport(_)) => {}
                        other => prop_assert!(false, "{other:?}"),
                    }
                }
            }
        }
    }
}
