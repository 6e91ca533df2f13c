//! A session with one card: [`Card`] runs each operation (a read, the AP
//! list, and the operations to come) as one transport transaction, with the
//! retry [`Policy`] the operation declares.

use rand_core::{CryptoRngCore, OsRng};

use crate::ap::{self, DirEntry};
use crate::atr;
use crate::auth::KeyProvider;
use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::record::ApRecord;
use crate::session::Session;
use crate::transport::Transport;

/// How often one operation starts again after a reset by another party or a
/// link glitch (reads only).
const MAX_RETRIES: usize = 2;

/// How the card chooses between short and extended APDUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthMode {
    /// From the ATR, the link, and the profile's `extended_length`.
    Auto,
    /// Short APDUs only.
    Short,
}

/// What an operation may do again when something goes wrong on the way.
///
/// Every attempt is a fresh [`Session`] that starts from SELECT; nothing is
/// ever resent in the middle of an operation. What may start again:
///
/// | event | [`Policy::Read`] | [`Policy::StateChanging`] |
/// |---|---|---|
/// | the transaction could not begin because the card was reset (nothing sent) | again | again |
/// | extended length refused (`67 00`, or the reader or link refused) | again, short | again, short, only if no state-changing command may have been executed |
/// | card reset by another party, or link glitch, during the operation | again (at most twice) | never: the error is returned |
///
/// A state-changing command ([`Effect::Persistent`](crate::commands::Effect))
/// "may have been executed" once it was sent and the card did not answer it
/// with a checking error (`SW1` `67`–`6F`, which ISO/IEC 7816-4 §5.6 defines
/// as "not executed"); a lost answer counts as executed. So an UPDATE refused
/// with `67 00` because it was sent in extended form is sent again in short
/// form, but an UPDATE the card accepted is never sent twice, and an UPDATE
/// whose answer was lost is reported, not guessed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// The operation only reads (SELECT, authentication, READ …).
    Read,
    /// The operation changes persistent state on the card.
    StateChanging,
}

