//! Every command APDU cardap sends, one constructor per command, each citing
//! the clause that defines it (ISO/IEC 7816-4:2020 and `PROFILE.md`).
//!
//! What a command *is* lives here too, in one table ([`properties`]): whether
//! it only reads (so that the send path may resend it on `6Cxx` and a read
//! may start again from SELECT after a reset), whether it changes persistent
//! card state (never resent), and which of its bytes a trace must hide. The
//! send path (`session`), the retry policy (`card`) and the trace recorder
//! (`trace`) ask [`properties`]; none keeps its own list of instruction codes.
//!
//! A new operation adds its commands here: a constructor, and its instruction
//! in [`properties`] if it is not there yet.

use crate::apdu::{ApduError, Command};

/// The class byte of every command built here (ISO/IEC 7816-4 §5.4.1: first
/// interindustry class, no secure messaging, no chaining, logical channel 0).
const CLA: u8 = 0x00;

/// Instruction bytes (ISO/IEC 7816-4 §5.5, table 4).
pub(crate) mod ins {
    /// DEACTIVATE FILE (§11.2.7).
    pub(crate) const DEACTIVATE_FILE: u8 = 0x04;
    /// ERASE BINARY (§11.3.7).
    pub(crate) const ERASE_BINARY: u8 = 0x0E;
    /// VERIFY (§11.5.6).
    pub(crate) const VERIFY: u8 = 0x20;
    /// MANAGE SECURITY ENVIRONMENT (§11.5.11).
    pub(crate) const MANAGE_SECURITY_ENVIRONMENT: u8 = 0x22;
    /// CHANGE REFERENCE DATA (§11.5.7).
    pub(crate) const CHANGE_REFERENCE_DATA: u8 = 0x24;
    /// PERFORM SECURITY OPERATION (ISO/IEC 7816-8 §11).
    pub(crate) const PERFORM_SECURITY_OPERATION: u8 = 0x2A;
    /// RESET RETRY COUNTER (§11.5.10).
    pub(crate) const RESET_RETRY_COUNTER: u8 = 0x2C;
    /// ACTIVATE FILE (§11.2.8).
    pub(crate) const ACTIVATE_FILE: u8 = 0x44;
    /// EXTERNAL / MUTUAL AUTHENTICATE (§11.5.4).
    pub(crate) const MUTUAL_AUTHENTICATE: u8 = 0x82;
    /// GET CHALLENGE (§11.5.3).
    pub(crate) const GET_CHALLENGE: u8 = 0x84;
    /// GENERAL AUTHENTICATE (§11.5.5), both codings.
    pub(crate) const GENERAL_AUTHENTICATE: u8 = 0x86;
    /// GENERAL AUTHENTICATE, odd instruction.
    pub(crate) const GENERAL_AUTHENTICATE_ODD: u8 = 0x87;
    /// INTERNAL AUTHENTICATE (§11.5.2).
    pub(crate) const INTERNAL_AUTHENTICATE: u8 = 0x88;
    /// SELECT (§11.2.2).
    pub(crate) const SELECT: u8 = 0xA4;
    /// READ BINARY (§11.3.3), even and odd instruction.
    pub(crate) const READ_BINARY: u8 = 0xB0;
    /// READ BINARY, odd instruction (offset in a data object).
    pub(crate) const READ_BINARY_ODD: u8 = 0xB1;
    /// READ RECORD(S) (§11.4.3).
    pub(crate) const READ_RECORD: u8 = 0xB2;
    /// READ RECORD(S), odd instruction.
    pub(crate) const READ_RECORD_ODD: u8 = 0xB3;
    /// GET RESPONSE (§11.7.1).
    pub(crate) const GET_RESPONSE: u8 = 0xC0;
    /// GET DATA (§11.6.3), even and odd instruction.
    pub(crate) const GET_DATA: u8 = 0xCA;
    /// GET DATA, odd instruction.
    pub(crate) const GET_DATA_ODD: u8 = 0xCB;
    /// WRITE BINARY (§11.3.5).
    pub(crate) const WRITE_BINARY: u8 = 0xD0;
    /// WRITE BINARY, odd instruction.
    pub(crate) const WRITE_BINARY_ODD: u8 = 0xD1;
    /// WRITE RECORD (§11.4.5).
    pub(crate) const WRITE_RECORD: u8 = 0xD2;
    /// UPDATE BINARY (§11.3.4).
    pub(crate) const UPDATE_BINARY: u8 = 0xD6;
    /// UPDATE BINARY, odd instruction.
    pub(crate) const UPDATE_BINARY_ODD: u8 = 0xD7;
    /// UPDATE RECORD (§11.4.4).
    pub(crate) const UPDATE_RECORD: u8 = 0xDC;
    /// UPDATE RECORD, odd instruction.
    pub(crate) const UPDATE_RECORD_ODD: u8 = 0xDD;
    /// CREATE FILE (§11.2.4).
    pub(crate) const CREATE_FILE: u8 = 0xE0;
    /// APPEND RECORD (§11.4.6).
    pub(crate) const APPEND_RECORD: u8 = 0xE2;
    /// DELETE FILE (§11.2.5).
    pub(crate) const DELETE_FILE: u8 = 0xE4;
    /// TERMINATE DF (§11.2.9).
    pub(crate) const TERMINATE_DF: u8 = 0xE6;
    /// TERMINATE CARD USAGE (§11.2.10).
    pub(crate) const TERMINATE_CARD_USAGE: u8 = 0xFE;
}

