//! Behaviour of the virtual card beyond the golden transcripts: the status
//! words of PROFILE.md §1 on every error path, secure-channel endings, EF.DIR,
//! and the fault knobs.

// Test helpers below may unwrap and index: a failure is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use cardap::Suite;
use cardap::transport::{Transport, TransportError};
use cardap_sim::SecretKey;
use cardap_sim::{ApDescription, Description, InfoField, VirtualCard};
use common::*;

const AID_C: &[u8] = &[0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x43, 0x00, 0x01];
const AID_A: &[u8] = &[0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x41, 0x00, 0x07];
const AID_D: &[u8] = &[0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x44, 0x00, 0x03];
const A_ENC: [u8; 16] = *b"A-enc-key-16byte";
const A_MAC: [u8; 16] = *b"A-mac-key-16byte";
const D_ENC: [u8; 16] = *b"D-enc-key-16byte";
const D_MAC: [u8; 16] = *b"D-mac-key-16byte";
const OK: [u8; 2] = [0x90, 0x00];

fn description(extended: bool) -> Description {
    Description::builder()
        .extended_length(extended)
        .ap(ApDescription::type_c(AID_C, "1234567890125")
            .with_label("city library")
            .with_info(InfoField::Info1, b"LIB".to_vec())
            .with_info(InfoField::Info3, vec![0x07]))
        .ap(ApDescription::type_a(
            AID_A,
            "2024000000020",
            Suite::TripleDes,
            SecretKey::new(A_ENC),
            SecretKey::new(A_MAC),
        )
        .with_record(b"first".to_vec())
        .with_record(b"second".to_vec())
        .with_record(vec![]))
        .ap(ApDescription::type_d(
            AID_D,
            "2024000000080",
            Suite::Aes128,
            SecretKey::new(D_ENC),
            SecretKey::new(D_MAC),
        )
        .with_label("evacuee")
        .with_data((0u8..200).collect::<Vec<_>>()))
        .build()
        .unwrap()
}

fn card() -> VirtualCard {
    VirtualCard::new(description(true))
}

fn d_file() -> Vec<u8> {
    let mut file = b"2024000000080".to_vec();
    file.extend(0u8..200);
    file.resize(255, 0);
    file
}

fn a_records() -> Vec<u8> {
    let mut out = b"\xC0\x0D2024000000020".to_vec();
    out.extend(b"\xC1\x05first");
    out.extend(b"\xC2\x06second");
    out.extend(b"\xC3\x00");
    out
}

fn open_a(card: &mut VirtualCard) -> Terminal {
    assert_eq!(select(card, AID_A), OK);
    authenticate(card, Suite::TripleDes, &A_ENC, &A_MAC, false)
}

fn open_d(card: &mut VirtualCard) -> Terminal {
    assert_eq!(select(card, AID_D), OK);
    authenticate(card, Suite::Aes128, &D_ENC, &D_MAC, true)
}

fn run(card: &mut VirtualCard, apdu: &str) -> Vec<u8> {
    card.process(&h(apdu))
}

// ---------------------------------------------------------------- transport

#[test]
fn malformed_and_unknown_commands() {
    let mut card = card();
    assert_eq!(card.process(&[]), [0x67, 0x00]);
    assert_eq!(card.process(&[0x00, 0xA4, 0x04]), [0x67, 0x00]);
    assert_eq!(
        run(&mut card, "00A4040C05F0"),
        [0x67, 0x00],
        "Lc beyond data"
    );
    assert_eq!(run(&mut card, "0016000000"), [0x6D, 0x00], "unknown INS");
    assert_eq!(run(&mut card, "80B0000000"), [0x6E, 0x00], "unknown CLA");
    assert_eq!(
        run(&mut card, "04B0000000"),
        [0x6E, 0x00],
        "SM without header auth"
    );
    assert_eq!(card.command_count(), 6);
}

