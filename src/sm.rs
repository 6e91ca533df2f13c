//! Secure messaging (PROFILE.md §7, ICAO Doc 9303 Part 11 §9.8).
//!
//! A [`SecureChannel`] wraps plain command APDUs into protected ones and
//! verifies (and, in [`SmMode::Encrypt`], decrypts) the card's protected
//! responses. It never talks to the card itself: the caller sends the bytes.
//!
//! The byte layout is the one ICAO 9303 Part 11 §9.8.4–§9.8.7 gives for
//! Basic Access Control and that `tests/vectors/profile-v1.json`
//! (`conventions.protected_command`, `conventions.protected_response`) pins
//! down:
//!
//! * command: `CLA' = CLA | 0C`; `mac_input = pad(SSC ‖ pad(CLA' INS P1 P2) ‖
//!   [DO87 | DO81] ‖ [DO97])`; data field `[DO87 | DO81] ‖ [DO97] ‖ DO8E`;
//!   outer `Le` always present (`00`, or `00 00` in extended form);
//! * response: `[DO87 | DO81] ‖ DO99 ‖ DO8E`, MAC over
//!   `pad(SSC ‖ [DO87 | DO81] ‖ DO99)`;
//! * the SSC is incremented before every command and every response; with AES
//!   the CBC IV is `E(KS_enc, SSC)` (the value after that increment), with
//!   3DES it is zero.
//!
//! Any failure ends the channel (PROFILE.md §7: "A MAC failure, a missing
//! DO8E, or a response SW that differs from DO99 ends the secure channel"); the
//! session keys are wiped and every later call returns [`SmError::Closed`].

use zeroize::{Zeroize, Zeroizing};

use crate::apdu::{Command, LengthEncoding, MAX_EXTENDED_NE, MAX_SHORT_NC, MAX_SHORT_NE, Response};
use crate::crypto::{
    self, CryptoError, SecretKey, Suite, ct_eq, decrypt_cbc, encrypt_block, encrypt_cbc, increment,
    pad, unpad,
};
use crate::status::StatusWord;

