//! The virtual card description (PROFILE.md §10): which APs the card carries and
//! what their files hold. Read from TOML or built in Rust, and always validated:
//! a [`Description`] value respects every size and format limit of the profile.

use std::fmt;
use std::path::{Path, PathBuf};

use cardap::Suite;

use crate::crypto::SecretKey;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::public::{JpkiDescription, KenhojoDescription, RawJpki, RawKenhojo};
use crate::user_id::validate_user_id;

/// Smallest AID length accepted (ISO/IEC 7816-5 proprietary AIDs are longer).
pub const AID_MIN: usize = 5;
/// Largest AID length (ISO/IEC 7816-4 DF name).
pub const AID_MAX: usize = 16;
/// Type C: the values of info 1–3 together (PROFILE.md §4).
pub const TYPE_C_INFO_MAX: usize = 12;
/// Type A: most info records (tags `C1` … `DE`, PROFILE.md §5).
pub const TYPE_A_RECORDS_MAX: usize = 30;
/// Type A: longest record value (one-byte length, PROFILE.md §5).
pub const TYPE_A_VALUE_MAX: usize = 127;
/// Type A: the whole EF, headers and the user-ID record included.
pub const TYPE_A_EF_MAX: usize = 255;
/// Type D: bytes after the 13-byte user ID (PROFILE.md §6, 255 − 13).
pub const TYPE_D_DATA_MAX: usize = 242;
/// EF.DIR label (DO`50`): a choice of this crate, so a template stays short.
pub const LABEL_MAX: usize = 64;
/// The card-manager application's default AID (PROFILE.md §12.1).
pub const CARD_MANAGER_AID: [u8; 10] = [0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x4D, 0x47, 0x52];
/// The reference card's free area in bytes (PROFILE.md §12.5).
pub const FREE_AREA_DEFAULT: usize = 4096;

/// The three standard AP types (PROFILE.md, table at the top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApType {
    /// Record AP: mutual authentication, secure messaging in MAC mode (§5).
    A,
    /// Common AP: readable in the clear (§4).
    C,
    /// Binary AP: mutual authentication, secure messaging in encryption mode (§6).
    D,
}

impl ApType {
    /// The profile name (`"A"`, `"C"`, `"D"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::C => "C",
            Self::D => "D",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "A" => Some(Self::A),
            "C" => Some(Self::C),
            "D" => Some(Self::D),
            _ => None,
        }
    }
}

impl fmt::Display for ApType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an AP lives on the card (PROFILE.md, introduction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Area {
    /// Extension area: survives a move, lives until the card is renewed.
    #[default]
    Extension,
    /// Local-resident area: deleted when the holder moves out.
    Local,
}

impl Area {
    /// The profile name (`"extension"`, `"local"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Extension => "extension",
            Self::Local => "local",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "extension" => Some(Self::Extension),
            "local" => Some(Self::Local),
            _ => None,
        }
    }
}

/// Which of the three Type C info fields (PROFILE.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InfoField {
    /// `info1`, tag `C1`.
    Info1,
    /// `info2`, tag `C2`.
    Info2,
    /// `info3`, tag `C3`.
    Info3,
}

impl InfoField {
    fn index(self) -> usize {
        match self {
            Self::Info1 => 0,
            Self::Info2 => 1,
            Self::Info3 => 2,
        }
    }
}

/// The static AP keys of a Type A or D AP (PROFILE.md §7). `Debug` redacts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApKeys {
    suite: Suite,
    k_enc: SecretKey,
    k_mac: SecretKey,
}

impl ApKeys {
    /// A key set (lengths are checked when the description is built).
    pub fn new(suite: Suite, k_enc: SecretKey, k_mac: SecretKey) -> Self {
        Self {
            suite,
            k_enc,
            k_mac,
        }
    }

    fn check(&self) -> Result<(), (&'static str, Problem)> {
        let expected = self.suite.key_len();
        for (name, key) in [("k_enc", &self.k_enc), ("k_mac", &self.k_mac)] {
            if key.len() != expected {
                return Err((
                    name,
                    Problem::KeyLength {
                        suite: self.suite,
                        expected,
                        got: key.len(),
                    },
                ));
            }
        }
        Ok(())
    }

    /// The cipher suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// `K_enc`.
    pub fn k_enc(&self) -> &SecretKey {
        &self.k_enc
    }

    /// `K_mac`.
    pub fn k_mac(&self) -> &SecretKey {
        &self.k_mac
    }
}

/// One AP on the virtual card. Built with [`ApDescription::type_a`],
/// [`ApDescription::type_c`] or [`ApDescription::type_d`] and the `with_…`
/// methods; checked when the [`Description`] is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApDescription {
    ap_type: ApType,
    aid: Vec<u8>,
    area: Area,
    user_id: String,
    label: Option<String>,
    keys: Option<ApKeys>,
    update: Option<ApKeys>,
    info: [Option<Vec<u8>>; 3],
    records: Vec<Vec<u8>>,
    data: Vec<u8>,
}

impl ApDescription {
    fn new(ap_type: ApType, aid: Vec<u8>, user_id: String, keys: Option<ApKeys>) -> Self {
        Self {
            ap_type,
            aid,
            area: Area::default(),
            user_id,
            label: None,
            keys,
            update: None,
            info: [None, None, None],
            records: Vec::new(),
            data: Vec::new(),
        }
    }

