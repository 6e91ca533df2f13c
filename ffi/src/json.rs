//! The JSON objects `cardap read` and `cardap list` print (the core's
//! `serde::Serialize`, feature `json`), so that programs in every language
//! print the same bytes.

use cardap_core::{ApRecord, DirEntry};

/// The object of one read, as text.
pub(crate) fn record(r: &ApRecord) -> String {
    // Cannot fail: every map key is a string.
    serde_json::to_string(r).unwrap_or_default()
}

/// The array of the APs on a card, as text.
pub(crate) fn dir(entries: &[DirEntry]) -> String {
    serde_json::to_string(entries).unwrap_or_default()
}
