//! The CREATE FILE template (PROFILE.md §12.2) and the GET DATA entries of a
//! listing (§12.5), host side.

use zeroize::Zeroizing;

use super::{Area, InstallRequest, KeySet};
use crate::crypto::Suite;
use crate::error::{Error, Result};
use crate::profile::ApType;
use crate::tlv::{parse_ber_all, push_ber};
use crate::userid::UserId;

/// Type A: most info records, longest value, whole EF (PROFILE.md §5).
const A_RECORDS_MAX: usize = 30;
const A_VALUE_MAX: usize = 127;
const A_EF_MAX: usize = 255;
/// Type C: info values together (§4).
const C_INFO_MAX: usize = 12;
/// Type D: bytes after the user ID (§6).
const D_DATA_MAX: usize = 242;
/// EF.DIR label.
const LABEL_MAX: usize = 64;

pub(crate) fn type_code(kind: ApType) -> Option<u8> {
    match kind {
        ApType::A => Some(0x41),
        ApType::C => Some(0x43),
        ApType::D => Some(0x44),
        ApType::Custom => None,
    }
}

fn suite_code(suite: Suite) -> u8 {
    match suite {
        Suite::TripleDes => 0x01,
        Suite::Aes128 => 0x02,
        Suite::Aes256 => 0x03,
    }
}

fn request_error(problem: impl Into<String>) -> Error {
    Error::Request {
        problem: problem.into(),
    }
}

/// Checks a request against the limits of PROFILE.md §4–6 and §12.2 before
/// anything is sent.
pub(crate) fn check(request: &InstallRequest) -> Result<()> {
    if type_code(request.kind).is_none() {
        return Err(request_error("only Type A, C and D APs can be installed"));
    }
    if !(5..=16).contains(&request.aid.len()) {
        return Err(request_error(format!(
            "an AID has 5 to 16 bytes, got {}",
            request.aid.len()
        )));
    }
    if request.label.len() > LABEL_MAX {
        return Err(request_error(format!(
            "the label has {} bytes, at most {LABEL_MAX}",
            request.label.len()
        )));
    }
    let values = || request.info.iter().flatten();
    match request.kind {
        ApType::A => {
            if request.info.len() > A_RECORDS_MAX {
                return Err(request_error(format!(
                    "a Type A AP has at most {A_RECORDS_MAX} info records"
                )));
            }
            if let Some(v) = values().find(|v| v.len() > A_VALUE_MAX) {
                return Err(request_error(format!(
                    "an info record holds at most {A_VALUE_MAX} bytes, got {}",
                    v.len()
                )));
            }
            let total = 15
                + request
                    .info
                    .iter()
                    .map(|v| 2 + v.as_ref().map_or(0, Vec::len))
                    .sum::<usize>();
            if total > A_EF_MAX {
                return Err(request_error(format!(
                    "the records take {total} bytes, a Type A file at most {A_EF_MAX}"
                )));
            }
        }
        ApType::C => {
            if request.info.len() > 3 {
                return Err(request_error("a Type C AP has info1 to info3 only"));
            }
            let total: usize = values().map(Vec::len).sum();
            if total > C_INFO_MAX {
                return Err(request_error(format!(
                    "the info fields take {total} bytes, a Type C AP at most {C_INFO_MAX}"
                )));
            }
        }
        ApType::D | ApType::Custom => {}
    }
    if request.kind != ApType::D && !request.data.is_empty() {
        return Err(request_error("only a Type D AP takes data"));
    }
    if request.kind == ApType::D && !request.info.is_empty() {
        return Err(request_error("a Type D AP takes data, not info fields"));
    }
    if request.data.len() > D_DATA_MAX {
        return Err(request_error(format!(
            "Type D data hold at most {D_DATA_MAX} bytes, got {}",
            request.data.len()
        )));
    }
    Ok(())
}

fn key_template(out: &mut Vec<u8>, tag: u32, keys: &KeySet) -> Result<()> {
    let mut inner = Zeroizing::new(Vec::with_capacity(80));
    push_ber(&mut inner, 0x80, &[suite_code(keys.suite())])?;
    push_ber(&mut inner, 0x81, keys.k_enc().expose())?;
    push_ber(&mut inner, 0x82, keys.k_mac().expose())?;
    push_ber(out, tag, &inner)?;
    Ok(())
}

