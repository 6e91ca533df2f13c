//! `cardap_ap_list`: the APs on a card, from EF.DIR.

use std::ffi::c_char;

use cardap_core::DirEntry;

use crate::args::{buffer_out, out, write_buffer};
use crate::handle::{Opaque, Table, free_handle};
use crate::panic::guard;
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
    const TAG: usize = 2;
    const NAME: &'static str = "AP list";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<ApListInner> = Table::new();
        &TABLE
    }
}

fn entry(l: &ApListInner, index: usize) -> Result<&(Vec<u8>, Option<Text>), Failure> {
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
    free_handle(list, "free AP list");
}

/// How many APs the list holds.
///
/// Thread safety: a list may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_ap_list_count(
    list: *const cardap_ap_list,
    out_count: *mut usize,
) -> cardap_result {
    guard("AP list count", || {
        let l = cardap_ap_list::get(list, "list")?;
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
    guard("AP list AID", || {
        let l = cardap_ap_list::get(list, "list")?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        let o = unsafe { buffer_out(out_aid, out_len, "out_aid")? };
        let (aid, _) = entry(&l, index)?;
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
    guard("AP list label", || {
        let l = cardap_ap_list::get(list, "list")?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        let o = unsafe { buffer_out(out_label, out_len, "out_label")? };
        let (_, label) = entry(&l, index)?;
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
    guard("AP list JSON", || {
        let l = cardap_ap_list::get(list, "list")?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(l.json.as_ptr(), l.json.len(), out_json, out_len) }
    })
}
