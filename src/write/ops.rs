//! Running a write (PROFILE.md §11) on the card: one transaction with the
//! state-changing policy, the update keys' channel, one command per write,
//! and nothing state-changing ever sent twice.

use rand_core::CryptoRngCore;

use super::{FieldWrite, Plan, WriteReport, labels, plan, type_c_update};
use crate::apdu::Command;
use crate::auth::{KEY_REFERENCE_UPDATE, KeyProvider, StaticKeys};
use crate::card::{Card, Policy};
use crate::commands;
use crate::error::{Error, Result};
use crate::profile::{ApType, Profile, ProfileError};
use crate::session::Session;
use crate::sm::SmMode;
use crate::status::StatusWord;
use crate::transport::Transport;

/// Sends a state-changing command under the channel and requires `90 00`;
/// returns the plain response data.
pub(crate) fn send_changing(
    session: &mut Session<'_>,
    cmd: &Command,
    name: &'static str,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let resp = session.transmit_protected(cmd)?;
    if resp.sw == StatusWord::Success {
        Ok(zeroize::Zeroizing::new(resp.data.clone()))
    } else {
        Err(Error::Status {
            command: name,
            sw: resp.sw,
        })
    }
}

fn update_keys(profile: &Profile) -> Result<StaticKeys> {
    let no_keys = |problem: &str| {
        Error::Profile(ProfileError::Invalid {
            file: profile.name().to_owned(),
            key: "auth.update".into(),
            problem: problem.into(),
        })
    };
    let update = profile
        .update()
        .ok_or_else(|| no_keys("writing needs the AP's update keys ([auth.update])"))?;
    match update.static_keys() {
        Some(keys) => Ok(keys?),
        None => Err(no_keys("no keys in the profile: pass a key provider")),
    }
}

impl<T: Transport> Card<T> {
    /// Writes info fields of the AP a profile describes (PROFILE.md §11),
    /// with the update keys of its `[auth.update]` table, in one transaction:
    /// SELECT, (Type C: the file read in the clear), GET CHALLENGE, MUTUAL
    /// AUTHENTICATE with key reference `82`, then one UPDATE RECORD (Type A)
    /// or UPDATE BINARY (Types C, D) per write, in order. Every write is
    /// checked against the profile and the profile document's limits before
    /// anything is sent ([`Error::Request`]). A card that refuses a write
    /// answers a status word and keeps its old value; a card torn away during
    /// a write holds the old value or the new one — read it again to know
    /// which (nothing state-changing is ever sent twice).
    pub fn write(&mut self, profile: &Profile, writes: &[FieldWrite]) -> Result<WriteReport> {
        let keys = update_keys(profile)?;
        self.write_with_keys(profile, &keys, writes)
    }

    /// [`Card::write`] with the update keys from `keys` (an HSM, a SAM)
    /// instead of the profile.
    pub fn write_with_keys(
        &mut self,
        profile: &Profile,
        keys: &dyn KeyProvider,
        writes: &[FieldWrite],
    ) -> Result<WriteReport> {
        let plan = plan(profile, writes)?;
        let mode = match profile.ap_type() {
            ApType::D => SmMode::Encrypt,
            _ => SmMode::Mac,
        };
        let span = tracing::info_span!(
            "write",
            ap = profile.name(),
            ap_type = profile.ap_type().name(),
            writes = writes.len(),
            apdus = tracing::field::Empty,
        );
        let _entered = span.enter();
        let ((), apdus) = self
            .run(
                profile.extended_length(),
                Policy::StateChanging,
                |session, rng| write_once(session, profile, keys, rng, mode, &plan),
            )
            .inspect_err(|e| tracing::debug!(error = %e, "write failed"))?;
        span.record("apdus", apdus);
        Ok(WriteReport {
            name: profile.name().to_owned(),
            kind: profile.ap_type(),
            aid: profile.aid().to_vec(),
            written: labels(writes),
            apdus,
        })
    }
}

fn write_once(
    session: &mut Session<'_>,
    profile: &Profile,
    keys: &dyn KeyProvider,
    rng: &mut dyn CryptoRngCore,
    mode: SmMode,
    plan: &Plan,
) -> Result<()> {
    session.select_aid(profile.aid())?;
    match plan {
        Plan::Commands(commands) => {
            session.authenticate_with_reference(keys, rng, mode, KEY_REFERENCE_UPDATE)?;
            for cmd in commands {
                let name = commands::properties(cmd.ins).name;
                send_changing(session, cmd, name)?;
            }
            Ok(())
        }
        Plan::TypeC(changes) => {
            let read = commands::read_binary_sfi(1, 256)?;
            let file = session.transmit_ok(&read, "READ BINARY")?;
            let update = type_c_update(profile, &file.data, changes)?;
            session.authenticate_with_reference(keys, rng, mode, KEY_REFERENCE_UPDATE)?;
            send_changing(session, &update, "UPDATE BINARY").map(|_| ())
        }
    }
}
