//! Cryptographic primitives of the cipher suites in PROFILE.md §7, built from
//! RustCrypto block ciphers and modes: CBC encryption with a given IV, the
//! 8-byte MAC of each suite, the ICAO key derivation, and ISO/IEC 9797-1
//! padding method 2. Nothing here is protocol: `auth` and `sm` (and the
//! virtual card) compose these.

use crate::des::{DesKey, des, tdes, tdes_n, word};
use aes::{Aes128, Aes256};
use cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use cmac::{Cmac, Mac};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use std::sync::OnceLock;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A cipher suite of PROFILE.md §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Suite {
    /// Two-key 3DES-CBC, ISO/IEC 9797-1 MAC algorithm 3, SHA-1 KDF.
    ///
    /// **Not constant time.** The DES implementation (RustCrypto `des`)
    /// looks up S-boxes in tables indexed by key-dependent values, so an
    /// attacker who can time or share the cache of the host (another process
    /// or VM on the same core) may learn key bits. Use it only for cards
    /// that offer nothing else, on a host no one else runs code on; prefer
    /// `aes128` or `aes256` (AES uses constant-time bitsliced code on CPUs
    /// without AES-NI, and AES-NI where present).
    #[serde(rename = "3des")]
    TripleDes,
    /// AES-128-CBC, AES-CMAC/8, SHA-1 KDF.
    #[serde(rename = "aes128")]
    Aes128,
    /// AES-256-CBC, AES-CMAC/8, SHA-256 KDF.
    #[serde(rename = "aes256")]
    Aes256,
}

impl Suite {
    /// The suite's profile name (`3des`, `aes128`, `aes256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::TripleDes => "3des",
            Self::Aes128 => "aes128",
            Self::Aes256 => "aes256",
        }
    }

    /// Parses a profile name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "3des" => Some(Self::TripleDes),
            "aes128" => Some(Self::Aes128),
            "aes256" => Some(Self::Aes256),
            _ => None,
        }
    }

    /// Cipher block size in bytes (8 or 16).
    pub fn block_size(self) -> usize {
        match self {
            Self::TripleDes => 8,
            Self::Aes128 | Self::Aes256 => 16,
        }
    }

    /// Key length in bytes (16, 16, 32).
    pub fn key_len(self) -> usize {
        match self {
            Self::TripleDes | Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    /// Length of the send sequence counter (8 or 16).
    pub fn ssc_len(self) -> usize {
        self.block_size()
    }
}

impl std::fmt::Display for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of the primitives: wrong key or data lengths. Never carries key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key of the wrong length for the suite.
    #[error("{suite} needs a {expected}-byte key, got {got} bytes")]
    KeyLength {
        /// The suite.
        suite: Suite,
        /// Length needed.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// Data that are not a whole number of cipher blocks.
    #[error("data of {len} bytes are not a multiple of the {block}-byte block")]
    NotBlockAligned {
        /// Data length.
        len: usize,
        /// Block size.
        block: usize,
    },
    /// An IV of the wrong length.
    #[error("IV of {0} bytes does not match the block size")]
    IvLength(usize),
    /// Padding method 2 not found where it must be.
    #[error("bad ISO/IEC 9797-1 method 2 padding")]
    BadPadding,
}

/// Key material: zeroized on drop, redacted in `Debug`, compared in constant
/// time.
///
/// A key used with the `3des` suite keeps its two DES key schedules once
/// built (zeroized on drop too), so that a session computes them once per
/// key rather than once per block operation.
pub struct SecretKey {
    bytes: Vec<u8>,
    des: OnceLock<Box<[DesKey; 2]>>,
}

impl Clone for SecretKey {
    /// A copy of the bytes, and of the DES key schedules when they were built.
    fn clone(&self) -> Self {
        let copy = Self::from_vec(self.bytes.clone());
        if let Some(schedules) = self.des.get() {
            // Just created, so the cell is empty and `set` cannot fail.
            let _ = copy.des.set(schedules.clone());
        }
        copy
    }
}

impl Zeroize for SecretKey {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        // Dropping the schedules zeroizes them.
        self.des.take();
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretKey {}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.bytes, &other.bytes)
    }
}

impl Eq for SecretKey {}

