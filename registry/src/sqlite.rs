//! The embedded store: one SQLite file in WAL mode.
//!
//! Readers never wait for a writer and see each write transaction whole or
//! not at all; an import killed half way leaves its uncommitted pages in the
//! WAL, which SQLite discards on the next open.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use cardap::UserId;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::clock::{self, next_change};
use crate::feed::Feed;
use crate::store::{ChangeSet, ImportMode, ImportReport, MemberChange, StatusChange, SyncMark};
use crate::{Decision, Error, Member, Result, Source, Stats, Status, StatusRecord, Store};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
    user_id    TEXT NOT NULL,
    ap         TEXT NOT NULL,
    member     TEXT NOT NULL,
    label      TEXT,
    removed    INTEGER NOT NULL DEFAULT 0,
    changed_us INTEGER NOT NULL,
    PRIMARY KEY (user_id, ap)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feed_status (
    user_id    TEXT PRIMARY KEY,
    status     TEXT,
    updated_at TEXT NOT NULL,
    changed_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS provider_status (
    user_id    TEXT PRIMARY KEY,
    status     TEXT,
    updated_at TEXT NOT NULL,
    changed_us INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', 1);
";

const STATUS_SQL: &str = "
SELECT 1, status, updated_at FROM provider_status WHERE user_id = ?1 AND status IS NOT NULL
UNION ALL
SELECT 0, status, updated_at FROM feed_status WHERE user_id = ?1 AND status IS NOT NULL";

const MEMBERS_WITH_STATUS_SQL: &str = "
SELECT m.user_id, m.ap, m.member,
       (SELECT status FROM provider_status AS p WHERE p.user_id = m.user_id AND p.status IS NOT NULL),
       (SELECT status FROM feed_status AS f WHERE f.user_id = m.user_id AND f.status IS NOT NULL)
FROM members AS m WHERE m.removed = 0";

/// Durable at each checkpoint and never corrupt (WAL + NORMAL); lookups read
/// pages through a memory map and a 32 MiB page cache instead of a system
/// call per page (a status lookup among 1,000,000 touches pages all over
/// the file).
const READ_PRAGMAS: &str = "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;
PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -32768;";

/// A registry in one SQLite file.
///
/// Decisions are answered from an in-memory copy of what a gate needs: the
/// registered members and the status in effect for each (a user ID nobody
/// registered is denied whatever its status). The copy is made in one read
/// transaction and made again when the file changed: by another connection
/// (SQLite's `data_version`, checked at every decision) or by this one.
pub struct SqliteStore {
    conn: Connection,
    cache: Option<MemberCache>,
}

/// Registered members and their statuses, as of one `data_version`.
struct MemberCache {
    version: i64,
    by_user: HashMap<String, Vec<CachedMember>>,
}

struct CachedMember {
    ap: String,
    member: String,
    status: Option<(Status, Source)>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.conn.path())
            .finish()
    }
}

fn status_from(text: &str) -> Result<Status> {
    Status::parse(text).ok_or_else(|| Error::Corrupt(format!("status {text:?}")))
}

fn meta_get(conn: &Connection, key: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0))
}

