//! The public APs (JPKI, kenhojo) against the virtual card in process: every
//! operation, the PIN-safety rules, round trips, SFI fallback, and faults at
//! every APDU of every operation.
#![cfg(test)]

use cardap::LengthMode;
use cardap::public::{
    CardKind, Certificate, HashAlg, KenhojoRequest, Pin, PinError, PinFloor, PinKind, Sex,
    SigningKey, public_key_from,
};
use cardap::transport::{Transport, TransportError};
use cardap::{Card, Error};
use cardap_sim::{Description, JPKI_AID, JpkiCertificate, KENHOJO_AID, VirtualCard};
use rsa::Pkcs1v15Sign;
use sha2::Sha256;

const CARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cards/public.toml");

fn text() -> String {
    std::fs::read_to_string(CARD).unwrap()
}

fn card_from(text: &str, extended: bool) -> VirtualCard {
    VirtualCard::new(
        Description::from_toml_str(text)
            .unwrap()
            .with_extended_length(extended),
    )
}

fn card() -> VirtualCard {
    card_from(&text(), true)
}

fn auth_pin() -> Pin {
    Pin::new(PinKind::JpkiAuth, b"1234").unwrap()
}
fn sign_pin() -> Pin {
    Pin::new(PinKind::JpkiSign, b"sample1").unwrap()
}
fn kenhojo_pin() -> Pin {
    Pin::new(PinKind::Kenhojo, b"1234").unwrap()
}

/// Counts the commands the card receives.
fn count<R>(
    aps: &mut Card<VirtualCard>,
    f: impl FnOnce(&mut Card<VirtualCard>) -> R,
) -> (R, usize) {
    let before = aps.transport_mut().command_count();
    let r = f(aps);
    (r, aps.transport_mut().command_count() - before)
}

#[test]
fn info_identifies_the_card_by_token() {
    let mut aps = Card::new(card());
    let info = aps.info().unwrap();
    assert_eq!(info.kind, CardKind::MyNumber);
    assert_eq!(info.token.as_deref(), Some("JPKIAPICCTOKEN2"));
    assert_eq!(info.aps.len(), 1);

    let other = text().replace("token = \"JPKIAPICCTOKEN2\"", "token = \"JPKIAPGPSETOKEN\"");
    let info = Card::new(card_from(&other, true)).info().unwrap();
    assert_eq!(info.kind, CardKind::JpkiOther);
    assert_eq!(info.token.as_deref(), Some("JPKIAPGPSETOKEN"));

    let plain = VirtualCard::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/cards/demo.toml"
    ))
    .unwrap();
    let info = Card::new(plain).info().unwrap();
    assert_eq!(info.kind, CardKind::Unknown);
    assert_eq!(info.token, None);
}

#[test]
fn pin_status_spends_nothing_in_at_most_8_round_trips() {
    let mut aps = Card::new(card());
    let (status, n) = count(&mut aps, |a| a.pin_status().unwrap());
    assert_eq!(
        (status.jpki_auth, status.jpki_sign, status.kenhojo),
        (Some(3), Some(5), Some(3))
    );
    assert!(n <= 8, "{n} round trips");
    let card = aps.into_transport();
    assert_eq!(card.pin_tries_left(&JPKI_AID, 0), Some(3));
    assert_eq!(card.pin_tries_left(&KENHOJO_AID, 0), Some(3));
}

#[test]
fn certificates_with_fewest_round_trips() {
    for extended in [true, false] {
        let c = card_from(&text(), extended);
        let want = c
            .description()
            .jpki()
            .unwrap()
            .certificate(JpkiCertificate::Auth)
            .to_vec();
        let mut aps = Card::new(c);
        let (der, n) = count(&mut aps, |a| {
            a.jpki_certificate(Certificate::Auth, None).unwrap()
        });
        assert_eq!(der, want);
        let bound = if extended {
            3
        } else {
            2 + want.len().div_ceil(256)
        };
        assert!(
            n <= bound,
            "extended {extended}: {n} round trips for {} bytes",
            want.len()
        );
        for which in [Certificate::AuthCa, Certificate::SignCa] {
            let der = aps.jpki_certificate(which, None).unwrap();
            assert_eq!(der.first(), Some(&0x30));
        }
    }
    // Forced short APDUs on an extended card.
    let mut aps = Card::new(card()).with_length_mode(LengthMode::Short);
    let (der, n) = count(&mut aps, |a| {
        a.jpki_certificate(Certificate::Auth, None).unwrap()
    });
    assert!(n <= 2 + der.len().div_ceil(256));
}

