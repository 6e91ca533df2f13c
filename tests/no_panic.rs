//! No parser panics, whatever the input: APDUs, TLV, ATRs, traces, profiles,
//! user IDs, field decoders, and a whole reader facing a card that answers
//! random bytes.
#![cfg(test)]

use cardap::fuzzing;
use cardap::profile::Encoding;
use cardap::transport::{Transport, TransportError};
use cardap::{Card, Profile, UserId, trace::Trace};
use proptest::prelude::*;

/// A card that answers each command with the next scripted byte string.
struct Garbage {
    answers: Vec<Vec<u8>>,
    atr: Vec<u8>,
}

impl Transport for Garbage {
    fn transmit(&mut self, _command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.answers.is_empty() {
            return Err(TransportError::CardRemoved);
        }
        Ok(self.answers.remove(0))
    }
    fn atr(&self) -> Option<Vec<u8>> {
        Some(self.atr.clone())
    }
}

const PROFILES: [&str; 4] = [
    "name = \"c\"\ntype = \"C\"\naid = \"F0434152444150430001\"\n[[field]]\nname = \"x\"\nsource = \"info1\"\nencoding = \"bcd\"\n",
    "name = \"a\"\ntype = \"A\"\naid = \"F0434152444150410001\"\n[auth]\nsuite = \"3des\"\nk_enc = \"000102030405060708090A0B0C0D0E0F\"\nk_mac = \"101112131415161718191A1B1C1D1E1F\"\n",
    "name = \"d\"\ntype = \"D\"\naid = \"F0434152444150440001\"\n[auth]\nsuite = \"aes256\"\nk_enc = \"000102030405060708090A0B0C0D0E0F000102030405060708090A0B0C0D0E0F\"\nk_mac = \"101112131415161718191A1B1C1D1E1F101112131415161718191A1B1C1D1E1F\"\n",
    "name = \"x\"\ntype = \"custom\"\naid = \"F0434152444150580001\"\n[[read]]\nfile = \"011E\"\nkind = \"binary\"\nuser_id_offset = 0\n[[read]]\nsfi = 2\nkind = \"records\"\n",
];

fn answer() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Plausible: data plus a common status word.
        (
            proptest::collection::vec(any::<u8>(), 0..300),
            prop_oneof![
                Just([0x90u8, 0x00]),
                Just([0x61, 0x10]),
                Just([0x6C, 0x05]),
                Just([0x67, 0x00]),
                Just([0x62, 0x82]),
                Just([0x6A, 0x83]),
                any::<[u8; 2]>()
            ]
        )
            .prop_map(|(mut d, sw)| {
                d.extend_from_slice(&sw);
                d
            }),
        proptest::collection::vec(any::<u8>(), 0..4),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn byte_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        // A command that parses encodes back to the same bytes.
        if let Ok(again) = fuzzing::command_apdu(&bytes) {
            prop_assert_eq!(again, bytes.clone());
        }
        let _ = fuzzing::response_apdu(&bytes);
        let _ = fuzzing::ber_tlv(&bytes);
        let _ = fuzzing::simple_tlv(&bytes);
        let _ = fuzzing::atr_supports_extended(&bytes);
        let _ = fuzzing::atr_historical_bytes(&bytes);
        let _ = UserId::parse(&bytes);
        for e in [Encoding::Ascii, Encoding::Utf8, Encoding::ShiftJis, Encoding::Bcd, Encoding::Hex] {
            let _ = fuzzing::decode_field(e, &bytes);
        }
        let _ = fuzzing::ef_dir(std::slice::from_ref(&bytes));
        for text in PROFILES {
            let profile = Profile::from_toml_str(text).unwrap();
            let _ = fuzzing::type_a(&profile, &bytes);
            let _ = fuzzing::type_c(&profile, &bytes);
            let _ = fuzzing::type_d(&profile, &bytes);
        }
        for suite in [cardap::Suite::TripleDes, cardap::Suite::Aes128, cardap::Suite::Aes256] {
            let (k, ssc) = (vec![1; suite.key_len()], vec![0; suite.ssc_len()]);
            let _ = fuzzing::sm_unwrap(suite, &k, &k, &ssc, true, &bytes);
            let _ = fuzzing::sm_unwrap(suite, &k, &k, &ssc, false, &bytes);
        }
    }

    #[test]
    fn text_parsers(text in ".{0,400}") {
        let _ = Trace::parse(&text);
        let _ = fuzzing::profile(&text);
    }

    #[test]
    fn readers_facing_a_random_card(
        which in 0usize..4,
        answers in proptest::collection::vec(answer(), 0..12),
        extended in any::<bool>(),
    ) {
        let profile = Profile::from_toml_str(PROFILES[which]).unwrap();
        let atr = if extended { "3B858101807394014023" } else { "3B858101807394010063" };
        let card = Garbage { answers, atr: hex::decode(atr).unwrap() };
        let mut reader = Card::new(card).with_random(vec![7; 48]);
        // Whatever comes back, it is a value or a typed error, never a panic;
        // and no authenticated AP is returned from random answers.
        if let Ok(rec) = reader.read(&profile) {
            prop_assert!(matches!(rec.ap_type(), cardap::ApType::C | cardap::ApType::Custom));
        }
        let _ = reader.list();
    }
}

