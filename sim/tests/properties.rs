//! Property tests: the card never panics, whatever it is sent; random valid
//! descriptions survive a trip through TOML and stand up a working card.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use cardap::Suite;
use cardap::transport::Transport;
use cardap_sim::SecretKey;
use cardap_sim::{ApDescription, Area, Description, InfoField, VirtualCard, user_id_check_digit};
use common::*;
use proptest::prelude::*;

const A_KEY: [u8; 16] = *b"prop-A-key-16byt";
const D_KEY: [u8; 32] = *b"prop-D-key-32-bytes-long-aes256!";
const AID_A: [u8; 6] = [0xF0, 0, 0, 0, 0, 0xA];
const AID_D: [u8; 6] = [0xF0, 0, 0, 0, 0, 0xD];

fn fixture(extended: bool) -> VirtualCard {
    let description = Description::builder()
        .extended_length(extended)
        .ap(
            ApDescription::type_c([0xF0, 0, 0, 0, 0, 0xC], "1234567890125")
                .with_info(InfoField::Info1, vec![1, 2, 3]),
        )
        .ap(ApDescription::type_a(
            AID_A,
            "2024000000020",
            Suite::TripleDes,
            SecretKey::new(A_KEY),
            SecretKey::new(A_KEY),
        )
        .with_record(vec![0x55; 100])
        .with_record(vec![0x66; 100]))
        .ap(ApDescription::type_d(
            AID_D,
            "2024000000080",
            Suite::Aes256,
            SecretKey::new(D_KEY),
            SecretKey::new(D_KEY),
        )
        .with_data(vec![0x77; 242]))
        .build()
        .unwrap();
    VirtualCard::new(description)
}

/// APDUs that get past parsing often: plausible CLA and INS, short or
/// extended bodies.
fn apdu() -> impl Strategy<Value = Vec<u8>> {
    let cla = prop::sample::select(vec![0x00u8, 0x0C, 0x10, 0x1C, 0x80, 0x04]);
    let ins = prop::sample::select(vec![0xA4u8, 0xB0, 0xB2, 0x84, 0x82, 0xC0, 0xCA]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (
            cla,
            ins,
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(cla, ins, p1, p2, tail)| [vec![cla, ins, p1, p2], tail].concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn process_never_panics(
        extended in any::<bool>(),
        chunk in prop::option::of(1usize..64),
        wrong_le in any::<bool>(),
        authenticate_first in 0u8..3,
        apdus in prop::collection::vec(apdu(), 1..24),
    ) {
        let mut card = fixture(extended).wrong_le_first(wrong_le);
        if let Some(n) = chunk {
            card = card.chunk_responses(n);
        }
        // Sometimes start inside a secure channel, so random bytes hit the
        // secure-messaging paths too.
        match authenticate_first {
            1 if chunk.is_none() => {
                select(&mut card, &AID_A);
                authenticate(&mut card, Suite::TripleDes, &A_KEY, &A_KEY, false);
            }
            2 if chunk.is_none() => {
                select(&mut card, &AID_D);
                authenticate(&mut card, Suite::Aes256, &D_KEY, &D_KEY, true);
            }
            _ => {}
        }
        let before = card.command_count();
        for apdu in &apdus {
            let response = card.process(apdu);
            prop_assert!(response.len() >= 2);
            prop_assert!(response.len() <= 65_536 + 2);
        }
        prop_assert_eq!(card.command_count(), before + apdus.len());
    }

    #[test]
    fn random_protected_commands_never_panic(
        header in (prop::sample::select(vec![0x0Cu8, 0x1C]), any::<u8>(), any::<u8>(), any::<u8>()),
        data in prop::collection::vec(any::<u8>(), 0..40),
        le in prop::option::of(prop::collection::vec(any::<u8>(), 0..3)),
        outer in prop::option::of(any::<bool>()),
        type_d in any::<bool>(),
    ) {
        let mut card = fixture(true);
        let mut terminal = if type_d {
            select(&mut card, &AID_D);
            authenticate(&mut card, Suite::Aes256, &D_KEY, &D_KEY, true)
        } else {
            select(&mut card, &AID_A);
            authenticate(&mut card, Suite::TripleDes, &A_KEY, &A_KEY, false)
        };
        let (cla, ins, p1, p2) = header;
        let apdu = terminal.protect([cla, ins, p1, p2], &data, le.as_deref(), outer);
        let response = card.process(&apdu);
        let status = sw(&response);
        // Either protected (the channel goes on, the MAC verifies) or one of
        // the clear answers that end the channel.
        if response.len() > 2 {
            let (_, inner) = terminal.unprotect(&response);
            prop_assert_eq!(inner, status);
        } else {
            prop_assert!(
                !card.secure_channel_open() || status == [0x90, 0x00] && cla == 0x1C,
                "clear {:02X?} with the channel open", status
            );
        }
    }
}

fn user_id() -> impl Strategy<Value = String> {
    "[0-9]{12}".prop_map(|d| format!("{d}{}", user_id_check_digit(&d).unwrap()))
}

fn suite_and_keys() -> impl Strategy<Value = (Suite, Vec<u8>, Vec<u8>)> {
    prop::sample::select(vec![Suite::TripleDes, Suite::Aes128, Suite::Aes256]).prop_flat_map(
        |suite| {
            let n = suite.key_len();
            (
                Just(suite),
                prop::collection::vec(any::<u8>(), n),
                prop::collection::vec(any::<u8>(), n),
            )
        },
    )
}

/// A valid AP; `index` makes the AID unique.
fn ap(index: u8) -> impl Strategy<Value = ApDescription> {
    let aid = prop::collection::vec(any::<u8>(), 3..=14)
        .prop_map(move |tail| [vec![0xF0, index], tail].concat());
    let common = (
        aid,
        user_id(),
        prop::option::of("\\PC{0,16}"),
        prop::sample::select(vec![Area::Extension, Area::Local]),
    );
    let kind = prop_oneof![
        prop::array::uniform3(prop::option::of(prop::collection::vec(any::<u8>(), 0..=4)))
            .prop_map(Kind::C),
        (
            suite_and_keys(),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..=20), 0..=10)
        )
            .prop_map(|(k, r)| Kind::A(k, r)),
        (
            suite_and_keys(),
            prop::collection::vec(any::<u8>(), 0..=242)
        )
            .prop_map(|(k, d)| Kind::D(k, d)),
    ];
    (common, kind).prop_map(|((aid, user_id, label, area), kind)| {
        let ap = match kind {
            Kind::C(info) => {
                let mut ap = ApDescription::type_c(aid, user_id);
                for (field, value) in [InfoField::Info1, InfoField::Info2, InfoField::Info3]
                    .into_iter()
                    .zip(info)
                {
                    if let Some(value) = value {
                        ap = ap.with_info(field, value);
                    }
                }
                ap
            }
            Kind::A((suite, e, m), records) => records.into_iter().fold(
                ApDescription::type_a(aid, user_id, suite, SecretKey::new(e), SecretKey::new(m)),
                ApDescription::with_record,
            ),
            Kind::D((suite, e, m), data) => {
                ApDescription::type_d(aid, user_id, suite, SecretKey::new(e), SecretKey::new(m))
                    .with_data(data)
            }
        };
        let ap = ap.with_area(area);
        match label {
            Some(label) => ap.with_label(label),
            None => ap,
        }
    })
}

