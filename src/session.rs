//! One operation's conversation with the card: the single send path that owns
//! `61xx` (GET RESPONSE), `6Cxx` (resend), command chaining and the
//! extended-length decision (PROFILE.md §1), plus the secure channel of the
//! current selection.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::apdu::{Command, LengthEncoding, MAX_SHORT_NC, MAX_SHORT_NE, Response};
use crate::auth::{self, KeyProvider};
use crate::commands::{self, Effect};
use crate::error::{Error, Result};
use crate::sm::{SecureChannel, SmError, SmMode};
use crate::status::StatusWord;
use crate::transport::{Transport, TransportError};

/// GET RESPONSE rounds allowed for one command: enough for 64 KiB in 256-byte
/// pieces, bounded so a misbehaving card cannot keep a reader looping.
const MAX_GET_RESPONSE: usize = 260;

/// Whether the card said it did not execute a command: a checking error,
/// `SW1` `67`–`6F` (ISO/IEC 7816-4 §5.6, table 6). Warnings (`62`, `63`) and
/// execution errors (`64`, `65`, `66`) may follow a change of state.
fn not_executed(sw: StatusWord) -> bool {
    matches!(sw.to_bytes(), [0x67..=0x6F, _])
}

/// An extended APDU refused by the card (`67 00` without data) or by the
/// reader or link (any transport failure that did not take the card away)
/// becomes [`Error::ExtendedRejected`], so the operation starts again with
/// short APDUs (PROFILE.md §1).
fn refused_extended(resp: Result<Response>) -> Result<Response> {
    match resp {
        Err(Error::Transport(
            TransportError::NotCarried(_)
            | TransportError::Interrupted(_)
            | TransportError::Other(_),
        )) => Err(Error::ExtendedRejected),
        Ok(r) if r.sw == StatusWord::WrongLength && r.data.is_empty() => {
            Err(Error::ExtendedRejected)
        }
        other => other,
    }
}

/// A conversation with the card inside one transaction.
pub(crate) struct Session<'t> {
    transport: &'t mut dyn Transport,
    extended: bool,
    apdus: usize,
    channel: Option<SecureChannel>,
    persistent_sent: bool,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("extended", &self.extended)
            .field("apdus", &self.apdus)
            .field("secure_channel", &self.channel.is_some())
            .field("persistent_sent", &self.persistent_sent)
            .finish()
    }
}

impl<'t> Session<'t> {
    /// A session over `transport`; `extended` says whether extended-length
    /// APDUs may be sent.
    pub(crate) fn new(transport: &'t mut dyn Transport, extended: bool) -> Self {
        Self {
            transport,
            extended,
            apdus: 0,
            channel: None,
            persistent_sent: false,
        }
    }

    /// Whether a command that changes persistent card state (an
    /// [`Effect::Persistent`] instruction) may have been executed: it was
    /// sent, and the card did not answer it with a checking error (`67`–`6F`,
    /// "not executed"). A lost answer counts as executed.
    pub(crate) fn persistent_sent(&self) -> bool {
        self.persistent_sent
    }

    /// Whether extended-length APDUs are in use.
    pub(crate) fn extended(&self) -> bool {
        self.extended
    }

    /// Command APDUs sent so far (GET RESPONSE and resends included).
    pub(crate) fn apdu_count(&self) -> usize {
        self.apdus
    }

    /// Whether a secure channel is open.
    pub(crate) fn has_channel(&self) -> bool {
        self.channel.as_ref().is_some_and(SecureChannel::is_open)
    }

    fn exchange(&mut self, bytes: &[u8]) -> Result<Response> {
        self.apdus += 1;
        let ins = bytes.get(1).copied().unwrap_or_default();
        let persistent = commands::properties(ins).effect == Effect::Persistent;
        let raw = self.transport.transmit(bytes).map(Zeroizing::new);
        let raw = match raw {
            Ok(raw) => raw,
            Err(e) => {
                tracing::debug!(ins = %format_args!("{ins:02X}"), error = %e, "APDU");
                // Any security state on the card is gone with it.
                if e.loses_card_state() {
                    self.channel = None;
                }
                self.persistent_sent |= persistent;
                return Err(e.into());
            }
        };
        let response = Response::parse(&raw);
        if persistent {
            self.persistent_sent |= !response.as_ref().is_ok_and(|r| not_executed(r.sw));
        }
        let response = response?;
        tracing::debug!(
            ins = %format_args!("{ins:02X}"),
            sw = %format_args!("{:04X}", response.sw.to_u16()),
            "APDU"
        );
        Ok(response)
    }

