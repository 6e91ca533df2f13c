//! The shared store: a PostgreSQL server that many gates and desks use.
//!
//! The tables live in their own schema (`cardap` unless told otherwise).
//! Every write transaction takes one advisory lock, so change times strictly
//! increase in commit order and a sync by change time misses nothing. Reads
//! use one snapshot per operation.

use std::io::Write;

use cardap::UserId;
use postgres::{Client, IsolationLevel, Statement, Transaction};

use crate::clock::{self, next_change};
use crate::feed::Feed;
use crate::sqlite::check_member;
use crate::store::{ChangeSet, ImportMode, ImportReport, MemberChange, StatusChange, SyncMark};
use crate::{Decision, Error, Member, Result, Source, Stats, Status, StatusRecord, Store};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    user_id    TEXT NOT NULL,
    ap         TEXT NOT NULL,
    member     TEXT NOT NULL,
    label      TEXT,
    removed    BOOLEAN NOT NULL DEFAULT FALSE,
    changed_us BIGINT NOT NULL,
    PRIMARY KEY (user_id, ap)
);
CREATE INDEX IF NOT EXISTS members_changed ON members (changed_us);
CREATE TABLE IF NOT EXISTS feed_status (
    user_id    TEXT PRIMARY KEY,
    status     TEXT,
    updated_at TEXT NOT NULL,
    changed_us BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS feed_status_changed ON feed_status (changed_us);
CREATE TABLE IF NOT EXISTS provider_status (
    user_id    TEXT PRIMARY KEY,
    status     TEXT,
    updated_at TEXT NOT NULL,
    changed_us BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS provider_status_changed ON provider_status (changed_us);
INSERT INTO meta (key, value) VALUES ('schema', 1) ON CONFLICT DO NOTHING;
";

const DECIDE_SQL: &str = "
SELECT m.ap, m.member,
       (SELECT status FROM provider_status WHERE user_id = $1 AND status IS NOT NULL),
       (SELECT status FROM feed_status WHERE user_id = $1 AND status IS NOT NULL)
FROM members AS m WHERE m.user_id = $1 AND NOT m.removed";

const STATUS_SQL: &str = "
SELECT 1, status, updated_at FROM provider_status WHERE user_id = $1 AND status IS NOT NULL
UNION ALL
SELECT 0, status, updated_at FROM feed_status WHERE user_id = $1 AND status IS NOT NULL";

/// The lock every write transaction takes (first key; the second is the
/// schema's hash).
const WRITE_LOCK: &str = "SELECT pg_advisory_xact_lock(742001, hashtext(current_schema()))";

/// A registry on a PostgreSQL server.
pub struct PostgresStore {
    client: Client,
    decide: Statement,
    status: Statement,
    schema: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

fn status_from(text: &str) -> Result<Status> {
    Status::parse(text).ok_or_else(|| Error::Corrupt(format!("status {text:?}")))
}

fn status_opt(text: Option<&str>) -> Result<Option<Status>> {
    text.map(status_from).transpose()
}

fn meta_get(tx: &mut Transaction<'_>, key: &str) -> Result<i64> {
    Ok(tx
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
        .map_or(0, |r| r.get(0)))
}

fn meta_set(tx: &mut Transaction<'_>, key: &str, value: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&key, &value],
    )?;
    Ok(())
}

fn take_change(tx: &mut Transaction<'_>) -> Result<i64> {
    let change = next_change(meta_get(tx, "last_change")?);
    meta_set(tx, "last_change", change)?;
    Ok(change)
}

#[cfg(feature = "tls")]
fn connect_client(url: &str) -> Result<Client> {
    let tls = native_tls::TlsConnector::new().map_err(|e| Error::Location(format!("TLS: {e}")))?;
    Ok(Client::connect(
        url,
        postgres_native_tls::MakeTlsConnector::new(tls),
    )?)
}

#[cfg(not(feature = "tls"))]
fn connect_client(url: &str) -> Result<Client> {
    if url.contains("sslmode=require") {
        return Err(Error::Location(
            "sslmode=require needs cardap-registry built with the `tls` feature".into(),
        ));
    }
    Ok(Client::connect(url, postgres::NoTls)?)
}

impl PostgresStore {
    /// Connects to the registry in schema `cardap` at `url`
    /// (`postgres://user:password@host:port/db`), creating its tables if
    /// missing.
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_in(url, "cardap")
    }

    /// Connects to the registry in a schema of its own (lower-case letters,
    /// digits and `_`): several registries can share one database.
    pub fn connect_in(url: &str, schema: &str) -> Result<Self> {
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !schema.as_bytes().first().is_some_and(u8::is_ascii_digit);
        if !valid {
            return Err(Error::Location(format!("bad schema name {schema:?}")));
        }
        let mut client = connect_client(url)?;
        {
            let mut tx = client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock(742000)", &[])?;
            tx.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema};"
            ))?;
            tx.batch_execute(SCHEMA)?;
            if meta_get(&mut tx, "instance")? == 0 {
                meta_set(
                    &mut tx,
                    "instance",
                    clock::now_us() ^ i64::from(std::process::id()),
                )?;
            }
            let version = meta_get(&mut tx, "schema")?;
            tx.commit()?;
            if version != 1 {
                return Err(Error::Corrupt(format!("schema version {version}")));
            }
        }
        client.batch_execute(&format!("SET search_path TO {schema}"))?;
        let decide = client.prepare(DECIDE_SQL)?;
        let status = client.prepare(STATUS_SQL)?;
        Ok(Self {
            client,
            decide,
            status,
            schema: schema.to_owned(),
        })
    }

    /// Drops this store's schema and everything in it (tests).
    pub fn drop_schema(mut self) -> Result<()> {
        self.client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))?;
        Ok(())
    }

    fn write(&mut self) -> Result<Transaction<'_>> {
        let mut tx = self.client.transaction()?;
        tx.execute(WRITE_LOCK, &[])?;
        Ok(tx)
    }

    fn snapshot(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?)
    }
}

