//! The loading desk (PROFILE.md §12) through the C ABI, built with the
//! `issuer` feature: install, delete, move-out, list.

use std::ffi::c_char;

use cardap_core::ApType;
use cardap_core::Suite;
use cardap_core::issuer::{Area, InstallRequest, Issuer};
use serde_json::json;

use crate::args::{self, out};
use crate::context::cardap_context;
use crate::handle::{Opaque, Table, free_handle};
use crate::panic::guard;
use crate::profile::cardap_ap_type;
use crate::result::{Failure, cardap_result};

/// A loading desk: the card manager's AID, the issuer key set, the user-ID
/// registry (an issuer file such as `examples/issuer.toml`). Made by
/// `cardap_issuer_new_from_file`, released by `cardap_issuer_free`.
/// Immutable; may be shared by threads.
pub struct cardap_issuer {
    _private: [u8; 0],
}

pub(crate) struct IssuerInner {
    issuer: Issuer,
}

impl Opaque for cardap_issuer {
    type Inner = IssuerInner;
    const TAG: usize = 9;
    const NAME: &'static str = "issuer";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<IssuerInner> = Table::new();
        &TABLE
    }
}

/// The areas of the free area. Values are explicit and stable.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cardap_area {
    /// Both areas (listing only).
    Both = 0,
    /// The extension area: kept when the holder moves.
    Extension = 1,
    /// The local-resident area: deleted at a move-out.
    Local = 2,
}

fn area_of(value: u32, both_allowed: bool) -> Result<Option<Area>, Failure> {
    match value {
        0 if both_allowed => Ok(None),
        1 => Ok(Some(Area::Extension)),
        2 => Ok(Some(Area::Local)),
        _ => Err(Failure::new(
            cardap_result::InvalidArgument,
            format!("area {value} is not a cardap_area"),
        )),
    }
}

/// Reads an issuer file (UTF-8 path of `path_len` bytes). A relative
/// `registry` is taken from the file's directory.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_issuer_new_from_file(
    path: *const c_char,
    path_len: usize,
    out_issuer: *mut *mut cardap_issuer,
) -> cardap_result {
    guard("load issuer", || {
        // SAFETY: the caller passes `path_len` readable bytes or NULL.
        let p = unsafe { args::path(path, path_len, "path")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_issuer, "out_issuer")? };
        let issuer = Issuer::from_file(p)?;
        o.set(cardap_issuer::into_handle(IssuerInner { issuer })?);
        Ok(())
    })
}

/// Releases an issuer; NULL does nothing.
///
/// Thread safety: not while another thread uses the issuer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_issuer_free(issuer: *mut cardap_issuer) {
    free_handle(issuer, "free issuer");
}

/// Installs an AP (PROFILE.md §12.2): a new user ID from the desk's registry,
/// fresh key sets, CREATE FILE under the issuer keys, one card transaction.
/// `kind` is a `cardap_ap_type` (A, C or D), `area` a `cardap_area`
/// (extension or local), `suite` 0 for the desk's `ap_suite`, 1 `3des`,
/// 2 `aes128`, 3 `aes256`. `info` (may be NULL with length 0) holds the
/// initial contents, one per line: `infoN=HEX` (A, C) or `data=HEX` (D).
/// The AP's complete profile (read keys under `[auth]`, update keys under
/// `[auth.update]`) is written to `profile_path`, owner-only. On success
/// `out_user_id` (a buffer of at least 14 bytes) receives the 13 digits and a
/// NUL.
///
/// Errors: `CARDAP_RESULT_INVALID_WRITE` (a request the profile document does
/// not allow), `CARDAP_RESULT_REGISTRY`, `CARDAP_RESULT_CARD_STATUS` (`6A 84`
/// free area full, `6A 89` duplicate AID: see
/// `cardap_context_last_status_word`), transport codes.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn cardap_context_install(
    context: *mut cardap_context,
    issuer: *const cardap_issuer,
    kind: u32,
    area: u32,
    aid: *const u8,
    aid_len: usize,
    label: *const c_char,
    label_len: usize,
    info: *const c_char,
    info_len: usize,
    suite: u32,
    profile_path: *const c_char,
    profile_path_len: usize,
    out_user_id: *mut u8,
) -> cardap_result {
    guard("install", || {
        let c = cardap_context::get(context, "context")?;
        let i = cardap_issuer::get(issuer, "issuer")?;
        // SAFETY: the caller passes `aid_len` readable bytes or NULL.
        let aid = unsafe { args::bytes(aid, aid_len, 16, "aid")? };
        // SAFETY: the caller passes `label_len` readable bytes or NULL.
        let label = unsafe { args::text(label, label_len, 64, "label")? };
        // SAFETY: the caller passes `info_len` readable bytes or NULL.
        let info = unsafe { args::optional_text(info, info_len, 4096, "info")? };
        // SAFETY: the caller passes `profile_path_len` readable bytes or NULL.
        let path = unsafe { args::path(profile_path, profile_path_len, "profile_path")? };
        if out_user_id.is_null() {
            return Err(args::null("out_user_id"));
        }
        let kind = match kind {
            k if k == cardap_ap_type::A as u32 => ApType::A,
            k if k == cardap_ap_type::C as u32 => ApType::C,
            k if k == cardap_ap_type::D as u32 => ApType::D,
            _ => {
                return Err(Failure::new(
                    cardap_result::InvalidArgument,
                    format!("kind {kind}: only A, C and D APs are installed"),
                ));
            }
        };
        let area = area_of(area, false)?.unwrap_or(Area::Extension);
        let mut request = InstallRequest::new(kind, area, aid.to_vec(), label);
        request = match suite {
            0 => request,
            1 => request.with_suite(Suite::TripleDes),
            2 => request.with_suite(Suite::Aes128),
            3 => request.with_suite(Suite::Aes256),
            _ => {
                return Err(Failure::new(
                    cardap_result::InvalidArgument,
                    format!("suite {suite} is not 0 to 3"),
                ));
            }
        };
        for line in info.unwrap_or("").lines().filter(|l| !l.is_empty()) {
            let bad = || {
                Failure::new(
                    cardap_result::InvalidArgument,
                    "info: expected infoN=HEX or data=HEX",
                )
            };
            let (key, value) = line.split_once('=').ok_or_else(bad)?;
            let bytes = hex::decode(value.trim()).map_err(|_| bad())?;
            match (
                key,
                key.strip_prefix("info")
                    .and_then(|n| n.parse::<usize>().ok()),
            ) {
                ("data", _) => request = request.with_data(bytes),
                (_, Some(n)) if n >= 1 => request = request.with_info(n, bytes),
                _ => return Err(bad()),
            }
        }
        let installed = c
            .lock()?
            .run("install", |card| card.install(&i.issuer, &request))?;
        let text = installed.profile_toml(label);
        write_secret(path, text.as_bytes()).map_err(|e| {
            Failure::new(
                cardap_result::InvalidArgument,
                format!(
                    "installed user ID {}, but cannot write {}: {e}",
                    installed.user_id,
                    path.display()
                ),
            )
        })?;
        let digits = installed.user_id.as_str().as_bytes();
        // SAFETY: non-NULL; the caller passes a buffer of at least 14 bytes;
        // 13 digits and a NUL are written.
        unsafe {
            std::ptr::copy_nonoverlapping(digits.as_ptr(), out_user_id, digits.len().min(13));
            out_user_id.add(13).write(0);
        }
        Ok(())
    })
}

