//! The kenhojo AP (券面事項入力補助: the text of the card face): the four
//! basic facts, the My Number (only on request: its collection is
//! restricted by law), and the check of their digests and signature.

use std::fmt;

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::tlv;

/// AID of the kenhojo AP.
pub const KENHOJO_AID: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
/// Short file identifier (and file ID `00 11`) of the PIN.
pub(crate) const PIN_SFI: u8 = 0x11;
/// EF of the My Number.
pub(crate) const MY_NUMBER_EF: [u8; 2] = [0x00, 0x01];
/// EF of the four facts.
pub(crate) const FACTS_EF: [u8; 2] = [0x00, 0x02];
/// EF of the digests and signature.
pub(crate) const SIGNATURE_EF: [u8; 2] = [0x00, 0x03];
/// `Le` of the My Number read.
pub(crate) const MY_NUMBER_READ: usize = 17;

const AP: &str = "kenhojo";

/// The sex on the card face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `1`.
    Male,
    /// `2`.
    Female,
    /// `9`: not applicable.
    NotApplicable,
}

impl Sex {
    /// `male`, `female`, `not_applicable`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// A calendar date (the birth date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31 (checked against the month).
    pub day: u8,
}

impl Date {
    /// From `YYYYMMDD`.
    pub fn parse_compact(text: &[u8]) -> Option<Self> {
        if text.len() != 8 || !text.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            text.get(r)?
                .iter()
                .try_fold(0u16, |acc, d| Some(acc * 10 + u16::from(d - b'0')))
        };
        let year = num(0..4)?;
        let month = u8::try_from(num(4..6)?).ok()?;
        let day = u8::try_from(num(6..8)?).ok()?;
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days)
            .contains(&day)
            .then_some(Self { year, month, day })
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The four basic facts of the card face. The strings are zeroized on drop;
/// `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct BasicFacts {
    name: String,
    address: String,
    #[zeroize(skip)]
    birth_date: Date,
    #[zeroize(skip)]
    sex: Sex,
}

impl fmt::Debug for BasicFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BasicFacts(<redacted>)")
    }
}

impl BasicFacts {
    /// The name (UTF-8).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The address (UTF-8).
    pub fn address(&self) -> &str {
        &self.address
    }
    /// The birth date.
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }
    /// The sex.
    pub fn sex(&self) -> Sex {
        self.sex
    }
}

/// A My Number: 12 digits, zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct MyNumber(Zeroizing<String>);

impl fmt::Debug for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MyNumber(<redacted>)")
    }
}

