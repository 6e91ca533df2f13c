//! The one send path (PROFILE.md §1): `61xx` GET RESPONSE, `6Cxx` resend,
//! command chaining, and the extended → short fallback, against scripted
//! transports that check every byte the host sends.

#[path = "../../tests/common/mod.rs"]
mod common;

use crate::apdu::Command;
use crate::session::Session;
use crate::trace::{Replay, Trace};
use crate::transport::{Transport, TransportError};
use crate::{Card, Error, Profile, StatusWord};

/// One scripted exchange: the command expected and the answer given.
type Step = (Vec<u8>, Result<Vec<u8>, TransportError>);

/// A card that expects exactly these commands and gives these answers.
struct Script {
    steps: Vec<Step>,
    next: usize,
    atr: Vec<u8>,
}

impl Script {
    fn new(atr: &str, steps: &[(&str, Result<&str, TransportError>)]) -> Self {
        Self {
            steps: steps
                .iter()
                .map(|(c, r)| (h(c), r.clone().map(h)))
                .collect(),
            next: 0,
            atr: h(atr),
        }
    }
    fn done(&self) -> bool {
        self.next == self.steps.len()
    }
}

impl Transport for Script {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let (want, answer) = self
            .steps
            .get(self.next)
            .unwrap_or_else(|| panic!("unexpected extra command {}", hex::encode_upper(command)));
        assert_eq!(
            hex::encode_upper(command),
            hex::encode_upper(want),
            "command {}",
            self.next
        );
        self.next += 1;
        answer.clone()
    }
    fn atr(&self) -> Option<Vec<u8>> {
        Some(self.atr.clone())
    }
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

const ATR_EXT: &str = "3B858101807394014023";
const ATR_SHORT: &str = "3B858101807394010063";
const C_FILE: &str = "C00D31323334353637383930313235C1034C4942C20400123456C30107FFFFFFFF";
const C_PROFILE: &str = "name = \"lib\"\ntype = \"C\"\naid = \"F0434152444150430001\"\n";

#[test]
fn get_response_collects_61xx_pieces() {
    let mut t = Script::new(
        ATR_SHORT,
        &[
            ("00A4040C0AF0434152444150430001", Ok("9000")),
            ("00B0810000", Ok("C00D3132333435363738393031 6114")),
            (
                "00C0000014",
                Ok("3235C1034C4942C20400123456C30107FFFFFFFF 9000"),
            ),
        ],
    );
    let rec = Card::new(&mut t)
        .read(&Profile::from_toml_str(C_PROFILE).unwrap())
        .unwrap();
    assert_eq!(rec.user_id().as_str(), "1234567890125");
    assert_eq!(rec.apdus(), 3);
    assert_eq!(
        hex::encode_upper(rec.info_value("info2").unwrap()),
        "00123456"
    );
    assert!(t.done());
}

#[test]
fn wrong_le_is_resent_once_with_the_exact_length() {
    let mut t = Script::new(
        ATR_SHORT,
        &[
            ("00A4040C0AF0434152444150430001", Ok("9000")),
            ("00B0810000", Ok("6C21")),
            ("00B0810021", Ok(&format!("{C_FILE}9000"))),
        ],
    );
    let rec = Card::new(&mut t)
        .read(&Profile::from_toml_str(C_PROFILE).unwrap())
        .unwrap();
    assert_eq!(rec.apdus(), 3);
    assert!(t.done());
}

#[test]
fn a_state_changing_command_is_never_resent_on_6cxx() {
    let mut t = Script::new(ATR_SHORT, &[("002000800431323334", Ok("6C04"))]);
    let mut s = Session::new(&mut t, false);
    let verify = Command::new(0x00, 0x20, 0x00, 0x80, b"1234".to_vec(), None).unwrap();
    let r = s.transmit(&verify).unwrap();
    assert_eq!(r.sw, StatusWord::WrongLe(4));
    assert_eq!(s.apdu_count(), 1);
}

