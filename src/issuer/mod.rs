//! The loading desk (cargo feature `issuer`; PROFILE.md §12): install an AP
//! of type A, C or D in the extension or the local-resident area with a new
//! user ID from the desk's registry and freshly generated key sets, delete an
//! AP, empty the local-resident area at a move-out, list the APs by area.
//! Every operation authenticates with the issuer key set against the card
//! manager and runs in one card transaction; nothing state-changing is ever
//! sent twice.

mod ops;
mod registry;
mod template;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::auth::{AuthError, StaticKeys};
use crate::crypto::{SecretKey, Suite};
use crate::profile::{ApType, ProfileError};
use crate::userid::UserId;

pub use registry::{IdState, IdUse, IssuedId, PREFIX_MAX, Registry, RegistryError};
pub use template::ListedAp;

/// The card manager's default AID, `F0 43 41 52 44 41 50 4D 47 52`
/// (PROFILE.md §12.1).
pub const CARD_MANAGER_AID: [u8; 10] = [0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x4D, 0x47, 0x52];

/// Where an AP lives (PROFILE.md §12.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// The extension area: survives a move, lives until the card is renewed.
    Extension,
    /// The local-resident area: deleted at a move-out.
    Local,
}

impl Area {
    /// `extension` or `local`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Extension => "extension",
            Self::Local => "local",
        }
    }

    /// The area named `extension` or `local`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "extension" => Some(Self::Extension),
            "local" => Some(Self::Local),
            _ => None,
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Extension => 0x01,
            Self::Local => 0x02,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(Self::Extension),
            0x02 => Some(Self::Local),
            _ => None,
        }
    }
}

/// A key set of an AP (read or update) or of the issuer: a suite and two keys.
/// Zeroized on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySet {
    suite: Suite,
    k_enc: SecretKey,
    k_mac: SecretKey,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("suite", &self.suite)
            .field("keys", &"REDACTED")
            .finish()
    }
}

impl KeySet {
    /// A key set; each key must have the suite's length.
    pub fn new(suite: Suite, k_enc: SecretKey, k_mac: SecretKey) -> Result<Self, AuthError> {
        // The same checks as for the keys of a read.
        StaticKeys::new(suite, k_enc.clone(), k_mac.clone())?;
        Ok(Self {
            suite,
            k_enc,
            k_mac,
        })
    }

    /// A fresh key set from `rng` (`K_enc` first, then `K_mac`).
    pub fn generate(
        suite: Suite,
        rng: &mut dyn rand_core::CryptoRngCore,
    ) -> Result<Self, AuthError> {
        let mut k_enc = Zeroizing::new(vec![0u8; suite.key_len()]);
        let mut k_mac = Zeroizing::new(vec![0u8; suite.key_len()]);
        crate::auth::fill(rng, &mut k_enc)?;
        crate::auth::fill(rng, &mut k_mac)?;
        Self::new(
            suite,
            SecretKey::new(k_enc.to_vec()),
            SecretKey::new(k_mac.to_vec()),
        )
    }

    /// The suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// `K_enc` (secret: do not log it).
    pub fn k_enc(&self) -> &SecretKey {
        &self.k_enc
    }

    /// `K_mac` (secret: do not log it).
    pub fn k_mac(&self) -> &SecretKey {
        &self.k_mac
    }

    pub(crate) fn static_keys(&self) -> Result<StaticKeys, AuthError> {
        StaticKeys::new(self.suite, self.k_enc.clone(), self.k_mac.clone())
    }

    /// The TOML lines `suite`, `k_enc`, `k_mac` of a profile table.
    fn toml_lines(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "suite = \"{}\"\nk_enc = \"{}\"\nk_mac = \"{}\"\n",
            self.suite.name(),
            hex::encode_upper(self.k_enc.expose()),
            hex::encode_upper(self.k_mac.expose())
        ))
    }
}

/// A loading desk: the card manager it talks to, its issuer key set, its
/// user-ID registry (PROFILE.md §12), read from a TOML file such as
/// `examples/issuer.toml`.
#[derive(Debug, Clone)]
pub struct Issuer {
    card_manager: Vec<u8>,
    keys: KeySet,
    registry: PathBuf,
    id_prefix: String,
    ap_suite: Suite,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    card_manager: Option<String>,
    suite: String,
    k_enc: Option<Zeroizing<String>>,
    k_enc_env: Option<String>,
    k_mac: Option<Zeroizing<String>>,
    k_mac_env: Option<String>,
    registry: String,
    id_prefix: Option<String>,
    ap_suite: Option<String>,
}

