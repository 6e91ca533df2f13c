//! The instructions the card understands (ISO/IEC 7816-4 §11, PROFILE.md §1–7),
//! executed on an unprotected command — plain, or unwrapped from secure
//! messaging by `card.rs`.

use cardap::StatusWord;
use zeroize::Zeroizing;

use crate::auth::{self, KeySet};
use crate::card::{Df, EfId, VirtualCard};
use crate::description::ApType;
use crate::fs::{AP_EF_FID, AP_EF_SFI, EF_DIR_FID, EF_DIR_SFI, ElementaryFile, MF_FID};
use crate::sm::SmMode;

const INS_SELECT: u8 = 0xA4;
const INS_READ_BINARY: u8 = 0xB0;
const INS_READ_RECORD: u8 = 0xB2;
const INS_GET_CHALLENGE: u8 = 0x84;
const INS_MUTUAL_AUTHENTICATE: u8 = 0x82;
const INS_UPDATE_BINARY: u8 = 0xD6;
const INS_UPDATE_RECORD: u8 = 0xDC;
const INS_CREATE_FILE: u8 = 0xE0;
const INS_DELETE_FILE: u8 = 0xE4;
const INS_GET_DATA: u8 = 0xCA;

/// `Ne` of a command, and whether `Le` asked for "all" (`00`, `00 00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expected {
    /// The number of bytes.
    pub n: usize,
    /// `Le` was all zeros: answer what there is, with `90 00`.
    pub all: bool,
}

impl Expected {
    pub(crate) fn all(n: usize) -> Self {
        Self { n, all: true }
    }

    pub(crate) fn exactly(n: usize) -> Self {
        Self { n, all: false }
    }
}

/// How a command reached the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// In the clear.
    Plain,
    /// Under a verified secure channel (so mutual authentication was completed
    /// in the current DF).
    Secure,
}

/// An unprotected command.
pub(crate) struct Apdu {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Zeroizing<Vec<u8>>,
    pub ne: Option<Expected>,
    /// The command came in extended-length form.
    pub extended: bool,
}

/// An unprotected answer.
pub(crate) struct Reply {
    pub data: Vec<u8>,
    pub sw: StatusWord,
}

impl Reply {
    pub(crate) fn status(sw: StatusWord) -> Self {
        Self {
            data: Vec::new(),
            sw,
        }
    }

    pub(crate) fn ok(data: Vec<u8>) -> Self {
        Self {
            data,
            sw: StatusWord::Success,
        }
    }
}

impl From<StatusWord> for Reply {
    fn from(sw: StatusWord) -> Self {
        Self::status(sw)
    }
}

/// The data a read returns for `ne` when `available` bytes are left
/// (PROFILE.md §1): "all" → up to `Ne` with `90 00`; an explicit `Ne` larger
/// than what is left → the rest with `62 82`; otherwise exactly `Ne` bytes.
fn answer_read(available: &[u8], ne: Expected) -> Reply {
    if ne.all {
        Reply::ok(available.iter().take(ne.n).copied().collect())
    } else if ne.n > available.len() {
        Reply {
            data: available.to_vec(),
            sw: StatusWord::EndOfFile,
        }
    } else {
        Reply::ok(available.iter().take(ne.n).copied().collect())
    }
}

impl VirtualCard {
    /// Runs one unprotected command.
    pub(crate) fn execute(&mut self, apdu: &Apdu, access: Access) -> Reply {
        match apdu.ins {
            INS_SELECT => self.select(apdu),
            INS_READ_BINARY => self.read_binary(apdu, access),
            INS_READ_RECORD => self.read_records(apdu, access),
            INS_GET_CHALLENGE => self.get_challenge(apdu),
            INS_MUTUAL_AUTHENTICATE => self.mutual_authenticate(apdu, access),
            INS_UPDATE_RECORD => self.update_record(apdu, access),
            INS_UPDATE_BINARY => self.update_binary(apdu, access),
            INS_CREATE_FILE => self.create_file(apdu, access),
            INS_DELETE_FILE => self.delete_file(apdu, access),
            INS_GET_DATA => self.get_data(apdu, access),
            _ => Reply::status(StatusWord::InstructionNotSupported),
        }
    }

