//! Secure messaging (PROFILE.md §7, ICAO Doc 9303 Part 11 §9.8).
//!
//! CONTRACT (helper fills in): see the doc comments on each item.

use crate::apdu::{Command, LengthEncoding, Response};
use crate::crypto::{SecretKey, Suite};

/// Which data object carries the payload on this channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmMode {
    /// Type A: response data in plain DO`81`, covered by the MAC.
    Mac,
    /// Type D: data encrypted in DO`87` with padding indicator `01`.
    Encrypt,
}

/// Secure-messaging failures. Any of them ends the channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmError {
    /// The channel was ended by an earlier failure; start again from SELECT.
    #[error("secure channel closed by an earlier failure")]
    Closed,
    /// The response MAC did not verify.
    #[error("response MAC does not verify")]
    BadMac,
    /// A required data object is missing (`what` names it, e.g. "DO8E").
    #[error("secure messaging data object {0} missing")]
    MissingObject(&'static str),
    /// A data object appeared that this channel must not carry (DO87 on a MAC
    /// channel, DO81 on an encryption channel, unknown tags, duplicates).
    #[error("unexpected secure messaging data object {0:02X}")]
    UnexpectedObject(u8),
    /// The SW in DO99 differs from the response's status word.
    #[error("status word in DO99 differs from the response status word")]
    StatusMismatch,
    /// The card answered in the clear inside the channel (its SW is given).
    #[error("unprotected response {0:04X} inside the secure channel")]
    Unprotected(u16),
    /// Malformed data objects, bad padding or a bad padding indicator.
    #[error("malformed secure messaging response: {0}")]
    Malformed(&'static str),
    /// The protected command cannot be encoded.
    #[error("protected command cannot be encoded: {0}")]
    Encoding(String),
}

/// An open secure channel: session keys, send sequence counter, mode.
pub struct SecureChannel {
    #[allow(dead_code)]
    suite: Suite,
    #[allow(dead_code)]
    ks_enc: SecretKey,
    #[allow(dead_code)]
    ks_mac: SecretKey,
    #[allow(dead_code)]
    ssc: Vec<u8>,
    #[allow(dead_code)]
    mode: SmMode,
}

impl SecureChannel {
    /// Opens a channel from derived session keys and the initial SSC.
    pub fn new(
        suite: Suite,
        ks_enc: SecretKey,
        ks_mac: SecretKey,
        ssc: Vec<u8>,
        mode: SmMode,
    ) -> Self {
        Self {
            suite,
            ks_enc,
            ks_mac,
            ssc,
            mode,
        }
    }

    /// Protects a plain command. `encoding` selects the outer length form
    /// (outer `Le` = `00` short or `00 00` extended; DO`97` carries the plain
    /// `Ne` in one byte, `00` = 256).
    pub fn protect(
        &mut self,
        _cmd: &Command,
        _encoding: LengthEncoding,
    ) -> Result<Command, SmError> {
        Err(SmError::Closed)
    }

    /// Verifies (and for [`SmMode::Encrypt`] decrypts) a protected response,
    /// returning the plain response. Any failure closes the channel.
    pub fn unprotect(&mut self, _resp: &Response) -> Result<Response, SmError> {
        Err(SmError::Closed)
    }
}

impl SecureChannel {
    /// STUB.
    pub fn is_open(&self) -> bool {
        false
    }
}
