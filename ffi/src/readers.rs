//! `cardap_reader_list`: the PC/SC readers, and connecting to one.

use std::ffi::c_char;

use crate::args::{buffer_out, out};
use crate::handle::{Opaque, Table, free_handle};
use crate::panic::guard;
use crate::result::{Failure, cardap_result};
use crate::text::Text;

/// The PC/SC readers at one moment: each with its name and whether it holds
/// a card. Made by `cardap_reader_list_new`, released by
/// `cardap_reader_list_free`. Immutable.
pub struct cardap_reader_list {
    _private: [u8; 0],
}

pub(crate) struct ReaderListInner {
    readers: Vec<(Text, bool)>,
}

impl Opaque for cardap_reader_list {
    type Inner = ReaderListInner;
    const TAG: usize = 4;
    const NAME: &'static str = "reader list";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<ReaderListInner> = Table::new();
        &TABLE
    }
}

#[cfg(feature = "pcsc")]
fn list() -> Result<ReaderListInner, Failure> {
    let readers = cardap_core::pcsc::PcscTransport::list_readers()?;
    Ok(ReaderListInner {
        readers: readers
            .iter()
            .map(|r| (Text::new(&r.name), r.card_present))
            .collect(),
    })
}

#[cfg(feature = "pcsc")]
pub(crate) fn connect(reader: Option<&str>) -> Result<crate::context::BoxedTransport, Failure> {
    let t = cardap_core::pcsc::PcscTransport::connect(reader)?;
    Ok(Box::new(t))
}

#[cfg(not(feature = "pcsc"))]
pub(crate) fn unsupported() -> Failure {
    Failure::new(
        cardap_result::Unsupported,
        "this libcardap was built without PC/SC (cargo feature `pcsc`)",
    )
}

#[cfg(not(feature = "pcsc"))]
fn list() -> Result<ReaderListInner, Failure> {
    Err(unsupported())
}

#[cfg(not(feature = "pcsc"))]
pub(crate) fn connect(_reader: Option<&str>) -> Result<crate::context::BoxedTransport, Failure> {
    Err(unsupported())
}

fn entry(l: &ReaderListInner, index: usize) -> Result<&(Text, bool), Failure> {
    l.readers.get(index).ok_or_else(|| {
        Failure::new(
            cardap_result::OutOfRange,
            format!("index {index} is not below the count {}", l.readers.len()),
        )
    })
}

/// Lists the PC/SC readers (no readers is an empty list, not an error). On
/// success `*out_list` receives a new list to release with
/// `cardap_reader_list_free`.
///
/// Errors: `CARDAP_RESULT_SERVICE_UNAVAILABLE` (pcscd not running),
/// `CARDAP_RESULT_UNSUPPORTED` (built without PC/SC).
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_reader_list_new(
    out_list: *mut *mut cardap_reader_list,
) -> cardap_result {
    guard("list readers", || {
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_list, "out_list")? };
        let inner = list()?;
        o.set(cardap_reader_list::into_handle(inner)?);
        Ok(())
    })
}

/// Releases a reader list. NULL does nothing.
///
/// Thread safety: the list must not be in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_reader_list_free(list: *mut cardap_reader_list) {
    free_handle(list, "free reader list");
}

/// How many readers the list holds.
///
/// Thread safety: a list may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_reader_list_count(
    list: *const cardap_reader_list,
    out_count: *mut usize,
) -> cardap_result {
    guard("reader count", || {
        let l = cardap_reader_list::get(list, "list")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_count, "out_count")? }.set(l.readers.len());
        Ok(())
    })
}

/// The PC/SC name of reader `index` (NUL-terminated UTF-8, borrowed from the
/// list), to pass to `cardap_context_new_pcsc`.
///
/// Errors: `CARDAP_RESULT_OUT_OF_RANGE` when `index` is not below the count.
///
/// Thread safety: a list may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_reader_list_name(
    list: *const cardap_reader_list,
    index: usize,
    out_name: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("reader name", || {
        let l = cardap_reader_list::get(list, "list")?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        let o = unsafe { buffer_out(out_name, out_len, "out_name")? };
        let (name, _) = entry(&l, index)?;
        o.set(name.as_ptr(), name.len());
        Ok(())
    })
}

/// Whether reader `index` held a card when the list was made.
///
/// Errors: `CARDAP_RESULT_OUT_OF_RANGE` when `index` is not below the count.
///
/// Thread safety: a list may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_reader_list_card_present(
    list: *const cardap_reader_list,
    index: usize,
    out_present: *mut bool,
) -> cardap_result {
    guard("reader card presence", || {
        let l = cardap_reader_list::get(list, "list")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_present, "out_present")? };
        let (_, present) = entry(&l, index)?;
        o.set(*present);
        Ok(())
    })
}
