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

// ---- TEMPORARY STUBS (replaced by the sm-auth branch) ----
use crate::apdu::{Command, Response};
use crate::crypto::{SecretKey, Suite};
use crate::sm::{SecureChannel, SmMode};

/// Key provider.
pub trait KeyProvider {
    /// Suite.
    fn suite(&self) -> Suite;
}
/// Static keys.
pub struct StaticKeys;
impl StaticKeys {
    /// New.
    pub fn new(_s: Suite, _e: SecretKey, _m: SecretKey) -> Result<Self, AuthError> {
        Ok(Self)
    }
}
impl KeyProvider for StaticKeys {
    fn suite(&self) -> Suite {
        Suite::Aes128
    }
}
/// Random.
pub trait Random {
    /// Fill.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), AuthError>;
}
/// OS random.
pub struct OsRandom;
impl Random for OsRandom {
    fn fill(&mut self, _buf: &mut [u8]) -> Result<(), AuthError> {
        Ok(())
    }
}
/// Pending.
pub struct Pending;
/// GC.
pub fn get_challenge_command() -> Command {
    Command::header(0, 0x84, 0, 0)
}
/// Begin.
pub fn begin(
    _k: &dyn KeyProvider,
    _r: &[u8],
    _g: &mut dyn Random,
) -> Result<(Command, Pending), AuthError> {
    Err(AuthError::Random)
}
/// Finish.
pub fn finish(
    _k: &dyn KeyProvider,
    _p: Pending,
    _r: &Response,
    _m: SmMode,
) -> Result<SecureChannel, AuthError> {
    Err(AuthError::Random)
}
