//! Profile files (PROFILE.md §9): one TOML file describes one AP for the SDK —
//! its type, AID, keys (by value or by environment variable) and how to decode
//! its info fields. Errors name the file, the key and the problem, and never
//! echo key material.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::auth::{AuthError, StaticKeys};
use crate::crypto::{SecretKey, Suite};
use crate::sm::SmMode;

/// A profile that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file could not be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// The file.
        file: String,
        /// The OS error.
        message: String,
    },
    /// The file is larger than [`MAX_PROFILE_FILE_LEN`] (nothing of it is
    /// parsed: a profile is a few hundred bytes).
    #[error("{file}: larger than the {limit}-byte limit of a profile file")]
    TooLarge {
        /// The file.
        file: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A value is missing, of the wrong kind or out of range.
    #[error("{file}: {key}: {problem}")]
    Invalid {
        /// The file (`<string>` for a profile given as text).
        file: String,
        /// The key, e.g. `auth.k_enc` or `field[2].encoding`.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// The standard AP types of PROFILE.md §4–6, and profile-driven custom APs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApType {
    /// Record AP, mutual authentication and MAC-mode secure messaging.
    A,
    /// Common AP, readable in the clear.
    C,
    /// Binary AP, encrypted secure messaging.
    D,
    /// An issuer-approved AP read by the profile's `[[read]]` steps.
    Custom,
}

impl ApType {
    /// `"A"`, `"C"`, `"D"` or `"custom"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::C => "C",
            Self::D => "D",
            Self::Custom => "custom",
        }
    }
}

/// Text encodings of info fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// 7-bit ASCII.
    Ascii,
    /// UTF-8.
    Utf8,
    /// Shift_JIS (through `encoding_rs`).
    ShiftJis,
    /// Packed BCD digits, `F` nibbles as filler.
    Bcd,
    /// Upper-case hex of the raw bytes.
    Hex,
}

impl Encoding {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ascii" => Self::Ascii,
            "utf8" | "utf-8" => Self::Utf8,
            "shift_jis" | "sjis" => Self::ShiftJis,
            "bcd" => Self::Bcd,
            "hex" => Self::Hex,
            _ => return None,
        })
    }
}

/// Where a decoded field's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSource {
    /// Info field `n` (1-based) of a Type A or C AP.
    Info(u8),
    /// A byte range of a Type D file, or of a custom AP's step output.
    Range {
        /// Custom APs: the `[[read]]` step's name; `None` for Type D.
        step: Option<String>,
        /// Offset in bytes.
        offset: usize,
        /// Length in bytes.
        length: usize,
    },
}

/// One `[[field]]`: a named, decoded info field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldSpec {
    /// Output name.
    name: String,
    /// Where the bytes come from.
    source: FieldSource,
    /// How they are decoded.
    encoding: Encoding,
}

/// The kind of EF a custom read step reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadKind {
    /// Transparent EF, read whole by offset.
    Binary,
    /// Linear record EF, every record.
    Records,
}

/// How a custom read step addresses its EF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRef {
    /// SELECT by file ID (`00 A4 02 0C 02 FID`).
    Fid([u8; 2]),
    /// Short file identifier in the READ command.
    Sfi(u8),
}

/// One `[[read]]` step of a custom AP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadStep {
    /// Name used in the output and by `[[field]]` sources.
    name: String,
    /// The EF.
    file: FileRef,
    /// Binary or records.
    kind: ReadKind,
    /// Where a 13-byte user ID sits in this step's output, if it holds one.
    user_id_offset: Option<usize>,
}

/// The `[auth]` table: suite, keys, secure-messaging mode.
#[derive(Clone)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The cipher suite.
    suite: Suite,
    /// `K_enc`, when the profile holds it (by value or environment variable).
    k_enc: Option<SecretKey>,
    /// `K_mac`, likewise.
    k_mac: Option<SecretKey>,
    /// MAC mode (Type A) or encryption mode (Type D); custom APs choose.
    mode: SmMode,
}