impl MyNumber {
    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The outcome of `--verify`: every check made passed (a mismatch is an
/// error, never a result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// DF32 matched the four facts read.
    pub facts_digest: bool,
    /// DF31 matched the My Number (`false`: it was not read, so not checked).
    pub my_number_digest: bool,
    /// DF33 verified with the caller's key (`false`: no key given, not checked).
    pub signature: bool,
}

/// What a kenhojo read returns.
#[derive(Debug, Clone)]
pub struct KenhojoData {
    /// The four facts.
    pub facts: BasicFacts,
    /// The My Number, when asked for.
    pub my_number: Option<MyNumber>,
    /// The checks made, when asked for.
    pub verification: Option<Verification>,
    /// Command APDUs sent.
    pub apdus: usize,
}

/// What to read and check in the kenhojo AP.
#[derive(Debug, Clone, Default)]
pub struct KenhojoRequest {
    /// Read the My Number too.
    pub my_number: bool,
    /// Check the digests (and the signature with `verify_key`).
    pub verify: bool,
    /// The key (or certificate) that signed the digests.
    pub verify_key: Option<RsaPublicKey>,
}

fn malformed(problem: impl Into<String>) -> Error {
    Error::Malformed {
        ap: AP.into(),
        problem: problem.into(),
    }
}

/// The four facts from EF `0002`: `FF 20 L { DF21 offsets · DF22 name · DF23
/// address · DF24 YYYYMMDD · DF25 sex }`. Returns them and the exact bytes
/// of the `FF 20` object (what its digest is over).
pub(crate) fn parse_facts(ef: &[u8]) -> Result<(BasicFacts, &[u8])> {
    let (outer, rest) = tlv::parse_ber(ef)?;
    if outer.tag != 0xFF20 {
        return Err(malformed(format!(
            "EF 0002 starts with tag {:X}, not FF20",
            outer.tag
        )));
    }
    let object = ef.get(..ef.len() - rest.len()).unwrap_or(ef);
    let (mut name, mut address, mut birth, mut sex) = (None, None, None, None);
    for item in tlv::parse_ber_all(outer.value)? {
        match item.tag {
            0xDF22 => name = Some(item.value),
            0xDF23 => address = Some(item.value),
            0xDF24 => birth = Some(item.value),
            0xDF25 => sex = Some(item.value),
            _ => {}
        }
    }
    let text = |v: Option<&[u8]>, what: &str| -> Result<String> {
        let v = v.ok_or_else(|| malformed(format!("no {what}")))?;
        std::str::from_utf8(v)
            .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
            .map_err(|_| malformed(format!("the {what} is not UTF-8")))
    };
    let name = text(name, "name (DF22)")?;
    let address = text(address, "address (DF23)")?;
    let birth = birth.ok_or_else(|| malformed("no birth date (DF24)"))?;
    let birth_date =
        Date::parse_compact(birth).ok_or_else(|| malformed("the birth date is not YYYYMMDD"))?;
    let sex = match sex.ok_or_else(|| malformed("no sex (DF25)"))? {
        b"1" => Sex::Male,
        b"2" => Sex::Female,
        b"9" => Sex::NotApplicable,
        _ => return Err(malformed("the sex code is not 1, 2 or 9")),
    };
    Ok((
        BasicFacts {
            name,
            address,
            birth_date,
            sex,
        },
        object,
    ))
}

/// The My Number from EF `0001`: a 3-byte header, then 12 ASCII digits.
/// The public readers agree on the offsets (digits at bytes 3–14, read with
/// `Le = 17`) but describe the header differently ("private tag 10", `FF 10
/// 0C`), so the header bytes are not checked; the digits are.
pub(crate) fn parse_my_number(ef: &[u8]) -> Result<(MyNumber, &[u8])> {
    let digits = ef
        .get(3..15)
        .filter(|d| d.iter().all(u8::is_ascii_digit))
        .ok_or_else(|| malformed("EF 0001 does not hold 12 digits after its header"))?;
    let object = ef.get(..15).unwrap_or(ef);
    let text = Zeroizing::new(String::from_utf8_lossy(digits).into_owned());
    Ok((MyNumber(text), object))
}

/// Checks EF `0003` (`FF 30 { DF31 · DF32 · DF33 }`) against what was read.
///
/// The public descriptions say DF31 is the SHA-256 "of the My Number" and
/// DF32 "of the four facts" without fixing the byte span; a digest is
/// accepted when it is the SHA-256 of the data object as stored (tag, length
/// and value), of its value, or of the EF bytes read; for DF32 also of the
/// four objects DF22…DF25 or their values concatenated; for DF31 also of
/// the 12 digits alone. Each is a digest of exactly the data returned, so
/// any change to them is caught.
pub(crate) fn verify(
    signature_ef: &[u8],
    facts: (&[u8], &[u8]),
    my_number: Option<(&[u8], &[u8])>,
    key: Option<&RsaPublicKey>,
) -> Result<Verification> {
    let (outer, _) = tlv::parse_ber(signature_ef)?;
    if outer.tag != 0xFF30 {
        return Err(malformed("EF 0003 does not start with FF30"));
    }
    let (mut h31, mut h32, mut sig) = (None, None, None);
    for item in tlv::parse_ber_all(outer.value)? {
        match item.tag {
            0xDF31 => h31 = Some(item.value),
            0xDF32 => h32 = Some(item.value),
            0xDF33 => sig = Some(item.value),
            _ => {}
        }
    }
    let h31 = h31.ok_or_else(|| malformed("EF 0003 has no DF31"))?;
    let h32 = h32.ok_or_else(|| malformed("EF 0003 has no DF32"))?;
    let matches = |digest: &[u8], candidates: &[&[u8]]| {
        candidates.iter().any(|c| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                &Sha256::digest(c)[..],
                digest,
            ))
        })
    };
    let (facts_object, facts_ef) = facts;
    let facts_value = tlv::parse_ber(facts_object)
        .map(|(t, _)| t.value)
        .unwrap_or_default();
    // The four data objects DF22…DF25 as stored, and their values alone.
    let (mut objects, mut values) = (Vec::new(), Vec::new());
    let mut rest = facts_value;
    while let Ok((item, after)) = tlv::parse_ber(rest) {
        if (0xDF22..=0xDF25).contains(&item.tag) {
            objects.extend_from_slice(rest.get(..rest.len() - after.len()).unwrap_or_default());
            values.extend_from_slice(item.value);
        }
        rest = after;
    }
    let (objects, values) = (
        zeroize::Zeroizing::new(objects),
        zeroize::Zeroizing::new(values),
    );
    if !matches(
        h32,
        &[facts_object, facts_value, facts_ef, &objects, &values],
    ) {
        return Err(Error::Verification {
            what: "kenhojo: the digest DF32 does not match the four facts read".into(),
        });
    }
    let mut my_number_digest = false;
    if let Some((object, ef)) = my_number {
        let digits = object.get(3..).unwrap_or_default();
        if !matches(h31, &[object, digits, ef]) {
            return Err(Error::Verification {
                what: "kenhojo: the digest DF31 does not match the My Number read".into(),
            });
        }
        my_number_digest = true;
    }
    let mut signature = false;
    if let Some(key) = key {
        let sig = sig.ok_or_else(|| malformed("EF 0003 has no DF33"))?;
        let mut signed = Sha256::new();
        signed.update(h31);
        signed.update(h32);
        key.verify(Pkcs1v15Sign::new::<Sha256>(), &signed.finalize(), sig)
            .map_err(|_| Error::Verification {
                what: "kenhojo: the signature DF33 does not verify with the key given".into(),
            })?;
        signature = true;
    }
    Ok(Verification {
        facts_digest: true,
        my_number_digest,
        signature,
    })
}