fn meta_set(conn: &Connection, key: &str, value: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Takes the next change time inside a write transaction.
fn take_change(tx: &Transaction<'_>) -> Result<i64> {
    let change = next_change(meta_get(tx, "last_change")?);
    meta_set(tx, "last_change", change)?;
    Ok(change)
}

impl SqliteStore {
    /// Opens (creating if missing) the registry file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// A registry in memory (tests, benchmarks).
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.busy_timeout(Duration::from_secs(30))?;
        // WAL: readers go on during an import and see the old list until it
        // commits. NORMAL: durable at each checkpoint, never corrupt.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch(READ_PRAGMAS)?;
        conn.set_prepared_statement_cache_capacity(32);
        let version: i64 = {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(SCHEMA)?;
            if meta_get(&tx, "instance")? == 0 {
                // Tells one store from another in sync marks.
                meta_set(
                    &tx,
                    "instance",
                    clock::now_us() ^ i64::from(std::process::id()),
                )?;
            }
            let v = meta_get(&tx, "schema")?;
            tx.commit()?;
            v
        };
        if version != 1 {
            return Err(Error::Corrupt(format!("schema version {version}")));
        }
        Ok(Self { conn, cache: None })
    }

    fn write(&mut self) -> Result<Transaction<'_>> {
        // This connection's own commits do not move `data_version`.
        self.cache = None;
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Loads the members and their statuses in one read transaction.
    /// `version` was read before it, so a commit in between only causes
    /// one more load later, never a stale copy.
    fn load_members(&self, version: i64) -> Result<MemberCache> {
        let tx = self.conn.unchecked_transaction()?;
        let mut by_user: HashMap<String, Vec<CachedMember>> = HashMap::new();
        {
            let mut stmt = tx.prepare_cached(MEMBERS_WITH_STATUS_SQL)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let status = match (
                    row.get_ref(3)?.as_str_or_null()?,
                    row.get_ref(4)?.as_str_or_null()?,
                ) {
                    (Some(p), _) => Some((status_from(p)?, Source::Provider)),
                    (None, Some(f)) => Some((status_from(f)?, Source::Feed)),
                    (None, None) => None,
                };
                by_user.entry(row.get(0)?).or_default().push(CachedMember {
                    ap: row.get(1)?,
                    member: row.get(2)?,
                    status,
                });
            }
        }
        tx.finish()?;
        Ok(MemberCache { version, by_user })
    }

    fn effective(&self, user_id: &str) -> Result<Option<(Status, Source, String)>> {
        let mut stmt = self.conn.prepare_cached(STATUS_SQL)?;
        let mut rows = stmt.query([user_id])?;
        let mut feed = None;
        while let Some(row) = rows.next()? {
            let provider: i64 = row.get(0)?;
            let status = status_from(row.get_ref(1)?.as_str()?)?;
            let at: String = row.get(2)?;
            if provider == 1 {
                return Ok(Some((status, Source::Provider, at)));
            }
            feed = Some((status, Source::Feed, at));
        }
        Ok(feed)
    }
}

impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn add_member(&mut self, member: &Member) -> Result<()> {
        check_member(member)?;
        let tx = self.write()?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT member FROM members WHERE user_id = ?1 AND ap = ?2 AND removed = 0",
                params![member.user_id, member.ap],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(existing) = existing {
            return Err(Error::MemberExists {
                user_id: member.user_id.clone(),
                ap: member.ap.clone(),
                member: existing,
            });
        }
        let change = take_change(&tx)?;
        tx.execute(
            "INSERT INTO members (user_id, ap, member, label, removed, changed_us)
             VALUES (?1, ?2, ?3, ?4, 0, ?5)
             ON CONFLICT (user_id, ap) DO UPDATE SET member = excluded.member,
                 label = excluded.label, removed = 0, changed_us = excluded.changed_us",
            params![
                member.user_id,
                member.ap,
                member.member,
                member.label,
                change
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn remove_member(&mut self, user_id: &UserId, ap: &str) -> Result<bool> {
        let tx = self.write()?;
        let change = take_change(&tx)?;
        let n = tx.execute(
            "UPDATE members SET removed = 1, changed_us = ?3
             WHERE user_id = ?1 AND ap = ?2 AND removed = 0",
            params![user_id.as_str(), ap, change],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn members(&mut self) -> Result<Vec<Member>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT user_id, ap, member, label FROM members WHERE removed = 0 ORDER BY user_id, ap",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Member {
                user_id: r.get(0)?,
                ap: r.get(1)?,
                member: r.get(2)?,
                label: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn set_status(&mut self, user_id: &UserId, status: Status) -> Result<StatusRecord> {
        let at = clock::now_rfc3339();
        let tx = self.write()?;
        let change = take_change(&tx)?;
        tx.execute(
            "INSERT INTO provider_status (user_id, status, updated_at, changed_us)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_id) DO UPDATE SET status = excluded.status,
                 updated_at = excluded.updated_at, changed_us = excluded.changed_us",
            params![user_id.as_str(), status.as_str(), at, change],
        )?;
        tx.commit()?;
        Ok(StatusRecord {
            user_id: user_id.as_str().to_owned(),
            status: Some(status),
            source: Some(Source::Provider),
            updated_at: Some(at),
        })
    }

    fn clear_status(&mut self, user_id: &UserId) -> Result<bool> {
        let at = clock::now_rfc3339();
        let tx = self.write()?;
        let change = take_change(&tx)?;
        let n = tx.execute(
            "UPDATE provider_status SET status = NULL, updated_at = ?2, changed_us = ?3
             WHERE user_id = ?1 AND status IS NOT NULL",
            params![user_id.as_str(), at, change],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn check(&mut self, user_id: &UserId) -> Result<StatusRecord> {
        let found = self.effective(user_id.as_str())?;
        Ok(StatusRecord {
            user_id: user_id.as_str().to_owned(),
            status: found.as_ref().map(|f| f.0),
            source: found.as_ref().map(|f| f.1),
            updated_at: found.map(|f| f.2),
        })
    }

    fn decide(&mut self, user_id: &UserId, ap: &str) -> Result<Decision> {
        let version: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        let cache = match self.cache.take() {
            Some(cache) if cache.version == version => cache,
            _ => self.load_members(version)?,
        };
        let entries = cache.by_user.get(user_id.as_str());
        let decision = match entries {
            None => Decision::from_lookup(user_id.as_str(), None, false, None),
            Some(list) => match list.iter().find(|m| m.ap == ap) {
                Some(m) => Decision::from_lookup(user_id.as_str(), Some(&m.member), true, m.status),
                None => Decision::from_lookup(user_id.as_str(), None, true, None),
            },
        };
        self.cache = Some(cache);
        Ok(decision)
    }

    fn import(
        &mut self,
        feed: &Feed,
        mode: ImportMode,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport> {
        let removed_at = clock::now_rfc3339();
        self.conn.execute_batch("PRAGMA cache_size = -262144")?;
        let tx = self.write()?;
        let change = take_change(&tx)?;
        let rows = feed.rows();
        // A full feed is merged with the table in user-ID order (both are
        // sorted): only new and changed rows are written, and listed IDs
        // missing from the file are removed. Unchanged rows cost a read.
        let (writes, removals): (Vec<usize>, Vec<String>) = match mode {
            ImportMode::Delta => ((0..rows.len()).collect(), Vec::new()),
            ImportMode::Full => {
                let mut writes = Vec::new();
                let mut removals = Vec::new();
                let mut stmt = tx.prepare(
                    "SELECT user_id, status, updated_at FROM feed_status ORDER BY user_id",
                )?;
                let mut cursor = stmt.query([])?;
                let mut i = 0;
                while let Some(r) = cursor.next()? {
                    let id = r.get_ref(0)?.as_str()?;
                    while rows.get(i).is_some_and(|row| row.user_id.as_str() < id) {
                        writes.push(i);
                        i += 1;
                    }
                    let status = r.get_ref(1)?.as_str_or_null()?;
                    match rows.get(i).filter(|row| row.user_id == id) {
                        Some(row) => {
                            if status != Some(row.status.as_str())
                                || r.get_ref(2)?.as_str()? != row.updated_at
                            {
                                writes.push(i);
                            }
                            i += 1;
                        }
                        None if status.is_some() => removals.push(id.to_owned()),
                        None => {}
                    }
                }
                writes.extend(i..rows.len());
                (writes, removals)
            }
        };
        let mut changed = 0u64;
        {
            // The WHERE makes a delta row that changes nothing a no-op.
            let mut upsert = tx.prepare_cached(
                "INSERT INTO feed_status (user_id, status, updated_at, changed_us)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id) DO UPDATE SET status = excluded.status,
                     updated_at = excluded.updated_at, changed_us = excluded.changed_us
                 WHERE status IS NOT excluded.status OR updated_at <> excluded.updated_at",
            )?;
            for (n, &i) in writes.iter().enumerate() {
                if let Some(row) = rows.get(i) {
                    changed += upsert.execute(params![
                        row.user_id,
                        row.status.as_str(),
                        row.updated_at,
                        change
                    ])? as u64;
                }
                if n % 16384 == 16383 {
                    progress(n as u64 + 1);
                }
            }
            let mut remove = tx.prepare_cached(
                "UPDATE feed_status SET status = NULL, updated_at = ?2, changed_us = ?3
                 WHERE user_id = ?1",
            )?;
            for id in &removals {
                remove.execute(params![id, removed_at, change])?;
            }
        }
        progress(feed.len() as u64);
        let removed = removals.len();
        meta_set(&tx, "last_import", change)?;
        tx.commit()?;
        self.conn.execute_batch(READ_PRAGMAS)?;
        Ok(ImportReport {
            mode: mode.as_str(),
            rows: feed.len() as u64,
            changed,
            removed: removed as u64,
        })
    }

    fn stats(&mut self) -> Result<Stats> {
        let tx = self.conn.unchecked_transaction()?;
        let mut stats = Stats {
            members: u64::try_from(tx.query_row(
                "SELECT count(*) FROM members WHERE removed = 0",
                [],
                |r| r.get::<_, i64>(0),
            )?)
            .unwrap_or(0),
            ..Stats::default()
        };
        for (table, counts) in [
            ("feed_status", &mut stats.feed),
            ("provider_status", &mut stats.provider),
        ] {
            let mut stmt = tx.prepare(&format!(
                "SELECT status, count(*) FROM {table} WHERE status IS NOT NULL GROUP BY status"
            ))?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let status = status_from(row.get_ref(0)?.as_str()?)?;
                counts.add(status, u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0));
            }
        }
        let last_import = meta_get(&tx, "last_import")?;
        let last_sync = meta_get(&tx, "last_sync")?;
        tx.finish()?;
        stats.last_import = (last_import > 0).then(|| clock::rfc3339_us(last_import));
        stats.last_sync = (last_sync > 0).then(|| clock::rfc3339_us(last_sync));
        Ok(stats)
    }

    fn changes_since(&mut self, since: i64) -> Result<ChangeSet> {
        let tx = self.conn.unchecked_transaction()?;
        let mut set = ChangeSet {
            source_id: meta_get(&tx, "instance")?,
            since,
            watermark: meta_get(&tx, "last_change")?.max(since),
            ..ChangeSet::default()
        };
        {
            let mut stmt = tx.prepare(
                "SELECT user_id, ap, member, label, removed, changed_us FROM members
                 WHERE changed_us > ?1",
            )?;
            let rows = stmt.query_map([since], |r| {
                Ok(MemberChange {
                    member: Member {
                        user_id: r.get(0)?,
                        ap: r.get(1)?,
                        member: r.get(2)?,
                        label: r.get(3)?,
                    },
                    removed: r.get::<_, i64>(4)? != 0,
                    changed_us: r.get(5)?,
                })
            })?;
            set.members = rows.collect::<rusqlite::Result<_>>()?;
        }
        for (table, out) in [
            ("feed_status", &mut set.feed),
            ("provider_status", &mut set.provider),
        ] {
            let mut stmt = tx.prepare(&format!(
                "SELECT user_id, status, updated_at, changed_us FROM {table} WHERE changed_us > ?1"
            ))?;
            let mut rows = stmt.query([since])?;
            while let Some(row) = rows.next()? {
                let status = match row.get_ref(1)?.as_str_or_null()? {
                    Some(s) => Some(status_from(s)?),
                    None => None,
                };
                out.push(StatusChange {
                    user_id: row.get(0)?,
                    status,
                    updated_at: row.get(2)?,
                    changed_us: row.get(3)?,
                });
            }
        }
        tx.finish()?;
        Ok(set)
    }

    fn apply_changes(&mut self, changes: &ChangeSet) -> Result<()> {
        let tx = self.write()?;
        if changes.since == 0 {
            // A full copy replaces whatever an earlier source left here.
            tx.execute_batch(
                "DELETE FROM members; DELETE FROM feed_status; DELETE FROM provider_status;",
            )?;
        }
        {
            let mut member = tx.prepare_cached(
                "INSERT OR REPLACE INTO members (user_id, ap, member, label, removed, changed_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for m in &changes.members {
                member.execute(params![
                    m.member.user_id,
                    m.member.ap,
                    m.member.member,
                    m.member.label,
                    i64::from(m.removed),
                    m.changed_us
                ])?;
            }
            let mut feed = tx.prepare_cached(
                "INSERT OR REPLACE INTO feed_status (user_id, status, updated_at, changed_us)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for s in &changes.feed {
                feed.execute(params![
                    s.user_id,
                    s.status.map(Status::as_str),
                    s.updated_at,
                    s.changed_us
                ])?;
            }
            let mut provider = tx.prepare_cached(
                "INSERT OR REPLACE INTO provider_status (user_id, status, updated_at, changed_us)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for s in &changes.provider {
                provider.execute(params![
                    s.user_id,
                    s.status.map(Status::as_str),
                    s.updated_at,
                    s.changed_us
                ])?;
            }
        }
        meta_set(&tx, "sync_source", changes.source_id)?;
        meta_set(&tx, "sync_watermark", changes.watermark)?;
        meta_set(&tx, "last_sync", clock::now_us())?;
        tx.commit()?;
        Ok(())
    }

    fn instance(&mut self) -> Result<i64> {
        meta_get(&self.conn, "instance")
    }

    fn sync_mark(&mut self) -> Result<SyncMark> {
        Ok(SyncMark {
            source_id: meta_get(&self.conn, "sync_source")?,
            watermark: meta_get(&self.conn, "sync_watermark")?,
        })
    }
}

/// Rejects empty AP names and member keys.
pub(crate) fn check_member(member: &Member) -> Result<()> {
    if member.ap.trim().is_empty() {
        return Err(Error::Invalid("the AP name is empty".into()));
    }
    if member.member.trim().is_empty() {
        return Err(Error::Invalid("the member key is empty".into()));
    }
    UserId::parse(member.user_id.as_bytes())
        .map_err(|e| Error::Invalid(format!("user ID {}: {e}", member.user_id)))?;
    Ok(())
}
