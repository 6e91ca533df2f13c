//! Waiting for a card: `cardap_wait_for_card`, its result
//! `cardap_card_event`, and the cancellation token `cardap_cancel`.

use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::args::{buffer_out, out};
use crate::handle::{Opaque, Table, free_handle};
use crate::panic::guard;
use crate::result::{Failure, cardap_result};
use crate::text::Text;

/// A cancellation token for waits: `cardap_cancel_trigger` makes every wait
/// given this token (running or started later) return
/// `CARDAP_RESULT_CANCELLED`. Once triggered it stays triggered; make a new
/// one for the next wait. Made by `cardap_cancel_new`, released by
/// `cardap_cancel_free`.
///
/// Thread safety: every function on a token may be called from any thread
/// at any time.
pub struct cardap_cancel {
    _private: [u8; 0],
}

/// Wakes a waiting PC/SC call (`SCardCancel` on its context).
type Waker = Box<dyn Fn() + Send + Sync>;

pub(crate) struct CancelInner {
    triggered: AtomicBool,
    /// The waits in progress with this token, by a number of their own.
    waiting: Mutex<Vec<(u64, Waker)>>,
}

impl CancelInner {
    fn new() -> Self {
        Self {
            triggered: AtomicBool::new(false),
            waiting: Mutex::new(Vec::new()),
        }
    }

    #[cfg_attr(not(feature = "pcsc"), allow(dead_code))]
    pub(crate) fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    fn trigger(&self) {
        self.triggered.store(true, Ordering::SeqCst);
        let waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        for (_, wake) in waiting.iter() {
            wake();
        }
    }

    /// Registers a waker until the returned guard drops.
    #[cfg_attr(not(feature = "pcsc"), allow(dead_code))]
    fn register(self: &Arc<Self>, wake: Waker) -> Registration {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, wake));
        Registration {
            token: Arc::clone(self),
            id,
        }
    }
}

struct Registration {
    token: Arc<CancelInner>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.token
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(id, _)| *id != self.id);
    }
}

impl Opaque for cardap_cancel {
    type Inner = CancelInner;
    const TAG: usize = 6;
    const NAME: &'static str = "cancel token";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<CancelInner> = Table::new();
        &TABLE
    }
}

/// A card found by `cardap_wait_for_card`: the PC/SC name of its reader and
/// its ATR. Released by `cardap_card_event_free`. Immutable.
///
/// Thread safety: may be read from several threads at once.
pub struct cardap_card_event {
    _private: [u8; 0],
}

pub(crate) struct CardEventInner {
    reader: Text,
    atr: Vec<u8>,
}

impl Opaque for cardap_card_event {
    type Inner = CardEventInner;
    const TAG: usize = 7;
    const NAME: &'static str = "card event";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<CardEventInner> = Table::new();
        &TABLE
    }
}

/// Makes a cancellation token. On success `*out` receives it.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_cancel_new(out_cancel: *mut *mut cardap_cancel) -> cardap_result {
    guard("cancel token", || {
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_cancel, "out")? };
        o.set(cardap_cancel::into_handle(CancelInner::new())?);
        Ok(())
    })
}

/// Triggers a token: the waits using it return `CARDAP_RESULT_CANCELLED`
/// within a fraction of a second (at once through PC/SC's `SCardCancel`),
/// and so does every later wait given it.
///
/// Errors: `CARDAP_RESULT_NULL_PARAMETER`, `CARDAP_RESULT_INVALID_HANDLE`.
///
/// Thread safety: may be called from any thread at any time, also while
/// another thread waits with the token; this is what it is for.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_cancel_trigger(cancel: *const cardap_cancel) -> cardap_result {
    guard("cancel", || {
        cardap_cancel::get(cancel, "cancel")?.trigger();
        Ok(())
    })
}

/// Releases a token. NULL does nothing. A wait still running with it keeps
/// it until it returns.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_cancel_free(cancel: *mut cardap_cancel) {
    free_handle(cancel, "free cancel token");
}

/// Reads a NUL-terminated reader name of at most `CARDAP_MAX_NAME_LEN`
/// bytes.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string.
unsafe fn reader_name(ptr: *const c_char) -> Result<Option<String>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    for i in 0..=crate::CARDAP_MAX_NAME_LEN {
        // SAFETY: the caller promises a NUL-terminated string; every byte up
        // to its NUL is readable, and the loop stops at the NUL.
        let b = unsafe { ptr.add(i).cast::<u8>().read() };
        if b == 0 {
            return String::from_utf8(bytes).map(Some).map_err(|e| {
                Failure::new(
                    cardap_result::InvalidArgument,
                    format!(
                        "reader is not UTF-8 (byte {})",
                        e.utf8_error().valid_up_to()
                    ),
                )
            });
        }
        bytes.push(b);
    }
    Err(Failure::new(
        cardap_result::TooLong,
        format!("reader is longer than {} bytes", crate::CARDAP_MAX_NAME_LEN),
    ))
}

/// How long one PC/SC wait lasts at most before the token and the deadline
/// are looked at again (a trigger also wakes the wait at once).
#[cfg(feature = "pcsc")]
const SLICE: std::time::Duration = std::time::Duration::from_millis(200);

