//! `cardap_record`: what one read returned, immutable.

use std::ffi::c_char;

use cardap_core::ApRecord;
use zeroize::Zeroizing;

use crate::args::{buffer_out, out, text, write_buffer};
use crate::handle::{Opaque, Table, free_handle};
use crate::panic::guard;
use crate::profile::cardap_ap_type;
use crate::result::{Failure, cardap_result};
use crate::text::Text;

/// The result of one read: the AP's name, type, AID, user ID, info fields
/// (Types A and C), data (Type D and custom), step outputs (custom), decoded
/// fields and the number of command APDUs sent. Made by
/// `cardap_context_read`, released by `cardap_record_free`. Immutable: every
/// pointer it hands out stays valid until it is freed.
pub struct cardap_record {
    _private: [u8; 0],
}

pub(crate) struct RecordInner {
    name: Text,
    kind: cardap_ap_type,
    aid: Vec<u8>,
    user_id: Text,
    info: Vec<(Text, Zeroizing<Vec<u8>>)>,
    data: Option<Zeroizing<Vec<u8>>>,
    steps: Vec<(Text, Zeroizing<Vec<u8>>)>,
    fields: Vec<(Text, Text)>,
    apdus: usize,
    json: Text,
}

/// A copy of card data, wiped when the record is freed.
fn secret(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(bytes.to_vec())
}

impl RecordInner {
    pub(crate) fn new(r: &ApRecord) -> Self {
        Self {
            name: Text::new(r.name()),
            kind: r.ap_type().into(),
            aid: r.aid().to_vec(),
            user_id: Text::new(r.user_id().as_str()),
            info: r.info().map(|(k, v)| (Text::new(k), secret(v))).collect(),
            data: r.data().map(secret),
            steps: r.steps().map(|(k, v)| (Text::new(k), secret(v))).collect(),
            fields: r
                .fields()
                .map(|(k, v)| (Text::new(k), Text::new(v)))
                .collect(),
            apdus: r.apdus(),
            json: Text::new(&crate::json::record(r)),
        }
    }
}

impl Opaque for cardap_record {
    type Inner = RecordInner;
    const TAG: usize = 5;
    const NAME: &'static str = "record";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<RecordInner> = Table::new();
        &TABLE
    }
}

/// The record of a handle.
fn rec(record: *const cardap_record) -> Result<std::sync::Arc<RecordInner>, Failure> {
    cardap_record::get(record, "record")
}

fn at<'a, T>(items: &'a [T], index: usize, what: &str) -> Result<&'a T, Failure> {
    items.get(index).ok_or_else(|| {
        Failure::new(
            cardap_result::OutOfRange,
            format!(
                "{what} index {index} is not below the count {}",
                items.len()
            ),
        )
    })
}

/// Entry `index` of one of the record's name → bytes lists (info fields,
/// step outputs): its name and bytes, borrowed from the record.
///
/// # Safety
/// `record` is NULL or a record handle; the out-parameters are NULL or
/// writable.
#[allow(clippy::too_many_arguments)]
unsafe fn entry_at(
    record: *const cardap_record,
    list: impl Fn(&RecordInner) -> &[(Text, Zeroizing<Vec<u8>>)],
    what: &str,
    index: usize,
    out_name: *mut *const c_char,
    out_name_len: *mut usize,
    out_value: *mut *const u8,
    out_value_len: *mut usize,
) -> Result<(), Failure> {
    let r = rec(record)?;
    // SAFETY: forwarded from the caller.
    let (name_out, value_out) = unsafe {
        (
            buffer_out(out_name, out_name_len, "out_name")?,
            buffer_out(out_value, out_value_len, "out_value")?,
        )
    };
    let (name, value) = at(list(&r), index, what)?;
    name_out.set(name.as_ptr(), name.len());
    value_out.set(value.as_ptr(), value.len());
    Ok(())
}

fn not_found(what: &str, name: &str) -> Failure {
    Failure::new(cardap_result::NotFound, format!("no {what} named {name:?}"))
}