    /// A Type C (common) AP without info fields (PROFILE.md §4).
    pub fn type_c(aid: impl Into<Vec<u8>>, user_id: impl Into<String>) -> Self {
        Self::new(ApType::C, aid.into(), user_id.into(), None)
    }

    /// A Type A (record) AP without info records (PROFILE.md §5).
    pub fn type_a(
        aid: impl Into<Vec<u8>>,
        user_id: impl Into<String>,
        suite: Suite,
        k_enc: SecretKey,
        k_mac: SecretKey,
    ) -> Self {
        let keys = ApKeys {
            suite,
            k_enc,
            k_mac,
        };
        Self::new(ApType::A, aid.into(), user_id.into(), Some(keys))
    }

    /// A Type D (binary) AP with no data after the user ID (PROFILE.md §6).
    pub fn type_d(
        aid: impl Into<Vec<u8>>,
        user_id: impl Into<String>,
        suite: Suite,
        k_enc: SecretKey,
        k_mac: SecretKey,
    ) -> Self {
        let keys = ApKeys {
            suite,
            k_enc,
            k_mac,
        };
        Self::new(ApType::D, aid.into(), user_id.into(), Some(keys))
    }

    /// Sets the EF.DIR label (DO`50`).
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the update key set (PROFILE.md §11.1).
    pub fn with_update_keys(mut self, keys: ApKeys) -> Self {
        self.update = Some(keys);
        self
    }

    /// Sets the area.
    pub fn with_area(mut self, area: Area) -> Self {
        self.area = area;
        self
    }

    /// Sets a Type C info field (an empty value is present with length 0).
    pub fn with_info(mut self, field: InfoField, value: impl Into<Vec<u8>>) -> Self {
        if let Some(slot) = self.info.get_mut(field.index()) {
            *slot = Some(value.into());
        }
        self
    }

    /// Appends a Type A info record value (tags `C1`, `C2`, … in order).
    pub fn with_record(mut self, value: impl Into<Vec<u8>>) -> Self {
        self.records.push(value.into());
        self
    }

    /// Sets the Type D data: file bytes 13 … of the EF.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// The AP type.
    pub fn ap_type(&self) -> ApType {
        self.ap_type
    }

    /// The AID (DF name).
    pub fn aid(&self) -> &[u8] {
        &self.aid
    }

    /// The area.
    pub fn area(&self) -> Area {
        self.area
    }

    /// The 13-digit user ID.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The EF.DIR label, if any.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The keys (Types A and D).
    pub fn keys(&self) -> Option<&ApKeys> {
        self.keys.as_ref()
    }

    /// The update key set (PROFILE.md §11.1), if the AP can be written.
    pub fn update_keys(&self) -> Option<&ApKeys> {
        self.update.as_ref()
    }

    /// The Type C info fields (`None`: absent).
    pub fn info(&self) -> &[Option<Vec<u8>>; 3] {
        &self.info
    }

    /// The Type A info record values.
    pub fn records(&self) -> &[Vec<u8>] {
        &self.records
    }

    /// The Type D data after the user ID.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The AP's EF as the card stores it (PROFILE.md §4–6).
    pub fn ef(&self) -> crate::fs::ElementaryFile {
        crate::fs::ElementaryFile::of(self)
    }

    fn aid_hex(&self) -> String {
        hex::encode_upper(&self.aid)
    }

    /// Whether this AP alone respects every limit of the profile.
    pub(crate) fn is_valid(&self) -> bool {
        self.validate().is_ok()
    }

    /// Takes the info fields, records or data from the AP's EF as the card
    /// holds it now (after writes), so that the description says what the
    /// card carries.
    pub(crate) fn take_contents_of(&mut self, ef: &crate::fs::ElementaryFile) {
        use crate::fs::ElementaryFile;
        match (self.ap_type, ef) {
            (ApType::C, ElementaryFile::Transparent(file)) => {
                self.info = [None, None, None];
                let mut rest = file.get(2 + crate::user_id::USER_ID_LEN..).unwrap_or(&[]);
                while let Some((object, remaining)) = crate::tlv::split_do(rest) {
                    let slot = usize::from(object.tag.wrapping_sub(0xC1));
                    if let Some(slot) = self.info.get_mut(slot) {
                        *slot = Some(object.value.to_vec());
                    }
                    rest = remaining;
                }
            }
            (ApType::A, ElementaryFile::Records(records)) => {
                self.records = records
                    .iter()
                    .skip(1)
                    .map(|r| r.get(2..).unwrap_or(&[]).to_vec())
                    .collect();
            }
            (ApType::D, ElementaryFile::Transparent(file)) => {
                let data = file.get(crate::user_id::USER_ID_LEN..).unwrap_or(&[]);
                let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                self.data = data.get(..end).unwrap_or(&[]).to_vec();
            }
            _ => {}
        }
    }

