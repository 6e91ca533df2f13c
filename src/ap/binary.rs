//! Whole-file READ BINARY and READ RECORD(S), plain or protected, with the
//! fewest round trips the length mode allows (PROFILE.md §1, §5, §6).

use zeroize::Zeroizing;

use crate::apdu::Command;
use crate::commands;
use crate::error::{Error, Result};
use crate::record::SecretBytes;
use crate::session::Session;
use crate::status::StatusWord;

/// Plaintext bytes per protected short read: the ICAO practice (PROFILE.md §1).
pub(crate) const SM_SHORT_CHUNK: usize = 223;
/// Bytes per plain short read.
const PLAIN_SHORT_CHUNK: usize = 256;
/// The largest offset READ BINARY with P1-P2 can address.
const MAX_OFFSET: usize = 0x7FFF;

/// How the first READ addresses the EF.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    /// By short file identifier (which also makes the EF current).
    Sfi(u8),
    /// The current EF.
    Current,
}

fn send(
    session: &mut Session<'_>,
    cmd: &Command,
    protected: bool,
) -> Result<crate::apdu::Response> {
    if protected {
        session.transmit_protected(cmd)
    } else {
        session.transmit(cmd)
    }
}

/// Reads a transparent EF whole. `size` is its length when the profile fixes
/// it (Type D: 255), so that the last short read asks for the exact remainder.
pub(crate) fn read_binary(
    session: &mut Session<'_>,
    start: Start,
    protected: bool,
    size: Option<usize>,
) -> Result<SecretBytes> {
    let mut out = Zeroizing::new(Vec::new());
    loop {
        let remaining = size.map(|s| s.saturating_sub(out.len()));
        if remaining == Some(0) {
            return Ok(out);
        }
        let ne = if session.extended() {
            // One read of everything (a 255-byte Type D file: Ne = 256, "all").
            match size {
                Some(s) if s <= 256 => 256,
                _ => 65_536,
            }
        } else {
            let chunk = if protected {
                SM_SHORT_CHUNK
            } else {
                PLAIN_SHORT_CHUNK
            };
            remaining.map_or(chunk, |r| r.min(chunk))
        };
        let cmd = match (start, out.is_empty()) {
            (Start::Sfi(sfi), true) => commands::read_binary_sfi(sfi, ne)?,
            _ => match u16::try_from(out.len()) {
                Ok(offset) if usize::from(offset) <= MAX_OFFSET => {
                    commands::read_binary_offset(offset, ne)?
                }
                _ => {
                    return Err(Error::Status {
                        command: "READ BINARY",
                        sw: StatusWord::WrongOffset,
                    });
                }
            },
        };
        let resp = send(session, &cmd, protected)?;
        match resp.sw {
            StatusWord::Success | StatusWord::EndOfFile => {
                out.extend_from_slice(&resp.data);
                let short_read = resp.data.len() < ne;
                if resp.sw == StatusWord::EndOfFile
                    || resp.data.is_empty()
                    || (size.is_none() && short_read)
                {
                    return Ok(out);
                }
                if size.is_some_and(|s| out.len() >= s) {
                    return Ok(out);
                }
                if size.is_some() && short_read && session.extended() {
                    return Ok(out);
                }
            }
            // Offset at the end of a file whose length is a multiple of the chunk.
            StatusWord::WrongOffset if !out.is_empty() => return Ok(out),
            sw => {
                return Err(Error::Status {
                    command: "READ BINARY",
                    sw,
                });
            }
        }
    }
}

/// Reads every record of a linear EF (`sfi` 0: the current EF): one READ
/// RECORD(S) of all records with extended length, else record by record until
/// `6A 83`. `all_ne` is the `Ne` of the all-records read. Returns what the
/// card sent: one buffer of concatenated records, or one buffer per record.
pub(crate) fn read_records(
    session: &mut Session<'_>,
    sfi: u8,
    protected: bool,
    all_ne: usize,
) -> Result<Vec<SecretBytes>> {
    if session.extended() {
        let cmd = commands::read_records_from(1, sfi, all_ne)?;
        let resp = send(session, &cmd, protected)?;
        if !resp.sw.is_success() {
            return Err(Error::Status {
                command: "READ RECORD(S)",
                sw: resp.sw,
            });
        }
        return Ok(vec![Zeroizing::new(resp.data.clone())]);
    }
    let mut out = Vec::new();
    for n in 1..=254u8 {
        let cmd = commands::read_record(n, sfi, 256)?;
        let resp = send(session, &cmd, protected)?;
        match resp.sw {
            StatusWord::Success | StatusWord::EndOfFile => {
                out.push(Zeroizing::new(resp.data.clone()));
            }
            StatusWord::RecordNotFound if n > 1 => return Ok(out),
            sw => {
                return Err(Error::Status {
                    command: "READ RECORD",
                    sw,
                });
            }
        }
    }
    Ok(out)
}
