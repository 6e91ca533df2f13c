//! The business-system side of cardap: who is registered, which cards are
//! still in use, and what a gate decides for a tap.
//!
//! - **Members** link the user ID read from an AP to the provider's own key
//!   (a member number, a staff ID): unique per (user ID, AP).
//! - **Card statuses** come from the daily feed of the card AP system
//!   ([`Feed`], imported whole or as a delta in one transaction) or from the
//!   provider itself, whose status wins over the feed until it clears it.
//! - **Decisions** ([`Decision`]): allow, or deny with a typed reason and the
//!   source of the status that applied.
//!
//! Two stores implement [`Store`]: [`SqliteStore`] (one file in WAL mode, the
//! embedded default and a gate's local copy) and [`PostgresStore`] (one
//! registry shared by many gates and desks). [`sync`] copies a server's
//! changes into a gate's file by change time, so a gate never needs the
//! server during a tap.
//!
//! ```no_run
//! use cardap::UserId;
//! use cardap_registry::{Member, Status, Store, open};
//!
//! let mut store = open("gate.db")?;
//! let id = UserId::parse(b"1001000000019")?;
//! store.add_member(&Member::new(&id, "city-library", "M-0001", Some("Hanako")))?;
//! store.set_status(&id, Status::Suspended)?;
//! let decision = store.decide(&id, "city-library")?;
//! assert!(!decision.allowed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod clock;
mod error;
pub mod feed;
mod model;
pub mod postgres;
pub mod sqlite;
mod store;
mod sync;

pub use error::{Error, Result};
pub use feed::{Feed, FeedError, FeedRow, RowError, RowReason};
pub use model::{Decision, DenyReason, Member, Source, Stats, Status, StatusCounts, StatusRecord};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use store::{
    ChangeSet, ImportMode, ImportReport, MemberChange, StatusChange, Store, SyncMark,
    is_postgres_url, open, redacted,
};
pub use sync::{SyncReport, sync};

/// The environment variable that names the PostgreSQL registry.
pub const URL_ENV: &str = "CARDAP_REGISTRY_URL";

/// The environment variable that names the PostgreSQL schema of the
/// registry (default `cardap`).
pub const SCHEMA_ENV: &str = "CARDAP_REGISTRY_SCHEMA";