fn write_secret(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Deletes the AP with this AID (PROFILE.md §12.3); an unknown AID is
/// `CARDAP_RESULT_AP_NOT_FOUND`.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_delete_ap(
    context: *mut cardap_context,
    issuer: *const cardap_issuer,
    aid: *const u8,
    aid_len: usize,
) -> cardap_result {
    guard("delete AP", || {
        let c = cardap_context::get(context, "context")?;
        let i = cardap_issuer::get(issuer, "issuer")?;
        // SAFETY: the caller passes `aid_len` readable bytes or NULL.
        let aid = unsafe { args::bytes(aid, aid_len, 16, "aid")? };
        c.lock()?
            .run("delete AP", |card| card.delete_ap(&i.issuer, aid))?;
        Ok(())
    })
}

/// Move-out (PROFILE.md §12.4): deletes every AP of the local-resident area
/// and nothing else; `*out_count` (may be NULL) receives how many went.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_move_out(
    context: *mut cardap_context,
    issuer: *const cardap_issuer,
    out_count: *mut usize,
) -> cardap_result {
    guard("move-out", || {
        let c = cardap_context::get(context, "context")?;
        let i = cardap_issuer::get(issuer, "issuer")?;
        let out_count = if out_count.is_null() {
            None
        } else {
            // SAFETY: non-NULL, and the caller passes a writable out-parameter.
            Some(unsafe { out(out_count, "out_count")? })
        };
        let (count, _) = c.lock()?.run("move-out", |card| card.move_out(&i.issuer))?;
        if let Some(o) = out_count {
            o.set(count);
        }
        Ok(())
    })
}

/// Lists the APs of `area` (a `cardap_area`, `CARDAP_AREA_BOTH` for all) as a
/// JSON array of `{"aid", "label", "type", "area", "user_id"}` written to
/// `buffer` (capacity `capacity` bytes) with a NUL; `*out_len` receives the
/// JSON's length. A buffer too small gives `CARDAP_RESULT_TOO_LONG` with the
/// length needed (without the NUL) in `*out_len`.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_list_area(
    context: *mut cardap_context,
    issuer: *const cardap_issuer,
    area: u32,
    buffer: *mut c_char,
    capacity: usize,
    out_len: *mut usize,
) -> cardap_result {
    guard("list area", || {
        let c = cardap_context::get(context, "context")?;
        let i = cardap_issuer::get(issuer, "issuer")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_len, "out_len")? };
        if buffer.is_null() && capacity != 0 {
            return Err(args::null("buffer"));
        }
        let area = area_of(area, true)?;
        let listed = c
            .lock()?
            .run("list area", |card| card.list_area(&i.issuer, area))?;
        let entries: Vec<_> = listed
            .iter()
            .map(|ap| {
                json!({
                    "aid": hex::encode_upper(&ap.aid),
                    "label": ap.label,
                    "type": ap.kind.name(),
                    "area": ap.area.name(),
                    "user_id": ap.user_id.as_str(),
                })
            })
            .collect();
        let text = serde_json::Value::Array(entries).to_string();
        if text.len() >= capacity {
            o.set(text.len());
            return Err(Failure::new(
                cardap_result::TooLong,
                format!("the listing needs {} bytes and a NUL", text.len()),
            ));
        }
        // SAFETY: non-NULL (capacity > text.len() >= 0 so capacity > 0) and
        // the caller passes `capacity` writable bytes; text.len() + 1 fit.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buffer.cast::<u8>(), text.len());
            buffer.add(text.len()).write(0);
        }
        o.set(text.len());
        Ok(())
    })
}
