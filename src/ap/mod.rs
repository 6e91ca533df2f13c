//! Reading card APs: Type C (PROFILE.md §4), Type A (§5), Type D (§6), custom
//! APs driven by a profile's `[[read]]` steps (§9), and discovery through
//! EF.DIR (§2). One read is one card transaction.

mod binary;
mod custom;
mod dir;
mod type_a;
mod type_c;
mod type_d;

use std::collections::BTreeMap;

pub use dir::DirEntry;

use crate::atr;
use crate::auth::{KeyProvider, OsRandom, Random, StaticKeys};
use crate::error::{Error, Result};
use crate::fields;
use crate::profile::{ApType, FieldSource, Profile};
use crate::session::Session;
use crate::transport::Transport;
use crate::userid::UserId;

/// How often one read starts again after a reset by another party or a link
/// glitch (reads only: nothing on the card changes).
const MAX_RETRIES: usize = 2;

/// What a read returns: the AP's identity, its user ID and its contents, all
/// authenticated where the AP type requires it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApRecord {
    /// The profile's name.
    pub name: String,
    /// The AP type.
    pub kind: ApType,
    /// The AID read.
    pub aid: Vec<u8>,
    /// The validated user ID.
    pub user_id: UserId,
    /// Info fields by name (`info1`, …), for Types A and C.
    pub info: BTreeMap<String, Vec<u8>>,
    /// File bytes 13… for Type D; the concatenated step outputs for custom APs.
    pub data: Option<Vec<u8>>,
    /// Custom APs: each `[[read]]` step's output by step name.
    pub steps: BTreeMap<String, Vec<u8>>,
    /// Fields decoded per the profile's `[[field]]` entries.
    pub fields: BTreeMap<String, String>,
    /// Command APDUs sent (GET RESPONSE and retries included).
    pub apdus: usize,
}

/// How the reader chose between short and extended APDUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthMode {
    /// From the ATR, the link, and the profile's `extended_length`.
    Auto,
    /// Short APDUs only.
    Short,
}

/// Reads card APs over a [`Transport`].
pub struct Reader<T: Transport> {
    transport: T,
    rng: Box<dyn Random>,
    length: LengthMode,
}

impl<T: Transport> std::fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Reader<T> {
    /// A reader with OS randomness and automatic length choice.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            rng: Box::new(OsRandom),
            length: LengthMode::Auto,
        }
    }

    /// Replaces the random source (fixed values make transcripts repeatable).
    pub fn with_random(mut self, rng: Box<dyn Random>) -> Self {
        self.rng = rng;
        self
    }

    /// Forces short APDUs, or lets the ATR decide.
    pub fn with_length_mode(mut self, mode: LengthMode) -> Self {
        self.length = mode;
        self
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    fn extended_for(&self, profile_opt: Option<bool>) -> bool {
        if self.length == LengthMode::Short
            || profile_opt == Some(false)
            || !self.transport.supports_extended()
        {
            return false;
        }
        if profile_opt == Some(true) {
            return true;
        }
        self.transport
            .atr()
            .is_some_and(|a| atr::supports_extended_length(&a))
    }

    /// Reads the AP a profile describes, with the profile's own keys.
    pub fn read(&mut self, profile: &Profile) -> Result<ApRecord> {
        let keys = match &profile.auth {
            Some(a) => match (&a.k_enc, &a.k_mac) {
                (Some(e), Some(m)) => Some(StaticKeys::new(a.suite, e.clone(), m.clone())?),
                _ => {
                    return Err(Error::Profile(crate::profile::ProfileError::Invalid {
                        file: profile.name.clone(),
                        key: "auth".into(),
                        problem: "no keys in the profile: pass a key provider".into(),
                    }));
                }
            },
            None => None,
        };
        self.read_with_keys(profile, keys.as_ref().map(|k| k as &dyn KeyProvider))
    }

    /// Reads the AP a profile describes; the mutual authentication uses `keys`
    /// (for instance an HSM-backed provider) instead of the profile's keys.
    pub fn read_with_keys(
        &mut self,
        profile: &Profile,
        keys: Option<&dyn KeyProvider>,
    ) -> Result<ApRecord> {
        let result = self.read_inner(profile, keys);
        if profile.auth.is_some() || keys.is_some() {
            // Key schedules were built and moved in frames below this one.
            crate::crypto::scrub_stack();
        }
        result
    }

    #[inline(never)]
    fn read_inner(
        &mut self,
        profile: &Profile,
        keys: Option<&dyn KeyProvider>,
    ) -> Result<ApRecord> {
        let extended = self.extended_for(profile.extended_length);
        let rng = &mut *self.rng;
        let (mut record, apdus) = run_read(&mut self.transport, extended, |session| {
            read_once(session, profile, keys, &mut *rng)
        })?;
        record.apdus = apdus;
        Ok(record)
    }

    /// Lists the APs on the card through EF.DIR.
    pub fn list(&mut self) -> Result<Vec<DirEntry>> {
        let extended = self.extended_for(None);
        run_read(&mut self.transport, extended, dir::read_dir).map(|(entries, _)| entries)
    }
}