/// What executing a command does to the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Only reads: the send path may resend it with the exact `Le` on `6Cxx`,
    /// and an operation of reads may start again from SELECT after a reset.
    Read,
    /// Changes only volatile state (the current selection, the security
    /// status, a challenge), which a reset clears anyway: not resent on
    /// `6Cxx`, but an operation may start again from SELECT.
    Volatile,
    /// Changes persistent state (file contents, a retry counter, a life
    /// cycle): never resent, and an operation that sent it never restarts
    /// unless the card said it did not execute it.
    Persistent,
}

/// Which bytes of a command and its response a trace hides
/// (with [`trace::Redaction::Secrets`](crate::trace::Redaction::Secrets)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secrecy {
    /// Nothing (headers, file identifiers, plain reads).
    Clear,
    /// The command data: a PIN or other reference data.
    Pin,
    /// The command data and the response data: cryptograms, or data that
    /// pass through the card's keys.
    Cryptogram,
}

/// The properties of one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Properties {
    /// The command's name, for errors and logs.
    pub(crate) name: &'static str,
    /// What it does to the card.
    pub(crate) effect: Effect,
    /// What a trace hides.
    pub(crate) secrecy: Secrecy,
}

impl Properties {
    /// Whether the command only reads.
    pub(crate) fn is_read(self) -> bool {
        self.effect == Effect::Read
    }

    /// Whether a trace hides the command data.
    pub(crate) fn secret_data(self) -> bool {
        self.secrecy != Secrecy::Clear
    }

    /// Whether a trace hides the response data.
    pub(crate) fn secret_response(self) -> bool {
        self.secrecy == Secrecy::Cryptogram
    }
}

const fn props(name: &'static str, effect: Effect, secrecy: Secrecy) -> Properties {
    Properties {
        name,
        effect,
        secrecy,
    }
}