/// Runs one operation inside one transaction, on a fresh session per attempt,
/// starting again from SELECT as `policy` allows (see [`Policy`]). Returns the
/// result and the command APDUs spent on all attempts.
pub(crate) fn run_operation<T: Transport + ?Sized, R>(
    transport: &mut T,
    mut extended: bool,
    policy: Policy,
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
                let restart_allowed = match policy {
                    Policy::Read => true,
                    Policy::StateChanging => !session.persistent_sent(),
                };
                drop(session);
                match r {
                    Err(Error::ExtendedRejected) if extended && restart_allowed => {
                        tracing::debug!("extended length refused: again with short APDUs");
                        extended = false;
                    }
                    Err(Error::Transport(e))
                        if policy == Policy::Read && e.is_retryable() && retries < MAX_RETRIES =>
                    {
                        tracing::debug!(error = %e, "card reset or link glitch: again from SELECT");
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
            // A reset seen when the transaction began: nothing was sent.
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

/// A session with one card over a [`Transport`]: reads the APs a
/// [`Profile`] describes and lists the APs on the card. Each operation is one
/// transport transaction (one PC/SC transaction), so no other client of the
/// reader can interleave APDUs into its secure channel.
///
/// `Card<T>` is `Send` when `T` is, so it can move to a worker thread.
pub struct Card<T: Transport> {
    transport: T,
    rng: Box<dyn CryptoRngCore + Send>,
    length: LengthMode,
    /// The public APs' PIN floor and what this card taught (`public`).
    pub(crate) public: crate::public::PublicState,
}

impl<T: Transport> std::fmt::Debug for Card<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Card")
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Card<T> {
    /// A session over `transport`, with the operating system's random number
    /// generator and the length mode chosen from the ATR.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            rng: Box::new(OsRng),
            length: LengthMode::Auto,
            public: crate::public::PublicState::default(),
        }
    }

    /// Replaces the random source by fixed bytes handed out in order
    /// (`RND.IFD` then `K.IFD` for each authentication), so that a recorded
    /// transcript replays. Feature `test-util`: never against a real card.
    #[cfg(any(test, feature = "test-util"))]
    pub fn with_random(mut self, bytes: Vec<u8>) -> Self {
        self.rng = Box::new(crate::auth::FixedRandom::new(bytes));
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

    /// Runs `op` as one operation with `policy` (see [`Policy`]); the
    /// operation gets the session and the random source.
    pub(crate) fn run<R>(
        &mut self,
        extended_length: Option<bool>,
        policy: Policy,
        mut op: impl FnMut(&mut Session<'_>, &mut dyn CryptoRngCore) -> Result<R>,
    ) -> Result<(R, usize)> {
        let extended = self.extended_for(extended_length);
        let rng = &mut *self.rng;
        run_operation(&mut self.transport, extended, policy, |session| {
            op(session, &mut *rng)
        })
    }

    /// Reads the AP `profile` describes, with the profile's own keys. An AP
    /// that needs keys the profile does not hold is [`Error::NoKeys`]
    /// (pass a key provider to [`read_with_keys`](Self::read_with_keys)).
    pub fn read(&mut self, profile: &Profile) -> Result<ApRecord> {
        let keys = match profile.auth() {
            Some(a) => Some(a.static_keys().ok_or_else(|| ap::no_keys(profile))??),
            None => None,
        };
        self.read_inner(profile, keys.as_ref().map(|k| k as &dyn KeyProvider))
    }

    /// Reads the AP `profile` describes; the mutual authentication uses
    /// `keys` (for instance an HSM-backed provider) instead of the profile's
    /// keys. An AP without authentication (Type C) ignores them.
    pub fn read_with_keys(
        &mut self,
        profile: &Profile,
        keys: &dyn KeyProvider,
    ) -> Result<ApRecord> {
        self.read_inner(profile, Some(keys))
    }

    fn read_inner(
        &mut self,
        profile: &Profile,
        keys: Option<&dyn KeyProvider>,
    ) -> Result<ApRecord> {
        if keys.is_some_and(|k| k.suite() == crate::Suite::TripleDes) {
            warn_3des_once();
        }
        let result = self.read_traced(profile, keys);
        if keys.is_some() {
            // Key schedules were built and moved in frames below this one.
            crate::crypto::scrub_stack();
        }
        result
    }

    #[inline(never)]
    fn read_traced(
        &mut self,
        profile: &Profile,
        keys: Option<&dyn KeyProvider>,
    ) -> Result<ApRecord> {
        let span = tracing::info_span!(
            "read",
            ap = profile.name(),
            ap_type = profile.ap_type().name(),
            apdus = tracing::field::Empty,
        );
        let _entered = span.enter();
        let outcome = self.run(profile.extended_length(), Policy::Read, |session, rng| {
            ap::read(session, profile, keys, rng)
        });
        match outcome {
            Ok((mut record, apdus)) => {
                span.record("apdus", apdus);
                record.set_apdus(apdus);
                Ok(record)
            }
            Err(e) => {
                tracing::debug!(error = %e, "read failed");
                Err(e)
            }
        }
    }

    /// Lists the APs on the card through EF.DIR.
    pub fn list(&mut self) -> Result<Vec<DirEntry>> {
        let span = tracing::info_span!("list", apdus = tracing::field::Empty);
        let _entered = span.enter();
        let (entries, apdus) = self
            .run(None, Policy::Read, |session, _| ap::read_dir(session))
            .inspect_err(|e| tracing::debug!(error = %e, "list failed"))?;
        span.record("apdus", apdus);
        Ok(entries)
    }
}

/// Warns once per process that the `3des` suite is in use: the `des` crate
/// is not constant time (table-lookup S-boxes; see `Suite::TripleDes`).
fn warn_3des_once() {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            "the 3des suite is not constant time (table-lookup S-boxes): \
             use it only for cards that offer nothing else, on a host no one else runs code on"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::commands;
    use crate::transport::TransportError;

    /// Answers each command with the next scripted answer and records what
    /// was sent.
    #[derive(Default)]
    struct Scripted {
        answers: VecDeque<Result<Vec<u8>, TransportError>>,
        sent: Vec<Vec<u8>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<&str, TransportError>>) -> Self {
            Self {
                answers: answers
                    .into_iter()
                    .map(|a| a.map(|h| hex::decode(h).unwrap()))
                    .collect(),
                sent: Vec::new(),
            }
        }

        fn sent_hex(&self) -> Vec<String> {
            self.sent.iter().map(hex::encode_upper).collect()
        }
    }

    impl Transport for Scripted {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
            self.sent.push(command.to_vec());
            self.answers
                .pop_front()
                .unwrap_or(Err(TransportError::Other("script exhausted".into())))
        }
    }

    const UPDATE: u8 = commands::ins::UPDATE_BINARY;

    /// SELECT, then an UPDATE BINARY of 300 bytes (extended when allowed,
    /// chained otherwise), then a READ BINARY.
    fn write_op(session: &mut Session<'_>) -> Result<usize> {
        session.select_aid(&[0xF0, 0x01])?;
        let update = crate::apdu::Command::new(0x00, UPDATE, 0x00, 0x00, vec![0x5A; 300], None)?;
        session.transmit_ok(&update, "UPDATE BINARY")?;
        let read = commands::read_binary_offset(0, 4)?;
        Ok(session.transmit_ok(&read, "READ BINARY")?.data.len())
    }

    fn read_op(session: &mut Session<'_>) -> Result<usize> {
        session.select_aid(&[0xF0, 0x01])?;
        let read = commands::read_binary_sfi(1, 4)?;
        Ok(session.transmit_ok(&read, "READ BINARY")?.data.len())
    }

    fn count(sent: &[String], ins: &str) -> usize {
        sent.iter().filter(|c| c.get(2..4) == Some(ins)).count()
    }

    #[test]
    fn a_read_starts_again_from_select_after_a_reset() {
        let mut t = Scripted::new(vec![
            Ok("9000"),
            Err(TransportError::CardReset),
            Ok("9000"),
            Ok("010203049000"),
        ]);
        let (n, apdus) = run_operation(&mut t, false, Policy::Read, read_op).unwrap();
        assert_eq!((n, apdus), (4, 4));
        assert_eq!(count(&t.sent_hex(), "A4"), 2);
    }

    #[test]
    fn a_read_gives_up_after_two_restarts() {
        let mut t = Scripted::new(vec![
            Err(TransportError::CardReset),
            Err(TransportError::CardReset),
            Err(TransportError::CardReset),
        ]);
        let err = run_operation(&mut t, false, Policy::Read, read_op).unwrap_err();
        assert_eq!(err, Error::Transport(TransportError::CardReset));
        assert_eq!(t.sent.len(), 3);
    }

    #[test]
    fn a_read_refused_in_extended_form_is_read_again_short() {
        let mut t = Scripted::new(vec![Ok("9000"), Ok("6700"), Ok("9000"), Ok("AABB9000")]);
        let (n, _) = run_operation(&mut t, true, Policy::Read, |s| {
            s.select_aid(&[0xF0, 0x01])?;
            let read = commands::read_binary_sfi(1, 1000)?;
            Ok(s.transmit_ok(&read, "READ BINARY")?.data.len())
        })
        .unwrap();
        assert_eq!(n, 2);
        let sent = t.sent_hex();
        assert_eq!(sent[1], "00B081000003E8");
        assert_eq!(sent[3], "00B0810000");
    }

    #[test]
    fn a_state_changing_operation_never_restarts_after_a_reset() {
        // The UPDATE's answer is lost: it may have been executed.
        let mut t = Scripted::new(vec![Ok("9000"), Err(TransportError::CardReset)]);
        let err = run_operation(&mut t, true, Policy::StateChanging, write_op).unwrap_err();
        assert_eq!(err, Error::Transport(TransportError::CardReset));
        assert_eq!(count(&t.sent_hex(), "D6"), 1);
        assert!(t.answers.is_empty());

        // Even a reset before the UPDATE was sent is not retried.
        let mut t = Scripted::new(vec![Err(TransportError::CardReset), Ok("9000")]);
        let err = run_operation(&mut t, true, Policy::StateChanging, write_op).unwrap_err();
        assert_eq!(err, Error::Transport(TransportError::CardReset));
        assert_eq!(t.sent.len(), 1);
    }

    #[test]
    fn a_state_change_refused_as_not_executed_is_sent_again_short() {
        // 67 00 to the extended UPDATE: a checking error, not executed.
        let mut t = Scripted::new(vec![
            Ok("9000"),
            Ok("6700"),
            Ok("9000"),
            Ok("9000"),
            Ok("9000"),
            Ok("010203049000"),
        ]);
        let (n, apdus) = run_operation(&mut t, true, Policy::StateChanging, write_op).unwrap();
        assert_eq!((n, apdus), (4, 6));
        let sent = t.sent_hex();
        // Extended once, then chained in short form (CLA 10, then 00).
        assert!(sent[1].starts_with("00D60000000"), "{}", sent[1]);
        assert!(sent[3].starts_with("10D60000FF"), "{}", sent[3]);
        assert!(sent[4].starts_with("00D600002D"), "{}", sent[4]);
    }

    #[test]
    fn a_state_change_accepted_is_never_sent_again() {
        // The UPDATE is accepted in extended form, then the extended READ is
        // refused: starting again would write twice.
        let mut t = Scripted::new(vec![Ok("9000"), Ok("9000"), Ok("6700")]);
        let err = run_operation(&mut t, true, Policy::StateChanging, |s| {
            s.select_aid(&[0xF0, 0x01])?;
            let update =
                crate::apdu::Command::new(0x00, UPDATE, 0x00, 0x00, vec![0x5A; 300], None)?;
            s.transmit_ok(&update, "UPDATE BINARY")?;
            let read = commands::read_binary_sfi(1, 1000)?;
            s.transmit_ok(&read, "READ BINARY").map(|r| r.data.len())
        })
        .unwrap_err();
        assert_eq!(err, Error::ExtendedRejected);
        assert_eq!(count(&t.sent_hex(), "D6"), 1);
    }

    #[test]
    fn a_card_session_is_send() {
        fn assert_send<S: Send>() {}
        assert_send::<Card<Scripted>>();
        assert_send::<Card<crate::trace::Replay>>();
    }
}
