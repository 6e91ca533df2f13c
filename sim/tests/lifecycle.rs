//! Writes and the AP lifecycle on the virtual card beyond the golden
//! transcripts (PROFILE.md §11, §12): channel rights, the user ID, writes that
//! do not fit, tearing, areas, the free area, persistence.

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
use cardap_sim::vpcd::CardSide;
use cardap_sim::{
    ApDescription, ApKeys, Area, Description, ElementaryFile, InfoField, IssuerDescription,
    PersistentCard, VirtualCard,
};
use common::*;

const AID_C: &[u8] = b"\xF0CARDAPC\x00\x01";
const AID_A: &[u8] = b"\xF0CARDAPA\x00\x07";
const AID_D: &[u8] = b"\xF0CARDAPD\x00\x03";
const MANAGER: &[u8] = b"\xF0CARDAPMGR";
const OK: [u8; 2] = [0x90, 0x00];

fn keys(suite: Suite, label: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let n = suite.key_len();
    let enc: Vec<u8> = label.iter().copied().cycle().take(n).collect();
    let mac: Vec<u8> = enc.iter().map(|b| b ^ 0x5A).collect();
    (enc, mac)
}

fn key_set(suite: Suite, label: &[u8]) -> ApKeys {
    let (enc, mac) = keys(suite, label);
    ApKeys::new(suite, SecretKey::new(enc), SecretKey::new(mac))
}

fn description(free_area: usize) -> Description {
    let (a_enc, a_mac) = keys(Suite::Aes128, b"A-read");
    let (d_enc, d_mac) = keys(Suite::Aes256, b"D-read");
    Description::builder()
        .issuer(IssuerDescription::new(key_set(Suite::Aes256, b"issuer")).with_free_area(free_area))
        .ap(ApDescription::type_c(AID_C, "1234567890125")
            .with_area(Area::Local)
            .with_label("city library")
            .with_info(InfoField::Info1, b"LIB".to_vec())
            .with_update_keys(key_set(Suite::TripleDes, b"C-update")))
        .ap(ApDescription::type_a(
            AID_A,
            "2024000000020",
            Suite::Aes128,
            SecretKey::new(a_enc),
            SecretKey::new(a_mac),
        )
        .with_record(b"first".to_vec())
        .with_record(b"second".to_vec())
        .with_update_keys(key_set(Suite::Aes128, b"A-update")))
        .ap(ApDescription::type_d(
            AID_D,
            "2024000000080",
            Suite::Aes256,
            SecretKey::new(d_enc),
            SecretKey::new(d_mac),
        )
        .with_area(Area::Local)
        .with_data(b"hello".to_vec())
        .with_update_keys(key_set(Suite::Aes256, b"D-update")))
        .build()
        .unwrap()
}

fn card() -> VirtualCard {
    VirtualCard::new(description(4096))
}

fn open(
    card: &mut VirtualCard,
    aid: &[u8],
    p2: u8,
    suite: Suite,
    label: &[u8],
    encrypt: bool,
) -> Terminal {
    assert_eq!(select(card, aid), OK);
    let (enc, mac) = keys(suite, label);
    authenticate_with(card, p2, suite, &enc, &mac, encrypt)
}

/// Sends `plain` protected and returns the plain answer and DO99.
fn send(card: &mut VirtualCard, terminal: &mut Terminal, plain: &[u8]) -> (Vec<u8>, [u8; 2]) {
    let header: [u8; 4] = plain[..4].try_into().unwrap();
    let (data, le): (&[u8], Option<&[u8]>) = if plain.len() == 5 {
        (&[], Some(&plain[4..]))
    } else if plain.len() > 5 {
        let lc = plain[4] as usize;
        (
            &plain[5..5 + lc],
            (plain.len() > 5 + lc).then(|| &plain[5 + lc..]),
        )
    } else {
        (&[], None)
    };
    let apdu = terminal.protect(header, data, le, Some(true));
    let response = card.process(&apdu);
    assert!(
        response.len() > 2,
        "{}: answered in the clear {response:02X?}",
        hex::encode_upper(plain)
    );
    terminal.unprotect(&response)
}

fn update_record(n: u8, tag: u8, value: &[u8]) -> Vec<u8> {
    let record = [vec![tag, value.len() as u8], value.to_vec()].concat();
    [vec![0x00, 0xDC, n, 0x0C, record.len() as u8], record].concat()
}

