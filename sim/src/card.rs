//! The virtual card: state, the APDU pipeline (parse, class, chaining, secure
//! messaging, GET RESPONSE) and the test knobs. The instructions themselves are
//! in `commands.rs`.

use std::path::Path;

use cardap::StatusWord;
use cardap::transport::{Transport, TransportError};
use zeroize::Zeroizing;

use crate::apdu::{Command, LengthEncoding};
use crate::auth::KeySet;
use crate::commands::{Access, Apdu, Expected, Reply};
use crate::description::{Description, DescriptionError};
use crate::fs::{ElementaryFile, ef_dir_record};
use crate::rng::CardRng;
use crate::sm::{Channel, SmFailure};

/// GET RESPONSE (ISO/IEC 7816-4 §11.7.1).
const INS_GET_RESPONSE: u8 = 0xC0;
/// CLA bit b5: command chaining (ISO/IEC 7816-4 §5.4.1).
const CLA_CHAINING: u8 = 0x10;
/// CLA bits b4 b3: secure messaging with an authenticated header.
const CLA_SM: u8 = 0x0C;
/// Largest command a chain may build up (the extended `Nc` limit).
const CHAIN_MAX: usize = 65_535;

/// The selected DF.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Df {
    /// The MF (after reset).
    #[default]
    Mf,
    /// The DF of the AP with this index in the description.
    Ap(usize),
    /// The card-manager application (PROFILE.md §12.1).
    Manager,
}

/// An elementary file of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EfId {
    /// EF.DIR under the MF.
    Dir,
    /// The EF of the AP with this index.
    Ap(usize),
}

/// The rest of a response held back with `61 xx`.
struct Pending {
    rest: Vec<u8>,
    sw: [u8; 2],
}

/// A command chain being received.
struct Chain {
    header: [u8; 3],
    data: Zeroizing<Vec<u8>>,
}

/// Everything the card forgets on reset or removal.
#[derive(Default)]
pub(crate) struct CardState {
    pub(crate) df: Df,
    pub(crate) ef: Option<EfId>,
    pub(crate) challenge: Option<Zeroizing<[u8; 8]>>,
    pub(crate) channel: Option<Channel>,
    /// The key set the open channel was opened with (PROFILE.md §11.1).
    pub(crate) key_set: Option<KeySet>,
    /// Counts DF selections, so that a protected SELECT can end its channel.
    pub(crate) epoch: u64,
    pending: Option<Pending>,
    chain: Option<Chain>,
}

/// A virtual My Number Card carrying the APs of a [`Description`]: the card
/// side of PROFILE.md. [`VirtualCard::process`] answers one command APDU;
/// the [`Transport`] implementation adds simulated removal.
pub struct VirtualCard {
    pub(crate) description: Description,
    pub(crate) files: Vec<ElementaryFile>,
    pub(crate) ef_dir: Vec<Vec<u8>>,
    pub(crate) rng: CardRng,
    chunk: Option<usize>,
    pub(crate) wrong_le_first: bool,
    remove_at: Option<usize>,
    removed: bool,
    count: usize,
    /// Counts the commands that changed a file or the set of APs.
    pub(crate) changes: u64,
    pub(crate) state: CardState,
}

impl std::fmt::Debug for VirtualCard {
    // Neither keys (redacted by the description) nor session state are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCard")
            .field("description", &self.description)
            .field("rng", &self.rng)
            .field("selected", &self.state.df)
            .field("secure_channel", &self.state.channel.is_some())
            .field("command_count", &self.count)
            .field("removed", &self.removed)
            .finish_non_exhaustive()
    }
}

impl VirtualCard {
    /// A card with the files of `description`, OS randomness, no fault knobs.
    pub fn new(description: Description) -> Self {
        let files = description.aps().iter().map(|ap| ap.ef()).collect();
        let ef_dir = description.aps().iter().map(ef_dir_record).collect();
        Self {
            description,
            files,
            ef_dir,
            rng: CardRng::Os,
            chunk: None,
            wrong_le_first: false,
            remove_at: None,
            removed: false,
            count: 0,
            changes: 0,
            state: CardState::default(),
        }
    }

