//! Real readers through PC/SC (pcsc-lite's `pcscd` on Linux and macOS,
//! WinSCard on Windows), behind the cargo feature `pcsc`.
//!
//! [`PcscTransport`] is one card handle in shared mode that implements
//! [`Transport`]; [`ReaderMonitor`] waits for card insertion and removal with
//! `SCardGetStatusChange` (no polling), for a `watch`-style loop.
//!
//! What the PC/SC layer reports is mapped onto [`TransportError`]:
//!
//! | PC/SC | [`TransportError`] |
//! |---|---|
//! | `SCARD_W_REMOVED_CARD`, `SCARD_E_NO_SMARTCARD` on an open handle | [`CardRemoved`](TransportError::CardRemoved) |
//! | `SCARD_E_NOT_TRANSACTED` when the reader then shows the card gone | [`CardRemoved`](TransportError::CardRemoved) |
//! | `SCARD_W_RESET_CARD` (after a reconnect that leaves the card as is) | [`CardReset`](TransportError::CardReset) |
//! | `SCARD_E_NO_SMARTCARD` on connect | [`NoCard`](TransportError::NoCard) |
//! | `SCARD_E_NO_SERVICE`, `SCARD_E_SERVICE_STOPPED` | [`ServiceUnavailable`](TransportError::ServiceUnavailable) |
//! | unknown or vanished reader, sharing violation | [`ReaderUnavailable`](TransportError::ReaderUnavailable) |
//!
//! On removal pcscd first reports `NotTransacted` for the exchange in flight,
//! then `RemovedCard` after its next presence poll; a new connect then gets
//! `NoSmartcard`.
//!
//! ## Round trips
//!
//! Every PC/SC call is a message to pcscd and its answer. A read costs exactly
//! `SCardBeginTransaction`, one `SCardTransmit` per APDU and
//! `SCardEndTransaction`: the ATR is taken at connect and refreshed only after
//! a reset or a reconnect (so [`Transport::atr`] asks nobody), and card
//! presence is learned from the errors of those calls — the reader's state is
//! asked only after a failure. [`PcscTransport::calls`] counts the calls made
//! on a handle, so tests and benchmarks can check that nothing else is sent.

use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

use pcsc::{
    Card, Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State, Transaction,
};

use crate::apdu::{Command, LengthEncoding};
use crate::transport::{Transport, TransportError};

/// Size of the receive buffer handed to `SCardTransmit`: the largest response
/// APDU, 65 536 data bytes (extended `Le = 00 00`) and `SW1 SW2`.
///
/// A smaller buffer makes PC/SC fail with `SCARD_E_INSUFFICIENT_BUFFER`
/// *after* the card has executed the command; resending it would, for a
/// VERIFY, spend a second PIN try. So the buffer is always the largest.
pub const RECEIVE_BUFFER_LEN: usize = 65_536 + 2;

/// How long a transmit that failed with `SCARD_E_NOT_TRANSACTED` waits for
/// the reader to report a removal before calling it a plain failure. pcscd
/// polls card presence every 400 ms; the first failed exchange after a
/// removal comes before that poll.
const NOT_TRANSACTED_GRACE: Duration = Duration::from_millis(1_200);

/// The reader name pcsc-lite and WinSCard use for reader attach/detach events.
const PNP_NOTIFICATION: &str = r"\\?PnP?\Notification";

/// One reader as PC/SC lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReaderInfo {
    /// The reader's PC/SC name, e.g. `Virtual PCD 00 00`.
    pub name: String,
    /// Whether a card is present (and not mute).
    pub card_present: bool,
    /// The card's answer to reset, when a card is present.
    pub atr: Option<Vec<u8>>,
}

/// Connection options for [`PcscTransport::connect_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PcscOptions {
    /// Whether the reader can carry extended-length APDUs (default `true`).
    /// When `false`, [`Transport::supports_extended`] says so and an extended
    /// APDU is refused with [`TransportError::NotCarried`] before it reaches
    /// the reader, so the core falls back to short APDUs (PROFILE.md §1).
    pub extended_length: bool,
}