#[cfg(feature = "pcsc")]
fn wait(
    reader: Option<&str>,
    timeout: Option<std::time::Duration>,
    cancel: Option<&Arc<CancelInner>>,
) -> Result<CardEventInner, Failure> {
    use cardap_core::pcsc::ReaderMonitor;
    use cardap_core::transport::TransportError;
    use std::time::Instant;

    let cancelled = || cancel.is_some_and(|c| c.is_triggered());
    let cancelled_failure = || Failure::new(cardap_result::Cancelled, "cancelled");
    let timeout_failure = || Failure::new(cardap_result::Timeout, "no card came in time");
    if cancelled() {
        return Err(cancelled_failure());
    }
    let monitor = ReaderMonitor::new()?;
    let _registration = cancel.map(|c| {
        let canceller = monitor.canceller();
        c.register(Box::new(move || {
            let _ = canceller.cancel();
        }))
    });
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if cancelled() {
            return Err(cancelled_failure());
        }
        let slice = match deadline {
            None => SLICE,
            Some(end) => match end.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(SLICE),
                _ => return Err(timeout_failure()),
            },
        };
        match monitor.wait_for_card(reader, Some(slice)) {
            Ok(info) => {
                return Ok(CardEventInner {
                    reader: Text::new(&info.name),
                    atr: info.atr.unwrap_or_default(),
                });
            }
            // The slice ended, or a trigger woke the wait: look again.
            Err(TransportError::Timeout | TransportError::Cancelled) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(not(feature = "pcsc"))]
fn wait(
    _reader: Option<&str>,
    _timeout: Option<std::time::Duration>,
    _cancel: Option<&Arc<CancelInner>>,
) -> Result<CardEventInner, Failure> {
    Err(crate::readers::unsupported())
}

/// Blocks until a card is present in a PC/SC reader and describes it.
/// `reader` is a NUL-terminated UTF-8 name: an exact reader name, or else a
/// case-insensitive part of one (NULL: any reader). Returns at once when a
/// card is already there; readers attached while waiting count too.
/// `timeout_ms` bounds the wait (0: no bound); `cancel` (may be NULL) lets
/// another thread end it. On success `*out_event` receives the reader's
/// name and the card's ATR, released with `cardap_card_event_free`.
///
/// Errors: `CARDAP_RESULT_TIMEOUT` (206), `CARDAP_RESULT_CANCELLED` (205),
/// `CARDAP_RESULT_SERVICE_UNAVAILABLE` (pcscd not running),
/// `CARDAP_RESULT_READER_UNAVAILABLE`, `CARDAP_RESULT_UNSUPPORTED` (built
/// without PC/SC), argument errors.
///
/// Thread safety: may be called from any thread, by several at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_wait_for_card(
    reader: *const c_char,
    timeout_ms: u32,
    cancel: *const cardap_cancel,
    out_event: *mut *mut cardap_card_event,
) -> cardap_result {
    guard("wait for card", || {
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let name = unsafe { reader_name(reader)? };
        let token = if cancel.is_null() {
            None
        } else {
            Some(cardap_cancel::get(cancel, "cancel")?)
        };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_event, "out_event")? };
        let timeout = (timeout_ms > 0).then(|| std::time::Duration::from_millis(timeout_ms.into()));
        tracing::debug!(
            target: "cardap::ffi",
            reader = name.as_deref().unwrap_or("any"),
            timeout_ms,
            "wait for card: waiting"
        );
        let event = wait(name.as_deref(), timeout, token.as_ref());
        match &event {
            Ok(e) => tracing::info!(
                target: "cardap::ffi",
                "wait for card: card present in {}",
                e.reader.as_str()
            ),
            Err(f) => tracing::info!(target: "cardap::ffi", "wait for card: {}", f.message),
        }
        o.set(cardap_card_event::into_handle(event?)?);
        Ok(())
    })
}

/// Releases a card event. NULL does nothing.
///
/// Thread safety: the event must not be in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_card_event_free(event: *mut cardap_card_event) {
    free_handle(event, "free card event");
}

/// The PC/SC name of the reader holding the card (NUL-terminated UTF-8,
/// borrowed from the event), to pass to `cardap_context_new_pcsc`.
///
/// Thread safety: an event may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_card_event_reader(
    event: *const cardap_card_event,
    out_text: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("card event", || {
        let e = cardap_card_event::get(event, "event")?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { buffer_out(out_text, out_len, "out_text")? }
            .set(e.reader.as_ptr(), e.reader.len());
        Ok(())
    })
}

/// The card's ATR (bytes, borrowed from the event; empty when the reader
/// did not give one).
///
/// Thread safety: an event may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_card_event_atr(
    event: *const cardap_card_event,
    out_bytes: *mut *const u8,
    out_len: *mut usize,
) -> cardap_result {
    guard("card event", || {
        let e = cardap_card_event::get(event, "event")?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { buffer_out(out_bytes, out_len, "out_bytes")? }.set(e.atr.as_ptr(), e.atr.len());
        Ok(())
    })
}
