//! Host CPU per AP read: the reader replays a recorded session (no card-side
//! work, no I/O), so what is measured is the core alone — APDU framing, mutual
//! authentication, secure messaging, parsing and user-ID checks.
//!
//! `cargo bench --bench read`

// A benchmark over fixed inputs: a failure is a broken benchmark, not input.
#![allow(clippy::expect_used)]

use cardap::trace::{Recorder, Redaction, Replay, Trace};
use cardap::{Card, Profile};
use cardap_sim::VirtualCard;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const CARD: &str = include_str!("../bench/card.toml");
const PROFILES: [(&str, &str); 7] = [
    ("type_c", include_str!("../bench/profiles/c.toml")),
    ("type_a_3des", include_str!("../bench/profiles/a-3des.toml")),
    (
        "type_a_aes128",
        include_str!("../bench/profiles/a-aes128.toml"),
    ),
    (
        "type_a_aes256",
        include_str!("../bench/profiles/a-aes256.toml"),
    ),
    ("type_d_3des", include_str!("../bench/profiles/d-3des.toml")),
    (
        "type_d_aes128",
        include_str!("../bench/profiles/d-aes128.toml"),
    ),
    (
        "type_d_aes256",
        include_str!("../bench/profiles/d-aes256.toml"),
    ),
];
/// RND.IFD ‖ K.IFD for the host, RND.ICC ‖ K.ICC for the card.
const HOST_RANDOM: [u8; 24] = [0x11; 24];
const CARD_RANDOM: [u8; 24] = [0x22; 24];

fn record(profile: &Profile) -> Trace {
    let card = VirtualCard::from_toml_str(CARD)
        .expect("demo card")
        .with_fixed_random(CARD_RANDOM.to_vec());
    let mut reader =
        Card::new(Recorder::new(card, Redaction::None)).with_random(HOST_RANDOM.to_vec());
    reader.read(profile).expect("recorded read");
    reader.into_transport().finish().1
}

fn reads(c: &mut Criterion) {
    for (name, text) in PROFILES {
        let profile = Profile::from_toml_str(text).expect("profile");
        let trace = record(&profile);
        c.bench_function(&format!("read/{name}"), |b| {
            b.iter_batched(
                || Card::new(Replay::new(trace.clone())).with_random(HOST_RANDOM.to_vec()),
                |mut reader| reader.read(&profile).expect("replayed read"),
                BatchSize::SmallInput,
            )
        });
    }
}

fn parsing(c: &mut Criterion) {
    c.bench_function("profile/parse", |b| {
        b.iter(|| Profile::from_toml_str(include_str!("../examples/profiles/evacuee.toml")))
    });
}

criterion_group!(benches, reads, parsing);
criterion_main!(benches);