impl Default for PcscOptions {
    fn default() -> Self {
        Self {
            extended_length: true,
        }
    }
}

impl PcscOptions {
    /// Sets whether the reader can carry extended-length APDUs.
    #[must_use]
    pub fn extended_length(mut self, on: bool) -> Self {
        self.extended_length = on;
        self
    }
}

/// A card in a PC/SC reader, connected in shared mode with T=0 or T=1.
///
/// Dropping it disconnects with a card reset, so no security state (an open
/// secure channel, a verified PIN) outlives the handle.
pub struct PcscTransport {
    card: Card,
    link: Link,
}

/// The PC/SC calls made through one [`PcscTransport`] since it connected,
/// by function (see [`PcscTransport::calls`]). Each is one request to pcscd
/// and its answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PcscCalls {
    /// `SCardConnect`.
    pub connect: u64,
    /// `SCardReconnect` (a reset, or re-attaching after one).
    pub reconnect: u64,
    /// `SCardBeginTransaction`.
    pub begin_transaction: u64,
    /// `SCardEndTransaction`.
    pub end_transaction: u64,
    /// `SCardTransmit`.
    pub transmit: u64,
    /// `SCardStatus` (the ATR, after a connect or a reconnect).
    pub status: u64,
    /// `SCardGetStatusChange` (the reader's state, after a connect, a
    /// reconnect or a failed exchange).
    pub get_status_change: u64,
}

impl PcscCalls {
    /// Every call counted.
    pub fn total(&self) -> u64 {
        self.connect
            + self.reconnect
            + self.begin_transaction
            + self.end_transaction
            + self.transmit
            + self.status
            + self.get_status_change
    }

    /// The calls made since `earlier` (a snapshot of the same handle).
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            connect: self.connect.saturating_sub(earlier.connect),
            reconnect: self.reconnect.saturating_sub(earlier.reconnect),
            begin_transaction: self
                .begin_transaction
                .saturating_sub(earlier.begin_transaction),
            end_transaction: self.end_transaction.saturating_sub(earlier.end_transaction),
            transmit: self.transmit.saturating_sub(earlier.transmit),
            status: self.status.saturating_sub(earlier.status),
            get_status_change: self
                .get_status_change
                .saturating_sub(earlier.get_status_change),
        }
    }
}

/// Everything about the connection except the card handle, so that a
/// [`pcsc::Transaction`] can borrow the card while the link stays usable.
struct Link {
    context: Context,
    reader: CString,
    reader_name: String,
    atr: Vec<u8>,
    extended: bool,
    /// The reader's card event counter when the handle was (re)connected: a
    /// different count later means the card was removed in between.
    events: Option<u32>,
    receive: Vec<u8>,
    calls: std::cell::Cell<PcscCalls>,
}

impl std::fmt::Debug for PcscTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscTransport")
            .field("reader", &self.link.reader_name)
            .field("atr", &hex::encode_upper(&self.link.atr))
            .field("extended", &self.link.extended)
            .finish_non_exhaustive()
    }
}

impl PcscTransport {
    /// Lists the readers PC/SC knows, with card presence and ATR, without
    /// connecting to any card. No readers is an empty list, not an error.
    pub fn list_readers() -> Result<Vec<ReaderInfo>, TransportError> {
        let context = establish()?;
        list_with(&context)
    }

    /// Connects to a card with default options (see [`PcscTransport::connect_with`]).
    pub fn connect(reader: Option<&str>) -> Result<Self, TransportError> {
        Self::connect_with(reader, PcscOptions::default())
    }

