//! Just enough of the answer to reset (ISO/IEC 7816-3 §8.2) to find the card
//! capabilities in the historical bytes (ISO/IEC 7816-4 §12.1.1.9): whether the
//! card takes extended-length APDUs (PROFILE.md §1).

/// The historical bytes of an ATR, or `None` if the ATR is malformed.
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let t0 = *atr.get(1)?;
    let k = usize::from(t0 & 0x0F);
    let mut pos = 2usize;
    let mut y = t0 >> 4;
    loop {
        // TA, TB, TC present per Y bits 1..3; TD per bit 4.
        pos += usize::from((y & 0x1) + ((y >> 1) & 0x1) + ((y >> 2) & 0x1));
        if y & 0x8 == 0 {
            break;
        }
        let td = *atr.get(pos)?;
        pos += 1;
        y = td >> 4;
    }
    atr.get(pos..pos.checked_add(k)?)
}

/// The card-capabilities object (compact-TLV tag 7) of the historical bytes.
pub fn card_capabilities(atr: &[u8]) -> Option<&[u8]> {
    let hist = historical_bytes(atr)?;
    let (&category, mut rest) = hist.split_first()?;
    match category {
        // Compact-TLV objects, possibly followed by a status indicator.
        0x80 => {}
        // Compact-TLV objects followed by a mandatory 3-byte status indicator.
        0x00 => rest = rest.get(..rest.len().checked_sub(3)?)?,
        _ => return None,
    }
    while let Some((&head, tail)) = rest.split_first() {
        let tag = head >> 4;
        let len = usize::from(head & 0x0F);
        let value = tail.get(..len)?;
        if tag == 0x7 {
            return Some(value);
        }
        rest = tail.get(len..)?;
    }
    None
}

/// Whether the ATR says the card supports extended Lc/Le: third byte of the
/// card capabilities, bit b7 (`0x40`).
pub fn supports_extended_length(atr: &[u8]) -> bool {
    card_capabilities(atr)
        .and_then(|caps| caps.get(2))
        .is_some_and(|b| b & 0x40 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_atrs() {
        let ext = hex::decode("3B858101807394014023").unwrap();
        let short = hex::decode("3B858101807394010063").unwrap();
        assert_eq!(
            historical_bytes(&ext),
            Some(&[0x80, 0x73, 0x94, 0x01, 0x40][..])
        );
        assert!(supports_extended_length(&ext));
        assert!(!supports_extended_length(&short));
        assert!(!supports_extended_length(&[]));
        assert!(!supports_extended_length(&[0x3B, 0x8F]));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let _ = supports_extended_length(&bytes);
        }
    }
}