    /// Sends a plain command and returns the card's final response, whatever
    /// its status word: `61xx` is followed by GET RESPONSE, `6Cxx` by one resend
    /// with the exact `Le` (reads only), data over 255 bytes without extended
    /// length by command chaining. An extended APDU that the card or reader
    /// refuses gives [`Error::ExtendedRejected`]. A plain command ends any
    /// secure channel, on the card as here (ICAO 9303 Part 11 §9.8).
    pub(crate) fn transmit(&mut self, cmd: &Command) -> Result<Response> {
        if cmd.ins != 0xC0 {
            self.channel = None;
        }
        let first = self.send_once(cmd)?;
        let resp = match first.sw {
            StatusWord::WrongLe(n) if commands::properties(cmd.ins).is_read() => {
                let ne = if n == 0 { 256 } else { usize::from(n) };
                self.send_once(&cmd.with_ne(Some(ne))?)?
            }
            _ => first,
        };
        self.collect_available(resp)
    }

    /// One command on the wire: chained when its data need extended length
    /// that is not in use, else in the length form it needs.
    fn send_once(&mut self, cmd: &Command) -> Result<Response> {
        let wants_extended = cmd.needs_extended();
        if wants_extended && !self.extended {
            if cmd.ne().is_some_and(|n| n > MAX_SHORT_NE) {
                // Ne cannot be expressed: ask for all a short APDU can.
                return self.send_once(&cmd.with_ne(Some(MAX_SHORT_NE))?);
            }
            return self.send_chained(cmd);
        }
        let encoding = if wants_extended {
            LengthEncoding::Extended
        } else {
            LengthEncoding::Short
        };
        let bytes = cmd.to_bytes(encoding)?;
        let resp = self.exchange(&bytes);
        if wants_extended {
            return refused_extended(resp);
        }
        resp
    }

