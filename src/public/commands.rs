//! The command APDUs of the public APs, one constructor each. Whether a
//! command only reads decides whether the session may resend it on `6Cxx`
//! (`session.rs`); VERIFY carries a PIN and is redacted in traces
//! (`trace.rs` redacts the data of INS `20`).

use crate::apdu::Command;
use crate::error::Result;

/// SELECT by DF name, no FCI: `00 A4 04 0C Lc AID`.
pub(crate) fn select_aid(aid: &[u8]) -> Result<Command> {
    Ok(Command::new(0x00, 0xA4, 0x04, 0x0C, aid, None)?)
}

/// SELECT EF by file ID under the current DF, no FCI: `00 A4 02 0C 02 FID`.
pub(crate) fn select_ef(fid: [u8; 2]) -> Result<Command> {
    Ok(Command::new(0x00, 0xA4, 0x02, 0x0C, fid, None)?)
}

/// READ BINARY of the current EF at `offset` (15 bits): `00 B0 hi lo Le`.
pub(crate) fn read_at(offset: u16, ne: usize) -> Result<Command> {
    let [hi, lo] = (offset & 0x7FFF).to_be_bytes();
    Ok(Command::new(0x00, 0xB0, hi, lo, Vec::new(), Some(ne))?)
}

/// READ BINARY by short file identifier from offset 0: `00 B0 80|SFI 00 Le`
/// (the EF becomes current).
pub(crate) fn read_sfi(sfi: u8, ne: usize) -> Result<Command> {
    Ok(Command::new(
        0x00,
        0xB0,
        0x80 | (sfi & 0x1F),
        0x00,
        Vec::new(),
        Some(ne),
    )?)
}

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

/// VERIFY without data: the retry count (`63 Cx`), no try spent:
/// `00 20 00 P2`.
pub(crate) fn retry_count(pin: PinRef) -> Command {
    Command::header(0x00, 0x20, 0x00, pin.p2())
}

/// VERIFY with the PIN: `00 20 00 P2 Lc PIN`. The command zeroizes its data
/// when dropped.
pub(crate) fn verify(pin: PinRef, value: &[u8]) -> Result<Command> {
    Ok(Command::new(0x00, 0x20, 0x00, pin.p2(), value, None)?)
}

/// The JPKI signature with the current key EF: `80 2A 00 80 Lc DigestInfo 00`.
pub(crate) fn sign(digest_info: &[u8]) -> Result<Command> {
    Ok(Command::new(
        0x80,
        0x2A,
        0x00,
        0x80,
        digest_info,
        Some(256),
    )?)
}