/// An RSA public key from PEM or DER: an X.509 certificate, a
/// SubjectPublicKeyInfo (`PUBLIC KEY`) or a PKCS#1 `RSA PUBLIC KEY`.
pub fn public_key_from(bytes: &[u8]) -> Result<RsaPublicKey> {
    use x509_cert::der::{Decode, DecodePem, Encode};
    let bad = |why: &str| Error::Malformed {
        ap: "verification key".into(),
        problem: why.into(),
    };
    let from_cert = |cert: x509_cert::Certificate| {
        cert.tbs_certificate
            .subject_public_key_info
            .to_der()
            .ok()
            .and_then(|der| RsaPublicKey::from_public_key_der(&der).ok())
    };
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN")
    {
        if let Ok(cert) = x509_cert::Certificate::from_pem(text.trim().as_bytes()) {
            return from_cert(cert).ok_or_else(|| bad("the certificate's key is not RSA"));
        }
        if let Ok(key) = RsaPublicKey::from_public_key_pem(text.trim()) {
            return Ok(key);
        }
        if let Ok(key) = RsaPublicKey::from_pkcs1_pem(text.trim()) {
            return Ok(key);
        }
        return Err(bad("not an RSA public key or certificate in PEM"));
    }
    if let Ok(cert) = x509_cert::Certificate::from_der(bytes) {
        return from_cert(cert).ok_or_else(|| bad("the certificate's key is not RSA"));
    }
    RsaPublicKey::from_public_key_der(bytes)
        .or_else(|_| RsaPublicKey::from_pkcs1_der(bytes))
        .map_err(|_| bad("not an RSA public key or certificate (PEM or DER)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            Date::parse_compact(b"19800401").map(|d| d.to_string()),
            Some("1980-04-01".into())
        );
        assert!(Date::parse_compact(b"19810229").is_none());
        assert!(Date::parse_compact(b"20000229").is_some());
        assert!(Date::parse_compact(b"1980041").is_none());
        assert!(Date::parse_compact(b"19801301").is_none());
    }

    fn facts_ef(name: &str) -> Vec<u8> {
        let mut body = vec![0xDF, 0x21, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        for (tag, v) in [
            (0x22u8, name.as_bytes()),
            (0x23, "東京".as_bytes()),
            (0x24, b"19800401"),
            (0x25, b"2"),
        ] {
            body.extend_from_slice(&[0xDF, tag, u8::try_from(v.len()).unwrap()]);
            body.extend_from_slice(v);
        }
        let mut ef = vec![0xFF, 0x20, 0x82, 0x00, u8::try_from(body.len()).unwrap()];
        ef.extend_from_slice(&body);
        ef
    }

    #[test]
    fn digests_over_the_values_are_checked() {
        let values = ["見本".as_bytes(), "東京".as_bytes(), b"19800401", b"2"].concat();
        let mut sig_ef = vec![0xFF, 0x30, 0x46, 0xDF, 0x31, 0x20];
        sig_ef.extend_from_slice(&Sha256::digest(b"123456789018"));
        sig_ef.extend_from_slice(&[0xDF, 0x32, 0x20]);
        sig_ef.extend_from_slice(&Sha256::digest(&values));
        let number = [&[0xFF, 0x10, 0x0C][..], b"123456789018"].concat();
        let ef = facts_ef("見本");
        let (_, object) = parse_facts(&ef).unwrap();
        let v = verify(&sig_ef, (object, &ef), Some((&number, &number)), None).unwrap();
        assert!(v.facts_digest && v.my_number_digest && !v.signature);
        let other = facts_ef("見木");
        let (_, object) = parse_facts(&other).unwrap();
        assert!(matches!(
            verify(&sig_ef, (object, &other), None, None),
            Err(Error::Verification { .. })
        ));
        let wrong_number = [&[0xFF, 0x10, 0x0C][..], b"123456789026"].concat();
        let (_, object) = parse_facts(&ef).unwrap();
        assert!(matches!(
            verify(
                &sig_ef,
                (object, &ef),
                Some((&wrong_number, &wrong_number)),
                None
            ),
            Err(Error::Verification { .. })
        ));
    }

    #[test]
    fn facts_layout() {
        let mut body = vec![0xDF, 0x21, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        for (tag, v) in [
            (0x22u8, "見本".as_bytes()),
            (0x23, "東京".as_bytes()),
            (0x24, b"19800401"),
            (0x25, b"2"),
        ] {
            body.extend_from_slice(&[0xDF, tag, u8::try_from(v.len()).unwrap()]);
            body.extend_from_slice(v);
        }
        let mut ef = vec![0xFF, 0x20, 0x82, 0x00, u8::try_from(body.len()).unwrap()];
        ef.extend_from_slice(&body);
        let object_len = ef.len();
        ef.extend_from_slice(&[0xFF; 10]);
        let (facts, object) = parse_facts(&ef).unwrap();
        assert_eq!(facts.name(), "見本");
        assert_eq!(facts.sex(), Sex::Female);
        assert_eq!(object.len(), object_len);
        assert!(parse_facts(&ef[..20]).is_err());
    }
}