#[test]
fn extended_apdu_when_extended_length_is_off() {
    let mut card = VirtualCard::new(description(false));
    assert_eq!(select(&mut card, AID_C), OK);
    assert_eq!(run(&mut card, "00B08100000000"), [0x67, 0x00]);
    assert_eq!(sw(&run(&mut card, "00B0810000")), OK);
    // With extended length on, the same read is fine.
    let mut card = VirtualCard::new(description(true));
    assert_eq!(select(&mut card, AID_C), OK);
    let answer = run(&mut card, "00B08100000000");
    assert_eq!(answer.len(), 33 + 2);
    assert_eq!(sw(&answer), OK);
}

// ---------------------------------------------------------------- SELECT, EF.DIR

#[test]
fn select_paths() {
    let mut card = card();
    assert_eq!(
        select(&mut card, &[0xF0, 0x43, 0x41, 0x52, 0x44]),
        [0x6A, 0x82]
    );
    assert_eq!(run(&mut card, "00A4040005F043415244"), [0x6A, 0x82]);
    let mut p2_00 = h("00A404000A");
    p2_00.extend_from_slice(AID_C);
    assert_eq!(card.process(&p2_00), OK, "P2 00 answered without FCI");
    assert_eq!(
        run(&mut card, "00A4040405F043415244"),
        [0x6A, 0x86],
        "P2 04"
    );
    assert_eq!(run(&mut card, "00A4050C00"), [0x6A, 0x86], "P1 05");
    assert_eq!(run(&mut card, "00A4020C020002"), [0x6A, 0x82], "unknown EF");
    assert_eq!(
        run(&mut card, "00A4020C03000100"),
        [0x67, 0x00],
        "FID of 3 bytes"
    );
    assert_eq!(run(&mut card, "00A4020C020001"), OK);
    assert_eq!(sw(&run(&mut card, "00B0000000")), OK, "EF 0001 is current");
    // EF.DIR is only under the MF.
    assert_eq!(run(&mut card, "00A4020C022F00"), [0x6A, 0x82]);
    assert_eq!(run(&mut card, "00A4000C"), OK);
    assert_eq!(run(&mut card, "00B0000000"), [0x69, 0x86], "no current EF");
    assert_eq!(run(&mut card, "00A4020C022F00"), OK);
    assert_eq!(run(&mut card, "00A4000C023F00"), OK);
    assert_eq!(
        run(&mut card, "00A4020C020001"),
        [0x6A, 0x82],
        "no AP EF under the MF"
    );
}

#[test]
fn ef_dir_lists_every_ap() {
    let mut card = card();
    let expected = [
        [&h("611A4F0A")[..], AID_C, &h("500C"), b"city library"].concat(),
        [&h("610C4F0A")[..], AID_A].concat(),
        [&h("61154F0A")[..], AID_D, &h("5007"), b"evacuee"].concat(),
    ];
    // SFI 30, one record at a time, until 6A 83.
    for (i, record) in expected.iter().enumerate() {
        let answer = card.process(&[0x00, 0xB2, i as u8 + 1, 0xF4, 0x00]);
        assert_eq!(
            answer,
            [record.clone(), OK.to_vec()].concat(),
            "record {}",
            i + 1
        );
    }
    assert_eq!(run(&mut card, "00B204F400"), [0x6A, 0x83]);
    // All records from 1, on the now current EF (SFI 0).
    let all = run(&mut card, "00B2010500");
    assert_eq!(all, [expected.concat(), OK.to_vec()].concat());
    // From record 2 with an explicit Ne that holds only one whole record.
    let answer = run(&mut card, "00B2020520");
    assert_eq!(answer, [expected[1].clone(), OK.to_vec()].concat());
    // An explicit Ne beyond the record: the record and 62 82.
    let answer = run(&mut card, "00B2020440");
    assert_eq!(answer, [expected[1].clone(), vec![0x62, 0x82]].concat());
    // EF.DIR is a record file: READ BINARY is refused.
    assert_eq!(run(&mut card, "00B0000000"), [0x69, 0x81]);
    assert_eq!(run(&mut card, "00B09E0000"), [0x69, 0x81]);
}

