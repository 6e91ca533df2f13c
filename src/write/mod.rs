//! Writing info fields (PROFILE.md §11): the requests a business system
//! makes (`info2=HEX`, `data@13=HEX`, `FIELD=TEXT`), checked against the
//! profile and turned into the plain UPDATE RECORD / UPDATE BINARY commands
//! that the card runs under secure messaging with the AP's update keys.

pub mod encode;
pub(crate) mod ops;

use zeroize::Zeroizing;

use crate::apdu::Command;
use crate::commands;
use crate::error::{Error, Result};
use crate::profile::{ApType, FieldSource, Profile};

/// Type A: the highest info field (tags `C1` … `DE`), longest value, whole EF.
const A_FIELDS_MAX: usize = 30;
const A_VALUE_MAX: usize = 127;
/// Type C: the file, where the info fields begin, their values together.
const C_FILE_LEN: usize = 33;
const C_FIELDS_START: usize = 15;
const C_INFO_MAX: usize = 12;
/// Type D: the file and where data begin.
const D_FILE_LEN: usize = 255;
const D_DATA_START: usize = 13;
/// The short file identifier of every AP's EF (PROFILE.md §4–6).
const EF_SFI: u8 = 1;

/// One write a business system asks for. Values are zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldWrite {
    /// Raw bytes of info field `n` (1-based; Types A and C): `infoN=HEX`.
    Info {
        /// The field number.
        n: usize,
        /// The new value.
        value: Zeroizing<Vec<u8>>,
    },
    /// Raw bytes at a file offset (Type D, offset 13 or more): `data@OFFSET=HEX`.
    Data {
        /// The file offset.
        offset: usize,
        /// The bytes.
        value: Zeroizing<Vec<u8>>,
    },
    /// A decoded `[[field]]` of the profile, encoded per its encoding:
    /// `FIELD=TEXT`.
    Field {
        /// The field's name in the profile.
        name: String,
        /// The text.
        text: Zeroizing<String>,
    },
}

impl std::fmt::Debug for FieldWrite {
    // Values are card data: only their place and size are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Info { n, value } => write!(f, "info{n} ({} bytes)", value.len()),
            Self::Data { offset, value } => write!(f, "data@{offset} ({} bytes)", value.len()),
            Self::Field { name, text } => write!(f, "{name} ({} bytes of text)", text.len()),
        }
    }
}

fn request_error(problem: impl Into<String>) -> Error {
    Error::Request {
        problem: problem.into(),
    }
}

impl FieldWrite {
    /// Raw bytes of info field `n`.
    pub fn info(n: usize, value: impl Into<Vec<u8>>) -> Self {
        Self::Info {
            n,
            value: Zeroizing::new(value.into()),
        }
    }

    /// Raw bytes at a Type D file offset.
    pub fn data(offset: usize, value: impl Into<Vec<u8>>) -> Self {
        Self::Data {
            offset,
            value: Zeroizing::new(value.into()),
        }
    }

    /// A decoded field of the profile, by name.
    pub fn field(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self::Field {
            name: name.into(),
            text: Zeroizing::new(text.into()),
        }
    }

    /// Parses the CLI form: `infoN=HEX`, `data@OFFSET=HEX`, or `FIELD=TEXT`
    /// (any other name: a `[[field]]` of the profile). Hex may contain spaces.
    pub fn parse(spec: &str) -> Result<Self> {
        let (key, value) = spec
            .split_once('=')
            .ok_or_else(|| request_error(format!("{:?}: expected KEY=VALUE", key_of(spec))))?;
        let hex = |what: &str| {
            let cleaned: Zeroizing<String> =
                Zeroizing::new(value.chars().filter(|c| !c.is_whitespace()).collect());
            hex::decode(cleaned.as_bytes())
                .map(Zeroizing::new)
                .map_err(|_| request_error(format!("{what}: the value is not a hex string")))
        };
        if let Some(n) = key
            .strip_prefix("info")
            .and_then(|n| n.parse::<usize>().ok())
        {
            return Ok(Self::Info {
                n,
                value: hex(key)?,
            });
        }
        if let Some(offset) = key.strip_prefix("data@") {
            let offset = parse_offset(offset)
                .ok_or_else(|| request_error(format!("{key}: not a file offset")))?;
            return Ok(Self::Data {
                offset,
                value: hex(key)?,
            });
        }
        if key.is_empty() {
            return Err(request_error("a write needs a field name before '='"));
        }
        Ok(Self::field(key, value))
    }

