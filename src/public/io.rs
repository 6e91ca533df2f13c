//! The steps every public-AP operation is made of, on one session: SELECT,
//! reads of a length-prefixed object with the fewest round trips, the retry
//! count and VERIFY.

use super::pin::{Pin, PinError, PinFloor, PinKind};
use crate::apdu::{Command, Response};
use crate::commands;
use crate::error::{Error, Result};
use crate::session::Session;
use crate::status::StatusWord;

/// Largest offset READ BINARY can address with `P1-P2`.
const MAX_OFFSET: usize = 0x7FFF;
/// Bytes per short read.
const SHORT_CHUNK: usize = 256;
/// `Ne` of an extended read of "everything".
const EXTENDED_ALL: usize = 65_536;

/// Where a VERIFY points: the current EF (`P2 = 80`) or a PIN EF by short
/// file identifier (`P2 = 80 | SFI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PinRef {
    Current,
    Sfi(u8),
}

impl PinRef {
    fn p2(self) -> u8 {
        match self {
            Self::Current => 0x80,
            Self::Sfi(sfi) => 0x80 | (sfi & 0x1F),
        }
    }
}

/// One operation's session plus what it learnt about lengths.
pub(crate) struct Ctx<'s, 't> {
    pub(crate) session: &'s mut Session<'t>,
    /// Whether extended-length reads are still tried.
    pub(crate) extended: bool,
}

/// How the first READ of an object addresses its EF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Addr {
    /// The current EF (selected before).
    Current,
    /// By short file identifier (which makes the EF current).
    Sfi(u8),
}

/// Status words with which a card refuses short-file-identifier addressing
/// (or does not know the SFI): the operation falls back to SELECT EF.
pub(crate) fn refuses_sfi(sw: StatusWord) -> bool {
    matches!(
        sw,
        StatusWord::NotFound
            | StatusWord::WrongP1P2
            | StatusWord::CommandNotAllowed
            | StatusWord::FunctionNotSupported
            | StatusWord::ReferencedDataNotFound
            | StatusWord::WrongOffset
            | StatusWord::IncompatibleFileStructure
            | StatusWord::Other(0x6A87)
    )
}

fn malformed(ap: &str, problem: impl Into<String>) -> Error {
    Error::Malformed {
        ap: ap.to_owned(),
        problem: problem.into(),
    }
}

/// The full length (header included) of the BER-TLV object `data` starts
/// with, once its header is there (`None`: more bytes needed).
pub(crate) fn object_len(data: &[u8]) -> Option<Result<usize, &'static str>> {
    let first = *data.first()?;
    let mut at = 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *data.get(at)?;
            at += 1;
            if b & 0x80 == 0 {
                break;
            }
            if at > 3 {
                return Some(Err("tag longer than 3 bytes"));
            }
        }
    }
    let l = *data.get(at)?;
    at += 1;
    let len = match l {
        0..=0x7F => usize::from(l),
        0x81 => usize::from(*data.get(at)?),
        0x82 => usize::from(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?])),
        0x83 => {
            let b = [*data.get(at)?, *data.get(at + 1)?, *data.get(at + 2)?];
            (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2])
        }
        _ => return Some(Err("unsupported length form")),
    };
    let header = at + usize::from(l & 0x80 != 0) * usize::from(l & 0x7F);
    Some(Ok(header + len))
}

impl Ctx<'_, '_> {
    /// Sends a command; the answer whatever its status word.
    pub(crate) fn send(&mut self, cmd: &Command) -> Result<Response> {
        self.session.transmit(cmd)
    }

    /// SELECT of an AP by AID; `6A 82` is [`Error::ApNotFound`].
    pub(crate) fn select_ap(&mut self, aid: &[u8]) -> Result<()> {
        let resp = self.send(&commands::select_df_name(aid)?)?;
        match resp.sw {
            StatusWord::Success => Ok(()),
            StatusWord::NotFound => Err(Error::ApNotFound {
                aid: hex::encode_upper(aid),
            }),
            sw => Err(Error::Status {
                command: "SELECT",
                sw,
            }),
        }
    }

    /// SELECT EF by file ID.
    pub(crate) fn select_ef(&mut self, fid: [u8; 2]) -> Result<()> {
        let resp = self.send(&commands::select_ef(fid)?)?;
        if resp.sw == StatusWord::Success {
            Ok(())
        } else {
            Err(Error::Status {
                command: "SELECT EF",
                sw: resp.sw,
            })
        }
    }

    /// One READ BINARY; an extended read the card or reader refuses is sent
    /// again short (once per operation: the choice sticks).
    fn read(&mut self, addr: Addr, offset: usize, ne: usize) -> Result<Response> {
        let build = |ne: usize| -> Result<Command> {
            match addr {
                Addr::Sfi(sfi) if offset == 0 => Ok(commands::read_binary_sfi(sfi, ne)?),
                _ => {
                    let offset = u16::try_from(offset)
                        .ok()
                        .filter(|&o| usize::from(o) <= MAX_OFFSET)
                        .ok_or(Error::Status {
                            command: "READ BINARY",
                            sw: StatusWord::WrongOffset,
                        })?;
                    Ok(commands::read_binary_offset(offset, ne)?)
                }
            }
        };
        match self.send(&build(ne)?) {
            Err(Error::ExtendedRejected) if ne > SHORT_CHUNK => {
                self.extended = false;
                self.send(&build(SHORT_CHUNK)?)
            }
            other => other,
        }
    }

