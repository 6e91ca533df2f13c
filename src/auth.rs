//! Mutual authentication (PROFILE.md §7, ISO/IEC 11770-2 mechanism 6 as ICAO
//! 9303 Part 11 §4.3 profiles it for Basic Access Control, with static AP keys
//! `K_enc`, `K_mac` in place of the MRZ-derived keys).
//!
//! The exchange is split in two steps that do not talk to the card; the caller
//! sends the APDUs:
//!
//! 1. send [`get_challenge_command`] and take `RND.ICC` from its answer;
//! 2. [`begin`] draws `RND.IFD` and `K.IFD` and builds MUTUAL AUTHENTICATE;
//! 3. [`finish`] checks the card's answer and opens a [`SecureChannel`].
//!
//! The keys stay behind a [`KeyProvider`], so they may live in an HSM or SAM;
//! [`StaticKeys`] holds them in memory.

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use rand_core::CryptoRngCore;

use crate::apdu::{ApduError, Command, Response};
use crate::commands;
use crate::crypto::{self, CryptoError, SecretKey, Suite, ct_eq, kdf};
use crate::sm::{SecureChannel, SmMode};
use crate::status::StatusWord;

/// Length of `RND.ICC` and `RND.IFD`.
const RND_LEN: usize = 8;
/// Length of `K.IFD` and `K.ICC`.
const KEY_PART_LEN: usize = 16;
/// Length of `S` and `R` (two random numbers and a key part).
const CRYPTOGRAM_PLAIN_LEN: usize = 2 * RND_LEN + KEY_PART_LEN;
/// Length of the MUTUAL AUTHENTICATE data, both ways: `E ‖ M`.
const AUTH_DATA_LEN: usize = CRYPTOGRAM_PLAIN_LEN + 8;

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
    /// The card answered MUTUAL AUTHENTICATE with a status word other than
    /// `90 00` or `63 00`.
    #[error("the card answered mutual authentication with {0}")]
    Status(StatusWord),
    /// A key of the wrong length for the suite (names the key, never its bytes).
    #[error("{key} for {suite} must be {expected} bytes, got {got}")]
    KeyLength {
        /// Which key: `k_enc` or `k_mac`.
        key: &'static str,
        /// The suite.
        suite: Suite,
        /// Length the suite needs.
        expected: usize,
        /// Length given.
        got: usize,
    },
}

fn crypto_error(e: CryptoError) -> AuthError {
    // CryptoError messages carry lengths only, never key bytes.
    AuthError::KeyProvider(e.to_string())
}

/// Computes with the AP keys `K_enc` and `K_mac` wherever they live (memory,
/// HSM, SAM). PROFILE.md §7 step 2 and 4; the conventions of
/// `profile-v1.json` (`mutual_authentication`, `mac`).
pub trait KeyProvider {
    /// The cipher suite of the keys.
    fn suite(&self) -> Suite;

    /// `E(K_enc, data)`: CBC with a zero IV and no padding; `data` is a whole
    /// number of cipher blocks (here always the 32-byte `S`).
    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>, AuthError>;

    /// The inverse of [`encrypt`](Self::encrypt) (for `E_ICC`); the plaintext
    /// holds `K.ICC` and is zeroized on drop.
    fn decrypt(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, AuthError>;

    /// `MAC(K_mac, data)`: the suite's 8-byte MAC (ISO/IEC 9797-1 MAC
    /// algorithm 3 for `3des`, AES-CMAC cut to 8 bytes for AES). **The
    /// provider pads**: it applies ISO/IEC 9797-1 padding method 2 to the
    /// cipher block size itself, as HSM MAC commands do, so `data` is the
    /// bare cryptogram (`E_IFD` or `E_ICC`).
    fn mac(&self, data: &[u8]) -> Result<[u8; 8], AuthError>;

    /// Checks `mac` (constant time) against `MAC(K_mac, data)` and returns
    /// `D(K_enc, data)` when it matches, [`AuthError::BadCardMac`] when it
    /// does not (step 4 of PROFILE.md §7, for `E_ICC ‖ M_ICC`). The default
    /// calls [`mac`](Self::mac) and then, only when the MAC matches,
    /// [`decrypt`](Self::decrypt); [`StaticKeys`] with `3des` computes both
    /// in one interleaved pass and hands out the plaintext only after the
    /// check.
    fn check_mac_and_decrypt(
        &self,
        data: &[u8],
        mac: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        let expected = self.mac(data)?;
        if !ct_eq(&expected, mac) {
            return Err(AuthError::BadCardMac);
        }
        self.decrypt(data)
    }
}

/// AP keys held in memory. Zeroized on drop, redacted in `Debug`.
pub struct StaticKeys {
    suite: Suite,
    k_enc: SecretKey,
    k_mac: SecretKey,
}

impl std::fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeys")
            .field("suite", &self.suite)
            .field("k_enc", &"REDACTED")
            .field("k_mac", &"REDACTED")
            .finish()
    }
}

