//! Result codes, their texts, and the detailed message of the last failure.

use std::cell::RefCell;
use std::ffi::{CStr, c_char};

use cardap_core::profile::ProfileError;
use cardap_core::transport::TransportError;

use crate::args::write_buffer;
use crate::panic::guard;
use crate::text::Text;

/// What a call did: `CARDAP_RESULT_OK` or why it failed.
///
/// Values are explicit and stable: a value, once published, keeps its meaning
/// and is never reused. Codes are grouped by hundreds: 1xx the call itself,
/// 2xx the reader and the link, 3xx the card's answers, 4xx authentication
/// and secure messaging, 5xx malformed data, 6xx profiles, 7xx virtual cards.
/// Functions that take a code as input take a plain `uint32_t`, since a
/// caller may hold a code this version does not know.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum cardap_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument is NULL.
    NullParameter = 100,
    /// An argument is not valid: text that is not UTF-8, a NUL inside a path.
    InvalidArgument = 101,
    /// A length is over the documented limit (`CARDAP_MAX_…`).
    TooLong = 102,
    /// A handle is not live: freed already (even when another object was
    /// made since), of another type, or a value this library never handed
    /// out. Handles are looked up in a table, never dereferenced, so this is
    /// always detected.
    InvalidHandle = 103,
    /// An internal error (a Rust panic) was caught at the boundary. Please
    /// report it.
    Panic = 104,
    /// An index is not below the count.
    OutOfRange = 105,
    /// The asked item is not there: no info field or decoded field of that
    /// name, a record without data, an AP without a label, no status word.
    NotFound = 106,
    /// The library was built without this feature (PC/SC, virtual cards).
    Unsupported = 107,
    /// The context is in use by another thread: a context runs one call at
    /// a time, and a second call made meanwhile returns this code at once
    /// instead of waiting. Retry once the other call has returned.
    Busy = 108,
    /// The card was removed (or powered off); its security state is lost.
    CardRemoved = 200,
    /// The card was reset by another party; its security state is lost.
    CardReset = 201,
    /// No card is present in the reader.
    NoCard = 202,
    /// The reader is unknown or gone.
    ReaderUnavailable = 203,
    /// The smart-card service (pcscd) is not running or not reachable.
    ServiceUnavailable = 204,
    /// A wait was cancelled.
    Cancelled = 205,
    /// The exchange did not finish in time.
    Timeout = 206,
    /// The reader or the link could not carry the command.
    NotCarried = 207,
    /// A replayed trace did not match what the host sent.
    ReplayMismatch = 208,
    /// The reader did not carry the exchange through although the card stayed
    /// in it; the card may have lost its security state.
    Interrupted = 209,
    /// Any other transport failure.
    TransportFailure = 299,
    /// The card answered with an error status word
    /// (`cardap_context_last_status_word` gives it).
    CardStatus = 300,
    /// The AP is not on the card.
    ApNotFound = 301,
    /// The card or reader rejected an extended-length APDU.
    ExtendedRejected = 302,
    /// A write or an install asks for something the profile or the profile
    /// document does not allow (nothing was sent): a value too long, the
    /// user ID, a field the profile does not have.
    InvalidWrite = 310,
    /// The loading desk's user-ID registry failed (the message names the file).
    Registry = 311,
    /// Mutual authentication failed (wrong keys, or a card that is not the
    /// one the profile describes).
    AuthFailed = 400,
    /// Secure messaging failed (a MAC did not verify, a malformed protected
    /// response); no data of the response are returned.
    SecureMessaging = 401,
    /// A cryptographic primitive rejected its input.
    Crypto = 402,
    /// The AP needs mutual authentication and neither the profile nor the
    /// caller supplied keys.
    NoKeys = 403,
    /// The card refused the PIN; the message gives the tries left.
    WrongPin = 410,
    /// The PIN is blocked (no try left): only the issuer can reset it.
    PinBlocked = 411,
    /// The PIN breaks the card's rule (length, characters); nothing was sent.
    MalformedPin = 412,
    /// Refused before sending: the tries left are at or below the PIN floor
    /// (`cardap_context_set_pin_floor`).
    PinFloor = 413,
    /// A digest or signature check of data read from the card failed.
    VerificationFailed = 414,
    /// Data read from the AP are malformed.
    Malformed = 500,
    /// The user ID read from the AP is not valid.
    InvalidUserId = 501,
    /// A TLV structure is malformed.
    Tlv = 502,
    /// An APDU could not be built or parsed.
    Apdu = 503,
    /// A profile is invalid (the message names the file, key and problem).
    ProfileInvalid = 600,
    /// A profile file could not be read.
    ProfileIo = 601,
    /// A virtual card description is invalid.
    CardDescriptionInvalid = 700,
    /// A virtual card description file could not be read.
    CardDescriptionIo = 701,
    /// The registry's store failed: the SQLite file cannot be opened or
    /// written, the PostgreSQL server cannot be reached or refused.
    RegistryStore = 800,
    /// A feed file was refused (malformed rows, a bad header); nothing was
    /// imported. The last error lists every bad line.
    FeedInvalid = 801,
    /// A feed file could not be read.
    FeedIo = 802,
    /// This user ID is already registered for this AP.
    MemberExists = 803,
    /// An error of a kind this version of the C ABI does not name yet.
    Unknown = 999,
}