impl FieldSpec {
    /// Output name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the bytes come from.
    pub fn source(&self) -> &FieldSource {
        &self.source
    }

    /// How they are decoded.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }
}

impl ReadStep {
    /// Name used in the output and by `[[field]]` sources.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The EF.
    pub fn file(&self) -> FileRef {
        self.file
    }

    /// Binary or records.
    pub fn kind(&self) -> ReadKind {
        self.kind
    }

    /// Where a 13-byte user ID sits in this step's output, if it holds one.
    pub fn user_id_offset(&self) -> Option<usize> {
        self.user_id_offset
    }
}

impl AuthConfig {
    /// The cipher suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Whether the profile holds both keys (by value or environment
    /// variable); otherwise a key provider must supply them.
    pub fn has_keys(&self) -> bool {
        self.k_enc.is_some() && self.k_mac.is_some()
    }

    /// Whether secure messaging encrypts (Type D; custom `sm = "encrypt"`) or
    /// only MACs (Type A; custom `sm = "mac"`).
    pub fn encrypts(&self) -> bool {
        self.mode == SmMode::Encrypt
    }

    pub(crate) fn mode(&self) -> SmMode {
        self.mode
    }

    /// The profile's keys, as a key holder, when it has both.
    pub(crate) fn static_keys(&self) -> Option<Result<StaticKeys, AuthError>> {
        match (&self.k_enc, &self.k_mac) {
            (Some(e), Some(m)) => {
                // Once per profile, not once per read.
                e.prepare(self.suite);
                m.prepare(self.suite);
                Some(StaticKeys::new(self.suite, e.clone(), m.clone()))
            }
            _ => None,
        }
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("suite", &self.suite)
            .field(
                "keys",
                &if self.k_enc.is_some() {
                    "REDACTED"
                } else {
                    "external"
                },
            )
            .field("mode", &self.mode)
            .finish()
    }
}

/// A validated profile.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Profile {
    /// The profile's name (reported as `name`).
    name: String,
    /// The AP type.
    kind: ApType,
    /// The AP's AID.
    aid: Vec<u8>,
    /// `Some(false)` forbids extended-length APDUs (readers that cannot carry
    /// them); `None` decides from the ATR.
    extended_length: Option<bool>,
    /// Authentication, for A, D and (optionally) custom APs.
    auth: Option<AuthConfig>,
    /// The update key set of `[auth.update]` (PROFILE.md §11.1), for writes.
    update: Option<AuthConfig>,
    /// Decoded fields.
    fields: Vec<FieldSpec>,
    /// Custom read steps.
    reads: Vec<ReadStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    aid: String,
    extended_length: Option<bool>,
    auth: Option<RawAuth>,
    #[serde(default, rename = "field")]
    fields: Vec<RawField>,
    #[serde(default, rename = "read")]
    reads: Vec<RawRead>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    suite: Option<String>,
    k_enc: Option<Zeroizing<String>>,
    k_enc_env: Option<String>,
    k_mac: Option<Zeroizing<String>>,
    k_mac_env: Option<String>,
    sm: Option<String>,
    update: Option<RawUpdate>,
}

/// `[auth.update]`: the AP's update key set (PROFILE.md §11.1).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpdate {
    suite: String,
    k_enc: Option<Zeroizing<String>>,
    k_enc_env: Option<String>,
    k_mac: Option<Zeroizing<String>>,
    k_mac_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    source: Option<String>,
    offset: Option<usize>,
    length: Option<usize>,
    encoding: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRead {
    name: Option<String>,
    file: Option<String>,
    sfi: Option<u8>,
    kind: String,
    user_id_offset: Option<usize>,
}

