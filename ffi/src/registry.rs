//! `cardap_registry`: the business-system side — members, card statuses
//! (the daily feed and the provider's own), gate decisions — on a SQLite
//! file or a PostgreSQL server.

use std::ffi::c_char;
use std::sync::Mutex;

use cardap_core::UserId;
use registry_core::{
    Decision, DenyReason, Error as RegistryError, Feed, FeedError, ImportMode, Member, Source,
    Status, Store,
};

use crate::args::{self, optional_text, out, text};
use crate::context::cardap_context;
use crate::handle::{Opaque, Table, free_handle};
use crate::panic::guard;
use crate::profile::cardap_profile;
use crate::result::{Failure, cardap_result};
use crate::text::Text;

/// A registry: a SQLite file (created if missing) or a PostgreSQL server
/// (`postgres://…`). Made by `cardap_registry_open`, released by
/// `cardap_registry_free`.
///
/// Thread safety: a registry handle may be used from any thread; calls on
/// one handle are serialized by a lock inside it (a long import on a handle
/// holds it). For a gate that decides on one thread while another imports,
/// open one handle per thread on the same location: handles work
/// concurrently, and a check or decision sees an import, a sync or a status
/// change whole or not at all, never half of it. Strings a call returns are
/// borrowed from the handle and stay valid until the next call on the same
/// handle or its `_free`.
pub struct cardap_registry {
    _private: [u8; 0],
}

pub(crate) struct RegistryInner {
    state: Mutex<RegistryState>,
}

struct RegistryState {
    store: Box<dyn Store>,
    /// The last JSON text returned by this handle.
    text: Text,
}

impl Opaque for cardap_registry {
    type Inner = RegistryInner;
    const TAG: usize = 15;
    const NAME: &'static str = "registry";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<RegistryInner> = Table::new();
        &TABLE
    }
}

/// Why a gate says no (`cardap_decision.reason`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cardap_deny_reason {
    /// Allowed: no reason.
    None = 0,
    /// No member is registered with this user ID.
    UnknownUser = 1,
    /// The card is suspended.
    Suspended = 2,
    /// The card is abolished.
    Abolished = 3,
    /// The user ID is registered, but for another AP.
    WrongAp = 4,
    /// The card could not be read.
    ReadFailed = 5,
}

/// Where the status that applied came from (`cardap_decision.source`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cardap_status_source {
    /// No status applied (an unlisted card, an unknown user).
    None = 0,
    /// The daily feed.
    Feed = 1,
    /// The provider's own status.
    Provider = 2,
}

/// Card statuses for `cardap_registry_set_status` (a plain `uint32_t`, like
/// every code C passes in): in use.
pub const CARDAP_CARD_STATUS_ACTIVE: u32 = 1;
/// Suspended (reported lost, …).
pub const CARDAP_CARD_STATUS_SUSPENDED: u32 = 2;
/// Abolished.
pub const CARDAP_CARD_STATUS_ABOLISHED: u32 = 3;

/// A gate's decision, written by `cardap_registry_decide`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct cardap_decision {
    /// `true` to open the gate.
    pub allow: bool,
    /// `CARDAP_DENY_REASON_NONE` when allowed, else why not.
    pub reason: cardap_deny_reason,
    /// The source of the status that applied.
    pub source: cardap_status_source,
}

impl From<&Decision> for cardap_decision {
    fn from(d: &Decision) -> Self {
        Self {
            allow: d.allowed(),
            reason: match d.deny {
                None => cardap_deny_reason::None,
                Some(DenyReason::UnknownUser) => cardap_deny_reason::UnknownUser,
                Some(DenyReason::Suspended) => cardap_deny_reason::Suspended,
                Some(DenyReason::Abolished) => cardap_deny_reason::Abolished,
                Some(DenyReason::WrongAp) => cardap_deny_reason::WrongAp,
                Some(DenyReason::ReadFailed) => cardap_deny_reason::ReadFailed,
            },
            source: match d.source {
                None => cardap_status_source::None,
                Some(Source::Feed) => cardap_status_source::Feed,
                Some(Source::Provider) => cardap_status_source::Provider,
            },
        }
    }
}

