//! `cardap_context`: a card to talk to, through PC/SC, an in-process
//! virtual card or a transport the caller supplies, and the operations on
//! it.

use std::ffi::{c_char, c_void};
use std::sync::{Mutex, MutexGuard, TryLockError};

use cardap_core::transport::Transport;
use cardap_core::{Card, LengthMode};

use crate::args::{self, optional_text, out, write_buffer};
use crate::handle::{Opaque, Table, free_handle};
use crate::keys::cardap_key_provider;
use crate::list::{ApListInner, cardap_ap_list};
use crate::panic::guard;
use crate::profile::cardap_profile;
use crate::record::{RecordInner, cardap_record};
use crate::result::{Failure, cardap_result};
use crate::text::Text;
use crate::transport::{CallbackTransport, cardap_transmit_fn};

/// A connection to one card: a card in a PC/SC reader, an in-process
/// virtual card, or a transport the caller supplies. Made by
/// `cardap_context_new_pcsc`, `cardap_context_new_transport`,
/// `cardap_context_new_virtual_card_file` or
/// `cardap_context_new_virtual_card_str`; released by `cardap_context_free`.
///
/// A context runs one call at a time. It may move between threads, and
/// calling it from two threads at once is safe: the second call returns
/// `CARDAP_RESULT_BUSY` at once instead of waiting. Each operation is one
/// card transaction, so other processes using the same reader cannot
/// interleave commands.
pub struct cardap_context {
    _private: [u8; 0],
}

/// What a transport behind a context must be: movable between threads.
pub(crate) type BoxedTransport = Box<dyn Transport + Send>;

pub(crate) struct ContextInner {
    state: Mutex<ContextState>,
}

pub(crate) struct ContextState {
    transport: BoxedTransport,
    short_apdus: bool,
    /// The last failed operation's message; `None` after a success.
    last_error: Option<Text>,
    /// The status word of the last failure, when the card gave one.
    last_status_word: Option<u16>,
}

impl ContextInner {
    fn new(transport: BoxedTransport) -> Self {
        Self {
            state: Mutex::new(ContextState {
                transport,
                short_apdus: false,
                last_error: None,
                last_status_word: None,
            }),
        }
    }

    /// The context's state, or `BUSY` when another thread is in a call on
    /// it. A panic in an earlier call (caught at the boundary) leaves the
    /// state memory-safe, so a poisoned lock is used as is.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, ContextState>, Failure> {
        match self.state.try_lock() {
            Ok(guard) => Ok(guard),
            Err(TryLockError::Poisoned(e)) => Ok(e.into_inner()),
            Err(TryLockError::WouldBlock) => Err(Failure::new(
                cardap_result::Busy,
                "the context is in use by another thread; a context runs one call at a time",
            )),
        }
    }
}

impl ContextState {
    /// Runs one operation with a reader over this context's transport and
    /// keeps its failure, if any, as the context's last error. `operation`
    /// names it in log events.
    pub(crate) fn run<T>(
        &mut self,
        operation: &'static str,
        op: impl FnOnce(&mut Card<&mut (dyn Transport + Send + 'static)>) -> cardap_core::Result<T>,
    ) -> Result<T, Failure> {
        let mode = if self.short_apdus {
            LengthMode::Short
        } else {
            LengthMode::Auto
        };
        self.last_error = None;
        self.last_status_word = None;
        let mut reader = Card::new(&mut *self.transport).with_length_mode(mode);
        op(&mut reader).map_err(|e| {
            if let cardap_core::Error::Status { sw, .. } = &e {
                self.last_status_word = Some(sw.to_u16());
            }
            let failure = Failure::from(&e);
            tracing::warn!(target: "cardap::ffi", "{operation}: {}", failure.message);
            self.last_error = Some(Text::new(&format!("{operation}: {}", failure.message)));
            failure
        })
    }
}

impl Opaque for cardap_context {
    type Inner = ContextInner;
    const TAG: usize = 1;
    const NAME: &'static str = "context";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<ContextInner> = Table::new();
        &TABLE
    }
}

/// # Safety
/// `out_context` is NULL or valid for writes.
unsafe fn make(
    out_context: *mut *mut cardap_context,
    open: impl FnOnce() -> Result<BoxedTransport, Failure>,
) -> Result<(), Failure> {
    // SAFETY: forwarded from the caller; checked before the work so that a
    // NULL out-parameter does not open a reader for nothing.
    let o = unsafe { out(out_context, "out_context")? };
    let transport = open()?;
    o.set(cardap_context::into_handle(ContextInner::new(transport))?);
    Ok(())
}

#[cfg(feature = "virtual-card")]
mod virtual_card {
    use super::BoxedTransport;
    use crate::result::{Failure, cardap_result};
    use cardap_sim::VirtualCard;

