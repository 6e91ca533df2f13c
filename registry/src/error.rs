//! Registry errors.

use crate::feed::FeedError;

/// What went wrong in a registry operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The embedded SQLite store failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A value in the SQLite store has the wrong type.
    #[error("SQLite value: {0}")]
    SqliteValue(#[from] rusqlite::types::FromSqlError),
    /// The PostgreSQL server failed or cannot be reached.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    /// The feed file was refused; nothing was imported.
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// A member with this user ID is already registered for this AP.
    #[error("user ID {user_id} is already registered for AP {ap:?} (member {member})")]
    MemberExists {
        /// The user ID.
        user_id: String,
        /// The AP name.
        ap: String,
        /// The member it is linked to.
        member: String,
    },
    /// A value in the store is not what this version writes.
    #[error("the registry holds an unexpected value: {0}")]
    Corrupt(String),
    /// The location is neither a file path nor a `postgres://` URL, or
    /// names something this build cannot open.
    #[error("registry location: {0}")]
    Location(String),
    /// An argument is out of range (an empty AP name or member key, …).
    #[error("{0}")]
    Invalid(String),
}

/// Registry result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