    /// Connects to a card in shared mode, T=0 or T=1.
    ///
    /// `reader` selects the reader by case-insensitive name: an exact match
    /// wins, otherwise the first reader whose name contains it and holds a
    /// card, otherwise the first whose name contains it. `None` takes the
    /// first reader that holds a card.
    pub fn connect_with(
        reader: Option<&str>,
        options: PcscOptions,
    ) -> Result<Self, TransportError> {
        let context = establish()?;
        let readers = list_with(&context)?;
        let chosen = choose_reader(&readers, reader)?;
        let reader = to_cstring(&chosen.name)?;
        let card = context
            .connect(&reader, ShareMode::Shared, Protocols::ANY)
            .map_err(|e| map_error(e, Phase::Connect))?;
        let mut link = Link {
            context,
            reader,
            reader_name: chosen.name.clone(),
            atr: Vec::new(),
            extended: options.extended_length,
            events: None,
            receive: vec![0; RECEIVE_BUFFER_LEN],
            calls: std::cell::Cell::new(PcscCalls {
                connect: 1,
                ..PcscCalls::default()
            }),
        };
        link.refresh(&card);
        Ok(Self { card, link })
    }

    /// Waits until a card is present in a matching reader (see
    /// [`ReaderMonitor::wait_for_card`]).
    pub fn wait_for_card(
        reader: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<ReaderInfo, TransportError> {
        ReaderMonitor::new()?.wait_for_card(reader, timeout)
    }

    /// Waits until the reader holds no card (see
    /// [`ReaderMonitor::wait_for_removal`]).
    pub fn wait_for_removal(reader: &str, timeout: Option<Duration>) -> Result<(), TransportError> {
        ReaderMonitor::new()?.wait_for_removal(reader, timeout)
    }

    /// The PC/SC name of the connected reader.
    pub fn reader_name(&self) -> &str {
        &self.link.reader_name
    }

    /// The PC/SC calls made through this handle so far (connect and the
    /// reader listing before it not included in `get_status_change`). A read
    /// adds one `begin_transaction`, one `transmit` per command APDU and one
    /// `end_transaction`, and nothing else unless the card was reset or an
    /// exchange failed.
    pub fn calls(&self) -> PcscCalls {
        self.link.calls.get()
    }

    /// Resets the card (warm reset) and reconnects: every security state on
    /// the card is lost, and other handles on the card see
    /// [`TransportError::CardReset`].
    pub fn reset_card(&mut self) -> Result<(), TransportError> {
        self.link.count(|c| c.reconnect += 1);
        self.card
            .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
            .map_err(|e| map_error(e, Phase::Exchange))?;
        self.link.refresh(&self.card);
        Ok(())
    }
}

impl Transport for PcscTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        exchange(&mut self.card, &mut self.link, command)
    }

    /// The ATR read at connect, or after the last reset or reconnect: no
    /// PC/SC call.
    fn atr(&self) -> Option<Vec<u8>> {
        self.link.atr()
    }

    fn supports_extended(&self) -> bool {
        self.link.extended
    }

    /// Runs `op` inside one PC/SC transaction (`SCardBeginTransaction` …
    /// `SCardEndTransaction`, leaving the card as is). If the card was reset
    /// by another party, the handle is reconnected and
    /// [`TransportError::CardReset`] is returned without running `op`: the
    /// caller restarts from SELECT.
    fn transaction(
        &mut self,
        op: &mut dyn FnMut(&mut dyn Transport),
    ) -> Result<(), TransportError> {
        let Self { card, link } = self;
        link.count(|c| c.begin_transaction += 1);
        let tx = match card.transaction2() {
            Ok(tx) => tx,
            Err((card, pcsc::Error::ResetCard)) => return Err(reconnect_after_reset(card, link)),
            Err((_, e)) => return Err(link.diagnose(e)),
        };
        let mut inner = TransactionTransport { tx, link };
        op(&mut inner);
        let TransactionTransport { tx, link } = inner;
        link.count(|c| c.end_transaction += 1);
        tx.end(Disposition::LeaveCard)
            .map_err(|(_, e)| link.diagnose(e))
    }
}

/// The transport handed to a transaction's operation: the same link, over
/// the card borrowed by the [`pcsc::Transaction`].
struct TransactionTransport<'tx, 'link> {
    tx: Transaction<'tx>,
    link: &'link mut Link,
}