#[test]
fn signature_certificate_needs_the_signature_pin() {
    let mut aps = Card::new(card());
    let err = aps.jpki_certificate(Certificate::Sign, None).unwrap_err();
    assert!(matches!(err, Error::Pin(PinError::Malformed { .. })));
    let der = aps
        .jpki_certificate(Certificate::Sign, Some(&sign_pin()))
        .unwrap();
    let want = aps
        .transport_mut()
        .description()
        .jpki()
        .unwrap()
        .certificate(JpkiCertificate::Sign)
        .to_vec();
    assert_eq!(der, want);
}

#[test]
fn signatures_verify_with_the_certificate_keys_in_6_round_trips() {
    let mut aps = Card::new(card());
    let auth_cert = aps.jpki_certificate(Certificate::Auth, None).unwrap();
    let auth_key = public_key_from(&auth_cert).unwrap();
    let sign_cert = aps
        .jpki_certificate(Certificate::Sign, Some(&sign_pin()))
        .unwrap();
    let sign_key = public_key_from(&sign_cert).unwrap();
    for (key, pin, public) in [
        (SigningKey::Auth, auth_pin(), &auth_key),
        (SigningKey::Sign, sign_pin(), &sign_key),
    ] {
        for hash in [
            HashAlg::Sha1,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ] {
            let (sig, n) = count(&mut aps, |a| {
                a.jpki_sign(key, &pin, hash, b"data to sign").unwrap()
            });
            assert_eq!(sig.len(), 256);
            assert!(n <= 6, "{n} round trips");
            let digest = hash.digest(b"data to sign");
            let scheme = match hash {
                HashAlg::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
                HashAlg::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
                HashAlg::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
                HashAlg::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
            };
            public.verify(scheme, &digest, &sig).unwrap();
        }
    }
    // The wrong PIN kind for the key is refused before sending.
    let (r, n) = count(&mut aps, |a| {
        a.jpki_sign(SigningKey::Sign, &auth_pin(), HashAlg::Sha256, b"x")
    });
    assert!(matches!(r, Err(Error::Pin(PinError::Malformed { .. }))));
    assert_eq!(n, 0);
}

#[test]
fn kenhojo_facts_my_number_and_verification() {
    let c = card();
    let signer = c.description().kenhojo().unwrap().signer_public_key();
    let mut aps = Card::new(c);
    let (data, n) = count(&mut aps, |a| {
        a.kenhojo(&kenhojo_pin(), &KenhojoRequest::default())
            .unwrap()
    });
    assert!(n <= 5, "{n} round trips with SFI");
    assert_eq!(data.facts.name(), "見本　太郎");
    assert_eq!(
        data.facts.address(),
        "東京都千代田区霞が関二丁目一番二号　見本ビル三階"
    );
    assert_eq!(data.facts.birth_date().to_string(), "1980-04-01");
    assert_eq!(data.facts.sex(), Sex::Male);
    assert!(data.my_number.is_none());
    assert_eq!(aps.kenhojo_sfi(), Some(true));

    let request = KenhojoRequest {
        my_number: true,
        verify: true,
        verify_key: Some(signer),
    };
    let data = aps.kenhojo(&kenhojo_pin(), &request).unwrap();
    assert_eq!(data.my_number.unwrap().as_str(), "123456789018");
    let v = data.verification.unwrap();
    assert!(v.facts_digest && v.my_number_digest && v.signature);

    // Without a key the signature is not checked; a wrong key is an error.
    let request = KenhojoRequest {
        my_number: false,
        verify: true,
        verify_key: None,
    };
    let v = aps
        .kenhojo(&kenhojo_pin(), &request)
        .unwrap()
        .verification
        .unwrap();
    assert!(v.facts_digest && !v.my_number_digest && !v.signature);
    let other_key = aps
        .transport_mut()
        .description()
        .jpki()
        .unwrap()
        .auth_public_key();
    let request = KenhojoRequest {
        my_number: false,
        verify: true,
        verify_key: Some(other_key),
    };
    assert!(matches!(
        aps.kenhojo(&kenhojo_pin(), &request),
        Err(Error::Verification { .. })
    ));
}

#[test]
fn kenhojo_without_sfi_costs_one_extra_round_trip_once() {
    let no_sfi = text().replace("[kenhojo]\n", "[kenhojo]\nsfi = false\n");
    let mut aps = Card::new(card_from(&no_sfi, true));
    let (status, n) = count(&mut aps, |a| a.pin_status().unwrap());
    assert_eq!(status.kenhojo, Some(3));
    assert!(n <= 8, "pin-status on a card without SFI: {n}");
    let (_, first) = count(&mut aps, |a| {
        a.kenhojo(&kenhojo_pin(), &KenhojoRequest::default())
            .unwrap()
    });
    assert_eq!(aps.kenhojo_sfi(), Some(false));
    let (_, second) = count(&mut aps, |a| {
        a.kenhojo(&kenhojo_pin(), &KenhojoRequest::default())
            .unwrap()
    });
    assert!(second <= 6, "{second} round trips with SELECT EF");
    assert_eq!(first, second + 1);
}

