//! The JSON objects `cardap read` and `cardap list` print (from the core's
//! `json` module), so that programs in every language print the same bytes.

use cardap_core::{ApRecord, DirEntry};

/// The object of one read, as text.
pub(crate) fn record(r: &ApRecord) -> String {
    cardap_core::json::record(r).to_string()
}

/// The array of the APs on a card, as text.
pub(crate) fn dir(entries: &[DirEntry]) -> String {
    cardap_core::json::dir(entries).to_string()
}
