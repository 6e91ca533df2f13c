//! The virtual card's JPKI and kenhojo APs answering raw APDUs.
#![cfg(test)]

use cardap_sim::{JPKI_AID, JpkiCertificate, KENHOJO_AID, VirtualCard};

fn card() -> VirtualCard {
    VirtualCard::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/cards/public.toml"
    ))
    .unwrap()
}

fn apdu(card: &mut VirtualCard, hex_text: &str) -> (Vec<u8>, u16) {
    let bytes = hex::decode(hex_text.replace(' ', "")).unwrap();
    let mut r = card.process(&bytes);
    let sw = r.split_off(r.len() - 2);
    (r, u16::from_be_bytes([sw[0], sw[1]]))
}

fn select_jpki(card: &mut VirtualCard) {
    let cmd = format!("00A4040C0A{}", hex::encode(JPKI_AID));
    assert_eq!(apdu(card, &cmd).1, 0x9000);
}

#[test]
fn certificates_are_sized_like_real_ones() {
    let c = card();
    let j = c.description().jpki().unwrap();
    for which in [
        JpkiCertificate::Auth,
        JpkiCertificate::AuthCa,
        JpkiCertificate::Sign,
        JpkiCertificate::SignCa,
    ] {
        let n = j.certificate(which).len();
        assert!((900..=1600).contains(&n), "{which:?}: {n} bytes");
    }
}

#[test]
fn token_and_auth_certificate_by_offset() {
    let mut c = card();
    select_jpki(&mut c);
    assert_eq!(apdu(&mut c, "00A4020C020006").1, 0x9000);
    let (token, sw) = apdu(&mut c, "00B0000020");
    assert_eq!(sw, 0x9000);
    assert_eq!(&token[..15], b"JPKIAPICCTOKEN2");
    assert_eq!(apdu(&mut c, "00A4020C02000A").1, 0x9000);
    let (first, sw) = apdu(&mut c, "00B0000000");
    assert_eq!((first.len(), sw), (256, 0x9000));
    let (rest, _) = apdu(&mut c, "00B00100000000");
    let want = c
        .description()
        .jpki()
        .unwrap()
        .certificate(JpkiCertificate::Auth)
        .to_vec();
    assert_eq!([first, rest].concat(), want);
}

#[test]
fn pin_counter_counts_blocks_and_survives_reset() {
    let mut c = card();
    select_jpki(&mut c);
    apdu(&mut c, "00A4020C020018");
    assert_eq!(apdu(&mut c, "0020008000").1, 0x63C3);
    assert_eq!(apdu(&mut c, "002000800431313131").1, 0x63C2);
    assert_eq!(apdu(&mut c, "00200080").1, 0x63C2);
    assert_eq!(apdu(&mut c, "002000800431323334").1, 0x9000);
    assert_eq!(apdu(&mut c, "00200080").1, 0x63C3);
    for left in [0x63C2, 0x63C1, 0x63C0] {
        assert_eq!(apdu(&mut c, "002000800439393939").1, left);
    }
    c.reset();
    select_jpki(&mut c);
    apdu(&mut c, "00A4020C020018");
    assert_eq!(apdu(&mut c, "00200080").1, 0x6984);
    assert_eq!(apdu(&mut c, "002000800431323334").1, 0x6984);
    assert_eq!(c.pin_tries_left(&JPKI_AID, 0), Some(0));
}

#[test]
fn signature_certificate_and_signing_need_their_pin() {
    let mut c = card();
    select_jpki(&mut c);
    assert_eq!(apdu(&mut c, "00A4020C020001").1, 0x9000);
    assert_eq!(apdu(&mut c, "00B0000004").1, 0x6982);
    apdu(&mut c, "00A4020C02001A");
    let sign = "802A0080233021300906052B0E03021A0500041400112233445566778899AABBCCDDEEFF0011223300";
    assert_eq!(apdu(&mut c, sign).1, 0x6982);
    // VERIFY the signature PIN by SFI 1B.
    assert_eq!(
        apdu(&mut c, &format!("0020009B07{}", hex::encode("SAMPLE1"))).1,
        0x9000
    );
    apdu(&mut c, "00A4020C02001A");
    let (sig, sw) = apdu(&mut c, sign);
    assert_eq!((sig.len(), sw), (256, 0x9000));
    assert_eq!(apdu(&mut c, "00B0810004").1, 0x9000);
    // Another DF selection loses the PIN state.
    select_jpki(&mut c);
    assert_eq!(apdu(&mut c, "00B0810004").1, 0x6982);
}

#[test]
fn kenhojo_files_after_pin_by_sfi() {
    let mut c = card();
    let cmd = format!("00A4040C0A{}", hex::encode(KENHOJO_AID));
    assert_eq!(apdu(&mut c, &cmd).1, 0x9000);
    assert_eq!(apdu(&mut c, "00B0820000").1, 0x6982);
    assert_eq!(apdu(&mut c, "00200091").1, 0x63C3);
    assert_eq!(apdu(&mut c, "002000910431323334").1, 0x9000);
    let (mn, sw) = apdu(&mut c, "00B0810011");
    assert_eq!(sw, 0x9000);
    assert_eq!(&mn[3..15], b"123456789018");
    let (facts, sw) = apdu(&mut c, "00B08200000000");
    assert_eq!(sw, 0x9000);
    assert_eq!(&facts[..3], &[0xFF, 0x20, 0x82]);
    let name = "見本　太郎".as_bytes();
    assert!(facts.windows(name.len()).any(|w| w == name));
}

#[test]
fn sfi_can_be_refused() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/cards/public.toml"
    ))
    .unwrap()
    .replace("[kenhojo]\n", "[kenhojo]\nsfi = false\n");
    let mut c = VirtualCard::from_toml_str(&text).unwrap();
    let cmd = format!("00A4040C0A{}", hex::encode(KENHOJO_AID));
    apdu(&mut c, &cmd);
    assert_eq!(apdu(&mut c, "00200091").1, 0x6A86);
    assert_eq!(apdu(&mut c, "00B0820000").1, 0x6A86);
    apdu(&mut c, "00A4020C020011");
    assert_eq!(apdu(&mut c, "00200080").1, 0x63C3);
}

#[test]
fn description_round_trips_through_toml() {
    let c = card();
    let text = c.description().to_toml_string().unwrap();
    let again = cardap_sim::Description::from_toml_str(&text).unwrap();
    assert_eq!(&again, c.description());
}

#[test]
fn bad_sections_are_named_errors() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/cards/public.toml"
    ))
    .unwrap();
    for (from, to, key) in [
        (
            "my_number = \"123456789018\"",
            "my_number = \"123456789019\"",
            "kenhojo.my_number",
        ),
        (
            "auth_pin = \"1234\"",
            "auth_pin = \"12345\"",
            "jpki.auth_pin",
        ),
        (
            "sign_pin = \"SAMPLE1\"",
            "sign_pin = \"S-1\"",
            "jpki.sign_pin",
        ),
        (
            "birth_date = \"19800401\"",
            "birth_date = \"1980-04-01\"",
            "kenhojo.birth_date",
        ),
        ("sex = \"male\"", "sex = \"x\"", "kenhojo.sex"),
    ] {
        let e = cardap_sim::Description::from_toml_str(&text.replace(from, to)).unwrap_err();
        assert_eq!(e.key(), Some(key), "{e}");
        assert!(!e.to_string().contains("1234"), "{e}");
    }
}