/// The one table of instruction properties. An instruction not listed is
/// treated as changing persistent state and shown in the clear.
pub(crate) fn properties(instruction: u8) -> Properties {
    use Effect::{Persistent, Read, Volatile};
    use Secrecy::{Clear, Cryptogram, Pin};
    match instruction {
        ins::SELECT => props("SELECT", Volatile, Clear),
        ins::READ_BINARY | ins::READ_BINARY_ODD => props("READ BINARY", Read, Clear),
        ins::READ_RECORD | ins::READ_RECORD_ODD => props("READ RECORD", Read, Clear),
        ins::GET_DATA | ins::GET_DATA_ODD => props("GET DATA", Read, Clear),
        ins::GET_RESPONSE => props("GET RESPONSE", Read, Clear),
        ins::GET_CHALLENGE => props("GET CHALLENGE", Volatile, Clear),
        ins::MUTUAL_AUTHENTICATE => props("MUTUAL AUTHENTICATE", Volatile, Cryptogram),
        ins::INTERNAL_AUTHENTICATE => props("INTERNAL AUTHENTICATE", Volatile, Cryptogram),
        ins::GENERAL_AUTHENTICATE | ins::GENERAL_AUTHENTICATE_ODD => {
            props("GENERAL AUTHENTICATE", Volatile, Cryptogram)
        }
        ins::MANAGE_SECURITY_ENVIRONMENT => props("MANAGE SECURITY ENVIRONMENT", Volatile, Clear),
        // A wrong PIN decrements the retry counter: persistent.
        ins::VERIFY => props("VERIFY", Persistent, Pin),
        ins::CHANGE_REFERENCE_DATA => props("CHANGE REFERENCE DATA", Persistent, Pin),
        ins::RESET_RETRY_COUNTER => props("RESET RETRY COUNTER", Persistent, Pin),
        // Signature counters and deciphered data.
        ins::PERFORM_SECURITY_OPERATION => {
            props("PERFORM SECURITY OPERATION", Persistent, Cryptogram)
        }
        ins::UPDATE_BINARY | ins::UPDATE_BINARY_ODD => props("UPDATE BINARY", Persistent, Clear),
        ins::WRITE_BINARY | ins::WRITE_BINARY_ODD => props("WRITE BINARY", Persistent, Clear),
        ins::ERASE_BINARY => props("ERASE BINARY", Persistent, Clear),
        ins::UPDATE_RECORD | ins::UPDATE_RECORD_ODD => props("UPDATE RECORD", Persistent, Clear),
        ins::WRITE_RECORD => props("WRITE RECORD", Persistent, Clear),
        ins::APPEND_RECORD => props("APPEND RECORD", Persistent, Clear),
        // The template carries the new AP's key sets (PROFILE.md §12.2).
        ins::CREATE_FILE => props("CREATE FILE", Persistent, Cryptogram),
        ins::DELETE_FILE => props("DELETE FILE", Persistent, Clear),
        ins::ACTIVATE_FILE => props("ACTIVATE FILE", Persistent, Clear),
        ins::DEACTIVATE_FILE => props("DEACTIVATE FILE", Persistent, Clear),
        ins::TERMINATE_DF => props("TERMINATE DF", Persistent, Clear),
        ins::TERMINATE_CARD_USAGE => props("TERMINATE CARD USAGE", Persistent, Clear),
        _ => props("command", Persistent, Clear),
    }
}

/// Whether a class byte announces secure messaging (ISO/IEC 7816-4 §5.4.1:
/// interindustry class, bits b4–b3 not `00`): the data of such a command and
/// of its response are secure-messaging payloads, hidden by traces.
pub(crate) fn is_protected_class(cla: u8) -> bool {
    cla & 0x80 == 0 && cla & 0x0C != 0
}

/// SELECT by DF name, no response data (`00 A4 04 0C Lc AID`; ISO/IEC
/// 7816-4 §11.2.2, P1 `04`, P2 `0C`; PROFILE.md §2).
pub(crate) fn select_df_name(aid: &[u8]) -> Result<Command, ApduError> {
    Command::new(CLA, ins::SELECT, 0x04, 0x0C, aid, None)
}

/// SELECT of the MF by its file identifier `3F00` (`00 A4 00 0C 02 3F 00`;
/// ISO/IEC 7816-4 §11.2.2, P1 `00`; PROFILE.md §2, EF.DIR discovery).
pub(crate) fn select_mf() -> Result<Command, ApduError> {
    Command::new(CLA, ins::SELECT, 0x00, 0x0C, [0x3F, 0x00], None)
}

/// SELECT of an EF under the current DF by file identifier
/// (`00 A4 02 0C 02 FID`; ISO/IEC 7816-4 §11.2.2, P1 `02`; PROFILE.md §9).
pub(crate) fn select_ef(fid: [u8; 2]) -> Result<Command, ApduError> {
    Command::new(CLA, ins::SELECT, 0x02, 0x0C, fid, None)
}

/// READ BINARY of the EF with short file identifier `sfi`, from offset 0
/// (`00 B0 80|SFI 00 Le`; ISO/IEC 7816-4 §11.3.3, P1 b8 = 1; PROFILE.md §4,
/// §6). Also makes the EF current.
pub(crate) fn read_binary_sfi(sfi: u8, ne: usize) -> Result<Command, ApduError> {
    Command::new(
        CLA,
        ins::READ_BINARY,
        0x80 | (sfi & 0x1F),
        0x00,
        [],
        Some(ne),
    )
}