/// Every code with its text, in value order (a test checks the order and
/// that every variant is listed once).
const CODES: [(cardap_result, &CStr); 48] = {
    use cardap_result as R;
    [
        (R::Ok, c"success"),
        (R::NullParameter, c"a required pointer argument is NULL"),
        (R::InvalidArgument, c"an argument is not valid"),
        (R::TooLong, c"a length is over the limit"),
        (R::InvalidHandle, c"not a valid handle of this type"),
        (R::Panic, c"internal error (a panic was caught)"),
        (R::OutOfRange, c"index out of range"),
        (R::NotFound, c"not found"),
        (R::Unsupported, c"not supported by this build"),
        (R::Busy, c"the context is in use by another thread"),
        (R::CardRemoved, c"card removed"),
        (R::CardReset, c"card reset"),
        (R::NoCard, c"no card in the reader"),
        (R::ReaderUnavailable, c"reader not available"),
        (R::ServiceUnavailable, c"smart-card service unavailable"),
        (R::Cancelled, c"cancelled"),
        (R::Timeout, c"timed out"),
        (R::NotCarried, c"the reader could not carry the command"),
        (R::ReplayMismatch, c"replay mismatch"),
        (R::Interrupted, c"the exchange was interrupted"),
        (R::TransportFailure, c"transport failure"),
        (
            R::CardStatus,
            c"the card answered with an error status word",
        ),
        (R::ApNotFound, c"the AP is not on the card"),
        (R::ExtendedRejected, c"extended-length APDU rejected"),
        (R::InvalidWrite, c"invalid write or install request"),
        (R::Registry, c"user-ID registry failure"),
        (R::AuthFailed, c"mutual authentication failed"),
        (R::SecureMessaging, c"secure messaging failed"),
        (R::Crypto, c"cryptographic failure"),
        (R::NoKeys, c"no keys for this AP"),
        (R::WrongPin, c"wrong PIN"),
        (R::PinBlocked, c"PIN blocked"),
        (R::MalformedPin, c"malformed PIN"),
        (R::PinFloor, c"PIN tries at or below the safety floor"),
        (R::VerificationFailed, c"verification failed"),
        (R::Malformed, c"malformed data"),
        (R::InvalidUserId, c"invalid user ID"),
        (R::Tlv, c"malformed TLV"),
        (R::Apdu, c"invalid APDU"),
        (R::ProfileInvalid, c"invalid profile"),
        (R::ProfileIo, c"cannot read the profile"),
        (
            R::CardDescriptionInvalid,
            c"invalid virtual card description",
        ),
        (
            R::CardDescriptionIo,
            c"cannot read the virtual card description",
        ),
        (R::RegistryStore, c"registry store failure"),
        (R::FeedInvalid, c"feed file refused"),
        (R::FeedIo, c"cannot read the feed file"),
        (R::MemberExists, c"already registered"),
        (R::Unknown, c"unknown error"),
    ]
};

impl cardap_result {
    /// The code for a raw value, if this version knows it.
    pub(crate) fn from_u32(value: u32) -> Option<Self> {
        CODES
            .iter()
            .find(|(c, _)| *c as u32 == value)
            .map(|(c, _)| *c)
    }

    fn text(self) -> &'static CStr {
        CODES
            .iter()
            .find(|(c, _)| *c == self)
            .map_or(c"unknown error", |(_, t)| t)
    }

    /// Every code this version knows.
    #[cfg(all(test, feature = "virtual-card"))]
    pub(crate) fn all() -> Vec<Self> {
        CODES.iter().map(|(c, _)| *c).collect()
    }
}

/// A failed call: its code and a message for people (no key material: the
/// core's errors never hold any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: cardap_result,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: cardap_result, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<&cardap_core::Error> for Failure {
    fn from(e: &cardap_core::Error) -> Self {
        Self::new(error_code(e), e.to_string())
    }
}

impl From<cardap_core::Error> for Failure {
    fn from(e: cardap_core::Error) -> Self {
        Self::from(&e)
    }
}

impl From<ProfileError> for Failure {
    fn from(e: ProfileError) -> Self {
        Self::new(profile_code(&e), e.to_string())
    }
}

impl From<TransportError> for Failure {
    fn from(e: TransportError) -> Self {
        Self::new(transport_code(&e), e.to_string())
    }
}