impl StaticKeys {
    /// Keys for `suite`; each must have the suite's key length (16 bytes for
    /// `3des` and `aes128`, 32 for `aes256`; PROFILE.md §7, §10).
    pub fn new(suite: Suite, k_enc: SecretKey, k_mac: SecretKey) -> Result<Self, AuthError> {
        for (name, key) in [("k_enc", &k_enc), ("k_mac", &k_mac)] {
            if key.len() != suite.key_len() {
                return Err(AuthError::KeyLength {
                    key: name,
                    suite,
                    expected: suite.key_len(),
                    got: key.len(),
                });
            }
        }
        Ok(Self {
            suite,
            k_enc,
            k_mac,
        })
    }
}

impl KeyProvider for StaticKeys {
    fn suite(&self) -> Suite {
        self.suite
    }

    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>, AuthError> {
        let iv = vec![0; self.suite.block_size()];
        crypto::encrypt_cbc(self.suite, &self.k_enc, &iv, data).map_err(crypto_error)
    }

    fn decrypt(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        let iv = vec![0; self.suite.block_size()];
        crypto::decrypt_cbc(self.suite, &self.k_enc, &iv, data)
            .map(Zeroizing::new)
            .map_err(crypto_error)
    }

    fn mac(&self, data: &[u8]) -> Result<[u8; 8], AuthError> {
        let padded = crypto::pad(data, self.suite.block_size());
        crypto::mac(self.suite, &self.k_mac, &padded).map_err(crypto_error)
    }

    fn check_mac_and_decrypt(
        &self,
        data: &[u8],
        mac: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        let iv = vec![0; self.suite.block_size()];
        let padded = crypto::pad(data, self.suite.block_size());
        let (plain, expected) =
            crypto::decrypt_cbc_with_mac(self.suite, &self.k_enc, &iv, data, &self.k_mac, &padded)
                .map_err(crypto_error)?;
        if !ct_eq(&expected, mac) {
            return Err(AuthError::BadCardMac);
        }
        Ok(plain)
    }
}

/// Fills `buf` from the session's random source; a failing source is
/// [`AuthError::Random`].
pub(crate) fn fill(rng: &mut dyn CryptoRngCore, buf: &mut [u8]) -> Result<(), AuthError> {
    rng.try_fill_bytes(buf).map_err(|_| AuthError::Random)
}

/// Hands out fixed bytes in order, for tests and transcript replays (feature
/// `test-util`): never use it against a real card. Fails with
/// [`AuthError::Random`] when exhausted. The bytes are zeroized on drop and
/// not shown by `Debug`.
#[cfg(any(test, feature = "test-util"))]
pub(crate) struct FixedRandom {
    bytes: Zeroizing<Vec<u8>>,
    position: usize,
}

#[cfg(any(test, feature = "test-util"))]
impl FixedRandom {
    /// A source that returns `bytes`, in order (for [`begin`]: `RND.IFD`
    /// then `K.IFD`).
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes: Zeroizing::new(bytes),
            position: 0,
        }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }
}

#[cfg(any(test, feature = "test-util"))]
impl std::fmt::Debug for FixedRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedRandom")
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}

#[cfg(any(test, feature = "test-util"))]
impl rand_core::RngCore for FixedRandom {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_be_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_be_bytes(b)
    }

    /// Infallible by the trait's contract: an exhausted source gives zeros
    /// here, but cardap only calls [`try_fill_bytes`](Self::try_fill_bytes).
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if self.try_fill_bytes(dest).is_err() {
            dest.fill(0);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        let exhausted = || rand_core::Error::new("fixed random bytes exhausted");
        let end = self
            .position
            .checked_add(dest.len())
            .ok_or_else(exhausted)?;
        let source = self.bytes.get(self.position..end).ok_or_else(exhausted)?;
        dest.copy_from_slice(source);
        self.position = end;
        Ok(())
    }
}

// Test-only: the bytes are whatever the test fixed.
#[cfg(any(test, feature = "test-util"))]
impl rand_core::CryptoRng for FixedRandom {}

