//! The parsers as thin public wrappers, for fuzzing and benchmarks only
//! (feature `fuzzing`). Not part of the API: no stability promise, hidden
//! from the documentation. Every function takes untrusted bytes or text and
//! returns a value or a typed error, never a panic.

use zeroize::Zeroizing;

use crate::ap::{self, DirEntry};
use crate::apdu::{Command, LengthEncoding, Response};
use crate::crypto::{SecretKey, Suite};
use crate::error::{Error, Result};
use crate::profile::{Encoding, Profile};
use crate::record::ApRecord;
use crate::sm::{SecureChannel, SmMode};
use crate::{atr, fields, tlv};

/// Parses a command APDU and encodes it again in the length form it used.
pub fn command_apdu(bytes: &[u8]) -> Result<Vec<u8>> {
    let (command, encoding) = Command::parse(bytes)?;
    Ok(command.to_bytes(encoding)?.to_vec())
}

/// Parses a command APDU; `true` when it used extended length.
pub fn command_apdu_is_extended(bytes: &[u8]) -> Result<bool> {
    Ok(Command::parse(bytes)?.1 == LengthEncoding::Extended)
}

/// Parses a response APDU into its data length and status word.
pub fn response_apdu(bytes: &[u8]) -> Result<(usize, u16)> {
    let response = Response::parse(bytes)?;
    Ok((response.data.len(), response.sw.to_u16()))
}

/// Parses a sequence of BER-TLV objects into their tags and value lengths.
pub fn ber_tlv(bytes: &[u8]) -> Result<Vec<(u32, usize)>> {
    Ok(tlv::parse_ber_all(bytes)?
        .iter()
        .map(|t| (t.tag, t.value.len()))
        .collect())
}

/// Parses one simple-TLV object: its tag, value length and the bytes left.
pub fn simple_tlv(bytes: &[u8]) -> Result<(u32, usize, usize)> {
    let (t, rest) = tlv::parse_simple(bytes)?;
    Ok((t.tag, t.value.len(), rest.len()))
}

/// Whether an ATR announces extended-length APDUs (malformed: `false`).
pub fn atr_supports_extended(bytes: &[u8]) -> bool {
    atr::supports_extended_length(bytes)
}

/// The historical bytes of an ATR, if it is well formed.
pub fn atr_historical_bytes(bytes: &[u8]) -> Option<Vec<u8>> {
    atr::historical_bytes(bytes).map(<[u8]>::to_vec)
}

/// Decodes a field's bytes as `encoding`.
pub fn decode_field(encoding: Encoding, bytes: &[u8]) -> std::result::Result<String, String> {
    fields::decode(encoding, bytes)
}

/// Parses a Type A record stream (`C0 0D uid`, `C1 L v1`, …) for `profile`.
pub fn type_a(profile: &Profile, bytes: &[u8]) -> Result<ApRecord> {
    ap::type_a::parse(profile, bytes)
}

/// Parses a Type C EF for `profile`.
pub fn type_c(profile: &Profile, bytes: &[u8]) -> Result<ApRecord> {
    ap::type_c::parse(profile, bytes)
}

/// Parses a Type D EF (255 bytes) for `profile`.
pub fn type_d(profile: &Profile, bytes: &[u8]) -> Result<ApRecord> {
    ap::type_d::parse(profile, bytes)
}

/// Parses EF.DIR records.
pub fn ef_dir(records: &[Vec<u8>]) -> Result<Vec<DirEntry>> {
    ap::parse_dir(records)
}

/// Parses a profile given as text.
pub fn profile(text: &str) -> Result<Profile> {
    Ok(Profile::from_toml_str(text)?)
}

/// Verifies (and in encrypt mode decrypts) one protected response APDU on a
/// fresh secure channel with the given session keys and initial SSC, and
/// returns the plain response APDU. Bad key or SSC lengths are typed errors.
pub fn sm_unwrap(
    suite: Suite,
    ks_enc: &[u8],
    ks_mac: &[u8],
    ssc: &[u8],
    encrypt: bool,
    response: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let mode = if encrypt {
        SmMode::Encrypt
    } else {
        SmMode::Mac
    };
    let mut channel = SecureChannel::new(
        suite,
        SecretKey::new(ks_enc.to_vec()),
        SecretKey::new(ks_mac.to_vec()),
        ssc.to_vec(),
        mode,
    );
    let response = Response::parse(response)?;
    let plain = channel.unprotect(&response).map_err(Error::from)?;
    Ok(plain.to_bytes())
}

/// A protected command APDU and, when a response was given, its plain form.
pub type WrapUnwrap = (Vec<u8>, Option<Zeroizing<Vec<u8>>>);

/// Protects one plain command APDU on a fresh secure channel with the given
/// session keys and initial SSC (`modes`: encryption mode, extended-length
/// protected APDU), then verifies `response` as the answer to it; returns
/// the protected command and the plain response. For benchmarks of secure
/// messaging both ways.
pub fn sm_wrap_unwrap(
    suite: Suite,
    ks: (&[u8], &[u8]),
    ssc: &[u8],
    modes: (bool, bool),
    command: &[u8],
    response: Option<&[u8]>,
) -> Result<WrapUnwrap> {
    let (encrypt, extended) = modes;
    let mode = if encrypt {
        SmMode::Encrypt
    } else {
        SmMode::Mac
    };
    let mut channel = SecureChannel::new(
        suite,
        SecretKey::new(ks.0.to_vec()),
        SecretKey::new(ks.1.to_vec()),
        ssc.to_vec(),
        mode,
    );
    let (plain, _) = Command::parse(command)?;
    let encoding = if extended {
        LengthEncoding::Extended
    } else {
        LengthEncoding::Short
    };
    let protected = channel
        .protect(&plain, encoding)
        .map_err(Error::from)?
        .to_bytes(encoding)?
        .to_vec();
    let plain_response = match response {
        Some(r) => {
            let r = Response::parse(r)?;
            Some(channel.unprotect(&r).map_err(Error::from)?.to_bytes())
        }
        None => None,
    };
    Ok((protected, plain_response))
}

/// The suite's MAC over `data` (already padded to whole blocks), for
/// benchmarks of the primitive alone: `key`'s cipher state is built on first
/// use and kept, as in a read.
pub fn mac(suite: Suite, key: &SecretKey, data: &[u8]) -> Result<[u8; 8]> {
    Ok(crate::crypto::mac(suite, key, data)?)
}

/// CBC decryption of whole blocks with the suite's cipher, for benchmarks of
/// the primitive alone (no padding removed).
pub fn decrypt_cbc(suite: Suite, key: &SecretKey, iv: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    Ok(crate::crypto::decrypt_cbc(suite, key, iv, data)?)
}

/// CBC decryption and MAC in one call, as secure messaging uses them on a
/// protected response (interleaved for `3des`), for benchmarks: returns the
/// plaintext and the MAC.
pub fn decrypt_cbc_with_mac(
    suite: Suite,
    key: &SecretKey,
    iv: &[u8],
    data: &[u8],
    mac_key: &SecretKey,
    mac_input: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, [u8; 8])> {
    Ok(crate::crypto::decrypt_cbc_with_mac(
        suite, key, iv, data, mac_key, mac_input,
    )?)
}
