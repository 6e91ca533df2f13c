//! The card's own public APs on the virtual card: JPKI (public personal
//! authentication) and kenhojo (券面事項入力補助, the text of the card face),
//! with fictitious contents configured by the `[jpki]` and `[kenhojo]`
//! sections of a description (PROFILE.md §10).
//!
//! The layouts follow the public facts gathered from open-source readers
//! (AIDs, file IDs, PIN rules, the token EF, the kenhojo data objects); the
//! contents (keys, certificates, names, numbers) are generated or configured
//! and belong to no real person.

mod card;
mod jpki;
mod kenhojo;
mod pin;

use std::fmt;

use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::description::{DescriptionError, Problem};

pub(crate) use card::{PublicAps, PublicSession};
pub use jpki::{JPKI_AID, JpkiCertificate};
pub use kenhojo::{KENHOJO_AID, Sex, my_number_check_digit};

/// An RSA-2048 private key of the virtual card. `Debug` shows no key material.
#[derive(Clone, PartialEq, Eq)]
pub struct CardKey(RsaPrivateKey);

impl fmt::Debug for CardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardKey(<redacted>)")
    }
}

/// Bits of every generated key (the JPKI keys are RSA-2048).
const KEY_BITS: usize = 2048;

impl CardKey {
    /// A fresh RSA-2048 key from the OS random source (slow in unoptimized
    /// builds: seconds).
    pub fn generate() -> Result<Self, Problem> {
        let mut rng = rand_core::OsRng;
        RsaPrivateKey::new(&mut rng, KEY_BITS)
            .map(Self)
            .map_err(|e| Problem::BadKey(e.to_string()))
    }

    /// A key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, Problem> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .map_err(|_| Problem::BadKey("not an RSA private key in PKCS#8 PEM".into()))?;
        if key.size() != KEY_BITS / 8 {
            return Err(Problem::BadKey(format!(
                "an RSA-{KEY_BITS} key is needed, got RSA-{}",
                key.size() * 8
            )));
        }
        Ok(Self(key))
    }

    /// The key as PKCS#8 PEM (a secret).
    pub fn to_pem(&self) -> Result<Zeroizing<String>, Problem> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Problem::BadKey(e.to_string()))
    }

    /// The public half.
    pub fn public_key(&self) -> rsa::RsaPublicKey {
        self.0.to_public_key()
    }

    pub(crate) fn private(&self) -> &RsaPrivateKey {
        &self.0
    }
}

/// A PIN of the virtual card: its value, its number of tries and the tries
/// left when the card is made. `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct PinSetting {
    value: Zeroizing<Vec<u8>>,
    tries: u8,
    tries_left: u8,
}

impl fmt::Debug for PinSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinSetting")
            .field("value", &"<redacted>")
            .field("tries", &self.tries)
            .field("tries_left", &self.tries_left)
            .finish()
    }
}

/// The rule a PIN's value follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PinRule {
    /// 4 digits (JPKI authentication, kenhojo).
    FourDigits,
    /// 6 to 16 of A–Z and 0–9 (JPKI signature).
    Signature,
}

impl PinRule {
    fn check(self, value: &[u8]) -> bool {
        match self {
            Self::FourDigits => value.len() == 4 && value.iter().all(u8::is_ascii_digit),
            Self::Signature => {
                (6..=16).contains(&value.len())
                    && value
                        .iter()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            }
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::FourDigits => "4 digits",
            Self::Signature => "6 to 16 characters A-Z and 0-9",
        }
    }
}

impl PinSetting {
    pub(crate) fn new(
        value: &str,
        rule: PinRule,
        tries: u8,
        tries_left: Option<u8>,
    ) -> Result<Self, (&'static str, Problem)> {
        let value = Zeroizing::new(value.as_bytes().to_vec());
        if !rule.check(&value) {
            return Err(("pin", Problem::PinFormat(rule.describe())));
        }
        if !(1..=15).contains(&tries) {
            return Err(("tries", Problem::OutOfRange { min: 1, max: 15 }));
        }
        let tries_left = tries_left.unwrap_or(tries);
        if tries_left > tries {
            return Err((
                "tries_left",
                Problem::OutOfRange {
                    min: 0,
                    max: usize::from(tries),
                },
            ));
        }
        Ok(Self {
            value,
            tries,
            tries_left,
        })
    }

    /// Tries a fresh card allows.
    pub fn tries(&self) -> u8 {
        self.tries
    }

    /// Tries left when the card is made.
    pub fn tries_left(&self) -> u8 {
        self.tries_left
    }

    fn value_text(&self) -> String {
        String::from_utf8_lossy(&self.value).into_owned()
    }
}

/// An error about a key of the `[jpki]` or `[kenhojo]` section.
pub(crate) fn section_error(section: &str, key: &str, problem: Problem) -> DescriptionError {
    DescriptionError::Invalid {
        file: None,
        index: None,
        aid: None,
        key: format!("{section}.{key}"),
        problem,
    }
}

/// A key given inline as PEM, or generated when `generate = true`.
fn load_key(
    section: &str,
    name: &str,
    pem: Option<&SecretString>,
    generate: bool,
) -> Result<CardKey, DescriptionError> {
    match pem {
        Some(pem) => CardKey::from_pem(&pem.0).map_err(|p| section_error(section, name, p)),
        None if generate => CardKey::generate().map_err(|p| section_error(section, name, p)),
        None => Err(section_error(section, name, Problem::Missing)),
    }
}

/// PEM text of a private key: zeroized on drop, never echoed.
#[derive(Deserialize, Serialize)]
#[serde(transparent)]
pub(crate) struct SecretString(Zeroizing<String>);

pub use jpki::JpkiDescription;
pub(crate) use jpki::RawJpki;
pub use kenhojo::KenhojoDescription;
pub(crate) use kenhojo::RawKenhojo;
