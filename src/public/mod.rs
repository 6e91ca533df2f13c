//! The card's own public APs: JPKI (public personal authentication:
//! certificates and on-card RSA signatures) and kenhojo (the text of the
//! card face), with PIN safety no caller can bypass:
//!
//! - a malformed PIN is refused before anything is sent ([`PinError::Malformed`]);
//! - the retry count is read with VERIFY without data, which spends no try;
//! - a VERIFY is refused when the tries left are at or below the floor
//!   ([`PinFloor`], 1 by default: the last try is never used unless the
//!   caller asks with [`PinFloor::ALLOW_LAST_TRY`]);
//! - a VERIFY is sent once: never resent, not after a transport failure
//!   either (operations with a PIN are never restarted);
//! - VERIFY and what it unlocks run in one transaction, and the PIN is
//!   zeroized and redacted in traces.
//!
//! The card is identified by SELECT and the JPKI token, never by its ATR.
//!
//! On-card RSA takes about a second. PC/SC gives `SCardTransmit` no
//! timeout of its own: the exchange waits as long as the reader driver lets
//! the card ask for more time (waiting-time extensions), and cardap adds no
//! shorter limit of its own, so a slow signature is not cut off.

mod commands;
mod io;
pub mod jpki;
#[cfg(feature = "json")]
pub mod json;
pub mod kenhojo;
pub mod pin;

use rsa::RsaPublicKey;

use crate::ap::{DirEntry, LengthMode, Reader};
use crate::atr;
use crate::error::{Error, Result};
use crate::session::Session;
use crate::transport::Transport;
use commands::PinRef;
use io::{Addr, Ctx, refuses_sfi};

pub use jpki::{CardKind, Certificate, HashAlg, JPKI_AID, SigningKey, TOKEN_MY_NUMBER_CARD};
pub use kenhojo::{
    BasicFacts, Date, KENHOJO_AID, KenhojoData, KenhojoRequest, MyNumber, Sex, Verification,
    public_key_from,
};
pub use pin::{Pin, PinError, PinFloor, PinKind};

/// How the card was identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfo {
    /// What the JPKI token says.
    pub kind: CardKind,
    /// The token as read (trimmed), when there is a JPKI AP.
    pub token: Option<String>,
    /// The APs EF.DIR lists (empty when there is no EF.DIR).
    pub aps: Vec<DirEntry>,
}

/// The retry counts of the three PINs (`None`: that AP is not on the card).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinStatus {
    /// JPKI authentication PIN.
    pub jpki_auth: Option<u8>,
    /// JPKI signature PIN.
    pub jpki_sign: Option<u8>,
    /// kenhojo PIN.
    pub kenhojo: Option<u8>,
}

/// The card's public APs over a [`Transport`]. It remembers, for this card,
/// whether the kenhojo AP takes short-file-identifier addressing, and
/// whether extended length works.
pub struct PublicAps<T: Transport> {
    transport: T,
    length: LengthMode,
    floor: PinFloor,
    /// `None` until tried; `Some(false)` after the card refused it.
    kenhojo_sfi: Option<bool>,
    /// `false` once the card or reader refused an extended read.
    extended_ok: bool,
    apdus: usize,
}

impl<T: Transport> std::fmt::Debug for PublicAps<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicAps")
            .field("length", &self.length)
            .field("floor", &self.floor)
            .field("kenhojo_sfi", &self.kenhojo_sfi)
            .field("extended_ok", &self.extended_ok)
            .finish_non_exhaustive()
    }
}

/// Reads without a PIN start again from SELECT this many times after a reset
/// by another party or a link glitch.
const MAX_RETRIES: usize = 2;