/// The code of a core error.
pub(crate) fn error_code(e: &cardap_core::Error) -> cardap_result {
    use cardap_core::Error as E;
    use cardap_result as R;
    match e {
        E::Apdu(_) => R::Apdu,
        E::Transport(t) => transport_code(t),
        E::Status { .. } => R::CardStatus,
        E::ApNotFound { .. } => R::ApNotFound,
        E::Auth(_) => R::AuthFailed,
        E::SecureMessaging(_) => R::SecureMessaging,
        E::Crypto(_) => R::Crypto,
        E::NoKeys { .. } => R::NoKeys,
        E::ExtendedRejected => R::ExtendedRejected,
        E::Malformed { .. } => R::Malformed,
        E::UserId { .. } => R::InvalidUserId,
        E::Profile(p) => profile_code(p),
        E::Tlv(_) => R::Tlv,
        E::Request { .. } => R::InvalidWrite,
        E::Registry { .. } => R::Registry,
        E::Pin(p) => pin_code(p),
        E::Verification { .. } => R::VerificationFailed,
        _ => R::Unknown,
    }
}

fn pin_code(e: &cardap_core::public::PinError) -> cardap_result {
    use cardap_core::public::PinError as P;
    match e {
        P::WrongPin { .. } => cardap_result::WrongPin,
        P::Blocked { .. } => cardap_result::PinBlocked,
        P::Malformed { .. } => cardap_result::MalformedPin,
        P::Floor { .. } => cardap_result::PinFloor,
        _ => cardap_result::Unknown,
    }
}

fn transport_code(e: &TransportError) -> cardap_result {
    use TransportError as T;
    use cardap_result as R;
    match e {
        T::CardRemoved => R::CardRemoved,
        T::CardReset => R::CardReset,
        T::NoCard => R::NoCard,
        T::ReaderUnavailable(_) => R::ReaderUnavailable,
        T::ServiceUnavailable(_) => R::ServiceUnavailable,
        T::Cancelled => R::Cancelled,
        T::Timeout => R::Timeout,
        T::NotCarried(_) => R::NotCarried,
        T::Replay { .. } => R::ReplayMismatch,
        T::Interrupted(_) => R::Interrupted,
        _ => R::TransportFailure,
    }
}

fn profile_code(e: &ProfileError) -> cardap_result {
    match e {
        ProfileError::Io { .. } => cardap_result::ProfileIo,
        _ => cardap_result::ProfileInvalid,
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Option<Text>> = const { RefCell::new(None) };
}

/// Records the message of a failure as this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    // During thread teardown the slot may be gone: the message is then lost,
    // which is harmless.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(Text::new(message));
        }
    });
}

/// Writes a static text to a pair of out-parameters.
///
/// # Safety
/// `out_text` and `out_len` are NULL or valid for writes.
unsafe fn write_static(
    s: &'static CStr,
    out_text: *mut *const c_char,
    out_len: *mut usize,
) -> Result<(), crate::result::Failure> {
    // SAFETY: the caller passes pointers that are NULL or valid for writes.
    unsafe { write_buffer(s.as_ptr(), s.to_bytes().len(), out_text, out_len) }
}

/// A short English text for a result code: `*out_text` receives a static,
/// NUL-terminated string (valid for the life of the program) and `*out_len`
/// its length. A code this version does not know gives "unknown error".
///
/// Thread safety: may be called from any thread at any time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_result_text(
    code: u32,
    out_text: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("result text", || {
        let text = cardap_result::from_u32(code).map_or(c"unknown error", cardap_result::text);
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_static(text, out_text, out_len) }
    })
}

/// The detailed message of the last failed call made on this thread (of any
/// `cardap_` function): for instance `kiosk.toml: auth.k_enc: 15 bytes; suite
/// aes128 needs 16`. `*out_text` is NUL-terminated and stays valid until the
/// next failing call on this thread; it is empty when no call failed yet.
/// Messages never hold key material.
///
/// Thread safety: may be called from any thread; each thread has its own
/// last error.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_last_error(
    out_text: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    guard("last error", || {
        let (ptr, len) = LAST_ERROR
            .try_with(|slot| {
                slot.try_borrow()
                    .ok()
                    .and_then(|s| s.as_ref().map(|m| (m.as_ptr(), m.len())))
            })
            .ok()
            .flatten()
            .unwrap_or((c"".as_ptr(), 0));
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_buffer(ptr, len, out_text, out_len) }
    })
}

/// The library's version (the Cargo version, as `CARDAP_VERSION` in the
/// header): a static, NUL-terminated string.
///
/// Thread safety: may be called from any thread at any time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_version(
    out_text: *mut *const c_char,
    out_len: *mut usize,
) -> cardap_result {
    const VERSION: &CStr = {
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        }
    };
    guard("version", || {
        // SAFETY: the caller passes NULL or writable out-parameters.
        unsafe { write_static(VERSION, out_text, out_len) }
    })
}

/// The text of a code, for Rust tests.
#[cfg(all(test, feature = "virtual-card"))]
pub(crate) fn text_of(code: cardap_result) -> &'static str {
    code.text().to_str().unwrap_or_default()
}
