//! The top-level error: one variant per layer, each wrapping that layer's own
//! typed error, plus the few cases a caller branches on directly. Every error
//! type a caller may match on is re-exported here.

pub use crate::apdu::ApduError;
pub use crate::auth::AuthError;
pub use crate::crypto::CryptoError;
pub use crate::profile::ProfileError;
pub use crate::sm::SmError;
use crate::status::StatusWord;
pub use crate::tlv::TlvError;
pub use crate::trace::TraceError;
pub use crate::transport::TransportError;
pub use crate::userid::UserIdError;

/// Everything that can go wrong while talking to a card AP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An APDU could not be built or parsed.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// The transport failed (reader gone, card removed, …). A removed or reset
    /// card has lost every security state.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The card answered a command with an error status word.
    #[error("{command} failed: card answered {sw}")]
    Status {
        /// The command that failed (e.g. `SELECT`).
        command: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// The AP needs mutual authentication, and neither the profile nor the
    /// caller supplied keys (pass a [`KeyProvider`](crate::KeyProvider)).
    #[error("AP {ap}: no keys for this AP (the profile holds none and no key provider was given)")]
    NoKeys {
        /// The AP (profile name).
        ap: String,
    },
    /// The AP to read is not on the card (`6A 82` to SELECT).
    #[error("AP {aid} is not on the card")]
    ApNotFound {
        /// The AID, hex.
        aid: String,
    },
    /// Mutual authentication failed.
    #[error("mutual authentication failed: {0}")]
    Auth(#[from] AuthError),
    /// Secure messaging failed; the channel is closed and no data of the
    /// response are returned.
    #[error("secure messaging failed: {0}")]
    SecureMessaging(#[from] SmError),
    /// A cryptographic primitive rejected its input.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The card rejected an extended-length APDU (`67 00` or a transport
    /// refusal); the reader retries with short APDUs.
    #[error("the card or reader rejected an extended-length APDU")]
    ExtendedRejected,
    /// Data read from the AP are malformed.
    #[error("AP {ap}: malformed data: {problem}")]
    Malformed {
        /// The AP (profile name or AID).
        ap: String,
        /// What is wrong.
        problem: String,
    },
    /// The user ID read from the AP is not valid (PROFILE.md §3).
    #[error("AP {ap}: invalid user ID: {problem}")]
    UserId {
        /// The AP (profile name or AID).
        ap: String,
        /// What is wrong.
        problem: UserIdError,
    },
    /// A profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A write or an install asks for something the profile or PROFILE.md
    /// does not allow (checked before anything is sent).
    #[error("invalid request: {problem}")]
    Request {
        /// What is wrong (never the values to write).
        problem: String,
    },
    /// The loading desk's user-ID registry failed.
    #[error("{problem}")]
    Registry {
        /// What failed, naming the registry file.
        problem: String,
    },
    /// A TLV structure is malformed.
    #[error(transparent)]
    Tlv(#[from] TlvError),
}

impl Error {
    /// Whether the error means the card lost its security state (removal,
    /// reset), so the next operation must start again from SELECT.
    pub fn card_state_lost(&self) -> bool {
        matches!(self, Self::Transport(t) if t.loses_card_state())
    }
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
