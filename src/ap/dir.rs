//! AP discovery through EF.DIR (PROFILE.md §2; ISO/IEC 7816-4 §8.2.1.1): file
//! `2F00` under the MF, SFI 30, one application template `61 { 4F aid, 50 label }`
//! per record.

use super::binary::read_records;
use crate::commands;
use crate::error::{Error, Result};
use crate::session::Session;
use crate::status::StatusWord;
use crate::tlv;

/// EF.DIR's short file identifier.
const EF_DIR_SFI: u8 = 30;

/// One application listed in EF.DIR.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirEntry {
    aid: Vec<u8>,
    label: Option<String>,
}

impl DirEntry {
    /// The AID (DO`4F`).
    pub fn aid(&self) -> &[u8] {
        &self.aid
    }

    /// The label (DO`50`), if any.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}

pub(crate) fn read_dir(session: &mut Session<'_>) -> Result<Vec<DirEntry>> {
    session.transmit_ok(&commands::select_mf()?, "SELECT MF")?;
    let records = match read_records(session, EF_DIR_SFI, false, 65_536) {
        Ok(r) => r,
        // An empty EF.DIR: no AP is loaded.
        Err(Error::Status {
            sw: StatusWord::RecordNotFound,
            ..
        }) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    parse_dir(&records)
}

/// Parses EF.DIR records: application templates `61 { 4F aid, 50 label }`.
pub(crate) fn parse_dir<R: AsRef<[u8]>>(records: &[R]) -> Result<Vec<DirEntry>> {
    let mut out = Vec::new();
    for rec in records {
        let rec = rec.as_ref();
        for tmpl in tlv::parse_ber_all(rec)? {
            if tmpl.tag != 0x61 {
                return Err(Error::Malformed {
                    ap: "EF.DIR".into(),
                    problem: format!("unexpected tag {:X} (expected 61)", tmpl.tag),
                });
            }
            let mut aid = None;
            let mut label = None;
            for obj in tlv::parse_ber_all(tmpl.value)? {
                match obj.tag {
                    0x4F => aid = Some(obj.value.to_vec()),
                    0x50 => label = Some(String::from_utf8_lossy(obj.value).into_owned()),
                    _ => {}
                }
            }
            let aid = aid.ok_or_else(|| Error::Malformed {
                ap: "EF.DIR".into(),
                problem: "application template without AID (4F)".into(),
            })?;
            out.push(DirEntry { aid, label });
        }
    }
    Ok(out)
}
