//! Helpers shared by the registry tests: user IDs, feeds, and the two
//! backends (a SQLite file in a temporary directory; a schema of its own on
//! the PostgreSQL server named by CARDAP_REGISTRY_URL).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use cardap::UserId;
use cardap_registry::{PostgresStore, SqliteStore, Store};

/// The check digit of PROFILE.md §3 for 12 digits (weights 2…7 from the
/// right, `11 - s mod 11`, 0 when the remainder is 0 or 1).
fn check_digit(body: &str) -> u32 {
    let s: u32 = body
        .bytes()
        .rev()
        .zip([2u32, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let r = s % 11;
    if r <= 1 { 0 } else { 11 - r }
}

/// The user ID with body `n` (12 digits) and its check digit.
pub fn uid(n: u64) -> UserId {
    UserId::parse(uid_text(n).as_bytes()).unwrap()
}

pub fn uid_text(n: u64) -> String {
    let body = format!("{n:012}");
    let check = check_digit(&body);
    format!("{body}{check}")
}

/// A feed file's text from (body, status, time) rows.
pub fn feed_text(rows: &[(u64, &str, &str)]) -> String {
    let mut s = String::from("user_id,status,updated_at\n");
    for (n, status, at) in rows {
        s.push_str(&format!("{},{status},{at}\n", uid_text(*n)));
    }
    s
}

pub trait Backend {
    fn open(&self) -> Box<dyn Store>;
    fn name(&self) -> &'static str;
}

pub struct SqliteBackend {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn sqlite() -> SqliteBackend {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.db");
    SqliteBackend { _dir: dir, path }
}

impl Backend for SqliteBackend {
    fn open(&self) -> Box<dyn Store> {
        Box::new(SqliteStore::open(&self.path).unwrap())
    }
    fn name(&self) -> &'static str {
        "sqlite"
    }
}

pub struct PostgresBackend {
    pub url: String,
    pub schema: String,
}

/// The PostgreSQL backend, or `None` (with a message) when no server is
/// named. `scripts/test.sh` starts one and sets CARDAP_REQUIRE_POSTGRES=1,
/// so in the suite a missing server fails instead.
pub fn postgres(test: &str) -> Option<PostgresBackend> {
    let url = match std::env::var(cardap_registry::URL_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if std::env::var("CARDAP_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("CARDAP_REGISTRY_URL is not set but CARDAP_REQUIRE_POSTGRES=1");
            }
            eprintln!(
                "SKIPPED {test} on PostgreSQL: CARDAP_REGISTRY_URL is not set \
                 (eval \"$(bash scripts/postgres-up.sh)\" starts a server)"
            );
            return None;
        }
    };
    let schema = format!("t_{}_{}", test.to_ascii_lowercase(), std::process::id());
    // A leftover of an earlier run with the same PID.
    PostgresStore::connect_in(&url, &schema)
        .unwrap()
        .drop_schema()
        .unwrap();
    Some(PostgresBackend { url, schema })
}

impl Backend for PostgresBackend {
    fn open(&self) -> Box<dyn Store> {
        Box::new(PostgresStore::connect_in(&self.url, &self.schema).unwrap())
    }
    fn name(&self) -> &'static str {
        "postgres"
    }
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        if let Ok(store) = PostgresStore::connect_in(&self.url, &self.schema) {
            let _ = store.drop_schema();
        }
    }
}

/// Runs each named generic test `fn name(&dyn Backend)` on SQLite and on
/// PostgreSQL: one suite, both stores.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let backend = $crate::common::sqlite();
                    super::$name(&backend);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(backend) = $crate::common::postgres(stringify!($name)) else {
                        return;
                    };
                    super::$name(&backend);
                }
            )*
        }
    };
}