/// Parses hex with optional spaces.
pub(crate) fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(cleaned).ok()
}

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, key: impl Into<String>, problem: impl Into<String>) -> ProfileError {
        ProfileError::Invalid {
            file: self.file.to_owned(),
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// The largest profile file read: 1 MiB (a profile is a few hundred bytes;
/// `--profile /dev/zero` fails at once instead of filling memory).
pub const MAX_PROFILE_FILE_LEN: u64 = 1 << 20;

/// Reads a text file of at most `limit` bytes; `None` when it is larger. The
/// file's length is checked first, then at most `limit + 1` bytes are read
/// (for files whose length is not known, such as devices and pipes).
pub(crate) fn read_capped(path: &Path, limit: u64) -> std::io::Result<Option<Zeroizing<String>>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > limit)
    {
        return Ok(None);
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(None);
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))?;
    Ok(Some(Zeroizing::new(text.to_owned())))
}

/// The largest Type D file (PROFILE.md §6).
pub const TYPE_D_FILE_LEN: usize = 255;
/// The user ID length (PROFILE.md §3).
pub const USER_ID_LEN: usize = 13;

impl Profile {
    /// The profile's name (reported as `name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The AP type.
    pub fn ap_type(&self) -> ApType {
        self.kind
    }

    /// The AP's AID.
    pub fn aid(&self) -> &[u8] {
        &self.aid
    }

    /// `Some(false)` forbids extended-length APDUs (readers that cannot carry
    /// them); `Some(true)` uses them whatever the ATR says; `None` decides
    /// from the ATR.
    pub fn extended_length(&self) -> Option<bool> {
        self.extended_length
    }

    /// Authentication, for A, D and (optionally) custom APs.
    pub fn auth(&self) -> Option<&AuthConfig> {
        self.auth.as_ref()
    }

    /// The update key set of `[auth.update]` (PROFILE.md §11.1), used by
    /// writes.
    pub fn update(&self) -> Option<&AuthConfig> {
        self.update.as_ref()
    }

    /// The same profile without its update keys (a reader's view).
    pub fn without_update_keys(&self) -> Self {
        Self {
            update: None,
            ..self.clone()
        }
    }

    /// The `[[field]]` entries, in the file's order.
    pub fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    /// A custom AP's `[[read]]` steps, in the file's order.
    pub fn reads(&self) -> &[ReadStep] {
        &self.reads
    }

    /// Reads and validates a profile file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ProfileError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        // The text may hold keys: wiped when dropped.
        let text = read_capped(path, MAX_PROFILE_FILE_LEN)
            .map_err(|e| ProfileError::Io {
                file: file.clone(),
                message: e.to_string(),
            })?
            .ok_or_else(|| ProfileError::TooLarge {
                file: file.clone(),
                limit: MAX_PROFILE_FILE_LEN,
            })?;
        Self::parse(&text, &file)
    }

    /// Parses and validates a profile given as text.
    pub fn from_toml_str(text: &str) -> Result<Self, ProfileError> {
        Self::parse(text, "<string>")
    }

    fn parse(text: &str, file: &str) -> Result<Self, ProfileError> {
        let ctx = Ctx { file };
        let raw: RawProfile = toml::from_str(text).map_err(|e| syntax_error(&ctx, text, &e))?;
        let kind = match raw.kind.as_str() {
            "A" => ApType::A,
            "C" => ApType::C,
            "D" => ApType::D,
            "custom" => ApType::Custom,
            _ => {
                return Err(ctx.err(
                    "type",
                    "unknown AP type (expected \"A\", \"C\", \"D\" or \"custom\")",
                ));
            }
        };
        if raw.name.trim().is_empty() {
            return Err(ctx.err("name", "must not be empty"));
        }
        let aid = parse_hex(&raw.aid).ok_or_else(|| ctx.err("aid", "not a hex string"))?;
        if !(5..=16).contains(&aid.len()) {
            return Err(ctx.err("aid", format!("{} bytes; an AID has 5 to 16", aid.len())));
        }
        let (raw_auth, update) = match raw.auth {
            Some(mut a) => {
                let update = a.update.take();
                let read_part = a.suite.is_some()
                    || a.k_enc.is_some()
                    || a.k_enc_env.is_some()
                    || a.k_mac.is_some()
                    || a.k_mac_env.is_some()
                    || a.sm.is_some();
                (read_part.then_some(a), update)
            }
            None => (None, None),
        };
        let update = match update {
            Some(u) if kind == ApType::Custom => {
                drop(u);
                return Err(ctx.err(
                    "auth.update",
                    "a custom AP has no write layout in the profile",
                ));
            }
            Some(u) => Some(parse_update(&ctx, kind, u)?),
            None => None,
        };
        let auth = match (kind, raw_auth) {
            (ApType::C, Some(_)) => {
                return Err(ctx.err(
                    "auth",
                    "a Type C AP is read in the clear and takes no [auth]",
                ));
            }
            (ApType::A | ApType::D, None) => {
                return Err(ctx.err(
                    "auth",
                    format!("a Type {} AP needs an [auth] table", kind.name()),
                ));
            }
            (_, Some(a)) => Some(parse_auth(&ctx, kind, a)?),
            (_, None) => None,
        };
        let reads = parse_reads(&ctx, kind, raw.reads)?;
        let fields = parse_fields(&ctx, kind, raw.fields, &reads)?;
        Ok(Self {
            name: raw.name,
            kind,
            aid,
            extended_length: raw.extended_length,
            auth,
            update,
            fields,
            reads,
        })
    }
}

