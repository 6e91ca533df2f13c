//! The 13-digit user ID and its check digit (PROFILE.md §3).

use crate::description::Problem;

/// Length of a user ID in bytes (13 ASCII digits).
pub const USER_ID_LEN: usize = 13;

/// The check digit PROFILE.md §3 calls for after the 12 ASCII digits `d1 … d12`:
/// weights 2, 3, 4, 5, 6, 7, 2, 3, … are applied from the rightmost digit (`d12`
/// gets 2) leftwards, `r = s mod 11`, and the digit is `0` if `r <= 1`, else
/// `11 - r`. `None` unless `digits` is exactly 12 ASCII digits.
pub fn user_id_check_digit(digits: &str) -> Option<u8> {
    let bytes = digits.as_bytes();
    if bytes.len() != USER_ID_LEN - 1 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .rev()
        .zip((0u32..).map(|i| 2 + i % 6))
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let r = sum % 11;
    let c = if r <= 1 { 0 } else { 11 - r };
    u8::try_from(c).ok()
}

/// Checks a user ID: 13 ASCII digits whose last is the check digit of §3.
pub fn validate_user_id(user_id: &str) -> Result<(), Problem> {
    let bytes = user_id.as_bytes();
    if bytes.len() != USER_ID_LEN || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(Problem::UserIdFormat);
    }
    let (digits, check) = user_id.split_at(USER_ID_LEN - 1);
    let expected = user_id_check_digit(digits).ok_or(Problem::UserIdFormat)?;
    let got = check
        .bytes()
        .next()
        .map(|b| b - b'0')
        .ok_or(Problem::UserIdFormat)?;
    if got == expected {
        Ok(())
    } else {
        Err(Problem::UserIdCheckDigit { expected, got })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_of_section_3() {
        assert_eq!(user_id_check_digit("123456789012"), Some(5));
        assert_eq!(user_id_check_digit("202400000002"), Some(0));
        assert_eq!(user_id_check_digit("202400000008"), Some(0));
        assert_eq!(user_id_check_digit("12345678901"), None);
        assert_eq!(user_id_check_digit("12345678901a"), None);
        assert!(validate_user_id("1234567890125").is_ok());
        assert_eq!(
            validate_user_id("1234567890123"),
            Err(Problem::UserIdCheckDigit {
                expected: 5,
                got: 3
            })
        );
        assert_eq!(validate_user_id("123456789012"), Err(Problem::UserIdFormat));
        assert_eq!(
            validate_user_id("12345678901２"),
            Err(Problem::UserIdFormat)
        );
    }
}
