//! The library against the virtual card: custom APs driven by `[[read]]`
//! steps, keys held by an external key provider, and the demo card's APs.
#![cfg(test)]

use std::cell::Cell;
use std::path::PathBuf;

use cardap::error::AuthError;
use cardap::{ApType, Card, Error, Profile};
use cardap::{KeyProvider, StaticKeys};
use cardap::{SecretKey, Suite};
use cardap_sim::VirtualCard;
use zeroize::Zeroizing;

fn demo_card() -> VirtualCard {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/cards/demo.toml");
    VirtualCard::from_file(path).unwrap()
}

const D_KEYS: &str = "k_enc = \"404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F\"\n\
                      k_mac = \"606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F\"\n";

#[test]
fn custom_ap_reads_steps_under_encryption() {
    // The demo card's Type D AP read as a custom AP: one binary step by SFI.
    let profile = Profile::from_toml_str(&format!(
        "name = \"custom-d\"\ntype = \"custom\"\naid = \"F0434152444150440003\"\n\
         [auth]\nsuite = \"aes256\"\nsm = \"encrypt\"\n{D_KEYS}\
         [[read]]\nname = \"main\"\nsfi = 1\nkind = \"binary\"\nuser_id_offset = 0\n\
         [[field]]\nname = \"name\"\nsource = \"main\"\noffset = 13\nlength = 20\nencoding = \"utf8\"\n"
    ))
    .unwrap();
    for short in [false, true] {
        let mode = if short {
            cardap::LengthMode::Short
        } else {
            cardap::LengthMode::Auto
        };
        let rec = Card::new(demo_card())
            .with_length_mode(mode)
            .read(&profile)
            .unwrap();
        assert_eq!(rec.ap_type(), ApType::Custom);
        assert_eq!(rec.user_id().as_str(), "3003000000035");
        assert_eq!(rec.field("name").unwrap(), "山田 花子");
        assert_eq!(rec.step("main").unwrap().len(), 255);
    }
}

#[test]
fn custom_ap_reads_records_under_mac_and_files_in_the_clear() {
    let a = Profile::from_toml_str(
        "name = \"custom-a\"\ntype = \"custom\"\naid = \"F0434152444150410007\"\n\
         [auth]\nsuite = \"aes128\"\nsm = \"mac\"\n\
         k_enc = \"000102030405060708090A0B0C0D0E0F\"\nk_mac = \"101112131415161718191A1B1C1D1E1F\"\n\
         [[read]]\nsfi = 1\nkind = \"records\"\nuser_id_offset = 2\n",
    )
    .unwrap();
    let rec = Card::new(demo_card()).read(&a).unwrap();
    assert_eq!(rec.user_id().as_str(), "2007000000029");
    assert!(
        rec.step("sfi1")
            .unwrap()
            .ends_with(&[0xC2, 0x04, 0x20, 0x25, 0x04, 0x01])
    );
    let c = Profile::from_toml_str(
        "name = \"custom-c\"\ntype = \"custom\"\naid = \"F0434152444150430001\"\n\
         [[read]]\nfile = \"0001\"\nkind = \"binary\"\nuser_id_offset = 2\n",
    )
    .unwrap();
    let rec = Card::new(demo_card()).read(&c).unwrap();
    assert_eq!(rec.user_id().as_str(), "1001000000019");
    assert_eq!(rec.step("0001").unwrap().len(), 33);
    // Encrypt mode where the card answers in MAC mode: refused, no data.
    let wrong = Profile::from_toml_str(
        "name = \"wrong-mode\"\ntype = \"custom\"\naid = \"F0434152444150410007\"\n\
         [auth]\nsuite = \"aes128\"\nsm = \"encrypt\"\n\
         k_enc = \"000102030405060708090A0B0C0D0E0F\"\nk_mac = \"101112131415161718191A1B1C1D1E1F\"\n\
         [[read]]\nsfi = 1\nkind = \"records\"\nuser_id_offset = 2\n",
    )
    .unwrap();
    assert!(matches!(
        Card::new(demo_card()).read(&wrong),
        Err(Error::SecureMessaging(_))
    ));
}

/// A key provider standing in for an HSM: it counts what it is asked.
struct CountingHsm {
    inner: StaticKeys,
    calls: Cell<usize>,
}

impl KeyProvider for CountingHsm {
    fn suite(&self) -> Suite {
        self.inner.suite()
    }
    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>, AuthError> {
        self.calls.set(self.calls.get() + 1);
        self.inner.encrypt(data)
    }
    fn decrypt(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        self.calls.set(self.calls.get() + 1);
        self.inner.decrypt(data)
    }
    fn mac(&self, data: &[u8]) -> Result<[u8; 8], AuthError> {
        self.calls.set(self.calls.get() + 1);
        self.inner.mac(data)
    }
}

#[test]
fn keys_can_live_in_an_external_provider() {
    // A profile without keys: the provider holds them.
    let profile = Profile::from_toml_str(
        "name = \"kiosk\"\ntype = \"A\"\naid = \"F0434152444150410007\"\n[auth]\nsuite = \"aes128\"\n",
    )
    .unwrap();
    assert_eq!(
        Card::new(demo_card()).read(&profile).unwrap_err(),
        Error::NoKeys { ap: "kiosk".into() }
    );
    let hsm = CountingHsm {
        inner: StaticKeys::new(
            Suite::Aes128,
            SecretKey::from_hex("000102030405060708090A0B0C0D0E0F").unwrap(),
            SecretKey::from_hex("101112131415161718191A1B1C1D1E1F").unwrap(),
        )
        .unwrap(),
        calls: Cell::new(0),
    };
    let rec = Card::new(demo_card())
        .read_with_keys(&profile, &hsm)
        .unwrap();
    assert_eq!(rec.user_id().as_str(), "2007000000029");
    // E_IFD, M_IFD, M_ICC check, E_ICC decryption.
    assert_eq!(hsm.calls.get(), 4);
}

#[test]
fn a_card_removed_mid_read_returns_nothing_and_the_next_read_works() {
    let profile = Profile::from_file(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/profiles/evacuee.toml"),
    )
    .unwrap();
    for k in 0..4 {
        let card = demo_card().remove_after(k);
        let mut reader = Card::new(card);
        let err = reader.read(&profile).unwrap_err();
        assert!(err.card_state_lost(), "k={k}: {err:?}");
        reader.transport_mut().insert();
        let rec = reader.read(&profile).unwrap();
        assert_eq!(rec.user_id().as_str(), "3003000000035", "k={k}");
        assert_eq!(rec.apdus(), 4);
    }
}
