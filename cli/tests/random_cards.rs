//! Type A, C and D × the three suites × extended length on and off, read from
//! randomly generated virtual-card descriptions the code has never seen —
//! through the library and through the `cardap` binary.
#![cfg(test)]

use std::path::PathBuf;
use std::process::Command;

mod common;

use cardap::{Card, Profile};
use cardap_sim::VirtualCard;
use common::{Rng, combos, hexs, make, seed};

#[test]
fn library_reads_random_cards() {
    let seed = seed();
    println!("CARDAP_SEED={seed}");
    let mut rng = Rng(seed);
    for round in 0..5 {
        for (kind, suite, ext) in combos() {
            let case = make(&mut rng, kind, suite, ext);
            let ctx = format!(
                "seed {seed} round {round} {kind} {suite} ext={ext}\n{}",
                case.card
            );
            let card =
                VirtualCard::from_toml_str(&case.card).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let profile = Profile::from_toml_str(&case.profile).unwrap();
            let rec = Card::new(card)
                .read(&profile)
                .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(rec.user_id().as_str(), case.user_id, "{ctx}");
            assert_eq!(rec.apdus(), case.rounds, "{ctx}");
            match &case.data {
                Some(d) => assert_eq!(&hexs(rec.data().unwrap()), d, "{ctx}"),
                None => {
                    let got: Vec<(String, String)> =
                        rec.info().map(|(k, v)| (k.to_owned(), hexs(v))).collect();
                    assert_eq!(got, case.info, "{ctx}");
                }
            }
        }
    }
}

fn tmp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cardap-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn binary_reads_random_cards() {
    let seed = seed();
    println!("CARDAP_SEED={seed}");
    let mut rng = Rng(seed);
    for (i, (kind, suite, ext)) in combos().into_iter().enumerate() {
        let case = make(&mut rng, kind, suite, ext);
        let card = tmp(&format!("card{i}.toml"), &case.card);
        let profile = tmp(&format!("profile{i}.toml"), &case.profile);
        let out = Command::new(env!("CARGO_BIN_EXE_cardap"))
            .args(["read", "--profile"])
            .arg(&profile)
            .arg("--virtual-card")
            .arg(&card)
            .output()
            .unwrap();
        let ctx = format!(
            "seed {seed} {kind} {suite} ext={ext}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{ctx}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["type"], kind.to_string(), "{ctx}");
        common::assert_read_json(&v, &case, &ctx);
    }
}