    fn label(&self) -> String {
        match self {
            Self::Info { n, .. } => format!("info{n}"),
            Self::Data { offset, .. } => format!("data@{offset}"),
            Self::Field { name, .. } => name.clone(),
        }
    }
}

fn key_of(spec: &str) -> &str {
    spec.split('=').next().unwrap_or(spec)
}

fn parse_offset(text: &str) -> Option<usize> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => usize::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// A write resolved against the profile: raw bytes at a place.
enum Resolved {
    Info(usize, Zeroizing<Vec<u8>>),
    Data(usize, Zeroizing<Vec<u8>>),
}

fn resolve(profile: &Profile, write: &FieldWrite) -> Result<Resolved> {
    let ap = profile.name();
    match write {
        FieldWrite::Info { n, value } => Ok(Resolved::Info(*n, value.clone())),
        FieldWrite::Data { offset, value } => Ok(Resolved::Data(*offset, value.clone())),
        FieldWrite::Field { name, text } => {
            let spec = profile
                .fields()
                .iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| request_error(format!("{ap}: the profile has no field {name:?}")))?;
            let problem = |p: String| request_error(format!("{ap}: field {name}: {p}"));
            match spec.source() {
                FieldSource::Info(n) => {
                    let bytes = encode::encode(spec.encoding(), text, None).map_err(problem)?;
                    Ok(Resolved::Info(usize::from(*n), Zeroizing::new(bytes)))
                }
                FieldSource::Range {
                    step: None,
                    offset,
                    length,
                } => {
                    let bytes =
                        encode::encode(spec.encoding(), text, Some(*length)).map_err(problem)?;
                    Ok(Resolved::Data(*offset, Zeroizing::new(bytes)))
                }
                FieldSource::Range { step: Some(_), .. } => Err(problem(
                    "fields of a custom AP's read steps cannot be written".to_owned(),
                )),
            }
        }
    }
}

/// What a write plans to send after the authentication.
pub(crate) enum Plan {
    /// Types A and D: these commands, no read first.
    Commands(Vec<Command>),
    /// Type C: the file must be read first; the changes to its info fields.
    TypeC(Vec<(usize, Zeroizing<Vec<u8>>)>),
}

/// Checks every write against the profile and PROFILE.md §11 and turns them
/// into plain commands, in the order given. Nothing is sent when one of them
/// is wrong.
pub(crate) fn plan(profile: &Profile, writes: &[FieldWrite]) -> Result<Plan> {
    let ap = profile.name();
    if writes.is_empty() {
        return Err(request_error(format!("{ap}: nothing to write")));
    }
    let resolved = writes
        .iter()
        .map(|w| resolve(profile, w))
        .collect::<Result<Vec<_>>>()?;
    let wrong_kind = |w: &FieldWrite| {
        request_error(format!(
            "{ap}: {} cannot be written on a Type {} AP",
            w.label(),
            profile.ap_type().name()
        ))
    };
    match profile.ap_type() {
        ApType::A => {
            let mut commands = Vec::with_capacity(resolved.len());
            for (write, r) in writes.iter().zip(resolved) {
                let Resolved::Info(n, value) = r else {
                    return Err(wrong_kind(write));
                };
                if !(1..=A_FIELDS_MAX).contains(&n) {
                    return Err(request_error(format!(
                        "{ap}: info{n}: a Type A AP has info1 to info{A_FIELDS_MAX}"
                    )));
                }
                if value.len() > A_VALUE_MAX {
                    return Err(request_error(format!(
                        "{ap}: info{n}: {} bytes, a record holds at most {A_VALUE_MAX}",
                        value.len()
                    )));
                }
                let mut record = Zeroizing::new(Vec::with_capacity(value.len() + 2));
                // n ≤ 30 and the value ≤ 127 bytes: both fit one byte.
                record.push(0xC0 + u8::try_from(n).unwrap_or(0));
                record.push(u8::try_from(value.len()).unwrap_or(0));
                record.extend_from_slice(&value);
                let record_number = u8::try_from(n + 1).unwrap_or(0);
                commands.push(commands::update_record(record_number, EF_SFI, &record)?);
            }
            Ok(Plan::Commands(commands))
        }
        ApType::C => {
            let mut changes = Vec::with_capacity(resolved.len());
            for (write, r) in writes.iter().zip(resolved) {
                let Resolved::Info(n, value) = r else {
                    return Err(wrong_kind(write));
                };
                if !(1..=3).contains(&n) {
                    return Err(request_error(format!(
                        "{ap}: info{n}: a Type C AP has info1 to info3"
                    )));
                }
                changes.push((n, value));
            }
            Ok(Plan::TypeC(changes))
        }
        ApType::D => {
            let mut commands = Vec::with_capacity(resolved.len());
            for (write, r) in writes.iter().zip(resolved) {
                let Resolved::Data(offset, value) = r else {
                    return Err(wrong_kind(write));
                };
                if offset < D_DATA_START {
                    return Err(request_error(format!(
                        "{ap}: data@{offset}: bytes 0 to 12 hold the user ID, which is never written"
                    )));
                }
                if value.is_empty() || offset.saturating_add(value.len()) > D_FILE_LEN {
                    return Err(request_error(format!(
                        "{ap}: data@{offset}: {} bytes do not fit the {D_FILE_LEN}-byte file",
                        value.len()
                    )));
                }
                let p2 = u8::try_from(offset).unwrap_or(0);
                commands.push(commands::update_binary_sfi(EF_SFI, p2, &value)?);
            }
            Ok(Plan::Commands(commands))
        }
        ApType::Custom => Err(request_error(format!(
            "{ap}: a custom AP has no write layout in the profile"
        ))),
    }
}

