//! What `cardap write` and `cardap issue …` share: opening the card (a PC/SC
//! reader, or a virtual card whose file is written back after a change), and
//! the exit-code classes of their failures.

use std::path::{Path, PathBuf};

use cardap::{Card, Error, LengthMode, Transport};
use cardap_sim::{PersistentCard, VirtualCard};

use crate::Source;
use crate::error::{CliError, Exit, class_of};

/// The failures of writes and the desk, in the CLI's exit-code classes
/// (`error.rs`): requests the profile does not allow are usage errors.
pub type Failure = CliError;

/// A failure of the SDK, classed by what went wrong.
pub fn card_failure(e: &Error) -> CliError {
    CliError::new(class_of(e), e.to_string())
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
                    VirtualCard::from_file(path).map_err(|e| CliError::file(e.to_string()))?;
                Ok(Self::Virtual {
                    card: Box::new(card),
                    path: path.clone(),
                })
            }
            None => crate::card::open(source)
                .map(Self::Reader)
                .map_err(|e| CliError::new(Exit::NoCard, e.to_string())),
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
                f(&mut reader).map_err(|e| card_failure(&e))
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
                result.map_err(|e| card_failure(&e))
            }
        }
    }
}

fn save(card: VirtualCard, path: &Path) -> Result<(), Failure> {
    PersistentCard::new(card, path)
        .save()
        .map_err(|e| CliError::internal(format!("cannot write the virtual card back: {e}")))
}
