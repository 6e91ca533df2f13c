//! The card's own cryptographic primitives (PROFILE.md §7), built from the
//! RustCrypto crates independently of the host's: CBC with a given IV, the
//! suite's 8-byte MAC, the ICAO key derivation, ISO/IEC 9797-1 padding
//! method 2. Public for the tests of the terminal side, not an API.

use aes::{Aes128, Aes256};
use cardap::Suite;
use cipher::{
    BlockDecrypt, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit,
    block_padding::NoPadding, generic_array::GenericArray,
};
use cmac::{Cmac, Mac};
use des::{Des, TdesEde2};
use sha1::{Digest, Sha1};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A primitive refused its input (a key, IV or data length); carries no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cryptographic input of the wrong length or padding")]
pub struct CryptoError;

/// Key material of the card: zeroized on drop, redacted in `Debug`, compared
/// in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// Wraps key bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// Parses hex (spaces allowed); `None` if it is not hex. Never echoes it.
    pub fn from_hex(text: &str) -> Option<Self> {
        let cleaned: Zeroizing<String> =
            Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
        let mut out = Zeroizing::new(vec![0u8; cleaned.len() / 2]);
        hex::decode_to_slice(cleaned.as_bytes(), out.as_mut_slice()).ok()?;
        Some(Self(std::mem::take(&mut *out)))
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl Eq for SecretKey {}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({} bytes, REDACTED)", self.0.len())
    }
}

fn check(suite: Suite, key: &[u8], iv: &[u8], data: &[u8]) -> Result<(), CryptoError> {
    let block = suite.block_size();
    if key.len() != suite.key_len() || iv.len() != block || !data.len().is_multiple_of(block) {
        return Err(CryptoError);
    }
    Ok(())
}

/// Appends padding method 2 (`80 00 …`) up to a multiple of `block`.
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + block);
    out.extend_from_slice(data);
    out.push(0x80);
    while !out.len().is_multiple_of(block) {
        out.push(0);
    }
    out
}

/// Removes padding method 2.
pub fn unpad(data: &[u8]) -> Result<&[u8], CryptoError> {
    let end = data.iter().rposition(|&b| b != 0).ok_or(CryptoError)?;
    match data.get(end) {
        Some(0x80) => data.get(..end).ok_or(CryptoError),
        _ => Err(CryptoError),
    }
}

/// CBC encryption of whole blocks.
pub fn encrypt_cbc(
    suite: Suite,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check(suite, key, iv, data)?;
    Ok(match suite {
        Suite::TripleDes => cbc::Encryptor::<TdesEde2>::new_from_slices(key, iv)
            .map_err(|_| CryptoError)?
            .encrypt_padded_vec_mut::<NoPadding>(data),
        Suite::Aes128 => cbc::Encryptor::<Aes128>::new_from_slices(key, iv)
            .map_err(|_| CryptoError)?
            .encrypt_padded_vec_mut::<NoPadding>(data),
        Suite::Aes256 => cbc::Encryptor::<Aes256>::new_from_slices(key, iv)
            .map_err(|_| CryptoError)?
            .encrypt_padded_vec_mut::<NoPadding>(data),
    })
}

/// CBC decryption of whole blocks (padding left in place).
pub fn decrypt_cbc(
    suite: Suite,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check(suite, key, iv, data)?;
    let out = match suite {
        Suite::TripleDes => cbc::Decryptor::<TdesEde2>::new_from_slices(key, iv)
            .map_err(|_| CryptoError)?
            .decrypt_padded_vec_mut::<NoPadding>(data),
        Suite::Aes128 => cbc::Decryptor::<Aes128>::new_from_slices(key, iv)
            .map_err(|_| CryptoError)?
            .decrypt_padded_vec_mut::<NoPadding>(data),
        Suite::Aes256 => cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
            .map_err(|_| CryptoError)?
            .decrypt_padded_vec_mut::<NoPadding>(data),
    };
    out.map_err(|_| CryptoError)
}

/// One block encrypted alone (the AES secure-messaging IV `E(KS_enc, SSC)`).
pub fn encrypt_block(suite: Suite, key: &[u8], block: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if block.len() != suite.block_size() {
        return Err(CryptoError);
    }
    encrypt_cbc(suite, key, &vec![0; suite.block_size()], block)
}

/// The suite's 8-byte MAC over padded `data`: ISO/IEC 9797-1 MAC algorithm 3
/// (single DES chain, 3DES last block) for `3des`, AES-CMAC cut to 8 bytes.
pub fn mac(suite: Suite, key: &[u8], data: &[u8]) -> Result<[u8; 8], CryptoError> {
    let block = suite.block_size();
    if key.len() != suite.key_len() || data.is_empty() || !data.len().is_multiple_of(block) {
        return Err(CryptoError);
    }
    let mut out = [0u8; 8];
    let tag = match suite {
        Suite::TripleDes => {
            let (k1, k2) = key.split_at_checked(8).ok_or(CryptoError)?;
            let first = Des::new_from_slice(k1).map_err(|_| CryptoError)?;
            let second = Des::new_from_slice(k2).map_err(|_| CryptoError)?;
            let mut chain = GenericArray::from([0u8; 8]);
            for piece in data.chunks_exact(8) {
                chain.iter_mut().zip(piece).for_each(|(c, p)| *c ^= p);
                first.encrypt_block(&mut chain);
            }
            second.decrypt_block(&mut chain);
            first.encrypt_block(&mut chain);
            let tag = chain.to_vec();
            chain.zeroize();
            tag
        }
        Suite::Aes128 => {
            let mut m = <Cmac<Aes128> as Mac>::new_from_slice(key).map_err(|_| CryptoError)?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        Suite::Aes256 => {
            let mut m = <Cmac<Aes256> as Mac>::new_from_slice(key).map_err(|_| CryptoError)?;
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    };
    out.copy_from_slice(tag.get(..8).ok_or(CryptoError)?);
    Ok(out)
}

/// ICAO 9303 Part 11 §9.7.1: `H(seed ‖ counter)` cut to the key length, DES
/// parity adjusted for `3des` (SHA-1 for `3des` and `aes128`, SHA-256 for
/// `aes256`).
pub fn kdf(suite: Suite, seed: &[u8], counter: u32) -> SecretKey {
    let mut input = Zeroizing::new(seed.to_vec());
    input.extend_from_slice(&counter.to_be_bytes());
    let mut key: Vec<u8> = match suite {
        Suite::Aes256 => Sha256::digest(input.as_slice()).to_vec(),
        _ => Sha1::digest(input.as_slice())
            .get(..16)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
    };
    if suite == Suite::TripleDes {
        for b in &mut key {
            let high = *b & 0xFE;
            *b = if high.count_ones() % 2 == 0 {
                high | 1
            } else {
                high
            };
        }
    }
    SecretKey(key)
}

/// Constant-time equality.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Increments a big-endian counter in place.
pub fn increment(counter: &mut [u8]) {
    for b in counter.iter_mut().rev() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
}
