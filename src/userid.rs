//! The 13-byte user ID written at loading time (PROFILE.md §3): 12 ASCII digits
//! and a check digit.

/// What is wrong with a user ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserIdError {
    /// Not 13 bytes long.
    #[error("expected 13 bytes, got {0}")]
    Length(usize),
    /// A byte that is not an ASCII digit, at this position.
    #[error("byte {index} is not an ASCII digit")]
    NotDigit {
        /// Zero-based position.
        index: usize,
    },
    /// The check digit does not match.
    #[error("check digit is {found}, the first 12 digits call for {expected}")]
    CheckDigit {
        /// The check digit present.
        found: u8,
        /// The check digit computed.
        expected: u8,
    },
}

/// A validated user ID.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct UserId(String);

impl UserId {
    /// Validates 13 raw bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, UserIdError> {
        let digits: &[u8; 13] = bytes
            .try_into()
            .map_err(|_| UserIdError::Length(bytes.len()))?;
        if let Some(index) = digits.iter().position(|b| !b.is_ascii_digit()) {
            return Err(UserIdError::NotDigit { index });
        }
        let (body, [check]) = digits.split_at(12) else {
            return Err(UserIdError::Length(bytes.len()));
        };
        let expected = check_digit(body).ok_or(UserIdError::Length(bytes.len()))?;
        let found = check - b'0';
        if found != expected {
            return Err(UserIdError::CheckDigit { found, expected });
        }
        Ok(Self(String::from_utf8_lossy(digits).into_owned()))
    }

    /// The 13 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The check digit for 12 ASCII digits `d1 … d12`: weights 2,3,4,5,6,7,2,… from
/// the rightmost digit leftwards, `r = s mod 11`, `c = 0` if `r <= 1` else
/// `11 - r`. `None` unless given exactly 12 ASCII digits.
pub fn check_digit(digits: &[u8]) -> Option<u8> {
    if digits.len() != 12 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let s: u32 = digits
        .iter()
        .rev()
        .zip([2u32, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let r = s % 11;
    Some(if r <= 1 { 0 } else { (11 - r) as u8 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_examples() {
        assert!(UserId::parse(b"1234567890125").is_ok());
        assert!(UserId::parse(b"2024000000020").is_ok());
        assert!(UserId::parse(b"2024000000080").is_ok());
        assert_eq!(
            UserId::parse(b"2024000000021"),
            Err(UserIdError::CheckDigit {
                found: 1,
                expected: 0
            })
        );
        assert_eq!(
            UserId::parse(b"1234567890123"),
            Err(UserIdError::CheckDigit {
                found: 3,
                expected: 5
            })
        );
        assert_eq!(UserId::parse(b"123"), Err(UserIdError::Length(3)));
        assert_eq!(
            UserId::parse(b"12345678901a5"),
            Err(UserIdError::NotDigit { index: 11 })
        );
    }
}