impl Transport for TransactionTransport<'_, '_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        exchange(&mut self.tx, self.link, command)
    }

    fn atr(&self) -> Option<Vec<u8>> {
        self.link.atr()
    }

    fn supports_extended(&self) -> bool {
        self.link.extended
    }

    // `transaction` keeps the default: already inside one, `op` runs here.
}

/// A card handle that can transmit and reconnect: the card itself, or the
/// card borrowed by a transaction.
trait Handle {
    fn card(&self) -> &Card;
    fn reconnect_leave(&mut self) -> Result<(), pcsc::Error>;
}

impl Handle for Card {
    fn card(&self) -> &Card {
        self
    }
    fn reconnect_leave(&mut self) -> Result<(), pcsc::Error> {
        self.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard)
    }
}

impl Handle for Transaction<'_> {
    fn card(&self) -> &Card {
        self
    }
    fn reconnect_leave(&mut self) -> Result<(), pcsc::Error> {
        self.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard)
    }
}

/// One `SCardTransmit` with the full receive buffer, errors mapped.
fn exchange<H: Handle>(
    handle: &mut H,
    link: &mut Link,
    command: &[u8],
) -> Result<Vec<u8>, TransportError> {
    if !link.extended && is_extended(command) {
        return Err(TransportError::NotCarried(
            "extended-length APDU on a reader configured without extended length".into(),
        ));
    }
    link.count(|c| c.transmit += 1);
    let result = handle
        .card()
        .transmit(command, &mut link.receive)
        .map(<[u8]>::to_vec);
    match result {
        // vpcd (and some readers) hand back nothing when the card went away
        // mid-command: decide between removal and a plain failure.
        Ok(response) if response.len() < 2 => Err(link.removed_or(TransportError::Interrupted(
            "the reader returned a response without a status word".into(),
        ))),
        Ok(response) => Ok(response),
        Err(pcsc::Error::ResetCard) => Err(reconnect_after_reset(handle, link)),
        Err(e) => Err(link.diagnose(e)),
    }
}

/// After `SCARD_W_RESET_CARD`: reconnect leaving the card as it is and report
/// [`TransportError::CardReset`] (or why the reconnect failed).
fn reconnect_after_reset<H: Handle + ?Sized>(handle: &mut H, link: &mut Link) -> TransportError {
    link.count(|c| c.reconnect += 1);
    match handle.reconnect_leave() {
        Ok(()) => {
            link.refresh(handle.card());
            TransportError::CardReset
        }
        Err(e) => link.diagnose(e),
    }
}

impl Link {
    /// Counts a PC/SC call.
    fn count(&self, f: impl FnOnce(&mut PcscCalls)) {
        let mut calls = self.calls.get();
        f(&mut calls);
        self.calls.set(calls);
    }

    /// Re-reads the ATR and the reader's event count after a (re)connect:
    /// the only `SCardStatus` calls a handle makes.
    fn refresh(&mut self, card: &Card) {
        self.count(|c| c.status += 1);
        if let Ok(status) = card.status2_owned() {
            self.atr = status.atr().to_vec();
        }
        self.count(|c| c.get_status_change += 1);
        self.events = reader_state(&self.context, &self.reader)
            .ok()
            .map(|s| s.event_count());
    }

    /// The ATR taken at the last (re)connect.
    fn atr(&self) -> Option<Vec<u8>> {
        (!self.atr.is_empty()).then(|| self.atr.clone())
    }

    /// Maps an error on an open handle. `SCARD_E_NOT_TRANSACTED` is what the
    /// first exchange after a removal fails with, before pcscd's next presence
    /// poll; asking the reader (and waiting briefly for its verdict) tells a
    /// removal from a plain communication failure.
    fn diagnose(&self, error: pcsc::Error) -> TransportError {
        if error != pcsc::Error::NotTransacted {
            return map_error(error, Phase::Exchange);
        }
        self.removed_or(TransportError::Interrupted(
            "the reader did not transact the command".into(),
        ))
    }