/// GET CHALLENGE for `RND.ICC` (PROFILE.md §7 step 1).
pub(crate) fn get_challenge_command() -> Result<Command, ApduError> {
    commands::get_challenge(RND_LEN)
}

/// The terminal's half of a mutual authentication in progress: `RND.ICC`,
/// `RND.IFD` and `K.IFD`. Zeroized on drop, redacted in `Debug`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Pending {
    #[zeroize(skip)]
    suite: Suite,
    rnd_icc: [u8; RND_LEN],
    rnd_ifd: [u8; RND_LEN],
    k_ifd: [u8; KEY_PART_LEN],
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// Step 2 of PROFILE.md §7: draws `RND.IFD` (8 bytes) then `K.IFD` (16
/// bytes) from `rng`, builds `S = RND.IFD ‖ RND.ICC ‖ K.IFD`,
/// `E_IFD = E(K_enc, S)`, `M_IFD = MAC(K_mac, E_IFD)` and returns MUTUAL
/// AUTHENTICATE (`00 82 00 00 28 E_IFD ‖ M_IFD 28`; ICAO 9303 Part 11
/// §4.3.3.1 / Appendix D.3) with the state [`finish`] needs.
///
/// `rnd_icc` is the GET CHALLENGE answer and must be exactly 8 bytes.
pub fn begin(
    keys: &dyn KeyProvider,
    rnd_icc: &[u8],
    rng: &mut dyn CryptoRngCore,
) -> Result<(Command, Pending), AuthError> {
    begin_with_reference(keys, rnd_icc, rng, KEY_REFERENCE_READ)
}

/// `P2` of MUTUAL AUTHENTICATE naming the AP's read key set (the version 1
/// form, PROFILE.md §11.1).
pub(crate) const KEY_REFERENCE_READ: u8 = 0x00;
/// `P2` naming the AP's update key set (PROFILE.md §11.1).
pub(crate) const KEY_REFERENCE_UPDATE: u8 = 0x82;
/// `P2` naming the issuer key set of the card manager (PROFILE.md §12.1).
#[cfg_attr(not(feature = "issuer"), allow(dead_code))]
pub(crate) const KEY_REFERENCE_ISSUER: u8 = 0x83;

/// [`begin`] with the key reference `p2` of PROFILE.md §11.1 in MUTUAL
/// AUTHENTICATE (`00 82 00 P2 28 …`).
pub(crate) fn begin_with_reference(
    keys: &dyn KeyProvider,
    rnd_icc: &[u8],
    rng: &mut dyn CryptoRngCore,
    p2: u8,
) -> Result<(Command, Pending), AuthError> {
    let rnd_icc: [u8; RND_LEN] = rnd_icc
        .try_into()
        .map_err(|_| AuthError::Malformed("RND.ICC must be 8 bytes"))?;
    let mut pending = Pending {
        suite: keys.suite(),
        rnd_icc,
        rnd_ifd: [0; RND_LEN],
        k_ifd: [0; KEY_PART_LEN],
    };
    // One draw for both (one system call with the OS generator), in the
    // order of PROFILE.md §7: RND.IFD, then K.IFD.
    let mut drawn = Zeroizing::new([0u8; RND_LEN + KEY_PART_LEN]);
    fill(rng, drawn.as_mut_slice())?;
    let (rnd_ifd, k_ifd) = drawn.split_at(RND_LEN);
    pending.rnd_ifd.copy_from_slice(rnd_ifd);
    pending.k_ifd.copy_from_slice(k_ifd);

    let mut s = Zeroizing::new(Vec::with_capacity(CRYPTOGRAM_PLAIN_LEN));
    s.extend_from_slice(&pending.rnd_ifd);
    s.extend_from_slice(&pending.rnd_icc);
    s.extend_from_slice(&pending.k_ifd);
    let mut data = keys.encrypt(&s)?;
    if data.len() != CRYPTOGRAM_PLAIN_LEN {
        return Err(AuthError::KeyProvider(format!(
            "encryption returned {} bytes, expected {CRYPTOGRAM_PLAIN_LEN}",
            data.len()
        )));
    }
    let m_ifd = keys.mac(&data)?;
    data.extend_from_slice(&m_ifd);
    let command = commands::mutual_authenticate_with_reference(p2, data, AUTH_DATA_LEN)
        .map_err(|_| AuthError::Malformed("MUTUAL AUTHENTICATE cannot be encoded"))?;
    Ok((command, pending))
}

