//! No parser panics, whatever the input: APDUs, TLV, ATRs, traces, profiles,
//! user IDs, field decoders, and a whole reader facing a card that answers
//! random bytes.
#![cfg(test)]

use cardap::apdu::{Command, Response};
use cardap::auth::FixedRandom;
use cardap::profile::Encoding;
use cardap::transport::{Transport, TransportError};
use cardap::{Profile, Reader, UserId, atr, fields, tlv, trace::Trace};
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
        let _ = Command::parse(&bytes);
        let _ = Response::parse(&bytes);
        let _ = tlv::parse_ber_all(&bytes);
        let _ = tlv::parse_simple(&bytes);
        let _ = atr::supports_extended_length(&bytes);
        let _ = UserId::parse(&bytes);
        for e in [Encoding::Ascii, Encoding::Utf8, Encoding::ShiftJis, Encoding::Bcd, Encoding::Hex] {
            let _ = fields::decode(e, &bytes);
        }
    }

    #[test]
    fn text_parsers(text in ".{0,400}") {
        let _ = Trace::parse(&text);
        let _ = Profile::from_toml_str(&text);
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
        let mut reader = Reader::new(card).with_random(Box::new(FixedRandom::new(vec![7; 48])));
        // Whatever comes back, it is a value or a typed error, never a panic;
        // and no authenticated AP is returned from random answers.
        if let Ok(rec) = reader.read(&profile) {
            prop_assert!(matches!(rec.kind, cardap::ApType::C | cardap::ApType::Custom));
        }
        let _ = reader.list();
    }
}
