//! The JPKI AP of the virtual card: token, four certificates, two key EFs
//! and two PINs, configured by the `[jpki]` section of a description.

use std::str::FromStr;
use std::time::Duration;

use rsa::pkcs1v15::SigningKey;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::Encode;
use x509_cert::der::asn1::UtcTime;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use super::{CardKey, PinRule, PinSetting, SecretString, load_key, section_error};
use crate::description::{DescriptionError, Problem};

/// AID of the JPKI AP.
pub const JPKI_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// The token of a My Number Card.
pub const DEFAULT_TOKEN: &str = "JPKIAPICCTOKEN2";
/// Bytes of the token EF (the token padded with spaces).
pub(crate) const TOKEN_EF_LEN: usize = 0x20;

const SECTION: &str = "jpki";
/// Validity of the generated certificates: 2025-01-01 to 2049-12-31 (UTC).
const NOT_BEFORE: u64 = 1_735_689_600;
const NOT_AFTER: u64 = 2_524_521_600;

/// One of the four JPKI certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JpkiCertificate {
    /// The authentication certificate (EF `000A`).
    Auth,
    /// The authentication CA certificate (EF `000B`).
    AuthCa,
    /// The signature certificate (EF `0001`, after the signature PIN).
    Sign,
    /// The signature CA certificate (EF `0002`).
    SignCa,
}

/// The JPKI AP of a virtual card (`[jpki]`). `Debug` shows no key or PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpkiDescription {
    pub(crate) token: String,
    pub(crate) auth_pin: PinSetting,
    pub(crate) sign_pin: PinSetting,
    pub(crate) auth_key: CardKey,
    pub(crate) sign_key: CardKey,
    pub(crate) ca_key: CardKey,
    pub(crate) holder: String,
    pub(crate) sfi: bool,
    auth_cert: Vec<u8>,
    auth_ca_cert: Vec<u8>,
    sign_cert: Vec<u8>,
    sign_ca_cert: Vec<u8>,
}

impl JpkiDescription {
    /// The token EF's text (`JPKIAPICCTOKEN2` by default).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A certificate, DER.
    pub fn certificate(&self, which: JpkiCertificate) -> &[u8] {
        match which {
            JpkiCertificate::Auth => &self.auth_cert,
            JpkiCertificate::AuthCa => &self.auth_ca_cert,
            JpkiCertificate::Sign => &self.sign_cert,
            JpkiCertificate::SignCa => &self.sign_ca_cert,
        }
    }

    /// The authentication PIN.
    pub fn auth_pin(&self) -> &PinSetting {
        &self.auth_pin
    }

    /// The signature PIN.
    pub fn sign_pin(&self) -> &PinSetting {
        &self.sign_pin
    }

    /// The authentication key's public half.
    pub fn auth_public_key(&self) -> rsa::RsaPublicKey {
        self.auth_key.public_key()
    }

    /// The signature key's public half.
    pub fn sign_public_key(&self) -> rsa::RsaPublicKey {
        self.sign_key.public_key()
    }

    /// Whether the AP accepts short-file-identifier addressing.
    pub fn sfi(&self) -> bool {
        self.sfi
    }

    /// The token EF: the token padded with spaces to 32 bytes.
    pub(crate) fn token_ef(&self) -> Vec<u8> {
        let mut ef = self.token.as_bytes().to_vec();
        ef.resize(TOKEN_EF_LEN, b' ');
        ef
    }
}

/// The `[jpki]` section as written.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawJpki {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_pin: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_tries_left: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_pin: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_tries_left: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sfi: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_key: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_key: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ca_key: Option<SecretString>,
}

fn fail(key: &str, problem: Problem) -> DescriptionError {
    section_error(SECTION, key, problem)
}

impl RawJpki {
    pub(crate) fn to_typed(&self) -> Result<JpkiDescription, DescriptionError> {
        let token = self.token.clone().unwrap_or_else(|| DEFAULT_TOKEN.into());
        if token.is_empty() || token.len() > TOKEN_EF_LEN || !token.is_ascii() {
            return Err(fail(
                "token",
                Problem::TooLong {
                    max: TOKEN_EF_LEN,
                    got: token.len(),
                },
            ));
        }
        let pin = |name: &str, text: &Option<SecretString>, rule, tries, left| match text {
            None => Err(fail(name, Problem::Missing)),
            Some(text) => {
                let upper = zeroize::Zeroizing::new(text.0.to_ascii_uppercase());
                PinSetting::new(&upper, rule, tries, left).map_err(|(_, p)| fail(name, p))
            }
        };
        let auth_pin = pin(
            "auth_pin",
            &self.auth_pin,
            PinRule::FourDigits,
            3,
            self.auth_tries_left,
        )?;
        let sign_pin = pin(
            "sign_pin",
            &self.sign_pin,
            PinRule::Signature,
            5,
            self.sign_tries_left,
        )?;
        let generate = self.generate.unwrap_or(false);
        let auth_key = load_key(SECTION, "auth_key", self.auth_key.as_ref(), generate)?;
        let sign_key = load_key(SECTION, "sign_key", self.sign_key.as_ref(), generate)?;
        let ca_key = load_key(SECTION, "ca_key", self.ca_key.as_ref(), generate)?;
        let holder = self
            .holder
            .clone()
            .unwrap_or_else(|| "SAMPLE TARO".to_owned());
        let certs = Certificates::build(&auth_key, &sign_key, &ca_key, &holder)
            .map_err(|e| fail("ca_key", Problem::Certificate(e)))?;
        Ok(JpkiDescription {
            token,
            auth_pin,
            sign_pin,
            auth_key,
            sign_key,
            ca_key,
            holder,
            sfi: self.sfi.unwrap_or(true),
            auth_cert: certs.auth,
            auth_ca_cert: certs.auth_ca,
            sign_cert: certs.sign,
            sign_ca_cert: certs.sign_ca,
        })
    }

