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

mod io;
pub mod jpki;
#[cfg(feature = "json")]
pub mod json;
pub mod kenhojo;
pub mod pin;

use rsa::RsaPublicKey;

use crate::ap::DirEntry;
use crate::card::{Card, Policy};
use crate::commands;
use crate::error::{Error, Result};
use crate::transport::Transport;
use io::{Addr, Ctx, PinRef, refuses_sfi};

pub use jpki::{CardKind, Certificate, HashAlg, JPKI_AID, SigningKey, TOKEN_MY_NUMBER_CARD};
pub use kenhojo::{
    BasicFacts, Date, KENHOJO_AID, KenhojoData, KenhojoRequest, MyNumber, Sex, Verification,
    public_key_from,
};
pub use pin::{Pin, PinError, PinFloor, PinKind};

/// How the card was identified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct PinStatus {
    /// JPKI authentication PIN.
    pub jpki_auth: Option<u8>,
    /// JPKI signature PIN.
    pub jpki_sign: Option<u8>,
    /// kenhojo PIN.
    pub kenhojo: Option<u8>,
}

/// What a [`Card`] keeps for the public APs: the PIN floor, and what the card
/// taught about short-file-identifier addressing in the kenhojo AP.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PublicState {
    floor: PinFloor,
    /// `None` until tried; `Some(false)` after the card refused it.
    kenhojo_sfi: Option<bool>,
    /// Command APDUs of the last public-AP operation.
    apdus: usize,
}

/// The card's public APs (JPKI, kenhojo) on a [`Card`]: identification,
/// PIN counts, certificates, signatures and the card-face text, with the PIN
/// safety rules of this module.
impl<T: Transport> Card<T> {
    /// Sets the PIN floor: a VERIFY is refused ([`PinError::Floor`], nothing
    /// sent) when the tries left are at or below it. The default is 1;
    /// [`PinFloor::ALLOW_LAST_TRY`] (0) lets the last try be used.
    pub fn with_pin_floor(mut self, floor: PinFloor) -> Self {
        self.public.floor = floor;
        self
    }

    /// Changes the PIN floor (see [`Card::with_pin_floor`]).
    pub fn set_pin_floor(&mut self, floor: PinFloor) {
        self.public.floor = floor;
    }

    /// The PIN floor in force.
    pub fn pin_floor(&self) -> PinFloor {
        self.public.floor
    }

    /// Whether the kenhojo AP is addressed by short file identifier: `false`
    /// skips the attempt (cards known to refuse it).
    pub fn with_kenhojo_sfi(mut self, on: bool) -> Self {
        self.public.kenhojo_sfi = Some(on);
        self
    }

    /// Sets what is known about SFI addressing in the kenhojo AP (`None`:
    /// not tried yet), for a caller that keeps it across `Card` values on
    /// the same card.
    pub fn set_kenhojo_sfi(&mut self, known: Option<bool>) {
        self.public.kenhojo_sfi = known;
    }

    /// What this card taught about SFI addressing in the kenhojo AP (`None`:
    /// not tried yet).
    pub fn kenhojo_sfi(&self) -> Option<bool> {
        self.public.kenhojo_sfi
    }

    /// Command APDUs the last public-AP operation sent (GET RESPONSE
    /// included).
    pub fn last_public_apdus(&self) -> usize {
        self.public.apdus
    }

    /// Runs `op` in one transaction on one session: [`Policy::Read`] for
    /// reads without a PIN (started again from SELECT after a reset by
    /// another party or a link glitch), [`Policy::StateChanging`] for
    /// operations with a PIN (never started again once the VERIFY went out).
    fn run_public<R>(
        &mut self,
        policy: Policy,
        mut op: impl FnMut(&mut Ctx<'_, '_>, &mut Option<bool>) -> Result<R>,
    ) -> Result<R> {
        let mut sfi = self.public.kenhojo_sfi;
        let outcome = self.run(None, policy, |session, _| {
            let extended = session.extended();
            let mut ctx = Ctx { session, extended };
            op(&mut ctx, &mut sfi)
        });
        self.public.kenhojo_sfi = sfi;
        let (r, apdus) = outcome?;
        self.public.apdus = apdus;
        Ok(r)
    }