#[test]
fn read_record_parameter_errors() {
    let mut card = card();
    assert_eq!(run(&mut card, "00B200F400"), [0x6A, 0x86], "P1 = 0");
    assert_eq!(run(&mut card, "00B201F600"), [0x6A, 0x86], "mode 110");
    assert_eq!(run(&mut card, "00B201FC00"), [0x6A, 0x86], "SFI 31");
    assert_eq!(
        run(&mut card, "00B2010C00"),
        [0x6A, 0x82],
        "SFI 1 under the MF"
    );
    assert_eq!(run(&mut card, "00B2010400"), [0x69, 0x86], "no current EF");
    assert_eq!(run(&mut card, "00B201F4"), [0x67, 0x00], "no Le");
    assert_eq!(select(&mut card, AID_C), OK);
    assert_eq!(
        run(&mut card, "00B2010C00"),
        [0x69, 0x81],
        "Type C is transparent"
    );
}

// ---------------------------------------------------------------- READ BINARY

#[test]
fn type_c_read_binary_lengths() {
    let mut card = card();
    assert_eq!(select(&mut card, AID_C), OK);
    let file = [
        &b"\xC0\x0D1234567890125\xC1\x03LIB\xC3\x01\x07"[..],
        &[0xFF; 33 - 23],
    ]
    .concat();
    assert_eq!(
        run(&mut card, "00B0810000"),
        [file.clone(), OK.to_vec()].concat()
    );
    // Exactly Ne bytes.
    assert_eq!(run(&mut card, "00B0000005"), [&file[..5], &OK].concat());
    // Explicit Ne beyond the end: the rest and 62 82.
    assert_eq!(
        run(&mut card, "00B0001E10"),
        [&file[30..], &[0x62, 0x82]].concat()
    );
    // "All" from an offset.
    assert_eq!(run(&mut card, "00B0001E00"), [&file[30..], &OK].concat());
    // Offset at or beyond the end.
    assert_eq!(run(&mut card, "00B0002100"), [0x6B, 0x00]);
    assert_eq!(run(&mut card, "00B07FFF00"), [0x6B, 0x00]);
    assert_eq!(run(&mut card, "00B0812100"), [0x6B, 0x00]);
    // P1 with SFI bits wrong, SFI not in this DF, no Le, data in READ BINARY.
    assert_eq!(run(&mut card, "00B0A10000"), [0x6A, 0x86]);
    assert_eq!(run(&mut card, "00B0800000"), [0x6A, 0x86]);
    assert_eq!(run(&mut card, "00B0820000"), [0x6A, 0x82]);
    assert_eq!(run(&mut card, "00B08100"), [0x67, 0x00]);
    assert_eq!(run(&mut card, "00B000000100"), [0x67, 0x00]);
}

#[test]
fn types_a_and_d_refuse_plain_reads() {
    let mut card = card();
    assert_eq!(select(&mut card, AID_A), OK);
    assert_eq!(run(&mut card, "00B2010D00"), [0x69, 0x82]);
    assert_eq!(run(&mut card, "00B0810000"), [0x69, 0x81], "records");
    assert_eq!(select(&mut card, AID_D), OK);
    assert_eq!(run(&mut card, "00B0810000"), [0x69, 0x82]);
    assert_eq!(run(&mut card, "00B2010C00"), [0x69, 0x81], "transparent");
    // A protected command with no channel.
    assert_eq!(
        run(&mut card, "0CB081000D9701008E080102030405060708"),
        [0x69, 0x82]
    );
}

// ---------------------------------------------------------------- authentication

#[test]
fn get_challenge_lengths() {
    let mut card = card();
    assert_eq!(select(&mut card, AID_A), OK);
    assert_eq!(run(&mut card, "0084000007"), [0x67, 0x00]);
    assert_eq!(run(&mut card, "0084000000"), [0x67, 0x00]);
    assert_eq!(run(&mut card, "00840000"), [0x67, 0x00]);
    assert_eq!(run(&mut card, "0084010008"), [0x6A, 0x86]);
    let answer = run(&mut card, "0084000008");
    assert_eq!((answer.len(), sw(&answer)), (10, OK));
}

