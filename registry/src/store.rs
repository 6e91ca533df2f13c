//! The storage trait every registry backend implements, and opening one by
//! location.

use cardap::UserId;

use crate::feed::Feed;
use crate::{Decision, Member, Result, Stats, Status, StatusRecord};

/// How a feed file is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportMode {
    /// The file is the whole list: it replaces every `feed` status (user IDs
    /// absent from it lose their feed status). Provider statuses stay.
    Full,
    /// The file holds changes: each row is inserted or updated.
    Delta,
}

impl ImportMode {
    /// `full` or `delta`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::Full => "full",
            ImportMode::Delta => "delta",
        }
    }
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// `full` or `delta`.
    pub mode: &'static str,
    /// Rows in the file.
    pub rows: u64,
    /// Feed statuses added or changed.
    pub changed: u64,
    /// Feed statuses removed (full imports: user IDs no longer listed).
    pub removed: u64,
}

/// One status row as it travels in a sync: `status: None` is a removal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// The user ID.
    pub user_id: String,
    /// The status, or `None` when it was removed (a provider clear, a user
    /// ID dropped by a full feed).
    pub status: Option<Status>,
    /// When the status took effect (or was removed), RFC 3339.
    pub updated_at: String,
    /// The change time in the source store (microseconds since the epoch).
    pub changed_us: i64,
}

/// One member row as it travels in a sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberChange {
    /// The member.
    pub member: Member,
    /// Whether it was removed.
    pub removed: bool,
    /// The change time in the source store.
    pub changed_us: i64,
}

/// Everything that changed in a store after a watermark.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The source store's instance ID (a new server means a full copy).
    pub source_id: i64,
    /// The watermark the changes start after (0: everything).
    pub since: i64,
    /// The watermark after these changes: every change committed later in
    /// the source has a larger change time.
    pub watermark: i64,
    /// Members added, changed or removed.
    pub members: Vec<MemberChange>,
    /// Feed statuses.
    pub feed: Vec<StatusChange>,
    /// Provider statuses.
    pub provider: Vec<StatusChange>,
}

/// Where a copy stands: the source it copies and how far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncMark {
    /// The source's instance ID (0: never synced).
    pub source_id: i64,
    /// The source's change time up to which everything is copied.
    pub watermark: i64,
}

/// A registry store. Each value is one connection, used by one thread at a
/// time (`&mut self`); open one per thread. Several connections to the same
/// file or server work at once: readers see every write whole or not at all.
pub trait Store: Send {
    /// `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;

    /// Registers a member; an existing (user ID, AP) pair is an error.
    fn add_member(&mut self, member: &Member) -> Result<()>;
    /// Removes the member of (user ID, AP); `false` if there was none.
    fn remove_member(&mut self, user_id: &UserId, ap: &str) -> Result<bool>;
    /// Every member, by user ID and AP.
    fn members(&mut self) -> Result<Vec<Member>>;

    /// Sets the provider's status for a user ID, in effect at once and
    /// winning over the feed until cleared.
    fn set_status(&mut self, user_id: &UserId, status: Status) -> Result<StatusRecord>;
    /// Clears the provider's status; the feed's applies again. `false` if
    /// the provider had set none.
    fn clear_status(&mut self, user_id: &UserId) -> Result<bool>;
    /// The status in effect for a user ID.
    fn check(&mut self, user_id: &UserId) -> Result<StatusRecord>;
    /// The gate's decision for a user ID read from the AP named `ap`.
    fn decide(&mut self, user_id: &UserId, ap: &str) -> Result<Decision>;

    /// Imports a validated feed in one transaction. `progress` is called with
    /// the number of rows written so far.
    fn import(
        &mut self,
        feed: &Feed,
        mode: ImportMode,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport>;

    /// Counts, from one consistent snapshot.
    fn stats(&mut self) -> Result<Stats>;

    /// Every change after `since` (0: everything), from one snapshot.
    fn changes_since(&mut self, since: i64) -> Result<ChangeSet>;
    /// Applies a change set from another store (a sync) in one
    /// transaction, and records the new sync mark.
    fn apply_changes(&mut self, changes: &ChangeSet) -> Result<()>;
    /// This store's instance ID (random at creation; tells sources apart).
    fn instance(&mut self) -> Result<i64>;
    /// Where this store's copy of another stands.
    fn sync_mark(&mut self) -> Result<SyncMark>;
}

/// Whether a location names a PostgreSQL server.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Opens the store at `location`: a `postgres://` URL (tables in the schema
/// named by `CARDAP_REGISTRY_SCHEMA`, default `cardap`), or a SQLite file
/// (created if missing).
pub fn open(location: &str) -> Result<Box<dyn Store>> {
    if is_postgres_url(location) {
        let schema = std::env::var(crate::SCHEMA_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "cardap".to_owned());
        Ok(Box::new(crate::postgres::PostgresStore::connect_in(
            location, &schema,
        )?))
    } else {
        Ok(Box::new(crate::sqlite::SqliteStore::open(location)?))
    }
}

/// A location with any password in a URL replaced by `***`, for messages.
pub fn redacted(location: &str) -> String {
    if !is_postgres_url(location) {
        return location.to_owned();
    }
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_owned();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return location.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => location.to_owned(),
    }
}