    fn send_chained(&mut self, cmd: &Command) -> Result<Response> {
        let data = cmd.data();
        let mut chunks = data.chunks(MAX_SHORT_NC).peekable();
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            let part = if last {
                Command::new(cmd.cla, cmd.ins, cmd.p1, cmd.p2, chunk, cmd.ne())?
            } else {
                Command::new(cmd.cla | 0x10, cmd.ins, cmd.p1, cmd.p2, chunk, None)?
            };
            let resp = self.exchange(&part.to_bytes(LengthEncoding::Short)?)?;
            if last {
                return Ok(resp);
            }
            if resp.sw != StatusWord::Success {
                return Err(Error::Status {
                    command: "chained command",
                    sw: resp.sw,
                });
            }
        }
        Err(Error::Status {
            command: "chained command",
            sw: StatusWord::WrongLength,
        })
    }

    /// Follows `61xx` with GET RESPONSE until the card has said all.
    fn collect_available(&mut self, first: Response) -> Result<Response> {
        let mut resp = first;
        let mut rounds = 0;
        while let StatusWord::BytesAvailable(n) = resp.sw {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE {
                return Err(Error::Status {
                    command: "GET RESPONSE",
                    sw: resp.sw,
                });
            }
            let ne = if n == 0 { 256 } else { usize::from(n) };
            let get = commands::get_response(ne)?;
            let next = self.exchange(&get.to_bytes(LengthEncoding::Short)?)?;
            let mut data = std::mem::take(&mut resp.data);
            data.extend_from_slice(&next.data);
            resp = Response::new(data, next.sw);
        }
        Ok(resp)
    }

    /// Sends a command and requires `90 00` (or the `62 82` end-of-file warning).
    pub(crate) fn transmit_ok(&mut self, cmd: &Command, name: &'static str) -> Result<Response> {
        let resp = self.transmit(cmd)?;
        if resp.sw.is_success() {
            Ok(resp)
        } else {
            Err(Error::Status {
                command: name,
                sw: resp.sw,
            })
        }
    }

    /// SELECT by DF name (`00 A4 04 0C Lc AID`, PROFILE.md §2). Ends any
    /// secure channel. An unknown AID is [`Error::ApNotFound`].
    pub(crate) fn select_aid(&mut self, aid: &[u8]) -> Result<()> {
        self.channel = None;
        let cmd = commands::select_df_name(aid)?;
        let resp = self.transmit(&cmd)?;
        match resp.sw {
            StatusWord::Success => Ok(()),
            StatusWord::NotFound => Err(Error::ApNotFound {
                aid: hex::encode_upper(aid),
            }),
            sw => Err(Error::Status {
                command: "SELECT",
                sw,
            }),
        }
    }

    /// SELECT of an EF by file ID under the current DF (`00 A4 02 0C 02 FID`).
    pub(crate) fn select_file(&mut self, fid: [u8; 2]) -> Result<()> {
        let cmd = commands::select_ef(fid)?;
        let resp = self.protected_or_plain(&cmd, "SELECT EF")?;
        if resp.sw == StatusWord::Success {
            Ok(())
        } else {
            Err(Error::Status {
                command: "SELECT EF",
                sw: resp.sw,
            })
        }
    }

    /// GET CHALLENGE and MUTUAL AUTHENTICATE (PROFILE.md §7); on success the
    /// session holds a secure channel in `mode`.
    pub(crate) fn authenticate(
        &mut self,
        keys: &dyn KeyProvider,
        rng: &mut dyn CryptoRngCore,
        mode: SmMode,
    ) -> Result<()> {
        self.channel = None;
        let challenge = self.transmit_ok(&auth::get_challenge_command()?, "GET CHALLENGE")?;
        let (cmd, pending) = auth::begin(keys, &challenge.data, rng)?;
        let resp = self.transmit(&cmd)?;
        let channel = auth::finish(keys, pending, &resp, mode)?;
        self.channel = Some(channel);
        Ok(())
    }

    /// [`Session::authenticate`] with the key reference `p2` in MUTUAL
    /// AUTHENTICATE (PROFILE.md §11.1: `82` update keys, `83` issuer keys).
    pub(crate) fn authenticate_with_reference(
        &mut self,
        keys: &dyn KeyProvider,
        rng: &mut dyn CryptoRngCore,
        mode: SmMode,
        p2: u8,
    ) -> Result<()> {
        self.channel = None;
        let challenge = self.transmit_ok(&auth::get_challenge_command()?, "GET CHALLENGE")?;
        let (cmd, pending) = auth::begin_with_reference(keys, &challenge.data, rng, p2)?;
        let resp = self.transmit(&cmd)?;
        let channel = auth::finish(keys, pending, &resp, mode)?;
        self.channel = Some(channel);
        Ok(())
    }

    /// Sends `cmd` under secure messaging and returns the verified plain
    /// response (any status word). Every integrity failure closes the channel
    /// and returns no data.
    pub(crate) fn transmit_protected(&mut self, cmd: &Command) -> Result<Response> {
        let encoding = if self.extended {
            LengthEncoding::Extended
        } else {
            LengthEncoding::Short
        };
        let channel = self
            .channel
            .as_mut()
            .filter(|c| c.is_open())
            .ok_or(Error::SecureMessaging(SmError::Closed))?;
        // The MAC does not cover the outer Le: protect in the extended form
        // and give the short form its Le. A protected command over 255 data
        // bytes without extended length is sent by command chaining
        // (PROFILE.md §11.1); the card runs it when the last part arrives.
        let protected = channel.protect(cmd, LengthEncoding::Extended)?;
        let exchanged = match encoding {
            LengthEncoding::Extended => match protected.to_bytes(encoding) {
                Ok(bytes) => refused_extended(self.exchange(&bytes)),
                Err(e) => Err(e.into()),
            },
            LengthEncoding::Short => match protected.with_ne(Some(MAX_SHORT_NE)) {
                Ok(short) if short.data().len() > MAX_SHORT_NC => self.send_chained(&short),
                Ok(short) => short
                    .to_bytes(encoding)
                    .map_err(Error::from)
                    .and_then(|bytes| self.exchange(&bytes)),
                Err(e) => Err(e.into()),
            },
        };
        // 61xx under SM is transport-level chaining of the protected
        // response; any other unprotected status word (6Cxx included) is left
        // to `unprotect`, which refuses it and ends the channel.
        let raw = match exchanged.and_then(|r| self.collect_available(r)) {
            Ok(r) => r,
            Err(e) => {
                self.channel = None;
                return Err(e);
            }
        };
        let Some(channel) = self.channel.as_mut() else {
            return Err(Error::SecureMessaging(SmError::Closed));
        };
        match channel.unprotect(&raw) {
            Ok(plain) => Ok(plain),
            Err(e) => {
                self.channel = None;
                Err(e.into())
            }
        }
    }

    /// Sends `cmd` protected when a channel is open, in the clear otherwise.
    pub(crate) fn protected_or_plain(
        &mut self,
        cmd: &Command,
        _name: &'static str,
    ) -> Result<Response> {
        if self.has_channel() {
            self.transmit_protected(cmd)
        } else {
            self.transmit(cmd)
        }
    }
}