fn mutual_authenticate_apdu(cryptogram: &[u8]) -> Vec<u8> {
    [&h("0082000028")[..], cryptogram, &[0x28]].concat()
}

#[test]
fn mutual_authenticate_failures() {
    let mut card = card().with_fixed_random(b"RND.ICC1RND.ICC2K.ICC/0123456789".to_vec());
    assert_eq!(select(&mut card, AID_A), OK);
    let good = terminal_cryptogram(
        Suite::TripleDes,
        &A_ENC,
        &A_MAC,
        b"RND.IFD1",
        b"RND.ICC2",
        b"K.IFD/0123456789",
    );
    // Without a preceding GET CHALLENGE.
    assert_eq!(card.process(&mutual_authenticate_apdu(&good)), [0x63, 0x00]);
    // Challenge RND.ICC1, but the cryptogram echoes RND.ICC2.
    assert_eq!(
        run(&mut card, "0084000008"),
        [b"RND.ICC1".to_vec(), OK.to_vec()].concat()
    );
    assert_eq!(card.process(&mutual_authenticate_apdu(&good)), [0x63, 0x00]);
    // Challenge RND.ICC2, but the MAC is wrong.
    assert_eq!(
        run(&mut card, "0084000008"),
        [b"RND.ICC2".to_vec(), OK.to_vec()].concat()
    );
    let mut bad_mac = good.clone();
    bad_mac[39] ^= 1;
    assert_eq!(
        card.process(&mutual_authenticate_apdu(&bad_mac)),
        [0x63, 0x00]
    );
    // The challenge was used up by the failure.
    assert_eq!(card.process(&mutual_authenticate_apdu(&good)), [0x63, 0x00]);
    assert!(!card.secure_channel_open());
    // The fixed randomness is exhausted after K.ICC... here after 16 more bytes.
    assert_eq!(sw(&run(&mut card, "0084000008")), OK, "K.ICC/01");
    assert_eq!(sw(&run(&mut card, "0084000008")), OK, "23456789");
    assert_eq!(run(&mut card, "0084000008"), [0x6F, 0x00]);
}

#[test]
fn mutual_authenticate_on_a_type_c_or_the_mf_fails() {
    let mut card = card();
    let cryptogram = vec![0u8; 40];
    assert_eq!(sw(&run(&mut card, "0084000008")), OK);
    assert_eq!(
        card.process(&mutual_authenticate_apdu(&cryptogram)),
        [0x63, 0x00]
    );
    assert_eq!(select(&mut card, AID_C), OK);
    assert_eq!(sw(&run(&mut card, "0084000008")), OK);
    assert_eq!(
        card.process(&mutual_authenticate_apdu(&cryptogram)),
        [0x63, 0x00]
    );
    assert_eq!(run(&mut card, "0082000028"), [0x67, 0x00], "no data");
    assert_eq!(run(&mut card, "0082010028"), [0x6A, 0x86], "P1 01");
}

#[test]
fn exhausted_randomness_during_authentication() {
    let mut card = card().with_fixed_random(b"RND.ICC1".to_vec());
    assert_eq!(select(&mut card, AID_A), OK);
    assert_eq!(sw(&run(&mut card, "0084000008")), OK);
    let cryptogram = terminal_cryptogram(
        Suite::TripleDes,
        &A_ENC,
        &A_MAC,
        b"RND.IFD1",
        b"RND.ICC1",
        b"K.IFD/0123456789",
    );
    assert_eq!(
        card.process(&mutual_authenticate_apdu(&cryptogram)),
        [0x6F, 0x00]
    );
    assert!(!card.secure_channel_open());
}

// ---------------------------------------------------------------- secure messaging

