//! Command and response APDUs (ISO/IEC 7816-4 §5.1–5.3): the four cases, short
//! and extended length.

use crate::status::StatusWord;
use zeroize::Zeroizing;

/// The largest `Nc` (command data length) an extended APDU can carry.
pub const MAX_EXTENDED_NC: usize = 65_535;
/// The largest `Ne` an extended APDU can ask for (`Le = 00 00`).
pub const MAX_EXTENDED_NE: usize = 65_536;
/// The largest `Nc` a short APDU can carry.
pub const MAX_SHORT_NC: usize = 255;
/// The largest `Ne` a short APDU can ask for (`Le = 00`).
pub const MAX_SHORT_NE: usize = 256;

/// What went wrong while building or parsing an APDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApduError {
    /// The command data are longer than the chosen encoding can carry.
    #[error("command data of {len} bytes exceed the {max}-byte limit")]
    DataTooLong {
        /// Length of the data.
        len: usize,
        /// Largest length allowed.
        max: usize,
    },
    /// `Ne` is zero or larger than the chosen encoding can express.
    #[error("expected length Ne = {ne} is out of range (1..={max})")]
    BadNe {
        /// The `Ne` asked for.
        ne: usize,
        /// Largest `Ne` allowed.
        max: usize,
    },
    /// A command APDU could not be parsed.
    #[error("malformed command APDU: {0}")]
    MalformedCommand(&'static str),
    /// A response APDU shorter than its status word.
    #[error("response APDU of {0} bytes has no status word")]
    MissingStatusWord(usize),
    /// A READ BINARY offset over `7FFF` (ISO/IEC 7816-4 §11.3.3).
    #[error("offset {0:#06X} is over 7FFF")]
    BadOffset(u16),
}

/// How the length fields of a command are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthEncoding {
    /// One-byte `Lc` and `Le`.
    Short,
    /// Three-byte `Lc` (`00 hi lo`) and two- or three-byte `Le`.
    Extended,
}

/// A command APDU. `ne` is the number of response bytes expected (`None`: case 1
/// or 3, no `Le` field).
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    data: Vec<u8>,
    ne: Option<usize>,
}

impl std::fmt::Debug for Command {
    // Command data may hold PINs or cryptograms: only their length is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("cla", &format_args!("{:02X}", self.cla))
            .field("ins", &format_args!("{:02X}", self.ins))
            .field("p1", &format_args!("{:02X}", self.p1))
            .field("p2", &format_args!("{:02X}", self.p2))
            .field("data_len", &self.data.len())
            .field("ne", &self.ne)
            .finish()
    }
}

impl Drop for Command {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

impl Command {
    /// A command with data and an expected response length. Fails if the data
    /// or `ne` cannot be expressed even with extended length.
    pub fn new(
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: impl Into<Vec<u8>>,
        ne: Option<usize>,
    ) -> Result<Self, ApduError> {
        let data = data.into();
        if data.len() > MAX_EXTENDED_NC {
            return Err(ApduError::DataTooLong {
                len: data.len(),
                max: MAX_EXTENDED_NC,
            });
        }
        if let Some(n) = ne
            && (n == 0 || n > MAX_EXTENDED_NE)
        {
            return Err(ApduError::BadNe {
                ne: n,
                max: MAX_EXTENDED_NE,
            });
        }
        Ok(Self {
            cla,
            ins,
            p1,
            p2,
            data,
            ne,
        })
    }

    /// A case 1 command (header only).
    #[cfg(test)]
    pub fn header(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Self {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            ne: None,
        }
    }

    /// The command data field.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The expected response length `Ne`, if the command has an `Le` field.
    pub fn ne(&self) -> Option<usize> {
        self.ne
    }

    /// The same command with another `Ne`.
    pub fn with_ne(&self, ne: Option<usize>) -> Result<Self, ApduError> {
        Self::new(self.cla, self.ins, self.p1, self.p2, self.data.clone(), ne)
    }

    /// Whether the command needs extended length (data over 255 bytes or `Ne`
    /// over 256).
    pub fn needs_extended(&self) -> bool {
        self.data.len() > MAX_SHORT_NC || self.ne.is_some_and(|n| n > MAX_SHORT_NE)
    }