    /// Checks every limit of the profile for this AP alone.
    fn validate(&self) -> Result<(), (String, Problem)> {
        let fail = |key: &str, problem| Err((key.to_owned(), problem));
        if !(AID_MIN..=AID_MAX).contains(&self.aid.len()) {
            return fail(
                "aid",
                Problem::AidLength {
                    got: self.aid.len(),
                },
            );
        }
        if let Err(problem) = validate_user_id(&self.user_id) {
            return fail("user_id", problem);
        }
        if let Some(label) = self.label.as_ref().filter(|l| l.len() > LABEL_MAX) {
            return fail(
                "label",
                Problem::TooLong {
                    max: LABEL_MAX,
                    got: label.len(),
                },
            );
        }
        let not_allowed = Problem::NotAllowed {
            ap_type: self.ap_type,
        };
        for (i, info) in self.info.iter().enumerate() {
            if info.is_some() && self.ap_type != ApType::C {
                return fail(&format!("info{}", i + 1), not_allowed);
            }
        }
        if !self.records.is_empty() && self.ap_type != ApType::A {
            return fail("records", not_allowed);
        }
        if !self.data.is_empty() && self.ap_type != ApType::D {
            return fail("data", not_allowed);
        }
        match (&self.keys, self.ap_type) {
            (Some(_), ApType::C) => return fail("suite", not_allowed),
            (None, ApType::A | ApType::D) => return fail("suite", Problem::Missing),
            (Some(keys), _) => {
                if let Err((name, problem)) = keys.check() {
                    return fail(name, problem);
                }
            }
            (None, ApType::C) => {}
        }
        if let Some(Err((name, problem))) = self.update.as_ref().map(ApKeys::check) {
            return fail(&format!("update.{name}"), problem);
        }
        match self.ap_type {
            ApType::C => {
                let total: usize = self.info.iter().flatten().map(Vec::len).sum();
                if total > TYPE_C_INFO_MAX {
                    return fail(
                        "info1..info3",
                        Problem::TooLong {
                            max: TYPE_C_INFO_MAX,
                            got: total,
                        },
                    );
                }
            }
            ApType::A => {
                if self.records.len() > TYPE_A_RECORDS_MAX {
                    return fail(
                        "records",
                        Problem::TooMany {
                            max: TYPE_A_RECORDS_MAX,
                            got: self.records.len(),
                        },
                    );
                }
                for (i, record) in self.records.iter().enumerate() {
                    if record.len() > TYPE_A_VALUE_MAX {
                        return fail(
                            &format!("records[{i}]"),
                            Problem::TooLong {
                                max: TYPE_A_VALUE_MAX,
                                got: record.len(),
                            },
                        );
                    }
                }
                // Record 1 is `C0 0D <user ID>`; every record has a 2-byte header.
                let total = 2
                    + crate::user_id::USER_ID_LEN
                    + self.records.iter().map(|r| 2 + r.len()).sum::<usize>();
                if total > TYPE_A_EF_MAX {
                    return fail(
                        "records",
                        Problem::EfTooLarge {
                            max: TYPE_A_EF_MAX,
                            got: total,
                        },
                    );
                }
            }
            ApType::D => {
                if self.data.len() > TYPE_D_DATA_MAX {
                    return fail(
                        "data",
                        Problem::TooLong {
                            max: TYPE_D_DATA_MAX,
                            got: self.data.len(),
                        },
                    );
                }
            }
        }
        Ok(())
    }
}