#[derive(Debug, Clone)]
enum Kind {
    C([Option<Vec<u8>>; 3]),
    A((Suite, Vec<u8>, Vec<u8>), Vec<Vec<u8>>),
    D((Suite, Vec<u8>, Vec<u8>), Vec<u8>),
}

fn description() -> impl Strategy<Value = Description> {
    (any::<bool>(), prop::collection::vec(any::<u8>(), 0..6)).prop_flat_map(|(extended, seeds)| {
        let aps: Vec<_> = (0u8..).zip(&seeds).map(|(i, _)| ap(i)).collect();
        aps.prop_map(move |aps| {
            aps.into_iter()
                .fold(Description::builder().extended_length(extended), |b, ap| {
                    b.ap(ap)
                })
                .build()
                .unwrap()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn descriptions_round_trip_through_toml(description in description()) {
        let text = description.to_toml_string().unwrap();
        let again = Description::from_toml_str(&text).unwrap();
        prop_assert_eq!(&again, &description);
        prop_assert_eq!(again.to_toml_string().unwrap(), text);

        // The card built from it lists and selects every AP.
        let mut card = VirtualCard::new(again);
        prop_assert_eq!(card.atr()[8], if description.extended_length() { 0x40 } else { 0 });
        for (i, ap) in description.aps().iter().enumerate() {
            prop_assert_eq!(card.transmit(&[0x00, 0xA4, 0x00, 0x0C]).unwrap(), vec![0x90, 0x00]);
            let record = card.transmit(&[0x00, 0xB2, i as u8 + 1, 0xF4, 0x00]).unwrap();
            prop_assert_eq!(sw(&record), [0x90, 0x00]);
            prop_assert_eq!(&record[4..4 + ap.aid().len()], ap.aid());
            prop_assert_eq!(select(&mut card, ap.aid()), vec![0x90, 0x00]);
        }
    }
}
