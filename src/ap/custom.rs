//! Custom APs (PROFILE.md §9): SELECT, optional mutual authentication, then the
//! profile's `[[read]]` steps, each under the secure messaging `[auth]` sets up
//! or in the clear without it.

use super::binary::{Start, read_binary, read_records};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{malformed, no_keys, user_id};
use crate::auth::KeyProvider;
use crate::error::Result;
use crate::profile::{FileRef, Profile, ReadKind, USER_ID_LEN};
use crate::record::{ApRecord, SecretBytes};
use crate::session::Session;
use crate::userid::UserId;

pub(super) fn read(
    session: &mut Session<'_>,
    profile: &Profile,
    keys: Option<&dyn KeyProvider>,
    rng: &mut dyn CryptoRngCore,
) -> Result<ApRecord> {
    session.select_aid(profile.aid())?;
    let protected = match (profile.auth(), keys) {
        (Some(a), Some(k)) => {
            session.authenticate(k, rng, a.mode())?;
            true
        }
        (Some(_), None) => return Err(no_keys(profile)),
        (None, _) => false,
    };
    let mut steps: Vec<(&str, SecretBytes)> = Vec::with_capacity(profile.reads().len());
    let mut uid: Option<UserId> = None;
    for step in profile.reads() {
        let sfi = match step.file() {
            FileRef::Fid(fid) => {
                session.select_file(fid)?;
                0
            }
            FileRef::Sfi(s) => s,
        };
        let bytes = match step.kind() {
            ReadKind::Binary => {
                let start = if sfi == 0 {
                    Start::Current
                } else {
                    Start::Sfi(sfi)
                };
                read_binary(session, start, protected, None)?
            }
            ReadKind::Records => Zeroizing::new(
                read_records(session, sfi, protected, 65_536)?
                    .iter()
                    .flat_map(|r| r.iter().copied())
                    .collect(),
            ),
        };
        if let Some(off) = step.user_id_offset() {
            let raw = bytes
                .get(off..off.saturating_add(USER_ID_LEN))
                .ok_or_else(|| {
                    malformed(
                        profile,
                        format!("step {}: no user ID at offset {off}", step.name()),
                    )
                })?;
            uid = Some(user_id(profile, raw)?);
        }
        steps.push((step.name(), bytes));
    }
    let uid = uid.ok_or_else(|| malformed(profile, "no [[read]] step has a user_id_offset"))?;
    let mut record = ApRecord::new(profile, uid);
    record.set_data(Zeroizing::new(
        steps.iter().flat_map(|(_, b)| b.iter().copied()).collect(),
    ));
    for (name, bytes) in steps {
        record.push_step(name, bytes);
    }
    Ok(record)
}