/// The Type C UPDATE BINARY (PROFILE.md §11.3): bytes 15 … 32 rebuilt from
/// the file read in the clear with `changes` applied.
pub(crate) fn type_c_update(
    profile: &Profile,
    file: &[u8],
    changes: &[(usize, Zeroizing<Vec<u8>>)],
) -> Result<Command> {
    let ap = profile.name();
    let mut info: [Option<Zeroizing<Vec<u8>>>; 3] = [None, None, None];
    let mut rest = file.get(C_FIELDS_START..).unwrap_or(&[]);
    while let Some((&tag, tail)) = rest.split_first() {
        if tag == 0xFF {
            break;
        }
        let slot = usize::from(tag.wrapping_sub(0xC1));
        let (&len, tail) = tail
            .split_first()
            .ok_or_else(|| crate::ap::malformed(profile, "info field without a length"))?;
        let (value, tail) = tail
            .split_at_checked(usize::from(len))
            .ok_or_else(|| crate::ap::malformed(profile, "info field runs past the file"))?;
        let place = info
            .get_mut(slot)
            .ok_or_else(|| crate::ap::malformed(profile, format!("unexpected tag {tag:02X}")))?;
        *place = Some(Zeroizing::new(value.to_vec()));
        rest = tail;
    }
    for (n, value) in changes {
        if let Some(place) = info.get_mut(n.wrapping_sub(1)) {
            *place = Some(value.clone());
        }
    }
    let total: usize = info.iter().flatten().map(|v| v.len()).sum();
    if total > C_INFO_MAX {
        return Err(request_error(format!(
            "{ap}: the info fields would take {total} bytes, a Type C AP holds {C_INFO_MAX}"
        )));
    }
    let mut tail = Zeroizing::new(Vec::with_capacity(C_FILE_LEN - C_FIELDS_START));
    for (tag, value) in (0xC1u8..).zip(&info) {
        if let Some(value) = value {
            tail.push(tag);
            tail.push(u8::try_from(value.len()).unwrap_or(0));
            tail.extend_from_slice(value);
        }
    }
    tail.resize(C_FILE_LEN - C_FIELDS_START, 0xFF);
    let p2 = u8::try_from(C_FIELDS_START).unwrap_or(0);
    Ok(commands::update_binary_sfi(EF_SFI, p2, &tail)?)
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteReport {
    /// The profile's name.
    pub name: String,
    /// The AP type.
    pub kind: ApType,
    /// The AID written.
    pub aid: Vec<u8>,
    /// The writes, in order (`info2`, `data@13`, a field's name).
    pub written: Vec<String>,
    /// Command APDUs sent.
    pub apdus: usize,
}

pub(crate) fn labels(writes: &[FieldWrite]) -> Vec<String> {
    writes.iter().map(FieldWrite::label).collect()
}