/// What is wrong with one value of a description. Never holds key bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A required key is missing.
    Missing,
    /// The key does not belong to this AP type.
    NotAllowed {
        /// The AP's type.
        ap_type: ApType,
    },
    /// Not a hex string (spaces are allowed between digits).
    BadHex,
    /// A key given as something other than a string.
    NotAString,
    /// `type` is not `"A"`, `"C"` or `"D"`.
    UnknownType(String),
    /// `suite` is not `"3des"`, `"aes128"` or `"aes256"`.
    UnknownSuite(String),
    /// `area` is not `"extension"` or `"local"`.
    UnknownArea(String),
    /// A key of the wrong length for the suite.
    KeyLength {
        /// The suite.
        suite: Suite,
        /// Bytes the suite needs.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The user ID is not 13 ASCII digits.
    UserIdFormat,
    /// The user ID's check digit is wrong (PROFILE.md §3).
    UserIdCheckDigit {
        /// The digit §3 calls for.
        expected: u8,
        /// The digit given.
        got: u8,
    },
    /// The AID is not 5 to 16 bytes long.
    AidLength {
        /// Bytes given.
        got: usize,
    },
    /// The AID is used by an earlier AP.
    DuplicateAid {
        /// Index of the earlier AP.
        first: usize,
    },
    /// A value longer than its limit.
    TooLong {
        /// Most bytes allowed.
        max: usize,
        /// Bytes given.
        got: usize,
    },
    /// More records than allowed.
    TooMany {
        /// Most records allowed.
        max: usize,
        /// Records given.
        got: usize,
    },
    /// The whole EF would exceed its size.
    EfTooLarge {
        /// Most bytes in the EF.
        max: usize,
        /// Bytes the EF would need.
        got: usize,
    },
    /// A private key that cannot be used (the reason; never key bytes).
    BadKey(String),
    /// A PIN that breaks its rule (the rule).
    PinFormat(&'static str),
    /// A number outside its range.
    OutOfRange {
        /// Smallest allowed.
        min: usize,
        /// Largest allowed.
        max: usize,
    },
    /// A My Number is 12 ASCII digits.
    MyNumberFormat,
    /// The My Number's check digit is wrong.
    MyNumberCheckDigit {
        /// The digit the published rule gives.
        expected: u8,
        /// The digit given.
        got: u8,
    },
    /// A date is `YYYYMMDD`.
    DateFormat,
    /// `sex` is not `"male"`, `"female"`, `"not_applicable"` (or 1, 2, 9).
    UnknownSex(String),
    /// A certificate or signature could not be made.
    Certificate(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("missing"),
            Self::NotAllowed { ap_type } => write!(f, "not allowed for a type {ap_type} AP"),
            Self::BadHex => f.write_str("not a hex string"),
            Self::NotAString => f.write_str("must be a hex string"),
            // Values are not echoed: a key pasted in the wrong place would show.
            Self::UnknownType(_) => f.write_str("unknown type (expected \"A\", \"C\" or \"D\")"),
            Self::UnknownSuite(_) => {
                f.write_str("unknown suite (expected \"3des\", \"aes128\" or \"aes256\")")
            }
            Self::UnknownArea(a) => {
                write!(
                    f,
                    "unknown area {a:?} (expected \"extension\" or \"local\")"
                )
            }
            Self::KeyLength {
                suite,
                expected,
                got,
            } => write!(f, "{suite} needs a {expected}-byte key, got {got} bytes"),
            Self::UserIdFormat => f.write_str("a user ID is 13 ASCII digits"),
            Self::UserIdCheckDigit { expected, got } => write!(
                f,
                "check digit {got} is wrong, PROFILE.md §3 gives {expected}"
            ),
            Self::AidLength { got } => write!(
                f,
                "an AID is {AID_MIN} to {AID_MAX} bytes long, got {got} bytes"
            ),
            Self::DuplicateAid { first } => write!(f, "the same AID as ap[{first}]"),
            Self::TooLong { max, got } => write!(f, "{got} bytes, at most {max} allowed"),
            Self::TooMany { max, got } => write!(f, "{got} records, at most {max} allowed"),
            Self::EfTooLarge { max, got } => write!(
                f,
                "the EF would take {got} bytes with headers and the user-ID record, at most {max}"
            ),
            Self::BadKey(why) => write!(f, "unusable key: {why}"),
            Self::PinFormat(rule) => write!(f, "a PIN here is {rule}"),
            Self::OutOfRange { min, max } => write!(f, "must be from {min} to {max}"),
            Self::MyNumberFormat => f.write_str("a My Number is 12 ASCII digits"),
            Self::MyNumberCheckDigit { expected, got } => write!(
                f,
                "check digit {got} is wrong, the My Number rule gives {expected}"
            ),
            Self::DateFormat => f.write_str("a date is YYYYMMDD"),
            Self::UnknownSex(s) => write!(
                f,
                "unknown sex {s:?} (expected \"male\", \"female\", \"not_applicable\", \"1\", \"2\" or \"9\")"
            ),
            Self::Certificate(why) => write!(f, "cannot make the certificates: {why}"),
        }
    }
}

/// Why a description could not be read, parsed or checked. Messages name the
/// file, the AP (index in the `[[ap]]` array and AID) and the key, and never
/// contain key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DescriptionError {
    /// The file could not be read.
    #[error("{}: cannot read the description: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, or a key this format does not know.
    #[error("{}line {line}, column {column}: {message}", origin(file.as_deref()))]
    Syntax {
        /// The file, when read from one.
        file: Option<PathBuf>,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// The parser's message (without the source line, which may hold a key).
        message: String,
    },
    /// A value breaks a rule of the profile.
    #[error(
        "{}{}`{key}`: {problem}",
        origin(file.as_deref()),
        ap_ref(*index, aid.as_deref())
    )]
    Invalid {
        /// The file, when read from one.
        file: Option<PathBuf>,
        /// Index of the AP in the `[[ap]]` array (0-based), if the key is in one.
        index: Option<usize>,
        /// The AP's AID in hex, when it could be read.
        aid: Option<String>,
        /// The key, e.g. `k_enc` or `records[3]`.
        key: String,
        /// What is wrong.
        problem: Problem,
    },
    /// The description could not be written as TOML.
    #[error("cannot write the description as TOML: {0}")]
    Serialize(String),
}

fn origin(file: Option<&Path>) -> String {
    file.map(|f| format!("{}: ", f.display()))
        .unwrap_or_default()
}

fn ap_ref(index: Option<usize>, aid: Option<&str>) -> String {
    match (index, aid) {
        (Some(i), Some(aid)) => format!("ap[{i}] (AID {aid}): "),
        (Some(i), None) => format!("ap[{i}]: "),
        (None, _) => String::new(),
    }
}

impl DescriptionError {
    fn with_file(mut self, path: &Path) -> Self {
        match &mut self {
            Self::Syntax { file, .. } | Self::Invalid { file, .. } => {
                *file = Some(path.to_path_buf());
            }
            Self::Io { .. } | Self::Serialize(_) => {}
        }
        self
    }