/// Import modes for `cardap_registry_import`.
/// The file replaces every feed status.
pub const CARDAP_IMPORT_FULL: u32 = 0;
/// The file's rows are inserted or updated.
pub const CARDAP_IMPORT_DELTA: u32 = 1;

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Self {
        let code = match &e {
            RegistryError::Feed(FeedError::Io(_)) => cardap_result::FeedIo,
            RegistryError::Feed(_) => cardap_result::FeedInvalid,
            RegistryError::MemberExists { .. } => cardap_result::MemberExists,
            RegistryError::Invalid(_) | RegistryError::Location(_) => {
                cardap_result::InvalidArgument
            }
            _ => cardap_result::RegistryStore,
        };
        Failure::new(code, e.to_string())
    }
}

fn user_id(s: &str) -> Result<UserId, Failure> {
    UserId::parse(s.as_bytes()).map_err(|e| {
        Failure::new(
            cardap_result::InvalidArgument,
            format!("user_id {s:?}: {e}"),
        )
    })
}

/// Locks the handle's state and runs `f`; a JSON value `f` returns becomes
/// the handle's text and is written to the out-parameters given.
///
/// # Safety
/// `registry` is NULL or a registry handle; `out_json`/`out_len` are NULL
/// or writable.
unsafe fn with_state(
    registry: *mut cardap_registry,
    out_json: *mut *const c_char,
    out_len: *mut usize,
    json_required: bool,
    f: impl FnOnce(&mut dyn Store) -> Result<serde_json::Value, Failure>,
) -> Result<(), Failure> {
    let r = cardap_registry::get(registry, "registry")?;
    let json_out = if json_required || !(out_json.is_null() && out_len.is_null()) {
        // SAFETY: forwarded from the caller.
        Some(unsafe { args::buffer_out(out_json, out_len, "out_json")? })
    } else {
        None
    };
    let mut state = r.state.lock().unwrap_or_else(|e| e.into_inner());
    let value = f(state.store.as_mut())?;
    state.text = Text::new(&value.to_string());
    if let Some(o) = json_out {
        o.set(state.text.as_ptr(), state.text.len());
    }
    Ok(())
}

/// Opens the registry at `location` (`location_len` bytes of UTF-8): a
/// SQLite file path (created if missing) or a `postgres://user@host/db` URL
/// (tables in the schema named by `CARDAP_REGISTRY_SCHEMA`, default
/// `cardap`). On success `*out_registry` receives a handle to release with
/// `cardap_registry_free`.
///
/// Errors: `CARDAP_RESULT_REGISTRY_STORE` (the file cannot be opened, the
/// server cannot be reached), `CARDAP_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_registry_open(
    location: *const c_char,
    location_len: usize,
    out_registry: *mut *mut cardap_registry,
) -> cardap_result {
    guard("open registry", || {
        // SAFETY: the caller passes NULL or `location_len` readable bytes.
        let loc = unsafe {
            text(
                location,
                location_len,
                crate::CARDAP_MAX_PATH_LEN,
                "location",
            )?
        };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_registry, "out_registry")? };
        if loc.is_empty() || loc.contains('\0') {
            return Err(Failure::new(
                cardap_result::InvalidArgument,
                "location is empty or holds a NUL byte",
            ));
        }
        let store = registry_core::open(loc).map_err(|e| {
            let mut f = Failure::from(e);
            f.message = format!("{}: {}", registry_core::redacted(loc), f.message);
            f
        })?;
        o.set(cardap_registry::into_handle(RegistryInner {
            state: Mutex::new(RegistryState {
                store,
                text: Text::new(""),
            }),
        })?);
        Ok(())
    })
}

/// Releases a registry handle (closes its connection). NULL does nothing.
///
/// Thread safety: may be called from any thread; a call under way on the
/// handle keeps the registry alive until it returns.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_registry_free(registry: *mut cardap_registry) {
    free_handle(registry, "free registry");
}

/// The status in effect for a user ID, as JSON
/// `{"user_id","status","source","updated_at"}` (status `active`,
/// `suspended`, `abolished` or `unlisted`; source `feed`, `provider` or
/// null). `*out_json` is borrowed from the handle.
///
/// Thread safety: see `cardap_registry`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_registry_check(
    registry: *mut cardap_registry,
    user_id_text: *const c_char,
    user_id_len: usize,
    out_json: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("check status", || {
        // SAFETY: the caller passes NULL or readable text.
        let id = unsafe {
            text(
                user_id_text,
                user_id_len,
                crate::CARDAP_MAX_NAME_LEN,
                "user_id",
            )?
        };
        let id = user_id(id)?;
        // SAFETY: forwarded from the caller.
        unsafe {
            with_state(registry, out_json, out_len, true, |s| {
                Ok(s.check(&id)?.to_json())
            })
        }
    })
}