/// Tag of the encrypted data object (padding-content indicator first).
const TAG_ENCRYPTED: u8 = 0x87;
/// Tag of the plain data object covered by the MAC.
const TAG_PLAIN: u8 = 0x81;
/// Tag of the protected `Le`.
const TAG_LE: u8 = 0x97;
/// Tag of the protected status word.
const TAG_STATUS: u8 = 0x99;
/// Tag of the cryptographic checksum.
const TAG_MAC: u8 = 0x8E;
/// Padding-content indicator: ISO/IEC 9797-1 padding method 2 (ISO/IEC 7816-4
/// §10.2.2, ICAO 9303 Part 11 §9.8.6).
const PADDING_INDICATOR: u8 = 0x01;

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
    /// channel, DO81 on an encryption channel, unknown tags, duplicates, or a
    /// data object out of order).
    #[error("unexpected secure messaging data object {0:02X}")]
    UnexpectedObject(u8),
    /// The SW in DO99 differs from the response's status word.
    #[error("status word in DO99 differs from the response status word")]
    StatusMismatch,
    /// The card answered in the clear inside the channel (its SW is given).
    /// `69 87`, `69 88` and `67 00` are the card ending the channel
    /// (PROFILE.md §7); any other unprotected answer is refused likewise.
    #[error("unprotected response {0:04X} inside the secure channel")]
    Unprotected(u16),
    /// Malformed data objects, bad padding or a bad padding indicator.
    #[error("malformed secure messaging response: {0}")]
    Malformed(&'static str),
    /// The protected command cannot be encoded.
    #[error("protected command cannot be encoded: {0}")]
    Encoding(String),
    /// The session keys or the SSC given to the secure channel do not fit
    /// the suite (lengths only are named, never bytes).
    #[error("secure channel set up wrongly: {0}")]
    Setup(&'static str),
    /// A cipher primitive failed (wrong lengths; never carries key bytes).
    #[error("cryptographic failure: {0}")]
    Crypto(#[from] CryptoError),
    /// The send sequence counter reached its cap (all bytes `FF`, or
    /// [`MAX_SSC_STEPS`] messages on one channel): the channel ends instead
    /// of wrapping the counter around; authenticate again.
    #[error("send sequence counter exhausted: authenticate again")]
    SscExhausted,
}

/// The most messages (commands and responses) one secure channel carries
/// before it ends: 2^24, far beyond any operation (a read takes 2 to 6), far
/// below where an 8-byte SSC could wrap.
pub const MAX_SSC_STEPS: u64 = 1 << 24;

/// An open secure channel: session keys, send sequence counter, mode.
///
/// `Debug` shows the suite, the mode and whether the channel is open; never
/// the keys or the SSC. Keys and SSC are zeroed on [`close`](Self::close), on
/// any failure and on drop.
pub struct SecureChannel {
    suite: Suite,
    ks_enc: SecretKey,
    ks_mac: SecretKey,
    ssc: Zeroizing<Vec<u8>>,
    mode: SmMode,
    open: bool,
    /// SSC increments so far (capped at [`MAX_SSC_STEPS`]).
    steps: u64,
}

impl std::fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureChannel")
            .field("suite", &self.suite)
            .field("mode", &self.mode)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl SecureChannel {
    /// Opens a channel from derived session keys and the initial SSC
    /// (PROFILE.md §7: `KS_enc = KDF(K_seed, 1)`, `KS_mac = KDF(K_seed, 2)`;
    /// SSC of 8 bytes for `3des`, 16 for AES; see
    /// [`auth::session_keys`](crate::auth::session_keys) and
    /// [`auth::initial_ssc`](crate::auth::initial_ssc)).
    ///
    /// Lengths are checked when the channel is used: keys or an SSC that do not
    /// fit the suite make the first operation fail with [`SmError::Setup`].
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
            ssc: Zeroizing::new(ssc),
            mode,
            open: true,
            steps: 0,
        }
    }

    /// Increments the SSC, or fails at the cap (the counter never wraps).
    fn step(&mut self) -> Result<(), SmError> {
        if self.steps >= MAX_SSC_STEPS || self.ssc.iter().all(|&b| b == 0xFF) {
            return Err(SmError::SscExhausted);
        }
        self.steps += 1;
        increment(&mut self.ssc);
        Ok(())
    }

    /// The cipher suite of the session keys.
    #[cfg(test)]
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The channel's mode (Type A MAC mode or Type D encryption mode).
    #[cfg(test)]
    pub fn mode(&self) -> SmMode {
        self.mode
    }

    /// Whether the channel can still be used.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Ends the channel and wipes the session keys and the SSC. Every later
    /// call returns [`SmError::Closed`].
    pub fn close(&mut self) {
        self.open = false;
        self.ks_enc.zeroize();
        self.ks_mac.zeroize();
        self.ssc.zeroize();
    }

    /// Protects a plain command (ICAO 9303 Part 11 §9.8.4, §9.8.6, §9.8.7;
    /// PROFILE.md §7). The SSC is incremented first.
    ///
    /// The command data, if any, go into DO`87` (encryption mode: padded with
    /// method 2, encrypted with `KS_enc`, prefixed by the padding indicator
    /// `01`) or DO`81` (MAC mode, plain); the plain `Ne`, if any, into DO`97`
    /// (one byte, `00` = 256; two bytes above 256, `00 00` = 65 536); DO`8E`
    /// carries the MAC. The result always has an `Le`: `Ne` = 256 with
    /// [`LengthEncoding::Short`] (outer `Le` = `00`) or 65 536 with
    /// [`LengthEncoding::Extended`] (`00 00`). Encode it with
    /// [`Command::to_bytes`] and the same `encoding`.
    pub fn protect(&mut self, cmd: &Command, encoding: LengthEncoding) -> Result<Command, SmError> {
        if !self.open {
            return Err(SmError::Closed);
        }
        let result = self.protect_inner(cmd, encoding);
        if result.is_err() {
            self.close();
        }
        result
    }

    /// Verifies (and for [`SmMode::Encrypt`] decrypts) a protected response,
    /// returning the plain response with the status word of DO`99`
    /// (ICAO 9303 Part 11 §9.8.5; PROFILE.md §7). The SSC is incremented
    /// first. Any failure closes the channel and returns no data.
    pub fn unprotect(&mut self, resp: &Response) -> Result<Response, SmError> {
        if !self.open {
            return Err(SmError::Closed);
        }
        let result = self.unprotect_inner(resp);
        if result.is_err() {
            self.close();
        }
        result
    }

    fn check_setup(&self) -> Result<(), SmError> {
        let key_len = self.suite.key_len();
        if self.ks_enc.len() != key_len {
            return Err(SmError::Setup("KS_enc length does not fit the suite"));
        }
        if self.ks_mac.len() != key_len {
            return Err(SmError::Setup("KS_mac length does not fit the suite"));
        }
        if self.ssc.len() != self.suite.ssc_len() {
            return Err(SmError::Setup("SSC length does not fit the suite"));
        }
        Ok(())
    }

    /// The CBC IV for the current SSC: zero for 3DES (ICAO 9303 Part 11
    /// §9.8.6.1), `E(KS_enc, SSC)` for AES (§9.8.7.1).
    fn iv(&self) -> Result<Zeroizing<Vec<u8>>, SmError> {
        match self.suite {
            Suite::TripleDes => Ok(Zeroizing::new(vec![0; self.suite.block_size()])),
            Suite::Aes128 | Suite::Aes256 => Ok(Zeroizing::new(encrypt_block(
                self.suite,
                &self.ks_enc,
                &self.ssc,
            )?)),
        }
    }

    /// `pad(SSC ‖ parts…)`, the input of the suite MAC.
    fn mac_input(&self, parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        let mut input = Zeroizing::new(Vec::with_capacity(
            self.ssc.len() + parts.iter().map(|p| p.len()).sum::<usize>() + 16,
        ));
        input.extend_from_slice(&self.ssc);
        for part in parts {
            input.extend_from_slice(part);
        }
        Zeroizing::new(pad(&input, self.suite.block_size()))
    }

    /// The suite MAC over `pad(SSC ‖ parts…)`.
    fn mac_over(&self, parts: &[&[u8]]) -> Result<[u8; 8], SmError> {
        Ok(crypto::mac(
            self.suite,
            &self.ks_mac,
            &self.mac_input(parts),
        )?)
    }

    fn protect_inner(
        &mut self,
        cmd: &Command,
        encoding: LengthEncoding,
    ) -> Result<Command, SmError> {
        self.check_setup()?;
        self.step()?;
        let block = self.suite.block_size();
        let cla = cmd.cla | 0x0C;
        let header = pad(&[cla, cmd.ins, cmd.p1, cmd.p2], block);

        // Sized up front so that plain command data are not left behind in
        // freed buffers by a reallocation; the Command zeroizes on drop.
        let mut body = Vec::with_capacity(cmd.data().len() + 2 * block + 32);
        if !cmd.data().is_empty() {
            match self.mode {
                SmMode::Encrypt => {
                    let padded = Zeroizing::new(pad(cmd.data(), block));
                    let iv = self.iv()?;
                    let cryptogram = encrypt_cbc(self.suite, &self.ks_enc, &iv, &padded)?;
                    let mut value = Vec::with_capacity(cryptogram.len() + 1);
                    value.push(PADDING_INDICATOR);
                    value.extend_from_slice(&cryptogram);
                    push_do(&mut body, TAG_ENCRYPTED, &value)?;
                }
                SmMode::Mac => push_do(&mut body, TAG_PLAIN, cmd.data())?,
            }
        }
        if let Some(ne) = cmd.ne() {
            push_do(&mut body, TAG_LE, &do97_value(ne))?;
        }
        let mac = self.mac_over(&[&header, &body])?;
        push_do(&mut body, TAG_MAC, &mac)?;

        let outer_ne = match encoding {
            LengthEncoding::Short => {
                if body.len() > MAX_SHORT_NC {
                    return Err(SmError::Encoding(format!(
                        "protected data of {} bytes do not fit a short APDU",
                        body.len()
                    )));
                }
                MAX_SHORT_NE
            }
            LengthEncoding::Extended => MAX_EXTENDED_NE,
        };
        Command::new(cla, cmd.ins, cmd.p1, cmd.p2, body, Some(outer_ne))
            .map_err(|e| SmError::Encoding(e.to_string()))
    }

    fn unprotect_inner(&mut self, resp: &Response) -> Result<Response, SmError> {
        self.check_setup()?;
        self.step()?;
        if resp.data.is_empty() {
            // 69 87, 69 88 and 67 00 come in the clear and end the channel;
            // any other unprotected status word inside it is refused as well.
            return Err(SmError::Unprotected(resp.sw.to_u16()));
        }
        let objects = parse_response(&resp.data, self.mode)?;

        let data_raw = objects.data.map(|d| d.raw).unwrap_or_default();
        let mac_input = self.mac_input(&[data_raw, objects.status.raw]);
        // With 3DES a well-formed cryptogram is decrypted in the same pass
        // as the MAC is computed, which takes a fifth less time than one
        // after the other. The plaintext is not looked at (not even its
        // padding) until the MAC has matched, and is wiped unread when it
        // does not; the work done is the same either way.
        let (expected, decrypted) = match objects.data {
            Some(d) if d.tag == TAG_ENCRYPTED && self.suite == Suite::TripleDes => {
                match self.cryptogram(d.value) {
                    Ok(cryptogram) => {
                        let iv = self.iv()?;
                        let (plain, mac) = crypto::decrypt_cbc_with_mac(
                            self.suite,
                            &self.ks_enc,
                            &iv,
                            cryptogram,
                            &self.ks_mac,
                            &mac_input,
                        )?;
                        (mac, Some(plain))
                    }
                    Err(_) => (crypto::mac(self.suite, &self.ks_mac, &mac_input)?, None),
                }
            }
            _ => (crypto::mac(self.suite, &self.ks_mac, &mac_input)?, None),
        };
        if !ct_eq(&expected, objects.mac) {
            return Err(SmError::BadMac);
        }
        let [sw1, sw2] = objects.status.value else {
            return Err(SmError::Malformed("DO99 must hold two bytes"));
        };
        if resp.sw.to_bytes() != [*sw1, *sw2] {
            return Err(SmError::StatusMismatch);
        }
        let data = match (objects.data, decrypted) {
            (None, _) => Vec::new(),
            (Some(d), _) if d.tag == TAG_PLAIN => d.value.to_vec(),
            (Some(_), Some(plain)) => unpad(&plain)
                .map_err(|_| SmError::Malformed("bad padding in DO87"))?
                .to_vec(),
            (Some(d), None) => self.decrypt_do87(d.value)?,
        };
        Ok(Response::new(data, StatusWord::from_bytes(*sw1, *sw2)))
    }

    /// The cryptogram of a DO`87` value: after the padding indicator `01`,
    /// a whole number of blocks.
    fn cryptogram<'a>(&self, value: &'a [u8]) -> Result<&'a [u8], SmError> {
        let (indicator, cryptogram) = value
            .split_first()
            .ok_or(SmError::Malformed("empty DO87"))?;
        if *indicator != PADDING_INDICATOR {
            return Err(SmError::Malformed("DO87 padding indicator is not 01"));
        }
        if cryptogram.is_empty() || !cryptogram.len().is_multiple_of(self.suite.block_size()) {
            return Err(SmError::Malformed(
                "DO87 cryptogram is not a whole number of blocks",
            ));
        }
        Ok(cryptogram)
    }

    fn decrypt_do87(&self, value: &[u8]) -> Result<Vec<u8>, SmError> {
        let cryptogram = self.cryptogram(value)?;
        let iv = self.iv()?;
        let plain = Zeroizing::new(decrypt_cbc(self.suite, &self.ks_enc, &iv, cryptogram)?);
        let data = unpad(&plain).map_err(|_| SmError::Malformed("bad padding in DO87"))?;
        Ok(data.to_vec())
    }
}

