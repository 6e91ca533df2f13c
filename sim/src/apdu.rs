//! The card's parser of command APDUs (ISO/IEC 7816-4 §5.1: cases 1–4, short
//! and extended length), independent of the host's encoder.

use zeroize::Zeroizing;

/// How the length fields of a command were encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthEncoding {
    /// One-byte `Lc` and `Le`.
    Short,
    /// Three-byte `Lc` and two- or three-byte `Le`.
    Extended,
}

/// A parsed command APDU; its data are wiped on drop.
pub(crate) struct Command {
    pub(crate) cla: u8,
    pub(crate) ins: u8,
    pub(crate) p1: u8,
    pub(crate) p2: u8,
    data: Zeroizing<Vec<u8>>,
    ne: Option<usize>,
}

impl Command {
    /// The data field.
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    /// `Ne` (`Le` 00 is 256 short, 65 536 extended), if there is an `Le`.
    pub(crate) fn ne(&self) -> Option<usize> {
        self.ne
    }

    /// Parses a command APDU; `None` when its lengths do not add up.
    pub(crate) fn parse(bytes: &[u8]) -> Option<(Self, LengthEncoding)> {
        let ([cla, ins, p1, p2], body) = bytes.split_first_chunk::<4>().map(|(h, b)| (*h, b))?;
        let make = |data: &[u8], ne: Option<usize>, encoding| {
            Some((
                Self {
                    cla,
                    ins,
                    p1,
                    p2,
                    data: Zeroizing::new(data.to_vec()),
                    ne,
                },
                encoding,
            ))
        };
        let short_ne = |le: u8| if le == 0 { 256 } else { usize::from(le) };
        let extended_ne = |le: u16| if le == 0 { 65_536 } else { usize::from(le) };
        match body {
            // Case 1.
            [] => make(&[], None, LengthEncoding::Short),
            // Case 2S.
            [le] => make(&[], Some(short_ne(*le)), LengthEncoding::Short),
            // Case 2E: 00 Le1 Le2.
            [0, hi, lo] => make(
                &[],
                Some(extended_ne(u16::from_be_bytes([*hi, *lo]))),
                LengthEncoding::Extended,
            ),
            // Cases 3E and 4E: 00 Lc1 Lc2 data [Le1 Le2].
            [0, hi, lo, tail @ ..] => {
                let nc = usize::from(u16::from_be_bytes([*hi, *lo]));
                if nc == 0 {
                    return None;
                }
                match tail.len().checked_sub(nc)? {
                    0 => make(tail, None, LengthEncoding::Extended),
                    2 => {
                        let (data, le) = tail.split_at_checked(nc)?;
                        let [a, b] = le else { return None };
                        let ne = extended_ne(u16::from_be_bytes([*a, *b]));
                        make(data, Some(ne), LengthEncoding::Extended)
                    }
                    _ => None,
                }
            }
            // Cases 3S and 4S: Lc data [Le].
            [lc, tail @ ..] => {
                let nc = usize::from(*lc);
                match tail.len().checked_sub(nc)? {
                    0 => make(tail, None, LengthEncoding::Short),
                    1 => {
                        let (data, le) = tail.split_at_checked(nc)?;
                        make(data, Some(short_ne(*le.first()?)), LengthEncoding::Short)
                    }
                    _ => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: &str) -> Option<(Vec<u8>, Option<usize>, LengthEncoding)> {
        Command::parse(&hex::decode(h).unwrap()).map(|(c, e)| (c.data().to_vec(), c.ne(), e))
    }

    #[test]
    fn all_cases() {
        use LengthEncoding::{Extended, Short};
        assert_eq!(parse("00A4040C"), Some((vec![], None, Short)));
        assert_eq!(parse("00B0810000"), Some((vec![], Some(256), Short)));
        assert_eq!(
            parse("00B08100000000"),
            Some((vec![], Some(65_536), Extended))
        );
        assert_eq!(parse("00A4020C02011E"), Some((vec![1, 0x1E], None, Short)));
        assert_eq!(
            parse("0082000002AAAA28"),
            Some((vec![0xAA; 2], Some(40), Short))
        );
        assert_eq!(
            parse("0082000000000203040000"),
            Some((vec![3, 4], Some(65_536), Extended))
        );
        assert_eq!(
            parse("00A40000000001FF"),
            Some((vec![0xFF], None, Extended))
        );
        assert_eq!(parse("00A4"), None);
        assert_eq!(parse("00A4040C05F0"), None);
        assert_eq!(parse("00A4040C03AA"), None);
    }
}
