//! Golden transcripts of `tests/vectors/profile-v1.json` replayed against the
//! virtual card: every command, the exact response, the ATR, the EF contents.

// Test helpers below may unwrap and index: a failure is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use cardap_sim::{Description, ElementaryFile, VirtualCard, user_id_check_digit, validate_user_id};
use common::*;

fn transcripts() -> Vec<serde_json::Value> {
    let all = vectors()["transcripts"].as_array().unwrap().clone();
    assert!(all.len() >= 10, "expected every suite and type");
    all
}

#[test]
fn every_transcript_replays_byte_for_byte() {
    for t in transcripts() {
        let name = t["name"].as_str().unwrap();
        let mut card = card_for(&t);
        assert_eq!(card.atr(), hv(&t["card"]["atr"]), "{name}: ATR");
        let exchanges = t["exchanges"].as_array().unwrap();
        for (i, exchange) in exchanges.iter().enumerate() {
            let response = card.process(&hv(&exchange["command"]));
            assert_eq!(
                hex::encode_upper(&response),
                exchange["response"].as_str().unwrap(),
                "{name}: exchange {i} ({})",
                exchange["note"]
            );
        }
        assert_eq!(card.command_count(), exchanges.len(), "{name}");
        assert_eq!(
            card.command_count() as u64,
            t["result"]["apdus"].as_u64().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn transcripts_replay_through_the_transport_from_toml() {
    use cardap::transport::Transport;
    for t in transcripts() {
        let name = t["name"].as_str().unwrap();
        let description = Description::from_toml_str(&toml_of(&t)).unwrap();
        assert_eq!(
            description,
            description_of(&t),
            "{name}: TOML and builder agree"
        );
        let mut card = VirtualCard::new(description).with_fixed_random(card_random(&t));
        assert_eq!(Transport::atr(&card), Some(hv(&t["card"]["atr"])), "{name}");
        assert!(card.supports_extended());
        for exchange in t["exchanges"].as_array().unwrap() {
            let response = card.transmit(&hv(&exchange["command"])).unwrap();
            assert_eq!(response, hv(&exchange["response"]), "{name}");
        }
    }
}

#[test]
fn ef_contents_match_the_vectors() {
    for t in transcripts() {
        let name = t["name"].as_str().unwrap();
        let card = &t["card"];
        let ef = description_of(&t).aps()[0].ef();
        match t["type"].as_str().unwrap() {
            "A" => {
                let records = card["ef_records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(hv)
                    .collect();
                assert_eq!(ef, ElementaryFile::Records(records), "{name}");
            }
            _ => assert_eq!(ef, ElementaryFile::Transparent(hv(&card["file"])), "{name}"),
        }
    }
}

/// The test terminal in `common` rebuilds every recorded command from the
/// stated randomness, so the other tests drive the card with the same bytes a
/// conforming host sends.
#[test]
fn test_terminal_reproduces_the_transcripts() {
    for t in transcripts() {
        if t["type"] == "C" {
            continue;
        }
        let name = t["name"].as_str().unwrap();
        let card = &t["card"];
        let random = &t["random"];
        let derived = &t["derived"];
        let suite = suite_of(t["suite"].as_str().unwrap());
        let (k_enc, k_mac) = (hv(&card["k_enc"]), hv(&card["k_mac"]));
        let cryptogram = terminal_cryptogram(
            suite,
            &k_enc,
            &k_mac,
            &hv(&random["RND_IFD"]),
            &hv(&random["RND_ICC"]),
            &hv(&random["K_IFD"]),
        );
        assert_eq!(
            cryptogram,
            [hv(&derived["E_IFD"]), hv(&derived["M_IFD"])].concat(),
            "{name}"
        );
        let seed = hv(&derived["K_seed"]);
        let mut terminal = Terminal {
            suite,
            ks_enc: cardap_sim::crypto::kdf(suite, &seed, 1).expose().to_vec(),
            ks_mac: cardap_sim::crypto::kdf(suite, &seed, 2).expose().to_vec(),
            ssc: hv(&derived["SSC"]),
            encrypt: t["type"] == "D",
        };
        assert_eq!(terminal.ks_enc, hv(&derived["KS_enc"]), "{name}");
        for exchange in &t["exchanges"].as_array().unwrap()[3..] {
            let plain = hv(&exchange["plain_command"]);
            let command = hv(&exchange["command"]);
            let extended = command.len() > 6 && command[4] == 0 && command[5] == 0;
            let le = &plain[4..];
            let rebuilt = terminal.protect(
                plain[..4].try_into().unwrap(),
                &[],
                Some(le),
                Some(extended),
            );
            assert_eq!(
                hex::encode_upper(&rebuilt),
                hex::encode_upper(&command),
                "{name}"
            );
            let (data, status) = terminal.unprotect(&hv(&exchange["response"]));
            assert_eq!(data, hv(&exchange["plain_response_data"]), "{name}");
            assert_eq!(status.to_vec(), hv(&exchange["plain_sw"]), "{name}");
        }
    }
}

#[test]
fn user_id_check_digit_examples() {
    let examples = vectors()["user_id_check_digit"].as_array().unwrap().clone();
    assert!(!examples.is_empty());
    for example in examples {
        let id = example["user_id"].as_str().unwrap();
        let valid = example["valid"].as_bool().unwrap();
        let expected = example
            .get("c")
            .or_else(|| example.get("expected_c"))
            .unwrap()
            .as_u64()
            .unwrap();
        assert_eq!(
            u64::from(user_id_check_digit(&id[..12]).unwrap()),
            expected,
            "{id}"
        );
        assert_eq!(validate_user_id(id).is_ok(), valid, "{id}");
        // The card refuses to carry an invalid user ID.
        let ap = cardap_sim::ApDescription::type_c(vec![0xF0, 1, 2, 3, 4], id);
        assert_eq!(Description::builder().ap(ap).build().is_ok(), valid, "{id}");
    }
}

#[test]
fn atr_announces_extended_length() {
    for (extended, atr) in [
        (true, "3B858101807394014023"),
        (false, "3B858101807394010063"),
    ] {
        let card = VirtualCard::new(
            Description::builder()
                .extended_length(extended)
                .build()
                .unwrap(),
        );
        assert_eq!(hex::encode_upper(card.atr()), atr);
    }
}