    /// Identifies the card by SELECT of the JPKI AP and its token (never by
    /// ATR), and lists the APs of EF.DIR where there is one.
    pub fn info(&mut self) -> Result<CardInfo> {
        let span = tracing::info_span!("info");
        let _entered = span.enter();
        let aps = match self.list() {
            Ok(aps) => aps,
            // No EF.DIR (or no MF to select): no list.
            Err(Error::Status { .. } | Error::ApNotFound { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        let token = self.run_public(Policy::Read, |ctx, _| {
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
    /// per AP and per PIN EF and one VERIFY without data per PIN, 8 round
    /// trips (7 where this card is known to take SFI addressing in kenhojo).
    pub fn pin_status(&mut self) -> Result<PinStatus> {
        let span = tracing::info_span!("pin_status");
        let _entered = span.enter();
        self.run_public(Policy::Read, |ctx, sfi| {
            let (jpki_auth, jpki_sign) = match ctx.select_ap(&JPKI_AID) {
                Ok(()) => (
                    Some(ctx.count_by_select(PinKind::JpkiAuth)?),
                    Some(ctx.count_by_select(PinKind::JpkiSign)?),
                ),
                Err(Error::ApNotFound { .. }) => (None, None),
                Err(e) => return Err(e),
            };
            // SFI only where this card is known to take it: a refusal here
            // would cost a ninth round trip.
            let kenhojo = match ctx.select_ap(&KENHOJO_AID) {
                Ok(()) if *sfi == Some(true) => Some(kenhojo_count(ctx, sfi)?.0),
                Ok(()) => Some(ctx.count_by_select(PinKind::Kenhojo)?),
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
    pub fn jpki_certificate(&mut self, which: Certificate, pin: Option<&Pin>) -> Result<Vec<u8>> {
        let span = tracing::info_span!("jpki_certificate", which = which.name());
        let _entered = span.enter();
        let floor = self.public.floor;
        if which.needs_pin() {
            let pin = pin
                .filter(|p| p.kind() == PinKind::JpkiSign)
                .ok_or(PinError::Malformed {
                    pin: PinKind::JpkiSign,
                })?;
            return self.run_public(Policy::StateChanging, |ctx, _| {
                ctx.select_ap(&JPKI_AID)?;
                let left = ctx.count_by_select(PinKind::JpkiSign)?;
                ctx.verify(pin, PinRef::Current, left, floor)?;
                ctx.select_ef(which.fid())?;
                ctx.read_object(Addr::Current, "JPKI")
            });
        }
        self.run_public(Policy::Read, |ctx, _| {
            ctx.select_ap(&JPKI_AID)?;
            ctx.select_ef(which.fid())?;
            ctx.read_object(Addr::Current, "JPKI")
        })
    }

    /// Signs `data`: its digest with `hash`, as a DigestInfo, signed on the
    /// card with `key` (PKCS#1 v1.5). Six round trips: SELECT AP, SELECT PIN
    /// EF, retry count, VERIFY, SELECT key EF, sign.
    pub fn jpki_sign(
        &mut self,
        key: SigningKey,
        pin: &Pin,
        hash: HashAlg,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let digest = hash.digest(data);
        self.jpki_sign_digest(key, pin, hash, &digest)
    }

    /// Signs a digest made with `hash` (see [`Card::jpki_sign`]).
    pub fn jpki_sign_digest(
        &mut self,
        key: SigningKey,
        pin: &Pin,
        hash: HashAlg,
        digest: &[u8],
    ) -> Result<Vec<u8>> {
        let span = tracing::info_span!("jpki_sign");
        let _entered = span.enter();
        if pin.kind() != key.pin() {
            return Err(PinError::Malformed { pin: key.pin() }.into());
        }
        let info = hash.digest_info(digest).ok_or_else(|| Error::Malformed {
            ap: "JPKI".into(),
            problem: format!("a {hash:?} digest is {} bytes", hash.len()),
        })?;
        let floor = self.public.floor;
        self.run_public(Policy::StateChanging, |ctx, _| {
            ctx.select_ap(&JPKI_AID)?;
            let left = ctx.count_by_select(key.pin())?;
            ctx.verify(pin, PinRef::Current, left, floor)?;
            ctx.select_ef(key.fid())?;
            let mut resp = ctx.send(&commands::jpki_sign(&info)?)?;
            if !resp.sw.is_success() || resp.data.is_empty() {
                return Err(Error::Status {
                    command: "SIGN",
                    sw: resp.sw,
                });
            }
            Ok(std::mem::take(&mut resp.data))
        })
    }

    /// The kenhojo AP after its PIN: the four facts, the My Number when
    /// `request.my_number`, and the digest and signature checks when
    /// `request.verify`. With SFI addressing: SELECT AP, retry count, VERIFY,
    /// one read per EF.
    pub fn kenhojo(&mut self, pin: &Pin, request: &KenhojoRequest) -> Result<KenhojoData> {
        let span = tracing::info_span!("kenhojo");
        let _entered = span.enter();
        if pin.kind() != PinKind::Kenhojo {
            return Err(PinError::Malformed {
                pin: PinKind::Kenhojo,
            }
            .into());
        }
        let floor = self.public.floor;
        let key: Option<&RsaPublicKey> = request.verify_key.as_ref();
        let mut data = self.run_public(Policy::StateChanging, |ctx, sfi| {
            ctx.select_ap(&KENHOJO_AID)?;
            let (left, at) = kenhojo_count(ctx, sfi)?;
            ctx.verify(pin, at, left, floor)?;
            let facts_ef =
                zeroize::Zeroizing::new(kenhojo_read(ctx, sfi, kenhojo::FACTS_EF, None)?);
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
        data.apdus = self.public.apdus;
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