/// READ BINARY of the current EF from `offset` (`00 B0 hi lo Le`, offset up to
/// `7FFF`; ISO/IEC 7816-4 §11.3.3, P1 b8 = 0).
pub(crate) fn read_binary_offset(offset: u16, ne: usize) -> Result<Command, ApduError> {
    if offset > 0x7FFF {
        return Err(ApduError::BadOffset(offset));
    }
    let [hi, lo] = offset.to_be_bytes();
    Command::new(CLA, ins::READ_BINARY, hi, lo, [], Some(ne))
}

/// READ RECORD of record `number` of the EF with short file identifier `sfi`
/// (0: the current EF) (`00 B2 n SFI<<3|100 Le`; ISO/IEC 7816-4 §11.4.3,
/// P2 b3–b1 = `100`).
pub(crate) fn read_record(number: u8, sfi: u8, ne: usize) -> Result<Command, ApduError> {
    Command::new(
        CLA,
        ins::READ_RECORD,
        number,
        ((sfi & 0x1F) << 3) | 0b100,
        [],
        Some(ne),
    )
}

/// READ RECORDS from record `number` to the last (`00 B2 n SFI<<3|101 Le`;
/// ISO/IEC 7816-4 §11.4.3, P2 b3–b1 = `101`; PROFILE.md §5).
pub(crate) fn read_records_from(number: u8, sfi: u8, ne: usize) -> Result<Command, ApduError> {
    Command::new(
        CLA,
        ins::READ_RECORD,
        number,
        ((sfi & 0x1F) << 3) | 0b101,
        [],
        Some(ne),
    )
}

/// GET RESPONSE for the `ne` bytes a `61xx` announced (`00 C0 00 00 Le`;
/// ISO/IEC 7816-4 §11.7.1; PROFILE.md §1).
pub(crate) fn get_response(ne: usize) -> Result<Command, ApduError> {
    Command::new(CLA, ins::GET_RESPONSE, 0x00, 0x00, [], Some(ne))
}

/// GET CHALLENGE of `ne` bytes (`00 84 00 00 08` for `RND.ICC`; ISO/IEC
/// 7816-4 §11.5.3; PROFILE.md §7 step 1).
pub(crate) fn get_challenge(ne: usize) -> Result<Command, ApduError> {
    Command::new(CLA, ins::GET_CHALLENGE, 0x00, 0x00, [], Some(ne))
}

/// MUTUAL AUTHENTICATE with the terminal's cryptogram `E_IFD ‖ M_IFD`
/// (`00 82 00 00 Lc data Le`; ISO/IEC 7816-4 §11.5.4; PROFILE.md §7 step 2;
/// ICAO 9303 Part 11 §4.3.3.1). The data are zeroized with the command.
#[cfg(test)]
pub(crate) fn mutual_authenticate(data: Vec<u8>, ne: usize) -> Result<Command, ApduError> {
    mutual_authenticate_with_reference(0x00, data, ne)
}

/// MUTUAL AUTHENTICATE naming a key set in `P2` (`00 82 00 P2 Lc data Le`;
/// ISO/IEC 7816-4 §11.5.4, P2 b8 = 1 "specific reference data", b5–b1 the
/// key number; PROFILE.md §11.1: `00`/`81` read keys, `82` update keys, `83`
/// issuer keys).
pub(crate) fn mutual_authenticate_with_reference(
    p2: u8,
    data: Vec<u8>,
    ne: usize,
) -> Result<Command, ApduError> {
    Command::new(CLA, ins::MUTUAL_AUTHENTICATE, 0x00, p2, data, Some(ne))
}

/// UPDATE RECORD of record `number` of the EF with short file identifier
/// `sfi`, the data the whole record (`00 DC n SFI<<3|100 Lc record`; ISO/IEC
/// 7816-4 §11.4.4; PROFILE.md §11.2).
pub(crate) fn update_record(number: u8, sfi: u8, record: &[u8]) -> Result<Command, ApduError> {
    Command::new(
        CLA,
        ins::UPDATE_RECORD,
        number,
        ((sfi & 0x1F) << 3) | 0b100,
        record,
        None,
    )
}

/// UPDATE BINARY of the EF with short file identifier `sfi` from `offset`
/// (`00 D6 80|SFI offset Lc data`; ISO/IEC 7816-4 §11.3.4, P1 b8 = 1;
/// PROFILE.md §11.3, §11.4).
pub(crate) fn update_binary_sfi(sfi: u8, offset: u8, data: &[u8]) -> Result<Command, ApduError> {
    Command::new(
        CLA,
        ins::UPDATE_BINARY,
        0x80 | (sfi & 0x1F),
        offset,
        data,
        None,
    )
}