/// Runs one read operation inside one transaction, on a fresh session per
/// attempt, and starts again from SELECT when the card refuses extended
/// length (with short APDUs) or when the card was reset by another party or
/// the link glitched (a bounded number of times; reads change nothing on the
/// card). Returns the result and the command APDUs spent on all attempts.
fn run_read<T: Transport + ?Sized, R>(
    transport: &mut T,
    mut extended: bool,
    mut op: impl FnMut(&mut Session<'_>) -> Result<R>,
) -> Result<(R, usize)> {
    let mut spent = 0;
    let mut retries = 0;
    loop {
        let mut outcome: Option<Result<R>> = None;
        let began = transport.transaction(&mut |t| {
            loop {
                let mut session = Session::new(&mut *t, extended);
                let r = op(&mut session);
                spent += session.apdu_count();
                match r {
                    Err(Error::ExtendedRejected) if extended => extended = false,
                    Err(Error::Transport(e)) if e.is_retryable() && retries < MAX_RETRIES => {
                        retries += 1;
                    }
                    other => {
                        outcome = Some(other);
                        return;
                    }
                }
            }
        });
        match began {
            // A reset seen when the transaction began.
            Err(e) if e.is_retryable() && retries < MAX_RETRIES => retries += 1,
            Err(e) => return Err(e.into()),
            Ok(()) => {
                return outcome
                    .unwrap_or(Err(Error::ExtendedRejected))
                    .map(|r| (r, spent));
            }
        }
    }
}

fn read_once(
    session: &mut Session<'_>,
    profile: &Profile,
    keys: Option<&dyn KeyProvider>,
    rng: &mut dyn Random,
) -> Result<ApRecord> {
    let need_keys = || {
        keys.ok_or_else(|| {
            Error::Profile(crate::profile::ProfileError::Invalid {
                file: profile.name.clone(),
                key: "auth".into(),
                problem: "this AP needs keys".into(),
            })
        })
    };
    let mut record = match profile.kind {
        ApType::C => type_c::read(session, profile)?,
        ApType::A => type_a::read(session, profile, need_keys()?, rng)?,
        ApType::D => type_d::read(session, profile, need_keys()?, rng)?,
        ApType::Custom => custom::read(session, profile, keys, rng)?,
    };
    record.fields = decode_fields(profile, &record)?;
    Ok(record)
}

pub(crate) fn malformed(profile: &Profile, problem: impl Into<String>) -> Error {
    Error::Malformed {
        ap: profile.name.clone(),
        problem: problem.into(),
    }
}

pub(crate) fn user_id(profile: &Profile, bytes: &[u8]) -> Result<UserId> {
    UserId::parse(bytes).map_err(|problem| Error::UserId {
        ap: profile.name.clone(),
        problem,
    })
}

fn decode_fields(profile: &Profile, record: &ApRecord) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in &profile.fields {
        let bytes: Option<&[u8]> = match &f.source {
            FieldSource::Info(n) => record.info.get(&format!("info{n}")).map(Vec::as_slice),
            FieldSource::Range {
                step,
                offset,
                length,
            } => {
                let (base, whole): (usize, Option<&Vec<u8>>) = match step {
                    // Type D data start at file byte 13.
                    None => (crate::profile::USER_ID_LEN, record.data.as_ref()),
                    Some(s) => (0, record.steps.get(s)),
                };
                let start = offset.saturating_sub(base);
                whole.and_then(|w| w.get(start..start.saturating_add(*length)))
            }
        };
        let Some(bytes) = bytes else {
            if matches!(f.source, FieldSource::Info(_)) {
                // An absent info field is simply not reported.
                continue;
            }
            return Err(malformed(
                profile,
                format!("field {}: its bytes lie outside the data read", f.name),
            ));
        };
        let text = fields::decode(f.encoding, bytes)
            .map_err(|p| malformed(profile, format!("field {}: {p}", f.name)))?;
        out.insert(f.name.clone(), text);
    }
    Ok(out)
}

fn empty_record(profile: &Profile, user_id: UserId) -> ApRecord {
    ApRecord {
        name: profile.name.clone(),
        kind: profile.kind,
        aid: profile.aid.clone(),
        user_id,
        info: BTreeMap::new(),
        data: None,
        steps: BTreeMap::new(),
        fields: BTreeMap::new(),
        apdus: 0,
    }
}