/// A genuine authenticated session with the virtual card, recorded in full
/// (test keys only), for each protected AP type and length mode.
fn genuine_sessions() -> Vec<(Profile, cardap::trace::Trace, cardap::ApRecord)> {
    use cardap::trace::{Recorder, Redaction};
    let card_text = include_str!("../examples/cards/demo.toml");
    let mut out = Vec::new();
    for (text, extended) in [
        (include_str!("../examples/profiles/kiosk.toml"), true),
        (include_str!("../examples/profiles/kiosk.toml"), false),
        (include_str!("../examples/profiles/evacuee.toml"), true),
        (include_str!("../examples/profiles/evacuee.toml"), false),
    ] {
        let profile = Profile::from_toml_str(text).unwrap();
        let card = cardap_sim::VirtualCard::from_toml_str(card_text)
            .unwrap()
            .with_fixed_random(vec![0x5A; 24]);
        let mode = if extended {
            cardap::LengthMode::Auto
        } else {
            cardap::LengthMode::Short
        };
        let mut reader = Card::new(Recorder::new(card, Redaction::None))
            .with_random(vec![0xA5; 24])
            .with_length_mode(mode);
        let rec = reader.read(&profile).unwrap();
        out.push((profile, reader.into_transport().finish().1, rec));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Whatever one response of an authenticated session is turned into —
    /// a bit flipped, bytes cut off, another status word — the reader returns
    /// an error or, if the change was no change at all, the genuine record:
    /// never other data.
    #[test]
    fn a_tampered_authenticated_session_never_yields_other_data(
        which in 0usize..4,
        pick in any::<proptest::sample::Index>(),
        kind in 0u8..3,
        bit in any::<proptest::sample::Index>(),
        sw in any::<[u8; 2]>(),
    ) {
        use cardap::trace::Segment;
        thread_local! {
            static SESSIONS: Vec<(Profile, cardap::trace::Trace, cardap::ApRecord)> = genuine_sessions();
        }
        SESSIONS.with(|sessions| {
            let (profile, trace, genuine) = &sessions[which];
            let mut trace = trace.clone();
            // Responses from MUTUAL AUTHENTICATE on (index 2) are authenticated.
            let n = trace.exchanges.len();
            let i = 2 + pick.index(n - 2);
            let resp = trace.exchanges[i].response.as_mut().unwrap();
            let Segment::Clear(bytes) = &mut resp[0] else { unreachable!() };
            match kind {
                0 => {
                    let b = bit.index(bytes.len() * 8);
                    bytes[b / 8] ^= 1 << (b % 8);
                }
                1 => {
                    let keep = bit.index(bytes.len());
                    bytes.truncate(keep);
                }
                _ => {
                    let len = bytes.len();
                    bytes[len - 2..].copy_from_slice(&sw);
                }
            }
            let mut reader = Card::new(cardap::trace::Replay::new(trace))
                .with_random(vec![0xA5; 24])
                .with_length_mode(if which % 2 == 0 { cardap::LengthMode::Auto } else { cardap::LengthMode::Short });
            if let Ok(rec) = reader.read(profile) {
                prop_assert_eq!(&rec, genuine);
            }
            Ok(())
        })?;
    }
}
