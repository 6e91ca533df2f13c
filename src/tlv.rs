//! BER-TLV (ISO/IEC 8825-1 as ISO/IEC 7816-4 §5.2 uses it) and simple TLV
//! (ISO/IEC 7816-4 §5.2.1), parsed with `nom`.

use nom::IResult;
use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16};

/// A malformed TLV structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlvError {
    /// The input ended inside a tag, a length or a value.
    #[error("TLV truncated at byte {offset}")]
    Truncated {
        /// Offset where parsing stopped.
        offset: usize,
    },
    /// A value too long for a BER length of at most three bytes.
    #[error("a value of {len} bytes is too long to encode")]
    TooLong {
        /// The value's length.
        len: usize,
    },
    /// A tag longer than 3 bytes or a length form not allowed here.
    #[error("unsupported TLV encoding at byte {offset}: {what}")]
    Unsupported {
        /// Offset of the object.
        offset: usize,
        /// What is unsupported.
        what: &'static str,
    },
}

/// One data object: its tag (1–3 bytes, as an integer) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// Tag bytes as a big-endian integer (`0x5F24`, `0x87`).
    pub tag: u32,
    /// The value.
    pub value: &'a [u8],
}

type NomErr<'a> = nom::error::Error<&'a [u8]>;

fn ber_tag(input: &[u8]) -> IResult<&[u8], u32, NomErr<'_>> {
    let (mut rest, first) = be_u8(input)?;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        // Subsequent bytes while b8 is set; at most two more.
        for _ in 0..2 {
            let (r, b) = be_u8(rest)?;
            rest = r;
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                return Ok((rest, tag));
            }
        }
        return Err(nom::Err::Failure(nom::error::Error::new(
            input,
            nom::error::ErrorKind::TooLarge,
        )));
    }
    Ok((rest, tag))
}

fn ber_len(input: &[u8]) -> IResult<&[u8], usize, NomErr<'_>> {
    let (rest, first) = be_u8(input)?;
    match first {
        0x00..=0x7F => Ok((rest, usize::from(first))),
        0x81 => be_u8(rest).map(|(r, n)| (r, usize::from(n))),
        0x82 => be_u16(rest).map(|(r, n)| (r, usize::from(n))),
        0x83 => {
            let (r, b) = take(3usize).parse(rest)?;
            let n = b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
            Ok((r, n))
        }
        _ => Err(nom::Err::Failure(nom::error::Error::new(
            input,
            nom::error::ErrorKind::LengthValue,
        ))),
    }
}

fn ber_object(input: &[u8]) -> IResult<&[u8], Tlv<'_>, NomErr<'_>> {
    let (rest, tag) = ber_tag(input)?;
    let (rest, len) = ber_len(rest)?;
    let (rest, value) = take(len).parse(rest)?;
    Ok((rest, Tlv { tag, value }))
}

fn to_error(whole: &[u8], e: nom::Err<NomErr<'_>>) -> TlvError {
    match e {
        nom::Err::Incomplete(_) => TlvError::Truncated {
            offset: whole.len(),
        },
        nom::Err::Error(inner) | nom::Err::Failure(inner) => {
            let offset = whole.len().saturating_sub(inner.input.len());
            match inner.code {
                nom::error::ErrorKind::TooLarge => TlvError::Unsupported {
                    offset,
                    what: "tag longer than 3 bytes",
                },
                nom::error::ErrorKind::LengthValue => TlvError::Unsupported {
                    offset,
                    what: "length form",
                },
                _ => TlvError::Truncated { offset },
            }
        }
    }
}

/// Parses one BER-TLV object, returning it and what follows.
pub fn parse_ber(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    ber_object(input)
        .map(|(rest, tlv)| (tlv, rest))
        .map_err(|e| to_error(input, e))
}

/// Parses a sequence of BER-TLV objects filling the whole input.
pub fn parse_ber_all(input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (r, tlv) = ber_object(rest).map_err(|e| {
            let err = to_error(rest, e);
            shift(err, input.len() - rest.len())
        })?;
        out.push(tlv);
        rest = r;
    }
    Ok(out)
}

fn shift(err: TlvError, by: usize) -> TlvError {
    match err {
        TlvError::Truncated { offset } => TlvError::Truncated {
            offset: offset + by,
        },
        TlvError::Unsupported { offset, what } => TlvError::Unsupported {
            offset: offset + by,
            what,
        },
        other @ TlvError::TooLong { .. } => other,
    }
}