/// A TOML error without anything of the text: toml's own Display quotes the
/// offending line and its messages quote values and key names (which may be
/// key material, also under an escaped name like `"k\u005Fenc"`), so only the
/// position and the kind of problem are reported.
fn syntax_error(ctx: &Ctx<'_>, text: &str, e: &toml::de::Error) -> ProfileError {
    let (line, col) = e
        .span()
        .map(|span| {
            let before = text.get(..span.start).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, col)
        })
        .unwrap_or((0, 0));
    ctx.err(
        format!("line {line} column {col}"),
        toml_problem(e.message()),
    )
}

/// The kind of a TOML or schema error, in words of our own: never the
/// message itself, which quotes values and key names of the text.
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
        // The schema's own key name, not the text's.
        let name = m
            .split('`')
            .nth(1)
            .filter(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .unwrap_or("?");
        format!("missing key {name}")
    } else if m.starts_with("duplicate key") {
        "a duplicate key (not shown)".into()
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

fn key(
    ctx: &Ctx<'_>,
    suite: Suite,
    name: &str,
    value: Option<Zeroizing<String>>,
    env: Option<String>,
) -> Result<Option<SecretKey>, ProfileError> {
    let k = match (value, env) {
        (Some(_), Some(_)) => {
            return Err(ctx.err(
                format!("auth.{name}"),
                format!("give {name} or {name}_env, not both"),
            ));
        }
        (Some(v), None) => SecretKey::from_hex(&v)
            .ok_or_else(|| ctx.err(format!("auth.{name}"), "not a hex string"))?,
        (None, Some(var)) => {
            let v = Zeroizing::new(std::env::var(&var).map_err(|_| {
                // The variable's name is not echoed: a key pasted in its
                // place would be shown.
                ctx.err(
                    format!("auth.{name}_env"),
                    "the environment variable it names is not set (or not UTF-8)",
                )
            })?);
            SecretKey::from_hex(&v).ok_or_else(|| {
                ctx.err(
                    format!("auth.{name}_env"),
                    "the environment variable it names does not hold a hex string",
                )
            })?
        }
        (None, None) => return Ok(None),
    };
    if k.len() != suite.key_len() {
        return Err(ctx.err(
            format!("auth.{name}"),
            format!("{} bytes; suite {suite} needs {}", k.len(), suite.key_len()),
        ));
    }
    Ok(Some(k))
}

fn parse_update(ctx: &Ctx<'_>, kind: ApType, u: RawUpdate) -> Result<AuthConfig, ProfileError> {
    let suite = Suite::from_name(&u.suite).ok_or_else(|| {
        ctx.err(
            "auth.update.suite",
            "unknown suite (expected \"3des\", \"aes128\" or \"aes256\")",
        )
    })?;
    let k_enc = key(ctx, suite, "update.k_enc", u.k_enc, u.k_enc_env)?;
    let k_mac = key(ctx, suite, "update.k_mac", u.k_mac, u.k_mac_env)?;
    if k_enc.is_some() != k_mac.is_some() {
        return Err(ctx.err(
            "auth.update",
            "give both k_enc and k_mac, or neither (external key provider)",
        ));
    }
    // Type D channels are in encryption mode, A and C in MAC mode (§11.1).
    let mode = if kind == ApType::D {
        SmMode::Encrypt
    } else {
        SmMode::Mac
    };
    Ok(AuthConfig {
        suite,
        k_enc,
        k_mac,
        mode,
    })
}

fn parse_auth(ctx: &Ctx<'_>, kind: ApType, a: RawAuth) -> Result<AuthConfig, ProfileError> {
    let suite_name = a.suite.ok_or_else(|| ctx.err("auth.suite", "missing"))?;
    let suite = Suite::from_name(&suite_name).ok_or_else(|| {
        ctx.err(
            "auth.suite",
            "unknown suite (expected \"3des\", \"aes128\" or \"aes256\")",
        )
    })?;
    let k_enc = key(ctx, suite, "k_enc", a.k_enc, a.k_enc_env)?;
    let k_mac = key(ctx, suite, "k_mac", a.k_mac, a.k_mac_env)?;
    if k_enc.is_some() != k_mac.is_some() {
        return Err(ctx.err(
            "auth",
            "give both k_enc and k_mac, or neither (external key provider)",
        ));
    }
    let mode = match (kind, a.sm.as_deref()) {
        (ApType::A, None | Some("mac")) => SmMode::Mac,
        (ApType::D, None | Some("encrypt")) => SmMode::Encrypt,
        (ApType::Custom, None | Some("encrypt")) => SmMode::Encrypt,
        (ApType::Custom, Some("mac")) => SmMode::Mac,
        (_, Some(_)) => {
            return Err(ctx.err(
                "auth.sm",
                format!("not an allowed mode for a Type {} AP", kind.name()),
            ));
        }
        (ApType::C, None) => SmMode::Mac,
    };
    Ok(AuthConfig {
        suite,
        k_enc,
        k_mac,
        mode,
    })
}

fn parse_reads(
    ctx: &Ctx<'_>,
    kind: ApType,
    raw: Vec<RawRead>,
) -> Result<Vec<ReadStep>, ProfileError> {
    if kind != ApType::Custom {
        if !raw.is_empty() {
            return Err(ctx.err("read", "[[read]] steps are for custom APs only"));
        }
        return Ok(Vec::new());
    }
    if raw.is_empty() {
        return Err(ctx.err("read", "a custom AP needs at least one [[read]] step"));
    }
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, r) in raw.into_iter().enumerate() {
        let k = |s: &str| format!("read[{i}].{s}");
        let file = match (r.file, r.sfi) {
            (Some(f), None) => {
                let b = parse_hex(&f).ok_or_else(|| ctx.err(k("file"), "not a hex string"))?;
                let fid: [u8; 2] = b
                    .as_slice()
                    .try_into()
                    .map_err(|_| ctx.err(k("file"), "a file ID is 2 bytes"))?;
                FileRef::Fid(fid)
            }
            (None, Some(s)) if (1..=30).contains(&s) => FileRef::Sfi(s),
            (None, Some(_)) => return Err(ctx.err(k("sfi"), "a short file identifier is 1 to 30")),
            _ => return Err(ctx.err(format!("read[{i}]"), "give exactly one of file or sfi")),
        };
        let rk = match r.kind.as_str() {
            "binary" => ReadKind::Binary,
            "records" => ReadKind::Records,
            _ => {
                return Err(ctx.err(k("kind"), "expected \"binary\" or \"records\""));
            }
        };
        let name = r.name.unwrap_or_else(|| match file {
            FileRef::Fid([a, b]) => format!("{a:02X}{b:02X}"),
            FileRef::Sfi(s) => format!("sfi{s}"),
        });
        if !names.insert(name.clone()) {
            return Err(ctx.err(k("name"), "a step of the same name comes earlier"));
        }
        out.push(ReadStep {
            name,
            file,
            kind: rk,
            user_id_offset: r.user_id_offset,
        });
    }
    Ok(out)
}