    /// Reads the BER-TLV object an EF starts with (a DER certificate, a
    /// kenhojo template): the first read (one extended read of everything
    /// where allowed, else 256 bytes) gives the length, and the rest is read
    /// by offset from where it stopped, never from 0 again. A first-read
    /// status word other than `90 00`/`62 82` is [`Error::Status`].
    pub(crate) fn read_object(&mut self, addr: Addr, ap: &str) -> Result<Vec<u8>> {
        let first_ne = if self.extended {
            EXTENDED_ALL
        } else {
            SHORT_CHUNK
        };
        let resp = self.read(addr, 0, first_ne)?;
        if !resp.sw.is_success() {
            return Err(Error::Status {
                command: "READ BINARY",
                sw: resp.sw,
            });
        }
        let mut resp = resp;
        let mut data = std::mem::take(&mut resp.data);
        let total = match object_len(&data) {
            Some(Ok(n)) => n,
            Some(Err(problem)) => return Err(malformed(ap, problem)),
            None => return Err(malformed(ap, "the file is too short for its header")),
        };
        while data.len() < total {
            let offset = data.len();
            let remaining = total - offset;
            let ne = if self.extended {
                remaining
            } else {
                remaining.min(SHORT_CHUNK)
            };
            let resp = self.read(Addr::Current, offset, ne)?;
            if !resp.sw.is_success() {
                return Err(Error::Status {
                    command: "READ BINARY",
                    sw: resp.sw,
                });
            }
            if resp.data.is_empty() {
                return Err(malformed(ap, "the file ends before its length"));
            }
            data.extend_from_slice(&resp.data);
        }
        data.truncate(total);
        Ok(data)
    }

    /// One READ BINARY of at most `ne` bytes from offset 0 (the token, the
    /// My Number).
    pub(crate) fn read_fixed(&mut self, addr: Addr, ne: usize) -> Result<Vec<u8>> {
        let resp = self.read(addr, 0, ne)?;
        if resp.sw.is_success() {
            let mut resp = resp;
            Ok(std::mem::take(&mut resp.data))
        } else {
            Err(Error::Status {
                command: "READ BINARY",
                sw: resp.sw,
            })
        }
    }

    /// The retry count by VERIFY without data: `Ok(Some(n))` tries left
    /// (0: blocked), `Ok(None)` when the card answers something else (for
    /// instance a refused SFI), with its status word.
    pub(crate) fn retry_count(&mut self, pin: PinRef) -> Result<Result<u8, StatusWord>> {
        let resp = self.send(&commands::verify_retry_count(pin.p2()))?;
        Ok(match resp.sw {
            StatusWord::TriesLeft(n) => Ok(n),
            // Sources differ on the blocked status word: `69 84` (reference
            // data not usable) or `69 83` (authentication method blocked).
            StatusWord::ReferenceDataBlocked | StatusWord::AuthenticationBlocked => Ok(0),
            sw => Err(sw),
        })
    }

    /// Checks the floor, then sends VERIFY once. Never resent, whatever
    /// happens; a transport failure is returned as it is.
    pub(crate) fn verify(
        &mut self,
        pin: &Pin,
        at: PinRef,
        tries_left: u8,
        floor: PinFloor,
    ) -> Result<()> {
        let kind = pin.kind();
        floor.check(kind, tries_left)?;
        let resp = self.send(&commands::verify(at.p2(), pin.bytes())?)?;
        match resp.sw {
            StatusWord::Success => Ok(()),
            StatusWord::TriesLeft(n) => Err(PinError::WrongPin {
                pin: kind,
                tries_left: Some(n),
            }
            .into()),
            StatusWord::AuthenticationFailed => Err(PinError::WrongPin {
                pin: kind,
                tries_left: None,
            }
            .into()),
            StatusWord::ReferenceDataBlocked | StatusWord::AuthenticationBlocked => {
                Err(PinError::Blocked { pin: kind }.into())
            }
            sw => Err(Error::Status {
                command: "VERIFY",
                sw,
            }),
        }
    }

    /// The tries left of a PIN whose EF is selected by file ID.
    pub(crate) fn count_by_select(&mut self, kind: PinKind) -> Result<u8> {
        self.select_ef(kind.fid())?;
        self.retry_count(PinRef::Current)?
            .map_err(|sw| Error::Status {
                command: "VERIFY (retry count)",
                sw,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_lengths() {
        assert_eq!(object_len(&[0x30, 0x82, 0x03, 0xBF]), Some(Ok(4 + 0x3BF)));
        assert_eq!(object_len(&[0x30, 0x81, 0x90]), Some(Ok(3 + 0x90)));
        assert_eq!(object_len(&[0x30, 0x05]), Some(Ok(7)));
        assert_eq!(
            object_len(&[0xFF, 0x20, 0x82, 0x01, 0x00]),
            Some(Ok(5 + 256))
        );
        assert_eq!(object_len(&[0xFF, 0x20, 0x82, 0x01]), None);
        assert_eq!(object_len(&[]), None);
        assert!(matches!(object_len(&[0x30, 0x85, 0, 0]), Some(Err(_))));
    }
}