    fn description_failure(e: &cardap_sim::DescriptionError) -> Failure {
        let code = match e {
            cardap_sim::DescriptionError::Io { .. } => cardap_result::CardDescriptionIo,
            _ => cardap_result::CardDescriptionInvalid,
        };
        Failure::new(code, e.to_string())
    }

    pub(super) fn from_file(path: &std::path::Path) -> Result<BoxedTransport, Failure> {
        VirtualCard::from_file(path)
            .map(|c| Box::new(c) as BoxedTransport)
            .map_err(|e| description_failure(&e))
    }

    pub(super) fn from_str(text: &str) -> Result<BoxedTransport, Failure> {
        VirtualCard::from_toml_str(text)
            .map(|c| Box::new(c) as BoxedTransport)
            .map_err(|e| description_failure(&e))
    }
}

#[cfg(not(feature = "virtual-card"))]
mod virtual_card {
    use super::BoxedTransport;
    use crate::result::{Failure, cardap_result};

    fn unsupported() -> Failure {
        Failure::new(
            cardap_result::Unsupported,
            "this libcardap was built without virtual cards (cargo feature `virtual-card`)",
        )
    }

    pub(super) fn from_file(_path: &std::path::Path) -> Result<BoxedTransport, Failure> {
        Err(unsupported())
    }