#[test]
fn type_a_protected_reads() {
    let mut card = card();
    let mut t = open_a(&mut card);
    // All records in one command.
    let answer = card.process(&t.protect([0, 0xB2, 0x01, 0x0D], &[], Some(&[0]), Some(false)));
    assert_eq!(t.unprotect(&answer), (a_records(), OK));
    // One record, then records 3.. (SFI 0 = current EF).
    let answer = card.process(&t.protect([0, 0xB2, 0x02, 0x0C], &[], Some(&[0]), Some(false)));
    assert_eq!(t.unprotect(&answer), (b"\xC1\x05first".to_vec(), OK));
    let answer = card.process(&t.protect([0, 0xB2, 0x03, 0x05], &[], Some(&[0]), Some(false)));
    assert_eq!(t.unprotect(&answer).0, b"\xC2\x06second\xC3\x00");
    // Errors inside the channel are protected: DO99 + DO8E, no data DO.
    let answer = card.process(&t.protect([0, 0xB2, 0x05, 0x0C], &[], Some(&[0]), Some(false)));
    assert_eq!(answer.len(), 4 + 10 + 2);
    assert_eq!(t.unprotect(&answer), (vec![], [0x6A, 0x83]));
    let answer = card.process(&t.protect([0, 0xB0, 0x00, 0x00], &[], Some(&[0]), Some(false)));
    assert_eq!(t.unprotect(&answer), (vec![], [0x69, 0x81]));
    // Extended outer Le and two-byte DO97.
    let answer = card.process(&t.protect([0, 0xB2, 0x01, 0x0D], &[], Some(&[0, 0]), Some(true)));
    assert_eq!(t.unprotect(&answer), (a_records(), OK));
    assert!(card.secure_channel_open());
}

#[test]
fn type_d_protected_reads() {
    let mut card = card();
    let mut t = open_d(&mut card);
    // Whole file with an extended outer Le.
    let answer = card.process(&t.protect([0, 0xB0, 0x81, 0x00], &[], Some(&[0]), Some(true)));
    assert_eq!(t.unprotect(&answer), (d_file(), OK));
    // Short reads by offset.
    let answer = card.process(&t.protect([0, 0xB0, 0x81, 0x00], &[], Some(&[0xDF]), Some(false)));
    assert_eq!(t.unprotect(&answer), (d_file()[..0xDF].to_vec(), OK));
    let answer = card.process(&t.protect([0, 0xB0, 0x00, 0xDF], &[], Some(&[0x40]), Some(false)));
    assert_eq!(
        t.unprotect(&answer),
        (d_file()[0xDF..].to_vec(), [0x62, 0x82])
    );
    let answer = card.process(&t.protect([0, 0xB0, 0x00, 0xFF], &[], Some(&[0]), Some(false)));
    assert_eq!(t.unprotect(&answer), (vec![], [0x6B, 0x00]));
    // A protected SELECT of the EF by file ID keeps the channel.
    let answer = card.process(&t.protect([0, 0xA4, 0x02, 0x0C], &[0x00, 0x01], None, Some(false)));
    assert_eq!(t.unprotect(&answer), (vec![], OK));
    let answer = card.process(&t.protect([0, 0xB0, 0x00, 0x00], &[], Some(&[13]), Some(false)));
    assert_eq!(t.unprotect(&answer), (b"2024000000080".to_vec(), OK));
    assert!(card.secure_channel_open());
}

#[test]
fn protected_255_byte_read_with_short_outer_le_is_67_00() {
    let mut card = card();
    let mut t = open_d(&mut card);
    let answer = card.process(&t.protect([0, 0xB0, 0x81, 0x00], &[], Some(&[0]), Some(false)));
    assert_eq!(answer, [0x67, 0x00]);
    assert!(!card.secure_channel_open(), "67 00 ends the channel");
    let answer = card.process(&t.protect([0, 0xB0, 0x81, 0x00], &[], Some(&[1]), Some(false)));
    assert_eq!(answer, [0x69, 0x82]);
}

#[test]
fn protected_read_without_outer_le_is_67_00() {
    let mut card = card();
    let mut t = open_a(&mut card);
    let answer = card.process(&t.protect([0, 0xB2, 0x01, 0x0C], &[], Some(&[0]), None));
    assert_eq!(answer, [0x67, 0x00]);
    assert!(!card.secure_channel_open());
}

