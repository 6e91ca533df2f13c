//! The C ABI exercised from Rust, through the exported functions only: reads
//! of Type A, C and D from the demo card, every error path, and every
//! function with NULL, garbage, misaligned and oversized arguments. They need
//! virtual cards (cargo feature `virtual-card`).
#![cfg(feature = "virtual-card")]

use std::ffi::c_char;
use std::path::PathBuf;
use std::ptr::{null, null_mut};

use crate::*;

use cardap_result as R;

const DEMO_CARD: &str = include_str!("../../examples/cards/demo.toml");
const LIBRARY: &str = include_str!("../../examples/profiles/library.toml");
const KIOSK: &str = include_str!("../../examples/profiles/kiosk.toml");
const EVACUEE: &str = include_str!("../../examples/profiles/evacuee.toml");

fn repo(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
        .display()
        .to_string()
}

fn cs(s: &str) -> *const c_char {
    s.as_ptr().cast()
}

/// Copies a borrowed (pointer, length) string out.
fn string(ptr: *const c_char, len: usize) -> String {
    assert!(!ptr.is_null());
    // SAFETY: the library hands out `len` readable bytes followed by a NUL.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len + 1) };
    assert_eq!(bytes[len], 0, "strings handed out are NUL-terminated");
    String::from_utf8(bytes[..len].to_vec()).unwrap()
}

fn bytes(ptr: *const u8, len: usize) -> Vec<u8> {
    assert!(!ptr.is_null());
    // SAFETY: the library hands out `len` readable bytes.
    unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec()
}

fn last_error() -> String {
    let (mut p, mut n) = (null(), 0);
    // SAFETY: valid out-parameters.
    assert_eq!(unsafe { cardap_last_error(&mut p, &mut n) }, R::Ok);
    string(p, n)
}

fn context(card: &str) -> *mut cardap_context {
    let mut ctx = null_mut();
    // SAFETY: valid text and out-parameter.
    let r = unsafe { cardap_context_new_virtual_card_str(cs(card), card.len(), &mut ctx) };
    assert_eq!(r, R::Ok, "{}", last_error());
    ctx
}

fn profile(text: &str) -> *mut cardap_profile {
    let mut p = null_mut();
    // SAFETY: valid text and out-parameter.
    let r = unsafe { cardap_profile_new_from_str(cs(text), text.len(), &mut p) };
    assert_eq!(r, R::Ok, "{}", last_error());
    p
}

fn read(ctx: *mut cardap_context, p: *const cardap_profile) -> Result<*mut cardap_record, R> {
    let mut rec = null_mut();
    // SAFETY: live handles and a valid out-parameter.
    match unsafe { cardap_context_read(ctx, p, &mut rec) } {
        R::Ok => Ok(rec),
        code => {
            assert!(rec.is_null(), "out-parameter written on failure");
            Err(code)
        }
    }
}

fn json(rec: *const cardap_record) -> String {
    let (mut p, mut n) = (null(), 0);
    // SAFETY: a live record and valid out-parameters.
    assert_eq!(unsafe { cardap_record_to_json(rec, &mut p, &mut n) }, R::Ok);
    string(p, n)
}

fn context_error(ctx: *const cardap_context) -> String {
    let (mut p, mut n) = (null(), 0);
    // SAFETY: a live context and valid out-parameters.
    let r = unsafe { cardap_context_last_error(ctx, &mut p, &mut n) };
    assert_eq!(r, R::Ok);
    string(p, n)
}

/// Reads one demo profile from the demo card; returns the JSON.
fn read_demo(profile_text: &str) -> String {
    let ctx = context(DEMO_CARD);
    let p = profile(profile_text);
    let rec = read(ctx, p).unwrap();
    let out = json(rec);
    // SAFETY: live handles, each freed once.
    unsafe {
        cardap_record_free(rec);
        cardap_profile_free(p);
        cardap_context_free(ctx);
    }
    out
}