/// CREATE FILE with an FCP template (`00 E0 00 00 Lc 62 …`; ISO/IEC 7816-9
/// §6.1 / 7816-4 §11.2.4; PROFILE.md §12.2). The template holds keys: sent
/// only under secure messaging in encryption mode, zeroized with the command.
#[cfg_attr(not(feature = "issuer"), allow(dead_code))]
pub(crate) fn create_file(template: &[u8]) -> Result<Command, ApduError> {
    Command::new(CLA, ins::CREATE_FILE, 0x00, 0x00, template, None)
}

/// DELETE FILE by DF name (`00 E4 04 00 Lc AID`; ISO/IEC 7816-9 §6.2;
/// PROFILE.md §12.3).
#[cfg_attr(not(feature = "issuer"), allow(dead_code))]
pub(crate) fn delete_file_df_name(aid: &[u8]) -> Result<Command, ApduError> {
    Command::new(CLA, ins::DELETE_FILE, 0x04, 0x00, aid, None)
}

/// DELETE FILE of every AP of an area (`00 E4 A0 00 01 area Le`, a
/// proprietary `P1`; PROFILE.md §12.4: move-out, area `02`). The answer is
/// one byte, the number of APs deleted.
#[cfg_attr(not(feature = "issuer"), allow(dead_code))]
pub(crate) fn delete_area(area: u8, ne: usize) -> Result<Command, ApduError> {
    Command::new(CLA, ins::DELETE_FILE, 0xA0, 0x00, [area], Some(ne))
}

/// GET DATA of entry `index` (from 1) of the APs of an area (`00 CA index
/// area Le`, a proprietary `P1 P2`; PROFILE.md §12.5; area `00` both).
#[cfg_attr(not(feature = "issuer"), allow(dead_code))]
pub(crate) fn get_data_entry(index: u8, area: u8, ne: usize) -> Result<Command, ApduError> {
    Command::new(CLA, ins::GET_DATA, index, area, [], Some(ne))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::LengthEncoding;

    fn bytes(c: Result<Command, ApduError>) -> String {
        hex::encode_upper(c.unwrap().to_bytes(LengthEncoding::Short).unwrap())
    }

    #[test]
    fn headers_match_the_profile() {
        assert_eq!(bytes(select_df_name(&[0xF0, 0x01])), "00A4040C02F001");
        assert_eq!(bytes(select_mf()), "00A4000C023F00");
        assert_eq!(bytes(select_ef([0x01, 0x1E])), "00A4020C02011E");
        assert_eq!(bytes(read_binary_sfi(1, 256)), "00B0810000");
        assert_eq!(bytes(read_binary_offset(0xDF, 32)), "00B000DF20");
        assert!(read_binary_offset(0x8000, 1).is_err());
        assert_eq!(bytes(read_record(2, 30, 256)), "00B202F400");
        assert_eq!(bytes(read_records_from(1, 1, 256)), "00B2010D00");
        assert_eq!(bytes(get_response(16)), "00C0000010");
        assert_eq!(bytes(get_challenge(8)), "0084000008");
        assert_eq!(
            bytes(mutual_authenticate(vec![0xAA; 2], 2)),
            "0082000002AAAA02"
        );
    }

    #[test]
    fn properties_are_one_table() {
        for read in [0xB0, 0xB1, 0xB2, 0xB3, 0xCA, 0xCB, 0xC0] {
            assert!(properties(read).is_read(), "{read:02X}");
        }
        for write in [0xD6, 0xDC, 0x20, 0x24, 0x2C, 0x2A, 0xE0, 0xE4, 0x44, 0x04] {
            assert_eq!(properties(write).effect, Effect::Persistent, "{write:02X}");
        }
        assert_eq!(properties(0xA4).effect, Effect::Volatile);
        assert_eq!(properties(0x84).effect, Effect::Volatile);
        // Unknown instructions are never resent.
        assert_eq!(properties(0x12).effect, Effect::Persistent);
        assert!(properties(0x20).secret_data() && !properties(0x20).secret_response());
        assert!(properties(0x82).secret_data() && properties(0x82).secret_response());
        assert!(!properties(0xB0).secret_data());
        assert!(is_protected_class(0x0C) && !is_protected_class(0x00));
        assert!(!is_protected_class(0x8C));
    }
}