#[test]
fn wrong_mac_is_69_88_and_ends_the_channel() {
    let mut card = card();
    let mut t = open_a(&mut card);
    let mut apdu = t.protect([0, 0xB2, 0x01, 0x0D], &[], Some(&[0]), Some(false));
    let n = apdu.len();
    apdu[n - 2] ^= 0x01;
    assert_eq!(card.process(&apdu), [0x69, 0x88]);
    assert!(!card.secure_channel_open());
    let apdu = t.protect([0, 0xB2, 0x01, 0x0D], &[], Some(&[0]), Some(false));
    assert_eq!(card.process(&apdu), [0x69, 0x82], "no channel any more");
    // A fresh authentication in the same selection opens a new one.
    let mut t = authenticate(&mut card, Suite::TripleDes, &A_ENC, &A_MAC, false);
    let answer = card.process(&t.protect([0, 0xB2, 0x01, 0x0D], &[], Some(&[0]), Some(false)));
    assert_eq!(t.unprotect(&answer).1, OK);
}

#[test]
fn missing_data_objects_are_69_87() {
    let mut card = card();
    let _t = open_a(&mut card);
    // No DO8E.
    assert_eq!(run(&mut card, "0CB2010D0397010000"), [0x69, 0x87]);
    assert!(!card.secure_channel_open());
    // A read without DO97 (properly MACed).
    let mut t2 = authenticate(&mut card, Suite::TripleDes, &A_ENC, &A_MAC, false);
    let apdu = t2.protect([0, 0xB2, 0x01, 0x0D], &[], None, Some(false));
    assert_eq!(card.process(&apdu), [0x69, 0x87]);
    assert!(!card.secure_channel_open());
}

#[test]
fn wrong_data_objects_are_69_88() {
    let mut card = card();
    // DO87 on a Type A (MAC mode) channel, with a valid MAC.
    let mut t = open_a(&mut card);
    t.encrypt = true;
    let apdu = t.protect([0, 0xB0, 0x81, 0x00], &[1, 2, 3], Some(&[0]), Some(false));
    assert_eq!(card.process(&apdu), [0x69, 0x88]);
    assert!(!card.secure_channel_open());
    // DO81 on a Type D channel.
    let mut t = open_d(&mut card);
    t.encrypt = false;
    let apdu = t.protect([0, 0xB0, 0x81, 0x00], &[1, 2, 3], Some(&[0]), Some(false));
    assert_eq!(card.process(&apdu), [0x69, 0x88]);
    // Garbage, an unknown DO, a DO8E that is not last.
    for garbage in [
        "0CB0810003FFFFFF00",
        "0CB081000A85010099029000AABB00",
        "0CB081000D8E080102030405060708970100 00",
    ] {
        let _t = open_d(&mut card);
        assert_eq!(run(&mut card, garbage), [0x69, 0x88], "{garbage}");
        assert!(!card.secure_channel_open());
    }
}

#[test]
fn plain_command_inside_the_channel_ends_it() {
    let mut card = card();
    let mut t = open_a(&mut card);
    assert_eq!(run(&mut card, "00B2010D00"), [0x69, 0x82]);
    assert!(!card.secure_channel_open());
    let apdu = t.protect([0, 0xB2, 0x01, 0x0D], &[], Some(&[0]), Some(false));
    assert_eq!(card.process(&apdu), [0x69, 0x82]);
}

#[test]
fn selecting_another_df_clears_authentication() {
    let mut card = card();
    let mut t = open_d(&mut card);
    // A protected SELECT of a DF is answered under the old channel, then the
    // channel is gone.
    let answer = card.process(&t.protect([0, 0xA4, 0x04, 0x0C], AID_C, None, Some(false)));
    assert_eq!(t.unprotect(&answer), (vec![], OK));
    assert!(!card.secure_channel_open());
    let _t = open_d(&mut card);
    assert_eq!(select(&mut card, AID_A), OK);
    assert!(!card.secure_channel_open());
    assert_eq!(run(&mut card, "00A4000C"), OK);
    assert!(!card.secure_channel_open());
}