fn update_binary(offset: u8, bytes: &[u8]) -> Vec<u8> {
    [
        vec![0x00, 0xD6, 0x81, offset, bytes.len() as u8],
        bytes.to_vec(),
    ]
    .concat()
}

fn records(card: &VirtualCard, aid: &[u8]) -> Vec<Vec<u8>> {
    match card.ef_of(aid).unwrap() {
        ElementaryFile::Records(r) => r.clone(),
        other => panic!("{other:?}"),
    }
}

fn file(card: &VirtualCard, aid: &[u8]) -> Vec<u8> {
    match card.ef_of(aid).unwrap() {
        ElementaryFile::Transparent(f) => f.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn update_keys_write_and_read_keys_cannot() {
    let mut card = card();
    // Read keys: reading works, writing is 69 82 inside the channel.
    let mut t = open(&mut card, AID_A, 0x81, Suite::Aes128, b"A-read", false);
    let (_, status) = send(&mut card, &mut t, &update_record(2, 0xC1, b"new"));
    assert_eq!(status, [0x69, 0x82]);
    let (data, status) = send(&mut card, &mut t, &h("00B2010D00"));
    assert_eq!(status, OK, "the channel stays open after a refused write");
    assert!(data.starts_with(b"\xC0\x0D"));
    assert_eq!(records(&card, AID_A)[1], b"\xC1\x05first");
    // Update keys: the write lands, and the channel reads too.
    let mut t = open(&mut card, AID_A, 0x82, Suite::Aes128, b"A-update", false);
    let (_, status) = send(&mut card, &mut t, &update_record(2, 0xC1, b"new"));
    assert_eq!(status, OK);
    let (data, _) = send(&mut card, &mut t, &h("00B2010D00"));
    assert!(data.ends_with(b"\xC1\x03new\xC2\x06second"));
    assert_eq!(card.changes(), 1);
}

#[test]
fn writes_without_a_channel_are_refused_in_the_clear() {
    let mut card = card();
    assert_eq!(select(&mut card, AID_C), OK);
    assert_eq!(card.process(&update_binary(15, b"\xC1\x01X")), [0x69, 0x82]);
    assert_eq!(select(&mut card, AID_A), OK);
    assert_eq!(card.process(&update_record(2, 0xC1, b"x")), [0x69, 0x82]);
    assert_eq!(card.changes(), 0);
}

#[test]
fn key_references() {
    let mut card = card();
    assert_eq!(select(&mut card, AID_C), OK);
    let _ = card.process(&h("0084000008"));
    let (enc, mac) = keys(Suite::TripleDes, b"C-update");
    let cryptogram =
        terminal_cryptogram(Suite::TripleDes, &enc, &mac, b"12345678", &[0; 8], &[1; 16]);
    // P2 84 names no key set.
    let apdu = [h("0082008428"), cryptogram.clone(), vec![0x28]].concat();
    assert_eq!(card.process(&apdu), [0x6A, 0x86]);
    // Type C has no read keys; no AP has the issuer set.
    for p2 in [0x00, 0x81, 0x83] {
        let _ = card.process(&h("0084000008"));
        let apdu = [
            vec![0x00, 0x82, 0x00, p2, 0x28],
            cryptogram.clone(),
            vec![0x28],
        ]
        .concat();
        assert_eq!(card.process(&apdu), [0x63, 0x00], "P2 {p2:02X}");
    }
    // The card manager has only the issuer set.
    assert_eq!(select(&mut card, MANAGER), OK);
    let _ = card.process(&h("0084000008"));
    let apdu = [h("0082008228"), cryptogram, vec![0x28]].concat();
    assert_eq!(card.process(&apdu), [0x63, 0x00]);
}

#[test]
fn one_aps_update_keys_cannot_write_another() {
    let mut card = card();
    let mut t = open(&mut card, AID_D, 0x82, Suite::Aes256, b"D-update", true);
    // Selecting another AP ends the channel: the next protected command has none.
    assert_eq!(select(&mut card, AID_A), OK);
    let apdu = t.protect(
        [0x00, 0xDC, 0x02, 0x0C],
        &[0xC1, 0x01, 0x41],
        None,
        Some(true),
    );
    assert_eq!(card.process(&apdu), [0x69, 0x82]);
    // The D update keys are not the A update keys.
    let _ = card.process(&h("0084000008"));
    let (enc, mac) = keys(Suite::Aes256, b"D-update");
    let cryptogram = terminal_cryptogram(Suite::Aes256, &enc, &mac, b"12345678", &[0; 8], &[1; 16]);
    let apdu = [h("0082008228"), cryptogram, vec![0x28]].concat();
    assert_eq!(card.process(&apdu), [0x63, 0x00]);
    assert_eq!(records(&card, AID_A)[1], b"\xC1\x05first");
}

#[test]
fn the_user_id_is_never_writable() {
    let mut card = card();
    let mut t = open(&mut card, AID_A, 0x82, Suite::Aes128, b"A-update", false);
    let (_, status) = send(&mut card, &mut t, &update_record(1, 0xC0, b"9999999999994"));
    assert_eq!(status, [0x69, 0x85]);
    let mut t = open(&mut card, AID_D, 0x82, Suite::Aes256, b"D-update", true);
    for offset in [0u8, 12] {
        let (_, status) = send(&mut card, &mut t, &update_binary(offset, b"77"));
        assert_eq!(status, [0x69, 0x85], "offset {offset}");
    }
    let mut t = open(&mut card, AID_C, 0x82, Suite::TripleDes, b"C-update", false);
    let (_, status) = send(&mut card, &mut t, &update_binary(14, b"\x35"));
    assert_eq!(status, [0x69, 0x85]);
    assert_eq!(&file(&card, AID_C)[2..15], b"1234567890125");
    assert_eq!(&file(&card, AID_D)[..13], b"2024000000080");
    assert_eq!(card.changes(), 0);
}

#[test]
fn writes_that_do_not_fit_change_nothing() {
    let mut card = card();
    let before_a = records(&card, AID_A);
    let before_c = file(&card, AID_C);
    let before_d = file(&card, AID_D);
    let mut t = open(&mut card, AID_A, 0x82, Suite::Aes128, b"A-update", false);
    for (plain, expected) in [
        (update_record(4, 0xC3, b"x"), [0x6A, 0x83]), // no such record
        (update_record(2, 0xC2, b"x"), [0x6A, 0x80]), // wrong tag
        ([h("00DC020C83C18180"), vec![0; 128]].concat(), [0x6A, 0x84]), // value > 127
        (h("00DC020C03C10541"), [0x6A, 0x80]),        // length does not match
        (h("00DC000C03C10141"), [0x6A, 0x86]),        // record 0
        (h("00DC021403C10141"), [0x6A, 0x86]),        // P2 other than 0C/04
    ] {
        let (_, status) = send(&mut card, &mut t, &plain);
        assert_eq!(status, expected, "{}", hex::encode_upper(&plain));
    }
    // Two records of 127 bytes make the file larger than 255 bytes.
    let (_, status) = send(&mut card, &mut t, &update_record(2, 0xC1, &[7; 127]));
    assert_eq!(status, OK);
    let (_, status) = send(&mut card, &mut t, &update_record(3, 0xC2, &[8; 127]));
    assert_eq!(status, [0x6A, 0x84]);
    assert_eq!(records(&card, AID_A)[2], before_a[2]);

    let mut t = open(&mut card, AID_D, 0x82, Suite::Aes256, b"D-update", true);
    for (plain, expected) in [
        (update_binary(250, &[1; 10]), [0x6A, 0x84]),
        (h("00D600FF0101"), [0x6B, 0x00]), // offset 255 of the current EF
        (h("00D6C10D0101"), [0x6A, 0x86]),
        (h("00D6820D0101"), [0x6A, 0x82]),
    ] {
        let (_, status) = send(&mut card, &mut t, &plain);
        assert_eq!(status, expected, "{}", hex::encode_upper(&plain));
    }
    assert_eq!(file(&card, AID_D), before_d);

    let mut t = open(&mut card, AID_C, 0x82, Suite::TripleDes, b"C-update", false);
    for tail in [
        [b"\xC1\x0D".as_slice(), &[0x41; 13], &[0xFF; 3]].concat(), // 13 bytes of values
        [b"\xC2\x01A\xC1\x01B".as_slice(), &[0xFF; 12]].concat(),   // order
        [b"\xC1\x01A\x00".as_slice(), &[0xFF; 14]].concat(),        // garbage
        [b"\xC1\x01AFF".as_slice(), &[0xFF; 13]].concat(),          // byte after the fields
    ] {
        let (_, status) = send(&mut card, &mut t, &update_binary(15, &tail));
        assert_eq!(status, [0x6A, 0x80], "{}", hex::encode_upper(&tail));
    }
    let (_, status) = send(&mut card, &mut t, &update_binary(30, &[0xFF; 4]));
    assert_eq!(status, [0x6A, 0x84]);
    assert_eq!(file(&card, AID_C), before_c);
    // A valid rewrite: info 1 to 3, 12 bytes of values.
    let tail = [b"\xC1\x04ABCD\xC2\x04EFGH\xC3\x04IJKL".as_slice()].concat();
    let (_, status) = send(&mut card, &mut t, &update_binary(15, &tail));
    assert_eq!(status, OK);
    assert_eq!(&file(&card, AID_C)[15..], &tail[..]);
}

/// A chained write torn away at every part keeps the old file; the whole
/// chain writes the new one (PROFILE.md §11.6).
#[test]
fn a_chained_write_torn_at_any_part_keeps_the_old_value() {
    let new: Vec<u8> = (0u8..242).collect();
    let old = {
        let c = card();
        file(&c, AID_D)
    };
    let parts = {
        let mut card = VirtualCard::new(description(4096).with_extended_length(false))
            .with_fixed_random(b"RND.ICC3smartcard3/K.ICC".to_vec());
        let mut t = open(&mut card, AID_D, 0x82, Suite::Aes256, b"D-update", true);
        let apdu = t.protect([0x00, 0xD6, 0x81, 0x0D], &new, None, Some(true));
        let body = apdu[7..apdu.len() - 2].to_vec();
        let chunks: Vec<Vec<u8>> = body.chunks(255).map(<[u8]>::to_vec).collect();
        assert_eq!(chunks.len(), 2);
        chunks
    };
    for tear in 0..=parts.len() {
        let mut card = VirtualCard::new(description(4096).with_extended_length(false))
            .with_fixed_random(b"RND.ICC3smartcard3/K.ICC".to_vec());
        let mut t = open(&mut card, AID_D, 0x82, Suite::Aes256, b"D-update", true);
        let _ = t.protect([0x00, 0xD6, 0x81, 0x0D], &new, None, Some(true));
        let mut card = card.remove_after(tear);
        let mut torn = false;
        for (i, chunk) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let mut apdu = vec![
                if last { 0x0C } else { 0x1C },
                0xD6,
                0x81,
                0x0D,
                chunk.len() as u8,
            ];
            apdu.extend_from_slice(chunk);
            if last {
                apdu.push(0);
            }
            match card.transmit(&apdu) {
                Ok(r) if !last => assert_eq!(r, OK),
                Ok(r) => assert_eq!(&r[r.len() - 2..], OK),
                Err(_) => {
                    torn = true;
                    break;
                }
            }
        }
        card.insert();
        let now = file(&card, AID_D);
        if torn {
            assert_eq!(now, old, "torn before part {tear}: old value");
        } else {
            assert_eq!(&now[13..], &new[..], "not torn: new value");
        }
    }
}

// ------------------------------------------------------------------ lifecycle

fn issuer(card: &mut VirtualCard) -> Terminal {
    open(card, MANAGER, 0x83, Suite::Aes256, b"issuer", true)
}

fn key_template(tag: u8, suite: Suite, label: &[u8]) -> Vec<u8> {
    let (enc, mac) = keys(suite, label);
    let code = match suite {
        Suite::TripleDes => 1,
        Suite::Aes128 => 2,
        Suite::Aes256 => 3,
    };
    let inner = [
        vec![0x80, 1, code],
        vec![0x81, enc.len() as u8],
        enc,
        vec![0x82, mac.len() as u8],
        mac,
    ]
    .concat();
    [vec![tag, inner.len() as u8], inner].concat()
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match value.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(value);
    out
}

fn template(kind: u8, area: u8, aid: &[u8], user_id: &str, contents: &[u8]) -> Vec<u8> {
    let mut proprietary = [
        tlv(0x80, &[kind]),
        tlv(0x81, &[area]),
        tlv(0x82, user_id.as_bytes()),
    ]
    .concat();
    if kind != b'C' {
        proprietary.extend(key_template(0xA1, Suite::Aes128, b"new-read"));
    }
    proprietary.extend(key_template(0xA2, Suite::Aes128, b"new-update"));
    proprietary.extend(tlv(0xA3, contents));
    tlv(
        0x62,
        &[tlv(0x82, &[0x38]), tlv(0x84, aid), tlv(0xA5, &proprietary)].concat(),
    )
}

fn create(card: &mut VirtualCard, t: &mut Terminal, template: &[u8]) -> [u8; 2] {
    let apdu = t.protect([0x00, 0xE0, 0x00, 0x00], template, None, Some(true));
    let response = card.process(&apdu);
    if response.len() == 2 {
        return [response[0], response[1]];
    }
    t.unprotect(&response).1
}

fn aids(card: &VirtualCard) -> Vec<Vec<u8>> {
    card.description()
        .aps()
        .iter()
        .map(|a| a.aid().to_vec())
        .collect()
}

#[test]
fn install_then_use_then_delete() {
    let mut card = card();
    let mut t = issuer(&mut card);
    let aid = b"\xF0CARDAPA\x01\x00";
    let contents = [tlv(0xC1, b"T-1"), tlv(0xC2, b"")].concat();
    assert_eq!(
        create(
            &mut card,
            &mut t,
            &template(b'A', 2, aid, "1234567890125", &contents)
        ),
        OK
    );
    assert_eq!(aids(&card).last().unwrap(), aid);
    // Read with the new read keys, write with the new update keys.
    let mut r = open(&mut card, aid, 0x81, Suite::Aes128, b"new-read", false);
    let (data, _) = send(&mut card, &mut r, &h("00B2010D00"));
    assert_eq!(
        data,
        [b"\xC0\x0D1234567890125".as_slice(), b"\xC1\x03T-1\xC2\x00"].concat()
    );
    let mut w = open(&mut card, aid, 0x82, Suite::Aes128, b"new-update", false);
    let (_, status) = send(&mut card, &mut w, &update_record(3, 0xC2, b"2026"));
    assert_eq!(status, OK);
    // EF.DIR has it last.
    assert_eq!(select(&mut card, &[0x3F, 0x00]), [0x6A, 0x82]); // DF name 3F00 is no AP
    let _ = card.process(&h("00A40000023F00"));
    let dir = card.process(&h("00B204F400"));
    assert_eq!(
        &dir[..dir.len() - 2],
        &tlv(0x61, &[tlv(0x4F, aid)].concat())[..]
    );
    // Delete it: gone, EF.DIR too.
    let mut t = issuer(&mut card);
    let apdu = t.protect([0x00, 0xE4, 0x04, 0x00], aid, None, Some(true));
    assert_eq!(t.unprotect(&card.process(&apdu)).1, OK);
    assert_eq!(select(&mut card, aid), [0x6A, 0x82]);
    let _ = card.process(&h("00A40000023F00"));
    assert_eq!(card.process(&h("00B204F400")), [0x6A, 0x83]);
    assert_eq!(
        aids(&card),
        vec![AID_C.to_vec(), AID_A.to_vec(), AID_D.to_vec()]
    );
}

#[test]
fn create_file_refusals() {
    let mut card = card();
    // Without the issuer channel.
    assert_eq!(select(&mut card, MANAGER), OK);
    let plain = [h("00E0000010"), vec![0; 16]].concat();
    assert_eq!(card.process(&plain), [0x69, 0x82]);
    let mut a = open(&mut card, AID_A, 0x82, Suite::Aes128, b"A-update", false);
    let apdu = a.protect([0x00, 0xE0, 0x00, 0x00], &[0x62, 0x00], None, Some(true));
    assert_eq!(a.unprotect(&card.process(&apdu)).1, [0x69, 0x82]);
    let mut t = issuer(&mut card);
    let good = template(b'D', 1, b"\xF0CARDAPD\x01\x00", "1234567890125", b"data");
    let bad_uid = template(b'D', 1, b"\xF0CARDAPD\x01\x00", "1234567890123", b"data");
    let c_with_a_records = template(
        b'C',
        1,
        b"\xF0CARDAPC\x01\x00",
        "1234567890125",
        &tlv(0xC4, b"x"),
    );
    let a_gap = template(
        b'A',
        1,
        b"\xF0CARDAPA\x01\x00",
        "1234567890125",
        &tlv(0xC2, b"x"),
    );
    let bad_area = template(b'D', 3, b"\xF0CARDAPD\x01\x00", "1234567890125", b"");
    let too_much_d = template(b'D', 1, b"\xF0CARDAPD\x01\x00", "1234567890125", &[1; 243]);
    for (template, expected) in [
        (bad_uid, [0x6A, 0x80]),
        (c_with_a_records, [0x6A, 0x80]),
        (a_gap, [0x6A, 0x80]),
        (bad_area, [0x6A, 0x80]),
        (too_much_d, [0x6A, 0x80]),
        (good[..good.len() - 1].to_vec(), [0x6A, 0x80]),
        (template(b'A', 1, AID_A, "1234567890125", b""), [0x6A, 0x89]),
        (
            template(b'A', 1, MANAGER, "1234567890125", b""),
            [0x6A, 0x89],
        ),
    ] {
        assert_eq!(create(&mut card, &mut t, &template), expected);
    }
    assert_eq!(card.changes(), 0);
    assert_eq!(create(&mut card, &mut t, &good), OK);
}

#[test]
fn a_full_free_area_is_refused() {
    // 33 + 255 + 255 = 543 bytes in use; room for one Type C (33) only.
    let mut card = VirtualCard::new(description(543 + 33 + 32 + 33));
    let mut t = issuer(&mut card);
    let d = template(b'D', 1, b"\xF0CARDAPD\x01\x00", "1234567890125", b"");
    assert_eq!(create(&mut card, &mut t, &d), [0x6A, 0x84]);
    let c1 = template(b'C', 1, b"\xF0CARDAPC\x01\x00", "1234567890125", b"");
    let c2 = template(b'C', 1, b"\xF0CARDAPC\x01\x01", "1234567890125", b"");
    let c3 = template(b'C', 1, b"\xF0CARDAPC\x01\x02", "1234567890125", b"");
    assert_eq!(create(&mut card, &mut t, &c1), OK);
    assert_eq!(create(&mut card, &mut t, &c2), OK);
    assert_eq!(create(&mut card, &mut t, &c3), [0x6A, 0x84]);
    // Deleting frees the space.
    let apdu = t.protect([0x00, 0xE4, 0x04, 0x00], AID_D, None, Some(true));
    assert_eq!(t.unprotect(&card.process(&apdu)).1, OK);
    assert_eq!(create(&mut card, &mut t, &c3), OK);
}

#[test]
fn move_out_deletes_the_local_area_only() {
    let mut card = card();
    let mut t = issuer(&mut card);
    let apdu = t.protect([0x00, 0xE4, 0xA0, 0x00], &[0x01], Some(&[0x00]), Some(true));
    assert_eq!(
        t.unprotect(&card.process(&apdu)).1,
        [0x69, 0x85],
        "extension area"
    );
    let apdu = t.protect([0x00, 0xE4, 0xA0, 0x00], &[0x02], Some(&[0x00]), Some(true));
    let (data, status) = t.unprotect(&card.process(&apdu));
    assert_eq!((data, status), (vec![2], OK));
    assert_eq!(aids(&card), vec![AID_A.to_vec()]);
    let apdu = t.protect([0x00, 0xE4, 0xA0, 0x00], &[0x02], Some(&[0x00]), Some(true));
    assert_eq!(t.unprotect(&card.process(&apdu)), (vec![0], OK));
    let _ = card.process(&h("00A40000023F00"));
    let first = card.process(&h("00B201F400"));
    assert_eq!(&first[4..14], AID_A);
    assert_eq!(card.process(&h("00B202F400")), [0x6A, 0x83]);
}

#[test]
fn list_by_area() {
    let mut card = card();
    let mut t = issuer(&mut card);
    let mut list = |area: u8| {
        let mut out = Vec::new();
        for index in 1u8.. {
            let apdu = t.protect([0x00, 0xCA, index, area], &[], Some(&[0x00]), Some(true));
            let (data, status) = t.unprotect(&card.process(&apdu));
            if status == [0x6A, 0x83] {
                break;
            }
            assert_eq!(status, OK);
            out.push(data[4..4 + data[3] as usize].to_vec());
        }
        out
    };
    assert_eq!(
        list(0),
        vec![AID_C.to_vec(), AID_A.to_vec(), AID_D.to_vec()]
    );
    assert_eq!(list(1), vec![AID_A.to_vec()]);
    assert_eq!(list(2), vec![AID_C.to_vec(), AID_D.to_vec()]);
    let apdu = t.protect([0x00, 0xCA, 0x00, 0x00], &[], Some(&[0x00]), Some(true));
    assert_eq!(t.unprotect(&card.process(&apdu)).1, [0x6A, 0x86]);
}

#[test]
fn persisted_state_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("cardap-persist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("card.toml");
    std::fs::write(&path, description(4096).to_toml_string().unwrap()).unwrap();
    let mut served = PersistentCard::new(VirtualCard::from_file(&path).unwrap(), &path);
    let aid = b"\xF0CARDAPD\x01\x00";
    {
        let card = served.card_mut();
        let mut t = issuer(card);
        let apdu = t.protect(
            [0x00, 0xE0, 0x00, 0x00],
            &template(b'D', 2, aid, "1234567890125", b"initial"),
            None,
            Some(true),
        );
        let _ = t;
        // Through the CardSide, as vpcd serves it.
        let response = CardSide::process(&mut served, &apdu);
        assert_eq!(&response[response.len() - 2..], OK);
    }
    let reloaded = VirtualCard::from_file(&path).unwrap();
    assert_eq!(aids(&reloaded).last().unwrap(), aid);
    assert_eq!(&file(&reloaded, aid)[13..20], b"initial");
    let ap = reloaded.description().aps().last().unwrap();
    assert_eq!(ap.area(), Area::Local);
    assert_eq!(
        ap.update_keys(),
        Some(&key_set(Suite::Aes128, b"new-update"))
    );
    // A write, then another restart.
    let mut served = PersistentCard::new(reloaded, &path);
    let card = served.card_mut();
    let mut w = open(card, aid, 0x82, Suite::Aes128, b"new-update", true);
    let apdu = w.protect([0x00, 0xD6, 0x81, 0x0D], b"changed", None, Some(true));
    let response = CardSide::process(&mut served, &apdu);
    assert_eq!(&response[response.len() - 2..], OK);
    let reloaded = VirtualCard::from_file(&path).unwrap();
    assert_eq!(&file(&reloaded, aid)[13..20], b"changed");
    assert_eq!(reloaded.description().issuer().unwrap().free_area(), 4096);
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("card.toml")]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn description_round_trips_with_issuer_and_update_keys() {
    let d = description(1234);
    let text = d.to_toml_string().unwrap();
    assert!(text.contains("[issuer]"));
    assert!(text.contains("[ap.update]"));
    assert_eq!(Description::from_toml_str(&text).unwrap(), d);
    let err = Description::from_toml_str(
        "[issuer]\nsuite = \"aes128\"\nk_enc = \"00\"\nk_mac = \"00\"\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("issuer.k_enc"), "{err}");
    let err = Description::from_toml_str(
        "[[ap]]\ntype = \"C\"\naid = \"F001020304\"\nuser_id = \"1234567890125\"\n[ap.update]\nsuite = \"aes128\"\nk_enc = \"00\"\nk_mac = \"00\"\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("update.k_enc"), "{err}");
    assert!(!err.to_string().contains("00\""));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Random lifecycle and write commands under the issuer's and an AP's
        /// update channel never panic, and whatever the card accepted still
        /// makes a valid description (what `--persist` writes back).
        #[test]
        fn random_changes_keep_the_card_valid(
            commands in proptest::collection::vec(
                (prop_oneof![Just(0xE0u8), Just(0xE4), Just(0xCA), Just(0xD6), Just(0xDC)],
                 any::<u8>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..300)),
                1..12),
            template_like in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut card = card();
            let mut t = issuer(&mut card);
            // A template that is almost right, with random contents.
            let mut near = template(b'C', 2, b"\xF0CARDAPC\x09\x09", "1234567890125", b"");
            near.extend_from_slice(&template_like);
            let _ = create(&mut card, &mut t, &near);
            for (ins, p1, p2, data) in &commands {
                let apdu = t.protect([0x00, *ins, *p1, *p2], data, Some(&[0x00]), Some(true));
                let answer = card.process(&apdu);
                prop_assert!(answer.len() >= 2);
                if answer.len() == 2 {
                    // Refused in the clear: the channel is gone; open it again.
                    t = issuer(&mut card);
                } else {
                    let _ = t.unprotect(&answer);
                }
            }
            let mut w = open(&mut card, AID_D, 0x82, Suite::Aes256, b"D-update", true);
            for (_, p1, p2, data) in &commands {
                let apdu = w.protect([0x00, 0xD6, *p1, *p2], data, None, Some(true));
                let answer = card.process(&apdu);
                if answer.len() == 2 {
                    break;
                }
                let _ = w.unprotect(&answer);
            }
            let text = card.snapshot().to_toml_string().unwrap();
            prop_assert_eq!(Description::from_toml_str(&text).unwrap(), card.snapshot());
        }
    }
}
