//! Where the card's random numbers come from: the OS, or a fixed sequence for
//! golden tests (RND.ICC, then K.ICC, per authentication).

use zeroize::Zeroizing;

pub(crate) enum CardRng {
    /// OS randomness (`getrandom`).
    Os,
    /// Bytes handed out in order; exhausted means failure.
    Fixed {
        bytes: Zeroizing<Vec<u8>>,
        position: usize,
    },
}

impl CardRng {
    /// Fills `out` completely, or leaves the source untouched and fails.
    pub(crate) fn fill(&mut self, out: &mut [u8]) -> bool {
        match self {
            Self::Os => getrandom::fill(out).is_ok(),
            Self::Fixed { bytes, position } => {
                let end = position.saturating_add(out.len());
                match bytes.get(*position..end) {
                    Some(chunk) => {
                        out.copy_from_slice(chunk);
                        *position = end;
                        true
                    }
                    None => false,
                }
            }
        }
    }
}

impl std::fmt::Debug for CardRng {
    // Fixed bytes are future K.ICC values: only the kind is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Os => f.write_str("Os"),
            Self::Fixed { bytes, position } => write!(
                f,
                "Fixed({} of {} bytes left)",
                bytes.len().saturating_sub(*position),
                bytes.len()
            ),
        }
    }
}