/// Releases a record. NULL does nothing.
///
/// Thread safety: the record must not be in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_free(record: *mut cardap_record) {
    free_handle(record, "free record");
}

/// The profile's name for the AP (NUL-terminated, borrowed from the record).
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_name(
    record: *const cardap_record,
    out_name: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("record name", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(r.name.as_ptr(), r.name.len(), out_name, out_len) }
    })
}

/// The AP type.
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_type(
    record: *const cardap_record,
    out_type: *mut cardap_ap_type,
) -> cardap_result {
    guard("record type", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_type, "out_type")? }.set(r.kind);
        Ok(())
    })
}

/// The AID read (bytes, borrowed from the record).
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_aid(
    record: *const cardap_record,
    out_aid: *mut *const u8,
    out_len: *mut usize,
) -> cardap_result {
    guard("record AID", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(r.aid.as_ptr(), r.aid.len(), out_aid, out_len) }
    })
}

/// The validated 13-digit user ID (NUL-terminated, borrowed from the record).
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_user_id(
    record: *const cardap_record,
    out_user_id: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("record user ID", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(r.user_id.as_ptr(), r.user_id.len(), out_user_id, out_len) }
    })
}

/// How many info fields the record holds (Types A and C; 0 otherwise).
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_info_count(
    record: *const cardap_record,
    out_count: *mut usize,
) -> cardap_result {
    guard("record info count", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_count, "out_count")? }.set(r.info.len());
        Ok(())
    })
}

/// Info field `index` (0-based, in name order): its name (`info1`, …,
/// NUL-terminated) and its raw bytes, both borrowed from the record.
///
/// Errors: `CARDAP_RESULT_OUT_OF_RANGE` when `index` is not below the count.
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_info_at(
    record: *const cardap_record,
    index: usize,
    out_name: *mut *const c_char,
    out_name_len: *mut usize,
    out_value: *mut *const u8,
    out_value_len: *mut usize,
) -> cardap_result {
    guard("record info", || {
        // SAFETY: forwarded from the caller.
        unsafe {
            entry_at(
                record,
                |r| &r.info,
                "info",
                index,
                out_name,
                out_name_len,
                out_value,
                out_value_len,
            )
        }
    })
}

/// The bytes of the info field called `name` (UTF-8, `name_len` bytes, e.g.
/// `info1`), borrowed from the record.
///
/// Errors: `CARDAP_RESULT_NOT_FOUND` when the record has no such field.
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_info_get(
    record: *const cardap_record,
    name: *const c_char,
    name_len: usize,
    out_value: *mut *const u8,
    out_value_len: *mut usize,
) -> cardap_result {
    guard("record info", || {
        let r = rec(record)?;
        // SAFETY: the caller passes `name_len` readable bytes or NULL.
        let wanted = unsafe { text(name, name_len, crate::CARDAP_MAX_NAME_LEN, "name")? };
        // SAFETY: the caller passes NULL or writable out-parameters.
        let o = unsafe { buffer_out(out_value, out_value_len, "out_value")? };
        let (_, value) = r
            .info
            .iter()
            .find(|(n, _)| n.as_str() == wanted)
            .ok_or_else(|| not_found("info field", wanted))?;
        o.set(value.as_ptr(), value.len());
        Ok(())
    })
}

/// The data of a Type D AP (file bytes 13 onwards) or of a custom AP (its
/// step outputs concatenated), borrowed from the record.
///
/// Errors: `CARDAP_RESULT_NOT_FOUND` for Types A and C, which have none.
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_data(
    record: *const cardap_record,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> cardap_result {
    guard("record data", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        let o = unsafe { buffer_out(out_data, out_len, "out_data")? };
        let data = r.data.as_ref().ok_or_else(|| {
            Failure::new(
                cardap_result::NotFound,
                "this record has no data (Types A and C have info fields)",
            )
        })?;
        o.set(data.as_ptr(), data.len());
        Ok(())
    })
}

