//! Writes, card side (PROFILE.md §11): UPDATE RECORD for Type A, UPDATE
//! BINARY for Types C and D, allowed only on a channel opened with the AP's
//! update keys. Every check runs before anything changes, and the record or
//! byte range is then replaced as a whole, so a write is atomic.

use cardap::StatusWord;

use crate::auth::KeySet;
use crate::card::{Df, EfId, VirtualCard};
use crate::commands::{Access, Apdu, Reply};
use crate::description::{ApType, TYPE_A_EF_MAX, TYPE_A_VALUE_MAX, TYPE_C_INFO_MAX};
use crate::fs::ElementaryFile;
use crate::tlv::split_do;
use crate::user_id::USER_ID_LEN;

/// `6A 84`: not enough memory space in the file (a write that does not fit).
const SW_NO_SPACE: StatusWord = StatusWord::NotEnoughMemory;
/// `69 85`: conditions of use not satisfied (the user ID is write-once).
const SW_CONDITIONS: StatusWord = StatusWord::ConditionsNotSatisfied;

/// Tag of the user-ID field or record.
const TAG_USER_ID: u8 = 0xC0;

impl VirtualCard {
    /// The AP whose EF this channel may write: a channel opened with the
    /// update keys of the selected AP (PROFILE.md §11.1), else `69 82`.
    fn writable_ap(&self, access: Access) -> Result<usize, StatusWord> {
        match (access, self.state.key_set, self.state.df) {
            (Access::Secure, Some(KeySet::Update), Df::Ap(index)) => Ok(index),
            _ => Err(StatusWord::SecurityStatusNotSatisfied),
        }
    }

    /// Resolves the EF of a write: by SFI (made current) or the current EF.
    fn write_target(&mut self, sfi: Option<u8>) -> Result<usize, StatusWord> {
        let ef = match sfi {
            Some(sfi) => {
                let ef = self.ef_by_sfi(sfi).ok_or(StatusWord::NotFound)?;
                self.state.ef = Some(ef);
                ef
            }
            None => self.state.ef.ok_or(StatusWord::CommandNotAllowed)?,
        };
        match ef {
            EfId::Ap(index) => Ok(index),
            EfId::Dir => Err(StatusWord::SecurityStatusNotSatisfied),
        }
    }

    /// UPDATE RECORD `DC` (ISO/IEC 7816-4 §11.4.5, PROFILE.md §11.2): record
    /// `P1`, `P2 = 0C` (SFI 1) or `04` (current EF); data the whole record.
    pub(crate) fn update_record(&mut self, apdu: &Apdu, access: Access) -> Reply {
        match self.try_update_record(apdu, access) {
            Ok(()) => Reply::ok(Vec::new()),
            Err(sw) => Reply::status(sw),
        }
    }

    fn try_update_record(&mut self, apdu: &Apdu, access: Access) -> Result<(), StatusWord> {
        let ap = self.writable_ap(access)?;
        let sfi = match apdu.p2 {
            0x0C => Some(1),
            0x04 => None,
            _ => return Err(StatusWord::WrongP1P2),
        };
        if apdu.p1 == 0 {
            return Err(StatusWord::WrongP1P2);
        }
        let index = self.write_target(sfi)?;
        if index != ap {
            return Err(StatusWord::SecurityStatusNotSatisfied);
        }
        let Some(ElementaryFile::Records(records)) = self.files.get(index) else {
            return Err(StatusWord::IncompatibleFileStructure);
        };
        if apdu.p1 == 1 {
            return Err(SW_CONDITIONS);
        }
        let slot = usize::from(apdu.p1) - 1;
        let Some(old) = records.get(slot) else {
            return Err(StatusWord::RecordNotFound);
        };
        let record = apdu.data.as_slice();
        let expected_tag = TAG_USER_ID.wrapping_add(apdu.p1 - 1);
        let (tag, value) = match record {
            [tag, len, value @ ..] if *len < 0x80 && usize::from(*len) == value.len() => {
                (*tag, value)
            }
            [_, len, value @ ..] if *len == 0x81 && value.len() > TYPE_A_VALUE_MAX => {
                return Err(SW_NO_SPACE);
            }
            _ => return Err(StatusWord::WrongData),
        };
        if tag != expected_tag {
            return Err(StatusWord::WrongData);
        }
        if value.len() > TYPE_A_VALUE_MAX {
            return Err(SW_NO_SPACE);
        }
        let total: usize = records.iter().map(Vec::len).sum::<usize>() - old.len() + record.len();
        if total > TYPE_A_EF_MAX {
            return Err(SW_NO_SPACE);
        }
        let record = record.to_vec();
        if let Some(ElementaryFile::Records(records)) = self.files.get_mut(index)
            && let Some(old) = records.get_mut(slot)
        {
            *old = record;
            self.changes = self.changes.wrapping_add(1);
        }
        Ok(())
    }

