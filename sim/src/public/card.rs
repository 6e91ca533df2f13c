//! The public APs at run time: their files, PIN counters and the commands
//! they answer (SELECT EF, READ BINARY by offset or SFI, VERIFY, the JPKI
//! signature `80 2A 00 80`).

use cardap::StatusWord;
use rsa::Pkcs1v15Sign;

use super::jpki::JPKI_AID;
use super::kenhojo::KENHOJO_AID;
use super::pin::{PinCounter, Verified};
use super::{CardKey, JpkiDescription, KenhojoDescription};
use crate::commands::{Apdu, Expected, Reply};

const INS_SELECT: u8 = 0xA4;
const INS_READ_BINARY: u8 = 0xB0;
const INS_VERIFY: u8 = 0x20;
const INS_PSO: u8 = 0x2A;
/// `6A 86`: incorrect P1-P2.
const SW_WRONG_P1P2: StatusWord = StatusWord::Other(0x6A86);
/// `69 86`: command not allowed (no current EF).
const SW_NO_CURRENT_EF: StatusWord = StatusWord::Other(0x6986);
/// `69 81`: command incompatible with the file structure.
const SW_INCOMPATIBLE: StatusWord = StatusWord::Other(0x6981);
/// `6B 00`: offset outside the EF.
const SW_WRONG_OFFSET: StatusWord = StatusWord::Other(0x6B00);
/// `6A 80`: incorrect data.
const SW_WRONG_DATA: StatusWord = StatusWord::Other(0x6A80);

/// What an EF of a public AP holds.
enum Content {
    /// Transparent bytes; readable once the PIN with this index is verified
    /// (`None`: freely).
    Binary { bytes: Vec<u8>, pin: Option<usize> },
    /// The PIN with this index.
    Pin(usize),
    /// A private key, usable once the PIN with this index is verified.
    Key { key: Box<CardKey>, pin: usize },
}

struct Ef {
    fid: u16,
    content: Content,
}

/// One public AP: its AID, EFs, PINs and whether it takes SFI addressing.
pub(crate) struct PublicAp {
    aid: Vec<u8>,
    efs: Vec<Ef>,
    pins: Vec<PinCounter>,
    sfi: bool,
}

/// The public APs of a card, in the order JPKI, kenhojo (either may be absent).
#[derive(Default)]
pub(crate) struct PublicAps {
    aps: Vec<PublicAp>,
}

/// The security state of the selected public AP: lost on any DF selection,
/// reset or removal.
#[derive(Debug, Default, Clone)]
pub(crate) struct PublicSession {
    ef: Option<u16>,
    verified: Vec<usize>,
}

impl PublicAps {
    pub(crate) fn new(
        jpki: Option<&JpkiDescription>,
        kenhojo: Option<&KenhojoDescription>,
    ) -> Self {
        let mut aps = Vec::new();
        if let Some(j) = jpki {
            // PIN 0: authentication (EF 0018); PIN 1: signature (EF 001B).
            let free = |bytes: &[u8]| Content::Binary {
                bytes: bytes.to_vec(),
                pin: None,
            };
            use super::JpkiCertificate as C;
            aps.push(PublicAp {
                aid: JPKI_AID.to_vec(),
                efs: vec![
                    Ef {
                        fid: 0x0006,
                        content: free(&j.token_ef()),
                    },
                    Ef {
                        fid: 0x000A,
                        content: free(j.certificate(C::Auth)),
                    },
                    Ef {
                        fid: 0x000B,
                        content: free(j.certificate(C::AuthCa)),
                    },
                    Ef {
                        fid: 0x0001,
                        content: Content::Binary {
                            bytes: j.certificate(C::Sign).to_vec(),
                            pin: Some(1),
                        },
                    },
                    Ef {
                        fid: 0x0002,
                        content: free(j.certificate(C::SignCa)),
                    },
                    Ef {
                        fid: 0x0017,
                        content: Content::Key {
                            key: Box::new(j.auth_key.clone()),
                            pin: 0,
                        },
                    },
                    Ef {
                        fid: 0x001A,
                        content: Content::Key {
                            key: Box::new(j.sign_key.clone()),
                            pin: 1,
                        },
                    },
                    Ef {
                        fid: 0x0018,
                        content: Content::Pin(0),
                    },
                    Ef {
                        fid: 0x001B,
                        content: Content::Pin(1),
                    },
                ],
                pins: vec![PinCounter::new(&j.auth_pin), PinCounter::new(&j.sign_pin)],
                sfi: j.sfi,
            });
        }
        if let Some(k) = kenhojo {
            let locked = |bytes: Vec<u8>| Content::Binary {
                bytes,
                pin: Some(0),
            };
            aps.push(PublicAp {
                aid: KENHOJO_AID.to_vec(),
                efs: vec![
                    Ef {
                        fid: 0x0011,
                        content: Content::Pin(0),
                    },
                    Ef {
                        fid: 0x0001,
                        content: locked(k.my_number_ef()),
                    },
                    Ef {
                        fid: 0x0002,
                        content: locked(k.facts_ef()),
                    },
                    Ef {
                        fid: 0x0003,
                        // Checked when the description was made.
                        content: locked(k.signature_ef().unwrap_or_default()),
                    },
                    Ef {
                        fid: 0x0004,
                        content: locked(k.certificate_ef()),
                    },
                ],
                pins: vec![PinCounter::new(&k.pin)],
                sfi: k.sfi,
            });
        }
        Self { aps }
    }

