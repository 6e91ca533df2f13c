//! The loading desk's user-ID registry (PROFILE.md §12.6): a SQLite file with
//! every user ID the desk ever issued. A new ID is recorded, committed, before
//! the card is asked to install it, and no row is ever deleted, so an ID is
//! never issued twice — not after a deletion, not after a torn install.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use rand_core::CryptoRngCore;

use crate::userid::{UserId, check_digit};

/// Most digits a desk's prefix may fix (the rest are random).
pub const PREFIX_MAX: usize = 6;
/// Draws before the registry gives up finding an unused ID (only reachable
/// when the prefix leaves almost no room).
const MAX_DRAWS: usize = 64;

/// Why the registry failed. Messages name the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// SQLite failed (the file cannot be opened, is not a registry, is locked…).
    #[error("user-ID registry {file}: {message}")]
    Database {
        /// The registry file.
        file: String,
        /// What SQLite said.
        message: String,
    },
    /// No unused user ID could be drawn.
    #[error("user-ID registry {file}: no unused user ID left for prefix {prefix:?}")]
    Exhausted {
        /// The registry file.
        file: String,
        /// The desk's prefix.
        prefix: String,
    },
    /// The random source failed.
    #[error("user-ID registry: no randomness for a new user ID")]
    Random,
}

/// How an issued user ID ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdState {
    /// Recorded before CREATE FILE was sent; the outcome is not known yet (or
    /// never was: the card was torn away).
    Reserved,
    /// The card answered CREATE FILE with `90 00`.
    Installed,
    /// The card refused CREATE FILE: the AP does not exist, the ID stays used.
    Failed,
}

impl IdState {
    fn name(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Installed => "installed",
            Self::Failed => "failed",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "reserved" => Some(Self::Reserved),
            "installed" => Some(Self::Installed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One row of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedId {
    /// The user ID.
    pub user_id: UserId,
    /// The AP's AID, hex.
    pub aid: String,
    /// `A`, `C` or `D`.
    pub kind: String,
    /// `extension` or `local`.
    pub area: String,
    /// The EF.DIR label given at loading.
    pub label: String,
    /// When the ID was drawn (RFC 3339, UTC).
    pub issued_at: String,
    /// How the install ended.
    pub state: IdState,
}

/// What an install records with its new user ID.
#[derive(Debug, Clone, Copy)]
pub struct IdUse<'a> {
    /// The AP's AID.
    pub aid: &'a [u8],
    /// `A`, `C` or `D`.
    pub kind: &'a str,
    /// `extension` or `local`.
    pub area: &'a str,
    /// The label.
    pub label: &'a str,
}

/// An open registry file.
#[derive(Debug)]
pub struct Registry {
    connection: Connection,
    file: PathBuf,
}

impl Registry {
    /// Opens (and creates when missing) the registry at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RegistryError> {
        let file = path.as_ref().to_path_buf();
        let db = |e: rusqlite::Error| RegistryError::Database {
            file: file.display().to_string(),
            message: e.to_string(),
        };
        let connection = Connection::open(&file).map_err(db)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE IF NOT EXISTS issued (
                     user_id   TEXT PRIMARY KEY NOT NULL CHECK (length(user_id) = 13),
                     aid       TEXT NOT NULL,
                     type      TEXT NOT NULL,
                     area      TEXT NOT NULL,
                     label     TEXT NOT NULL,
                     issued_at TEXT NOT NULL,
                     state     TEXT NOT NULL
                 );
                 CREATE TRIGGER IF NOT EXISTS issued_never_deleted
                     BEFORE DELETE ON issued
                     BEGIN SELECT RAISE(ABORT, 'issued user IDs are never deleted'); END;",
            )
            .map_err(db)?;
        Ok(Self { connection, file })
    }

