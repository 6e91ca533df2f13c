//! `libcardap`: the C ABI of cardap.
//!
//! Conventions (after rustls-ffi; the header `include/cardap.h` repeats them):
//!
//! - Every fallible function returns a [`cardap_result`]: `CARDAP_RESULT_OK`
//!   (0) or an error code. Codes have explicit values that are never reused.
//!   [`cardap_result_text`] names a code; [`cardap_last_error`] and
//!   [`cardap_context_last_error`] give the detailed message of a failure.
//! - Objects are opaque handles made by a `_new…` function and released by
//!   its `_free` function; `_free(NULL)` does nothing.
//! - Results come back through out-parameters, written only on success: on
//!   an error every out-parameter keeps its old value.
//! - Every buffer is a pointer followed by its length. Strings are UTF-8 with
//!   an explicit length (no NUL terminator needed on input; on output they
//!   are NUL-terminated as a convenience, but the length is authoritative).
//!   Bytes and strings returned by a handle are borrowed from it and stay
//!   valid until the handle is freed.
//! - No panic crosses the ABI: every body runs inside a panic boundary, and a
//!   NULL, misaligned, foreign or oversized argument gives an error code.
//! - Handles are checked through generation-counted tables: a stale handle
//!   (after its `_free`) gives `CARDAP_RESULT_INVALID_HANDLE`, never another
//!   object's data; a double `_free` does nothing.
//! - A context runs one call at a time; a second thread calling it meanwhile
//!   gets `CARDAP_RESULT_BUSY`.
//! - Each function states its thread safety.
//!
//! # Safety
//!
//! One contract covers every exported function, so it is stated here rather
//! than on each: a pointer argument is NULL or valid for what its type says
//! (`len` readable bytes for an input buffer, a writable object for an
//! out-parameter, a NUL-terminated string where the header says so). Handle
//! arguments may be anything: a handle is a key into a table, never
//! dereferenced, so a freed, foreign or made-up handle gives
//! `CARDAP_RESULT_INVALID_HANDLE`. Callbacks and their user data stay valid
//! as long as the handle they were given to.

// The exported names are C names (`cardap_context`, `CARDAP_RESULT_OK`).
#![allow(non_camel_case_types)]
// The safety contract is common to every exported function: see above.
#![allow(clippy::missing_safety_doc)]

mod args;
mod context;
mod handle;
#[cfg(test)]
mod hook_tests;
#[cfg(feature = "issuer")]
mod issuer;
mod json;
mod keys;
mod list;
mod log;
mod panic;
mod profile;
mod public;
mod readers;
mod record;
mod registry;
#[cfg(test)]
mod registry_tests;
mod result;
#[cfg(test)]
mod tests;
mod text;
mod transport;
mod wait;
mod write;
// Writes run against virtual cards (feature `virtual-card`).
#[cfg(test)]
#[cfg(feature = "virtual-card")]
mod write_tests;

pub use context::{
    cardap_context, cardap_context_free, cardap_context_last_error,
    cardap_context_last_status_word, cardap_context_list, cardap_context_new_pcsc,
    cardap_context_new_transport, cardap_context_new_virtual_card_file,
    cardap_context_new_virtual_card_str, cardap_context_read, cardap_context_read_with_keys,
    cardap_context_set_short_apdus,
};
#[cfg(feature = "issuer")]
pub use issuer::{
    cardap_area, cardap_context_delete_ap, cardap_context_install, cardap_context_list_area,
    cardap_context_move_out, cardap_issuer, cardap_issuer_free, cardap_issuer_new_from_file,
};
pub use keys::{
    cardap_cipher_fn, cardap_key_provider, cardap_key_provider_free, cardap_key_provider_new,
    cardap_mac_fn, cardap_suite,
};
pub use list::{
    cardap_ap_list, cardap_ap_list_aid, cardap_ap_list_count, cardap_ap_list_free,
    cardap_ap_list_label, cardap_ap_list_to_json,
};
pub use log::{cardap_log_fn, cardap_set_log_callback};
pub use profile::{
    cardap_ap_type, cardap_profile, cardap_profile_aid, cardap_profile_free, cardap_profile_name,
    cardap_profile_new_from_file, cardap_profile_new_from_str, cardap_profile_type,
};
pub use public::{
    CARDAP_HASH_SHA1, CARDAP_HASH_SHA256, CARDAP_HASH_SHA384, CARDAP_HASH_SHA512,
    CARDAP_JPKI_CERT_AUTH, CARDAP_JPKI_CERT_AUTH_CA, CARDAP_JPKI_CERT_SIGN,
    CARDAP_JPKI_CERT_SIGN_CA, CARDAP_JPKI_KEY_AUTH, CARDAP_JPKI_KEY_SIGN, CARDAP_KENHOJO_MY_NUMBER,
    CARDAP_KENHOJO_VERIFY, CARDAP_MAX_DATA_LEN, CARDAP_MAX_PIN_LEN, cardap_bytes,
    cardap_bytes_data, cardap_bytes_free, cardap_context_card_info,
    cardap_context_jpki_certificate, cardap_context_jpki_sign, cardap_context_kenhojo,
    cardap_context_pin_status, cardap_context_set_pin_floor,
};
pub use readers::{
    cardap_reader_list, cardap_reader_list_card_present, cardap_reader_list_count,
    cardap_reader_list_free, cardap_reader_list_name, cardap_reader_list_new,
};
pub use record::{
    cardap_record, cardap_record_aid, cardap_record_apdus, cardap_record_data,
    cardap_record_field_at, cardap_record_field_count, cardap_record_field_get, cardap_record_free,
    cardap_record_info_at, cardap_record_info_count, cardap_record_info_get, cardap_record_name,
    cardap_record_step_at, cardap_record_step_count, cardap_record_to_json, cardap_record_type,
    cardap_record_user_id,
};
pub use registry::{
    CARDAP_CARD_STATUS_ABOLISHED, CARDAP_CARD_STATUS_ACTIVE, CARDAP_CARD_STATUS_SUSPENDED,
    CARDAP_IMPORT_DELTA, CARDAP_IMPORT_FULL, cardap_decision, cardap_deny_reason, cardap_registry,
    cardap_registry_add_member, cardap_registry_check, cardap_registry_clear_status,
    cardap_registry_decide, cardap_registry_free, cardap_registry_import, cardap_registry_open,
    cardap_registry_register, cardap_registry_set_status, cardap_status_source,
};
pub use result::{cardap_last_error, cardap_result, cardap_result_text, cardap_version};
pub use transport::cardap_transmit_fn;
pub use wait::{
    cardap_cancel, cardap_cancel_free, cardap_cancel_new, cardap_cancel_trigger, cardap_card_event,
    cardap_card_event_atr, cardap_card_event_free, cardap_card_event_reader, cardap_wait_for_card,
};
pub use write::{CARDAP_MAX_WRITES_LEN, cardap_context_write};

/// The longest path accepted (bytes).
pub const CARDAP_MAX_PATH_LEN: usize = 4096;
/// The longest profile or card description given as a string (bytes).
pub const CARDAP_MAX_TEXT_LEN: usize = 1048576;
/// The longest name accepted: reader names, field names (bytes).
pub const CARDAP_MAX_NAME_LEN: usize = 1024;