#[test]
fn reads_type_c_a_d_as_the_cli_prints_them() {
    assert_eq!(
        read_demo(LIBRARY),
        r#"{"name":"city-library","type":"C","aid":"F0434152444150430001","user_id":"1001000000019","info":{"info1":"4C4942","info2":"00123456","info3":"07"},"fields":{"branch":"LIB","member_no":"00123456"},"apdus":2}"#
    );
    assert_eq!(
        read_demo(KIOSK),
        r#"{"name":"staff-kiosk","type":"A","aid":"F0434152444150410007","user_id":"2007000000029","info":{"info1":"53544146462D3031","info2":"20250401"},"fields":{"staff_no":"STAFF-01","valid_from":"20250401"},"apdus":4}"#
    );
    let d = read_demo(EVACUEE);
    assert!(
        d.starts_with(r#"{"name":"evacuee-record","type":"D","aid":"F0434152444150440003","user_id":"3003000000035","data":"E5B1B1"#),
        "{d}"
    );
    assert!(d.contains(r#""birth_date":"19850412""#), "{d}");
}

#[test]
fn record_accessors() {
    let ctx = context(DEMO_CARD);
    let p = profile(KIOSK);
    let rec = read(ctx, p).unwrap();
    // SAFETY: live handles and valid out-parameters throughout.
    unsafe {
        let (mut s, mut n) = (null(), 0);
        assert_eq!(cardap_record_name(rec, &mut s, &mut n), R::Ok);
        assert_eq!(string(s, n), "staff-kiosk");
        assert_eq!(cardap_record_user_id(rec, &mut s, &mut n), R::Ok);
        assert_eq!(string(s, n), "2007000000029");
        let mut t = cardap_ap_type::Custom;
        assert_eq!(cardap_record_type(rec, &mut t), R::Ok);
        assert_eq!(t, cardap_ap_type::A);
        let (mut b, mut bn) = (null(), 0);
        assert_eq!(cardap_record_aid(rec, &mut b, &mut bn), R::Ok);
        assert_eq!(hex::encode_upper(bytes(b, bn)), "F0434152444150410007");

        let mut count = 0;
        assert_eq!(cardap_record_info_count(rec, &mut count), R::Ok);
        assert_eq!(count, 2);
        assert_eq!(
            cardap_record_info_at(rec, 1, &mut s, &mut n, &mut b, &mut bn),
            R::Ok
        );
        assert_eq!(string(s, n), "info2");
        assert_eq!(bytes(b, bn), [0x20, 0x25, 0x04, 0x01]);
        assert_eq!(
            cardap_record_info_get(rec, cs("info1"), 5, &mut b, &mut bn),
            R::Ok
        );
        assert_eq!(bytes(b, bn), b"STAFF-01");
        assert_eq!(
            cardap_record_info_get(rec, cs("info9"), 5, &mut b, &mut bn),
            R::NotFound
        );
        assert!(last_error().contains("info9"));

        assert_eq!(cardap_record_field_count(rec, &mut count), R::Ok);
        assert_eq!(count, 2);
        let (mut v, mut vn) = (null(), 0);
        assert_eq!(
            cardap_record_field_at(rec, 0, &mut s, &mut n, &mut v, &mut vn),
            R::Ok
        );
        assert_eq!(
            (string(s, n), string(v, vn)),
            ("staff_no".into(), "STAFF-01".into())
        );
        assert_eq!(
            cardap_record_field_get(rec, cs("valid_from"), 10, &mut v, &mut vn),
            R::Ok
        );
        assert_eq!(string(v, vn), "20250401");
        assert_eq!(
            cardap_record_field_at(rec, 2, &mut s, &mut n, &mut v, &mut vn),
            R::OutOfRange
        );
        assert_eq!(
            cardap_record_field_at(rec, usize::MAX, &mut s, &mut n, &mut v, &mut vn),
            R::OutOfRange
        );

        // Type A has info fields, no data and no steps.
        let sentinel = 0xA5 as *const u8;
        let mut d = sentinel;
        assert_eq!(cardap_record_data(rec, &mut d, &mut bn), R::NotFound);
        assert_eq!(d, sentinel, "out-parameter written on failure");
        assert_eq!(cardap_record_step_count(rec, &mut count), R::Ok);
        assert_eq!(count, 0);
        assert_eq!(
            cardap_record_step_at(rec, 0, &mut s, &mut n, &mut b, &mut bn),
            R::OutOfRange
        );
        let mut apdus = 0;
        assert_eq!(cardap_record_apdus(rec, &mut apdus), R::Ok);
        assert_eq!(apdus, 4);

        cardap_record_free(rec);
        cardap_profile_free(p);
        cardap_context_free(ctx);
    }
}

#[test]
fn type_d_data_and_profile_accessors() {
    let ctx = context(DEMO_CARD);
    let p = profile(EVACUEE);
    // SAFETY: live handles and valid out-parameters throughout.
    unsafe {
        let (mut s, mut n) = (null(), 0);
        assert_eq!(cardap_profile_name(p, &mut s, &mut n), R::Ok);
        assert_eq!(string(s, n), "evacuee-record");
        let mut t = cardap_ap_type::A;
        assert_eq!(cardap_profile_type(p, &mut t), R::Ok);
        assert_eq!(t, cardap_ap_type::D);
        let (mut b, mut bn) = (null(), 0);
        assert_eq!(cardap_profile_aid(p, &mut b, &mut bn), R::Ok);
        assert_eq!(bn, 10);

        let rec = read(ctx, p).unwrap();
        assert_eq!(cardap_record_data(rec, &mut b, &mut bn), R::Ok);
        assert_eq!(bn, 242, "file bytes 13..255");
        assert_eq!(&bytes(b, bn)[..3], [0xE5, 0xB1, 0xB1]);
        let mut count = 9;
        assert_eq!(cardap_record_info_count(rec, &mut count), R::Ok);
        assert_eq!(count, 0);
        let (mut v, mut vn) = (null(), 0);
        assert_eq!(
            cardap_record_field_get(rec, cs("name"), 4, &mut v, &mut vn),
            R::Ok
        );
        assert_eq!(string(v, vn), "山田 花子");
        cardap_record_free(rec);
        cardap_profile_free(p);
        cardap_context_free(ctx);
    }
}

#[test]
fn files_short_apdus_and_listing() {
    let card = repo("examples/cards/demo.toml");
    let prof = repo("examples/profiles/evacuee.toml");
    // SAFETY: valid arguments and live handles throughout.
    unsafe {
        let mut ctx = null_mut();
        assert_eq!(
            cardap_context_new_virtual_card_file(cs(&card), card.len(), &mut ctx),
            R::Ok
        );
        let mut p = null_mut();
        assert_eq!(
            cardap_profile_new_from_file(cs(&prof), prof.len(), &mut p),
            R::Ok
        );
        assert_eq!(cardap_context_set_short_apdus(ctx, true), R::Ok);
        let rec = read(ctx, p).unwrap();
        let mut apdus = 0;
        assert_eq!(cardap_record_apdus(rec, &mut apdus), R::Ok);
        assert_eq!(apdus, 5, "Type D takes 5 APDUs without extended length");
        cardap_record_free(rec);

        let mut list = null_mut();
        assert_eq!(cardap_context_list(ctx, &mut list), R::Ok);
        let mut count = 0;
        assert_eq!(cardap_ap_list_count(list, &mut count), R::Ok);
        assert_eq!(count, 3);
        let (mut b, mut bn) = (null(), 0);
        assert_eq!(cardap_ap_list_aid(list, 1, &mut b, &mut bn), R::Ok);
        assert_eq!(hex::encode_upper(bytes(b, bn)), "F0434152444150410007");
        let (mut s, mut n) = (null(), 0);
        assert_eq!(cardap_ap_list_label(list, 1, &mut s, &mut n), R::Ok);
        assert_eq!(string(s, n), "staff ID kiosk");
        assert_eq!(cardap_ap_list_label(list, 3, &mut s, &mut n), R::OutOfRange);
        assert_eq!(cardap_ap_list_to_json(list, &mut s, &mut n), R::Ok);
        assert!(
            string(s, n).starts_with(r#"[{"aid":"F0434152444150430001","label":"city library"}"#)
        );
        cardap_ap_list_free(list);
        cardap_profile_free(p);
        cardap_context_free(ctx);
    }
}

#[test]
fn card_and_profile_errors_have_codes_and_messages() {
    let ctx = context(DEMO_CARD);
    // An AP that is not on the card.
    let absent = profile(&LIBRARY.replace("43 00 01", "43 00 99"));
    assert_eq!(read(ctx, absent), Err(R::ApNotFound));
    let msg = context_error(ctx);
    assert!(msg.contains("F0434152444150430099"), "{msg}");
    assert!(
        last_error().starts_with("read: AP F0434152444150430099"),
        "{}",
        last_error()
    );
    assert!(msg.starts_with("read: "), "{msg}");
    // Wrong keys: mutual authentication fails, and no key shows in messages.
    let wrong = profile(&KIOSK.replace(
        "101112131415161718191A1B1C1D1E1F",
        "00000000000000000000000000000000",
    ));
    let code = read(ctx, wrong).unwrap_err();
    assert_eq!(code, R::AuthFailed, "{}", context_error(ctx));
    assert!(!context_error(ctx).contains("000102030405"));
    // A Type A profile aimed at the Type C AP: the card refuses a command.
    let mismatched = profile(&KIOSK.replace("41 00 07", "43 00 01"));
    let code = read(ctx, mismatched).unwrap_err();
    let mut sw = 0;
    // SAFETY: a live context and a valid out-parameter.
    let sw_result = unsafe { cardap_context_last_status_word(ctx, &mut sw) };
    if code == R::CardStatus {
        assert_eq!(sw_result, R::Ok);
        assert_ne!(sw, 0x9000);
    } else {
        assert_eq!(sw_result, R::NotFound, "{code:?}");
    }
    // A success clears the context's last error.
    let ok = profile(LIBRARY);
    let rec = read(ctx, ok).unwrap();
    assert_eq!(context_error(ctx), "");
    // SAFETY: a live context and a valid out-parameter.
    let r = unsafe { cardap_context_last_status_word(ctx, &mut sw) };
    assert_eq!(r, R::NotFound);
    // SAFETY: live handles, each freed once.
    unsafe {
        cardap_record_free(rec);
        for p in [absent, wrong, mismatched, ok] {
            cardap_profile_free(p);
        }
        cardap_context_free(ctx);
    }

    // Profiles: invalid text, a missing file.
    let bad = "name = \"x\"\ntype = \"A\"\naid = \"F0 43 41 52 44 41 50 41 00 07\"\n";
    let mut p = null_mut();
    // SAFETY: valid arguments.
    unsafe {
        assert_eq!(
            cardap_profile_new_from_str(cs(bad), bad.len(), &mut p),
            R::ProfileInvalid
        );
        assert!(p.is_null());
        assert!(last_error().contains("auth"), "{}", last_error());
        let missing = repo("examples/profiles/missing.toml");
        assert_eq!(
            cardap_profile_new_from_file(cs(&missing), missing.len(), &mut p),
            R::ProfileIo
        );
        assert!(last_error().contains("missing.toml"));
        // Card descriptions: invalid text, a missing file.
        let mut c = null_mut();
        let bad_card = "[[ap]]\ntype = \"Q\"\n";
        assert_eq!(
            cardap_context_new_virtual_card_str(cs(bad_card), bad_card.len(), &mut c),
            R::CardDescriptionInvalid
        );
        let missing = repo("examples/cards/missing.toml");
        assert_eq!(
            cardap_context_new_virtual_card_file(cs(&missing), missing.len(), &mut c),
            R::CardDescriptionIo
        );
        assert!(c.is_null());
    }
}

#[test]
fn key_bytes_never_reach_messages() {
    // A key line with a syntax error: the message must not quote it.
    let text = KIOSK.replace(
        "k_enc = \"000102030405060708090A0B0C0D0E0F\"",
        "k_enc = \"000102030405060708090A0B0C0D0E0F",
    );
    let mut p = null_mut();
    // SAFETY: valid arguments.
    let r = unsafe { cardap_profile_new_from_str(cs(&text), text.len(), &mut p) };
    assert_eq!(r, R::ProfileInvalid);
    assert!(!last_error().contains("0A0B0C0D"), "{}", last_error());
}

/// A buffer that looks like nothing the library made.
#[repr(align(8))]
struct Garbage(#[allow(dead_code)] [u8; 64]);

const GARBAGE: Garbage = Garbage([0xAB; 64]);

/// Handles to test every function with: NULL, garbage, misaligned, and a
/// live handle of another type.
fn bad_handles<T>(other: *mut u8) -> Vec<(*mut T, R)> {
    let g: *const Garbage = &GARBAGE;
    vec![
        (null_mut(), R::NullParameter),
        (g.cast_mut().cast(), R::InvalidHandle),
        (
            g.cast::<u8>().wrapping_add(1).cast_mut().cast(),
            R::InvalidHandle,
        ),
        (other.cast(), R::InvalidHandle),
    ]
}

#[test]
fn every_function_rejects_bad_handles() {
    let ctx = context(DEMO_CARD);
    let prof = profile(LIBRARY);
    let rec = read(ctx, prof).unwrap();
    let mut list = null_mut();
    // SAFETY: a live context and a valid out-parameter.
    assert_eq!(unsafe { cardap_context_list(ctx, &mut list) }, R::Ok);
    let (mut s, mut n, mut b, mut u, mut sw, mut t, mut flag) = (
        null(),
        0usize,
        null(),
        0usize,
        0u16,
        cardap_ap_type::A,
        false,
    );
    // SAFETY: every handle is NULL, garbage (readable, aligned or not), or a
    // live handle of another type; the out-parameters are valid.
    unsafe {
        for (c, want) in bad_handles::<cardap_context>(prof.cast()) {
            let mut r = null_mut();
            assert_eq!(cardap_context_read(c, prof, &mut r), want);
            let mut l = null_mut();
            assert_eq!(cardap_context_list(c, &mut l), want);
            assert_eq!(cardap_context_set_short_apdus(c, true), want);
            assert_eq!(cardap_context_last_error(c, &mut s, &mut n), want);
            assert_eq!(cardap_context_last_status_word(c, &mut sw), want);
            assert!(r.is_null() && l.is_null());
            cardap_context_free(c);
        }
        for (p, want) in bad_handles::<cardap_profile>(ctx.cast()) {
            let mut r = null_mut();
            assert_eq!(cardap_context_read(ctx, p, &mut r), want);
            assert_eq!(cardap_profile_name(p, &mut s, &mut n), want);
            assert_eq!(cardap_profile_type(p, &mut t), want);
            assert_eq!(cardap_profile_aid(p, &mut b, &mut u), want);
            cardap_profile_free(p);
        }
        for (r, want) in bad_handles::<cardap_record>(list.cast()) {
            let (mut v, mut vn) = (null(), 0);
            assert_eq!(cardap_record_name(r, &mut s, &mut n), want);
            assert_eq!(cardap_record_type(r, &mut t), want);
            assert_eq!(cardap_record_aid(r, &mut b, &mut u), want);
            assert_eq!(cardap_record_user_id(r, &mut s, &mut n), want);
            assert_eq!(cardap_record_info_count(r, &mut u), want);
            assert_eq!(
                cardap_record_info_at(r, 0, &mut s, &mut n, &mut b, &mut u),
                want
            );
            assert_eq!(
                cardap_record_info_get(r, cs("info1"), 5, &mut b, &mut u),
                want
            );
            assert_eq!(cardap_record_data(r, &mut b, &mut u), want);
            assert_eq!(cardap_record_step_count(r, &mut u), want);
            assert_eq!(
                cardap_record_step_at(r, 0, &mut s, &mut n, &mut b, &mut u),
                want
            );
            assert_eq!(cardap_record_field_count(r, &mut u), want);
            assert_eq!(
                cardap_record_field_at(r, 0, &mut s, &mut n, &mut v, &mut vn),
                want
            );
            assert_eq!(
                cardap_record_field_get(r, cs("branch"), 6, &mut v, &mut vn),
                want
            );
            assert_eq!(cardap_record_apdus(r, &mut u), want);
            assert_eq!(cardap_record_to_json(r, &mut s, &mut n), want);
            cardap_record_free(r);
        }
        for (l, want) in bad_handles::<cardap_ap_list>(rec.cast()) {
            assert_eq!(cardap_ap_list_count(l, &mut u), want);
            assert_eq!(cardap_ap_list_aid(l, 0, &mut b, &mut u), want);
            assert_eq!(cardap_ap_list_label(l, 0, &mut s, &mut n), want);
            assert_eq!(cardap_ap_list_to_json(l, &mut s, &mut n), want);
            cardap_ap_list_free(l);
        }
        for (l, want) in bad_handles::<cardap_reader_list>(rec.cast()) {
            assert_eq!(cardap_reader_list_count(l, &mut u), want);
            assert_eq!(cardap_reader_list_name(l, 0, &mut s, &mut n), want);
            assert_eq!(cardap_reader_list_card_present(l, 0, &mut flag), want);
            cardap_reader_list_free(l);
        }
        // The live handles survived all of that.
        assert_eq!(json(rec).len(), json(rec).len());
        cardap_ap_list_free(list);
        cardap_record_free(rec);
        cardap_profile_free(prof);
        cardap_context_free(ctx);
    }
}

#[test]
fn every_out_parameter_may_be_null() {
    let ctx = context(DEMO_CARD);
    let prof = profile(LIBRARY);
    let rec = read(ctx, prof).unwrap();
    let mut list = null_mut();
    let (mut s, mut n, mut b, mut u) = (null(), 0usize, null(), 0usize);
    let (sp, np, bp, up) = (&raw mut s, &raw mut n, &raw mut b, &raw mut u);
    let text = "x";
    // SAFETY: live handles; each out-parameter is NULL or valid.
    unsafe {
        assert_eq!(cardap_context_list(ctx, &mut list), R::Ok);
        let nul = R::NullParameter;
        assert_eq!(cardap_result_text(0, null_mut(), np), nul);
        assert_eq!(cardap_result_text(0, sp, null_mut()), nul);
        assert_eq!(cardap_last_error(null_mut(), np), nul);
        assert_eq!(cardap_last_error(sp, null_mut()), nul);
        assert_eq!(cardap_version(null_mut(), np), nul);
        assert_eq!(cardap_version(sp, null_mut()), nul);
        assert_eq!(
            cardap_profile_new_from_str(cs(LIBRARY), LIBRARY.len(), null_mut()),
            nul
        );
        assert_eq!(cardap_profile_new_from_str(null(), 0, &mut null_mut()), nul);
        assert_eq!(
            cardap_profile_new_from_file(null(), 0, &mut null_mut()),
            nul
        );
        assert_eq!(cardap_profile_new_from_file(cs(text), 1, null_mut()), nul);
        assert_eq!(
            cardap_context_new_virtual_card_str(cs(DEMO_CARD), DEMO_CARD.len(), null_mut()),
            nul
        );
        assert_eq!(
            cardap_context_new_virtual_card_str(null(), 5, &mut null_mut()),
            nul
        );
        assert_eq!(
            cardap_context_new_virtual_card_file(null(), 0, &mut null_mut()),
            nul
        );
        assert_eq!(
            cardap_context_new_virtual_card_file(cs(text), 1, null_mut()),
            nul
        );
        assert_eq!(cardap_context_new_pcsc(null(), 0, null_mut()), nul);
        assert_eq!(cardap_context_new_pcsc(null(), 3, &mut null_mut()), nul);
        assert_eq!(cardap_context_read(ctx, prof, null_mut()), nul);
        assert_eq!(cardap_context_list(ctx, null_mut()), nul);
        assert_eq!(cardap_context_last_error(ctx, null_mut(), np), nul);
        assert_eq!(cardap_context_last_error(ctx, sp, null_mut()), nul);
        assert_eq!(cardap_context_last_status_word(ctx, null_mut()), nul);
        assert_eq!(cardap_profile_name(prof, null_mut(), np), nul);
        assert_eq!(cardap_profile_name(prof, sp, null_mut()), nul);
        assert_eq!(cardap_profile_type(prof, null_mut()), nul);
        assert_eq!(cardap_profile_aid(prof, null_mut(), up), nul);
        assert_eq!(cardap_profile_aid(prof, bp, null_mut()), nul);
        assert_eq!(cardap_record_name(rec, null_mut(), np), nul);
        assert_eq!(cardap_record_name(rec, sp, null_mut()), nul);
        assert_eq!(cardap_record_type(rec, null_mut()), nul);
        assert_eq!(cardap_record_aid(rec, null_mut(), up), nul);
        assert_eq!(cardap_record_aid(rec, bp, null_mut()), nul);
        assert_eq!(cardap_record_user_id(rec, null_mut(), np), nul);
        assert_eq!(cardap_record_user_id(rec, sp, null_mut()), nul);
        assert_eq!(cardap_record_info_count(rec, null_mut()), nul);
        for i in 0..4 {
            let o = |k: usize| i == k;
            let (s1, n1, b1, u1) = (
                if o(0) { null_mut() } else { sp },
                if o(1) { null_mut() } else { np },
                if o(2) { null_mut() } else { bp },
                if o(3) { null_mut() } else { up },
            );
            assert_eq!(cardap_record_info_at(rec, 0, s1, n1, b1, u1), nul);
            assert_eq!(cardap_record_step_at(rec, 0, s1, n1, b1, u1), nul);
            let (s2, n2) = (
                if o(0) { null_mut() } else { &raw mut s },
                if o(1) { null_mut() } else { &raw mut n },
            );
            let (mut v, mut vn) = (null(), 0);
            let (v2, vn2) = (
                if o(2) { null_mut() } else { &raw mut v },
                if o(3) { null_mut() } else { &raw mut vn },
            );
            assert_eq!(cardap_record_field_at(rec, 0, s2, n2, v2, vn2), nul);
        }
        assert_eq!(cardap_record_info_get(rec, null(), 5, bp, up), nul);
        assert_eq!(
            cardap_record_info_get(rec, cs("info1"), 5, null_mut(), up),
            nul
        );
        assert_eq!(
            cardap_record_info_get(rec, cs("info1"), 5, bp, null_mut()),
            nul
        );
        assert_eq!(cardap_record_data(rec, null_mut(), up), nul);
        assert_eq!(cardap_record_data(rec, bp, null_mut()), nul);
        assert_eq!(cardap_record_step_count(rec, null_mut()), nul);
        assert_eq!(cardap_record_field_count(rec, null_mut()), nul);
        assert_eq!(cardap_record_field_get(rec, null(), 6, sp, np), nul);
        assert_eq!(
            cardap_record_field_get(rec, cs("branch"), 6, null_mut(), np),
            nul
        );
        assert_eq!(
            cardap_record_field_get(rec, cs("branch"), 6, sp, null_mut()),
            nul
        );
        assert_eq!(cardap_record_apdus(rec, null_mut()), nul);
        assert_eq!(cardap_record_to_json(rec, null_mut(), np), nul);
        assert_eq!(cardap_record_to_json(rec, sp, null_mut()), nul);
        assert_eq!(cardap_ap_list_count(list, null_mut()), nul);
        assert_eq!(cardap_ap_list_aid(list, 0, null_mut(), up), nul);
        assert_eq!(cardap_ap_list_aid(list, 0, bp, null_mut()), nul);
        assert_eq!(cardap_ap_list_label(list, 0, null_mut(), np), nul);
        assert_eq!(cardap_ap_list_label(list, 0, sp, null_mut()), nul);
        assert_eq!(cardap_ap_list_to_json(list, null_mut(), np), nul);
        assert_eq!(cardap_ap_list_to_json(list, sp, null_mut()), nul);
        assert_eq!(cardap_ap_list_aid(list, 99, null_mut(), up), nul);
        assert_eq!(cardap_reader_list_new(null_mut()), nul);
        // Frees of NULL do nothing.
        cardap_context_free(null_mut());
        cardap_profile_free(null_mut());
        cardap_record_free(null_mut());
        cardap_ap_list_free(null_mut());
        cardap_reader_list_free(null_mut());

        cardap_ap_list_free(list);
        cardap_record_free(rec);
        cardap_profile_free(prof);
        cardap_context_free(ctx);
    }
}

#[test]
fn oversized_misaligned_and_non_utf8_inputs() {
    let tiny = "x";
    let ctx = context(DEMO_CARD);
    let prof = profile(LIBRARY);
    let rec = read(ctx, prof).unwrap();
    let mut h = null_mut();
    let mut c = null_mut();
    let (mut b, mut u) = (null(), 0usize);
    let (mut s, mut n) = (null(), 0usize);
    // SAFETY: the lengths are over the limits, so the library must not read
    // past the one byte given; other arguments are valid.
    unsafe {
        for len in [
            crate::CARDAP_MAX_TEXT_LEN + 1,
            usize::MAX,
            isize::MAX as usize + 1,
        ] {
            assert_eq!(
                cardap_profile_new_from_str(cs(tiny), len, &mut h),
                R::TooLong
            );
            assert_eq!(
                cardap_context_new_virtual_card_str(cs(tiny), len, &mut c),
                R::TooLong
            );
            assert_eq!(
                cardap_profile_new_from_file(cs(tiny), len, &mut h),
                R::TooLong
            );
            assert_eq!(
                cardap_context_new_virtual_card_file(cs(tiny), len, &mut c),
                R::TooLong
            );
            assert_eq!(cardap_context_new_pcsc(cs(tiny), len, &mut c), R::TooLong);
            assert_eq!(
                cardap_record_info_get(rec, cs(tiny), len, &mut b, &mut u),
                R::TooLong
            );
            assert_eq!(
                cardap_record_field_get(rec, cs(tiny), len, &mut s, &mut n),
                R::TooLong
            );
        }
        assert!(last_error().contains("limit"));
        let path_limit = crate::CARDAP_MAX_PATH_LEN + 1;
        let long_path = "a".repeat(path_limit);
        assert_eq!(
            cardap_profile_new_from_file(cs(&long_path), path_limit, &mut h),
            R::TooLong
        );
        let name_limit = crate::CARDAP_MAX_NAME_LEN + 1;
        let long_name = "a".repeat(name_limit);
        assert_eq!(
            cardap_record_field_get(rec, cs(&long_name), name_limit, &mut s, &mut n),
            R::TooLong
        );

        // Not UTF-8; a NUL inside a path; an empty path.
        let latin1 = b"caf\xE9";
        let bad = latin1.as_ptr().cast();
        assert_eq!(
            cardap_profile_new_from_str(bad, 4, &mut h),
            R::InvalidArgument
        );
        assert_eq!(
            cardap_context_new_virtual_card_str(bad, 4, &mut c),
            R::InvalidArgument
        );
        assert_eq!(
            cardap_profile_new_from_file(bad, 4, &mut h),
            R::InvalidArgument
        );
        assert_eq!(
            cardap_record_field_get(rec, bad, 4, &mut s, &mut n),
            R::InvalidArgument
        );
        assert_eq!(
            cardap_profile_new_from_file(cs("a\0b"), 3, &mut h),
            R::InvalidArgument
        );
        assert_eq!(
            cardap_context_new_virtual_card_file(cs(tiny), 0, &mut c),
            R::InvalidArgument
        );
        // Garbage text is a profile error, not a crash.
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8 & 0x7F)
            .collect();
        let r = cardap_profile_new_from_str(noise.as_ptr().cast(), noise.len(), &mut h);
        assert!(matches!(r, R::ProfileInvalid | R::InvalidArgument), "{r:?}");
        let r = cardap_context_new_virtual_card_str(noise.as_ptr().cast(), noise.len(), &mut c);
        assert!(
            matches!(r, R::CardDescriptionInvalid | R::InvalidArgument),
            "{r:?}"
        );

        // Misaligned out-parameters.
        let mut words = [0u64; 4];
        let odd = words.as_mut_ptr().cast::<u8>().wrapping_add(1);
        assert_eq!(cardap_record_apdus(rec, odd.cast()), R::InvalidArgument);
        assert_eq!(words, [0; 4]);

        assert!(
            h.is_null() && c.is_null(),
            "out-parameters written on failure"
        );
        cardap_record_free(rec);
        cardap_profile_free(prof);
        cardap_context_free(ctx);
    }
}

#[test]
fn result_codes_are_stable_and_named() {
    let all = cardap_result::all();
    // Strictly increasing: unique, in value order.
    assert!(all.windows(2).all(|w| (w[0] as u32) < (w[1] as u32)));
    // Every variant is in the table (an exhaustive match fails to compile
    // when a variant is added without thinking of this test).
    for code in &all {
        match code {
            R::Ok
            | R::NullParameter
            | R::InvalidArgument
            | R::TooLong
            | R::InvalidHandle
            | R::Panic
            | R::OutOfRange
            | R::NotFound
            | R::Unsupported
            | R::Busy
            | R::CardRemoved
            | R::CardReset
            | R::NoCard
            | R::ReaderUnavailable
            | R::ServiceUnavailable
            | R::Cancelled
            | R::Timeout
            | R::NotCarried
            | R::ReplayMismatch
            | R::Interrupted
            | R::TransportFailure
            | R::CardStatus
            | R::ApNotFound
            | R::ExtendedRejected
            | R::InvalidWrite
            | R::Registry
            | R::AuthFailed
            | R::SecureMessaging
            | R::Crypto
            | R::NoKeys
            | R::Malformed
            | R::InvalidUserId
            | R::Tlv
            | R::Apdu
            | R::ProfileInvalid
            | R::ProfileIo
            | R::CardDescriptionInvalid
            | R::CardDescriptionIo
            | R::Unknown => {}
        }
    }
    assert_eq!(all.len(), 39);
    assert_eq!(R::Busy as u32, 108);
    assert_eq!(R::InvalidWrite as u32, 310);
    assert_eq!(R::Registry as u32, 311);
    // The published values.
    assert_eq!(R::Ok as u32, 0);
    assert_eq!(R::NullParameter as u32, 100);
    assert_eq!(R::CardRemoved as u32, 200);
    assert_eq!(R::CardStatus as u32, 300);
    assert_eq!(R::AuthFailed as u32, 400);
    assert_eq!(R::Malformed as u32, 500);
    assert_eq!(R::ProfileInvalid as u32, 600);
    assert_eq!(R::CardDescriptionInvalid as u32, 700);
    assert_eq!(R::Unknown as u32, 999);
    assert_eq!(R::NoKeys as u32, 403);
    for code in all {
        let (mut s, mut n) = (null(), 0);
        // SAFETY: valid out-parameters.
        let r = unsafe { cardap_result_text(code as u32, &mut s, &mut n) };
        assert_eq!(r, R::Ok);
        assert_eq!(string(s, n), crate::result::text_of(code));
        assert!(n > 0);
        assert_eq!(cardap_result::from_u32(code as u32), Some(code));
    }
    for unknown in [1, 99, 119, 998, 1000, u32::MAX] {
        let (mut s, mut n) = (null(), 0);
        // SAFETY: valid out-parameters.
        let r = unsafe { cardap_result_text(unknown, &mut s, &mut n) };
        assert_eq!(r, R::Ok);
        assert_eq!(string(s, n), "unknown error");
    }
}

#[test]
fn version_matches_cargo_and_header() {
    let (mut s, mut n) = (null(), 0);
    // SAFETY: valid out-parameters.
    assert_eq!(unsafe { cardap_version(&mut s, &mut n) }, R::Ok);
    assert_eq!(string(s, n), env!("CARGO_PKG_VERSION"));
    let header = include_str!("../include/cardap.h");
    let version = env!("CARGO_PKG_VERSION");
    assert!(header.contains(&format!("#define CARDAP_VERSION \"{version}\"")));
    let mut parts = version.split('.');
    for name in ["MAJOR", "MINOR", "PATCH"] {
        let part = parts.next().unwrap();
        assert!(header.contains(&format!("#define CARDAP_VERSION_{name} {part}\n")));
    }
}

#[test]
fn panics_become_a_code_and_a_message() {
    let code = crate::panic::guard("test_panic", || -> Result<(), crate::result::Failure> {
        panic!("boom")
    });
    assert_eq!(code, R::Panic);
    assert!(last_error().starts_with("test_panic: internal error"));
    crate::panic::guard_void(|| panic!("boom"));
}

#[test]
fn last_error_is_per_thread() {
    let mut h = null_mut();
    // SAFETY: valid arguments.
    unsafe { cardap_profile_new_from_str(cs("x"), 1, &mut h) };
    let here = last_error();
    std::thread::spawn(|| {
        assert_eq!(last_error(), "");
        let mut c = null_mut();
        // SAFETY: valid arguments.
        unsafe { cardap_context_new_virtual_card_file(cs("/nonexistent"), 12, &mut c) };
        assert!(last_error().contains("nonexistent"));
    })
    .join()
    .unwrap();
    assert_eq!(last_error(), here);
}

#[test]
fn pcsc_without_a_reader_is_an_error_code() {
    let mut ctx = null_mut();
    let name = "no such reader 8b1f";
    // SAFETY: valid arguments.
    let r = unsafe { cardap_context_new_pcsc(cs(name), name.len(), &mut ctx) };
    assert!(
        matches!(
            r,
            R::ServiceUnavailable | R::ReaderUnavailable | R::NoCard | R::Unsupported
        ),
        "{r:?}: {}",
        last_error()
    );
    assert!(ctx.is_null());
    let mut list = null_mut();
    // SAFETY: a valid out-parameter.
    let r = unsafe { cardap_reader_list_new(&mut list) };
    if r == R::Ok {
        let mut n = usize::MAX;
        // SAFETY: a live list and valid out-parameters.
        unsafe {
            assert_eq!(cardap_reader_list_count(list, &mut n), R::Ok);
            let (mut s, mut len, mut present) = (null(), 0, false);
            for i in 0..n {
                assert_eq!(cardap_reader_list_name(list, i, &mut s, &mut len), R::Ok);
                assert_eq!(
                    cardap_reader_list_card_present(list, i, &mut present),
                    R::Ok
                );
            }
            assert_eq!(
                cardap_reader_list_name(list, n, &mut s, &mut len),
                R::OutOfRange
            );
            cardap_reader_list_free(list);
        }
    } else {
        assert!(matches!(r, R::ServiceUnavailable | R::Unsupported), "{r:?}");
        assert!(list.is_null());
    }
}