    fn db_error(&self, e: rusqlite::Error) -> RegistryError {
        RegistryError::Database {
            file: self.file.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Draws a new user ID (`prefix`, random digits, the PROFILE.md §3 check
    /// digit) that the registry has never seen, and records it as
    /// [`IdState::Reserved`] in a committed transaction. `prefix` is at most
    /// [`PREFIX_MAX`] ASCII digits (checked by the caller's configuration).
    pub fn reserve(
        &mut self,
        prefix: &str,
        rng: &mut dyn CryptoRngCore,
        use_: IdUse<'_>,
    ) -> Result<UserId, RegistryError> {
        let file = self.file.display().to_string();
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| RegistryError::Database {
                file: file.clone(),
                message: e.to_string(),
            })?;
        let db = |e: rusqlite::Error| RegistryError::Database {
            file: file.clone(),
            message: e.to_string(),
        };
        for _ in 0..MAX_DRAWS {
            let id = draw(prefix, rng)?;
            let taken: Option<String> = tx
                .query_row(
                    "SELECT user_id FROM issued WHERE user_id = ?1",
                    params![id.as_str()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db)?;
            if taken.is_some() {
                continue;
            }
            tx.execute(
                "INSERT INTO issued (user_id, aid, type, area, label, issued_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?6)",
                params![
                    id.as_str(),
                    hex::encode_upper(use_.aid),
                    use_.kind,
                    use_.area,
                    use_.label,
                    IdState::Reserved.name()
                ],
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
            return Ok(id);
        }
        Err(RegistryError::Exhausted {
            file,
            prefix: prefix.to_owned(),
        })
    }

    /// Records how the install of `user_id` ended.
    pub fn set_state(&mut self, user_id: &UserId, state: IdState) -> Result<(), RegistryError> {
        self.connection
            .execute(
                "UPDATE issued SET state = ?2 WHERE user_id = ?1",
                params![user_id.as_str(), state.name()],
            )
            .map_err(|e| self.db_error(e))?;
        Ok(())
    }

    /// Every issued ID, oldest first.
    pub fn issued(&self) -> Result<Vec<IssuedId>, RegistryError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT user_id, aid, type, area, label, issued_at, state
                 FROM issued ORDER BY issued_at, user_id",
            )
            .map_err(|e| self.db_error(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                ))
            })
            .map_err(|e| self.db_error(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (user_id, aid, kind, area, label, issued_at, state) =
                row.map_err(|e| self.db_error(e))?;
            let corrupt = |what: &str| RegistryError::Database {
                file: self.file.display().to_string(),
                message: format!("row {user_id}: {what}"),
            };
            out.push(IssuedId {
                user_id: UserId::parse(user_id.as_bytes())
                    .map_err(|_| corrupt("not a valid user ID"))?,
                aid,
                kind,
                area,
                label,
                issued_at,
                state: IdState::from_name(&state).ok_or_else(|| corrupt("unknown state"))?,
            });
        }
        Ok(out)
    }
}

/// `prefix` followed by random digits to 12, then the check digit.
fn draw(prefix: &str, rng: &mut dyn CryptoRngCore) -> Result<UserId, RegistryError> {
    let mut digits: Vec<u8> = prefix.bytes().collect();
    while digits.len() < 12 {
        let mut byte = [0u8; 1];
        rng.try_fill_bytes(&mut byte)
            .map_err(|_| RegistryError::Random)?;
        // Rejection sampling keeps the digits uniform.
        if byte[0] < 250 {
            digits.push(b'0' + byte[0] % 10);
        }
    }
    let check = check_digit(&digits).ok_or(RegistryError::Random)?;
    digits.push(b'0' + check);
    UserId::parse(&digits).map_err(|_| RegistryError::Random)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::auth::FixedRandom;
    use rand_core::OsRng as OsRandom;

    fn use_() -> IdUse<'static> {
        IdUse {
            aid: &[0xF0, 1, 2, 3, 4],
            kind: "A",
            area: "local",
            label: "test",
        }
    }

    #[test]
    fn ids_are_valid_unique_and_never_reused() {
        let dir = std::env::temp_dir().join(format!("cardap-registry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ids.sqlite");
        let _ = std::fs::remove_file(&path);
        let mut registry = Registry::open(&path).unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let id = registry.reserve("9", &mut OsRandom, use_()).unwrap();
            assert!(id.as_str().starts_with('9'));
            assert!(seen.insert(id));
        }
        // The same random digits again: the registry draws past them.
        let same = || FixedRandom::new([vec![1u8; 11], vec![2u8; 11], vec![3u8; 11]].concat());
        let first = registry.reserve("9", &mut same(), use_()).unwrap();
        let second = registry.reserve("9", &mut same(), use_()).unwrap();
        assert_ne!(first, second);
        assert_eq!(&first.as_str()[..12], "911111111111");
        assert_eq!(&second.as_str()[..12], "922222222222");
        registry.set_state(&first, IdState::Failed).unwrap();
        // Rows survive a reopen and cannot be deleted.
        drop(registry);
        let registry = Registry::open(&path).unwrap();
        let issued = registry.issued().unwrap();
        assert_eq!(issued.len(), 202);
        assert!(
            issued
                .iter()
                .any(|r| r.user_id == first && r.state == IdState::Failed)
        );
        assert!(
            registry
                .connection
                .execute("DELETE FROM issued", [])
                .is_err()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_prefix_space_is_reported() {
        let dir = std::env::temp_dir().join(format!("cardap-registry-x-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ids.sqlite");
        let _ = std::fs::remove_file(&path);
        let mut registry = Registry::open(&path).unwrap();
        let twelve = "123456789012";
        let first = registry.reserve(twelve, &mut OsRandom, use_()).unwrap();
        assert_eq!(&first.as_str()[..12], twelve);
        let err = registry.reserve(twelve, &mut OsRandom, use_()).unwrap_err();
        assert!(matches!(err, RegistryError::Exhausted { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