    /// Makes `df` current: no EF selected, authentication and challenge gone.
    pub(crate) fn enter_df(&mut self, df: Df) {
        self.state.df = df;
        self.state.ef = None;
        self.state.challenge = None;
        self.state.channel = None;
        self.state.epoch = self.state.epoch.wrapping_add(1);
    }

    /// SELECT (ISO/IEC 7816-4 §11.2.2, PROFILE.md §2): by DF name
    /// (`P1 = 04`), EF by file ID under the current DF (`P1 = 02`), or the MF
    /// (`P1 = 00`, no data or `3F 00`; another file ID is looked up as an EF).
    /// `P2` `0C` (no FCI) or `00` (answered without FCI).
    fn select(&mut self, apdu: &Apdu) -> Reply {
        if !matches!(apdu.p2, 0x00 | 0x0C) {
            return StatusWord::WrongP1P2.into();
        }
        let data = apdu.data.as_slice();
        match apdu.p1 {
            0x04 => {
                match self
                    .description()
                    .aps()
                    .iter()
                    .position(|ap| ap.aid() == data)
                {
                    Some(index) => {
                        self.enter_df(Df::Ap(index));
                        Reply::ok(Vec::new())
                    }
                    None if self
                        .description()
                        .issuer()
                        .is_some_and(|issuer| issuer.aid() == data) =>
                    {
                        self.enter_df(Df::Manager);
                        Reply::ok(Vec::new())
                    }
                    None => StatusWord::NotFound.into(),
                }
            }
            0x00 if data.is_empty() || data == MF_FID => {
                self.enter_df(Df::Mf);
                Reply::ok(Vec::new())
            }
            0x00 | 0x02 => {
                let Ok(fid) = <[u8; 2]>::try_from(data) else {
                    return StatusWord::WrongLength.into();
                };
                match self.ef_by_fid(fid) {
                    Some(ef) => {
                        self.state.ef = Some(ef);
                        Reply::ok(Vec::new())
                    }
                    None => StatusWord::NotFound.into(),
                }
            }
            _ => StatusWord::WrongP1P2.into(),
        }
    }

    fn ef_by_fid(&self, fid: [u8; 2]) -> Option<EfId> {
        match self.state.df {
            Df::Mf if fid == EF_DIR_FID => Some(EfId::Dir),
            Df::Ap(index) if fid == AP_EF_FID => Some(EfId::Ap(index)),
            _ => None,
        }
    }

    pub(crate) fn ef_by_sfi(&self, sfi: u8) -> Option<EfId> {
        match self.state.df {
            Df::Mf if sfi == EF_DIR_SFI => Some(EfId::Dir),
            Df::Ap(index) if sfi == AP_EF_SFI => Some(EfId::Ap(index)),
            _ => None,
        }
    }

    /// Whether `ef` may be read: EF.DIR and Type C freely, Types A and D only
    /// under secure messaging after mutual authentication (PROFILE.md §4–6).
    fn readable(&self, ef: EfId, access: Access) -> bool {
        match ef {
            EfId::Dir => true,
            EfId::Ap(index) => match self.description().aps().get(index) {
                Some(ap) => ap.ap_type() == ApType::C || access == Access::Secure,
                None => false,
            },
        }
    }

