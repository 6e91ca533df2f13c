//! The little BER-TLV the card needs: one-byte tags, lengths in the shortest
//! definite form (PROFILE.md §7: `87 81 E1`, `87 82 01 01`).

/// Appends `tag ‖ length ‖ value`; `None` if the value needs more than two
/// length bytes (never for the files of this profile).
pub(crate) fn push_do(out: &mut Vec<u8>, tag: u8, value: &[u8]) -> Option<()> {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(u8::try_from(len).ok()?);
    } else if len <= 0xFF {
        out.extend_from_slice(&[0x81, u8::try_from(len).ok()?]);
    } else {
        let [hi, lo] = u16::try_from(len).ok()?.to_be_bytes();
        out.extend_from_slice(&[0x82, hi, lo]);
    }
    out.extend_from_slice(value);
    Some(())
}

/// `tag ‖ length ‖ value` as a new vector.
#[cfg(test)]
pub(crate) fn make_do(tag: u8, value: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(value.len() + 4);
    push_do(&mut out, tag, value)?;
    Some(out)
}

/// One data object split off the front of `input`.
pub(crate) struct DataObject<'a> {
    /// The tag (one byte).
    pub tag: u8,
    /// The value.
    pub value: &'a [u8],
    /// The whole encoding, tag to last value byte.
    pub raw: &'a [u8],
}

/// Splits the first data object off `input`: `None` if it is not a one-byte tag
/// with a definite length of at most two bytes that fits the input.
pub(crate) fn split_do(input: &[u8]) -> Option<(DataObject<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    // Multi-byte tags (low bits 1F) and the padding bytes 00/FF are not DOs here.
    if tag & 0x1F == 0x1F || tag == 0x00 || tag == 0xFF {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7F => (usize::from(first), rest),
        0x81 => {
            let (&b, rest) = rest.split_first()?;
            (usize::from(b), rest)
        }
        0x82 => {
            let (bytes, rest) = rest.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*bytes)), rest)
        }
        _ => return None,
    };
    let header = input.len() - rest.len();
    let value = rest.get(..len)?;
    let raw = input.get(..header + len)?;
    let remaining = rest.get(len..)?;
    Some((DataObject { tag, value, raw }, remaining))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_lengths() {
        assert_eq!(make_do(0x99, &[0x90, 0]).unwrap(), [0x99, 2, 0x90, 0]);
        assert_eq!(
            &make_do(0x87, &[0; 0xE1]).unwrap()[..3],
            &[0x87, 0x81, 0xE1]
        );
        assert_eq!(
            &make_do(0x87, &[0; 0x101]).unwrap()[..4],
            &[0x87, 0x82, 1, 1]
        );
    }

    #[test]
    fn split_round_trips() {
        for len in [0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234] {
            let mut encoded = make_do(0x87, &vec![7; len]).unwrap();
            encoded.extend_from_slice(&[0x8E, 0]);
            let (first, rest) = split_do(&encoded).unwrap();
            assert_eq!(first.tag, 0x87);
            assert_eq!(first.value.len(), len);
            assert_eq!(first.raw.len(), encoded.len() - 2);
            assert_eq!(rest, &[0x8E, 0]);
        }
        assert!(split_do(&[0x87, 0x05, 1, 2]).is_none());
        assert!(split_do(&[0x87, 0x83, 0, 0, 1, 0]).is_none());
        assert!(split_do(&[0x9F, 0x01, 0]).is_none());
        assert!(split_do(&[0x87]).is_none());
    }
}