#[test]
fn long_data_is_chained_without_extended_length() {
    let data = vec![0xAB; 300];
    let first = format!("10D60000FF{}", "AB".repeat(255));
    let second = format!("00D600002D{}", "AB".repeat(45));
    let mut t = Script::new(ATR_SHORT, &[(&first, Ok("9000")), (&second, Ok("9000"))]);
    let mut s = Session::new(&mut t, false);
    let cmd = Command::new(0x00, 0xD6, 0, 0, data, None).unwrap();
    assert_eq!(s.transmit(&cmd).unwrap().sw, StatusWord::Success);
    assert_eq!(s.apdu_count(), 2);
    assert!(t.done());
}

#[test]
fn chaining_stops_at_the_first_refused_part() {
    let first = format!("10D60000FF{}", "AB".repeat(255));
    let mut t = Script::new(ATR_SHORT, &[(&first, Ok("6884"))]);
    let mut s = Session::new(&mut t, false);
    let cmd = Command::new(0x00, 0xD6, 0, 0, vec![0xAB; 300], None).unwrap();
    assert!(matches!(
        s.transmit(&cmd),
        Err(Error::Status {
            sw: StatusWord::ChainingNotSupported,
            ..
        })
    ));
}

/// A card whose ATR claims extended length but that answers `67 00` to it: the
/// reader starts again from SELECT with short APDUs (Type D, 3DES transcript).
#[test]
fn extended_rejected_falls_back_to_short_reads() {
    let v = common::vectors();
    let t = v["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "D-3des-short")
        .unwrap();
    let ex = t["exchanges"].as_array().unwrap();
    let sel = common::s(&ex[0], "command");
    // First attempt (extended): SELECT, GET CHALLENGE, MUTUAL AUTHENTICATE as
    // recorded, then the extended read is refused with 67 00.
    let mut text = format!("atr {ATR_EXT}\n");
    for e in &ex[..3] {
        text += &format!(
            "> {}\n< {}\n",
            common::s(e, "command"),
            common::s(e, "response")
        );
    }
    text += "> 0CB0810000000D[13]0000\n< 6700\n";
    for e in ex {
        text += &format!(
            "> {}\n< {}\n",
            common::s(e, "command"),
            common::s(e, "response")
        );
    }
    let _ = sel;
    let random = format!(
        "{}{}{}{}",
        common::s(&t["random"], "RND_IFD"),
        common::s(&t["random"], "K_IFD"),
        common::s(&t["random"], "RND_IFD"),
        common::s(&t["random"], "K_IFD")
    );
    let trace = Trace::parse(&text).unwrap();
    let profile = Profile::from_toml_str(&common::profile_for(t)).unwrap();
    let mut reader = Card::new(Replay::new(trace)).with_random(h(&random));
    let rec = reader.read(&profile).unwrap();
    assert_eq!(rec.user_id().as_str(), "4003000000012");
    assert_eq!(rec.apdus(), 4 + 5);
    assert!(reader.transport().finished());
}

#[test]
fn a_profile_can_forbid_extended_length() {
    let profile = Profile::from_toml_str(&format!("{C_PROFILE}extended_length = false\n")).unwrap();
    assert_eq!(profile.extended_length(), Some(false));
    // Type C reads are short either way: two round trips.
    let mut t = Script::new(
        ATR_EXT,
        &[
            ("00A4040C0AF0434152444150430001", Ok("9000")),
            ("00B0810000", Ok(&format!("{C_FILE}9000"))),
        ],
    );
    assert_eq!(Card::new(&mut t).read(&profile).unwrap().apdus(), 2);
}

#[test]
fn a_removed_card_is_a_typed_error() {
    let mut t = Script::new(
        ATR_SHORT,
        &[
            ("00A4040C0AF0434152444150430001", Ok("9000")),
            ("00B0810000", Err(TransportError::CardRemoved)),
        ],
    );
    let err = Card::new(&mut t)
        .read(&Profile::from_toml_str(C_PROFILE).unwrap())
        .unwrap_err();
    assert!(err.card_state_lost(), "{err:?}");
}

#[test]
fn wrong_status_words_are_typed_errors() {
    let cases = [("6A82", "not on the card"), ("6E00", "SELECT failed")];
    for (sw, msg) in cases {
        let mut t = Script::new(ATR_SHORT, &[("00A4040C0AF0434152444150430001", Ok(sw))]);
        let err = Card::new(&mut t)
            .read(&Profile::from_toml_str(C_PROFILE).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains(msg), "{sw}: {err}");
    }
    let mut t = Script::new(
        ATR_SHORT,
        &[
            ("00A4040C0AF0434152444150430001", Ok("9000")),
            ("00B0810000", Ok("6982")),
        ],
    );
    let err = Card::new(&mut t)
        .read(&Profile::from_toml_str(C_PROFILE).unwrap())
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Status {
            sw: StatusWord::SecurityStatusNotSatisfied,
            ..
        }
    ));
}