fn parse_fields(
    ctx: &Ctx<'_>,
    kind: ApType,
    raw: Vec<RawField>,
    reads: &[ReadStep],
) -> Result<Vec<FieldSpec>, ProfileError> {
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, f) in raw.into_iter().enumerate() {
        let k = |s: &str| format!("field[{i}].{s}");
        if f.name.is_empty() {
            return Err(ctx.err(k("name"), "must not be empty"));
        }
        if !names.insert(f.name.clone()) {
            return Err(ctx.err(k("name"), "a field of the same name comes earlier"));
        }
        let encoding = Encoding::parse(&f.encoding).ok_or_else(|| {
            ctx.err(
                k("encoding"),
                "unknown encoding (expected ascii, utf8, shift_jis, bcd or hex)",
            )
        })?;
        let source = match kind {
            ApType::A | ApType::C => {
                let max = if kind == ApType::C { 3 } else { 30 };
                let src = f
                    .source
                    .as_deref()
                    .ok_or_else(|| ctx.err(k("source"), "missing (info1, info2, …)"))?;
                let n = src
                    .strip_prefix("info")
                    .and_then(|n| n.parse::<u8>().ok())
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| ctx.err(k("source"), format!("not one of info1 … info{max}")))?;
                if f.offset.is_some() || f.length.is_some() {
                    return Err(ctx.err(k("offset"), "offset/length are for Type D and custom APs"));
                }
                FieldSource::Info(n)
            }
            ApType::D | ApType::Custom => {
                let offset = f.offset.ok_or_else(|| ctx.err(k("offset"), "missing"))?;
                let length = f.length.ok_or_else(|| ctx.err(k("length"), "missing"))?;
                if length == 0 {
                    return Err(ctx.err(k("length"), "must be at least 1"));
                }
                let step = if kind == ApType::Custom {
                    let s = f
                        .source
                        .clone()
                        .or_else(|| reads.first().map(|r| r.name.clone()));
                    match s {
                        Some(s) if reads.iter().any(|r| r.name == s) => Some(s),
                        Some(_) => {
                            return Err(ctx.err(k("source"), "names no [[read]] step"));
                        }
                        None => return Err(ctx.err(k("source"), "missing")),
                    }
                } else {
                    if f.source.is_some() {
                        return Err(
                            ctx.err(k("source"), "a Type D field is given by offset and length")
                        );
                    }
                    let end = offset.saturating_add(length);
                    if offset < USER_ID_LEN || end > TYPE_D_FILE_LEN {
                        return Err(ctx.err(
                            k("offset"),
                            format!("bytes {offset}..{end} fall outside the info area 13..255"),
                        ));
                    }
                    None
                };
                FieldSource::Range {
                    step,
                    offset,
                    length,
                }
            }
        };
        out.push(FieldSpec {
            name: f.name,
            source,
            encoding,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"
name = "kiosk"
type = "A"
aid = "F0 43 41 52 44 41 50 41 00 03"
[auth]
suite = "3des"
k_enc = "000102030405060708090A0B0C0D0E0F"
k_mac = "101112131415161718191A1B1C1D1E1F"
[[field]]
name = "label"
source = "info1"
encoding = "ascii"
"#;

    fn invalid(text: &str) -> (String, String) {
        match Profile::from_toml_str(text) {
            Err(ProfileError::Invalid { key, problem, .. }) => (key, problem),
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_type_a_profile() {
        let p = Profile::from_toml_str(A).unwrap();
        assert_eq!(p.kind, ApType::A);
        assert_eq!(p.aid.len(), 10);
        let auth = p.auth.as_ref().unwrap();
        assert_eq!(auth.mode, SmMode::Mac);
        assert_eq!(p.fields[0].source, FieldSource::Info(1));
        let dbg = format!("{p:?}");
        assert!(
            !dbg.contains("0A0B") && !dbg.to_lowercase().contains("0a0b0c"),
            "{dbg}"
        );
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(invalid(&A.replace("\"3des\"", "\"des\"")).0, "auth.suite");
        assert_eq!(invalid(&A.replace("0E0F\"", "0E\"")).0, "auth.k_enc");
        assert_eq!(
            invalid(&A.replace("\"ascii\"", "\"ebcdic\"")).0,
            "field[0].encoding"
        );
        assert_eq!(
            invalid(&A.replace("\"info1\"", "\"info31\"")).0,
            "field[0].source"
        );
        assert_eq!(
            invalid(&A.replace("type = \"A\"", "type = \"C\"")).0,
            "auth"
        );
        assert_eq!(
            invalid(&A.replace("type = \"A\"", "type = \"B\"")).0,
            "type"
        );
        assert_eq!(
            invalid(&A.replace("41 52 44 41 50 41 00 03\"", "\"")).0,
            "aid"
        );
        let (k, p) = invalid(&A.replace("k_enc = \"", "k_enc = 0x\""));
        assert!(k.starts_with("line 7"), "{k}");
        assert!(!p.contains("0001020304"), "{p}");
    }

    #[test]
    fn keys_from_the_environment() {
        let text = A.replace(
            "k_enc = \"000102030405060708090A0B0C0D0E0F\"",
            "k_enc_env = \"CARDAP_TEST_KENC_UNSET\"",
        );
        let (k, p) = invalid(&text);
        assert_eq!(k, "auth.k_enc_env");
        // The variable's name is a profile value: not echoed.
        assert!(!p.contains("CARDAP_TEST_KENC_UNSET"), "{p}");
    }

    #[test]
    fn type_d_ranges_and_custom_steps() {
        let d = r#"
name = "evac"
type = "D"
aid = "F04341524441504400 03"
[auth]
suite = "aes128"
k_enc = "404142434445464748494A4B4C4D4E4F"
k_mac = "505152535455565758595A5B5C5D5E5F"
[[field]]
name = "name"
offset = 13
length = 20
encoding = "utf8"
"#;
        let p = Profile::from_toml_str(d).unwrap();
        assert_eq!(p.auth.unwrap().mode, SmMode::Encrypt);
        assert_eq!(
            invalid(&d.replace("offset = 13", "offset = 5")).0,
            "field[0].offset"
        );
        assert_eq!(
            invalid(&d.replace("length = 20", "length = 250")).0,
            "field[0].offset"
        );
        let c = r#"
name = "x"
type = "custom"
aid = "F0434152444150580001"
[[read]]
file = "011E"
kind = "binary"
user_id_offset = 0
[[read]]
sfi = 2
kind = "records"
[[field]]
name = "f"
source = "sfi2"
offset = 0
length = 2
encoding = "hex"
"#;
        let p = Profile::from_toml_str(c).unwrap();
        assert_eq!(p.reads.len(), 2);
        assert_eq!(p.reads[0].name, "011E");
        assert_eq!(
            invalid(&c.replace("source = \"sfi2\"", "source = \"nope\"")).0,
            "field[0].source"
        );
        assert_eq!(invalid(&c.replace("sfi = 2", "sfi = 31")).0, "read[1].sfi");
        assert_eq!(
            invalid(&c.replace("kind = \"records\"", "kind = \"tree\"")).0,
            "read[1].kind"
        );
    }

    #[test]
    fn missing_file_is_io_error() {
        assert!(matches!(
            Profile::from_file("/nonexistent/p.toml"),
            Err(ProfileError::Io { .. })
        ));
    }
}