impl Issuer {
    /// Reads a desk file; a relative `registry` path is taken from the file's
    /// directory. Errors name the file and the key, never key material.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ProfileError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| ProfileError::Io {
            file: file.clone(),
            message: e.to_string(),
        })?);
        let base = path.parent().unwrap_or(Path::new(""));
        Self::parse(&text, &file, base)
    }

    /// Parses a desk file given as text; a relative `registry` is taken from
    /// the current directory.
    pub fn from_toml_str(text: &str) -> Result<Self, ProfileError> {
        Self::parse(text, "<string>", Path::new(""))
    }

    fn parse(text: &str, file: &str, base: &Path) -> Result<Self, ProfileError> {
        let err = |key: &str, problem: String| ProfileError::Invalid {
            file: file.to_owned(),
            key: key.to_owned(),
            problem,
        };
        let raw: RawIssuer = toml::from_str(text).map_err(|e| {
            // The message never quotes the text (it may hold a key).
            err("syntax", e.message().trim().to_owned())
        })?;
        let suite = Suite::from_name(&raw.suite)
            .ok_or_else(|| err("suite", format!("unknown suite {:?}", raw.suite)))?;
        let key = |name: &str, value: Option<Zeroizing<String>>, env: Option<String>| {
            let text = match (value, env) {
                (Some(v), None) => v,
                (None, Some(var)) => Zeroizing::new(std::env::var(&var).map_err(|_| {
                    err(
                        &format!("{name}_env"),
                        format!("environment variable {var} is not set"),
                    )
                })?),
                (Some(_), Some(_)) => {
                    return Err(err(name, format!("give {name} or {name}_env, not both")));
                }
                (None, None) => return Err(err(name, "missing".to_owned())),
            };
            SecretKey::from_hex(&text).ok_or_else(|| err(name, "not a hex string".to_owned()))
        };
        let keys = KeySet::new(
            suite,
            key("k_enc", raw.k_enc, raw.k_enc_env)?,
            key("k_mac", raw.k_mac, raw.k_mac_env)?,
        )
        .map_err(|e| err("k_enc", e.to_string()))?;
        let card_manager = match raw.card_manager {
            None => CARD_MANAGER_AID.to_vec(),
            Some(text) => crate::profile::parse_hex(&text)
                .filter(|aid| (5..=16).contains(&aid.len()))
                .ok_or_else(|| err("card_manager", "not an AID of 5 to 16 bytes".to_owned()))?,
        };
        let id_prefix = raw.id_prefix.unwrap_or_default();
        if id_prefix.len() > PREFIX_MAX || !id_prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                "id_prefix",
                format!("at most {PREFIX_MAX} ASCII digits"),
            ));
        }
        let ap_suite = match raw.ap_suite {
            None => Suite::Aes128,
            Some(name) => Suite::from_name(&name)
                .ok_or_else(|| err("ap_suite", format!("unknown suite {name:?}")))?,
        };
        if raw.registry.trim().is_empty() {
            return Err(err("registry", "must name a file".to_owned()));
        }
        Ok(Self {
            card_manager,
            keys,
            registry: base.join(raw.registry),
            id_prefix,
            ap_suite,
        })
    }

    /// The card manager's AID.
    pub fn card_manager(&self) -> &[u8] {
        &self.card_manager
    }

    /// The issuer key set.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The registry file.
    pub fn registry_path(&self) -> &Path {
        &self.registry
    }

    /// Uses another registry file.
    pub fn with_registry(mut self, path: impl Into<PathBuf>) -> Self {
        self.registry = path.into();
        self
    }

    /// The digits every user ID of this desk starts with.
    pub fn id_prefix(&self) -> &str {
        &self.id_prefix
    }

    /// The default suite of new APs' key sets.
    pub fn ap_suite(&self) -> Suite {
        self.ap_suite
    }
}

/// What to install (PROFILE.md §12.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstallRequest {
    /// A, C or D.
    pub kind: ApType,
    /// The area.
    pub area: Area,
    /// The new AP's AID.
    pub aid: Vec<u8>,
    /// The EF.DIR label.
    pub label: String,
    /// Initial info fields: Type A records `info1 … infoN` (all created,
    /// `None` as empty values), Type C `info1 … info3` (`None`: absent).
    pub info: Vec<Option<Vec<u8>>>,
    /// Initial Type D data: file bytes 13 … .
    pub data: Vec<u8>,
    /// The suite of the generated key sets (`None`: the desk's `ap_suite`).
    pub suite: Option<Suite>,
}

impl InstallRequest {
    /// A request without initial contents.
    pub fn new(
        kind: ApType,
        area: Area,
        aid: impl Into<Vec<u8>>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            area,
            aid: aid.into(),
            label: label.into(),
            info: Vec::new(),
            data: Vec::new(),
            suite: None,
        }
    }

    /// Sets info field `n` (1-based; Types A and C).
    pub fn with_info(mut self, n: usize, value: impl Into<Vec<u8>>) -> Self {
        if n >= 1 {
            if self.info.len() < n {
                self.info.resize(n, None);
            }
            if let Some(slot) = self.info.get_mut(n - 1) {
                *slot = Some(value.into());
            }
        }
        self
    }

    /// Sets the initial Type D data.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets the suite of the generated keys.
    pub fn with_suite(mut self, suite: Suite) -> Self {
        self.suite = Some(suite);
        self
    }
}

/// An installed AP: what the desk hands the service provider.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Installed {
    /// The new user ID.
    pub user_id: UserId,
    /// The AP type.
    pub kind: ApType,
    /// The area.
    pub area: Area,
    /// The AID.
    pub aid: Vec<u8>,
    /// The label.
    pub label: String,
    /// The read key set (Types A and D).
    pub read_keys: Option<KeySet>,
    /// The update key set.
    pub update_keys: KeySet,
    /// Command APDUs sent.
    pub apdus: usize,
}

impl Installed {
    /// A complete profile for the AP (PROFILE.md §9): read keys under
    /// `[auth]`, update keys under `[auth.update]`. It holds keys: keep it
    /// as a secret.
    pub fn profile_toml(&self, name: &str) -> Zeroizing<String> {
        let mut out = Zeroizing::new(format!(
            "# {} AP installed by the loading desk: user ID {}, {} area.\n\
             # It holds the AP's keys: keep it secret.\n\
             name = {}\ntype = \"{}\"\naid = \"{}\"\n",
            self.kind.name(),
            self.user_id,
            self.area.name(),
            toml_string(name),
            self.kind.name(),
            hex::encode_upper(&self.aid)
        ));
        if let Some(read) = &self.read_keys {
            out.push_str("\n[auth]\n");
            out.push_str(&read.toml_lines());
        }
        out.push_str("\n[auth.update]\n");
        out.push_str(&self.update_keys.toml_lines());
        out
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