    /// Encodes the command. With [`LengthEncoding::Short`] the data must fit 255
    /// bytes and `Ne` 256.
    pub fn to_bytes(&self, encoding: LengthEncoding) -> Result<Zeroizing<Vec<u8>>, ApduError> {
        let mut out = Zeroizing::new(Vec::with_capacity(4 + 3 + self.data.len() + 3));
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        match encoding {
            LengthEncoding::Short => {
                if self.data.len() > MAX_SHORT_NC {
                    return Err(ApduError::DataTooLong {
                        len: self.data.len(),
                        max: MAX_SHORT_NC,
                    });
                }
                if !self.data.is_empty() {
                    out.push(self.data.len() as u8);
                    out.extend_from_slice(&self.data);
                }
                if let Some(ne) = self.ne {
                    if ne > MAX_SHORT_NE {
                        return Err(ApduError::BadNe {
                            ne,
                            max: MAX_SHORT_NE,
                        });
                    }
                    // Ne = 256 is encoded as 00.
                    out.push((ne & 0xFF) as u8);
                }
            }
            LengthEncoding::Extended => {
                if !self.data.is_empty() {
                    let [hi, lo] = (self.data.len() as u16).to_be_bytes();
                    out.extend_from_slice(&[0, hi, lo]);
                    out.extend_from_slice(&self.data);
                }
                if let Some(ne) = self.ne {
                    // Ne = 65 536 is encoded as 00 00.
                    let [hi, lo] = ((ne & 0xFFFF) as u16).to_be_bytes();
                    if self.data.is_empty() {
                        out.push(0);
                    }
                    out.extend_from_slice(&[hi, lo]);
                }
            }
        }
        Ok(out)
    }

    /// Parses a command APDU (ISO/IEC 7816-4 §5.1), returning it and the length
    /// encoding it used.
    pub fn parse(bytes: &[u8]) -> Result<(Self, LengthEncoding), ApduError> {
        let (header, body) = bytes
            .split_first_chunk::<4>()
            .ok_or(ApduError::MalformedCommand(
                "shorter than the 4-byte header",
            ))?;
        let [cla, ins, p1, p2] = *header;
        let make = |data: &[u8], ne: Option<usize>, enc| {
            Ok((
                Self {
                    cla,
                    ins,
                    p1,
                    p2,
                    data: data.to_vec(),
                    ne,
                },
                enc,
            ))
        };
        match body {
            [] => make(&[], None, LengthEncoding::Short),
            [le] => make(&[], Some(short_ne(*le)), LengthEncoding::Short),
            [0, rest @ ..] if rest.len() >= 2 => {
                // Extended: 00 then two bytes.
                let (lenb, tail) = rest
                    .split_first_chunk::<2>()
                    .ok_or(ApduError::MalformedCommand("truncated extended length"))?;
                let n = usize::from(u16::from_be_bytes(*lenb));
                if tail.is_empty() {
                    // Case 2E: 00 Le1 Le2.
                    return make(&[], Some(extended_ne(n)), LengthEncoding::Extended);
                }
                if n == 0 {
                    return Err(ApduError::MalformedCommand("extended Lc of zero"));
                }
                match tail.len().checked_sub(n) {
                    Some(0) => make(tail, None, LengthEncoding::Extended),
                    Some(2) => {
                        let (data, le) = tail.split_at(n);
                        let le = match le {
                            [a, b] => usize::from(u16::from_be_bytes([*a, *b])),
                            _ => return Err(ApduError::MalformedCommand("bad extended Le")),
                        };
                        make(data, Some(extended_ne(le)), LengthEncoding::Extended)
                    }
                    _ => Err(ApduError::MalformedCommand(
                        "extended Lc does not match the body",
                    )),
                }
            }
            [lc, tail @ ..] => {
                let n = usize::from(*lc);
                match tail.len().checked_sub(n) {
                    Some(0) => make(tail, None, LengthEncoding::Short),
                    Some(1) => {
                        let (data, le) = tail.split_at(n);
                        let le = le.first().copied().unwrap_or(0);
                        make(data, Some(short_ne(le)), LengthEncoding::Short)
                    }
                    _ => Err(ApduError::MalformedCommand("Lc does not match the body")),
                }
            }
        }
    }
}

fn short_ne(le: u8) -> usize {
    if le == 0 { 256 } else { usize::from(le) }
}

fn extended_ne(le: usize) -> usize {
    if le == 0 { 65_536 } else { le }
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data.
    pub data: Vec<u8>,
    /// Status word.
    pub sw: StatusWord,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("data_len", &self.data.len())
            .field("sw", &self.sw)
            .finish()
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

impl Response {
    /// A response with data and status.
    pub fn new(data: Vec<u8>, sw: StatusWord) -> Self {
        Self { data, sw }
    }

    /// Splits raw response bytes into data and status word.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApduError> {
        match bytes.split_last_chunk::<2>() {
            Some((data, [sw1, sw2])) => Ok(Self {
                data: data.to_vec(),
                sw: StatusWord::from_bytes(*sw1, *sw2),
            }),
            None => Err(ApduError::MissingStatusWord(bytes.len())),
        }
    }

    /// Data followed by the status word.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.data.len() + 2));
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap_or_default()
    }

