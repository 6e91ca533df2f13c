//! Writing info fields (PROFILE.md §11) through the C ABI.

use std::ffi::c_char;

use cardap_core::FieldWrite;

use crate::args::{self, out};
use crate::context::cardap_context;
use crate::handle::Opaque;
use crate::panic::guard;
use crate::profile::cardap_profile;
use crate::result::{Failure, cardap_result};

/// The longest list of writes accepted (bytes).
pub const CARDAP_MAX_WRITES_LEN: usize = 65536;

/// Parses writes given one per line (`\n`; a `\r` before it is dropped).
pub(crate) fn parse_lines(text: &str) -> Result<Vec<FieldWrite>, Failure> {
    let writes = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(FieldWrite::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::from)?;
    if writes.is_empty() {
        return Err(Failure::new(
            cardap_result::InvalidArgument,
            "writes: nothing to write",
        ));
    }
    Ok(writes)
}

/// Writes info fields of the AP `profile` describes, with the update keys of
/// its `[auth.update]` table, in one card transaction (PROFILE.md §11).
/// `writes` is UTF-8 text of `writes_len` bytes (at most
/// `CARDAP_MAX_WRITES_LEN`), one write per line, in the form of
/// `cardap write --set`: `infoN=HEX` (Types A and C), `data@OFFSET=HEX`
/// (Type D), or `FIELD=TEXT` (a `[[field]]` of the profile). On success
/// `*out_apdus` (may be NULL) receives the number of command APDUs sent.
///
/// Errors: `CARDAP_RESULT_INVALID_WRITE` (a write the profile or the profile
/// document does not allow; nothing was sent), `CARDAP_RESULT_PROFILE_INVALID`
/// (no `[auth.update]`), `CARDAP_RESULT_CARD_STATUS` (the card refused: the
/// status word is in `cardap_context_last_status_word`; the card kept its old
/// value), transport codes (a card torn away during the write holds the old
/// value or the new one: read it again; nothing is resent).
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_write(
    context: *mut cardap_context,
    profile: *const cardap_profile,
    writes: *const c_char,
    writes_len: usize,
    out_apdus: *mut usize,
) -> cardap_result {
    guard("write", || {
        let c = cardap_context::get(context, "context")?;
        let p = cardap_profile::get(profile, "profile")?;
        // SAFETY: the caller passes `writes_len` readable bytes or NULL.
        let text = unsafe { args::text(writes, writes_len, CARDAP_MAX_WRITES_LEN, "writes")? };
        let out_apdus = if out_apdus.is_null() {
            None
        } else {
            // SAFETY: non-NULL, and the caller passes a writable out-parameter.
            Some(unsafe { out(out_apdus, "out_apdus")? })
        };
        let writes = parse_lines(text)?;
        let report = c
            .lock()?
            .run("write", |card| card.write(&p.profile, &writes))?;
        if let Some(o) = out_apdus {
            o.set(report.apdus);
        }
        Ok(())
    })
}