    pub(crate) fn from_typed(jpki: &JpkiDescription) -> Result<Self, DescriptionError> {
        let pem = |name: &str, key: &CardKey| {
            key.to_pem()
                .map(SecretString)
                .map_err(|problem| fail(name, problem))
        };
        Ok(Self {
            token: Some(jpki.token.clone()),
            auth_pin: Some(SecretString(jpki.auth_pin.value_text().into())),
            auth_tries_left: Some(jpki.auth_pin.tries_left),
            sign_pin: Some(SecretString(jpki.sign_pin.value_text().into())),
            sign_tries_left: Some(jpki.sign_pin.tries_left),
            holder: Some(jpki.holder.clone()),
            sfi: Some(jpki.sfi),
            generate: None,
            auth_key: Some(pem("auth_key", &jpki.auth_key)?),
            sign_key: Some(pem("sign_key", &jpki.sign_key)?),
            ca_key: Some(pem("ca_key", &jpki.ca_key)?),
        })
    }
}

struct Certificates {
    auth: Vec<u8>,
    auth_ca: Vec<u8>,
    sign: Vec<u8>,
    sign_ca: Vec<u8>,
}

/// RFC 4514 text cannot carry these unescaped; the fictitious names lose them.
fn rdn_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' | '#') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

impl Certificates {
    /// Two self-signed CA certificates (authentication, signature) made with
    /// `ca_key`, and the two holder certificates they issue. Deterministic:
    /// the same keys give the same bytes.
    fn build(
        auth_key: &CardKey,
        sign_key: &CardKey,
        ca_key: &CardKey,
        holder: &str,
    ) -> Result<Self, String> {
        let auth_ca_name = "CN=Virtual JPKI Authentication CA,OU=Virtual Card Test Authority,O=cardap sample issuer,L=Chiyoda-ku,ST=Tokyo,C=JP";
        let sign_ca_name = "CN=Virtual JPKI Signature CA,OU=Virtual Card Test Authority,O=cardap sample issuer,L=Chiyoda-ku,ST=Tokyo,C=JP";
        let holder = rdn_safe(holder);
        let auth_ca = certificate(ca_key, ca_key, 1, auth_ca_name, None)?;
        let sign_ca = certificate(ca_key, ca_key, 2, sign_ca_name, None)?;
        let auth = certificate(
            auth_key,
            ca_key,
            0x0100_0001,
            "CN=VIRTUALCARD0001AUTH,OU=Virtual Card Authentication,O=cardap sample issuer,C=JP",
            Some(auth_ca_name),
        )?;
        let sign = certificate(
            sign_key,
            ca_key,
            0x0200_0001,
            &format!(
                "CN={holder},OU=Virtual Card Signature Holder,OU=Fictitious Person for Tests,O=cardap sample issuer,L=Chiyoda-ku,ST=Tokyo,C=JP"
            ),
            Some(sign_ca_name),
        )?;
        Ok(Self {
            auth,
            auth_ca,
            sign,
            sign_ca,
        })
    }
}

fn certificate(
    subject_key: &CardKey,
    issuer_key: &CardKey,
    serial: u32,
    subject: &str,
    issuer: Option<&str>,
) -> Result<Vec<u8>, String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let subject = Name::from_str(subject).map_err(|e| text(&e))?;
    let profile = match issuer {
        None => Profile::Root,
        Some(issuer) => Profile::Leaf {
            issuer: Name::from_str(issuer).map_err(|e| text(&e))?,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
    };
    let time = |secs: u64| {
        UtcTime::from_unix_duration(Duration::from_secs(secs))
            .map(Time::UtcTime)
            .map_err(|e| text(&e))
    };
    let validity = Validity {
        not_before: time(NOT_BEFORE)?,
        not_after: time(NOT_AFTER)?,
    };
    let spki =
        SubjectPublicKeyInfoOwned::from_key(subject_key.public_key()).map_err(|e| text(&e))?;
    let signer = SigningKey::<Sha256>::new(issuer_key.private().clone());
    let serial = SerialNumber::from(serial);
    let builder = CertificateBuilder::new(profile, serial, validity, subject, spki, &signer)
        .map_err(|e| text(&e))?;
    let cert = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| text(&e))?;
    cert.to_der().map_err(|e| text(&e))
}