    /// A card from a TOML description (PROFILE.md §10).
    pub fn from_toml_str(text: &str) -> Result<Self, DescriptionError> {
        Description::from_toml_str(text).map(Self::new)
    }

    /// A card from a TOML description file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, DescriptionError> {
        Description::from_file(path).map(Self::new)
    }

    /// Draws random numbers from `bytes` in order instead of the OS: RND.ICC
    /// (8 bytes, GET CHALLENGE), then K.ICC (16 bytes, MUTUAL AUTHENTICATE) for
    /// each authentication. When they run out the card answers `6F 00`.
    pub fn with_fixed_random(mut self, bytes: Vec<u8>) -> Self {
        self.rng = CardRng::Fixed {
            bytes: Zeroizing::new(bytes),
            position: 0,
        };
        self
    }

    /// Answers any response with more than `n` data bytes (at least 1) with the
    /// first `n` and `61 xx`; the rest comes with GET RESPONSE, at most `n`
    /// bytes at a time (ISO/IEC 7816-4 §5.3.4).
    pub fn chunk_responses(mut self, n: usize) -> Self {
        self.chunk = Some(n.max(1));
        self
    }

    /// When on, a plain READ BINARY whose `Le` is not the exact number of bytes
    /// left (at most 256) is answered `6C xx` (xx = that number) so that the
    /// host resends it.
    pub fn wrong_le_first(mut self, on: bool) -> Self {
        self.wrong_le_first = on;
        self
    }

    /// After `k` more commands the card is removed: [`Transport::transmit`]
    /// fails with [`TransportError::CardRemoved`] and every security state is
    /// lost, until [`VirtualCard::insert`].
    pub fn remove_after(mut self, k: usize) -> Self {
        self.remove_at = Some(self.count.saturating_add(k));
        self
    }

    /// Removes the card now (see [`VirtualCard::remove_after`]).
    pub fn remove(&mut self) {
        self.removed = true;
        self.remove_at = None;
        self.reset();
    }

    /// Puts a removed card back: powered up afresh, MF selected.
    pub fn insert(&mut self) {
        self.removed = false;
        self.remove_at = None;
        self.reset();
    }

    /// Whether the card is removed.
    pub fn is_removed(&self) -> bool {
        self.removed
    }

    /// Powers the card off: selection, authentication, secure channel, held
    /// back response and command chain are lost.
    pub fn power_off(&mut self) {
        self.state = CardState::default();
    }

    /// Resets the card (same effect as [`VirtualCard::power_off`] and power on).
    pub fn reset(&mut self) {
        self.power_off();
    }

    /// Commands the card received (by [`VirtualCard::process`] or
    /// [`Transport::transmit`]), GET RESPONSE and malformed ones included.
    pub fn command_count(&self) -> usize {
        self.count
    }

    /// The description the card was built from.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// Whether a secure channel is open (mutual authentication completed in the
    /// current selection and no failure since).
    pub fn secure_channel_open(&self) -> bool {
        self.state.channel.is_some()
    }

    /// The answer to reset: `3B 85 81 01 80 73 94 01 XX TCK`: T=1, historical
    /// bytes with the card-capabilities object (`73`), whose third byte has b7
    /// (`40`) set when extended length is on (PROFILE.md §1); TCK is the XOR
    /// of every byte after `3B`.
    pub fn atr(&self) -> Vec<u8> {
        let caps = if self.description.extended_length() {
            0x40
        } else {
            0x00
        };
        let mut atr = vec![0x3B, 0x85, 0x81, 0x01, 0x80, 0x73, 0x94, 0x01, caps];
        let tck = atr.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
        atr.push(tck);
        atr
    }

    /// Answers one command APDU with the response APDU (data ‖ SW1 SW2). Never
    /// panics: anything malformed gets a status word (PROFILE.md §1). This is
    /// the card itself; removal is simulated on the link, by
    /// [`Transport::transmit`].
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.count = self.count.saturating_add(1);
        let Some((command, encoding)) = Command::parse(apdu) else {
            return self.clear_error(StatusWord::WrongLength);
        };
        let extended = encoding == LengthEncoding::Extended;
        if extended && !self.description.extended_length() {
            return self.clear_error(StatusWord::WrongLength);
        }
        let cla = command.cla;
        if !matches!(cla & !CLA_CHAINING, 0x00 | CLA_SM) {
            return self.clear_error(StatusWord::ClassNotSupported);
        }
        let ne = command.ne().map(|n| {
            let all = n == if extended { 65_536 } else { 256 };
            Expected { n, all }
        });
        // GET RESPONSE belongs to the transport (ISO/IEC 7816-3 T=0 style), so
        // it is plain even inside a secure channel; `0C C0` is a command.
        if command.ins == INS_GET_RESPONSE && cla == 0x00 {
            return self.get_response(&command, ne);
        }
        self.state.pending = None;

        let header = [command.ins, command.p1, command.p2];
        let mut data = Zeroizing::new(command.data().to_vec());
        if cla & CLA_CHAINING != 0 {
            return self.chain_part(header, &data);
        }
        if let Some(mut chain) = self.state.chain.take() {
            if chain.header != header {
                // ISO/IEC 7816-4: "last command of the chain expected".
                return self.clear_error(StatusWord::Other(0x6883));
            }
            chain.data.extend_from_slice(&data);
            data = chain.data;
        }
        let apdu = Apdu {
            cla,
            ins: command.ins,
            p1: command.p1,
            p2: command.p2,
            data,
            ne,
            extended,
        };
        let reply = if cla & CLA_SM == CLA_SM {
            self.process_protected(&apdu)
        } else {
            // A plain command inside the channel ends it (PROFILE.md §7).
            self.state.channel = None;
            self.execute(&apdu, Access::Plain)
        };
        self.deliver(reply)
    }

    /// A status word in the clear that also ends the secure channel and drops
    /// any half-received chain or held-back response.
    fn clear_error(&mut self, sw: StatusWord) -> Vec<u8> {
        self.state.channel = None;
        self.state.pending = None;
        self.state.chain = None;
        sw.to_bytes().to_vec()
    }

    /// A non-final part of a command chain: buffered, answered `90 00`.
    fn chain_part(&mut self, header: [u8; 3], data: &[u8]) -> Vec<u8> {
        let mut chain = match self.state.chain.take() {
            Some(chain) if chain.header == header => chain,
            Some(_) => return self.clear_error(StatusWord::Other(0x6883)),
            None => Chain {
                header,
                data: Zeroizing::new(Vec::new()),
            },
        };
        if chain.data.len().saturating_add(data.len()) > CHAIN_MAX {
            return self.clear_error(StatusWord::WrongLength);
        }
        chain.data.extend_from_slice(data);
        self.state.chain = Some(chain);
        StatusWord::Success.to_bytes().to_vec()
    }

    /// A protected command (PROFILE.md §7): verified and unwrapped, executed,
    /// and its answer protected, or refused in the clear (`69 82` without a
    /// channel; `69 87`, `69 88`, `67 00` ending it).
    fn process_protected(&mut self, apdu: &Apdu) -> Reply {
        let Some(mut channel) = self.state.channel.take() else {
            return Reply::status(StatusWord::SecurityStatusNotSatisfied);
        };
        let header = [apdu.cla, apdu.ins, apdu.p1, apdu.p2];
        let inner = match channel.unwrap_command(header, &apdu.data) {
            Ok(inner) => inner,
            Err(SmFailure::Missing) => return Reply::status(StatusWord::SmObjectsMissing),
            Err(SmFailure::Wrong) => return Reply::status(StatusWord::SmObjectsIncorrect),
        };
        let plain = Apdu {
            cla: apdu.cla & !CLA_SM,
            ins: apdu.ins,
            p1: apdu.p1,
            p2: apdu.p2,
            data: inner.data,
            ne: inner.ne,
            extended: false,
        };
        let epoch = self.state.epoch;
        let reply = self.execute(&plain, Access::Secure);
        if matches!(
            reply.sw,
            StatusWord::SmObjectsMissing | StatusWord::SmObjectsIncorrect | StatusWord::WrongLength
        ) {
            return Reply::status(reply.sw);
        }
        let Some(body) = channel.wrap_response(&reply.data, reply.sw.to_bytes()) else {
            return Reply::status(StatusWord::NoDiagnosis);
        };
        // The protected answer must fit the outer Ne (absent Le: 0).
        if body.len() > apdu.ne.map_or(0, |ne| ne.n) {
            return Reply::status(StatusWord::WrongLength);
        }
        // A protected SELECT of a DF ends the authentication it ran under.
        if self.state.epoch == epoch {
            self.state.channel = Some(channel);
        }
        Reply {
            data: body,
            sw: reply.sw,
        }
    }

    /// Sends a reply, holding back all but `chunk` bytes behind `61 xx`.
    fn deliver(&mut self, reply: Reply) -> Vec<u8> {
        let Reply { mut data, sw } = reply;
        match self.chunk {
            Some(n) if data.len() > n => {
                let rest = data.split_off(n);
                data.extend_from_slice(&available(rest.len()));
                self.state.pending = Some(Pending {
                    rest,
                    sw: sw.to_bytes(),
                });
                data
            }
            _ => {
                data.extend_from_slice(&sw.to_bytes());
                data
            }
        }
    }

    /// GET RESPONSE `00 C0 00 00 Le`: the next part of a held-back response.
    /// It does not touch the secure channel (it is transport, not a command).
    fn get_response(&mut self, command: &Command, ne: Option<Expected>) -> Vec<u8> {
        let Some(mut pending) = self.state.pending.take() else {
            return StatusWord::ConditionsNotSatisfied.to_bytes().to_vec();
        };
        if command.p1 != 0 || command.p2 != 0 {
            self.state.pending = Some(pending);
            return StatusWord::WrongP1P2.to_bytes().to_vec();
        }
        let Some(ne) = ne else {
            self.state.pending = Some(pending);
            return StatusWord::WrongLength.to_bytes().to_vec();
        };
        let take =
            ne.n.min(self.chunk.unwrap_or(usize::MAX))
                .min(pending.rest.len());
        let rest = pending.rest.split_off(take);
        let mut out = std::mem::take(&mut pending.rest);
        if rest.is_empty() {
            out.extend_from_slice(&pending.sw);
        } else {
            out.extend_from_slice(&available(rest.len()));
            self.state.pending = Some(Pending {
                rest,
                sw: pending.sw,
            });
        }
        out
    }
}

/// `61 xx`: xx bytes (00: 256 or more) are waiting.
fn available(n: usize) -> [u8; 2] {
    [0x61, u8::try_from(n).unwrap_or(0)]
}

impl Transport for VirtualCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.removed {
            return Err(TransportError::CardRemoved);
        }
        if self.remove_at.is_some_and(|at| self.count >= at) {
            self.remove();
            return Err(TransportError::CardRemoved);
        }
        Ok(self.process(command))
    }

    fn atr(&self) -> Option<Vec<u8>> {
        Some(VirtualCard::atr(self))
    }

    /// The link carries extended APDUs; the card itself answers `67 00` to
    /// them when its description turns extended length off.
    fn supports_extended(&self) -> bool {
        true
    }
}