    pub(super) fn from_str(_text: &str) -> Result<BoxedTransport, Failure> {
        Err(unsupported())
    }
}

/// Opens an in-process virtual card from a description file (PROFILE.md
/// §10). `path` is UTF-8, `path_len` bytes (at most `CARDAP_MAX_PATH_LEN`).
/// On success `*out_context` receives a new context to release with
/// `cardap_context_free`.
///
/// Errors: `CARDAP_RESULT_CARD_DESCRIPTION_IO`,
/// `CARDAP_RESULT_CARD_DESCRIPTION_INVALID` (the last error says where).
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_new_virtual_card_file(
    path: *const c_char,
    path_len: usize,
    out_context: *mut *mut cardap_context,
) -> cardap_result {
    guard("open virtual card", || {
        // SAFETY: the caller passes `path_len` readable bytes or NULL.
        let p = unsafe { args::path(path, path_len, "path")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { make(out_context, || virtual_card::from_file(p)) }
    })
}

/// Opens an in-process virtual card from a description given as TOML text of
/// `text_len` bytes (at most `CARDAP_MAX_TEXT_LEN`). On success
/// `*out_context` receives a new context to release with
/// `cardap_context_free`.
///
/// Errors: `CARDAP_RESULT_CARD_DESCRIPTION_INVALID` and argument errors.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_new_virtual_card_str(
    text: *const c_char,
    text_len: usize,
    out_context: *mut *mut cardap_context,
) -> cardap_result {
    guard("open virtual card", || {
        // SAFETY: the caller passes `text_len` readable bytes or NULL.
        let t = unsafe { args::text(text, text_len, crate::CARDAP_MAX_TEXT_LEN, "text")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { make(out_context, || virtual_card::from_str(t)) }
    })
}

/// Connects to the card in a PC/SC reader, in shared mode. `reader` (UTF-8,
/// `reader_len` bytes) picks the reader by case-insensitive name: an exact
/// match, else the first reader whose name contains it and holds a card.
/// `reader == NULL` with `reader_len == 0` takes the first reader that holds
/// a card. On success `*out_context` receives a new context to release with
/// `cardap_context_free` (which disconnects and resets the card).
///
/// Errors: `CARDAP_RESULT_SERVICE_UNAVAILABLE` (pcscd not running),
/// `CARDAP_RESULT_READER_UNAVAILABLE`, `CARDAP_RESULT_NO_CARD`,
/// `CARDAP_RESULT_UNSUPPORTED` (built without PC/SC).
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_new_pcsc(
    reader: *const c_char,
    reader_len: usize,
    out_context: *mut *mut cardap_context,
) -> cardap_result {
    guard("connect", || {
        // SAFETY: the caller passes `reader_len` readable bytes or NULL.
        let name =
            unsafe { optional_text(reader, reader_len, crate::CARDAP_MAX_NAME_LEN, "reader")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { make(out_context, || crate::readers::connect(name)) }
    })
}

/// Makes a context over a transport the caller supplies: every command APDU
/// of an operation goes to `transmit` with `userdata`, on the thread that
/// runs the operation (see `cardap_transmit_fn`). `atr` (`atr_len` bytes;
/// NULL with 0 when unknown) is the card's answer to reset: it tells
/// whether the card takes extended-length APDUs. `userdata` must stay valid
/// until `cardap_context_free`. The transport has no transactions of its
/// own: if other parties share the card, the callback's side must keep them
/// out for the length of an operation. On success `*out_context` receives
/// the new context.
///
/// Errors: `CARDAP_RESULT_NULL_PARAMETER` (`transmit` or `out_context` is
/// NULL, or `atr` is NULL with a length), `CARDAP_RESULT_TOO_LONG` (an ATR
/// over 33 bytes).
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_new_transport(
    transmit: cardap_transmit_fn,
    userdata: *mut c_void,
    atr: *const u8,
    atr_len: usize,
    out_context: *mut *mut cardap_context,
) -> cardap_result {
    guard("open transport", || {
        let transmit = transmit.ok_or_else(|| args::null("transmit"))?;
        let atr = if atr.is_null() && atr_len == 0 {
            None
        } else {
            // SAFETY: the caller passes `atr_len` readable bytes or NULL.
            Some(unsafe { args::bytes(atr, atr_len, MAX_ATR_LEN, "atr")? }.to_vec())
        };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe {
            make(out_context, || {
                Ok(Box::new(CallbackTransport::new(transmit, userdata, atr)) as BoxedTransport)
            })
        }
    })
}

/// The longest ATR (ISO/IEC 7816-3: TS and 32 more bytes).
const MAX_ATR_LEN: usize = 33;

/// Reads the AP of `profile` with `keys` (or the profile's own keys) and
/// makes the record, with log events around it.
fn read(
    context: &ContextInner,
    profile: &cardap_core::Profile,
    keys: Option<&dyn cardap_core::KeyProvider>,
) -> Result<RecordInner, Failure> {
    let mut state = context.lock()?;
    if let (Some(k), Some(auth)) = (keys, profile.auth())
        && k.suite() != auth.suite()
    {
        let failure = Failure::new(
            cardap_result::AuthFailed,
            format!(
                "the key provider's suite ({:?}) is not the profile's ({:?})",
                k.suite(),
                auth.suite()
            ),
        );
        state.last_error = Some(Text::new(&format!("read: {}", failure.message)));
        state.last_status_word = None;
        return Err(failure);
    }
    tracing::debug!(
        target: "cardap::ffi",
        "read: AP {} (type {:?}, AID {})",
        profile.name(),
        profile.ap_type(),
        hex::encode_upper(profile.aid())
    );
    let record = state.run("read", |reader| match keys {
        Some(k) => reader.read_with_keys(profile, k),
        None => reader.read(profile),
    })?;
    tracing::info!(
        target: "cardap::ffi",
        "read: AP {} read in {} APDUs",
        profile.name(),
        record.apdus()
    );
    Ok(RecordInner::new(&record))
}

/// Releases a context (for PC/SC: disconnects, resetting the card so no
/// security state outlives it). NULL does nothing; a handle that is not live
/// (freed already) changes nothing and sets the thread's last error. A call
/// in flight on another thread finishes first, then the context goes.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_free(context: *mut cardap_context) {
    free_handle(context, "free context");
}

/// Forces short APDUs (`true`) for readers that cannot carry extended
/// length, or lets the card's ATR decide (`false`, the default; cardap also
/// falls back by itself when the card answers `67 00`).
///
/// Thread safety: a context runs one call at a time; a call made meanwhile
/// from another thread returns `CARDAP_RESULT_BUSY`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_set_short_apdus(
    context: *mut cardap_context,
    short_apdus: bool,
) -> cardap_result {
    guard("set short APDUs", || {
        let c = cardap_context::get(context, "context")?;
        c.lock()?.short_apdus = short_apdus;
        Ok(())
    })
}

/// Reads the AP a profile describes, in one card transaction: SELECT, mutual
/// authentication where the type needs it, the protected reads, the user-ID
/// check. Data come back only after every MAC verified. On success
/// `*out_record` receives a new record to release with `cardap_record_free`.
///
/// Errors: transport (2xx), card (3xx), security (4xx), data (5xx) codes; the
/// context's last error and the thread's last error give the message, and
/// `cardap_context_last_status_word` the status word of a `CARD_STATUS`.
///
/// Thread safety: a context runs one call at a time: a call made meanwhile
/// from another thread returns `CARDAP_RESULT_BUSY`. The profile may be
/// shared by several threads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_read(
    context: *mut cardap_context,
    profile: *const cardap_profile,
    out_record: *mut *mut cardap_record,
) -> cardap_result {
    guard("read", || {
        let c = cardap_context::get(context, "context")?;
        let p = cardap_profile::get(profile, "profile")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_record, "out_record")? };
        let record = read(&c, &p.profile, None)?;
        o.set(cardap_record::into_handle(record)?);
        Ok(())
    })
}