impl<T: Transport> PublicAps<T> {
    /// Over `transport`, automatic length choice, the default PIN floor (1).
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            length: LengthMode::Auto,
            floor: PinFloor::default(),
            kenhojo_sfi: None,
            extended_ok: true,
            apdus: 0,
        }
    }

    /// Forces short APDUs, or lets the ATR decide.
    pub fn with_length_mode(mut self, mode: LengthMode) -> Self {
        self.length = mode;
        self
    }

    /// Sets the PIN floor: a VERIFY is refused when the tries left are at or
    /// below it. [`PinFloor::ALLOW_LAST_TRY`] (0) lets the last try be used.
    pub fn with_pin_floor(mut self, floor: PinFloor) -> Self {
        self.floor = floor;
        self
    }

    /// Whether the kenhojo AP is addressed by short file identifier: `false`
    /// skips the attempt (cards known to refuse it).
    pub fn with_kenhojo_sfi(mut self, on: bool) -> Self {
        self.kenhojo_sfi = Some(on);
        self
    }

    /// What this card taught about SFI addressing in the kenhojo AP (`None`:
    /// not tried yet).
    pub fn kenhojo_sfi(&self) -> Option<bool> {
        self.kenhojo_sfi
    }

    /// Command APDUs the last operation sent.
    pub fn last_apdus(&self) -> usize {
        self.apdus
    }

    /// The transport.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    fn extended(&self) -> bool {
        self.extended_ok
            && self.length == LengthMode::Auto
            && self.transport.supports_extended()
            && self
                .transport
                .atr()
                .is_some_and(|a| atr::supports_extended_length(&a))
    }

    /// Runs `op` in one transaction on one session. `restartable`: a read
    /// without a PIN, started again from SELECT after a reset by another
    /// party or a link glitch. An operation with a PIN is never restarted.
    fn run<R>(
        &mut self,
        restartable: bool,
        mut op: impl FnMut(&mut Ctx<'_, '_>, &mut Option<bool>) -> Result<R>,
    ) -> Result<R> {
        let mut extended = self.extended();
        let mut sfi = self.kenhojo_sfi;
        let mut spent = 0;
        let mut retries = 0;
        let mut outcome: Option<Result<R>> = None;
        let began = self.transport.transaction(&mut |t| {
            loop {
                let mut session = Session::new(&mut *t, extended);
                let mut ctx = Ctx {
                    session: &mut session,
                    extended,
                };
                let r = op(&mut ctx, &mut sfi);
                extended = ctx.extended;
                spent += session.apdu_count();
                match r {
                    Err(Error::Transport(e))
                        if restartable && e.is_retryable() && retries < MAX_RETRIES =>
                    {
                        retries += 1;
                    }
                    other => {
                        outcome = Some(other);
                        return;
                    }
                }
            }
        });
        self.apdus = spent;
        self.kenhojo_sfi = sfi;
        if !extended {
            self.extended_ok = false;
        }
        began?;
        outcome.unwrap_or(Err(Error::ExtendedRejected))
    }

    /// Identifies the card by SELECT of the JPKI AP and its token (never by
    /// ATR), and lists the APs of EF.DIR where there is one.
    pub fn info(&mut self) -> Result<CardInfo> {
        let aps = {
            let mut reader = Reader::new(&mut self.transport).with_length_mode(self.length);
            match reader.list() {
                Ok(aps) => aps,
                // No EF.DIR (or no MF to select): no list.
                Err(Error::Status { .. } | Error::ApNotFound { .. }) => Vec::new(),
                Err(e) => return Err(e),
            }
        };
        let token = self.run(true, |ctx, _| {
            match ctx.select_ap(&JPKI_AID) {
                Ok(()) => {}
                Err(Error::ApNotFound { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
            ctx.select_ef(jpki::TOKEN_EF)?;
            let bytes = ctx.read_fixed(Addr::Current, jpki::TOKEN_LEN)?;
            Ok(Some(jpki::token_text(&bytes)))
        })?;
        let kind = match token.as_deref() {
            None => CardKind::Unknown,
            Some(TOKEN_MY_NUMBER_CARD) => CardKind::MyNumber,
            Some(_) => CardKind::JpkiOther,
        };
        Ok(CardInfo { kind, token, aps })
    }

    /// The tries left of the three PINs, without spending any: one SELECT
    /// per AP and per PIN EF and one VERIFY without data per PIN (the
    /// kenhojo PIN by short file identifier where the card takes it).
    pub fn pin_status(&mut self) -> Result<PinStatus> {
        self.run(true, |ctx, sfi| {
            let (jpki_auth, jpki_sign) = match ctx.select_ap(&JPKI_AID) {
                Ok(()) => (
                    Some(ctx.count_by_select(PinKind::JpkiAuth)?),
                    Some(ctx.count_by_select(PinKind::JpkiSign)?),
                ),
                Err(Error::ApNotFound { .. }) => (None, None),
                Err(e) => return Err(e),
            };
            let kenhojo = match ctx.select_ap(&KENHOJO_AID) {
                Ok(()) => Some(kenhojo_count(ctx, sfi)?.0),
                Err(Error::ApNotFound { .. }) => None,
                Err(e) => return Err(e),
            };
            if jpki_auth.is_none() && kenhojo.is_none() {
                return Err(Error::ApNotFound {
                    aid: hex::encode_upper(JPKI_AID),
                });
            }
            Ok(PinStatus {
                jpki_auth,
                jpki_sign,
                kenhojo,
            })
        })
    }

    /// A JPKI certificate, DER. The signature certificate needs the
    /// signature PIN (`pin`); the others need none (a PIN given is not used).
    pub fn certificate(&mut self, which: Certificate, pin: Option<&Pin>) -> Result<Vec<u8>> {
        let floor = self.floor;
        if which.needs_pin() {
            let pin = pin.ok_or(PinError::Malformed {
                pin: PinKind::JpkiSign,
            })?;
            if pin.kind() != PinKind::JpkiSign {
                return Err(PinError::Malformed {
                    pin: PinKind::JpkiSign,
                }
                .into());
            }
            return self.run(false, |ctx, _| {
                ctx.select_ap(&JPKI_AID)?;
                let left = ctx.count_by_select(PinKind::JpkiSign)?;
                ctx.verify(pin, PinRef::Current, left, floor)?;
                ctx.select_ef(which.fid())?;
                ctx.read_object(Addr::Current, "JPKI")
            });
        }
        self.run(true, |ctx, _| {
            ctx.select_ap(&JPKI_AID)?;
            ctx.select_ef(which.fid())?;
            ctx.read_object(Addr::Current, "JPKI")
        })
    }

    /// Signs `data`: its digest with `hash`, as a DigestInfo, signed on the
    /// card with `key` (PKCS#1 v1.5). Six round trips: SELECT AP, SELECT PIN
    /// EF, retry count, VERIFY, SELECT key EF, sign.
    pub fn sign(
        &mut self,
        key: SigningKey,
        pin: &Pin,
        hash: HashAlg,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let digest = hash.digest(data);
        self.sign_digest(key, pin, hash, &digest)
    }

    /// Signs a digest made with `hash` (see [`PublicAps::sign`]).
    pub fn sign_digest(
        &mut self,
        key: SigningKey,
        pin: &Pin,
        hash: HashAlg,
        digest: &[u8],
    ) -> Result<Vec<u8>> {
        if pin.kind() != key.pin() {
            return Err(PinError::Malformed { pin: key.pin() }.into());
        }
        let info = hash.digest_info(digest).ok_or_else(|| Error::Malformed {
            ap: "JPKI".into(),
            problem: format!("a {hash:?} digest is {} bytes", hash.len()),
        })?;
        let floor = self.floor;
        self.run(false, |ctx, _| {
            ctx.select_ap(&JPKI_AID)?;
            let left = ctx.count_by_select(key.pin())?;
            ctx.verify(pin, PinRef::Current, left, floor)?;
            ctx.select_ef(key.fid())?;
            let resp = ctx.send(&commands::sign(&info)?)?;
            if !resp.sw.is_success() || resp.data.is_empty() {
                return Err(Error::Status {
                    command: "SIGN",
                    sw: resp.sw,
                });
            }
            let mut resp = resp;
            Ok(std::mem::take(&mut resp.data))
        })
    }

    /// The kenhojo AP after its PIN: the four facts, the My Number when
    /// `request.my_number`, and the digest and signature checks when
    /// `request.verify`. With SFI addressing: SELECT AP, retry count, VERIFY,
    /// one read per EF.
    pub fn kenhojo(&mut self, pin: &Pin, request: &KenhojoRequest) -> Result<KenhojoData> {
        if pin.kind() != PinKind::Kenhojo {
            return Err(PinError::Malformed {
                pin: PinKind::Kenhojo,
            }
            .into());
        }
        let floor = self.floor;
        let key: Option<&RsaPublicKey> = request.verify_key.as_ref();
        let mut data = self.run(false, |ctx, sfi| {
            ctx.select_ap(&KENHOJO_AID)?;
            let (left, at) = kenhojo_count(ctx, sfi)?;
            ctx.verify(pin, at, left, floor)?;
            let facts_ef = kenhojo_read(ctx, sfi, kenhojo::FACTS_EF, None)?;
            let (facts, facts_object) = kenhojo::parse_facts(&facts_ef)?;
            let mut my_number = None;
            let mut number_ef = None;
            if request.my_number {
                let ef = kenhojo_read(
                    ctx,
                    sfi,
                    kenhojo::MY_NUMBER_EF,
                    Some(kenhojo::MY_NUMBER_READ),
                )?;
                my_number = Some(kenhojo::parse_my_number(&ef)?.0);
                number_ef = Some(zeroize::Zeroizing::new(ef));
            }
            let verification = if request.verify {
                let sig_ef = kenhojo_read(ctx, sfi, kenhojo::SIGNATURE_EF, None)?;
                let number = match &number_ef {
                    Some(ef) => Some((kenhojo::parse_my_number(ef)?.1, ef.as_slice())),
                    None => None,
                };
                Some(kenhojo::verify(
                    &sig_ef,
                    (facts_object, &facts_ef),
                    number,
                    key,
                )?)
            } else {
                None
            };
            Ok(KenhojoData {
                facts,
                my_number,
                verification,
                apdus: 0,
            })
        })?;
        data.apdus = self.apdus;
        Ok(data)
    }
}

/// The kenhojo retry count: by SFI (`00 20 00 91`) unless the card refused
/// SFI before; on a refusal, SELECT EF `0011` and `00 20 00 80` (the one
/// extra round trip), remembered. Returns the count and how the PIN is
/// addressed.
fn kenhojo_count(ctx: &mut Ctx<'_, '_>, sfi: &mut Option<bool>) -> Result<(u8, PinRef)> {
    if *sfi != Some(false) {
        let at = PinRef::Sfi(kenhojo::PIN_SFI);
        match ctx.retry_count(at)? {
            Ok(n) => {
                *sfi = Some(true);
                return Ok((n, at));
            }
            Err(sw) if refuses_sfi(sw) || sfi.is_none() => *sfi = Some(false),
            Err(sw) => {
                return Err(Error::Status {
                    command: "VERIFY (retry count)",
                    sw,
                });
            }
        }
    }
    Ok((ctx.count_by_select(PinKind::Kenhojo)?, PinRef::Current))
}

/// Reads a kenhojo EF: by SFI where the card takes it (falling back to
/// SELECT EF once on a refusal, remembered), else SELECT EF and read.
/// `fixed`: one read of that many bytes; else a length-prefixed object.
fn kenhojo_read(
    ctx: &mut Ctx<'_, '_>,
    sfi: &mut Option<bool>,
    fid: [u8; 2],
    fixed: Option<usize>,
) -> Result<Vec<u8>> {
    let [_, short_id] = fid;
    let read = |ctx: &mut Ctx<'_, '_>, addr| match fixed {
        Some(n) => ctx.read_fixed(addr, n),
        None => ctx.read_object(addr, "kenhojo"),
    };
    if *sfi == Some(true) {
        match read(ctx, Addr::Sfi(short_id)) {
            Err(Error::Status {
                command: "READ BINARY",
                sw,
            }) if refuses_sfi(sw) => *sfi = Some(false),
            other => return other,
        }
    }
    ctx.select_ef(fid)?;
    read(ctx, Addr::Current)
}
