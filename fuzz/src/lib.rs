//! Shared pieces of the fuzz targets: a card that answers from fuzz bytes,
//! APDU sequences cut from fuzz bytes, and the demo profiles and card.

use cardap::{Transport, TransportError};

/// The demo card and profiles of `examples/`.
pub const DEMO_CARD: &str = include_str!("../../examples/cards/demo.toml");
/// Type C, Type A (aes128), Type D (aes256).
pub const PROFILES: [&str; 3] = [
    include_str!("../../examples/profiles/library.toml"),
    include_str!("../../examples/profiles/kiosk.toml"),
    include_str!("../../examples/profiles/evacuee.toml"),
];
/// RND.ICC ‖ K.ICC, RND.IFD ‖ K.IFD: fixed so that runs repeat.
pub const FIXED_RANDOM: [u8; 24] = [0x5A; 24];

/// Cuts `data` into segments, each prefixed by a one-byte length.
pub fn segments(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (seg, tail) = tail.split_at(n);
        out.push(seg);
        rest = tail;
    }
    out
}

/// A card whose every answer comes from the fuzz input: one segment per
/// command (a segment shorter than two bytes: the card is pulled out).
pub struct Answers<'a> {
    answers: std::vec::IntoIter<&'a [u8]>,
    /// Commands the host sent.
    pub sent: usize,
    /// VERIFY commands that carried data (a PIN), as opposed to the bare
    /// VERIFY that asks for the tries left.
    pub pins_sent: usize,
}

impl<'a> Answers<'a> {
    /// A card answering with the segments of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            answers: segments(data).into_iter(),
            sent: 0,
            pins_sent: 0,
        }
    }
}

impl Transport for Answers<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent += 1;
        if command.get(1) == Some(&0x20) && command.len() > 5 {
            self.pins_sent += 1;
        }
        match self.answers.next() {
            Some(a) if a.len() >= 2 => Ok(a.to_vec()),
            Some(_) => Err(TransportError::Interrupted("fuzzed glitch".into())),
            None => Err(TransportError::CardRemoved),
        }
    }
    fn atr(&self) -> Option<Vec<u8>> {
        Some(vec![
            0x3B, 0x85, 0x81, 0x01, 0x80, 0x73, 0x94, 0x01, 0x40, 0x23,
        ])
    }
}