/// The gate's decision for a user ID read from the AP named `ap` (the
/// profile's name): membership first, then the status in effect.
/// `*out_decision` receives the decision; `out_json`/`out_len` (both NULL to
/// skip) receive `{"user_id","decision","reason","source","member"}`,
/// borrowed from the handle.
///
/// Thread safety: see `cardap_registry`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_registry_decide(
    registry: *mut cardap_registry,
    user_id_text: *const c_char,
    user_id_len: usize,
    ap: *const c_char,
    ap_len: usize,
    out_decision: *mut cardap_decision,
    out_json: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("decide", || {
        // SAFETY: the caller passes NULL or readable text.
        let id = unsafe {
            text(
                user_id_text,
                user_id_len,
                crate::CARDAP_MAX_NAME_LEN,
                "user_id",
            )?
        };
        let id = user_id(id)?;
        // SAFETY: the caller passes NULL or readable text.
        let ap = unsafe { text(ap, ap_len, crate::CARDAP_MAX_NAME_LEN, "ap")? };
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_decision, "out_decision")? };
        let mut decision = None;
        // SAFETY: forwarded from the caller.
        unsafe {
            with_state(registry, out_json, out_len, false, |s| {
                let d = s.decide(&id, ap)?;
                let v = d.to_json();
                decision = Some(cardap_decision::from(&d));
                Ok(v)
            })?;
        }
        if let Some(d) = decision {
            o.set(d);
        }
        Ok(())
    })
}

/// Imports a feed file (CSV `user_id,status,updated_at`) in one
/// transaction: `mode` is `CARDAP_IMPORT_FULL` (replaces every feed status)
/// or `CARDAP_IMPORT_DELTA` (inserts or updates its rows). A malformed row
/// refuses the whole file (`CARDAP_RESULT_FEED_INVALID`; the last error
/// lists every bad line). `out_json`/`out_len` (both NULL to skip) receive
/// `{"mode","rows","changed","removed"}`.
///
/// Thread safety: see `cardap_registry`; other handles keep reading the old
/// list until the import commits.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_registry_import(
    registry: *mut cardap_registry,
    path: *const c_char,
    path_len: usize,
    mode: u32,
    out_json: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("import feed", || {
        // SAFETY: the caller passes NULL or readable text.
        let path = unsafe { args::path(path, path_len, "path")? };
        let mode = match mode {
            CARDAP_IMPORT_FULL => ImportMode::Full,
            CARDAP_IMPORT_DELTA => ImportMode::Delta,
            other => {
                return Err(Failure::new(
                    cardap_result::InvalidArgument,
                    format!("mode {other} is neither CARDAP_IMPORT_FULL nor CARDAP_IMPORT_DELTA"),
                ));
            }
        };
        let feed = Feed::from_path(path).map_err(|e| {
            let mut f = Failure::from(RegistryError::Feed(e));
            f.message = format!("{}: {}", path.display(), f.message);
            f
        })?;
        // SAFETY: forwarded from the caller.
        unsafe {
            with_state(registry, out_json, out_len, false, |s| {
                let report = s.import(&feed, mode, &mut |_| {})?;
                serde_json::to_value(&report)
                    .map_err(|e| Failure::new(cardap_result::Unknown, e.to_string()))
            })
        }
    })
}

/// Sets the provider's status for a user ID (`status`: one of
/// `CARDAP_CARD_STATUS_ACTIVE`, `_SUSPENDED`, `_ABOLISHED`), in effect at
/// once and winning over the feed until `cardap_registry_clear_status`.
///
/// Thread safety: see `cardap_registry`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_registry_set_status(
    registry: *mut cardap_registry,
    user_id_text: *const c_char,
    user_id_len: usize,
    status: u32,
) -> cardap_result {
    guard("set status", || {
        // SAFETY: the caller passes NULL or readable text.
        let id = unsafe {
            text(
                user_id_text,
                user_id_len,
                crate::CARDAP_MAX_NAME_LEN,
                "user_id",
            )?
        };
        let id = user_id(id)?;
        let status = match status {
            CARDAP_CARD_STATUS_ACTIVE => Status::Active,
            CARDAP_CARD_STATUS_SUSPENDED => Status::Suspended,
            CARDAP_CARD_STATUS_ABOLISHED => Status::Abolished,
            other => {
                return Err(Failure::new(
                    cardap_result::InvalidArgument,
                    format!("status {other} is not a CARDAP_CARD_STATUS_… value"),
                ));
            }
        };
        // SAFETY: forwarded from the caller.
        unsafe {
            with_state(
                registry,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                false,
                |s| Ok(s.set_status(&id, status)?.to_json()),
            )
        }
    })
}