    /// The problem, for an [`DescriptionError::Invalid`] error.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Invalid { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The key named, for an [`DescriptionError::Invalid`] error.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// The contents of a virtual card (PROFILE.md §10). Always valid: it is only
/// made by [`Description::from_toml_str`], [`Description::from_file`] or
/// [`DescriptionBuilder::build`], which check every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    extended_length: bool,
    issuer: Option<IssuerDescription>,
    aps: Vec<ApDescription>,
    jpki: Option<JpkiDescription>,
    kenhojo: Option<KenhojoDescription>,
}

/// The card-manager application of the free area (PROFILE.md §12.1): its AID,
/// the issuer key set, the size of the free area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerDescription {
    aid: Vec<u8>,
    keys: ApKeys,
    free_area: usize,
}

impl IssuerDescription {
    /// A card manager with the default AID and free area.
    pub fn new(keys: ApKeys) -> Self {
        Self {
            aid: CARD_MANAGER_AID.to_vec(),
            keys,
            free_area: FREE_AREA_DEFAULT,
        }
    }

    /// Sets the card manager's AID.
    pub fn with_aid(mut self, aid: impl Into<Vec<u8>>) -> Self {
        self.aid = aid.into();
        self
    }

    /// Sets the size of the free area in bytes.
    pub fn with_free_area(mut self, bytes: usize) -> Self {
        self.free_area = bytes;
        self
    }

    /// The card manager's AID.
    pub fn aid(&self) -> &[u8] {
        &self.aid
    }

    /// The issuer key set.
    pub fn keys(&self) -> &ApKeys {
        &self.keys
    }

    /// The size of the free area in bytes.
    pub fn free_area(&self) -> usize {
        self.free_area
    }
}

/// Builds a [`Description`] in Rust; [`DescriptionBuilder::build`] validates.
#[derive(Debug, Clone)]
pub struct DescriptionBuilder {
    extended_length: bool,
    issuer: Option<IssuerDescription>,
    aps: Vec<ApDescription>,
}

impl Default for DescriptionBuilder {
    fn default() -> Self {
        Self {
            extended_length: true,
            issuer: None,
            aps: Vec::new(),
        }
    }
}

impl DescriptionBuilder {
    /// Whether the card supports extended-length APDUs (default `true`).
    pub fn extended_length(mut self, on: bool) -> Self {
        self.extended_length = on;
        self
    }

    /// Gives the card a card-manager application (PROFILE.md §12.1).
    pub fn issuer(mut self, issuer: IssuerDescription) -> Self {
        self.issuer = Some(issuer);
        self
    }

    /// Adds an AP.
    pub fn ap(mut self, ap: ApDescription) -> Self {
        self.aps.push(ap);
        self
    }

    /// Checks every rule of the profile and returns the description.
    pub fn build(self) -> Result<Description, DescriptionError> {
        let description = Description {
            extended_length: self.extended_length,
            issuer: self.issuer,
            aps: self.aps,
            jpki: None,
            kenhojo: None,
        };
        description.validate()?;
        Ok(description)
    }
}

impl Description {
    /// Starts a description (extended length on, no APs).
    pub fn builder() -> DescriptionBuilder {
        DescriptionBuilder::default()
    }

    /// Whether the card supports extended-length APDUs.
    pub fn extended_length(&self) -> bool {
        self.extended_length
    }

    /// The same card with extended length on or off (and the ATR to match).
    pub fn with_extended_length(mut self, on: bool) -> Self {
        self.extended_length = on;
        self
    }

    /// The APs, in the order of the description (and of EF.DIR).
    pub fn aps(&self) -> &[ApDescription] {
        &self.aps
    }

    /// The JPKI AP (`[jpki]`), if the card carries one.
    pub fn jpki(&self) -> Option<&JpkiDescription> {
        self.jpki.as_ref()
    }

    /// The kenhojo AP (`[kenhojo]`), if the card carries one.
    pub fn kenhojo(&self) -> Option<&KenhojoDescription> {
        self.kenhojo.as_ref()
    }

    /// The card-manager application, if the card has one.
    pub fn issuer(&self) -> Option<&IssuerDescription> {
        self.issuer.as_ref()
    }

    /// The APs, for the card's lifecycle commands (which keep them valid).
    pub(crate) fn aps_mut(&mut self) -> &mut Vec<ApDescription> {
        &mut self.aps
    }

    /// Parses and validates a TOML description.
    pub fn from_toml_str(text: &str) -> Result<Self, DescriptionError> {
        let raw: RawDescription = toml::from_str(text).map_err(|e| syntax_error(text, &e))?;
        let aps = raw
            .ap
            .iter()
            .enumerate()
            .map(|(index, ap)| ap.to_typed(index))
            .collect::<Result<Vec<_>, _>>()?;
        let jpki = raw.jpki.as_ref().map(RawJpki::to_typed).transpose()?;
        let kenhojo = raw.kenhojo.as_ref().map(RawKenhojo::to_typed).transpose()?;
        let issuer = raw.issuer.as_ref().map(RawIssuer::to_typed).transpose()?;
        let description = Self {
            extended_length: raw.extended_length.unwrap_or(true),
            issuer,
            aps,
            jpki,
            kenhojo,
        };
        description.validate()?;
        Ok(description)
    }