#[test]
fn malformed_type_c_files_name_the_ap() {
    let bad = [
        "C10D313233343536373839303132359000",     // wrong first tag
        "C00D3132333435369000",                   // truncated inside the user ID
        "C00D31323334353637383930313234FFFF9000", // bad check digit
        "C00D31323334353637383930313235C10A4C49429000", // info runs past the end
        "C00D31323334353637383930313235C2014CC1014C9000", // out of order
        "C00D31323334353637383930313235FF019000", // data after filler
    ];
    for (i, file) in bad.iter().enumerate() {
        let mut t = Script::new(
            ATR_SHORT,
            &[
                ("00A4040C0AF0434152444150430001", Ok("9000")),
                ("00B0810000", Ok(file)),
            ],
        );
        let err = Card::new(&mut t)
            .read(&Profile::from_toml_str(C_PROFILE).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("lib"), "case {i}: {err}");
    }
}

fn transcript(name: &str) -> serde_json::Value {
    let v = common::vectors();
    v["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap()
        .clone()
}

fn host_random(t: &serde_json::Value, times: usize) -> Vec<u8> {
    h(&format!(
        "{}{}",
        common::s(&t["random"], "RND_IFD"),
        common::s(&t["random"], "K_IFD")
    )
    .repeat(times))
}

/// Inside a secure channel only `61xx` is transport-level: a `6Cxx` in the
/// clear is refused, the channel ends, nothing is resent and nothing returned.
#[test]
fn an_unprotected_6cxx_inside_the_channel_is_refused_not_resent() {
    let t = transcript("A-3des-extended");
    let ex = t["exchanges"].as_array().unwrap();
    let steps: Vec<(&str, Result<&str, TransportError>)> = vec![
        (
            common::s(&ex[0], "command"),
            Ok(common::s(&ex[0], "response")),
        ),
        (
            common::s(&ex[1], "command"),
            Ok(common::s(&ex[1], "response")),
        ),
        (
            common::s(&ex[2], "command"),
            Ok(common::s(&ex[2], "response")),
        ),
        (common::s(&ex[3], "command"), Ok("6C00")),
    ];
    let mut card = Script::new(ATR_EXT, &steps);
    let profile = Profile::from_toml_str(&common::profile_for(&t)).unwrap();
    let err = Card::new(&mut card)
        .with_random(host_random(&t, 1))
        .read(&profile)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SecureMessaging(crate::sm::SmError::Unprotected(0x6C00))
        ),
        "{err:?}"
    );
    assert!(card.done());
}

/// A reader that cannot carry an extended APDU fails the exchange (a transport
/// error, the card still there): the read starts again with short APDUs.
#[test]
fn a_transport_error_on_an_extended_apdu_falls_back_to_short() {
    let t = transcript("D-3des-short");
    let ex = t["exchanges"].as_array().unwrap();
    let mut steps: Vec<(&str, Result<&str, TransportError>)> = ex[..3]
        .iter()
        .map(|e| (common::s(e, "command"), Ok(common::s(e, "response"))))
        .collect();
    let refused = TransportError::Other("reader cannot carry extended APDUs".into());
    steps.push(("0CB0810000000D9701008E08DC07B588392022160000", Err(refused)));
    steps.extend(
        ex.iter()
            .map(|e| (common::s(e, "command"), Ok(common::s(e, "response")))),
    );
    // The extended attempt's MAC is fixed by the transcript's random values.
    let mut card = Script::new(ATR_EXT, &steps);
    let profile = Profile::from_toml_str(&common::profile_for(&t)).unwrap();
    let rec = Card::new(&mut card)
        .with_random(host_random(&t, 2))
        .read(&profile)
        .unwrap();
    assert_eq!(rec.user_id().as_str(), "4003000000012");
    assert_eq!(rec.apdus(), 4 + 5);
    assert!(card.done());
}