#[test]
fn protected_mutual_authenticate_and_get_challenge() {
    let mut card = card();
    let mut t = open_a(&mut card);
    let answer = card.process(&t.protect([0, 0x84, 0, 0], &[], Some(&[8]), Some(false)));
    let (challenge, status) = t.unprotect(&answer);
    assert_eq!((challenge.len(), status), (8, OK));
    let answer = card.process(&t.protect([0, 0x82, 0, 0], &[0; 40], Some(&[40]), Some(false)));
    assert_eq!(t.unprotect(&answer), (vec![], [0x69, 0x85]));
    // GET CHALLENGE with DO97 other than 8: 67 00 in the clear, channel ends.
    let answer = card.process(&t.protect([0, 0x84, 0, 0], &[], Some(&[4]), Some(false)));
    assert_eq!(answer, [0x67, 0x00]);
    assert!(!card.secure_channel_open());
}

// ---------------------------------------------------------------- knobs

#[test]
fn chunked_responses_give_the_same_bytes() {
    let whole = {
        let mut card = card();
        assert_eq!(select(&mut card, AID_C), OK);
        run(&mut card, "00B0810000")
    };
    let mut card = card().chunk_responses(10);
    assert_eq!(select(&mut card, AID_C), OK);
    let mut got = Vec::new();
    let mut answer = run(&mut card, "00B0810000");
    while sw(&answer)[0] == 0x61 {
        got.extend_from_slice(&answer[..answer.len() - 2]);
        let le = sw(&answer)[1];
        answer = card.process(&[0x00, 0xC0, 0x00, 0x00, le]);
    }
    got.extend_from_slice(&answer);
    assert_eq!(got, whole);
    assert_eq!(card.command_count(), 1 + 1 + 3);
    // No response waiting.
    assert_eq!(run(&mut card, "00C0000010"), [0x69, 0x85]);
}

#[test]
fn chunked_protected_response_through_get_response() {
    let mut card = card().chunk_responses(100);
    let mut t = open_d(&mut card);
    let apdu = t.protect([0, 0xB0, 0x81, 0x00], &[], Some(&[0]), Some(true));
    let mut answer = card.process(&apdu);
    assert_eq!(answer.len(), 102);
    assert_eq!(sw(&answer), [0x61, 0xAF]); // 275 - 100 = 175
    let mut whole = answer[..100].to_vec();
    // GET RESPONSE asking for more than the chunk still gets one chunk; the
    // channel survives (GET RESPONSE is not a plain command).
    answer = run(&mut card, "00C0000000");
    assert_eq!((answer.len(), sw(&answer)), (102, [0x61, 0x4B]));
    whole.extend_from_slice(&answer[..100]);
    answer = run(&mut card, "00C000004B");
    whole.extend_from_slice(&answer);
    assert_eq!(t.unprotect(&whole), (d_file(), OK));
    assert!(card.secure_channel_open());
}

#[test]
fn get_response_rules() {
    // Ne smaller than the held-back rest: 61 xx again; P1P2 must be 0.
    let mut card = VirtualCard::new(description(true)).chunk_responses(5);
    assert_eq!(select(&mut card, AID_C), OK);
    let first = run(&mut card, "00B0810000");
    assert_eq!(sw(&first), [0x61, 28]);
    assert_eq!(run(&mut card, "00C0010000"), [0x6A, 0x86]);
    assert_eq!(run(&mut card, "00C00000"), [0x67, 0x00]);
    let next = run(&mut card, "00C0000003");
    assert_eq!((next.len(), sw(&next)), (5, [0x61, 25]));
    // Another command drops what was held back.
    assert_eq!(select(&mut card, AID_C), OK);
    assert_eq!(run(&mut card, "00C0000010"), [0x69, 0x85]);
}