/// Reads the AP a profile describes, as `cardap_context_read` does, but the
/// mutual authentication of Types A and D asks `keys` instead of taking keys
/// from the profile (whose `k_enc`/`k_mac` may then be absent). The
/// provider's suite must be the profile's. Types C and custom APs without
/// authentication ignore `keys`. On success `*out_record` receives a new
/// record to release with `cardap_record_free`.
///
/// Errors: as `cardap_context_read`; a failing callback or a provider whose
/// suite differs from the profile's gives `CARDAP_RESULT_AUTH_FAILED`.
///
/// Thread safety: as `cardap_context_read` (a second call on the same
/// context meanwhile gets `CARDAP_RESULT_BUSY`); the provider may be shared
/// by several threads if its callbacks are thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_read_with_keys(
    context: *mut cardap_context,
    profile: *const cardap_profile,
    keys: *const cardap_key_provider,
    out_record: *mut *mut cardap_record,
) -> cardap_result {
    guard("read", || {
        let c = cardap_context::get(context, "context")?;
        let p = cardap_profile::get(profile, "profile")?;
        let k = crate::keys::provider(keys)?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_record, "out_record")? };
        let record = read(&c, &p.profile, Some(&*k))?;
        o.set(cardap_record::into_handle(record)?);
        Ok(())
    })
}

/// Lists the APs on the card through EF.DIR, in one card transaction. On
/// success `*out_list` receives a new list to release with
/// `cardap_ap_list_free`.
///
/// Thread safety: a context runs one call at a time; a call made meanwhile
/// from another thread returns `CARDAP_RESULT_BUSY`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_list(
    context: *mut cardap_context,
    out_list: *mut *mut cardap_ap_list,
) -> cardap_result {
    guard("list", || {
        let c = cardap_context::get(context, "context")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_list, "out_list")? };
        let entries = c.lock()?.run("list", |reader| reader.list())?;
        tracing::info!(target: "cardap::ffi", "list: {} APs", entries.len());
        o.set(cardap_ap_list::into_handle(ApListInner::new(&entries))?);
        Ok(())
    })
}

/// The message of the context's last operation (`cardap_context_read`,
/// `cardap_context_read_with_keys`, `cardap_context_list`) if it failed, or
/// an empty string if it succeeded or none ran yet: the operation and the
/// problem, e.g. `read: AP F0…99 is not on the card`. NUL-terminated,
/// borrowed from the context until its next operation (on any thread) or
/// `cardap_context_free`. Never holds key material.
///
/// Thread safety: a context runs one call at a time; a call made meanwhile
/// from another thread returns `CARDAP_RESULT_BUSY`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_last_error(
    context: *const cardap_context,
    out_text: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("last error", || {
        let c = cardap_context::get(context, "context")?;
        let c = c.lock()?;
        let (ptr, len) = c
            .last_error
            .as_ref()
            .map_or((c"".as_ptr(), 0), |t| (t.as_ptr(), t.len()));
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(ptr, len, out_text, out_len) }
    })
}

/// The status word (`SW1 << 8 | SW2`) of the context's last operation when it
/// failed with `CARDAP_RESULT_CARD_STATUS`.
///
/// Errors: `CARDAP_RESULT_NOT_FOUND` when the last operation did not fail
/// with a status word.
///
/// Thread safety: a context runs one call at a time; a call made meanwhile
/// from another thread returns `CARDAP_RESULT_BUSY`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_last_status_word(
    context: *const cardap_context,
    out_sw: *mut u16,
) -> cardap_result {
    guard("last status word", || {
        let c = cardap_context::get(context, "context")?;
        let c = c.lock()?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_sw, "out_sw")? };
        let sw = c.last_status_word.ok_or_else(|| {
            Failure::new(
                cardap_result::NotFound,
                "the last operation did not fail with a status word",
            )
        })?;
        o.set(sw);
        Ok(())
    })
}
