//! A virtual card that keeps its description file in step with what it
//! carries (PROFILE.md §12.7): after every command that changed the card, the
//! file is written to a temporary file in the same directory and renamed over
//! the old one, so a crash leaves the old file or the new one, never a mix.

use std::io::Write;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::VirtualCard;
use crate::description::DescriptionError;
#[cfg(feature = "vpcd")]
use crate::vpcd::CardSide;

/// A [`VirtualCard`] that writes its state back to its description file
/// after every change (`cardap sim --persist`).
#[derive(Debug)]
pub struct PersistentCard {
    card: VirtualCard,
    path: PathBuf,
    extended_length: bool,
    saved: u64,
}

impl PersistentCard {
    /// Serves `card`, keeping `path` in step. The file keeps the card's
    /// current `extended_length` setting.
    pub fn new(card: VirtualCard, path: impl Into<PathBuf>) -> Self {
        let extended_length = card.description().extended_length();
        let saved = card.changes();
        Self {
            card,
            path: path.into(),
            extended_length,
            saved,
        }
    }

    /// Writes `extended_length` into the file instead of the card's setting
    /// (for a card served with extended length turned off for a test).
    pub fn keep_extended_length(mut self, on: bool) -> Self {
        self.extended_length = on;
        self
    }

    /// The card.
    pub fn card(&self) -> &VirtualCard {
        &self.card
    }

    /// The card, mutably (removal knobs and the like).
    pub fn card_mut(&mut self) -> &mut VirtualCard {
        &mut self.card
    }

    /// Writes the card's state to its file now (atomically).
    pub fn save(&mut self) -> Result<(), DescriptionError> {
        let description = self
            .card
            .snapshot()
            .with_extended_length(self.extended_length);
        let text = Zeroizing::new(description.to_toml_string()?);
        write_atomically(&self.path, text.as_bytes()).map_err(|source| DescriptionError::Io {
            file: self.path.clone(),
            source,
        })?;
        self.saved = self.card.changes();
        Ok(())
    }
}

/// Writes `bytes` to a new file beside `path` (owner-only permissions: it
/// holds keys), flushes it to disk and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(feature = "vpcd")]
impl CardSide for PersistentCard {
    /// Runs the command; if it changed the card, the file is replaced before
    /// the answer goes out, so an answered write is on disk. A failure to
    /// write the file is reported on stderr (the card keeps serving).
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let response = self.card.process(apdu);
        if self.card.changes() != self.saved
            && let Err(e) = self.save()
        {
            eprintln!("cardap sim: cannot persist the card: {e}");
        }
        response
    }
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }
    fn power_off(&mut self) {
        self.card.power_off();
    }
    fn reset(&mut self) {
        self.card.reset();
    }
}