#[test]
fn wrong_pin_floor_and_blocked() {
    let mut aps = Card::new(card());
    let wrong = Pin::new(PinKind::JpkiAuth, b"9999").unwrap();
    let r = aps.jpki_sign(SigningKey::Auth, &wrong, HashAlg::Sha256, b"x");
    assert_eq!(
        r.unwrap_err(),
        Error::Pin(PinError::WrongPin {
            pin: PinKind::JpkiAuth,
            tries_left: Some(2)
        })
    );
    let r = aps.jpki_sign(SigningKey::Auth, &wrong, HashAlg::Sha256, b"x");
    assert!(matches!(
        r,
        Err(Error::Pin(PinError::WrongPin {
            tries_left: Some(1),
            ..
        }))
    ));
    // One try left: refused before VERIFY, even with the right PIN.
    let (r, n) = count(&mut aps, |a| {
        a.jpki_sign(SigningKey::Auth, &auth_pin(), HashAlg::Sha256, b"x")
    });
    assert!(matches!(
        r,
        Err(Error::Pin(PinError::Floor {
            tries_left: 1,
            floor: 1,
            ..
        }))
    ));
    assert_eq!(n, 3, "SELECT AP, SELECT PIN EF, count: no VERIFY");
    assert_eq!(aps.transport_mut().pin_tries_left(&JPKI_AID, 0), Some(1));
    // Explicit opt-in: the last try.
    let mut aps = Card::new(aps.into_transport()).with_pin_floor(PinFloor::ALLOW_LAST_TRY);
    let r = aps.jpki_sign(SigningKey::Auth, &wrong, HashAlg::Sha256, b"x");
    assert!(matches!(
        r,
        Err(Error::Pin(PinError::WrongPin {
            tries_left: Some(0),
            ..
        }))
    ));
    let r = aps.jpki_sign(SigningKey::Auth, &auth_pin(), HashAlg::Sha256, b"x");
    assert_eq!(
        r.unwrap_err(),
        Error::Pin(PinError::Blocked {
            pin: PinKind::JpkiAuth
        })
    );
    assert_eq!(aps.pin_status().unwrap().jpki_auth, Some(0));
}

#[test]
fn malformed_pins_are_refused_before_sending() {
    assert!(Pin::new(PinKind::JpkiAuth, b"12345").is_err());
    assert!(Pin::new(PinKind::JpkiSign, b"abc").is_err());
    assert!(Pin::new(PinKind::Kenhojo, b"abcd").is_err());
}

/// Delivers every command to the card, then fails the exchange at command
/// `fail_at` (counting from 0): the card has acted, the host sees an error.
struct FailAfterDelivery {
    card: VirtualCard,
    sent: usize,
    fail_at: usize,
    mode: Fault,
    verifies: usize,
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The link fails after the card answered.
    LinkAfter,
    /// The card answers garbage (no status word).
    Garbage,
    /// The card is torn away before the command.
    Torn,
}

impl Transport for FailAfterDelivery {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let k = self.sent;
        self.sent += 1;
        if command.get(1) == Some(&0x20) && command.len() > 5 {
            self.verifies += 1;
        }
        if k == self.fail_at {
            match self.mode {
                Fault::LinkAfter => {
                    let _ = self.card.process(command);
                    return Err(TransportError::Interrupted("link failed".into()));
                }
                Fault::Garbage => {
                    let _ = self.card.process(command);
                    return Ok(vec![0x42]);
                }
                Fault::Torn => {
                    self.card.reset();
                    return Err(TransportError::CardRemoved);
                }
            }
        }
        Ok(self.card.process(command))
    }
    fn atr(&self) -> Option<Vec<u8>> {
        Some(self.card.atr())
    }
}

type Op = fn(&mut Card<&mut FailAfterDelivery>) -> Result<(), Error>;

fn ops() -> Vec<(&'static str, Op)> {
    vec![
        ("info", |a| a.info().map(|_| ())),
        ("pin-status", |a| a.pin_status().map(|_| ())),
        ("cert auth", |a| {
            a.jpki_certificate(Certificate::Auth, None).map(|_| ())
        }),
        ("cert sign", |a| {
            a.jpki_certificate(Certificate::Sign, Some(&sign_pin()))
                .map(|_| ())
        }),
        ("sign auth", |a| {
            a.jpki_sign(SigningKey::Auth, &auth_pin(), HashAlg::Sha256, b"d")
                .map(|_| ())
        }),
        ("sign sign", |a| {
            a.jpki_sign(SigningKey::Sign, &sign_pin(), HashAlg::Sha256, b"d")
                .map(|_| ())
        }),
        ("kenhojo", |a| {
            let r = KenhojoRequest {
                my_number: true,
                verify: true,
                verify_key: None,
            };
            a.kenhojo(&kenhojo_pin(), &r).map(|_| ())
        }),
    ]
}

