//! Host CPU of the layers a read is made of, each alone: secure-messaging
//! wrap and unwrap (the protected READ of each golden Type D transcript, one
//! per suite), the 3DES primitives, BER-TLV parsing, and the APDU codec (through
//! `cardap::fuzzing`, the internals' thin public wrappers).
//!
//! `cargo bench --bench codec`

// A benchmark over fixed inputs: a failure is a broken benchmark, not input.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use cardap::fuzzing;
use cardap::{SecretKey, Suite};
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
        let suite_name = t["suite"].as_str().expect("suite");
        let suite = match suite_name {
            "3des" => Suite::TripleDes,
            "aes128" => Suite::Aes128,
            _ => Suite::Aes256,
        };
        let d = &t["derived"];
        let read = &t["exchanges"][3];
        let (ks_enc, ks_mac, ssc) = (h(&d["KS_enc"]), h(&d["KS_mac"]), h(&d["SSC"]));
        let plain = h(&read["plain_command"]);
        let response = h(&read["response"]);
        let (wrapped, _) = fuzzing::sm_wrap_unwrap(
            suite,
            (&ks_enc, &ks_mac),
            &ssc,
            (true, true),
            &plain,
            Some(&response),
        )
        .expect("golden session");
        assert_eq!(wrapped, h(&read["command"]), "{name}");
        c.bench_function(&format!("sm/wrap/{suite_name}"), |b| {
            b.iter(|| {
                fuzzing::sm_wrap_unwrap(suite, (&ks_enc, &ks_mac), &ssc, (true, true), &plain, None)
                    .expect("wrap")
            })
        });
        c.bench_function(&format!("sm/wrap+unwrap_255_bytes/{suite_name}"), |b| {
            b.iter(|| {
                fuzzing::sm_wrap_unwrap(
                    suite,
                    (&ks_enc, &ks_mac),
                    &ssc,
                    (true, true),
                    &plain,
                    Some(&response),
                )
                .expect("wrap and unwrap")
            })
        });
    }
}

fn tlv(c: &mut Criterion) {
    // A Type A record stream and a protected response's data objects.
    let records =
        hex::decode("C00D32303037303030303030303239C10853544146462D3031C20420250401").expect("hex");
    c.bench_function("tlv/parse_records", |b| {
        b.iter(|| fuzzing::ber_tlv(black_box(&records)).expect("tlv").len())
    });
    let mut dos = vec![0x87, 0x82, 0x01, 0x01, 0x01];
    dos.extend(std::iter::repeat_n(0xA5, 256));
    dos.extend([0x99, 0x02, 0x90, 0x00, 0x8E, 0x08, 1, 2, 3, 4, 5, 6, 7, 8]);
    c.bench_function("tlv/parse_sm_response_objects", |b| {
        b.iter(|| fuzzing::ber_tlv(black_box(&dos)).expect("tlv").len())
    });
}

fn apdu(c: &mut Criterion) {
    let select = hex::decode("00A4040C0AF0434152444150430001").expect("hex");
    let read = hex::decode("0CB0810000000D9701008E08023A23AC3205A81F0000").expect("hex");
    c.bench_function("apdu/parse+encode_short", |b| {
        b.iter(|| fuzzing::command_apdu(black_box(&select)).expect("apdu"))
    });
    c.bench_function("apdu/parse+encode_extended", |b| {
        b.iter(|| fuzzing::command_apdu(black_box(&read)).expect("apdu"))
    });
    let mut resp = vec![0x5A; 255];
    resp.extend([0x90, 0x00]);
    c.bench_function("apdu/parse_response_255", |b| {
        b.iter(|| fuzzing::response_apdu(black_box(&resp)).expect("response"))
    });
}

/// The 3DES primitives of a Type D response alone, keys prepared as in a
/// read: the MAC over 280 bytes (the response's MAC input), CBC decryption
/// of 256 bytes, and both in one interleaved pass as secure messaging runs
/// them.
fn triple_des(c: &mut Criterion) {
    let key = SecretKey::new((0u8..16).collect::<Vec<_>>());
    let mac_key = SecretKey::new((16u8..32).collect::<Vec<_>>());
    let mac_input = vec![0x5Au8; 280];
    let data = vec![0xA5u8; 256];
    let iv = [0u8; 8];
    c.bench_function("3des/mac_280_bytes", |b| {
        b.iter(|| fuzzing::mac(Suite::TripleDes, &mac_key, black_box(&mac_input)).expect("mac"))
    });
    c.bench_function("3des/cbc_decrypt_256_bytes", |b| {
        b.iter(|| {
            fuzzing::decrypt_cbc(Suite::TripleDes, &key, &iv, black_box(&data)).expect("decrypt")
        })
    });
    c.bench_function("3des/decrypt_with_mac_256+280_bytes", |b| {
        b.iter(|| {
            fuzzing::decrypt_cbc_with_mac(
                Suite::TripleDes,
                &key,
                &iv,
                black_box(&data),
                &mac_key,
                &mac_input,
            )
            .expect("decrypt with mac")
        })
    });
}

criterion_group!(benches, sm, triple_des, tlv, apdu);
criterion_main!(benches);
