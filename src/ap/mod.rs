//! Reading card APs: Type C (PROFILE.md §4), Type A (§5), Type D (§6), custom
//! APs driven by a profile's `[[read]]` steps (§9), and discovery through
//! EF.DIR (§2). Each function here runs inside one operation of
//! [`Card`](crate::Card) and talks to the card through a [`Session`].

mod binary;
mod custom;
mod dir;
pub(crate) mod type_a;
pub(crate) mod type_c;
pub(crate) mod type_d;

pub use dir::DirEntry;
#[cfg(feature = "fuzzing")]
pub(crate) use dir::parse_dir;
pub(crate) use dir::read_dir;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::auth::KeyProvider;
use crate::error::{Error, Result};
use crate::fields;
use crate::profile::{ApType, FieldSource, Profile};
use crate::record::ApRecord;
use crate::session::Session;
use crate::userid::UserId;

/// Reads the AP `profile` describes, once: the retry policy is the caller's.
/// `keys` authenticate where the AP needs it; without them such an AP is
/// [`Error::NoKeys`].
pub(crate) fn read(
    session: &mut Session<'_>,
    profile: &Profile,
    keys: Option<&dyn KeyProvider>,
    rng: &mut dyn CryptoRngCore,
) -> Result<ApRecord> {
    let need_keys = || keys.ok_or_else(|| no_keys(profile));
    let mut record = match profile.ap_type() {
        ApType::C => type_c::read(session, profile)?,
        ApType::A => type_a::read(session, profile, need_keys()?, rng)?,
        ApType::D => type_d::read(session, profile, need_keys()?, rng)?,
        ApType::Custom => custom::read(session, profile, keys, rng)?,
    };
    decode_fields(profile, &mut record)?;
    Ok(record)
}

pub(crate) fn no_keys(profile: &Profile) -> Error {
    Error::NoKeys {
        ap: profile.name().to_owned(),
    }
}

pub(crate) fn malformed(profile: &Profile, problem: impl Into<String>) -> Error {
    Error::Malformed {
        ap: profile.name().to_owned(),
        problem: problem.into(),
    }
}

pub(crate) fn user_id(profile: &Profile, bytes: &[u8]) -> Result<UserId> {
    UserId::parse(bytes).map_err(|problem| Error::UserId {
        ap: profile.name().to_owned(),
        problem,
    })
}

/// Decodes the profile's `[[field]]` entries, in the profile's order.
fn decode_fields(profile: &Profile, record: &mut ApRecord) -> Result<()> {
    let mut decoded = Vec::with_capacity(profile.fields().len());
    for f in profile.fields() {
        let bytes: Option<&[u8]> = match f.source() {
            FieldSource::Info(n) => record.info_value(&format!("info{n}")),
            FieldSource::Range {
                step,
                offset,
                length,
            } => {
                let (base, whole): (usize, Option<&[u8]>) = match step {
                    // Type D data start at file byte 13.
                    None => (crate::profile::USER_ID_LEN, record.data()),
                    Some(s) => (0, record.step(s)),
                };
                let start = offset.saturating_sub(base);
                whole.and_then(|w| w.get(start..start.saturating_add(*length)))
            }
        };
        let Some(bytes) = bytes else {
            if matches!(f.source(), FieldSource::Info(_)) {
                // An absent info field is simply not reported.
                continue;
            }
            return Err(malformed(
                profile,
                format!("field {}: its bytes lie outside the data read", f.name()),
            ));
        };
        let text = fields::decode(f.encoding(), bytes)
            .map_err(|p| malformed(profile, format!("field {}: {p}", f.name())))?;
        decoded.push((f.name(), Zeroizing::new(text)));
    }
    for (name, text) in decoded {
        record.push_field(name, text);
    }
    Ok(())
}
