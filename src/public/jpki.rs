//! The JPKI AP (public personal authentication): the token, the four
//! certificates and the PKCS#1 v1.5 signature made on the card.

use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// AID of the JPKI AP.
pub const JPKI_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// Token of a My Number Card.
pub const TOKEN_MY_NUMBER_CARD: &str = "JPKIAPICCTOKEN2";
/// EF of the token.
pub(crate) const TOKEN_EF: [u8; 2] = [0x00, 0x06];
/// Bytes read of the token EF.
pub(crate) const TOKEN_LEN: usize = 0x20;

/// One of the JPKI certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Certificate {
    /// Authentication certificate (EF `000A`), readable without PIN.
    Auth,
    /// Its CA (EF `000B`).
    AuthCa,
    /// Signature certificate (EF `0001`), readable after the signature PIN.
    Sign,
    /// Its CA (EF `0002`).
    SignCa,
}

impl Certificate {
    /// The EF holding it.
    pub(crate) fn fid(self) -> [u8; 2] {
        match self {
            Self::Auth => [0x00, 0x0A],
            Self::AuthCa => [0x00, 0x0B],
            Self::Sign => [0x00, 0x01],
            Self::SignCa => [0x00, 0x02],
        }
    }

    /// Whether reading it needs the signature PIN.
    pub fn needs_pin(self) -> bool {
        self == Self::Sign
    }

    /// A name: `auth`, `auth-ca`, `sign`, `sign-ca`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::AuthCa => "auth-ca",
            Self::Sign => "sign",
            Self::SignCa => "sign-ca",
        }
    }
}

/// Which JPKI key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningKey {
    /// The authentication key (EF `0017`), unlocked by the authentication PIN.
    Auth,
    /// The signature key (EF `001A`), unlocked by the signature PIN.
    Sign,
}

impl SigningKey {
    pub(crate) fn fid(self) -> [u8; 2] {
        match self {
            Self::Auth => [0x00, 0x17],
            Self::Sign => [0x00, 0x1A],
        }
    }

    /// The PIN that unlocks it.
    pub fn pin(self) -> super::PinKind {
        match self {
            Self::Auth => super::PinKind::JpkiAuth,
            Self::Sign => super::PinKind::JpkiSign,
        }
    }
}

/// The digest a signature is made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HashAlg {
    /// SHA-1 (only for verifiers that need it).
    Sha1,
    /// SHA-256, the default.
    #[default]
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// From `sha1`, `sha256`, `sha384`, `sha512`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sha1" | "sha-1" => Some(Self::Sha1),
            "sha256" | "sha-256" => Some(Self::Sha256),
            "sha384" | "sha-384" => Some(Self::Sha384),
            "sha512" | "sha-512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Bytes of the digest.
    pub fn len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Never true: every digest has bytes (for clippy's `len` rule).
    pub fn is_empty(self) -> bool {
        false
    }

    /// The DER prefix of a DigestInfo (RFC 8017 §9.2, note 1).
    fn prefix(self) -> &'static [u8] {
        match self {
            Self::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04,
                0x14,
            ],
            Self::Sha256 => &[
                0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Self::Sha384 => &[
                0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Self::Sha512 => &[
                0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => Sha1::digest(data).to_vec(),
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha384 => Sha384::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// The DigestInfo of a digest made with this algorithm; `None` when the
    /// digest has the wrong length.
    pub fn digest_info(self, digest: &[u8]) -> Option<Vec<u8>> {
        if digest.len() != self.len() {
            return None;
        }
        let mut out = self.prefix().to_vec();
        out.extend_from_slice(digest);
        Some(out)
    }
}

/// What the JPKI token says about the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardKind {
    /// A My Number Card (token `JPKIAPICCTOKEN2`).
    MyNumber,
    /// A JPKI card of another form (another token: the older juki card,
    /// smartphone JPKI, …).
    JpkiOther,
    /// No JPKI AP: not a My Number card.
    Unknown,
}

impl CardKind {
    /// `mynumber`, `jpki-other`, `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Self::MyNumber => "mynumber",
            Self::JpkiOther => "jpki-other",
            Self::Unknown => "unknown",
        }
    }
}

/// The token text: the bytes read, without trailing spaces, NULs or `FF`
/// padding (printable ASCII only; anything else becomes `?`).
pub(crate) fn token_text(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | 0x00 | 0xFF))
        .map_or(0, |i| i + 1);
    bytes
        .get(..end)
        .unwrap_or_default()
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_info_prefixes_have_the_der_lengths() {
        for alg in [
            HashAlg::Sha1,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ] {
            let info = alg.digest_info(&alg.digest(b"abc")).unwrap();
            assert_eq!(usize::from(info[1]) + 2, info.len());
            assert_eq!(
                usize::from(*info.get(info.len() - alg.len() - 1).unwrap()),
                alg.len()
            );
        }
        assert!(HashAlg::Sha256.digest_info(&[0; 20]).is_none());
    }

    #[test]
    fn token_trimming() {
        assert_eq!(
            token_text(b"JPKIAPICCTOKEN2                  "),
            "JPKIAPICCTOKEN2"
        );
        assert_eq!(token_text(b"JPKIAPICCTOKEN\0\0\xFF"), "JPKIAPICCTOKEN");
        assert_eq!(token_text(b""), "");
    }
}