    /// [`TransportError::CardRemoved`] if the card is gone now or within the
    /// grace period (pcscd notices at its next presence poll), else `other`.
    fn removed_or(&self, other: TransportError) -> TransportError {
        let not_transacted = || other.clone();
        let mut states = [ReaderState::new(self.reader.clone(), State::UNAWARE)];
        self.count(|c| c.get_status_change += 1);
        if let Err(e) = status_now(&self.context, &mut states) {
            return vanished_or(e, not_transacted());
        }
        let [state] = &mut states;
        if self.removed(state) {
            return TransportError::CardRemoved;
        }
        state.sync_current_state();
        self.count(|c| c.get_status_change += 1);
        match self
            .context
            .get_status_change(NOT_TRANSACTED_GRACE, &mut states)
        {
            Ok(()) if states.iter().any(|s| self.removed(s)) => TransportError::CardRemoved,
            Ok(()) | Err(pcsc::Error::Timeout) => not_transacted(),
            Err(e) => vanished_or(e, not_transacted()),
        }
    }

    /// Whether the reader state shows our card gone: no card now, or a card
    /// event (removal, insertion) since we connected.
    fn removed(&self, state: &ReaderState) -> bool {
        !card_present(state.event_state()) || self.events.is_some_and(|n| n != state.event_count())
    }
}

/// If the reader itself vanished the card is gone with it; otherwise `other`.
fn vanished_or(error: pcsc::Error, other: TransportError) -> TransportError {
    match error {
        pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable => TransportError::CardRemoved,
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => map_error(error, Phase::Exchange),
        _ => other,
    }
}

/// Waits for card insertion and removal with `SCardGetStatusChange`: the
/// calling thread sleeps in pcscd until something changes or the timeout
/// passes. A [`MonitorCanceller`] wakes it from another thread.
#[derive(Clone)]
pub struct ReaderMonitor {
    context: Context,
}

impl std::fmt::Debug for ReaderMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderMonitor").finish_non_exhaustive()
    }
}

/// Cancels a [`ReaderMonitor`]'s wait from another thread; the wait returns
/// [`TransportError::Cancelled`].
#[derive(Clone)]
pub struct MonitorCanceller {
    context: Context,
}

impl std::fmt::Debug for MonitorCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorCanceller").finish_non_exhaustive()
    }
}

impl MonitorCanceller {
    /// Wakes the monitor's current wait (`SCardCancel`).
    pub fn cancel(&self) -> Result<(), TransportError> {
        self.context
            .cancel()
            .map_err(|e| map_error(e, Phase::Connect))
    }
}

impl ReaderMonitor {
    /// Opens a PC/SC context for waiting.
    pub fn new() -> Result<Self, TransportError> {
        Ok(Self {
            context: establish()?,
        })
    }

    /// A handle that cancels this monitor's waits from another thread.
    pub fn canceller(&self) -> MonitorCanceller {
        MonitorCanceller {
            context: self.context.clone(),
        }
    }

    /// The readers PC/SC knows, with card presence and ATR.
    pub fn list_readers(&self) -> Result<Vec<ReaderInfo>, TransportError> {
        list_with(&self.context)
    }

