//! The public APs (JPKI, kenhojo) facing a card whose answers are arbitrary:
//! card info, PIN status, the certificates and the kenhojo facts, through
//! their TLV and certificate parsers; and the parsers alone (compact dates,
//! RSA public keys). Nothing may panic, and no PIN is sent where none was
//! given.
#![no_main]

use cardap::Card;
use cardap::public::{Certificate, Date, KenhojoRequest, Pin, PinKind, public_key_from};
use cardap_fuzz::Answers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 8 {
        0 => {
            let _ = Date::parse_compact(rest);
            return;
        }
        1 => {
            let _ = public_key_from(rest);
            return;
        }
        _ => {}
    }
    let mut card = Card::new(Answers::new(rest));
    let verify = which & 0x80 != 0;
    let pin_given = matches!(which % 8, 6 | 7);
    let _ = match which % 8 {
        2 => card.info().map(drop),
        3 => card.pin_status().map(drop),
        4 => card.jpki_certificate(Certificate::Auth, None).map(drop),
        5 => card.jpki_certificate(Certificate::SignCa, None).map(drop),
        6 => {
            let pin = Pin::new(PinKind::Kenhojo, b"1234").expect("a valid PIN");
            let request = KenhojoRequest {
                my_number: which & 0x40 != 0,
                verify,
                verify_key: None,
            };
            card.kenhojo(&pin, &request).map(drop)
        }
        _ => {
            let pin = Pin::new(PinKind::JpkiSign, b"ABC123").expect("a valid PIN");
            card.jpki_certificate(Certificate::Sign, Some(&pin))
                .map(drop)
        }
    };
    if !pin_given {
        assert_eq!(
            card.transport().pins_sent,
            0,
            "a PIN sent where none was given"
        );
    }
});
