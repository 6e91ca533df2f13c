//! `cardap_profile`: a validated profile (PROFILE.md §9).

use std::ffi::c_char;

use cardap_core::{ApType, Profile};

use crate::args::{self, out, write_buffer};
use crate::handle::{Opaque, Table, free_handle};
use crate::panic::guard;
use crate::result::cardap_result;
use crate::text::Text;

/// The AP types. Values are explicit and stable.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cardap_ap_type {
    /// Type A: record AP, mutual authentication, MAC-protected reads.
    A = 1,
    /// Type C: common AP, read in the clear.
    C = 3,
    /// Type D: binary AP, encrypted secure messaging.
    D = 4,
    /// A custom AP read by its profile's `[[read]]` steps.
    Custom = 100,
}

impl From<ApType> for cardap_ap_type {
    fn from(t: ApType) -> Self {
        match t {
            ApType::A => Self::A,
            ApType::C => Self::C,
            ApType::D => Self::D,
            ApType::Custom => Self::Custom,
        }
    }
}

/// A profile: which AP to read and how (type, AID, keys, fields). Made by
/// `cardap_profile_new_from_file` or `cardap_profile_new_from_str`, released
/// by `cardap_profile_free`. Immutable once made.
pub struct cardap_profile {
    _private: [u8; 0],
}

pub(crate) struct ProfileInner {
    pub(crate) profile: Profile,
    name: Text,
}

impl Opaque for cardap_profile {
    type Inner = ProfileInner;
    const TAG: usize = 3;
    const NAME: &'static str = "profile";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<ProfileInner> = Table::new();
        &TABLE
    }
}

fn make(
    profile: Profile,
    out_profile: *mut *mut cardap_profile,
) -> Result<(), crate::result::Failure> {
    // SAFETY: the exported callers pass NULL or a writable out-parameter.
    let o = unsafe { out(out_profile, "out_profile")? };
    let name = Text::new(profile.name());
    o.set(cardap_profile::into_handle(ProfileInner { profile, name })?);
    Ok(())
}

/// Loads and validates a profile file. `path` is UTF-8, `path_len` bytes (at
/// most `CARDAP_MAX_PATH_LEN`), no NUL needed. Keys given by environment
/// variable (`k_enc_env`) are read now. On success `*out_profile` receives a
/// new profile to release with `cardap_profile_free`.
///
/// Errors: `CARDAP_RESULT_PROFILE_IO`, `CARDAP_RESULT_PROFILE_INVALID` (the
/// last error names the file, the key and the problem, never key bytes).
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_profile_new_from_file(
    path: *const c_char,
    path_len: usize,
    out_profile: *mut *mut cardap_profile,
) -> cardap_result {
    guard("load profile", || {
        // SAFETY: the caller passes `path_len` readable bytes or NULL.
        let p = unsafe { args::path(path, path_len, "path")? };
        // Check the out-parameter before the work.
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_profile, "out_profile")? };
        make(Profile::from_file(p)?, out_profile)
    })
}

/// Parses and validates a profile given as TOML text of `text_len` bytes (at
/// most `CARDAP_MAX_TEXT_LEN`). On success `*out_profile` receives a new
/// profile to release with `cardap_profile_free`.
///
/// Errors: `CARDAP_RESULT_PROFILE_INVALID` and argument errors.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_profile_new_from_str(
    text: *const c_char,
    text_len: usize,
    out_profile: *mut *mut cardap_profile,
) -> cardap_result {
    guard("load profile", || {
        // SAFETY: the caller passes `text_len` readable bytes or NULL.
        let t = unsafe { args::text(text, text_len, crate::CARDAP_MAX_TEXT_LEN, "text")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_profile, "out_profile")? };
        make(Profile::from_toml_str(t)?, out_profile)
    })
}

/// Releases a profile. NULL does nothing.
///
/// Thread safety: the profile must not be in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_profile_free(profile: *mut cardap_profile) {
    free_handle(profile, "free profile");
}

/// The profile's `name`, borrowed from the profile (NUL-terminated).
///
/// Thread safety: a profile may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_profile_name(
    profile: *const cardap_profile,
    out_name: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("profile name", || {
        let p = cardap_profile::get(profile, "profile")?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(p.name.as_ptr(), p.name.len(), out_name, out_len) }
    })
}

/// The profile's AP type.
///
/// Thread safety: a profile may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_profile_type(
    profile: *const cardap_profile,
    out_type: *mut cardap_ap_type,
) -> cardap_result {
    guard("profile type", || {
        let p = cardap_profile::get(profile, "profile")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        unsafe { out(out_type, "out_type")? }.set(p.profile.ap_type().into());
        Ok(())
    })
}

/// The profile's AID bytes, borrowed from the profile.
///
/// Thread safety: a profile may be read from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_profile_aid(
    profile: *const cardap_profile,
    out_aid: *mut *const u8,
    out_len: *mut usize,
) -> cardap_result {
    guard("profile AID", || {
        let p = cardap_profile::get(profile, "profile")?;
        let aid = p.profile.aid();
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(aid.as_ptr(), aid.len(), out_aid, out_len) }
    })
}
