//! Whole-file READ BINARY and READ RECORD(S), plain or protected, with the
//! fewest round trips the length mode allows (PROFILE.md §1, §5, §6).

use crate::apdu::Command;
use crate::error::{Error, Result};
use crate::session::Session;
use crate::status::StatusWord;

/// Plaintext bytes per protected short read: the ICAO practice (PROFILE.md §1).
pub const SM_SHORT_CHUNK: usize = 223;
/// Bytes per plain short read.
const PLAIN_SHORT_CHUNK: usize = 256;
/// The largest offset READ BINARY with P1-P2 can address.
const MAX_OFFSET: usize = 0x7FFF;

/// How the first READ addresses the EF.
#[derive(Debug, Clone, Copy)]
pub enum Start {
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
pub fn read_binary(
    session: &mut Session<'_>,
    start: Start,
    protected: bool,
    size: Option<usize>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
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
        let (p1, p2) = match (start, out.is_empty()) {
            (Start::Sfi(sfi), true) => (0x80 | (sfi & 0x1F), 0),
            _ => {
                if out.len() > MAX_OFFSET {
                    return Err(Error::Status {
                        command: "READ BINARY",
                        sw: StatusWord::WrongOffset,
                    });
                }
                let [hi, lo] = (out.len() as u16).to_be_bytes();
                (hi, lo)
            }
        };
        let cmd = Command::new(0x00, 0xB0, p1, p2, Vec::new(), Some(ne))?;
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
pub fn read_records(
    session: &mut Session<'_>,
    sfi: u8,
    protected: bool,
    all_ne: usize,
) -> Result<Vec<Vec<u8>>> {
    let sfi_bits = (sfi & 0x1F) << 3;
    if session.extended() {
        let cmd = Command::new(0x00, 0xB2, 0x01, sfi_bits | 0b101, Vec::new(), Some(all_ne))?;
        let resp = send(session, &cmd, protected)?;
        if !resp.sw.is_success() {
            return Err(Error::Status {
                command: "READ RECORD(S)",
                sw: resp.sw,
            });
        }
        return Ok(vec![resp.data.clone()]);
    }
    let mut out = Vec::new();
    for n in 1..=254u8 {
        let cmd = Command::new(0x00, 0xB2, n, sfi_bits | 0b100, Vec::new(), Some(256))?;
        let resp = send(session, &cmd, protected)?;
        match resp.sw {
            StatusWord::Success | StatusWord::EndOfFile => out.push(resp.data.clone()),
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
