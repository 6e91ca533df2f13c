//! The card's files: the MF with EF.DIR, and one DF per AP holding one EF
//! (PROFILE.md §2, §4–6).

use crate::description::{ApDescription, ApType};
use crate::tlv::push_do;

/// File ID of the MF.
pub(crate) const MF_FID: [u8; 2] = [0x3F, 0x00];
/// File ID of EF.DIR (ISO/IEC 7816-4 §8.2.1.1).
pub(crate) const EF_DIR_FID: [u8; 2] = [0x2F, 0x00];
/// Short file identifier of EF.DIR.
pub(crate) const EF_DIR_SFI: u8 = 0x1E;
/// File ID of every AP's EF (PROFILE.md §4–6).
pub(crate) const AP_EF_FID: [u8; 2] = [0x00, 0x01];
/// Short file identifier of every AP's EF.
pub(crate) const AP_EF_SFI: u8 = 1;

/// Size of a Type C EF (PROFILE.md §4).
pub const TYPE_C_EF_LEN: usize = 33;
/// Size of a Type D EF (PROFILE.md §6).
pub const TYPE_D_EF_LEN: usize = 255;

/// Tag of the user-ID field and record (`C0`).
const TAG_USER_ID: u8 = 0xC0;

/// An elementary file as the card stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementaryFile {
    /// A transparent EF (Types C and D): its bytes.
    Transparent(Vec<u8>),
    /// A linear variable-record EF (Type A, EF.DIR): its records in order,
    /// record 1 first.
    Records(Vec<Vec<u8>>),
}

impl ElementaryFile {
    /// The EF of an AP: Type C `C0 0D uid | C1 L info1 | … | FF…` (33 bytes),
    /// Type A records `C0 0D uid`, `C1 L v1`, …, Type D `uid ‖ data ‖ 00…`
    /// (255 bytes).
    pub(crate) fn of(ap: &ApDescription) -> Self {
        let user_id = ap.user_id().as_bytes();
        match ap.ap_type() {
            ApType::C => {
                let mut file = Vec::with_capacity(TYPE_C_EF_LEN);
                let _ = push_do(&mut file, TAG_USER_ID, user_id);
                for (tag, value) in (0xC1..).zip(ap.info()) {
                    if let Some(value) = value {
                        let _ = push_do(&mut file, tag, value);
                    }
                }
                if file.len() < TYPE_C_EF_LEN {
                    file.resize(TYPE_C_EF_LEN, 0xFF);
                }
                Self::Transparent(file)
            }
            ApType::A => {
                let mut records = Vec::with_capacity(ap.records().len() + 1);
                records.push(tlv(TAG_USER_ID, user_id));
                for (tag, value) in (0xC1..=0xFF).zip(ap.records()) {
                    records.push(tlv(tag, value));
                }
                Self::Records(records)
            }
            ApType::D => {
                let mut file = Vec::with_capacity(TYPE_D_EF_LEN);
                file.extend_from_slice(user_id);
                file.extend_from_slice(ap.data());
                if file.len() < TYPE_D_EF_LEN {
                    file.resize(TYPE_D_EF_LEN, 0x00);
                }
                Self::Transparent(file)
            }
        }
    }
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    let _ = push_do(&mut out, tag, value);
    out
}

/// The EF.DIR record of an AP: `61 L { 4F len AID, 50 len label }`, the label
/// omitted when there is none (PROFILE.md §2).
pub(crate) fn ef_dir_record(ap: &ApDescription) -> Vec<u8> {
    let mut template = tlv(0x4F, ap.aid());
    if let Some(label) = ap.label() {
        let _ = push_do(&mut template, 0x50, label.as_bytes());
    }
    tlv(0x61, &template)
}
