//! `cardap_ap_list`: the APs on a card, from EF.DIR.

use std::ffi::c_char;

use cardap_core::DirEntry;

use crate::args::{buffer_out, out, write_buffer};
use crate::handle::Opaque;
use crate::panic::{guard, guard_void};
use crate::result::{Failure, cardap_result};
use crate::text::Text;

/// The APs listed in a card's EF.DIR: each with its AID and, when the card
/// gives one, a label. Made by `cardap_context_list`, released by
/// `cardap_ap_list_free`. Immutable.
pub struct cardap_ap_list {
    _private: [u8; 0],
}

pub(crate) struct ApListInner {
    entries: Vec<(Vec<u8>, Option<Text>)>,
    json: Text,
}

impl ApListInner {
    pub(crate) fn new(entries: &[DirEntry]) -> Self {
        Self {
            entries: entries
                .iter()
                .map(|e| (e.aid().to_vec(), e.label().map(Text::new)))
                .collect(),
            json: Text::new(&crate::json::dir(entries)),
        }
    }
}

impl Opaque for cardap_ap_list {
    type Inner = ApListInner;
    const MAGIC: u64 = 0x6361_7264_6170_4150; // "cardapAP"
    const NAME: &'static str = "cardap_ap_list";
}

/// # Safety
/// `list` is NULL or readable for 8 bytes.
unsafe fn entry<'a>(
    list: *const cardap_ap_list,
    index: usize,
) -> Result<&'a (Vec<u8>, Option<Text>), Failure> {
    // SAFETY: forwarded from the caller.
    let l = unsafe { cardap_ap_list::borrow(list, "list")? };
    l.entries.get(index).ok_or_else(|| {
        Failure::new(
            cardap_result::OutOfRange,
            format!("index {index} is not below the count {}", l.entries.len()),
        )
    })
}

/// Releases an AP list. NULL does nothing.
///
/// Thread safety: the list must not be in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_ap_list_free(list: *mut cardap_ap_list) {
    guard_void(|| {
        // SAFETY: the caller passes NULL or a list nobody else uses.
        unsafe { cardap_ap_list::free(list) }
    });
}

/// How many APs the list holds.
///
/// Thread safety: a list may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_ap_list_count(
    list: *const cardap_ap_list,
    out_count: *mut usize,
) -> cardap_result {
    guard("cardap_ap_list_count", || {
        // SAFETY: the caller passes NULL or a list handle.
        let l = unsafe { cardap_ap_list::borrow(list, "list")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_count, "out_count")? }.set(l.entries.len());
        Ok(())
    })
}

/// The AID of AP `index` (0-based, card order), borrowed from the list.
///
/// Errors: `CARDAP_RESULT_OUT_OF_RANGE` when `index` is not below the count.
///
/// Thread safety: a list may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_ap_list_aid(
    list: *const cardap_ap_list,
    index: usize,
    out_aid: *mut *const u8,
    out_len: *mut usize,
) -> cardap_result {
    guard("cardap_ap_list_aid", || {
        // SAFETY: the caller passes NULL or a list handle.
        unsafe { cardap_ap_list::borrow(list, "list")? };
        // SAFETY: the caller passes NULL or writable out-parameters.
        let o = unsafe { buffer_out(out_aid, out_len, "out_aid")? };
        // SAFETY: the caller passes NULL or a list handle.
        let (aid, _) = unsafe { entry(list, index)? };
        o.set(aid.as_ptr(), aid.len());
        Ok(())
    })
}

/// The label of AP `index` (NUL-terminated UTF-8, borrowed from the list).
///
/// Errors: `CARDAP_RESULT_OUT_OF_RANGE`; `CARDAP_RESULT_NOT_FOUND` when the
/// card gives no label for this AP.
///
/// Thread safety: a list may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_ap_list_label(
    list: *const cardap_ap_list,
    index: usize,
    out_label: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("cardap_ap_list_label", || {
        // SAFETY: the caller passes NULL or a list handle.
        unsafe { cardap_ap_list::borrow(list, "list")? };
        // SAFETY: the caller passes NULL or writable out-parameters.
        let o = unsafe { buffer_out(out_label, out_len, "out_label")? };
        // SAFETY: the caller passes NULL or a list handle.
        let (_, label) = unsafe { entry(list, index)? };
        let label = label.as_ref().ok_or_else(|| {
            Failure::new(cardap_result::NotFound, format!("AP {index} has no label"))
        })?;
        o.set(label.as_ptr(), label.len());
        Ok(())
    })
}

/// The list as the JSON array `cardap list` prints
/// (`[{"aid":"…","label":"…"|null},…]`), borrowed from the list.
///
/// Thread safety: a list may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_ap_list_to_json(
    list: *const cardap_ap_list,
    out_json: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("cardap_ap_list_to_json", || {
        // SAFETY: the caller passes NULL or a list handle.
        let l = unsafe { cardap_ap_list::borrow(list, "list")? };
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(l.json.as_ptr(), l.json.len(), out_json, out_len) }
    })
}
