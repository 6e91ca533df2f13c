//! The kenhojo AP of the virtual card (券面事項入力補助: the text of the card
//! face): My Number, the four basic facts, their digests and signature, and
//! the PIN, configured by the `[kenhojo]` section of a description.

use rsa::Pkcs1v15Sign;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{CardKey, PinRule, PinSetting, SecretString, load_key, section_error};
use crate::description::{DescriptionError, Problem};
use crate::tlv::push_do;

/// AID of the kenhojo AP.
pub const KENHOJO_AID: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];

const SECTION: &str = "kenhojo";
/// Digits of a My Number (the last is the check digit).
const MY_NUMBER_LEN: usize = 12;
/// Bytes of EF `0001` (a reader asks for them with `Le = 17`).
const MY_NUMBER_EF_LEN: usize = 17;

/// The sex on the card face (ISO/IEC 5218 codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `1`.
    Male,
    /// `2`.
    Female,
    /// `9`.
    NotApplicable,
}

impl Sex {
    /// The code the card stores (`"1"`, `"2"`, `"9"`).
    pub fn code(self) -> u8 {
        match self {
            Self::Male => b'1',
            Self::Female => b'2',
            Self::NotApplicable => b'9',
        }
    }

    fn from_text(text: &str) -> Option<Self> {
        match text {
            "1" | "male" => Some(Self::Male),
            "2" | "female" => Some(Self::Female),
            "9" | "not_applicable" => Some(Self::NotApplicable),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// The check digit of the first 11 digits of a My Number (the published
/// rule: weights 2–7 then 2–6 from the right, `11 − (sum mod 11)`, 0 when
/// the remainder is 0 or 1). `None` unless `digits` is 11 ASCII digits.
pub fn my_number_check_digit(digits: &[u8]) -> Option<u8> {
    if digits.len() != MY_NUMBER_LEN - 1 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .zip(1u32..)
        .map(|(d, n)| {
            let q = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(d - b'0') * q
        })
        .sum();
    let r = sum % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    u8::try_from(check).ok()
}

/// The kenhojo AP of a virtual card (`[kenhojo]`). `Debug` shows no key, PIN
/// or personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct KenhojoDescription {
    pub(crate) pin: PinSetting,
    name: String,
    address: String,
    birth_date: String,
    sex: Sex,
    my_number: Zeroizing<String>,
    pub(crate) signer_key: CardKey,
    pub(crate) sfi: bool,
}

impl std::fmt::Debug for KenhojoDescription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KenhojoDescription")
            .field("pin", &self.pin)
            .field("sfi", &self.sfi)
            .finish_non_exhaustive()
    }
}

impl KenhojoDescription {
    /// The PIN.
    pub fn pin(&self) -> &PinSetting {
        &self.pin
    }

    /// The name (UTF-8).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address (UTF-8).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The birth date, `YYYYMMDD`.
    pub fn birth_date(&self) -> &str {
        &self.birth_date
    }

    /// The sex.
    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// The My Number (12 digits).
    pub fn my_number(&self) -> &str {
        &self.my_number
    }

    /// The public half of the key that signs EF `0003`.
    pub fn signer_public_key(&self) -> rsa::RsaPublicKey {
        self.signer_key.public_key()
    }

    /// Whether the AP accepts short-file-identifier addressing.
    pub fn sfi(&self) -> bool {
        self.sfi
    }

    /// EF `0001`: `FF 10 0C` and the 12 digits, padded to 17 bytes.
    pub(crate) fn my_number_ef(&self) -> Vec<u8> {
        let mut ef = self.my_number_object();
        ef.resize(MY_NUMBER_EF_LEN, 0xFF);
        ef
    }

    fn my_number_object(&self) -> Vec<u8> {
        let mut object = vec![0xFF, 0x10, 0x0C];
        object.extend_from_slice(self.my_number.as_bytes());
        object
    }

    /// EF `0002`: `FF 20 82 HH LL { DF21 offsets · DF22 name · DF23 address ·
    /// DF24 birth date · DF25 sex }`; the four offsets are those of the DF22
    /// … DF25 objects from the start of the EF.
    pub(crate) fn facts_ef(&self) -> Vec<u8> {
        let header_len = 5; // FF 20 82 HH LL
        let offsets_len = 3 + 8; // DF 21 08 + four offsets
        let mut objects = Vec::new();
        let mut offsets = Vec::with_capacity(8);
        let sex = [self.sex.code()];
        let values: [(u8, &[u8]); 4] = [
            (0x22, self.name.as_bytes()),
            (0x23, self.address.as_bytes()),
            (0x24, self.birth_date.as_bytes()),
            (0x25, &sex),
        ];
        for (tag, value) in values {
            let at = header_len + offsets_len + objects.len();
            offsets.extend_from_slice(&u16::try_from(at).unwrap_or(u16::MAX).to_be_bytes());
            push_two_byte_do(&mut objects, [0xDF, tag], value);
        }
        let mut body = Vec::with_capacity(offsets_len + objects.len());
        push_two_byte_do(&mut body, [0xDF, 0x21], &offsets);
        body.extend_from_slice(&objects);
        let mut ef = vec![0xFF, 0x20, 0x82];
        ef.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
        ef.extend_from_slice(&body);
        ef
    }