impl SecretKey {
    fn from_vec(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            des: OnceLock::new(),
        }
    }

    /// Wraps key bytes (the caller's copy should be zeroized by the caller).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self::from_vec(bytes.into())
    }

    /// Parses a hex string (spaces allowed). The error never echoes the input.
    pub fn from_hex(text: &str) -> Option<Self> {
        let cleaned: Zeroizing<String> =
            Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
        // Decode into a buffer that is wiped whatever happens, so that a key
        // with a typo leaves no partial copy behind.
        let mut out = Zeroizing::new(vec![0u8; cleaned.len() / 2]);
        hex::decode_to_slice(cleaned.as_bytes(), out.as_mut_slice()).ok()?;
        Some(Self::from_vec(std::mem::take(&mut *out)))
    }

    /// The key bytes. Handle with care.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Builds what using the key with `suite` needs once per key (the DES
    /// key schedules for `3des`), so that copies made afterwards share it.
    pub(crate) fn prepare(&self, suite: Suite) {
        if suite == Suite::TripleDes && self.bytes.len() == suite.key_len() {
            self.des_keys();
        }
    }

    /// The DES key schedules of K1 and K2 of a 16-byte two-key 3DES key,
    /// built on first use (the length is checked before).
    fn des_keys(&self) -> &[DesKey; 2] {
        self.des.get_or_init(|| {
            let mut k1 = [0u8; 8];
            let mut k2 = [0u8; 8];
            k1.copy_from_slice(self.bytes.get(..8).unwrap_or(&[0; 8]));
            k2.copy_from_slice(self.bytes.get(8..16).unwrap_or(&[0; 8]));
            let keys = Box::new([DesKey::new(&k1), DesKey::new(&k2)]);
            k1.zeroize();
            k2.zeroize();
            keys
        })
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({} bytes, REDACTED)", self.bytes.len())
    }
}

fn check_key(suite: Suite, key: &[u8]) -> Result<(), CryptoError> {
    if key.len() == suite.key_len() {
        Ok(())
    } else {
        Err(CryptoError::KeyLength {
            suite,
            expected: suite.key_len(),
            got: key.len(),
        })
    }
}

fn check_blocks(suite: Suite, data: &[u8], iv: &[u8]) -> Result<(), CryptoError> {
    let block = suite.block_size();
    if !data.len().is_multiple_of(block) {
        return Err(CryptoError::NotBlockAligned {
            len: data.len(),
            block,
        });
    }
    if iv.len() != block {
        return Err(CryptoError::IvLength(iv.len()));
    }
    Ok(())
}

// The RustCrypto constructors only fail on lengths, which are checked before.
fn invalid_len(suite: Suite, key: &[u8]) -> CryptoError {
    CryptoError::KeyLength {
        suite,
        expected: suite.key_len(),
        got: key.len(),
    }
}

/// Appends ISO/IEC 9797-1 padding method 2 (`80 00 …`) up to `block`.
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + block);
    out.extend_from_slice(data);
    out.push(0x80);
    while out.len() % block != 0 {
        out.push(0);
    }
    out
}

/// Removes padding method 2: trailing zeros, then one `80`.
pub fn unpad(data: &[u8]) -> Result<&[u8], CryptoError> {
    let end = data
        .iter()
        .rposition(|&b| b != 0)
        .ok_or(CryptoError::BadPadding)?;
    match data.get(end) {
        Some(0x80) => Ok(data.get(..end).unwrap_or_default()),
        _ => Err(CryptoError::BadPadding),
    }
}

/// Two-key 3DES in CBC mode over whole blocks (lengths checked before).
/// Decryption takes four blocks at a time: unlike encryption, its blocks do
/// not depend on each other.
fn tdes_cbc(key: &SecretKey, iv: &[u8], data: &[u8], decrypt: bool) -> Vec<u8> {
    let [k1, k2] = key.des_keys();
    let mut chain = word(iv);
    let mut out = Vec::with_capacity(data.len());
    if decrypt {
        const LANES: usize = 4;
        let mut groups = data.chunks_exact(8 * LANES);
        for group in groups.by_ref() {
            let mut input = [0u64; LANES];
            for (word_in, chunk) in input.iter_mut().zip(group.chunks_exact(8)) {
                *word_in = word(chunk);
            }
            let plain = tdes_n(k1, k2, input, true);
            for (p, c) in plain.iter().zip(input) {
                out.extend_from_slice(&(p ^ chain).to_be_bytes());
                chain = c;
            }
        }
        for chunk in groups.remainder().chunks_exact(8) {
            let input = word(chunk);
            out.extend_from_slice(&(tdes(k1, k2, input, true) ^ chain).to_be_bytes());
            chain = input;
        }
    } else {
        for chunk in data.chunks_exact(8) {
            chain = tdes(k1, k2, word(chunk) ^ chain, false);
            out.extend_from_slice(&chain.to_be_bytes());
        }
    }
    chain.zeroize();
    out
}