/// DO`97` value: the plain `Ne` in one byte (`00` = 256), or in two bytes when
/// it is larger than 256 (`00 00` = 65 536).
fn do97_value(ne: usize) -> Vec<u8> {
    if ne <= MAX_SHORT_NE {
        vec![(ne & 0xFF) as u8]
    } else {
        ((ne & 0xFFFF) as u16).to_be_bytes().to_vec()
    }
}

/// Appends a data object with a one-byte tag and the shortest BER length
/// (`L`, `81 L`, `82 L1 L2`).
fn push_do(out: &mut Vec<u8>, tag: u8, value: &[u8]) -> Result<(), SmError> {
    if value.len() > 0xFFFF {
        return Err(SmError::Encoding(format!(
            "data object of {} bytes is too long",
            value.len()
        )));
    }
    crate::tlv::push_ber(out, u32::from(tag), value).map_err(|e| SmError::Encoding(e.to_string()))
}

/// One data object as received: its tag, its value and its raw encoding
/// (tag, length and value, which is what the MAC covers).
#[derive(Clone, Copy)]
struct DataObject<'a> {
    tag: u8,
    value: &'a [u8],
    raw: &'a [u8],
}

/// Reads one data object from the front of `input` (one-byte tags, BER
/// lengths up to `82 L1 L2`).
fn read_do(input: &[u8]) -> Result<(DataObject<'_>, &[u8]), SmError> {
    if matches!(input.get(1), Some(0x83..)) {
        return Err(SmError::Malformed("unsupported BER length"));
    }
    let (tlv, tail) = crate::tlv::parse_ber(input).map_err(|e| match e {
        crate::tlv::TlvError::Truncated { .. } => SmError::Malformed("truncated data object"),
        _ => SmError::Malformed("unsupported BER length"),
    })?;
    let tag = u8::try_from(tlv.tag)
        .map_err(|_| SmError::UnexpectedObject(input.first().copied().unwrap_or(0)))?;
    let raw = input
        .get(..input.len() - tail.len())
        .ok_or(SmError::Malformed("truncated data object"))?;
    Ok((
        DataObject {
            tag,
            value: tlv.value,
            raw,
        },
        tail,
    ))
}