    #[test]
    fn four_cases_short() {
        let c1 = Command::header(0x00, 0x84, 0, 0);
        assert_eq!(
            c1.to_bytes(LengthEncoding::Short).ok().map(|b| b.to_vec()),
            Some(hex("00840000"))
        );
        let c2 = Command::new(0, 0x84, 0, 0, [], Some(8)).ok();
        assert_eq!(
            c2.and_then(|c| c.to_bytes(LengthEncoding::Short).ok().map(|b| b.to_vec())),
            Some(hex("0084000008"))
        );
        let c3 = Command::new(0, 0xA4, 4, 0x0C, hex("F043415244415043 0001"), None).ok();
        assert_eq!(
            c3.and_then(|c| c.to_bytes(LengthEncoding::Short).ok().map(|b| b.to_vec())),
            Some(hex("00A4040C0AF0434152444150430001"))
        );
        let c4 = Command::new(0, 0x82, 0, 0, vec![0xAA; 40], Some(40)).ok();
        let b = c4
            .and_then(|c| c.to_bytes(LengthEncoding::Short).ok().map(|b| b.to_vec()))
            .unwrap_or_default();
        assert_eq!(b.len(), 4 + 1 + 40 + 1);
        assert_eq!(b.last(), Some(&0x28));
    }

    #[test]
    fn extended_encodings_match_the_transcripts() {
        let c = Command::new(
            0x0C,
            0xB2,
            1,
            0x0D,
            hex("9701008E08B29485419500D9D8"),
            Some(65_536),
        );
        assert_eq!(
            c.and_then(|c| c.to_bytes(LengthEncoding::Extended))
                .ok()
                .map(|b| b.to_vec()),
            Some(hex("0CB2010D00000D9701008E08B29485419500D9D80000"))
        );
        let c2 = Command::new(0, 0xB0, 0, 0, [], Some(65_536));
        assert_eq!(
            c2.and_then(|c| c.to_bytes(LengthEncoding::Extended))
                .ok()
                .map(|b| b.to_vec()),
            Some(hex("00B00000000000"))
        );
    }

    #[test]
    fn over_long_data_is_an_error_not_a_panic() {
        assert!(matches!(
            Command::new(0, 0xD6, 0, 0, vec![0; 65_536], None),
            Err(ApduError::DataTooLong { .. })
        ));
        let c = Command::new(0, 0xD6, 0, 0, vec![0; 300], None);
        assert!(matches!(
            c.and_then(|c| c.to_bytes(LengthEncoding::Short)),
            Err(ApduError::DataTooLong { .. })
        ));
        assert!(matches!(
            Command::new(0, 0xB0, 0, 0, [], Some(0)),
            Err(ApduError::BadNe { .. })
        ));
    }

    #[test]
    fn parse_round_trips() {
        for enc in [LengthEncoding::Short, LengthEncoding::Extended] {
            for (len, ne) in [
                (0, None),
                (0, Some(1)),
                (5, None),
                (5, Some(256)),
                (255, Some(7)),
            ] {
                let c = Command::new(0x00, 0xB0, 1, 2, vec![0x5A; len], ne).ok();
                let Some(c) = c else { continue };
                let bytes = c.to_bytes(enc).unwrap_or_default();
                let (back, got) =
                    Command::parse(&bytes).unwrap_or((Command::header(0, 0, 0, 0), enc));
                assert_eq!(back, c, "{enc:?} {len} {ne:?}");
                if len > 0 || ne.is_some() {
                    assert_eq!(got, enc);
                }
            }
        }
    }

    #[test]
    fn responses() {
        assert!(matches!(
            Response::parse(&[0x90]),
            Err(ApduError::MissingStatusWord(1))
        ));
        let r = Response::parse(&hex("01029000"))
            .unwrap_or(Response::new(vec![], StatusWord::NoDiagnosis));
        assert_eq!(r.data, vec![1, 2]);
        assert_eq!(r.sw, StatusWord::Success);
        assert_eq!(r.to_bytes().to_vec(), hex("01029000"));
    }
}
