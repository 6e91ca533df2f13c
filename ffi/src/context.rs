//! `cardap_context`: a card to talk to, through PC/SC or an in-process
//! virtual card, and the operations on it.

use std::ffi::c_char;

use cardap_core::transport::Transport;
use cardap_core::{Card, LengthMode};
use cardap_sim::VirtualCard;

use crate::args::{self, optional_text, out, write_buffer};
use crate::handle::Opaque;
use crate::list::{ApListInner, cardap_ap_list};
use crate::panic::{guard, guard_void};
use crate::profile::cardap_profile;
use crate::record::{RecordInner, cardap_record};
use crate::result::{Failure, cardap_result};
use crate::text::Text;

/// A connection to one card: a card in a PC/SC reader, or an in-process
/// virtual card. Made by `cardap_context_new_pcsc`,
/// `cardap_context_new_virtual_card_file` or
/// `cardap_context_new_virtual_card_str`; released by `cardap_context_free`.
///
/// A context is not thread-safe: use it from one thread at a time (it may
/// move between threads). Each operation is one card transaction, so other
/// processes using the same reader cannot interleave commands.
pub struct cardap_context {
    _private: [u8; 0],
}

pub(crate) struct ContextInner {
    transport: Box<dyn Transport>,
    short_apdus: bool,
    /// The last failed operation's message; `None` after a success.
    last_error: Option<Text>,
    /// The status word of the last failure, when the card gave one.
    last_status_word: Option<u16>,
}

impl ContextInner {
    fn new(transport: Box<dyn Transport>) -> Self {
        Self {
            transport,
            short_apdus: false,
            last_error: None,
            last_status_word: None,
        }
    }

    /// Runs one operation with a reader over this context's transport and
    /// keeps its failure, if any, as the context's last error.
    fn run<T>(
        &mut self,
        op: impl FnOnce(&mut Card<&mut (dyn Transport + 'static)>) -> cardap_core::Result<T>,
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
            self.last_error = Some(Text::new(&failure.message));
            failure
        })
    }
}

impl Opaque for cardap_context {
    type Inner = ContextInner;
    const MAGIC: u64 = 0x6361_7264_6170_4354; // "cardapCT"
    const NAME: &'static str = "cardap_context";
}

fn description_failure(e: &cardap_sim::DescriptionError) -> Failure {
    let code = match e {
        cardap_sim::DescriptionError::Io { .. } => cardap_result::CardDescriptionIo,
        _ => cardap_result::CardDescriptionInvalid,
    };
    Failure::new(code, e.to_string())
}

/// # Safety
/// `out_context` is NULL or valid for writes.
unsafe fn make(
    out_context: *mut *mut cardap_context,
    open: impl FnOnce() -> Result<Box<dyn Transport>, Failure>,
) -> Result<(), Failure> {
    // SAFETY: forwarded from the caller; checked before the work so that a
    // NULL out-parameter does not open a reader for nothing.
    let o = unsafe { out(out_context, "out_context")? };
    let transport = open()?;
    o.set(cardap_context::into_handle(ContextInner::new(transport)));
    Ok(())
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
    guard("cardap_context_new_virtual_card_file", || {
        // SAFETY: the caller passes `path_len` readable bytes or NULL.
        let p = unsafe { args::path(path, path_len, "path")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe {
            make(out_context, || {
                VirtualCard::from_file(p)
                    .map(|c| Box::new(c) as Box<dyn Transport>)
                    .map_err(|e| description_failure(&e))
            })
        }
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
    guard("cardap_context_new_virtual_card_str", || {
        // SAFETY: the caller passes `text_len` readable bytes or NULL.
        let t = unsafe { args::text(text, text_len, crate::CARDAP_MAX_TEXT_LEN, "text")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe {
            make(out_context, || {
                VirtualCard::from_toml_str(t)
                    .map(|c| Box::new(c) as Box<dyn Transport>)
                    .map_err(|e| description_failure(&e))
            })
        }
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
    guard("cardap_context_new_pcsc", || {
        // SAFETY: the caller passes `reader_len` readable bytes or NULL.
        let name =
            unsafe { optional_text(reader, reader_len, crate::CARDAP_MAX_NAME_LEN, "reader")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { make(out_context, || crate::readers::connect(name)) }
    })
}

/// Releases a context (for PC/SC: disconnects, resetting the card so no
/// security state outlives it). NULL does nothing.
///
/// Thread safety: the context must not be in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_free(context: *mut cardap_context) {
    guard_void(|| {
        // SAFETY: the caller passes NULL or a context nobody else uses.
        unsafe { cardap_context::free(context) }
    });
}

/// Forces short APDUs (`true`) for readers that cannot carry extended
/// length, or lets the card's ATR decide (`false`, the default; cardap also
/// falls back by itself when the card answers `67 00`).
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_set_short_apdus(
    context: *mut cardap_context,
    short_apdus: bool,
) -> cardap_result {
    guard("cardap_context_set_short_apdus", || {
        // SAFETY: the caller passes NULL or a context used by this thread only.
        let c = unsafe { cardap_context::borrow_mut(context, "context")? };
        c.short_apdus = short_apdus;
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
/// Thread safety: one thread at a time per context; the profile may be
/// shared by several threads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_read(
    context: *mut cardap_context,
    profile: *const cardap_profile,
    out_record: *mut *mut cardap_record,
) -> cardap_result {
    guard("cardap_context_read", || {
        // SAFETY: the caller passes NULL or a context used by this thread only.
        let c = unsafe { cardap_context::borrow_mut(context, "context")? };
        // SAFETY: the caller passes NULL or a profile handle.
        let p = unsafe { cardap_profile::borrow(profile, "profile")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_record, "out_record")? };
        let record = c.run(|reader| reader.read(&p.profile))?;
        o.set(cardap_record::into_handle(RecordInner::new(&record)));
        Ok(())
    })
}

/// Lists the APs on the card through EF.DIR, in one card transaction. On
/// success `*out_list` receives a new list to release with
/// `cardap_ap_list_free`.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_list(
    context: *mut cardap_context,
    out_list: *mut *mut cardap_ap_list,
) -> cardap_result {
    guard("cardap_context_list", || {
        // SAFETY: the caller passes NULL or a context used by this thread only.
        let c = unsafe { cardap_context::borrow_mut(context, "context")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_list, "out_list")? };
        let entries = c.run(|reader| reader.list())?;
        o.set(cardap_ap_list::into_handle(ApListInner::new(&entries)));
        Ok(())
    })
}

/// The message of the context's last operation (`cardap_context_read`,
/// `cardap_context_list`) if it failed, or an empty string if it succeeded
/// or none ran yet. NUL-terminated, borrowed from the context until its next
/// operation or `cardap_context_free`. Never holds key material.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_last_error(
    context: *const cardap_context,
    out_text: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("cardap_context_last_error", || {
        // SAFETY: the caller passes NULL or a context handle.
        let c = unsafe { cardap_context::borrow(context, "context")? };
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
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_last_status_word(
    context: *const cardap_context,
    out_sw: *mut u16,
) -> cardap_result {
    guard("cardap_context_last_status_word", || {
        // SAFETY: the caller passes NULL or a context handle.
        let c = unsafe { cardap_context::borrow(context, "context")? };
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
