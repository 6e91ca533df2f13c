//! What `cardap write` and `cardap issue …` share: opening the card (a PC/SC
//! reader, or a virtual card whose file is written back after a change), and
//! the exit-code classes of their failures.

use std::path::{Path, PathBuf};

use cardap::{Card, Error, LengthMode, StatusWord, Transport, TransportError};
use cardap_sim::{PersistentCard, VirtualCard};

use crate::Source;

/// A failure with its exit code: 2 usage, 3 profile or description file,
/// 4 no reader / no card / no pcscd, 5 AP or file not on the card,
/// 6 authentication or integrity failure, 7 any other card status, 1 internal.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A failure of the SDK, classed by what went wrong.
    pub fn card(e: &Error) -> Self {
        let code = match e {
            Error::Profile(_) => 3,
            Error::Request { .. } => 2,
            Error::Transport(
                TransportError::NoCard
                | TransportError::CardRemoved
                | TransportError::CardReset
                | TransportError::ReaderUnavailable(_)
                | TransportError::ServiceUnavailable(_),
            ) => 4,
            Error::ApNotFound { .. }
            | Error::Status {
                sw: StatusWord::NotFound,
                ..
            } => 5,
            Error::Auth(_) | Error::SecureMessaging(_) | Error::Crypto(_) => 6,
            Error::Status {
                sw: StatusWord::SecurityStatusNotSatisfied | StatusWord::AuthenticationFailed,
                ..
            } => 6,
            Error::Registry { .. } => 1,
            _ => 7,
        };
        Self::new(code, e.to_string())
    }
}

/// The card of a state-changing command: with `--virtual-card FILE`, the file
/// is written back (temporary file, then rename) when the command changed the
/// card, so that the next command sees the change.
pub enum Target {
    Virtual {
        card: Box<VirtualCard>,
        path: PathBuf,
    },
    Reader(Box<dyn Transport>),
}

impl Target {
    pub fn open(source: &Source) -> Result<Self, Failure> {
        match &source.virtual_card {
            Some(path) => {
                let card =
                    VirtualCard::from_file(path).map_err(|e| Failure::new(3, e.to_string()))?;
                Ok(Self::Virtual {
                    card: Box::new(card),
                    path: path.clone(),
                })
            }
            None => crate::card::open(source)
                .map(Self::Reader)
                .map_err(|e| Failure::new(4, e)),
        }
    }

    /// Runs `f` on a reader over the card, then writes a changed virtual card
    /// back to its file.
    pub fn run<R>(
        self,
        short: bool,
        f: impl FnOnce(&mut Card<&mut dyn Transport>) -> Result<R, Error>,
    ) -> Result<R, Failure> {
        let length = if short {
            LengthMode::Short
        } else {
            LengthMode::Auto
        };
        match self {
            Self::Reader(mut transport) => {
                let mut reader =
                    Card::new(&mut *transport as &mut dyn Transport).with_length_mode(length);
                f(&mut reader).map_err(|e| Failure::card(&e))
            }
            Self::Virtual { mut card, path } => {
                let result = {
                    let mut reader =
                        Card::new(&mut *card as &mut dyn Transport).with_length_mode(length);
                    f(&mut reader)
                };
                if card.changes() > 0 {
                    save(*card, &path)?;
                }
                result.map_err(|e| Failure::card(&e))
            }
        }
    }
}

fn save(card: VirtualCard, path: &Path) -> Result<(), Failure> {
    PersistentCard::new(card, path)
        .save()
        .map_err(|e| Failure::new(1, format!("cannot write the virtual card back: {e}")))
}