/// Steps 3 and 4 of PROFILE.md §7 (ICAO 9303 Part 11 §4.3.3.2, §9.7.2):
/// checks the card's answer to MUTUAL AUTHENTICATE and opens the secure
/// channel.
///
/// `63 00` is [`AuthError::Refused`], any other status but `90 00` is
/// [`AuthError::Status`]. The data must be `E_ICC ‖ M_ICC` (40 bytes);
/// `M_ICC` is checked in constant time and `R = RND.ICC ‖ RND.IFD ‖ K.ICC`
/// decrypted ([`KeyProvider::check_mac_and_decrypt`]), then its echo of
/// both random numbers is checked; then `K_seed = K.IFD xor K.ICC`, the
/// session keys come from [`session_keys`] and the SSC from [`initial_ssc`].
pub fn finish(
    keys: &dyn KeyProvider,
    pending: Pending,
    response: &Response,
    mode: SmMode,
) -> Result<SecureChannel, AuthError> {
    match response.sw {
        StatusWord::Success => {}
        StatusWord::AuthenticationFailed => return Err(AuthError::Refused),
        other => return Err(AuthError::Status(other)),
    }
    let suite = pending.suite;
    if keys.suite() != suite {
        return Err(AuthError::KeyProvider(
            "the key provider's suite changed between begin and finish".into(),
        ));
    }
    if response.data.len() != AUTH_DATA_LEN {
        return Err(AuthError::Malformed(
            "MUTUAL AUTHENTICATE response must be 40 bytes",
        ));
    }
    let (e_icc, m_icc) =
        response
            .data
            .split_at_checked(CRYPTOGRAM_PLAIN_LEN)
            .ok_or(AuthError::Malformed(
                "MUTUAL AUTHENTICATE response must be 40 bytes",
            ))?;
    let r = keys.check_mac_and_decrypt(e_icc, m_icc)?;
    let (echo, k_icc) = r
        .split_at_checked(2 * RND_LEN)
        .filter(|(_, k)| k.len() == KEY_PART_LEN)
        .ok_or_else(|| {
            AuthError::KeyProvider(format!(
                "decryption returned {} bytes, expected {CRYPTOGRAM_PLAIN_LEN}",
                r.len()
            ))
        })?;
    let mut expected_echo = Zeroizing::new([0u8; 2 * RND_LEN]);
    let (icc_part, ifd_part) = expected_echo.split_at_mut(RND_LEN);
    icc_part.copy_from_slice(&pending.rnd_icc);
    ifd_part.copy_from_slice(&pending.rnd_ifd);
    if !ct_eq(echo, expected_echo.as_slice()) {
        return Err(AuthError::ChallengeMismatch);
    }

    let k_seed: Zeroizing<Vec<u8>> = Zeroizing::new(
        pending
            .k_ifd
            .iter()
            .zip(k_icc)
            .map(|(a, b)| a ^ b)
            .collect(),
    );
    let (ks_enc, ks_mac) = session_keys(suite, &k_seed);
    let ssc = initial_ssc(suite, &pending.rnd_icc, &pending.rnd_ifd);
    Ok(SecureChannel::new(suite, ks_enc, ks_mac, ssc, mode))
}

/// Session keys from the key seed (ICAO 9303 Part 11 §9.7.1; PROFILE.md §7):
/// `(KS_enc, KS_mac) = (KDF(K_seed, 1), KDF(K_seed, 2))`.
pub fn session_keys(suite: Suite, k_seed: &[u8]) -> (SecretKey, SecretKey) {
    (kdf(suite, k_seed, 1), kdf(suite, k_seed, 2))
}