    /// Reads, parses and validates a TOML description file; errors name the file.
    ///
    /// A file larger than [`MAX_DESCRIPTION_FILE_LEN`] is refused with
    /// [`DescriptionError::Io`] of kind [`std::io::ErrorKind::FileTooLarge`],
    /// without reading it all.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, DescriptionError> {
        let path = path.as_ref();
        let text = read_capped(path).map_err(|source| DescriptionError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text).map_err(|e| e.with_file(path))
    }

    /// Writes the description as TOML that [`Description::from_toml_str`] reads
    /// back to an equal value. The text holds the AP keys: treat it as a secret.
    pub fn to_toml_string(&self) -> Result<String, DescriptionError> {
        let raw = RawDescription {
            extended_length: Some(self.extended_length),
            issuer: self.issuer.as_ref().map(RawIssuer::from_typed),
            ap: self.aps.iter().map(RawAp::from_typed).collect(),
            jpki: self.jpki.as_ref().map(RawJpki::from_typed).transpose()?,
            kenhojo: self
                .kenhojo
                .as_ref()
                .map(RawKenhojo::from_typed)
                .transpose()?,
        };
        toml::to_string(&raw).map_err(|e| DescriptionError::Serialize(e.to_string()))
    }

    fn validate(&self) -> Result<(), DescriptionError> {
        if let Some(issuer) = &self.issuer {
            let fail = |key: &str, problem| Err(issuer_invalid(key, problem));
            if !(AID_MIN..=AID_MAX).contains(&issuer.aid.len()) {
                return fail(
                    "aid",
                    Problem::AidLength {
                        got: issuer.aid.len(),
                    },
                );
            }
            if let Err((name, problem)) = issuer.keys.check() {
                return fail(name, problem);
            }
            if let Some(first) = self.aps.iter().position(|ap| ap.aid == issuer.aid) {
                return fail("aid", Problem::DuplicateAid { first });
            }
        }
        for (index, ap) in self.aps.iter().enumerate() {
            ap.validate()
                .map_err(|(key, problem)| invalid(index, Some(ap.aid_hex()), key, problem))?;
            if let Some(first) = self
                .aps
                .iter()
                .take(index)
                .position(|other| other.aid == ap.aid)
            {
                return Err(invalid(
                    index,
                    Some(ap.aid_hex()),
                    "aid".to_owned(),
                    Problem::DuplicateAid { first },
                ));
            }
        }
        Ok(())
    }
}

fn issuer_invalid(key: &str, problem: Problem) -> DescriptionError {
    DescriptionError::Invalid {
        file: None,
        index: None,
        aid: None,
        key: format!("issuer.{key}"),
        problem,
    }
}

fn invalid(index: usize, aid: Option<String>, key: String, problem: Problem) -> DescriptionError {
    DescriptionError::Invalid {
        file: None,
        index: Some(index),
        aid,
        key,
        problem,
    }
}

/// A TOML parse error without the source excerpt (which could show a key).
fn syntax_error(text: &str, error: &toml::de::Error) -> DescriptionError {
    let (line, column) = match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        }
        None => (0, 0),
    };
    DescriptionError::Syntax {
        file: None,
        line,
        column,
        message: toml_problem(error.message()),
    }
}

// ---------------------------------------------------------------------------
// The TOML form: every key optional, so that the checks below can name the AP
// when one is missing.

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDescription {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extended_length: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issuer: Option<RawIssuer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ap: Vec<RawAp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jpki: Option<RawJpki>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kenhojo: Option<RawKenhojo>,
}

/// `[issuer]` (PROFILE.md §10, §12.1).
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    free_area: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k_enc: Option<SecretText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k_mac: Option<SecretText>,
}

/// A key set: `suite`, `k_enc`, `k_mac` (`[issuer]`, `[ap.update]`).
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k_enc: Option<SecretText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k_mac: Option<SecretText>,
}

impl RawKeys {
    /// The key set; errors name `prefix.key`.
    fn to_typed(
        &self,
        prefix: &str,
        fail: &dyn Fn(&str, Problem) -> DescriptionError,
    ) -> Result<ApKeys, DescriptionError> {
        keys_of(prefix, [&self.suite], [&self.k_enc, &self.k_mac], fail)
    }

    fn from_typed(keys: &ApKeys) -> Self {
        Self {
            suite: Some(keys.suite.name().to_owned()),
            k_enc: Some(SecretText(Zeroizing::new(hex::encode_upper(
                keys.k_enc.expose(),
            )))),
            k_mac: Some(SecretText(Zeroizing::new(hex::encode_upper(
                keys.k_mac.expose(),
            )))),
        }
    }
}

/// A key set from its TOML values; errors name `prefix.key`.
fn keys_of(
    prefix: &str,
    [suite]: [&Option<String>; 1],
    [k_enc, k_mac]: [&Option<SecretText>; 2],
    fail: &dyn Fn(&str, Problem) -> DescriptionError,
) -> Result<ApKeys, DescriptionError> {
    let name = |key: &str| format!("{prefix}.{key}");
    let suite = match suite.as_deref() {
        None => return Err(fail(&name("suite"), Problem::Missing)),
        Some(s) => Suite::from_name(s)
            .ok_or_else(|| fail(&name("suite"), Problem::UnknownSuite(s.to_owned())))?,
    };
    let key = |key: &str, text: &Option<SecretText>| match text {
        None => Err(fail(&name(key), Problem::Missing)),
        Some(text) => SecretKey::from_hex(&text.0).ok_or_else(|| fail(&name(key), Problem::BadHex)),
    };
    Ok(ApKeys {
        suite,
        k_enc: key("k_enc", k_enc)?,
        k_mac: key("k_mac", k_mac)?,
    })
}