/// How many `[[read]]` step outputs the record holds (custom APs; 0
/// otherwise).
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_step_count(
    record: *const cardap_record,
    out_count: *mut usize,
) -> cardap_result {
    guard("record step count", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_count, "out_count")? }.set(r.steps.len());
        Ok(())
    })
}

/// Step output `index` (0-based, in name order): the step's name and its
/// bytes, borrowed from the record.
///
/// Errors: `CARDAP_RESULT_OUT_OF_RANGE` when `index` is not below the count.
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_step_at(
    record: *const cardap_record,
    index: usize,
    out_name: *mut *const c_char,
    out_name_len: *mut usize,
    out_value: *mut *const u8,
    out_value_len: *mut usize,
) -> cardap_result {
    guard("record step", || {
        // SAFETY: forwarded from the caller.
        unsafe {
            entry_at(
                record,
                |r| &r.steps,
                "step",
                index,
                out_name,
                out_name_len,
                out_value,
                out_value_len,
            )
        }
    })
}

/// How many decoded fields the record holds (the profile's `[[field]]`s that
/// were present on the card).
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_field_count(
    record: *const cardap_record,
    out_count: *mut usize,
) -> cardap_result {
    guard("record field count", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_count, "out_count")? }.set(r.fields.len());
        Ok(())
    })
}

/// Decoded field `index` (0-based, in name order): its name and its decoded
/// text, both NUL-terminated UTF-8 borrowed from the record.
///
/// Errors: `CARDAP_RESULT_OUT_OF_RANGE` when `index` is not below the count.
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_field_at(
    record: *const cardap_record,
    index: usize,
    out_name: *mut *const c_char,
    out_name_len: *mut usize,
    out_value: *mut *const c_char,
    out_value_len: *mut usize,
) -> cardap_result {
    guard("record field", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        let (name_out, value_out) = unsafe {
            (
                buffer_out(out_name, out_name_len, "out_name")?,
                buffer_out(out_value, out_value_len, "out_value")?,
            )
        };
        let (name, value) = at(&r.fields, index, "field")?;
        name_out.set(name.as_ptr(), name.len());
        value_out.set(value.as_ptr(), value.len());
        Ok(())
    })
}

/// The decoded text of the field called `name` (UTF-8, `name_len` bytes),
/// NUL-terminated and borrowed from the record.
///
/// Errors: `CARDAP_RESULT_NOT_FOUND` when the record has no such field.
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_field_get(
    record: *const cardap_record,
    name: *const c_char,
    name_len: usize,
    out_value: *mut *const c_char,
    out_value_len: *mut usize,
) -> cardap_result {
    guard("record field", || {
        let r = rec(record)?;
        // SAFETY: the caller passes `name_len` readable bytes or NULL.
        let wanted = unsafe { text(name, name_len, crate::CARDAP_MAX_NAME_LEN, "name")? };
        // SAFETY: the caller passes NULL or writable out-parameters.
        let o = unsafe { buffer_out(out_value, out_value_len, "out_value")? };
        let (_, value) = r
            .fields
            .iter()
            .find(|(n, _)| n.as_str() == wanted)
            .ok_or_else(|| not_found("field", wanted))?;
        o.set(value.as_ptr(), value.len());
        Ok(())
    })
}

/// The number of command APDUs the read sent (GET RESPONSE and retries
/// included): the card round trips.
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_apdus(
    record: *const cardap_record,
    out_apdus: *mut usize,
) -> cardap_result {
    guard("record APDU count", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_apdus, "out_apdus")? }.set(r.apdus);
        Ok(())
    })
}

/// The record as the one-line JSON object `cardap read` prints (`name`,
/// `type`, `aid`, `user_id`, `info` or `data`, `fields`, `apdus`; bytes in
/// upper-case hex), NUL-terminated and borrowed from the record.
///
/// Thread safety: a record may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_record_to_json(
    record: *const cardap_record,
    out_json: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("record JSON", || {
        let r = rec(record)?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(r.json.as_ptr(), r.json.len(), out_json, out_len) }
    })
}