    /// Waits until a card is present in a reader whose name matches `reader`
    /// (exactly, or else as a case-insensitive substring; `None`: any reader)
    /// and returns that reader. Returns at once if a card is already there.
    /// Readers attached while waiting are taken into account.
    ///
    /// `timeout: None` waits forever; on expiry the result is
    /// [`TransportError::Timeout`].
    pub fn wait_for_card(
        &self,
        reader: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<ReaderInfo, TransportError> {
        let deadline = Deadline::new(timeout);
        let mut pnp = ReaderState::new(
            CString::new(PNP_NOTIFICATION).map_err(|e| TransportError::Other(e.to_string()))?,
            State::UNAWARE,
        );
        // Learn the current reader count so that only a change wakes us.
        let _ = status_now(&self.context, std::slice::from_mut(&mut pnp));
        pnp.sync_current_state();
        loop {
            let names = self.matching_names(reader)?;
            let mut states = Vec::with_capacity(names.len() + 1);
            states.push(pnp);
            for name in names {
                states.push(ReaderState::new(name, State::UNAWARE));
            }
            // First pass with UNAWARE returns the present state at once.
            match status_now(&self.context, &mut states) {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(map_error(e, Phase::Connect)),
            }
            loop {
                if let Some(found) = states
                    .iter()
                    .skip(1)
                    .find(|s| card_present(s.event_state()))
                {
                    return Ok(reader_info(found));
                }
                let reader_list_changed = states
                    .first()
                    .is_some_and(|s| s.event_state().contains(State::CHANGED));
                for state in &mut states {
                    state.sync_current_state();
                }
                if reader_list_changed {
                    break;
                }
                let wait = deadline.remaining()?;
                match self.context.get_status_change(wait, &mut states) {
                    Ok(()) => {}
                    Err(pcsc::Error::Timeout) => return Err(TransportError::Timeout),
                    // A reader vanished under us: list again.
                    Err(pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable) => break,
                    Err(e) => return Err(map_error(e, Phase::Connect)),
                }
            }
            let mut states = states.into_iter();
            match states.next() {
                Some(first) => pnp = first,
                None => return Err(TransportError::Other("lost the PnP reader state".into())),
            }
        }
    }

    /// Waits until the reader named `reader` (exactly, or else the first
    /// whose name contains it, case-insensitively) holds no card. A reader
    /// that does not exist, or vanishes, holds no card.
    ///
    /// `timeout: None` waits forever; on expiry the result is
    /// [`TransportError::Timeout`].
    pub fn wait_for_removal(
        &self,
        reader: &str,
        timeout: Option<Duration>,
    ) -> Result<(), TransportError> {
        let deadline = Deadline::new(timeout);
        let Some(name) = self.matching_names(Some(reader))?.into_iter().next() else {
            return Ok(());
        };
        let mut states = [ReaderState::new(name, State::UNAWARE)];
        // The first call, with UNAWARE, returns the present state at once.
        let mut wait = Some(Duration::ZERO);
        loop {
            match self.context.get_status_change(wait, &mut states) {
                Ok(()) => {}
                Err(pcsc::Error::Timeout) if wait == Some(Duration::ZERO) => {}
                Err(pcsc::Error::Timeout) => return Err(TransportError::Timeout),
                Err(pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable) => return Ok(()),
                Err(e) => return Err(map_error(e, Phase::Connect)),
            }
            let [state] = &mut states;
            let now = state.event_state();
            if !card_present(now) || now.intersects(State::UNKNOWN | State::UNAVAILABLE) {
                return Ok(());
            }
            state.sync_current_state();
            wait = deadline.remaining()?;
        }
    }

    /// Reader names matching `filter`: the exact match alone if there is
    /// one, else every substring match; all readers for `None`.
    fn matching_names(&self, filter: Option<&str>) -> Result<Vec<CString>, TransportError> {
        let all = match self.context.list_readers_owned() {
            Ok(all) => all,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(map_error(e, Phase::Connect)),
        };
        let Some(filter) = filter else {
            return Ok(all);
        };
        let wanted = filter.to_lowercase();
        let lower = |n: &CString| n.to_string_lossy().to_lowercase();
        if let Some(exact) = all.iter().find(|n| lower(n) == wanted) {
            return Ok(vec![exact.clone()]);
        }
        Ok(all
            .into_iter()
            .filter(|n| lower(n).contains(&wanted))
            .collect())
    }
}

/// What remains of an optional timeout.
struct Deadline(Option<Instant>);

impl Deadline {
    fn new(timeout: Option<Duration>) -> Self {
        Self(timeout.and_then(|t| Instant::now().checked_add(t)))
    }

    /// Time left (`None`: forever); [`TransportError::Timeout`] once past.
    fn remaining(&self) -> Result<Option<Duration>, TransportError> {
        match self.0 {
            None => Ok(None),
            Some(end) => match end.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Ok(Some(left)),
                _ => Err(TransportError::Timeout),
            },
        }
    }
}

/// Where an error happened: on connect a missing card is [`NoCard`], on an
/// open handle it means the card went away.
///
/// [`NoCard`]: TransportError::NoCard
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connect,
    Exchange,
}