impl RawIssuer {
    fn to_typed(&self) -> Result<IssuerDescription, DescriptionError> {
        let fail = |key: &str, problem| issuer_invalid(key.trim_start_matches("issuer."), problem);
        let keys = keys_of("issuer", [&self.suite], [&self.k_enc, &self.k_mac], &fail)?;
        let aid = match &self.aid {
            None => CARD_MANAGER_AID.to_vec(),
            Some(text) => parse_hex(text).ok_or_else(|| fail("aid", Problem::BadHex))?,
        };
        Ok(IssuerDescription {
            aid,
            keys,
            free_area: self.free_area.unwrap_or(FREE_AREA_DEFAULT),
        })
    }

    fn from_typed(issuer: &IssuerDescription) -> Self {
        let keys = RawKeys::from_typed(&issuer.keys);
        Self {
            aid: Some(spaced_hex(&issuer.aid)),
            free_area: Some(issuer.free_area),
            suite: keys.suite,
            k_enc: keys.k_enc,
            k_mac: keys.k_mac,
        }
    }
}

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAp {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    ap_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    area: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    info1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    info2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    info3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k_enc: Option<SecretText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k_mac: Option<SecretText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    records: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    update: Option<RawKeys>,
}

/// Hex text of a key: zeroized on drop; a non-string value is refused without
/// echoing it (serde's default message would print a number given as a key).
struct SecretText(Zeroizing<String>);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretTextVisitor)
    }
}

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

struct SecretTextVisitor;

const KEY_NOT_A_STRING: &str = "a key must be a hex string (value not shown)";