/// CBC encryption without padding (`data` a whole number of blocks).
pub fn encrypt_cbc(
    suite: Suite,
    key: &SecretKey,
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let raw = key.expose();
    check_key(suite, raw)?;
    check_blocks(suite, data, iv)?;
    let out = match suite {
        Suite::TripleDes => tdes_cbc(key, iv, data, false),
        Suite::Aes128 => cbc::Encryptor::<Aes128>::new_from_slices(raw, iv)
            .map_err(|_| invalid_len(suite, raw))?
            .encrypt_padded_vec_mut::<NoPadding>(data),
        Suite::Aes256 => cbc::Encryptor::<Aes256>::new_from_slices(raw, iv)
            .map_err(|_| invalid_len(suite, raw))?
            .encrypt_padded_vec_mut::<NoPadding>(data),
    };
    Ok(out)
}

/// CBC decryption without padding removal.
pub fn decrypt_cbc(
    suite: Suite,
    key: &SecretKey,
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let raw = key.expose();
    check_key(suite, raw)?;
    check_blocks(suite, data, iv)?;
    let out = match suite {
        Suite::TripleDes => Ok(tdes_cbc(key, iv, data, true)),
        Suite::Aes128 => cbc::Decryptor::<Aes128>::new_from_slices(raw, iv)
            .map_err(|_| invalid_len(suite, raw))?
            .decrypt_padded_vec_mut::<NoPadding>(data),
        Suite::Aes256 => cbc::Decryptor::<Aes256>::new_from_slices(raw, iv)
            .map_err(|_| invalid_len(suite, raw))?
            .decrypt_padded_vec_mut::<NoPadding>(data),
    };
    out.map_err(|_| CryptoError::BadPadding)
}

/// CBC decryption of `data` (whole blocks, no padding removed) and the
/// suite's MAC over `mac_input` (already padded), as [`decrypt_cbc`] and
/// [`mac`] give them. With `3des` the two run interleaved in one pass
/// ([`crate::des::tdes_cbc_decrypt_with_mac`]); with AES one after the
/// other. The plaintext comes back before anyone has checked the MAC: the
/// caller compares the MAC first and drops the plaintext unread when it
/// does not match.
pub fn decrypt_cbc_with_mac(
    suite: Suite,
    key: &SecretKey,
    iv: &[u8],
    data: &[u8],
    mac_key: &SecretKey,
    mac_input: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, [u8; 8]), CryptoError> {
    match suite {
        Suite::TripleDes => {
            check_key(suite, key.expose())?;
            check_key(suite, mac_key.expose())?;
            check_blocks(suite, data, iv)?;
            if !mac_input.len().is_multiple_of(8) || mac_input.is_empty() {
                return Err(CryptoError::NotBlockAligned {
                    len: mac_input.len(),
                    block: 8,
                });
            }
            let [k1, k2] = key.des_keys();
            let [m1, m2] = mac_key.des_keys();
            let mut out = Zeroizing::new(Vec::with_capacity(data.len()));
            let tag = crate::des::tdes_cbc_decrypt_with_mac(
                [k1, k2],
                word(iv),
                data,
                [m1, m2],
                mac_input,
                &mut out,
            );
            Ok((out, tag))
        }
        Suite::Aes128 | Suite::Aes256 => {
            let tag = mac(suite, mac_key, mac_input)?;
            Ok((Zeroizing::new(decrypt_cbc(suite, key, iv, data)?), tag))
        }
    }
}

/// Encrypts one block in ECB (the AES secure-messaging IV is `E(KS_enc, SSC)`).
pub fn encrypt_block(suite: Suite, key: &SecretKey, block: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let zero = vec![0u8; suite.block_size()];
    if block.len() != suite.block_size() {
        return Err(CryptoError::NotBlockAligned {
            len: block.len(),
            block: suite.block_size(),
        });
    }
    encrypt_cbc(suite, key, &zero, block)
}