/// Maps a PC/SC error onto the transport's error type.
fn map_error(error: pcsc::Error, phase: Phase) -> TransportError {
    use pcsc::Error as E;
    match error {
        E::NoService | E::ServiceStopped => TransportError::ServiceUnavailable(format!(
            "pcscd not running ({error}); start it, e.g. with scripts/pcscd-up.sh"
        )),
        E::RemovedCard => TransportError::CardRemoved,
        E::NoSmartcard => match phase {
            Phase::Connect => TransportError::NoCard,
            Phase::Exchange => TransportError::CardRemoved,
        },
        E::ResetCard => TransportError::CardReset,
        E::UnknownReader | E::ReaderUnavailable | E::NoReadersAvailable => {
            TransportError::ReaderUnavailable(error.to_string())
        }
        E::SharingViolation => {
            TransportError::ReaderUnavailable(format!("reader in exclusive use: {error}"))
        }
        E::Timeout => TransportError::Timeout,
        E::Cancelled => TransportError::Cancelled,
        _ => TransportError::Other(format!("PC/SC error {:#010x}: {error}", error as u32)),
    }
}

fn establish() -> Result<Context, TransportError> {
    Context::establish(Scope::User).map_err(|e| map_error(e, Phase::Connect))
}

fn to_cstring(name: &str) -> Result<CString, TransportError> {
    CString::new(name)
        .map_err(|_| TransportError::ReaderUnavailable(format!("bad reader name {name:?}")))
}

/// Asks for the reader states without waiting (`SCardGetStatusChange`, 0 ms).
fn status_now(context: &Context, states: &mut [ReaderState]) -> Result<(), pcsc::Error> {
    context.get_status_change(Duration::ZERO, states)
}

/// The current state of one reader.
fn reader_state(context: &Context, reader: &CStr) -> Result<ReaderState, pcsc::Error> {
    let mut states = [ReaderState::new(reader.to_owned(), State::UNAWARE)];
    status_now(context, &mut states)?;
    let [state] = states;
    Ok(state)
}

fn card_present(state: State) -> bool {
    state.contains(State::PRESENT) && !state.contains(State::MUTE)
}

fn reader_info(state: &ReaderState) -> ReaderInfo {
    let present = card_present(state.event_state());
    ReaderInfo {
        name: state.name().to_string_lossy().into_owned(),
        card_present: present,
        atr: (present && !state.atr().is_empty()).then(|| state.atr().to_vec()),
    }
}

fn list_with(context: &Context) -> Result<Vec<ReaderInfo>, TransportError> {
    let names = match context.list_readers_owned() {
        Ok(names) => names,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
        Err(e) => return Err(map_error(e, Phase::Connect)),
    };
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|n| ReaderState::new(n, State::UNAWARE))
        .collect();
    match status_now(context, &mut states) {
        Ok(()) | Err(pcsc::Error::Timeout) => {}
        Err(e) => return Err(map_error(e, Phase::Connect)),
    }
    Ok(states.iter().map(reader_info).collect())
}

/// Picks the reader for [`PcscTransport::connect_with`].
fn choose_reader<'a>(
    readers: &'a [ReaderInfo],
    wanted: Option<&str>,
) -> Result<&'a ReaderInfo, TransportError> {
    if readers.is_empty() {
        return Err(TransportError::ReaderUnavailable(
            "no readers attached".into(),
        ));
    }
    let Some(wanted) = wanted else {
        return readers
            .iter()
            .find(|r| r.card_present)
            .ok_or(TransportError::NoCard);
    };
    let wanted_lower = wanted.to_lowercase();
    let lower = |r: &ReaderInfo| r.name.to_lowercase();
    let mut matching = readers.iter().filter(|r| lower(r).contains(&wanted_lower));
    readers
        .iter()
        .find(|r| lower(r) == wanted_lower)
        .or_else(|| {
            readers
                .iter()
                .find(|r| r.card_present && lower(r).contains(&wanted_lower))
        })
        .or_else(|| matching.next())
        .ok_or_else(|| {
            let names: Vec<&str> = readers.iter().map(|r| r.name.as_str()).collect();
            TransportError::ReaderUnavailable(format!(
                "no reader matches {wanted:?} (readers: {})",
                names.join(", ")
            ))
        })
}

