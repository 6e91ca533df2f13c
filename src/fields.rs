//! Decoding of info fields into text per a profile's `[[field]]` encodings.

use crate::profile::Encoding;

/// Decodes `bytes` as `encoding`. Text encodings drop trailing `00`/`FF`
/// filler; the error says what is wrong without echoing the data.
pub fn decode(encoding: Encoding, bytes: &[u8]) -> Result<String, String> {
    let trimmed = match bytes.iter().rposition(|&b| b != 0x00 && b != 0xFF) {
        Some(end) => bytes.get(..=end).unwrap_or(bytes),
        None => &[],
    };
    match encoding {
        Encoding::Hex => Ok(hex::encode_upper(bytes)),
        Encoding::Ascii => {
            if let Some(i) = trimmed.iter().position(|b| !b.is_ascii()) {
                return Err(format!("byte {i} is not ASCII"));
            }
            Ok(String::from_utf8_lossy(trimmed).into_owned())
        }
        Encoding::Utf8 => std::str::from_utf8(trimmed)
            .map(str::to_owned)
            .map_err(|e| format!("not UTF-8 at byte {}", e.valid_up_to())),
        Encoding::ShiftJis => {
            let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(trimmed);
            if had_errors {
                Err("not valid Shift_JIS".to_owned())
            } else {
                Ok(text.into_owned())
            }
        }
        Encoding::Bcd => {
            let mut out = String::with_capacity(bytes.len() * 2);
            for (i, nibble) in bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]).enumerate() {
                match nibble {
                    0..=9 => out.push(char::from(b'0' + nibble)),
                    0xF => break,
                    _ => return Err(format!("nibble {i} is not a BCD digit")),
                }
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(decode(Encoding::Ascii, b"LIB\0\0").unwrap(), "LIB");
        assert!(decode(Encoding::Ascii, &[0x41, 0xC3]).is_err());
        assert_eq!(decode(Encoding::Utf8, "避難".as_bytes()).unwrap(), "避難");
        assert_eq!(
            decode(Encoding::ShiftJis, &[0x93, 0x8C, 0x8B, 0x9E]).unwrap(),
            "東京"
        );
        assert_eq!(
            decode(Encoding::Bcd, &[0x20, 0x25, 0x04, 0x1F]).unwrap(),
            "2025041"
        );
        assert!(decode(Encoding::Bcd, &[0x2A]).is_err());
        assert_eq!(decode(Encoding::Hex, &[0x00, 0x12]).unwrap(), "0012");
    }
}