/// `62 { 82 01 38, 84 AID, A5 { 80 type, 81 area, 82 user ID, 50 label,
/// [A1 read keys], A2 update keys, A3 contents } }`. Holds keys: zeroized.
pub(crate) fn create_file_template(
    request: &InstallRequest,
    user_id: &UserId,
    read_keys: Option<&KeySet>,
    update_keys: &KeySet,
) -> Result<Zeroizing<Vec<u8>>> {
    let kind = type_code(request.kind).ok_or_else(|| request_error("unknown AP type"))?;
    let mut contents = Vec::new();
    match request.kind {
        ApType::D => contents.extend_from_slice(&request.data),
        _ => {
            for (tag, value) in (0xC1u32..).zip(&request.info) {
                match (request.kind, value) {
                    (ApType::C, None) => {}
                    (_, value) => push_ber(&mut contents, tag, value.as_deref().unwrap_or(&[]))?,
                }
            }
        }
    }
    let mut proprietary = Zeroizing::new(Vec::with_capacity(256));
    push_ber(&mut proprietary, 0x80, &[kind])?;
    push_ber(&mut proprietary, 0x81, &[request.area.code()])?;
    push_ber(&mut proprietary, 0x82, user_id.as_str().as_bytes())?;
    if !request.label.is_empty() {
        push_ber(&mut proprietary, 0x50, request.label.as_bytes())?;
    }
    if let Some(read) = read_keys {
        key_template(&mut proprietary, 0xA1, read)?;
    }
    key_template(&mut proprietary, 0xA2, update_keys)?;
    push_ber(&mut proprietary, 0xA3, &contents)?;
    let mut fcp = Zeroizing::new(Vec::with_capacity(proprietary.len() + 32));
    push_ber(&mut fcp, 0x82, &[0x38])?;
    push_ber(&mut fcp, 0x84, &request.aid)?;
    push_ber(&mut fcp, 0xA5, &proprietary)?;
    let mut out = Zeroizing::new(Vec::with_capacity(fcp.len() + 4));
    push_ber(&mut out, 0x62, &fcp)?;
    Ok(out)
}

/// One AP of a listing (PROFILE.md §12.5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedAp {
    /// The AID.
    pub aid: Vec<u8>,
    /// The EF.DIR label, if any.
    pub label: Option<String>,
    /// A, C or D.
    pub kind: ApType,
    /// The area.
    pub area: Area,
    /// The user ID written at loading.
    pub user_id: UserId,
}

/// Parses `61 { 4F aid, [50 label], 80 type, 81 area, 82 user ID }`.
pub(crate) fn parse_entry(bytes: &[u8]) -> Result<ListedAp> {
    let bad = |problem: &str| Error::Malformed {
        ap: "card manager".into(),
        problem: format!("GET DATA entry: {problem}"),
    };
    let outer = parse_ber_all(bytes)?;
    let [template] = outer.as_slice() else {
        return Err(bad("not one template"));
    };
    if template.tag != 0x61 {
        return Err(bad("not an application template 61"));
    }
    let (mut aid, mut label, mut kind, mut area, mut user_id) = (None, None, None, None, None);
    for object in parse_ber_all(template.value)? {
        match (object.tag, object.value) {
            (0x4F, v) => aid = Some(v.to_vec()),
            (0x50, v) => label = Some(String::from_utf8_lossy(v).into_owned()),
            (0x80, [0x41]) => kind = Some(ApType::A),
            (0x80, [0x43]) => kind = Some(ApType::C),
            (0x80, [0x44]) => kind = Some(ApType::D),
            (0x81, [code]) => area = Area::from_code(*code),
            (0x82, v) => {
                user_id = Some(UserId::parse(v).map_err(|e| bad(&format!("user ID: {e}")))?);
            }
            _ => return Err(bad("unexpected data object")),
        }
    }
    Ok(ListedAp {
        aid: aid.ok_or_else(|| bad("no AID"))?,
        label,
        kind: kind.ok_or_else(|| bad("no type"))?,
        area: area.ok_or_else(|| bad("no area"))?,
        user_id: user_id.ok_or_else(|| bad("no user ID"))?,
    })
}
