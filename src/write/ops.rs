//! Running a write (PROFILE.md §11) on the card: one transaction, the update
//! keys' channel, one command per write, and nothing state-changing sent
//! twice.

use super::{FieldWrite, Plan, WriteReport, labels, plan, type_c_update};
use crate::ap::Reader;
use crate::apdu::Command;
use crate::auth::{KEY_REFERENCE_UPDATE, KeyProvider, Random, StaticKeys};
use crate::error::{Error, Result};
use crate::profile::{ApType, Profile, ProfileError};
use crate::session::Session;
use crate::sm::SmMode;
use crate::status::StatusWord;
use crate::transport::Transport;

/// How often a state-changing operation starts again before its first
/// state-changing command (a reset by another party, a link glitch).
const MAX_RETRIES: usize = 2;

/// Runs a state-changing operation in one transaction. It may start again
/// from SELECT — with short APDUs after an extended-length refusal, or after a
/// reset by another party — only while `op` has not yet sent a state-changing
/// command (it sets the flag just before); after that any failure is final,
/// so nothing that changes the card is ever sent twice.
pub(crate) fn run_changing<T: Transport + ?Sized, R>(
    transport: &mut T,
    mut extended: bool,
    mut op: impl FnMut(&mut Session<'_>, &mut bool) -> Result<R>,
) -> Result<(R, usize)> {
    let mut spent = 0;
    let mut retries = 0;
    loop {
        let mut outcome: Option<Result<R>> = None;
        let began = transport.transaction(&mut |t| {
            loop {
                let mut session = Session::new(&mut *t, extended);
                let mut changing = false;
                let r = op(&mut session, &mut changing);
                spent += session.apdu_count();
                match r {
                    Err(Error::ExtendedRejected) if extended && !changing => extended = false,
                    Err(Error::Transport(e))
                        if e.is_retryable() && !changing && retries < MAX_RETRIES =>
                    {
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

/// Sends a state-changing command under the channel and requires `90 00`.
pub(crate) fn send_changing(
    session: &mut Session<'_>,
    changing: &mut bool,
    cmd: &Command,
    name: &'static str,
) -> Result<Vec<u8>> {
    *changing = true;
    let resp = session.transmit_protected(cmd)?;
    if resp.sw == StatusWord::Success {
        Ok(resp.data.clone())
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
            file: profile.name.clone(),
            key: "auth.update".into(),
            problem: problem.into(),
        })
    };
    let update = profile
        .update
        .as_ref()
        .ok_or_else(|| no_keys("writing needs the AP's update keys ([auth.update])"))?;
    match (&update.k_enc, &update.k_mac) {
        (Some(e), Some(m)) => Ok(StaticKeys::new(update.suite, e.clone(), m.clone())?),
        _ => Err(no_keys("no keys in the profile: pass a key provider")),
    }
}

impl<T: Transport> Reader<T> {
    /// Writes info fields of the AP a profile describes (PROFILE.md §11),
    /// with the update keys of its `[auth.update]` table, in one transaction:
    /// SELECT, (Type C: the file read in the clear), GET CHALLENGE, MUTUAL
    /// AUTHENTICATE with key reference `82`, then one UPDATE RECORD (Type A)
    /// or UPDATE BINARY (Types C, D) per write, in order. Every write is
    /// checked against the profile and the profile's limits before anything
    /// is sent. A card that refuses a write answers a status word and keeps
    /// its old value; a card torn away during a write holds the old value or
    /// the new one — read it again to know which (nothing is resent).
    pub fn write(&mut self, profile: &Profile, writes: &[FieldWrite]) -> Result<WriteReport> {
        let keys = update_keys(profile)?;
        self.write_with_keys(profile, &keys, writes)
    }

    /// [`Reader::write`] with the update keys from `keys` (an HSM, a SAM)
    /// instead of the profile.
    pub fn write_with_keys(
        &mut self,
        profile: &Profile,
        keys: &dyn KeyProvider,
        writes: &[FieldWrite],
    ) -> Result<WriteReport> {
        let plan = plan(profile, writes)?;
        let mode = match profile.kind {
            ApType::D => SmMode::Encrypt,
            _ => SmMode::Mac,
        };
        let (transport, rng, extended) = self.operation_parts(profile.extended_length);
        let ((), apdus) = run_changing(transport, extended, |session, changing| {
            write_once(session, changing, profile, keys, rng, mode, &plan)
        })?;
        Ok(WriteReport {
            name: profile.name.clone(),
            kind: profile.kind,
            aid: profile.aid.clone(),
            written: labels(writes),
            apdus,
        })
    }
}

fn write_once(
    session: &mut Session<'_>,
    changing: &mut bool,
    profile: &Profile,
    keys: &dyn KeyProvider,
    rng: &mut dyn Random,
    mode: SmMode,
    plan: &Plan,
) -> Result<()> {
    session.select_aid(&profile.aid)?;
    let commands = match plan {
        Plan::Commands(commands) => {
            session.authenticate_with_reference(keys, rng, mode, KEY_REFERENCE_UPDATE)?;
            commands.iter().collect::<Vec<_>>()
        }
        Plan::TypeC(changes) => {
            let read = Command::new(0x00, 0xB0, 0x81, 0x00, [], Some(256))?;
            let file = session.transmit_ok(&read, "READ BINARY")?;
            let update = type_c_update(profile, &file.data, changes)?;
            session.authenticate_with_reference(keys, rng, mode, KEY_REFERENCE_UPDATE)?;
            return send_changing(session, changing, &update, "UPDATE BINARY").map(|_| ());
        }
    };
    for cmd in commands {
        let name = if cmd.ins == 0xDC {
            "UPDATE RECORD"
        } else {
            "UPDATE BINARY"
        };
        send_changing(session, changing, cmd, name)?;
    }
    Ok(())
}