    /// EF `0003`: `FF 30 82 HH LL { DF31 SHA-256 of the My Number object ·
    /// DF32 SHA-256 of EF 0002 · DF33 PKCS#1 v1.5 SHA-256 signature over the
    /// DF31 and DF32 values }`.
    pub(crate) fn signature_ef(&self) -> Result<Vec<u8>, String> {
        let h31 = Sha256::digest(self.my_number_object());
        let h32 = Sha256::digest(self.facts_ef());
        let mut signed = Sha256::new();
        signed.update(h31);
        signed.update(h32);
        let signature = self
            .signer_key
            .private()
            .sign(Pkcs1v15Sign::new::<Sha256>(), &signed.finalize())
            .map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        push_two_byte_do(&mut body, [0xDF, 0x31], &h31);
        push_two_byte_do(&mut body, [0xDF, 0x32], &h32);
        push_two_byte_do(&mut body, [0xDF, 0x33], &signature);
        let mut ef = vec![0xFF, 0x30, 0x82];
        ef.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
        ef.extend_from_slice(&body);
        Ok(ef)
    }

    /// EF `0004`: the signer's public key as `7F 21 { 81 modulus · 82 exponent }`.
    pub(crate) fn certificate_ef(&self) -> Vec<u8> {
        use rsa::traits::PublicKeyParts;
        let key = self.signer_key.public_key();
        let mut body = Vec::new();
        let _ = push_do(&mut body, 0x81, &key.n().to_bytes_be());
        let _ = push_do(&mut body, 0x82, &key.e().to_bytes_be());
        let mut ef = Vec::new();
        push_two_byte_do(&mut ef, [0x7F, 0x21], &body);
        ef
    }
}

/// A data object with a two-byte tag and a BER length.
fn push_two_byte_do(out: &mut Vec<u8>, tag: [u8; 2], value: &[u8]) {
    out.extend_from_slice(&tag);
    let len = value.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else if len <= 0xFF {
        out.extend_from_slice(&[0x81, u8::try_from(len).unwrap_or(0)]);
    } else {
        out.push(0x82);
        out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    }
    out.extend_from_slice(value);
}

/// The `[kenhojo]` section as written.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKenhojo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pin: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tries_left: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    my_number: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sfi: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signer_key: Option<SecretString>,
}

fn fail(key: &str, problem: Problem) -> DescriptionError {
    section_error(SECTION, key, problem)
}

/// Longest name or address accepted (bytes of UTF-8).
const TEXT_MAX: usize = 600;

fn valid_date(date: &str) -> bool {
    let b = date.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| date.get(r).and_then(|s| s.parse::<u32>().ok());
    matches!((num(4..6), num(6..8)), (Some(m), Some(d)) if (1..=12).contains(&m) && (1..=31).contains(&d))
}

impl RawKenhojo {
    pub(crate) fn to_typed(&self) -> Result<KenhojoDescription, DescriptionError> {
        let pin = match &self.pin {
            None => return Err(fail("pin", Problem::Missing)),
            Some(text) => PinSetting::new(&text.0, PinRule::FourDigits, 3, self.tries_left)
                .map_err(|(key, p)| fail(if key == "pin" { "pin" } else { "tries_left" }, p))?,
        };
        let text = |key: &str, value: &Option<String>, default: &str| {
            let value = value.clone().unwrap_or_else(|| default.to_owned());
            if value.len() > TEXT_MAX {
                return Err(fail(
                    key,
                    Problem::TooLong {
                        max: TEXT_MAX,
                        got: value.len(),
                    },
                ));
            }
            Ok(value)
        };
        let name = text("name", &self.name, "見本　太郎")?;
        let address = text("address", &self.address, "東京都千代田区霞が関二丁目一番地")?;
        let birth_date = self
            .birth_date
            .clone()
            .unwrap_or_else(|| "19800401".to_owned());
        if !valid_date(&birth_date) {
            return Err(fail("birth_date", Problem::DateFormat));
        }
        let sex = match &self.sex {
            None => Sex::Male,
            Some(s) => {
                Sex::from_text(s).ok_or_else(|| fail("sex", Problem::UnknownSex(s.clone())))?
            }
        };
        let my_number = Zeroizing::new(
            self.my_number
                .as_ref()
                .map_or_else(|| "123456789018".to_owned(), |m| m.0.to_string()),
        );
        let bytes = my_number.as_bytes();
        if bytes.len() != MY_NUMBER_LEN || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(fail("my_number", Problem::MyNumberFormat));
        }
        let (body, last) = bytes.split_at(MY_NUMBER_LEN - 1);
        let expected = my_number_check_digit(body).unwrap_or(0);
        let got = last.first().map_or(0, |d| d - b'0');
        if expected != got {
            return Err(fail(
                "my_number",
                Problem::MyNumberCheckDigit { expected, got },
            ));
        }
        let signer_key = load_key(
            SECTION,
            "signer_key",
            self.signer_key.as_ref(),
            self.generate.unwrap_or(false),
        )?;
        let description = KenhojoDescription {
            pin,
            name,
            address,
            birth_date,
            sex,
            my_number,
            signer_key,
            sfi: self.sfi.unwrap_or(true),
        };
        description
            .signature_ef()
            .map_err(|e| fail("signer_key", Problem::Certificate(e)))?;
        Ok(description)
    }

    pub(crate) fn from_typed(k: &KenhojoDescription) -> Result<Self, DescriptionError> {
        Ok(Self {
            pin: Some(SecretString(k.pin.value_text().into())),
            tries_left: Some(k.pin.tries_left),
            name: Some(k.name.clone()),
            address: Some(k.address.clone()),
            birth_date: Some(k.birth_date.clone()),
            sex: Some(k.sex.name().to_owned()),
            my_number: Some(SecretString(k.my_number.to_string().into())),
            sfi: Some(k.sfi),
            generate: None,
            signer_key: Some(SecretString(
                k.signer_key.to_pem().map_err(|p| fail("signer_key", p))?,
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_of_the_sample_number() {
        assert_eq!(my_number_check_digit(b"12345678901"), Some(8));
        assert_eq!(my_number_check_digit(b"1234567890"), None);
        assert_eq!(my_number_check_digit(b"1234567890A"), None);
    }
}
