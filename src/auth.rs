//! Mutual authentication (PROFILE.md §7, ISO/IEC 11770-2 mechanism 6 as ICAO
//! 9303 Part 11 §4.3 profiles it). CONTRACT: helper fills in.

/// Authentication failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The card refused the terminal's cryptogram (`63 00`).
    #[error("the card refused the terminal's authentication cryptogram")]
    Refused,
    /// The card's cryptogram MAC did not verify (constant-time compare).
    #[error("the card's authentication MAC does not verify")]
    BadCardMac,
    /// The card's cryptogram does not echo our RND.IFD / its RND.ICC.
    #[error("the card's authentication cryptogram does not match the challenge")]
    ChallengeMismatch,
    /// A response of the wrong length.
    #[error("malformed authentication response: {0}")]
    Malformed(&'static str),
    /// The key provider failed (message never contains key bytes).
    #[error("key provider failure: {0}")]
    KeyProvider(String),
    /// Randomness unavailable.
    #[error("random number generator failure")]
    Random,
}