#[test]
fn faults_at_every_apdu_give_typed_errors_and_never_resend_verify() {
    for extended in [true, false] {
        for (name, op) in ops() {
            // How many commands the operation takes when nothing fails.
            let mut clean = FailAfterDelivery {
                card: card_from(&text(), extended),
                sent: 0,
                fail_at: usize::MAX,
                mode: Fault::LinkAfter,
                verifies: 0,
            };
            op(&mut Card::new(&mut clean)).unwrap();
            let total = clean.sent;
            let clean_verifies = clean.verifies;
            for mode in [Fault::LinkAfter, Fault::Garbage, Fault::Torn] {
                for k in 0..total {
                    let mut t = FailAfterDelivery {
                        card: card_from(&text(), extended),
                        sent: 0,
                        fail_at: k,
                        mode,
                        verifies: 0,
                    };
                    let r = op(&mut Card::new(&mut t));
                    assert!(
                        t.verifies <= clean_verifies,
                        "{name} {mode:?} at {k}: VERIFY sent {} times",
                        t.verifies
                    );
                    // A link failure on a read may be recovered (a read is
                    // sent again; a VERIFY never is: counted above); garbage
                    // or a torn card fails the operation, typed, with no data.
                    if !matches!(mode, Fault::LinkAfter) {
                        assert!(r.is_err(), "{name} {mode:?} at {k}: succeeded");
                    }
                    if let Err(e) = &r {
                        assert!(!e.to_string().contains("1234"));
                    }
                    // The next operation on the same card succeeds.
                    t.fail_at = usize::MAX;
                    op(&mut Card::new(&mut t))
                        .unwrap_or_else(|e| panic!("{name} {mode:?} at {k}: next op failed: {e}"));
                }
            }
        }
    }
}

#[test]
fn verify_is_not_resent_after_a_transport_failure_after_delivery() {
    // Fail exactly the VERIFY (command 3: SELECT AP, SELECT EF, count, VERIFY).
    let mut t = FailAfterDelivery {
        card: card(),
        sent: 0,
        fail_at: 3,
        mode: Fault::LinkAfter,
        verifies: 0,
    };
    let wrong = Pin::new(PinKind::JpkiAuth, b"0000").unwrap();
    let r = Card::new(&mut t).jpki_sign(SigningKey::Auth, &wrong, HashAlg::Sha256, b"d");
    assert!(matches!(
        r,
        Err(Error::Transport(TransportError::Interrupted(_)))
    ));
    assert_eq!(t.verifies, 1);
    assert_eq!(t.sent, 4);
    // The card spent exactly one try.
    assert_eq!(t.card.pin_tries_left(&JPKI_AID, 0), Some(2));
}

#[test]
fn traces_never_show_a_pin() {
    use cardap::trace::{Recorder, Redaction};
    let recorder = Recorder::new(card(), Redaction::Secrets);
    let mut aps = Card::new(recorder);
    aps.jpki_sign(SigningKey::Sign, &sign_pin(), HashAlg::Sha256, b"x")
        .unwrap();
    aps.kenhojo(&kenhojo_pin(), &KenhojoRequest::default())
        .unwrap();
    let (_, trace) = aps.into_transport().finish();
    let text = trace.to_text();
    assert!(
        text.contains("0020"),
        "the VERIFY commands are in the trace"
    );
    for pin in ["SAMPLE1", "1234"] {
        assert!(
            !text.contains(&hex::encode_upper(pin)),
            "{pin} in the trace"
        );
    }
}

#[test]
fn generated_keys_make_a_working_card() {
    let generated = "[kenhojo]\npin = \"4321\"\ngenerate = true\n";
    let c = card_from(generated, true);
    let signer = c.description().kenhojo().unwrap().signer_public_key();
    let mut aps = Card::new(c);
    let request = KenhojoRequest {
        my_number: true,
        verify: true,
        verify_key: Some(signer),
    };
    let pin = Pin::new(PinKind::Kenhojo, b"4321").unwrap();
    let data = aps.kenhojo(&pin, &request).unwrap();
    assert!(data.verification.unwrap().signature);
    assert_eq!(aps.info().unwrap().kind, CardKind::Unknown);
}
