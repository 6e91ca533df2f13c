//! Custom APs (PROFILE.md §9): SELECT, optional mutual authentication, then the
//! profile's `[[read]]` steps, each under the secure messaging `[auth]` sets up
//! or in the clear without it.

use super::binary::{Start, read_binary, read_records};
use super::{ApRecord, empty_record, malformed, user_id};
use crate::auth::{KeyProvider, Random};
use crate::error::{Error, Result};
use crate::profile::{FileRef, Profile, ReadKind, USER_ID_LEN};
use crate::session::Session;
use crate::userid::UserId;

pub(super) fn read(
    session: &mut Session<'_>,
    profile: &Profile,
    keys: Option<&dyn KeyProvider>,
    rng: &mut dyn Random,
) -> Result<ApRecord> {
    session.select_aid(&profile.aid)?;
    let protected = match (&profile.auth, keys) {
        (Some(a), Some(k)) => {
            session.authenticate(k, rng, a.mode)?;
            true
        }
        (Some(_), None) => {
            return Err(Error::Profile(crate::profile::ProfileError::Invalid {
                file: profile.name.clone(),
                key: "auth".into(),
                problem: "this AP needs keys".into(),
            }));
        }
        (None, _) => false,
    };
    let mut steps = std::collections::BTreeMap::new();
    let mut uid: Option<UserId> = None;
    for step in &profile.reads {
        let sfi = match step.file {
            FileRef::Fid(fid) => {
                session.select_file(fid)?;
                0
            }
            FileRef::Sfi(s) => s,
        };
        let bytes = match step.kind {
            ReadKind::Binary => {
                let start = if sfi == 0 {
                    Start::Current
                } else {
                    Start::Sfi(sfi)
                };
                read_binary(session, start, protected, None)?
            }
            ReadKind::Records => read_records(session, sfi, protected, 65_536)?.concat(),
        };
        if let Some(off) = step.user_id_offset {
            let raw = bytes
                .get(off..off.saturating_add(USER_ID_LEN))
                .ok_or_else(|| {
                    malformed(
                        profile,
                        format!("step {}: no user ID at offset {off}", step.name),
                    )
                })?;
            uid = Some(user_id(profile, raw)?);
        }
        steps.insert(step.name.clone(), bytes);
    }
    let uid = uid.ok_or_else(|| malformed(profile, "no [[read]] step has a user_id_offset"))?;
    let mut record = empty_record(profile, uid);
    record.data = Some(
        profile
            .reads
            .iter()
            .filter_map(|s| steps.get(&s.name))
            .flatten()
            .copied()
            .collect(),
    );
    record.steps = steps;
    Ok(record)
}