    /// UPDATE BINARY `D6` (ISO/IEC 7816-4 §11.3.5, PROFILE.md §11.3–11.5):
    /// `P1` b8 set: SFI in b5–b1, offset `P2`; else a 15-bit offset in the
    /// current EF.
    pub(crate) fn update_binary(&mut self, apdu: &Apdu, access: Access) -> Reply {
        match self.try_update_binary(apdu, access) {
            Ok(()) => Reply::ok(Vec::new()),
            Err(sw) => Reply::status(sw),
        }
    }

    fn try_update_binary(&mut self, apdu: &Apdu, access: Access) -> Result<(), StatusWord> {
        let ap = self.writable_ap(access)?;
        let (sfi, offset) = if apdu.p1 & 0x80 != 0 {
            let sfi = apdu.p1 & 0x1F;
            if apdu.p1 & 0x60 != 0 || sfi == 0 {
                return Err(StatusWord::WrongP1P2);
            }
            (Some(sfi), usize::from(apdu.p2))
        } else {
            (None, usize::from(u16::from_be_bytes([apdu.p1, apdu.p2])))
        };
        let index = self.write_target(sfi)?;
        if index != ap {
            return Err(StatusWord::SecurityStatusNotSatisfied);
        }
        let ap_type = self
            .description
            .aps()
            .get(index)
            .map(|ap| ap.ap_type())
            .ok_or(StatusWord::NotFound)?;
        let Some(ElementaryFile::Transparent(file)) = self.files.get(index) else {
            return Err(StatusWord::IncompatibleFileStructure);
        };
        let data = apdu.data.as_slice();
        if data.is_empty() {
            return Err(StatusWord::WrongLength);
        }
        if offset >= file.len() {
            return Err(StatusWord::WrongOffset);
        }
        let end = offset.saturating_add(data.len());
        if end > file.len() {
            return Err(SW_NO_SPACE);
        }
        let protected = match ap_type {
            ApType::C => 2 + USER_ID_LEN,
            _ => USER_ID_LEN,
        };
        if offset < protected {
            return Err(SW_CONDITIONS);
        }
        let mut new = file.clone();
        if let Some(range) = new.get_mut(offset..end) {
            range.copy_from_slice(data);
        }
        if ap_type == ApType::C && !is_type_c_file(&new) {
            return Err(StatusWord::WrongData);
        }
        if let Some(slot) = self.files.get_mut(index) {
            *slot = ElementaryFile::Transparent(new);
            self.changes = self.changes.wrapping_add(1);
        }
        Ok(())
    }
}

/// Whether `file` is a Type C file of PROFILE.md §4: `C0 0D <user ID>`, then
/// `C1`, `C2`, `C3` in this order, each at most once, values of 12 bytes at
/// most together, then only `FF`.
pub(crate) fn is_type_c_file(file: &[u8]) -> bool {
    let Some((object, mut rest)) = split_do(file) else {
        return false;
    };
    if object.tag != TAG_USER_ID || object.value.len() != USER_ID_LEN {
        return false;
    }
    let mut last = TAG_USER_ID;
    let mut total = 0usize;
    while let Some(&first) = rest.first() {
        if first == 0xFF {
            return total <= TYPE_C_INFO_MAX && rest.iter().all(|&b| b == 0xFF);
        }
        // Type C headers are one tag byte and one length byte.
        let Some(&len) = rest.get(1) else {
            return false;
        };
        if !(0xC1..=0xC3).contains(&first) || first <= last || len >= 0x80 {
            return false;
        }
        let Some((object, remaining)) = split_do(rest) else {
            return false;
        };
        total += object.value.len();
        last = first;
        rest = remaining;
    }
    total <= TYPE_C_INFO_MAX
}