    fn ef_contents(&self, ef: EfId) -> Option<EfView<'_>> {
        match ef {
            EfId::Dir => Some(EfView::Records(&self.ef_dir)),
            EfId::Ap(index) => match self.files.get(index)? {
                ElementaryFile::Transparent(bytes) => Some(EfView::Binary(bytes)),
                ElementaryFile::Records(records) => Some(EfView::Records(records)),
            },
        }
    }

    /// Resolves the EF of a read: by SFI (which makes it current) or the
    /// current EF.
    fn read_target(&mut self, sfi: Option<u8>) -> Result<EfId, StatusWord> {
        match sfi {
            Some(sfi) => {
                let ef = self.ef_by_sfi(sfi).ok_or(StatusWord::NotFound)?;
                self.state.ef = Some(ef);
                Ok(ef)
            }
            None => self.state.ef.ok_or(StatusWord::CommandNotAllowed),
        }
    }

    /// `Ne` of a read; a read without one is `67 00`, or `69 87` under secure
    /// messaging (DO`97` missing).
    fn read_ne(apdu: &Apdu, access: Access) -> Result<Expected, StatusWord> {
        apdu.ne.ok_or(match access {
            Access::Plain => StatusWord::WrongLength,
            Access::Secure => StatusWord::SmObjectsMissing,
        })
    }

    /// READ BINARY `B0` (ISO/IEC 7816-4 §11.3.3): `P1` b8 set: SFI in b5–b1,
    /// offset `P2`; else a 15-bit offset in the current EF.
    fn read_binary(&mut self, apdu: &Apdu, access: Access) -> Reply {
        match self.try_read_binary(apdu, access) {
            Ok(reply) | Err(reply) => reply,
        }
    }

    fn try_read_binary(&mut self, apdu: &Apdu, access: Access) -> Result<Reply, Reply> {
        if !apdu.data.is_empty() {
            return Err(StatusWord::WrongLength.into());
        }
        let (sfi, offset) = if apdu.p1 & 0x80 != 0 {
            let sfi = apdu.p1 & 0x1F;
            if apdu.p1 & 0x60 != 0 || sfi == 0 {
                return Err(StatusWord::WrongP1P2.into());
            }
            (Some(sfi), usize::from(apdu.p2))
        } else {
            (None, usize::from(u16::from_be_bytes([apdu.p1, apdu.p2])))
        };
        let ef = self.read_target(sfi)?;
        let Some(EfView::Binary(file)) = self.ef_contents(ef) else {
            return Err(StatusWord::IncompatibleFileStructure.into());
        };
        if !self.readable(ef, access) {
            return Err(StatusWord::SecurityStatusNotSatisfied.into());
        }
        let ne = Self::read_ne(apdu, access)?;
        let Some(rest) = file.get(offset..).filter(|rest| !rest.is_empty()) else {
            return Err(StatusWord::WrongOffset.into());
        };
        if self.wrong_le_first && access == Access::Plain && !apdu.extended {
            let exact = rest.len().min(256);
            if ne.n != exact {
                return Err(StatusWord::WrongLe(u8::try_from(exact).unwrap_or(0)).into());
            }
        }
        Ok(answer_read(rest, ne))
    }

    /// READ RECORD(S) `B2` (ISO/IEC 7816-4 §11.4.3): `P2 = SFI << 3 | mode`,
    /// SFI 0 the current EF; mode `100` record `P1`, mode `101` records `P1`
    /// to the last, concatenated (as many whole records as `Ne` takes).
    fn read_records(&mut self, apdu: &Apdu, access: Access) -> Reply {
        match self.try_read_records(apdu, access) {
            Ok(reply) | Err(reply) => reply,
        }
    }

    fn try_read_records(&mut self, apdu: &Apdu, access: Access) -> Result<Reply, Reply> {
        if !apdu.data.is_empty() {
            return Err(StatusWord::WrongLength.into());
        }
        let sfi = apdu.p2 >> 3;
        let mode = apdu.p2 & 0x07;
        if apdu.p1 == 0 || !matches!(mode, 0b100 | 0b101) || sfi == 0x1F {
            return Err(StatusWord::WrongP1P2.into());
        }
        let ef = self.read_target((sfi != 0).then_some(sfi))?;
        let Some(EfView::Records(records)) = self.ef_contents(ef) else {
            return Err(StatusWord::IncompatibleFileStructure.into());
        };
        if !self.readable(ef, access) {
            return Err(StatusWord::SecurityStatusNotSatisfied.into());
        }
        let ne = Self::read_ne(apdu, access)?;
        let first = usize::from(apdu.p1) - 1;
        let Some(wanted) = records.get(first..).filter(|r| !r.is_empty()) else {
            return Err(StatusWord::RecordNotFound.into());
        };
        if mode == 0b100 {
            let record = wanted.first().map_or(&[][..], Vec::as_slice);
            return Ok(answer_read(record, ne));
        }
        let total: usize = wanted.iter().map(Vec::len).sum();
        if total <= ne.n {
            return Ok(answer_read(&wanted.concat(), ne));
        }
        // Only whole records that fit; the host asks again from the next one.
        let mut data = Vec::with_capacity(ne.n);
        for record in wanted {
            if data.len() + record.len() > ne.n {
                break;
            }
            data.extend_from_slice(record);
        }
        if data.is_empty() {
            let record = wanted.first().map_or(&[][..], Vec::as_slice);
            return Ok(answer_read(record, Expected::exactly(ne.n)));
        }
        Ok(Reply::ok(data))
    }

    /// GET CHALLENGE `00 84 00 00 08` (ISO/IEC 7816-4 §11.5.3): RND.ICC for
    /// one MUTUAL AUTHENTICATE; `Le` other than 8 is `67 00`.
    fn get_challenge(&mut self, apdu: &Apdu) -> Reply {
        if apdu.p1 != 0 || apdu.p2 != 0 {
            return StatusWord::WrongP1P2.into();
        }
        if !apdu.data.is_empty() || apdu.ne != Some(Expected::exactly(auth::RND_LEN)) {
            return StatusWord::WrongLength.into();
        }
        let mut rnd = Zeroizing::new([0u8; auth::RND_LEN]);
        if !self.rng.fill(rnd.as_mut_slice()) {
            return StatusWord::NoDiagnosis.into();
        }
        let answer = rnd.to_vec();
        self.state.challenge = Some(rnd);
        Reply::ok(answer)
    }

    /// MUTUAL AUTHENTICATE `00 82 00 P2 28 E_IFD ‖ M_IFD 28`, card side of
    /// PROFILE.md §7, with the key reference of §11.1 in `P2`. The challenge
    /// is used up whatever the outcome; any failure is `63 00` and leaves no
    /// channel.
    fn mutual_authenticate(&mut self, apdu: &Apdu, access: Access) -> Reply {
        if access == Access::Secure {
            // Re-authenticating inside a channel is not part of the profile.
            return StatusWord::ConditionsNotSatisfied.into();
        }
        let Some(key_set) = KeySet::from_p2(apdu.p2).filter(|_| apdu.p1 == 0) else {
            return StatusWord::WrongP1P2.into();
        };
        let challenge = self.state.challenge.take();
        self.state.channel = None;
        if apdu.data.len() != auth::CRYPTOGRAM_LEN
            || apdu
                .ne
                .is_none_or(|ne| !ne.all && ne.n < auth::CRYPTOGRAM_LEN)
        {
            return StatusWord::WrongLength.into();
        }
        let Some(challenge) = challenge else {
            return StatusWord::AuthenticationFailed.into();
        };
        let Some((keys, mode)) = self.key_set_here(key_set) else {
            return StatusWord::AuthenticationFailed.into();
        };
        let Some(verified) = auth::verify(&keys, &challenge, &apdu.data) else {
            return StatusWord::AuthenticationFailed.into();
        };
        let mut k_icc = Zeroizing::new([0u8; auth::KEY_PART_LEN]);
        if !self.rng.fill(k_icc.as_mut_slice()) {
            return StatusWord::NoDiagnosis.into();
        }
        let Some((answer, channel)) = auth::respond(&keys, &challenge, &verified, &k_icc, mode)
        else {
            return StatusWord::NoDiagnosis.into();
        };
        self.state.channel = Some(channel);
        self.state.key_set = Some(key_set);
        Reply::ok(answer)
    }

    /// The keys `key_set` names in the selected DF, and the secure-messaging
    /// mode of their channel (PROFILE.md §11.1); `None` if the DF has no such
    /// set.
    fn key_set_here(&self, key_set: KeySet) -> Option<(crate::description::ApKeys, SmMode)> {
        match (self.state.df, key_set) {
            (Df::Ap(index), KeySet::Read | KeySet::Update) => {
                let ap = self.description.aps().get(index)?;
                let keys = match key_set {
                    KeySet::Read => ap.keys()?,
                    _ => ap.update_keys()?,
                };
                let mode = match (ap.ap_type(), key_set) {
                    (ApType::D, _) => SmMode::Encrypt,
                    (ApType::A, _) | (ApType::C, KeySet::Update) => SmMode::Mac,
                    (ApType::C, _) => return None,
                };
                Some((keys.clone(), mode))
            }
            (Df::Manager, KeySet::Issuer) => {
                Some((self.description.issuer()?.keys().clone(), SmMode::Encrypt))
            }
            _ => None,
        }
    }
}

/// A file's contents as a read sees them.
enum EfView<'a> {
    Binary(&'a [u8]),
    Records(&'a [Vec<u8>]),
}