/// The suite's 8-byte MAC over `data`, which must already be padded (method 2)
/// to the block size: ISO/IEC 9797-1 MAC algorithm 3 with DES for `3des`,
/// AES-CMAC truncated to 8 bytes for AES.
pub fn mac(suite: Suite, key: &SecretKey, data: &[u8]) -> Result<[u8; 8], CryptoError> {
    let raw = key.expose();
    check_key(suite, raw)?;
    let block = suite.block_size();
    if !data.len().is_multiple_of(block) || data.is_empty() {
        return Err(CryptoError::NotBlockAligned {
            len: data.len(),
            block,
        });
    }
    let mut out = [0u8; 8];
    match suite {
        Suite::TripleDes => {
            let [k1, k2] = key.des_keys();
            let mut state = 0u64;
            for chunk in data.chunks_exact(8) {
                state = des(k1, state ^ word(chunk), false);
            }
            state = des(k1, des(k2, state, true), false);
            out = state.to_be_bytes();
            state.zeroize();
        }
        Suite::Aes128 => {
            let mut m =
                <Cmac<Aes128> as Mac>::new_from_slice(raw).map_err(|_| invalid_len(suite, raw))?;
            m.update(data);
            let tag = m.finalize().into_bytes();
            out.copy_from_slice(tag.get(..8).unwrap_or(&[0; 8]));
        }
        Suite::Aes256 => {
            let mut m =
                <Cmac<Aes256> as Mac>::new_from_slice(raw).map_err(|_| invalid_len(suite, raw))?;
            m.update(data);
            let tag = m.finalize().into_bytes();
            out.copy_from_slice(tag.get(..8).unwrap_or(&[0; 8]));
        }
    }
    Ok(out)
}

/// The full 16-byte AES-CMAC (NIST SP 800-38B), for tests and key checks.
#[cfg(test)]
pub fn aes_cmac(key: &[u8], data: &[u8]) -> Result<[u8; 16], CryptoError> {
    let tag = match key.len() {
        16 => {
            let mut m = <Cmac<Aes128> as Mac>::new_from_slice(key)
                .map_err(|_| invalid_len(Suite::Aes128, key))?;
            m.update(data);
            m.finalize().into_bytes()
        }
        32 => {
            let mut m = <Cmac<Aes256> as Mac>::new_from_slice(key)
                .map_err(|_| invalid_len(Suite::Aes256, key))?;
            m.update(data);
            m.finalize().into_bytes()
        }
        n => {
            return Err(CryptoError::KeyLength {
                suite: Suite::Aes128,
                expected: 16,
                got: n,
            });
        }
    };
    let mut out = [0u8; 16];
    out.copy_from_slice(&tag);
    Ok(out)
}

/// ICAO 9303 Part 11 §9.7.1 key derivation: `H(seed ‖ counter)` cut to the
/// suite's key length; for `3des` the DES parity bits are adjusted.
pub fn kdf(suite: Suite, seed: &[u8], counter: u32) -> SecretKey {
    let mut input = Zeroizing::new(Vec::with_capacity(seed.len() + 4));
    input.extend_from_slice(seed);
    input.extend_from_slice(&counter.to_be_bytes());
    let mut key = match suite {
        Suite::TripleDes | Suite::Aes128 => {
            let mut digest = Sha1::digest(input.as_slice());
            let key = digest.get(..16).unwrap_or_default().to_vec();
            digest.zeroize();
            key
        }
        Suite::Aes256 => {
            let mut digest = Sha256::digest(input.as_slice());
            let key = digest.to_vec();
            digest.zeroize();
            key
        }
    };
    if suite == Suite::TripleDes {
        for b in key.iter_mut() {
            *b = with_odd_parity(*b);
        }
    }
    SecretKey::from_vec(key)
}

/// Sets the low bit of a DES key byte so the byte has odd parity.
pub fn with_odd_parity(b: u8) -> u8 {
    let high = b & 0xFE;
    if high.count_ones().is_multiple_of(2) {
        high | 1
    } else {
        high
    }
}

/// Constant-time equality of two byte strings (MACs, cryptograms).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// How much stack [`scrub_stack`] overwrites: more than one authenticated
/// read uses below the operation's frame (cipher and MAC key schedules, the
/// MAC state, session-key derivation). Unoptimised builds use far bigger
/// frames (measured: above 48 KiB) than optimised ones.
pub const STACK_SCRUB_BYTES: usize = if cfg!(debug_assertions) {
    128 * 1024
} else {
    16 * 1024
};