/// The initial send sequence counter (ICAO 9303 Part 11 §9.8.2; PROFILE.md
/// §7): the last 4 bytes of `RND.ICC` ‖ the last 4 bytes of `RND.IFD`, and for
/// AES 8 zero bytes before that.
pub fn initial_ssc(suite: Suite, rnd_icc: &[u8], rnd_ifd: &[u8]) -> Vec<u8> {
    let last4 = |rnd: &[u8]| -> Vec<u8> {
        rnd.get(rnd.len().saturating_sub(4)..)
            .unwrap_or_default()
            .to_vec()
    };
    let mut ssc = vec![0u8; suite.ssc_len().saturating_sub(8)];
    ssc.extend_from_slice(&last4(rnd_icc));
    ssc.extend_from_slice(&last4(rnd_ifd));
    ssc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::LengthEncoding;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    // Random values of transcript A-aes128-extended (tests/vectors/
    // profile-v1.json); the keys below are arbitrary test keys, and the card's
    // answers are computed with them.
    const RND_ICC: &str = "524E442E49434334";
    const RND_IFD: &str = "524E442E49464434";
    const K_IFD: &str = "4B2E4946442F7465726D696E616C2F34";
    const K_ICC: &str = "736D61727463617264342F4B2E494343";

    fn keys() -> StaticKeys {
        StaticKeys::new(
            Suite::Aes128,
            SecretKey::new(h("000102030405060708090A0B0C0D0E0F")),
            SecretKey::new(h("F0E0D0C0B0A090807060504030201000")),
        )
        .unwrap()
    }

    fn rng() -> FixedRandom {
        FixedRandom::new(h(&format!("{RND_IFD}{K_IFD}")))
    }

    /// The card's answer over `r`, computed with the same keys.
    fn card_answer(keys: &StaticKeys, r: &[u8]) -> Response {
        let mut data = keys.encrypt(r).unwrap();
        let m = keys.mac(&data).unwrap();
        data.extend_from_slice(&m);
        Response::new(data, StatusWord::Success)
    }

    fn good_r() -> Vec<u8> {
        h(&format!("{RND_ICC}{RND_IFD}{K_ICC}"))
    }

    #[test]
    fn round_trip_opens_a_channel() {
        let keys = keys();
        let (cmd, pending) = begin(&keys, &h(RND_ICC), &mut rng()).unwrap();
        let bytes = cmd.to_bytes(LengthEncoding::Short).unwrap();
        assert_eq!(&bytes[..5], &h("0082000028")[..]);
        assert_eq!(bytes.len(), 5 + 40 + 1);
        assert_eq!(bytes.last(), Some(&0x28));
        let ch = finish(&keys, pending, &card_answer(&keys, &good_r()), SmMode::Mac).unwrap();
        assert!(ch.is_open());
        assert_eq!(ch.mode(), SmMode::Mac);
        assert_eq!(ch.suite(), Suite::Aes128);
    }

    /// A provider with only the required methods: the default
    /// `check_mac_and_decrypt` (MAC, compare, then decrypt).
    struct Plain<'a>(&'a StaticKeys);

    impl KeyProvider for Plain<'_> {
        fn suite(&self) -> Suite {
            self.0.suite()
        }
        fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>, AuthError> {
            self.0.encrypt(data)
        }
        fn decrypt(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, AuthError> {
            self.0.decrypt(data)
        }
        fn mac(&self, data: &[u8]) -> Result<[u8; 8], AuthError> {
            self.0.mac(data)
        }
    }

    #[test]
    fn check_mac_and_decrypt_in_one_pass_matches_the_default() {
        for suite in [Suite::TripleDes, Suite::Aes128, Suite::Aes256] {
            let n = suite.key_len();
            let keys = StaticKeys::new(
                suite,
                SecretKey::new((0..n as u8).collect::<Vec<_>>()),
                SecretKey::new((0..n as u8).map(|b| b ^ 0xA5).collect::<Vec<_>>()),
            )
            .unwrap();
            for len in [16, 32, 48] {
                let plain: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(29)).collect();
                let data = keys.encrypt(&plain).unwrap();
                let mut mac = keys.mac(&data).unwrap();
                let fused = keys.check_mac_and_decrypt(&data, &mac).unwrap();
                let default = Plain(&keys).check_mac_and_decrypt(&data, &mac).unwrap();
                assert_eq!(fused.as_slice(), plain.as_slice(), "{suite:?} {len}");
                assert_eq!(default.as_slice(), plain.as_slice(), "{suite:?} {len}");
                mac[7] ^= 1;
                assert_eq!(
                    keys.check_mac_and_decrypt(&data, &mac).unwrap_err(),
                    AuthError::BadCardMac
                );
                assert_eq!(
                    Plain(&keys).check_mac_and_decrypt(&data, &mac).unwrap_err(),
                    AuthError::BadCardMac
                );
            }
        }
    }

    #[test]
    fn wrong_card_mac_is_bad_card_mac() {
        let keys = keys();
        let (_, pending) = begin(&keys, &h(RND_ICC), &mut rng()).unwrap();
        let mut resp = card_answer(&keys, &good_r());
        resp.data[39] ^= 1;
        assert_eq!(
            finish(&keys, pending, &resp, SmMode::Mac).unwrap_err(),
            AuthError::BadCardMac
        );
    }

    #[test]
    fn swapped_random_numbers_are_a_challenge_mismatch() {
        let keys = keys();
        let (_, pending) = begin(&keys, &h(RND_ICC), &mut rng()).unwrap();
        let swapped = h(&format!("{RND_IFD}{RND_ICC}{K_ICC}"));
        assert_eq!(
            finish(&keys, pending, &card_answer(&keys, &swapped), SmMode::Mac).unwrap_err(),
            AuthError::ChallengeMismatch
        );
    }

    #[test]
    fn refused_and_other_status_words() {
        let keys = keys();
        let (_, pending) = begin(&keys, &h(RND_ICC), &mut rng()).unwrap();
        let resp = Response::new(vec![], StatusWord::AuthenticationFailed);
        assert_eq!(
            finish(&keys, pending, &resp, SmMode::Mac).unwrap_err(),
            AuthError::Refused
        );
        let (_, pending) = begin(&keys, &h(RND_ICC), &mut rng()).unwrap();
        let resp = Response::new(vec![], StatusWord::SecurityStatusNotSatisfied);
        assert_eq!(
            finish(&keys, pending, &resp, SmMode::Mac).unwrap_err(),
            AuthError::Status(StatusWord::SecurityStatusNotSatisfied)
        );
    }

    #[test]
    fn short_or_long_data_is_malformed() {
        let keys = keys();
        for len in [0, 8, 39, 41] {
            let (_, pending) = begin(&keys, &h(RND_ICC), &mut rng()).unwrap();
            let resp = Response::new(vec![0; len], StatusWord::Success);
            assert!(matches!(
                finish(&keys, pending, &resp, SmMode::Mac),
                Err(AuthError::Malformed(_))
            ));
        }
    }

    #[test]
    fn challenge_must_be_8_bytes() {
        for len in [0, 7, 9, 16] {
            assert!(matches!(
                begin(&keys(), &vec![0; len], &mut rng()),
                Err(AuthError::Malformed(_))
            ));
        }
    }

    #[test]
    fn exhausted_random_is_an_error() {
        let mut short = FixedRandom::new(vec![0; 23]);
        assert_eq!(
            begin(&keys(), &h(RND_ICC), &mut short).unwrap_err(),
            AuthError::Random
        );
        let mut buf = [0u8; 32];
        fill(&mut rand_core::OsRng, &mut buf).unwrap();
        assert_ne!(buf, [0u8; 32]);
    }

    #[test]
    fn key_lengths_are_checked_and_named() {
        let err = StaticKeys::new(
            Suite::Aes256,
            SecretKey::new(vec![0x11; 32]),
            SecretKey::new(vec![0x22; 16]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            AuthError::KeyLength {
                key: "k_mac",
                suite: Suite::Aes256,
                expected: 32,
                got: 16
            }
        );
        assert_eq!(err.to_string(), "k_mac for aes256 must be 32 bytes, got 16");
        let err = StaticKeys::new(
            Suite::TripleDes,
            SecretKey::new(vec![0x11; 15]),
            SecretKey::new(vec![0x22; 16]),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("k_enc for 3des"));
    }

    #[test]
    fn debug_shows_no_secrets() {
        let keys = keys();
        let text = format!("{keys:?}");
        assert!(!text.to_uppercase().contains("000102030405"));
        assert!(!text.to_uppercase().contains("F0E0D0C0"));
        assert!(!text.contains("[0, 1, 2"));

        let (_, pending) = begin(&keys, &h(RND_ICC), &mut rng()).unwrap();
        let text = format!("{pending:?}");
        assert_eq!(text, "Pending { suite: Aes128, .. }");

        let text = format!("{:?}", rng());
        assert_eq!(text, "FixedRandom { remaining: 24, .. }");
    }

    #[test]
    fn get_challenge_bytes() {
        assert_eq!(
            get_challenge_command()
                .unwrap()
                .to_bytes(LengthEncoding::Short)
                .unwrap()
                .to_vec(),
            h("0084000008")
        );
    }

    #[test]
    fn ssc_layout() {
        assert_eq!(
            initial_ssc(
                Suite::TripleDes,
                &h("4608F91988702212"),
                &h("781723860C06C226")
            ),
            h("887022120C06C226")
        );
        assert_eq!(
            initial_ssc(Suite::Aes256, &h(RND_ICC), &h(RND_IFD)),
            h("00000000000000004943433449464434")
        );
    }
}