/// Whether a command APDU uses extended length fields. Unparseable bytes are
/// left for the card to judge.
fn is_extended(command: &[u8]) -> bool {
    matches!(Command::parse(command), Ok((_, LengthEncoding::Extended)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, present: bool) -> ReaderInfo {
        ReaderInfo {
            name: name.into(),
            card_present: present,
            atr: present.then(|| vec![0x3B, 0x00]),
        }
    }

    #[test]
    fn errors_map_to_typed_transport_errors() {
        use pcsc::Error as E;
        assert!(matches!(
            map_error(E::NoService, Phase::Connect),
            TransportError::ServiceUnavailable(m) if m.contains("pcscd not running")
        ));
        assert_eq!(
            map_error(E::RemovedCard, Phase::Exchange),
            TransportError::CardRemoved
        );
        assert_eq!(
            map_error(E::NoSmartcard, Phase::Exchange),
            TransportError::CardRemoved
        );
        assert_eq!(
            map_error(E::NoSmartcard, Phase::Connect),
            TransportError::NoCard
        );
        assert_eq!(
            map_error(E::ResetCard, Phase::Exchange),
            TransportError::CardReset
        );
        assert_eq!(
            map_error(E::Timeout, Phase::Exchange),
            TransportError::Timeout
        );
        assert_eq!(
            map_error(E::Cancelled, Phase::Connect),
            TransportError::Cancelled
        );
        assert!(matches!(
            map_error(E::UnknownReader, Phase::Connect),
            TransportError::ReaderUnavailable(_)
        ));
        assert!(matches!(
            map_error(E::NotTransacted, Phase::Exchange),
            TransportError::Other(m) if m.contains("0x80100016")
        ));
    }

    #[test]
    fn reader_choice_prefers_exact_then_card_then_substring() {
        let readers = [
            info("Virtual PCD 00 00", false),
            info("Virtual PCD 00 01", true),
            info("ACME Reader 0", false),
        ];
        let pick = |w| choose_reader(&readers, w).map(|r| r.name.as_str());
        assert_eq!(pick(Some("virtual pcd 00 00")), Ok("Virtual PCD 00 00"));
        assert_eq!(pick(Some("virtual")), Ok("Virtual PCD 00 01"));
        assert_eq!(pick(Some("acme")), Ok("ACME Reader 0"));
        assert_eq!(pick(None), Ok("Virtual PCD 00 01"));
        assert!(
            matches!(pick(Some("nope")), Err(TransportError::ReaderUnavailable(m)) if m.contains("ACME"))
        );
        let empty = [info("Virtual PCD 00 00", false)];
        assert_eq!(choose_reader(&empty, None), Err(TransportError::NoCard));
        assert!(matches!(
            choose_reader(&[], Some("x")),
            Err(TransportError::ReaderUnavailable(_))
        ));
    }

    #[test]
    fn extended_detection() {
        assert!(!is_extended(&[0x00, 0xA4, 0x04, 0x0C, 0x02, 0x3F, 0x00]));
        assert!(!is_extended(&[0x00, 0xB0, 0x00, 0x00, 0x00]));
        assert!(is_extended(&[0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00]));
        assert!(is_extended(&[
            0x80, 0xCA, 0x00, 0x00, 0x00, 0x00, 0x01, 0xAA
        ]));
        assert!(!is_extended(&[]));
        assert!(!is_extended(&[0x00]));
    }

    #[test]
    fn deadline_runs_out() {
        assert_eq!(Deadline::new(None).remaining(), Ok(None));
        assert_eq!(
            Deadline::new(Some(Duration::ZERO)).remaining(),
            Err(TransportError::Timeout)
        );
        assert!(matches!(
            Deadline::new(Some(Duration::from_secs(60))).remaining(),
            Ok(Some(_))
        ));
    }
}