/// Clears the provider's status for a user ID: the feed's applies again.
/// Clearing where none is set succeeds.
///
/// Thread safety: see `cardap_registry`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_registry_clear_status(
    registry: *mut cardap_registry,
    user_id_text: *const c_char,
    user_id_len: usize,
) -> cardap_result {
    guard("clear status", || {
        // SAFETY: the caller passes NULL or readable text.
        let id = unsafe {
            text(
                user_id_text,
                user_id_len,
                crate::CARDAP_MAX_NAME_LEN,
                "user_id",
            )?
        };
        let id = user_id(id)?;
        // SAFETY: forwarded from the caller.
        unsafe {
            with_state(
                registry,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                false,
                |s| {
                    s.clear_status(&id)?;
                    Ok(serde_json::Value::Null)
                },
            )
        }
    })
}

/// Registers a member without a card: user ID + AP name -> member key, with
/// an optional label (NULL and 0 for none). An existing (user ID, AP) pair
/// gives `CARDAP_RESULT_MEMBER_EXISTS`.
///
/// Thread safety: see `cardap_registry`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_registry_add_member(
    registry: *mut cardap_registry,
    user_id_text: *const c_char,
    user_id_len: usize,
    ap: *const c_char,
    ap_len: usize,
    member: *const c_char,
    member_len: usize,
    label: *const c_char,
    label_len: usize,
) -> cardap_result {
    guard("add member", || {
        // SAFETY: the caller passes NULL or readable text for each.
        let (id, ap, member, label) = unsafe {
            (
                text(
                    user_id_text,
                    user_id_len,
                    crate::CARDAP_MAX_NAME_LEN,
                    "user_id",
                )?,
                text(ap, ap_len, crate::CARDAP_MAX_NAME_LEN, "ap")?,
                text(member, member_len, crate::CARDAP_MAX_NAME_LEN, "member")?,
                optional_text(label, label_len, crate::CARDAP_MAX_NAME_LEN, "label")?,
            )
        };
        let entry = Member::new(&user_id(id)?, ap, member, label);
        // SAFETY: forwarded from the caller.
        unsafe {
            with_state(
                registry,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                false,
                |s| {
                    s.add_member(&entry)?;
                    Ok(serde_json::Value::Null)
                },
            )
        }
    })
}

/// The registration desk: reads the AP `profile` describes through
/// `context` (one card transaction) and registers its user ID for `member`
/// (optional `label`: NULL and 0 for none) under the profile's name.
/// `out_json`/`out_len` (both NULL to skip) receive
/// `{"user_id","ap","member","label"}`. Card errors give their usual codes
/// (2xx–5xx); an ID already registered for this AP gives
/// `CARDAP_RESULT_MEMBER_EXISTS`.
///
/// Thread safety: the context is used by one thread at a time; the registry
/// as `cardap_registry` says.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_registry_register(
    registry: *mut cardap_registry,
    context: *mut cardap_context,
    profile: *const cardap_profile,
    member: *const c_char,
    member_len: usize,
    label: *const c_char,
    label_len: usize,
    out_json: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("register", || {
        let c = cardap_context::get(context, "context")?;
        let p = cardap_profile::get(profile, "profile")?;
        // SAFETY: the caller passes NULL or readable text.
        let (member, label) = unsafe {
            (
                text(member, member_len, crate::CARDAP_MAX_NAME_LEN, "member")?,
                optional_text(label, label_len, crate::CARDAP_MAX_NAME_LEN, "label")?,
            )
        };
        let record = c.lock()?.run("register", |card| card.read(&p.profile))?;
        let entry = Member::new(record.user_id(), p.profile.name(), member, label);
        // SAFETY: forwarded from the caller.
        unsafe {
            with_state(registry, out_json, out_len, false, |s| {
                s.add_member(&entry)?;
                Ok(serde_json::json!({"user_id": entry.user_id, "ap": entry.ap,
                                      "member": entry.member, "label": entry.label}))
            })
        }
    })
}