#[test]
fn wrong_le_first_answers_6c() {
    let mut card = card().wrong_le_first(true);
    assert_eq!(select(&mut card, AID_C), OK);
    assert_eq!(run(&mut card, "00B0810000"), [0x6C, 0x21]);
    let answer = run(&mut card, "00B0810021");
    assert_eq!((answer.len(), sw(&answer)), (35, OK));
    assert_eq!(run(&mut card, "00B0001E05"), [0x6C, 0x03]);
    assert_eq!(run(&mut card, "00B0001E03"), [&[0xFF; 3][..], &OK].concat());
    assert_eq!(run(&mut card, "00B0002103"), [0x6B, 0x00]);
}

#[test]
fn removal_loses_every_state() {
    let mut card = card().remove_after(4);
    assert_eq!(select(&mut card, AID_A), OK);
    let mut t = authenticate(&mut card, Suite::TripleDes, &A_ENC, &A_MAC, false);
    let apdu = t.protect([0, 0xB2, 0x01, 0x0D], &[], Some(&[0]), Some(false));
    assert!(card.transmit(&apdu).is_ok());
    assert_eq!(card.command_count(), 4);
    let apdu = t.protect([0, 0xB2, 0x01, 0x0D], &[], Some(&[0]), Some(false));
    assert_eq!(card.transmit(&apdu), Err(TransportError::CardRemoved));
    assert!(card.is_removed());
    assert_eq!(
        card.transmit(&h("00A4000C")),
        Err(TransportError::CardRemoved)
    );
    assert_eq!(card.command_count(), 4, "a removed card receives nothing");
    card.insert();
    assert!(!card.is_removed());
    assert!(!card.secure_channel_open());
    assert_eq!(card.transmit(&apdu).unwrap(), [0x69, 0x82]);
    assert_eq!(card.transmit(&h("00B2010500")).unwrap(), [0x69, 0x86]);
}

#[test]
fn power_off_and_reset_lose_the_session() {
    let mut card = card();
    let _t = open_a(&mut card);
    card.power_off();
    assert!(!card.secure_channel_open());
    assert_eq!(
        run(&mut card, "00B2010500"),
        [0x69, 0x86],
        "MF selected, no EF"
    );
    assert_eq!(
        run(&mut card, "00B2010D00"),
        [0x6A, 0x82],
        "no SFI 1 under the MF"
    );
    let _t = open_a(&mut card);
    assert_eq!(sw(&run(&mut card, "0084000008")), OK);
    card.reset();
    assert!(!card.secure_channel_open());
    assert_eq!(select(&mut card, AID_A), OK);
    assert_eq!(
        card.process(&mutual_authenticate_apdu(&[0; 40])),
        [0x63, 0x00]
    );
}

#[test]
fn command_chaining_is_buffered() {
    let mut card = card();
    let mut part1 = h("10A4040C04");
    part1.extend_from_slice(&AID_C[..4]);
    let mut part2 = h("00A4040C06");
    part2.extend_from_slice(&AID_C[4..]);
    assert_eq!(card.process(&part1), OK);
    assert_eq!(card.process(&part2), OK);
    assert_eq!(sw(&run(&mut card, "00B0810000")), OK, "AP C selected");
    // A chain broken by another instruction.
    assert_eq!(card.process(&part1), OK);
    assert_eq!(run(&mut card, "00B0810000"), [0x68, 0x83]);
}

#[test]
fn debug_output_never_shows_keys() {
    let mut card = card();
    let _t = open_d(&mut card);
    for text in [format!("{card:?}"), format!("{:?}", card.description())] {
        for key in [A_ENC, A_MAC, D_ENC, D_MAC] {
            assert!(!text.contains(&hex::encode(key)), "{text}");
            assert!(!text.contains(&hex::encode_upper(key)), "{text}");
            assert!(!text.contains(&format!("{:?}", &key[..])), "{text}");
            assert!(!text.contains(std::str::from_utf8(&key).unwrap()), "{text}");
        }
    }
}

#[test]
fn protected_get_response_is_an_ordinary_protected_command() {
    let mut card = card();
    let mut t = open_a(&mut card);
    let answer = card.process(&t.protect([0, 0xC0, 0, 0], &[], Some(&[0]), Some(false)));
    assert_eq!(t.unprotect(&answer), (vec![], [0x6D, 0x00]));
    assert!(card.secure_channel_open());
}