/// Overwrites the stack below the caller's frame with zeros.
///
/// Cipher and MAC objects (AES round keys start with the key itself, CMAC
/// holds its subkeys) are built on the stack and moved by value; wiping each
/// value on drop (the `zeroize` features of `aes`, `des`, `cmac`) cannot
/// reach the copies left behind by those moves in dead stack frames. An
/// operation that used keys calls this on its way out: every frame its
/// callees used lies in the region overwritten here.
#[inline(never)]
pub fn scrub_stack() {
    // One memset: the zeros must really be written, because the area is
    // handed to an opaque use (`black_box`) that could read all of it.
    // (`zeroize` would write byte by byte, volatile: ten times slower.)
    let area = [0u8; STACK_SCRUB_BYTES];
    std::hint::black_box(&area);
}

/// Increments a big-endian counter in place (the send sequence counter).
pub fn increment(counter: &mut [u8]) {
    for b in counter.iter_mut().rev() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn padding_round_trips() {
        assert_eq!(pad(&[1, 2, 3], 8), h("0102038000000000"));
        assert_eq!(pad(&[0; 8], 8).len(), 16);
        assert_eq!(unpad(&h("0102038000000000")).unwrap(), &[1, 2, 3]);
        assert!(unpad(&h("0102030000000000")).is_err());
        assert!(unpad(&[0, 0]).is_err());
    }

    #[test]
    fn nist_sp800_38b_aes128_cmac() {
        // NIST SP 800-38B, Appendix D.1, examples 1, 2 and 4.
        let k = h("2b7e151628aed2a6abf7158809cf4f3c");
        assert_eq!(
            aes_cmac(&k, &[]).unwrap().to_vec(),
            h("bb1d6929e95937287fa37d129b756746")
        );
        assert_eq!(
            aes_cmac(&k, &h("6bc1bee22e409f96e93d7e117393172a"))
                .unwrap()
                .to_vec(),
            h("070a16b46b4d4144f79bdd9dd04a287c")
        );
        let m64 = h(
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
        );
        assert_eq!(
            aes_cmac(&k, &m64).unwrap().to_vec(),
            h("51f0bebf7e3b9d92fc49741779363cfe")
        );
    }

    #[test]
    fn nist_sp800_38b_aes256_cmac() {
        // NIST SP 800-38B, Appendix D.3, examples 9 and 10.
        let k = h("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        assert_eq!(
            aes_cmac(&k, &[]).unwrap().to_vec(),
            h("028962f61b7bf89efc6b551f4667d983")
        );
        assert_eq!(
            aes_cmac(&k, &h("6bc1bee22e409f96e93d7e117393172a"))
                .unwrap()
                .to_vec(),
            h("28a7023f452e8f82bd4bf28d8c37c35c")
        );
    }

    #[test]
    fn wrong_lengths_are_errors() {
        assert!(matches!(
            mac(Suite::Aes256, &SecretKey::new([0; 16]), &[0; 16]),
            Err(CryptoError::KeyLength { expected: 32, .. })
        ));
        assert!(matches!(
            encrypt_cbc(Suite::TripleDes, &SecretKey::new([0; 16]), &[0; 8], &[0; 7]),
            Err(CryptoError::NotBlockAligned { .. })
        ));
        assert!(mac(Suite::TripleDes, &SecretKey::new([0; 16]), &[]).is_err());
    }

    #[test]
    fn prepared_and_cloned_3des_keys_give_the_same_results() {
        let bytes = h("0123456789ABCDEF FEDCBA9876543210");
        let data = pad(b"cardap", 8);
        let fresh = mac(Suite::TripleDes, &SecretKey::new(bytes.clone()), &data).unwrap();
        let key = SecretKey::new(bytes);
        key.prepare(Suite::TripleDes);
        let copy = key.clone();
        assert!(copy.des.get().is_some(), "the clone shares the schedules");
        assert_eq!(mac(Suite::TripleDes, &key, &data).unwrap(), fresh);
        assert_eq!(mac(Suite::TripleDes, &copy, &data).unwrap(), fresh);
        let iv = [0u8; 8];
        let c = encrypt_cbc(Suite::TripleDes, &copy, &iv, &data).unwrap();
        assert_eq!(decrypt_cbc(Suite::TripleDes, &key, &iv, &c).unwrap(), data);
        let mut gone = copy.clone();
        gone.zeroize();
        assert!(gone.is_empty() && gone.des.get().is_none());
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let k = SecretKey::from_hex("00 11 22 33").unwrap();
        assert_eq!(format!("{k:?}"), "SecretKey(4 bytes, REDACTED)");
    }

    #[test]
    fn counter_carries() {
        let mut c = [0, 0xFF, 0xFF];
        increment(&mut c);
        assert_eq!(c, [1, 0, 0]);
    }
}