impl Visitor<'_> for SecretTextVisitor {
    type Value = SecretText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hex string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretText, E> {
        Ok(SecretText(Zeroizing::new(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<SecretText, E> {
        Ok(SecretText(Zeroizing::new(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretText, E> {
        Err(E::custom(KEY_NOT_A_STRING))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretText, E> {
        Err(E::custom(KEY_NOT_A_STRING))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretText, E> {
        Err(E::custom(KEY_NOT_A_STRING))
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<SecretText, E> {
        Err(E::custom(KEY_NOT_A_STRING))
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<SecretText, E> {
        Err(E::custom(KEY_NOT_A_STRING))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretText, E> {
        Err(E::custom(KEY_NOT_A_STRING))
    }
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let cleaned: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
    hex::decode(cleaned.as_bytes()).ok()
}

fn spaced_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl RawAp {
    fn to_typed(&self, index: usize) -> Result<ApDescription, DescriptionError> {
        // The AID is read first so that every later error can name it.
        let aid_bytes = self.aid.as_deref().and_then(parse_hex);
        let aid_hex = aid_bytes.as_deref().map(hex::encode_upper);
        let fail = |key: &str, problem| invalid(index, aid_hex.clone(), key.to_owned(), problem);

        let ap_type = match self.ap_type.as_deref() {
            None => return Err(fail("type", Problem::Missing)),
            Some(name) => ApType::from_name(name)
                .ok_or_else(|| fail("type", Problem::UnknownType(name.to_owned())))?,
        };
        let aid = match (&self.aid, aid_bytes) {
            (None, _) => return Err(fail("aid", Problem::Missing)),
            (Some(_), None) => return Err(fail("aid", Problem::BadHex)),
            (Some(_), Some(bytes)) => bytes,
        };
        let area = match self.area.as_deref() {
            None => Area::default(),
            Some(name) => Area::from_name(name)
                .ok_or_else(|| fail("area", Problem::UnknownArea(name.to_owned())))?,
        };
        let user_id = self
            .user_id
            .clone()
            .ok_or_else(|| fail("user_id", Problem::Missing))?;

        let not_allowed = Problem::NotAllowed { ap_type };
        let present = [
            ("info1", self.info1.is_some()),
            ("info2", self.info2.is_some()),
            ("info3", self.info3.is_some()),
            ("suite", self.suite.is_some()),
            ("k_enc", self.k_enc.is_some()),
            ("k_mac", self.k_mac.is_some()),
            ("records", self.records.is_some()),
            ("data", self.data.is_some()),
        ];
        let allowed: &[&str] = match ap_type {
            ApType::C => &["info1", "info2", "info3"],
            ApType::A => &["suite", "k_enc", "k_mac", "records"],
            ApType::D => &["suite", "k_enc", "k_mac", "data"],
        };
        if let Some((key, _)) = present
            .iter()
            .find(|(key, is_present)| *is_present && !allowed.contains(key))
        {
            return Err(fail(key, not_allowed));
        }

        let keys = match ap_type {
            ApType::C => None,
            ApType::A | ApType::D => {
                let suite = match self.suite.as_deref() {
                    None => return Err(fail("suite", Problem::Missing)),
                    Some(name) => Suite::from_name(name)
                        .ok_or_else(|| fail("suite", Problem::UnknownSuite(name.to_owned())))?,
                };
                let key = |name: &str, text: &Option<SecretText>| match text {
                    None => Err(fail(name, Problem::Missing)),
                    Some(text) => {
                        SecretKey::from_hex(&text.0).ok_or_else(|| fail(name, Problem::BadHex))
                    }
                };
                Some(ApKeys {
                    suite,
                    k_enc: key("k_enc", &self.k_enc)?,
                    k_mac: key("k_mac", &self.k_mac)?,
                })
            }
        };

        let mut info = [None, None, None];
        for ((slot, text), key) in info
            .iter_mut()
            .zip([&self.info1, &self.info2, &self.info3])
            .zip(["info1", "info2", "info3"])
        {
            if let Some(text) = text {
                *slot = Some(parse_hex(text).ok_or_else(|| fail(key, Problem::BadHex))?);
            }
        }
        let records = self
            .records
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, text)| {
                parse_hex(text).ok_or_else(|| fail(&format!("records[{i}]"), Problem::BadHex))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let data = match &self.data {
            None => Vec::new(),
            Some(text) => parse_hex(text).ok_or_else(|| fail("data", Problem::BadHex))?,
        };

        let update = self
            .update
            .as_ref()
            .map(|raw| raw.to_typed("update", &fail))
            .transpose()?;

        Ok(ApDescription {
            ap_type,
            aid,
            area,
            user_id,
            label: self.label.clone(),
            keys,
            update,
            info,
            records,
            data,
        })
    }

    fn from_typed(ap: &ApDescription) -> Self {
        let hex_opt = |v: &Option<Vec<u8>>| v.as_deref().map(spaced_hex);
        let mut raw = Self {
            ap_type: Some(ap.ap_type.name().to_owned()),
            aid: Some(spaced_hex(&ap.aid)),
            area: Some(ap.area.name().to_owned()),
            user_id: Some(ap.user_id.clone()),
            label: ap.label.clone(),
            update: ap.update.as_ref().map(RawKeys::from_typed),
            ..Self::default()
        };
        if let Some(keys) = &ap.keys {
            raw.suite = Some(keys.suite.name().to_owned());
            raw.k_enc = Some(SecretText(Zeroizing::new(hex::encode_upper(
                keys.k_enc.expose(),
            ))));
            raw.k_mac = Some(SecretText(Zeroizing::new(hex::encode_upper(
                keys.k_mac.expose(),
            ))));
        }
        match ap.ap_type {
            ApType::C => {
                let [i1, i2, i3] = &ap.info;
                raw.info1 = hex_opt(i1);
                raw.info2 = hex_opt(i2);
                raw.info3 = hex_opt(i3);
            }
            ApType::A => raw.records = Some(ap.records.iter().map(|r| spaced_hex(r)).collect()),
            ApType::D => raw.data = Some(spaced_hex(&ap.data)),
        }
        raw
    }
}

/// The largest description file read: 1 MiB.
pub const MAX_DESCRIPTION_FILE_LEN: u64 = 1 << 20;

/// Reads at most [`MAX_DESCRIPTION_FILE_LEN`] bytes of text (the length is
/// checked first; devices and pipes are cut after one byte more).
fn read_capped(path: &Path) -> std::io::Result<Zeroizing<String>> {
    use std::io::Read;
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than the {MAX_DESCRIPTION_FILE_LEN}-byte limit"),
        )
    };
    let file = std::fs::File::open(path)?;
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > MAX_DESCRIPTION_FILE_LEN)
    {
        return Err(too_large());
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_DESCRIPTION_FILE_LEN.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_DESCRIPTION_FILE_LEN {
        return Err(too_large());
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// The kind of a TOML or schema error in words of our own: toml's messages
/// quote values and key names of the text, which may be key material.
fn toml_problem(message: &str) -> String {
    let m = message.trim_start();
    if m.starts_with("invalid type") {
        "a value of the wrong type (not shown)".into()
    } else if m.starts_with("unknown field") {
        // A name like `colour` is shown; anything that could be a pasted key
        // (long, hex-like, or with other characters) is not.
        match m.split('`').nth(1) {
            Some(n) if safe_key_name(n) => format!("unknown key {n}"),
            _ => "an unknown key (not shown)".into(),
        }
    } else if m.starts_with("missing field") {
        let name = m
            .split('`')
            .nth(1)
            .filter(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .unwrap_or("?");
        format!("missing key {name}")
    } else if m.starts_with("duplicate key") {
        "a duplicate key (not shown)".into()
    } else if m.starts_with("unknown variant") {
        "an unknown value (not shown)".into()
    } else if m.starts_with("invalid length") || m.starts_with("invalid value") {
        "a value out of range (not shown)".into()
    } else if m.contains("must be a hex string") {
        "must be a hex string".into()
    } else {
        "invalid TOML syntax (not shown)".into()
    }
}

/// Whether a key name of the text can be shown in an error: a short
/// lower-case identifier that does not look like hex.
fn safe_key_name(name: &str) -> bool {
    (1..=24).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !(name.len() >= 8 && name.chars().all(|c| c.is_ascii_hexdigit()))
}
