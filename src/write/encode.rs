//! Encoding a field's text for a write (`--set FIELD=TEXT`): the inverse of
//! [`crate::fields::decode`].

use crate::profile::Encoding;

/// Encodes `text` as `encoding`. With `length` (Type D fields) the bytes are
/// padded to it with `00` (`FF` after BCD digits) and must fit; without it
/// (info fields of Types A and C) they are exactly the encoded text. The
/// error says what is wrong without echoing the text.
pub fn encode(encoding: Encoding, text: &str, length: Option<usize>) -> Result<Vec<u8>, String> {
    let (mut bytes, filler) = match encoding {
        Encoding::Ascii => {
            if let Some(i) = text.bytes().position(|b| !b.is_ascii()) {
                return Err(format!("byte {i} is not ASCII"));
            }
            (text.as_bytes().to_vec(), 0x00)
        }
        Encoding::Utf8 => (text.as_bytes().to_vec(), 0x00),
        Encoding::ShiftJis => {
            let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(text);
            if had_errors {
                return Err("not representable in Shift_JIS".to_owned());
            }
            (bytes.into_owned(), 0x00)
        }
        Encoding::Bcd => {
            let digits: Vec<u8> = text.bytes().collect();
            if let Some(i) = digits.iter().position(|d| !d.is_ascii_digit()) {
                return Err(format!("character {i} is not a decimal digit"));
            }
            let bytes = digits
                .chunks(2)
                .map(|pair| match pair {
                    [hi, lo] => ((hi - b'0') << 4) | (lo - b'0'),
                    [hi] => ((hi - b'0') << 4) | 0x0F,
                    _ => 0xFF,
                })
                .collect();
            (bytes, 0xFF)
        }
        Encoding::Hex => {
            let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            (
                hex::decode(cleaned).map_err(|_| "not a hex string".to_owned())?,
                0x00,
            )
        }
    };
    if let Some(length) = length {
        if bytes.len() > length {
            return Err(format!(
                "{} bytes encoded, the field holds {length}",
                bytes.len()
            ));
        }
        bytes.resize(length, filler);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::fields::decode;

    #[test]
    fn encodings_round_trip_through_decode() {
        for (encoding, text, length) in [
            (Encoding::Ascii, "STAFF-02", None),
            (Encoding::Ascii, "LIB", Some(6)),
            (Encoding::Utf8, "山田 太郎", Some(20)),
            (Encoding::ShiftJis, "東京", None),
            (Encoding::Bcd, "20260401", None),
            (Encoding::Bcd, "2026041", Some(4)),
            (Encoding::Hex, "0012AB", None),
        ] {
            let bytes = encode(encoding, text, length).unwrap();
            if let Some(length) = length {
                assert_eq!(bytes.len(), length);
            }
            let back = decode(encoding, &bytes).unwrap();
            if encoding == Encoding::Hex {
                assert_eq!(back, text);
            } else {
                assert_eq!(back, text, "{encoding:?}");
            }
        }
        assert_eq!(encode(Encoding::Bcd, "123", None).unwrap(), [0x12, 0x3F]);
        assert!(encode(Encoding::Ascii, "é", None).is_err());
        assert!(encode(Encoding::Bcd, "12a", None).is_err());
        assert!(encode(Encoding::Ascii, "TOO LONG", Some(3)).is_err());
        assert!(encode(Encoding::ShiftJis, "🙂", None).is_err());
    }
}