impl Store for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn add_member(&mut self, member: &Member) -> Result<()> {
        check_member(member)?;
        let mut tx = self.write()?;
        if let Some(row) = tx.query_opt(
            "SELECT member FROM members WHERE user_id = $1 AND ap = $2 AND NOT removed",
            &[&member.user_id, &member.ap],
        )? {
            return Err(Error::MemberExists {
                user_id: member.user_id.clone(),
                ap: member.ap.clone(),
                member: row.get(0),
            });
        }
        let change = take_change(&mut tx)?;
        tx.execute(
            "INSERT INTO members (user_id, ap, member, label, removed, changed_us)
             VALUES ($1, $2, $3, $4, FALSE, $5)
             ON CONFLICT (user_id, ap) DO UPDATE SET member = EXCLUDED.member,
                 label = EXCLUDED.label, removed = FALSE, changed_us = EXCLUDED.changed_us",
            &[
                &member.user_id,
                &member.ap,
                &member.member,
                &member.label,
                &change,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn remove_member(&mut self, user_id: &UserId, ap: &str) -> Result<bool> {
        let mut tx = self.write()?;
        let change = take_change(&mut tx)?;
        let n = tx.execute(
            "UPDATE members SET removed = TRUE, changed_us = $3
             WHERE user_id = $1 AND ap = $2 AND NOT removed",
            &[&user_id.as_str(), &ap, &change],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn members(&mut self) -> Result<Vec<Member>> {
        let rows = self.client.query(
            "SELECT user_id, ap, member, label FROM members WHERE NOT removed
             ORDER BY user_id COLLATE \"C\", ap COLLATE \"C\"",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| Member {
                user_id: r.get(0),
                ap: r.get(1),
                member: r.get(2),
                label: r.get(3),
            })
            .collect())
    }

    fn set_status(&mut self, user_id: &UserId, status: Status) -> Result<StatusRecord> {
        let at = clock::now_rfc3339();
        let mut tx = self.write()?;
        let change = take_change(&mut tx)?;
        tx.execute(
            "INSERT INTO provider_status (user_id, status, updated_at, changed_us)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET status = EXCLUDED.status,
                 updated_at = EXCLUDED.updated_at, changed_us = EXCLUDED.changed_us",
            &[&user_id.as_str(), &status.as_str(), &at, &change],
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
        let mut tx = self.write()?;
        let change = take_change(&mut tx)?;
        let n = tx.execute(
            "UPDATE provider_status SET status = NULL, updated_at = $2, changed_us = $3
             WHERE user_id = $1 AND status IS NOT NULL",
            &[&user_id.as_str(), &at, &change],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn check(&mut self, user_id: &UserId) -> Result<StatusRecord> {
        let rows = self.client.query(&self.status, &[&user_id.as_str()])?;
        let mut found: Option<(Status, Source, String)> = None;
        for row in &rows {
            let provider: i32 = row.get(0);
            let status = status_from(row.get(1))?;
            let source = if provider == 1 {
                Source::Provider
            } else {
                Source::Feed
            };
            if source == Source::Provider || found.is_none() {
                found = Some((status, source, row.get(2)));
            }
        }
        Ok(StatusRecord {
            user_id: user_id.as_str().to_owned(),
            status: found.as_ref().map(|f| f.0),
            source: found.as_ref().map(|f| f.1),
            updated_at: found.map(|f| f.2),
        })
    }

    fn decide(&mut self, user_id: &UserId, ap: &str) -> Result<Decision> {
        let rows = self.client.query(&self.decide, &[&user_id.as_str()])?;
        let mut members = Vec::with_capacity(rows.len());
        let mut status = None;
        for row in &rows {
            let member_ap: String = row.get(0);
            if member_ap == ap {
                let provider: Option<&str> = row.get(2);
                let feed: Option<&str> = row.get(3);
                status = match (provider, feed) {
                    (Some(p), _) => Some((status_from(p)?, Source::Provider)),
                    (None, Some(f)) => Some((status_from(f)?, Source::Feed)),
                    (None, None) => None,
                };
            }
            members.push((member_ap, row.get(1)));
        }
        Ok(Decision::from_parts(user_id.as_str(), ap, &members, status))
    }

    fn import(
        &mut self,
        feed: &Feed,
        mode: ImportMode,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport> {
        let removed_at = clock::now_rfc3339();
        let mut tx = self.write()?;
        let change = take_change(&mut tx)?;
        tx.batch_execute(
            "CREATE TEMP TABLE incoming (user_id TEXT PRIMARY KEY, status TEXT NOT NULL,
                                         updated_at TEXT NOT NULL) ON COMMIT DROP",
        )?;
        {
            let mut copy = tx.copy_in("COPY incoming (user_id, status, updated_at) FROM STDIN")?;
            let mut buf = Vec::with_capacity(1 << 20);
            for (i, row) in feed.rows().iter().enumerate() {
                // Validated fields: digits, a status name, an RFC 3339 time;
                // none holds a tab, a newline or a backslash.
                buf.extend_from_slice(row.user_id.as_bytes());
                buf.push(b'\t');
                buf.extend_from_slice(row.status.as_str().as_bytes());
                buf.push(b'\t');
                buf.extend_from_slice(row.updated_at.as_bytes());
                buf.push(b'\n');
                if buf.len() >= (1 << 20) {
                    copy.write_all(&buf)
                        .map_err(|e| Error::Corrupt(format!("COPY: {e}")))?;
                    buf.clear();
                    progress(i as u64 + 1);
                }
            }
            copy.write_all(&buf)
                .map_err(|e| Error::Corrupt(format!("COPY: {e}")))?;
            copy.finish()?;
        }
        progress(feed.len() as u64);
        let changed = tx.execute(
            "INSERT INTO feed_status AS f (user_id, status, updated_at, changed_us)
             SELECT user_id, status, updated_at, $1 FROM incoming
             ON CONFLICT (user_id) DO UPDATE SET status = EXCLUDED.status,
                 updated_at = EXCLUDED.updated_at, changed_us = EXCLUDED.changed_us
             WHERE f.status IS DISTINCT FROM EXCLUDED.status
                OR f.updated_at <> EXCLUDED.updated_at",
            &[&change],
        )?;
        let removed = match mode {
            ImportMode::Full => tx.execute(
                "UPDATE feed_status AS f SET status = NULL, updated_at = $1, changed_us = $2
                 WHERE f.status IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.user_id = f.user_id)",
                &[&removed_at, &change],
            )?,
            ImportMode::Delta => 0,
        };
        meta_set(&mut tx, "last_import", change)?;
        tx.commit()?;
        Ok(ImportReport {
            mode: mode.as_str(),
            rows: feed.len() as u64,
            changed,
            removed,
        })
    }

    fn stats(&mut self) -> Result<Stats> {
        let mut tx = self.snapshot()?;
        let members: i64 = tx
            .query_one("SELECT count(*) FROM members WHERE NOT removed", &[])?
            .get(0);
        let mut stats = Stats {
            members: u64::try_from(members).unwrap_or(0),
            ..Stats::default()
        };
        for (table, counts) in [
            ("feed_status", &mut stats.feed),
            ("provider_status", &mut stats.provider),
        ] {
            let rows = tx.query(
                &format!(
                    "SELECT status, count(*) FROM {table} WHERE status IS NOT NULL GROUP BY status"
                ),
                &[],
            )?;
            for row in &rows {
                let n: i64 = row.get(1);
                counts.add(status_from(row.get(0))?, u64::try_from(n).unwrap_or(0));
            }
        }
        let last_import = meta_get(&mut tx, "last_import")?;
        let last_sync = meta_get(&mut tx, "last_sync")?;
        tx.commit()?;
        stats.last_import = (last_import > 0).then(|| clock::rfc3339_us(last_import));
        stats.last_sync = (last_sync > 0).then(|| clock::rfc3339_us(last_sync));
        Ok(stats)
    }

    fn changes_since(&mut self, since: i64) -> Result<ChangeSet> {
        let mut tx = self.snapshot()?;
        let mut set = ChangeSet {
            source_id: meta_get(&mut tx, "instance")?,
            since,
            watermark: meta_get(&mut tx, "last_change")?.max(since),
            ..ChangeSet::default()
        };
        for row in tx.query(
            "SELECT user_id, ap, member, label, removed, changed_us FROM members
             WHERE changed_us > $1",
            &[&since],
        )? {
            set.members.push(MemberChange {
                member: Member {
                    user_id: row.get(0),
                    ap: row.get(1),
                    member: row.get(2),
                    label: row.get(3),
                },
                removed: row.get(4),
                changed_us: row.get(5),
            });
        }
        for (table, out) in [
            ("feed_status", &mut set.feed),
            ("provider_status", &mut set.provider),
        ] {
            for row in tx.query(
                &format!(
                    "SELECT user_id, status, updated_at, changed_us FROM {table}
                     WHERE changed_us > $1"
                ),
                &[&since],
            )? {
                out.push(StatusChange {
                    user_id: row.get(0),
                    status: status_opt(row.get(1))?,
                    updated_at: row.get(2),
                    changed_us: row.get(3),
                });
            }
        }
        tx.commit()?;
        Ok(set)
    }

    fn apply_changes(&mut self, changes: &ChangeSet) -> Result<()> {
        let mut tx = self.write()?;
        if changes.since == 0 {
            tx.batch_execute(
                "DELETE FROM members; DELETE FROM feed_status; DELETE FROM provider_status;",
            )?;
        }
        let member = tx.prepare(
            "INSERT INTO members (user_id, ap, member, label, removed, changed_us)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (user_id, ap) DO UPDATE SET member = EXCLUDED.member,
                 label = EXCLUDED.label, removed = EXCLUDED.removed,
                 changed_us = EXCLUDED.changed_us",
        )?;
        for m in &changes.members {
            tx.execute(
                &member,
                &[
                    &m.member.user_id,
                    &m.member.ap,
                    &m.member.member,
                    &m.member.label,
                    &m.removed,
                    &m.changed_us,
                ],
            )?;
        }
        for (table, rows) in [
            ("feed_status", &changes.feed),
            ("provider_status", &changes.provider),
        ] {
            let stmt = tx.prepare(&format!(
                "INSERT INTO {table} (user_id, status, updated_at, changed_us)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id) DO UPDATE SET status = EXCLUDED.status,
                     updated_at = EXCLUDED.updated_at, changed_us = EXCLUDED.changed_us"
            ))?;
            for s in rows {
                tx.execute(
                    &stmt,
                    &[
                        &s.user_id,
                        &s.status.map(Status::as_str),
                        &s.updated_at,
                        &s.changed_us,
                    ],
                )?;
            }
        }
        meta_set(&mut tx, "sync_source", changes.source_id)?;
        meta_set(&mut tx, "sync_watermark", changes.watermark)?;
        meta_set(&mut tx, "last_sync", clock::now_us())?;
        tx.commit()?;
        Ok(())
    }

    fn instance(&mut self) -> Result<i64> {
        let mut tx = self.snapshot()?;
        let v = meta_get(&mut tx, "instance")?;
        tx.commit()?;
        Ok(v)
    }

    fn sync_mark(&mut self) -> Result<SyncMark> {
        let mut tx = self.snapshot()?;
        let mark = SyncMark {
            source_id: meta_get(&mut tx, "sync_source")?,
            watermark: meta_get(&mut tx, "sync_watermark")?,
        };
        tx.commit()?;
        Ok(mark)
    }
}