/// The data objects of a protected response.
struct ResponseObjects<'a> {
    data: Option<DataObject<'a>>,
    status: DataObject<'a>,
    mac: &'a [u8],
}

/// Splits response data into DO`87`/DO`81`, DO`99`, DO`8E`, in that order and
/// nothing else (ICAO 9303 Part 11 §9.8.5; PROFILE.md §7: a Type A channel
/// never carries DO`87` and a Type D channel never DO`81`).
fn parse_response(data: &[u8], mode: SmMode) -> Result<ResponseObjects<'_>, SmError> {
    let allowed_data_tag = match mode {
        SmMode::Encrypt => TAG_ENCRYPTED,
        SmMode::Mac => TAG_PLAIN,
    };
    let mut payload: Option<DataObject<'_>> = None;
    let mut status: Option<DataObject<'_>> = None;
    let mut mac: Option<DataObject<'_>> = None;
    let mut rest = data;
    while !rest.is_empty() {
        let (object, tail) = read_do(rest)?;
        rest = tail;
        let slot = match object.tag {
            t if t == allowed_data_tag && status.is_none() && mac.is_none() => &mut payload,
            TAG_STATUS if mac.is_none() => &mut status,
            TAG_MAC => &mut mac,
            other => return Err(SmError::UnexpectedObject(other)),
        };
        if slot.is_some() {
            return Err(SmError::UnexpectedObject(object.tag));
        }
        *slot = Some(object);
    }
    let mac = mac.ok_or(SmError::MissingObject("DO8E"))?;
    let status = status.ok_or(SmError::MissingObject("DO99"))?;
    if mac.value.len() != 8 {
        return Err(SmError::Malformed("DO8E must hold 8 bytes"));
    }
    Ok(ResponseObjects {
        data: payload,
        status,
        mac: mac.value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn key(s: &str) -> SecretKey {
        SecretKey::from_hex(s).unwrap()
    }

    // Golden exchanges copied from tests/vectors/profile-v1.json.
    struct Golden {
        suite: Suite,
        mode: SmMode,
        ks_enc: &'static str,
        ks_mac: &'static str,
        /// The exchange's `ssc` (command SSC); the response SSC is one more.
        ssc: &'static str,
        plain_command: &'static str,
        extended: bool,
        command: &'static str,
        response: &'static str,
        plain_data: &'static str,
    }

    /// Transcript D-aes128-short, second READ BINARY.
    const D_AES128: Golden = Golden {
        suite: Suite::Aes128,
        mode: SmMode::Encrypt,
        ks_enc: "F76A27029FBE6DD9AC3E8E6A3B8FCC44",
        ks_mac: "B04D66665FEDA37C757C7BA8D0C426D5",
        ssc: "00000000000000004943433649464439",
        plain_command: "00B000DF20",
        extended: false,
        command: "0CB000DF0D9701208E0886BF7D28900DC9BD00",
        response: "873101BB3B23392CE1B3A206C7B4C1DB5DF6C5AC5E71BDA3D91BDD64D3F6B5B868B2180B9F6042B77AB7B01508B95348EBBF0F990290008E088834AF63992EABFE9000",
        plain_data: "DFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFE",
    };

    /// Transcript A-3des-extended, READ RECORD(S).
    const A_3DES: Golden = Golden {
        suite: Suite::TripleDes,
        mode: SmMode::Mac,
        ks_enc: "43623D892A6EC289B98F1CAB7A57C175",
        ks_mac: "3E8AC1F45B9EB58ADCABE05B4C4C5445",
        ssc: "4943433149464432",
        plain_command: "00B2010D00",
        extended: true,
        command: "0CB2010D00000D9701008E08B29485419500D9D80000",
        response: "8121C00D31303033303030303030303131C10A4B494F534B2D33444553C20420250401990290008E08EEF31958F3E87F479000",
        plain_data: "C00D31303033303030303030303131C10A4B494F534B2D33444553C20420250401",
    };

    /// Transcript D-3des-short, second READ BINARY.
    const D_3DES: Golden = Golden {
        suite: Suite::TripleDes,
        mode: SmMode::Encrypt,
        ks_enc: "7623750EBF4AF45EDCB526AD94B964A2",
        ks_mac: "E6D6F4FEC8E53BA28F517C469E5EB038",
        ssc: "4943433349464436",
        plain_command: "00B000DF20",
        extended: false,
        command: "0CB000DF0D9701208E087427FFA9B2EF7F8000",
        response: "87290152FB9E74D1717158434BBA95BBDFA1E974B346F2CE3F89A3C13137BB52D27C542AFC99EB4B04CDFC990290008E08C47876C028C5F8E59000",
        plain_data: "DFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFE",
    };

    /// A channel whose next operation is the golden exchange's command.
    fn before_command(g: &Golden) -> SecureChannel {
        let mut ssc = h(g.ssc);
        // The SSC is incremented before the command: start one below.
        let last = ssc.last_mut().unwrap();
        *last -= 1;
        SecureChannel::new(g.suite, key(g.ks_enc), key(g.ks_mac), ssc, g.mode)
    }

    /// A channel whose next operation is the golden exchange's response.
    fn before_response(g: &Golden) -> SecureChannel {
        SecureChannel::new(g.suite, key(g.ks_enc), key(g.ks_mac), h(g.ssc), g.mode)
    }

    fn encoding(g: &Golden) -> LengthEncoding {
        if g.extended {
            LengthEncoding::Extended
        } else {
            LengthEncoding::Short
        }
    }

    /// The card side: a protected response over `objects` (already encoded
    /// DO87/DO81 and DO99), MAC computed with the channel's keys.
    fn card_response(g: &Golden, objects: &[u8], sw: [u8; 2]) -> Response {
        let ch = before_response(g);
        let mut ssc = h(g.ssc);
        increment(&mut ssc);
        let mut input = ssc;
        input.extend_from_slice(objects);
        let mac = crypto::mac(ch.suite, &ch.ks_mac, &pad(&input, ch.suite.block_size())).unwrap();
        let mut data = objects.to_vec();
        push_do(&mut data, TAG_MAC, &mac).unwrap();
        Response::new(data, StatusWord::from_bytes(sw[0], sw[1]))
    }

    #[test]
    fn golden_exchanges_round_trip() {
        for g in [&D_AES128, &D_3DES, &A_3DES] {
            let mut ch = before_command(g);
            let (plain, _) = Command::parse(&h(g.plain_command)).unwrap();
            let protected = ch.protect(&plain, encoding(g)).unwrap();
            assert_eq!(
                protected.to_bytes(encoding(g)).unwrap().to_vec(),
                h(g.command)
            );
            let resp = ch
                .unprotect(&Response::parse(&h(g.response)).unwrap())
                .unwrap();
            assert_eq!(resp.data, h(g.plain_data));
            assert_eq!(resp.sw, StatusWord::Success);
            assert!(ch.is_open());
        }
    }

    #[test]
    fn every_single_bit_flip_is_refused() {
        for g in [&D_AES128, &D_3DES, &A_3DES] {
            let golden = h(g.response);
            for bit in 0..golden.len() * 8 {
                let mut bytes = golden.clone();
                bytes[bit / 8] ^= 0x80 >> (bit % 8);
                let mut ch = before_response(g);
                let result = ch.unprotect(&Response::parse(&bytes).unwrap());
                assert!(result.is_err(), "bit {bit} accepted");
                assert!(!ch.is_open(), "bit {bit} left the channel open");
                assert_eq!(
                    ch.protect(&Command::header(0, 0xB0, 0, 0), LengthEncoding::Short),
                    Err(SmError::Closed)
                );
            }
        }
    }

    #[test]
    fn missing_do8e_is_refused() {
        let g = &A_3DES;
        let golden = h(g.response);
        // Drop "8E 08 <mac>" (10 bytes) before the status word.
        let mut bytes = golden[..golden.len() - 12].to_vec();
        bytes.extend_from_slice(&[0x90, 0x00]);
        let mut ch = before_response(g);
        assert_eq!(
            ch.unprotect(&Response::parse(&bytes).unwrap()),
            Err(SmError::MissingObject("DO8E"))
        );
        assert!(!ch.is_open());
    }

    #[test]
    fn missing_do99_is_refused() {
        let g = &A_3DES;
        let mut objects = Vec::new();
        push_do(&mut objects, TAG_PLAIN, &[1, 2, 3]).unwrap();
        let resp = card_response(g, &objects, [0x90, 0x00]);
        let mut ch = before_response(g);
        assert_eq!(ch.unprotect(&resp), Err(SmError::MissingObject("DO99")));
        assert!(!ch.is_open());
    }

    #[test]
    fn do99_differing_from_sw_is_refused() {
        // The golden response with its (unauthenticated) outer SW changed.
        let g = &D_AES128;
        let mut bytes = h(g.response);
        let n = bytes.len();
        bytes[n - 2..].copy_from_slice(&[0x62, 0x82]);
        let mut ch = before_response(g);
        assert_eq!(
            ch.unprotect(&Response::parse(&bytes).unwrap()),
            Err(SmError::StatusMismatch)
        );
        assert!(!ch.is_open());

        // A correctly MACed DO99 that differs from the SW.
        let g = &A_3DES;
        let resp = card_response(g, &h("99026A82"), [0x90, 0x00]);
        let mut ch = before_response(g);
        assert_eq!(ch.unprotect(&resp), Err(SmError::StatusMismatch));
    }

    #[test]
    fn wrong_data_object_for_the_mode_is_refused() {
        // DO81 on an encryption channel, validly MACed.
        let g = &D_AES128;
        let resp = card_response(g, &h("8103010203 99029000"), [0x90, 0x00]);
        let mut ch = before_response(g);
        assert_eq!(ch.unprotect(&resp), Err(SmError::UnexpectedObject(0x81)));
        assert!(!ch.is_open());

        // DO87 on a MAC channel, validly MACed.
        let g = &A_3DES;
        let resp = card_response(g, &h("8709 01 0011223344556677 99029000"), [0x90, 0x00]);
        let mut ch = before_response(g);
        assert_eq!(ch.unprotect(&resp), Err(SmError::UnexpectedObject(0x87)));
        assert!(!ch.is_open());
    }

    #[test]
    fn duplicates_unknown_tags_and_wrong_order_are_refused() {
        let g = &A_3DES;
        for (objects, tag) in [
            ("8101AA 8101BB 99029000", 0x81),
            ("99029000 8101AA", 0x81),
            ("99029000 99029000", 0x99),
            ("8501AA 99029000", 0x85),
        ] {
            let resp = card_response(g, &h(objects), [0x90, 0x00]);
            let mut ch = before_response(g);
            assert_eq!(ch.unprotect(&resp), Err(SmError::UnexpectedObject(tag)));
        }
        // Anything after DO8E.
        let mut resp = card_response(g, &h("99029000"), [0x90, 0x00]);
        resp.data.extend_from_slice(&h("8101AA"));
        let mut ch = before_response(g);
        assert_eq!(ch.unprotect(&resp), Err(SmError::UnexpectedObject(0x81)));
    }

    #[test]
    fn bad_padding_indicator_is_refused() {
        let g = &D_AES128;
        let resp = card_response(
            g,
            &h("8711 02 00112233445566778899AABBCCDDEEFF 99029000"),
            [0x90, 0x00],
        );
        let mut ch = before_response(g);
        assert_eq!(
            ch.unprotect(&resp),
            Err(SmError::Malformed("DO87 padding indicator is not 01"))
        );
    }

    /// The 3DES response cryptogram of `plain` (padded) under the golden
    /// exchange's `KS_enc`, zero IV, as DO87.
    fn do87_3des(g: &Golden, padded: &[u8]) -> Vec<u8> {
        let ch = before_response(g);
        let cryptogram = encrypt_cbc(ch.suite, &ch.ks_enc, &[0; 8], padded).unwrap();
        let mut value = vec![PADDING_INDICATOR];
        value.extend_from_slice(&cryptogram);
        let mut out = Vec::new();
        push_do(&mut out, TAG_ENCRYPTED, &value).unwrap();
        out
    }

    #[test]
    fn triple_des_responses_of_every_length_decrypt_in_one_pass() {
        // 0 to 40 blocks of cryptogram: every split between the interleaved
        // groups of the MAC-and-decrypt pass and its remainder.
        let g = &D_3DES;
        for n in 0..320usize {
            let plain: Vec<u8> = (0..n).map(|i| (i * 7 + n) as u8).collect();
            let mut objects = do87_3des(g, &pad(&plain, 8));
            objects.extend_from_slice(&h("99029000"));
            let mut ch = before_response(g);
            let resp = ch
                .unprotect(&card_response(g, &objects, [0x90, 0x00]))
                .unwrap();
            assert_eq!(resp.data, plain, "{n} bytes");
        }
    }

    #[test]
    fn a_bad_mac_comes_before_a_malformed_or_badly_padded_cryptogram() {
        let g = &D_3DES;
        // Not padded with method 2: the MAC matches, the padding does not.
        let mut objects = do87_3des(g, &[0x11; 16]);
        objects.extend_from_slice(&h("99029000"));
        let mut ch = before_response(g);
        assert_eq!(
            ch.unprotect(&card_response(g, &objects, [0x90, 0x00])),
            Err(SmError::Malformed("bad padding in DO87"))
        );
        // The same with a wrong MAC: the MAC is what is reported.
        let mut resp = card_response(g, &objects, [0x90, 0x00]);
        let n = resp.data.len();
        resp.data[n - 1] ^= 1;
        let mut ch = before_response(g);
        assert_eq!(ch.unprotect(&resp), Err(SmError::BadMac));
        // A cryptogram that is not whole blocks, with a good and a bad MAC.
        let objects = h("870B 01 00112233445566778899 99029000");
        let mut ch = before_response(g);
        assert_eq!(
            ch.unprotect(&card_response(g, &objects, [0x90, 0x00])),
            Err(SmError::Malformed(
                "DO87 cryptogram is not a whole number of blocks"
            ))
        );
        let mut resp = card_response(g, &objects, [0x90, 0x00]);
        let n = resp.data.len();
        resp.data[n - 1] ^= 1;
        let mut ch = before_response(g);
        assert_eq!(ch.unprotect(&resp), Err(SmError::BadMac));
    }

    #[test]
    fn unprotected_status_words_end_the_channel() {
        for sw in [0x6988u16, 0x6987, 0x6700, 0x9000, 0x6A82] {
            let mut ch = before_response(&D_AES128);
            assert_eq!(
                ch.unprotect(&Response::new(vec![], StatusWord::from_u16(sw))),
                Err(SmError::Unprotected(sw))
            );
            assert!(!ch.is_open());
            assert_eq!(
                ch.unprotect(&Response::parse(&h(D_AES128.response)).unwrap()),
                Err(SmError::Closed)
            );
        }
    }

    #[test]
    fn after_an_error_protect_is_closed() {
        let mut ch = before_response(&A_3DES);
        let _ = ch.unprotect(&Response::new(vec![], StatusWord::SmObjectsIncorrect));
        let (plain, _) = Command::parse(&h(A_3DES.plain_command)).unwrap();
        assert_eq!(
            ch.protect(&plain, LengthEncoding::Extended),
            Err(SmError::Closed)
        );
        let mut ch = before_command(&A_3DES);
        ch.close();
        assert!(!ch.is_open());
        assert_eq!(
            ch.protect(&plain, LengthEncoding::Extended),
            Err(SmError::Closed)
        );
    }

    #[test]
    fn do97_and_ber_lengths() {
        let mut ch = before_command(&A_3DES);
        let cmd = Command::new(0, 0xB0, 0, 0, [], Some(65_536)).unwrap();
        let p = ch.protect(&cmd, LengthEncoding::Extended).unwrap();
        assert_eq!(&p.data()[..4], &[0x97, 0x02, 0x00, 0x00]);
        assert_eq!(p.ne(), Some(65_536));

        let cmd = Command::new(0, 0xB0, 0, 0, [], Some(0x1234)).unwrap();
        let p = ch.protect(&cmd, LengthEncoding::Extended).unwrap();
        assert_eq!(&p.data()[..4], &[0x97, 0x02, 0x12, 0x34]);

        let cmd = Command::new(0, 0xD6, 0, 0, vec![0x5A; 0xE1], None).unwrap();
        let p = ch.protect(&cmd, LengthEncoding::Extended).unwrap();
        assert_eq!(&p.data()[..3], &[0x81, 0x81, 0xE1]);
        // No Le in the plain command: no DO97, straight to DO8E.
        assert_eq!(p.data()[3 + 0xE1], 0x8E);

        let cmd = Command::new(0, 0xD6, 0, 0, vec![0x5A; 0x101], Some(1)).unwrap();
        let p = ch.protect(&cmd, LengthEncoding::Extended).unwrap();
        assert_eq!(&p.data()[..4], &[0x81, 0x82, 0x01, 0x01]);
        assert_eq!(&p.data()[4 + 0x101..4 + 0x101 + 3], &[0x97, 0x01, 0x01]);
        assert!(ch.is_open());
    }

    #[test]
    fn too_long_for_a_short_apdu_is_an_error_and_closes() {
        let mut ch = before_command(&A_3DES);
        let cmd = Command::new(0, 0xD6, 0, 0, vec![0; 250], None).unwrap();
        assert!(matches!(
            ch.protect(&cmd, LengthEncoding::Short),
            Err(SmError::Encoding(_))
        ));
        assert!(!ch.is_open());
    }

    #[test]
    fn wrong_setup_is_an_error_not_a_panic() {
        let mut ch = SecureChannel::new(
            Suite::Aes256,
            key("00112233445566778899AABBCCDDEEFF"),
            key("00112233445566778899AABBCCDDEEFF"),
            vec![0; 16],
            SmMode::Encrypt,
        );
        assert!(matches!(
            ch.protect(&Command::header(0, 0xB0, 0, 0), LengthEncoding::Short),
            Err(SmError::Setup(_))
        ));
        let mut ch = SecureChannel::new(
            Suite::TripleDes,
            key(A_3DES.ks_enc),
            key(A_3DES.ks_mac),
            vec![0; 16],
            SmMode::Mac,
        );
        assert!(matches!(
            ch.unprotect(&Response::parse(&h(A_3DES.response)).unwrap()),
            Err(SmError::Setup(_))
        ));
    }

    #[test]
    fn debug_shows_no_secrets() {
        let ch = before_command(&D_AES128);
        let text = format!("{ch:?}");
        assert_eq!(
            text,
            "SecureChannel { suite: Aes128, mode: Encrypt, open: true, .. }"
        );
        for secret in [D_AES128.ks_enc, D_AES128.ks_mac, D_AES128.ssc] {
            assert!(!text.contains(secret));
            assert!(!text.to_lowercase().contains(&secret.to_lowercase()));
        }
    }

    fn fresh(g: &Golden) -> SecureChannel {
        before_response(g)
    }

    fn structured_response() -> impl Strategy<Value = Vec<u8>> {
        let tag = prop_oneof![
            Just(0x81u8),
            Just(0x87),
            Just(0x99),
            Just(0x8E),
            Just(0x97),
            any::<u8>()
        ];
        let object = (tag, proptest::collection::vec(any::<u8>(), 0..300));
        proptest::collection::vec(object, 0..5).prop_map(|objects| {
            let mut out = Vec::new();
            for (tag, value) in objects {
                let _ = push_do(&mut out, tag, &value);
            }
            out
        })
    }

    proptest! {
        #[test]
        fn unprotect_never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            for g in [&D_AES128, &D_3DES, &A_3DES] {
                let mut ch = fresh(g);
                if let Ok(resp) = Response::parse(&bytes) {
                    prop_assert!(ch.unprotect(&resp).is_err());
                    prop_assert!(!ch.is_open());
                }
            }
        }

        #[test]
        fn unprotect_never_panics_on_structured_objects(
            data in structured_response(),
            sw in any::<u16>(),
        ) {
            for g in [&D_AES128, &D_3DES, &A_3DES] {
                let mut ch = fresh(g);
                let resp = Response::new(data.clone(), StatusWord::from_u16(sw));
                prop_assert!(ch.unprotect(&resp).is_err());
            }
        }
    }

    #[test]
    fn the_ssc_never_wraps() {
        let plain = Command::new(0x00, 0xB0, 0x81, 0x00, Vec::new(), Some(256)).unwrap();
        for suite in [Suite::TripleDes, Suite::Aes128, Suite::Aes256] {
            let key = || SecretKey::new(vec![7; suite.key_len()]);
            let mut at_cap = SecureChannel::new(
                suite,
                key(),
                key(),
                vec![0xFF; suite.ssc_len()],
                SmMode::Mac,
            );
            assert_eq!(
                at_cap.protect(&plain, LengthEncoding::Short).unwrap_err(),
                SmError::SscExhausted
            );
            assert!(!at_cap.is_open());
            let mut last = vec![0xFF; suite.ssc_len()];
            if let Some(b) = last.last_mut() {
                *b = 0xFE;
            }
            let mut near = SecureChannel::new(suite, key(), key(), last, SmMode::Mac);
            near.protect(&plain, LengthEncoding::Short).unwrap();
            let response = Response::parse(&[
                0x99, 0x02, 0x90, 0x00, 0x8E, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0x90, 0x00,
            ])
            .unwrap();
            assert_eq!(
                near.unprotect(&response).unwrap_err(),
                SmError::SscExhausted
            );
            assert!(!near.is_open());
        }
    }
}
