//! PINs of the card's public APs and the safety rules every caller gets:
//! the format is checked before anything is sent, the retry count is read
//! without spending a try, a VERIFY is refused when the tries left are at or
//! below a floor (1 by default: the last try is never used unless the caller
//! asks), and a VERIFY is never sent twice.

use std::fmt;

use zeroize::Zeroizing;

/// Which PIN of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinKind {
    /// JPKI authentication PIN (EF `0018`): 4 digits, 3 tries.
    JpkiAuth,
    /// JPKI signature PIN (EF `001B`): 6–16 of A–Z and 0–9, 5 tries.
    JpkiSign,
    /// kenhojo PIN (EF `0011`): 4 digits, 3 tries.
    Kenhojo,
}

impl PinKind {
    /// A short name: `jpki_auth`, `jpki_sign`, `kenhojo`.
    pub fn name(self) -> &'static str {
        match self {
            Self::JpkiAuth => "jpki_auth",
            Self::JpkiSign => "jpki_sign",
            Self::Kenhojo => "kenhojo",
        }
    }

    /// What the card's PIN EF is (file ID).
    pub(crate) fn fid(self) -> [u8; 2] {
        match self {
            Self::JpkiAuth => [0x00, 0x18],
            Self::JpkiSign => [0x00, 0x1B],
            Self::Kenhojo => [0x00, 0x11],
        }
    }

    /// The rule its value follows, in words.
    pub fn rule(self) -> &'static str {
        match self {
            Self::JpkiAuth | Self::Kenhojo => "4 digits",
            Self::JpkiSign => "6 to 16 characters A-Z and 0-9",
        }
    }
}

impl fmt::Display for PinKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::JpkiAuth => "JPKI authentication PIN",
            Self::JpkiSign => "JPKI signature PIN",
            Self::Kenhojo => "kenhojo PIN",
        })
    }
}

/// A PIN failure. None of them carries the PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// The card refused the PIN; `tries_left` as the card said (`None`: it
    /// did not say).
    #[error("wrong {pin}: {}", tries_text(*tries_left))]
    WrongPin {
        /// The PIN.
        pin: PinKind,
        /// Tries left.
        tries_left: Option<u8>,
    },
    /// The PIN is blocked (`69 84`/`69 83`, or no try left): only the
    /// issuer (the municipal office) can reset it.
    #[error("{pin} is blocked (no try left): it can only be reset at the municipal office")]
    Blocked {
        /// The PIN.
        pin: PinKind,
    },
    /// The PIN given breaks the card's rule; nothing was sent.
    #[error("malformed {pin}: it must be {} (nothing was sent to the card)", pin.rule())]
    Malformed {
        /// The PIN.
        pin: PinKind,
    },
    /// Refused before sending: the tries left are at or below the floor.
    #[error(
        "{pin}: {tries_left} {} left, at or below the safety floor of {floor}: not tried (allow the last try explicitly to go on)",
        if *tries_left == 1 { "try" } else { "tries" }
    )]
    Floor {
        /// The PIN.
        pin: PinKind,
        /// Tries left on the card.
        tries_left: u8,
        /// The floor in force.
        floor: u8,
    },
}

fn tries_text(tries: Option<u8>) -> String {
    match tries {
        Some(0) => "0 tries left, the PIN is now blocked".into(),
        Some(1) => "1 try left".into(),
        Some(n) => format!("{n} tries left"),
        None => "the card did not say how many tries are left".into(),
    }
}

impl PinError {
    /// The PIN concerned.
    pub fn pin(&self) -> PinKind {
        match self {
            Self::WrongPin { pin, .. }
            | Self::Blocked { pin }
            | Self::Malformed { pin }
            | Self::Floor { pin, .. } => *pin,
        }
    }
}

/// A PIN value checked against its rule (the signature PIN upper-cased).
/// The bytes are zeroized on drop; `Debug` shows only the kind.
#[derive(Clone)]
pub struct Pin {
    kind: PinKind,
    value: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pin")
            .field("kind", &self.kind)
            .field("value", &"<redacted>")
            .finish()
    }
}

impl Pin {
    /// Checks `value` against the rule of `kind`: 4 ASCII digits for the
    /// authentication and kenhojo PINs; 6–16 of A–Z and 0–9 for the signature
    /// PIN (lower case is upper-cased). Anything else is
    /// [`PinError::Malformed`].
    pub fn new(kind: PinKind, value: &[u8]) -> Result<Self, PinError> {
        let mut value = Zeroizing::new(value.to_vec());
        let ok = match kind {
            PinKind::JpkiAuth | PinKind::Kenhojo => {
                value.len() == 4 && value.iter().all(u8::is_ascii_digit)
            }
            PinKind::JpkiSign => {
                value.make_ascii_uppercase();
                (6..=16).contains(&value.len())
                    && value
                        .iter()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            }
        };
        if ok {
            Ok(Self { kind, value })
        } else {
            Err(PinError::Malformed { pin: kind })
        }
    }

    /// Which PIN.
    pub fn kind(&self) -> PinKind {
        self.kind
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.value
    }
}

/// The tries a VERIFY must leave untouched: a VERIFY is refused when the
/// tries left are at or below the floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinFloor(u8);

impl Default for PinFloor {
    /// 1: the last try is never used.
    fn default() -> Self {
        Self(1)
    }
}

impl PinFloor {
    /// The default floor (1).
    pub const SAFE: Self = Self(1);
    /// Floor 0: the last try may be used (explicit opt-in).
    pub const ALLOW_LAST_TRY: Self = Self(0);

    /// A floor of `n` tries.
    pub fn new(n: u8) -> Self {
        Self(n)
    }

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }

    /// `Ok` when a VERIFY may be sent with `tries_left`.
    pub(crate) fn check(self, pin: PinKind, tries_left: u8) -> Result<(), PinError> {
        if tries_left == 0 {
            Err(PinError::Blocked { pin })
        } else if tries_left <= self.0 {
            Err(PinError::Floor {
                pin,
                tries_left,
                floor: self.0,
            })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_and_upper_case() {
        assert!(Pin::new(PinKind::JpkiAuth, b"1234").is_ok());
        for bad in [&b"123"[..], b"12345", b"12a4", b""] {
            assert_eq!(
                Pin::new(PinKind::Kenhojo, bad).unwrap_err(),
                PinError::Malformed {
                    pin: PinKind::Kenhojo
                }
            );
        }
        let pin = Pin::new(PinKind::JpkiSign, b"abc123").unwrap();
        assert_eq!(pin.bytes(), b"ABC123");
        for bad in [&b"ABC12"[..], b"ABC-123", b"ABCDEFGHIJKLMNOPQ"] {
            assert!(Pin::new(PinKind::JpkiSign, bad).is_err());
        }
        assert!(!format!("{pin:?}").contains("ABC"));
    }

    #[test]
    fn floor() {
        let f = PinFloor::default();
        assert!(f.check(PinKind::JpkiAuth, 2).is_ok());
        assert!(matches!(
            f.check(PinKind::JpkiAuth, 1),
            Err(PinError::Floor { tries_left: 1, .. })
        ));
        assert!(PinFloor::ALLOW_LAST_TRY.check(PinKind::JpkiAuth, 1).is_ok());
        assert_eq!(
            PinFloor::ALLOW_LAST_TRY.check(PinKind::JpkiAuth, 0),
            Err(PinError::Blocked {
                pin: PinKind::JpkiAuth
            })
        );
    }
}
