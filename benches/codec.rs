//! Host CPU of the layers a read is made of, each alone: secure-messaging
//! wrap and unwrap (the protected READ of each golden Type D transcript, one
//! per suite), BER-TLV parsing, and the APDU codec.
//!
//! `cargo bench --bench codec`

// A benchmark over fixed inputs: a failure is a broken benchmark, not input.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use cardap::apdu::{Command, LengthEncoding, Response};
use cardap::crypto::{SecretKey, Suite};
use cardap::sm::{SecureChannel, SmMode};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use serde_json::Value;

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn sm(c: &mut Criterion) {
    let vectors: Value =
        serde_json::from_str(include_str!("../tests/vectors/profile-v1.json")).expect("vectors");
    for t in vectors["transcripts"].as_array().expect("transcripts") {
        let name = t["name"].as_str().expect("name");
        if !name.starts_with('D') || !name.ends_with("extended") {
            continue;
        }
        let suite = Suite::from_name(t["suite"].as_str().expect("suite")).expect("suite");
        let d = &t["derived"];
        let read = &t["exchanges"][3];
        let plain = Command::parse(&h(&read["plain_command"]))
            .expect("command")
            .0;
        let response = Response::parse(&h(&read["response"])).expect("response");
        let channel = || {
            SecureChannel::new(
                suite,
                SecretKey::new(h(&d["KS_enc"])),
                SecretKey::new(h(&d["KS_mac"])),
                h(&d["SSC"]),
                SmMode::Encrypt,
            )
        };
        c.bench_function(&format!("sm/wrap/{}", suite.name()), |b| {
            b.iter_batched(
                channel,
                |mut ch| ch.protect(&plain, LengthEncoding::Extended).expect("wrap"),
                criterion::BatchSize::SmallInput,
            )
        });
        c.bench_function(&format!("sm/wrap+unwrap_255_bytes/{}", suite.name()), |b| {
            b.iter_batched(
                channel,
                |mut ch| {
                    ch.protect(&plain, LengthEncoding::Extended).expect("wrap");
                    ch.unprotect(&response).expect("unwrap")
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
}

fn tlv(c: &mut Criterion) {
    // A Type A record stream and a protected response's data objects.
    let records =
        hex::decode("C00D32303037303030303030303239C10853544146462D3031C20420250401").expect("hex");
    c.bench_function("tlv/parse_records", |b| {
        b.iter(|| {
            cardap::tlv::parse_ber_all(black_box(&records))
                .expect("tlv")
                .len()
        })
    });
    let mut dos = vec![0x87, 0x82, 0x01, 0x01, 0x01];
    dos.extend(std::iter::repeat_n(0xA5, 256));
    dos.extend([0x99, 0x02, 0x90, 0x00, 0x8E, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
    c.bench_function("tlv/parse_sm_response_objects", |b| {
        b.iter(|| {
            cardap::tlv::parse_ber_all(black_box(&dos))
                .expect("tlv")
                .len()
        })
    });
}

fn apdu(c: &mut Criterion) {
    let select = hex::decode("00A4040C0AF0434152444150430001").expect("hex");
    let read = hex::decode("0CB0810000000D9701008E08023A23AC3205A81F0000").expect("hex");
    c.bench_function("apdu/parse_short", |b| {
        b.iter(|| Command::parse(black_box(&select)).expect("apdu"))
    });
    c.bench_function("apdu/parse_extended", |b| {
        b.iter(|| Command::parse(black_box(&read)).expect("apdu"))
    });
    let (cmd, _) = Command::parse(&read).expect("apdu");
    c.bench_function("apdu/encode_extended", |b| {
        b.iter(|| {
            black_box(&cmd)
                .to_bytes(LengthEncoding::Extended)
                .expect("encode")
        })
    });
    let mut resp = vec![0x5A; 255];
    resp.extend([0x90, 0x00]);
    c.bench_function("apdu/parse_response_255", |b| {
        b.iter(|| Response::parse(black_box(&resp)).expect("response"))
    });
}

criterion_group!(benches, sm, tlv, apdu);
criterion_main!(benches);