/// Appends a BER length in its shortest form (at most `83 L1 L2 L3`).
pub fn encode_len(len: usize, out: &mut Vec<u8>) -> Result<(), TlvError> {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => {
            out.push(0x82);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            let [_, a, b, c] = (len as u32).to_be_bytes();
            out.extend_from_slice(&[0x83, a, b, c]);
        }
        _ => return Err(TlvError::TooLong { len }),
    }
    Ok(())
}

/// Appends one BER-TLV object (tag of 1–3 bytes as an integer).
pub fn push_ber(out: &mut Vec<u8>, tag: u32, value: &[u8]) -> Result<(), TlvError> {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|&&b| b == 0).count();
    out.extend_from_slice(bytes.get(skip..).unwrap_or(&bytes));
    encode_len(value.len(), out)?;
    out.extend_from_slice(value);
    Ok(())
}

/// Encodes one BER-TLV object (tag of 1–3 bytes as an integer).
#[cfg(test)]
pub fn encode_ber(tag: u32, value: &[u8]) -> Result<Vec<u8>, TlvError> {
    let mut out = Vec::with_capacity(value.len() + 6);
    push_ber(&mut out, tag, value)?;
    Ok(out)
}

#[cfg(any(test, feature = "fuzzing"))]
fn simple_object(input: &[u8]) -> IResult<&[u8], Tlv<'_>, NomErr<'_>> {
    let (rest, tag) = be_u8(input)?;
    let (rest, first) = be_u8(rest)?;
    let (rest, len) = if first == 0xFF {
        be_u16(rest).map(|(r, n)| (r, usize::from(n)))?
    } else {
        (rest, usize::from(first))
    };
    let (rest, value) = take(len).parse(rest)?;
    Ok((
        rest,
        Tlv {
            tag: u32::from(tag),
            value,
        },
    ))
}

/// Parses one simple-TLV object (one-byte tag; one-byte length, or `FF` and two
/// bytes).
#[cfg(any(test, feature = "fuzzing"))]
pub fn parse_simple(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    simple_object(input)
        .map(|(rest, tlv)| (tlv, rest))
        .map_err(|e| to_error(input, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ber_round_trips() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let v = vec![0xA5; len];
            for tag in [0x87u32, 0x5F24, 0x1F8101] {
                let enc = encode_ber(tag, &v).unwrap();
                let (tlv, rest) = parse_ber(&enc).unwrap();
                assert_eq!(tlv.tag, tag);
                assert_eq!(tlv.value, &v[..]);
                assert!(rest.is_empty());
            }
        }
        assert_eq!(
            encode_ber(0x87, &[0; 0xE1]).unwrap()[..3],
            [0x87, 0x81, 0xE1]
        );
        assert_eq!(
            encode_ber(0x87, &[0; 0x101]).unwrap()[..4],
            [0x87, 0x82, 0x01, 0x01]
        );
        let mut out = Vec::new();
        assert_eq!(
            encode_len(0x100_0000, &mut out),
            Err(TlvError::TooLong { len: 0x100_0000 })
        );
        assert!(out.is_empty());
    }

    #[test]
    fn sequences_and_errors() {
        let seq = [0x4F, 0x02, 1, 2, 0x50, 0x01, b'x'];
        let all = parse_ber_all(&seq).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].tag, 0x50);
        assert_eq!(
            parse_ber_all(&[0x4F, 0x02, 1, 2, 0x50, 0x05, 1]),
            Err(TlvError::Truncated { offset: 6 })
        );
        assert!(matches!(
            parse_ber(&[0x87, 0x85, 0, 0, 0, 0, 1]),
            Err(TlvError::Unsupported { .. })
        ));
        assert!(matches!(
            parse_ber(&[0x1F, 0x81, 0x81, 0x81, 0]),
            Err(TlvError::Unsupported { .. })
        ));
    }

    #[test]
    fn simple_tlv() {
        let (t, rest) = parse_simple(&[0xC1, 0x03, 1, 2, 3, 0xFF]).unwrap();
        assert_eq!((t.tag, t.value), (0xC1, &[1u8, 2, 3][..]));
        assert_eq!(rest, &[0xFF]);
        let (t, _) = parse_simple(&[0xC1, 0xFF, 0x00, 0x01, 9]).unwrap();
        assert_eq!(t.value, &[9]);
        assert!(parse_simple(&[0xC1, 0x04, 1]).is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_ber_all(&bytes);
            let _ = parse_simple(&bytes);
        }
    }
}