    /// The index of the public AP with this AID.
    pub(crate) fn find(&self, aid: &[u8]) -> Option<usize> {
        self.aps.iter().position(|ap| ap.aid == aid)
    }

    /// Tries left of PIN `pin` of AP `ap` (for tests and logs).
    pub(crate) fn tries_left(&self, aid: &[u8], pin: usize) -> Option<u8> {
        let ap = self.aps.get(self.find(aid)?)?;
        ap.pins.get(pin).map(PinCounter::left)
    }

    /// Runs a command in public AP `index` (SELECT by name or of the MF is
    /// handled by the card before).
    pub(crate) fn execute(
        &mut self,
        index: usize,
        session: &mut PublicSession,
        apdu: &Apdu,
    ) -> Reply {
        let Some(ap) = self.aps.get_mut(index) else {
            return Reply::status(StatusWord::NotFound);
        };
        match (apdu.cla, apdu.ins) {
            (0x00, INS_SELECT) => ap.select(session, apdu),
            (0x00, INS_READ_BINARY) => ap.read_binary(session, apdu),
            (0x00, INS_VERIFY) => ap.verify(session, apdu),
            (0x80, INS_PSO) => ap.sign(session, apdu),
            _ => Reply::status(StatusWord::InstructionNotSupported),
        }
    }
}

impl PublicAp {
    fn ef(&self, fid: u16) -> Option<&Ef> {
        self.efs.iter().find(|ef| ef.fid == fid)
    }

    /// The EF a short file identifier names (the low byte of its file ID).
    fn ef_by_sfi(&self, sfi: u8) -> Option<u16> {
        self.efs
            .iter()
            .find(|ef| ef.fid == u16::from(sfi))
            .map(|ef| ef.fid)
    }

    /// SELECT EF `00 A4 02 0C 02 FID` (P2 `00` answered without FCI too).
    fn select(&mut self, session: &mut PublicSession, apdu: &Apdu) -> Reply {
        if apdu.p1 != 0x02 || !matches!(apdu.p2, 0x00 | 0x0C) {
            return Reply::status(StatusWord::WrongP1P2);
        }
        let Ok(fid) = <[u8; 2]>::try_from(apdu.data.as_slice()) else {
            return Reply::status(StatusWord::WrongLength);
        };
        let fid = u16::from_be_bytes(fid);
        if self.ef(fid).is_none() {
            return Reply::status(StatusWord::NotFound);
        }
        session.ef = Some(fid);
        Reply {
            data: Vec::new(),
            sw: StatusWord::Success,
        }
    }

