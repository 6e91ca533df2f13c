//! Secure messaging, card side (PROFILE.md §7 and the `conventions` of
//! `vectors/profile-v1.json`; ICAO Doc 9303 Part 11 §9.8): verifying protected
//! commands and protecting responses.

use cardap::Suite;

use crate::crypto::{self, SecretKey};
use zeroize::Zeroizing;

use crate::commands::Expected;
use crate::tlv::{push_do, split_do};

/// Which data object carries data on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmMode {
    /// Type A: plain DO`81`, covered by the MAC.
    Mac,
    /// Type D: DO`87`, padding indicator `01`, encrypted with `KS_enc`.
    Encrypt,
}

/// Why a protected command is refused; the answer goes in the clear and the
/// channel ends (PROFILE.md §1, §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmFailure {
    /// `69 87`: DO`8E` (or another required DO) missing.
    Missing,
    /// `69 88`: a DO malformed, unexpected, or its MAC wrong.
    Wrong,
}

/// The unprotected command carried by a protected one.
pub(crate) struct Unwrapped {
    /// Command data (from DO`87` or DO`81`).
    pub data: Zeroizing<Vec<u8>>,
    /// `Ne` from DO`97`.
    pub ne: Option<Expected>,
}

/// An open secure channel: session keys, send sequence counter, mode.
pub(crate) struct Channel {
    suite: Suite,
    ks_enc: SecretKey,
    ks_mac: SecretKey,
    ssc: Zeroizing<Vec<u8>>,
    mode: SmMode,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("suite", &self.suite)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Channel {
    pub(crate) fn new(
        suite: Suite,
        ks_enc: SecretKey,
        ks_mac: SecretKey,
        ssc: Zeroizing<Vec<u8>>,
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

    /// The IV for DO`87`: zero for 3DES, `E(KS_enc, SSC)` for AES.
    fn iv(&self) -> Option<Vec<u8>> {
        match self.suite {
            Suite::TripleDes => Some(vec![0; self.suite.block_size()]),
            Suite::Aes128 | Suite::Aes256 => {
                crypto::encrypt_block(self.suite, self.ks_enc.expose(), &self.ssc).ok()
            }
        }
    }

    fn mac(&self, input: &[u8]) -> Option<[u8; 8]> {
        crypto::mac(self.suite, self.ks_mac.expose(), input).ok()
    }

    /// Increments the SSC, then verifies a protected command: data
    /// `[DO87 | DO81] [DO97] DO8E` in that order, MAC over
    /// `pad(SSC ‖ pad(CLA INS P1 P2) ‖ DO87/DO81 ‖ DO97)` checked in constant
    /// time, DO`87` decrypted.
    pub(crate) fn unwrap_command(
        &mut self,
        header: [u8; 4],
        body: &[u8],
    ) -> Result<Unwrapped, SmFailure> {
        crypto::increment(&mut self.ssc);
        let mut payload = None;
        let mut le = None;
        let mut mac = None;
        let mut rest = body;
        while !rest.is_empty() {
            let (object, remaining) = split_do(rest).ok_or(SmFailure::Wrong)?;
            match object.tag {
                0x87 | 0x81 if payload.is_none() && le.is_none() => payload = Some(object),
                0x97 if le.is_none() => le = Some(object),
                // DO8E is last.
                0x8E if remaining.is_empty() => mac = Some(object),
                _ => return Err(SmFailure::Wrong),
            }
            rest = remaining;
        }
        let mac = mac.ok_or(SmFailure::Missing)?;
        if mac.value.len() != 8 {
            return Err(SmFailure::Wrong);
        }
        let block = self.suite.block_size();
        let mut input = Zeroizing::new(self.ssc.to_vec());
        input.extend_from_slice(&crypto::pad(&header, block));
        for object in payload.iter().chain(le.iter()) {
            input.extend_from_slice(object.raw);
        }
        let expected = self
            .mac(&crypto::pad(&input, block))
            .ok_or(SmFailure::Wrong)?;
        if !crypto::ct_eq(&expected, mac.value) {
            return Err(SmFailure::Wrong);
        }

        let data = match payload {
            None => Zeroizing::new(Vec::new()),
            Some(object) => match (object.tag, self.mode) {
                (0x81, SmMode::Mac) => Zeroizing::new(object.value.to_vec()),
                (0x87, SmMode::Encrypt) => self.decrypt(object.value)?,
                // A Type A channel never carries DO87, a Type D channel never DO81.
                _ => return Err(SmFailure::Wrong),
            },
        };
        let ne = match le.map(|object| object.value) {
            None => None,
            Some([0]) => Some(Expected::all(256)),
            Some([0, 0]) => Some(Expected::all(65_536)),
            Some([n]) => Some(Expected::exactly(usize::from(*n))),
            Some([hi, lo]) => Some(Expected::exactly(usize::from(u16::from_be_bytes([
                *hi, *lo,
            ])))),
            Some(_) => return Err(SmFailure::Wrong),
        };
        Ok(Unwrapped { data, ne })
    }

    fn decrypt(&self, value: &[u8]) -> Result<Zeroizing<Vec<u8>>, SmFailure> {
        let Some((0x01, cryptogram)) = value.split_first() else {
            return Err(SmFailure::Wrong);
        };
        if cryptogram.is_empty() {
            return Err(SmFailure::Wrong);
        }
        let iv = self.iv().ok_or(SmFailure::Wrong)?;
        let padded = Zeroizing::new(
            crypto::decrypt_cbc(self.suite, self.ks_enc.expose(), &iv, cryptogram)
                .map_err(|_| SmFailure::Wrong)?,
        );
        let plain = crypto::unpad(&padded).map_err(|_| SmFailure::Wrong)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }

    /// Increments the SSC, then protects a response: `[DO87 | DO81] DO99 DO8E`
    /// (no data DO when there are no data), MAC over
    /// `pad(SSC ‖ DO87/DO81 ‖ DO99)`. `None` only if a primitive fails.
    pub(crate) fn wrap_response(&mut self, data: &[u8], sw: [u8; 2]) -> Option<Vec<u8>> {
        crypto::increment(&mut self.ssc);
        let block = self.suite.block_size();
        let mut body = Vec::with_capacity(data.len() + 2 * block + 20);
        if !data.is_empty() {
            match self.mode {
                SmMode::Mac => push_do(&mut body, 0x81, data)?,
                SmMode::Encrypt => {
                    let iv = self.iv()?;
                    let padded = Zeroizing::new(crypto::pad(data, block));
                    let cryptogram =
                        crypto::encrypt_cbc(self.suite, self.ks_enc.expose(), &iv, &padded).ok()?;
                    let mut value = Vec::with_capacity(cryptogram.len() + 1);
                    value.push(0x01);
                    value.extend_from_slice(&cryptogram);
                    push_do(&mut body, 0x87, &value)?;
                }
            }
        }
        push_do(&mut body, 0x99, &sw)?;
        let mut input = self.ssc.to_vec();
        input.extend_from_slice(&body);
        let mac = self.mac(&crypto::pad(&input, block))?;
        push_do(&mut body, 0x8E, &mac)?;
        Some(body)
    }
}