    /// READ BINARY: `P1` b8 set → SFI in b5–b1 and offset `P2` (refused with
    /// `6A 86` when the AP is described without SFI); else a 15-bit offset in
    /// the current EF. `Le` 00 / 00 00 reads what there is.
    fn read_binary(&mut self, session: &mut PublicSession, apdu: &Apdu) -> Reply {
        if !apdu.data.is_empty() {
            return Reply::status(StatusWord::WrongLength);
        }
        let (fid, offset) = if apdu.p1 & 0x80 != 0 {
            if !self.sfi || apdu.p1 & 0x60 != 0 {
                return Reply::status(SW_WRONG_P1P2);
            }
            let Some(fid) = self.ef_by_sfi(apdu.p1 & 0x1F) else {
                return Reply::status(StatusWord::NotFound);
            };
            session.ef = Some(fid);
            (fid, usize::from(apdu.p2))
        } else {
            let Some(fid) = session.ef else {
                return Reply::status(SW_NO_CURRENT_EF);
            };
            (fid, usize::from(u16::from_be_bytes([apdu.p1, apdu.p2])))
        };
        let Some(ef) = self.ef(fid) else {
            return Reply::status(StatusWord::NotFound);
        };
        let Content::Binary { bytes, pin } = &ef.content else {
            return Reply::status(SW_INCOMPATIBLE);
        };
        if pin.is_some_and(|p| !session.verified.contains(&p)) {
            return Reply::status(StatusWord::SecurityStatusNotSatisfied);
        }
        let Some(ne) = apdu.ne else {
            return Reply::status(StatusWord::WrongLength);
        };
        let Some(rest) = bytes.get(offset..).filter(|r| !r.is_empty()) else {
            return Reply::status(SW_WRONG_OFFSET);
        };
        read_reply(rest, ne)
    }

    /// VERIFY `00 20 00 P2`: `P2 = 80` the current EF, `80 | SFI` by short
    /// file identifier. No data: the count (`63 Cx`, `69 84` blocked).
    fn verify(&mut self, session: &mut PublicSession, apdu: &Apdu) -> Reply {
        if apdu.p1 != 0x00 || apdu.p2 & 0x80 == 0 || apdu.p2 & 0x60 != 0 {
            return Reply::status(SW_WRONG_P1P2);
        }
        let fid = if apdu.p2 == 0x80 {
            match session.ef {
                Some(fid) => fid,
                None => return Reply::status(SW_NO_CURRENT_EF),
            }
        } else {
            if !self.sfi {
                return Reply::status(SW_WRONG_P1P2);
            }
            match self.ef_by_sfi(apdu.p2 & 0x1F) {
                Some(fid) => fid,
                None => return Reply::status(StatusWord::NotFound),
            }
        };
        let Some(Content::Pin(index)) = self.ef(fid).map(|ef| &ef.content) else {
            return Reply::status(SW_INCOMPATIBLE);
        };
        let index = *index;
        let Some(pin) = self.pins.get_mut(index) else {
            return Reply::status(StatusWord::NotFound);
        };
        if apdu.data.is_empty() {
            return Reply::status(pin.count());
        }
        session.verified.retain(|&v| v != index);
        match pin.verify(&apdu.data) {
            Verified::Yes => {
                session.verified.push(index);
                Reply::status(StatusWord::Success)
            }
            Verified::No(sw) => Reply::status(sw),
        }
    }

    /// PERFORM SECURITY OPERATION / sign `80 2A 00 80 Lc DigestInfo 00` with
    /// the current key EF: PKCS#1 v1.5 padding of the DigestInfo as given.
    fn sign(&mut self, session: &mut PublicSession, apdu: &Apdu) -> Reply {
        if apdu.p1 != 0x00 || apdu.p2 != 0x80 {
            return Reply::status(SW_WRONG_P1P2);
        }
        let Some(fid) = session.ef else {
            return Reply::status(SW_NO_CURRENT_EF);
        };
        let Some(Content::Key { key, pin }) = self.ef(fid).map(|ef| &ef.content) else {
            return Reply::status(SW_INCOMPATIBLE);
        };
        if !session.verified.contains(pin) {
            return Reply::status(StatusWord::SecurityStatusNotSatisfied);
        }
        if apdu.data.is_empty() {
            return Reply::status(StatusWord::WrongLength);
        }
        let Some(ne) = apdu.ne else {
            return Reply::status(StatusWord::WrongLength);
        };
        match key
            .private()
            .sign(Pkcs1v15Sign::new_unprefixed(), &apdu.data)
        {
            Ok(signature) => read_reply(&signature, ne),
            Err(_) => Reply::status(SW_WRONG_DATA),
        }
    }
}

/// Up to `Ne` bytes: all with `90 00` for `Le` 00; the rest with `62 82`
/// when an explicit `Ne` asks for more than there is.
fn read_reply(available: &[u8], ne: Expected) -> Reply {
    let data: Vec<u8> = available.iter().take(ne.n).copied().collect();
    let sw = if !ne.all && ne.n > available.len() {
        StatusWord::EndOfFile
    } else {
        StatusWord::Success
    };
    Reply { data, sw }
}
