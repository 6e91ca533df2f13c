//! The daily feed: a CSV file `user_id,status,updated_at` (UTF-8, a header
//! line, RFC 3339 times), validated whole before anything is imported.
//!
//! ```text
//! user_id,status,updated_at
//! 1001000000019,active,2026-04-01T00:00:00+09:00
//! 2007000000029,suspended,2026-11-30T14:05:00Z
//! ```
//!
//! Columns are found by their header names (any order; further columns are
//! ignored). Every malformed row is reported with its line number and reason:
//! a bad user ID (length, digits, check digit), an unknown status, a time that
//! is not RFC 3339, a missing column, a user ID already seen in the file.

use std::fmt;
use std::path::Path;

use cardap::UserId;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Status;

/// One row of a feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedRow {
    /// The validated user ID (13 digits).
    pub user_id: String,
    /// Its status.
    pub status: Status,
    /// When the status took effect, RFC 3339 as written in the file.
    pub updated_at: String,
}

/// A validated feed, rows sorted by user ID.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Feed {
    rows: Vec<FeedRow>,
}

impl Feed {
    /// A feed of rows already validated (tests, other sources). Rows are
    /// sorted by user ID; a repeated user ID is an error.
    pub fn from_rows(mut rows: Vec<FeedRow>) -> Result<Self, FeedError> {
        rows.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        let mut errors = Vec::new();
        for pair in rows.windows(2) {
            if let [a, b] = pair
                && a.user_id == b.user_id
            {
                errors.push(RowError {
                    line: 0,
                    reason: RowReason::Duplicate {
                        user_id: b.user_id.clone(),
                        first_line: 0,
                    },
                });
            }
        }
        if errors.is_empty() {
            Ok(Self { rows })
        } else {
            Err(FeedError::Rows(errors))
        }
    }

    /// The rows, sorted by user ID.
    pub fn rows(&self) -> &[FeedRow] {
        &self.rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the feed has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Reads and validates a feed file.
    pub fn from_path(path: &Path) -> Result<Self, FeedError> {
        let bytes = std::fs::read(path).map_err(|e| FeedError::Io(e.to_string()))?;
        Self::parse(&bytes)
    }

    /// Validates a feed held in memory.
    pub fn parse(bytes: &[u8]) -> Result<Self, FeedError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut header = csv::ByteRecord::new();
        match reader.read_byte_record(&mut header) {
            Ok(false) => return Err(FeedError::Header("the file is empty".into())),
            Err(e) => return Err(FeedError::Header(e.to_string())),
            Ok(true) => {}
        }
        let names: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_ascii_lowercase())
            .collect();
        let column = |name: &str| names.iter().position(|n| n == name);
        let (Some(c_id), Some(c_status), Some(c_time)) =
            (column("user_id"), column("status"), column("updated_at"))
        else {
            return Err(FeedError::Header(format!(
                "line 1 must name the columns user_id,status,updated_at (found {})",
                names.join(",")
            )));
        };
        let mut rows: Vec<(FeedRow, u64)> = Vec::new();
        let mut errors = Vec::new();
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(0, csv::Position::line);
                    match parse_row(&record, c_id, c_status, c_time) {
                        Ok(row) => rows.push((row, line)),
                        Err(reason) => errors.push(RowError { line, reason }),
                    }
                }
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    errors.push(RowError {
                        line,
                        reason: RowReason::Syntax(e.to_string()),
                    });
                    // A reading error (I/O) ends the file here.
                    break;
                }
            }
        }
        // Sorted by user ID, then line: a repeated ID follows its first line.
        rows.sort_unstable_by(|(a, la), (b, lb)| a.user_id.cmp(&b.user_id).then(la.cmp(lb)));
        let mut first_line = 0;
        for pair in rows.windows(2) {
            if let [(a, la), (b, lb)] = pair {
                if a.user_id == b.user_id {
                    if first_line == 0 {
                        first_line = *la;
                    }
                    errors.push(RowError {
                        line: *lb,
                        reason: RowReason::Duplicate {
                            user_id: b.user_id.clone(),
                            first_line,
                        },
                    });
                } else {
                    first_line = 0;
                }
            }
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(FeedError::Rows(errors));
        }
        let rows = rows.into_iter().map(|(row, _)| row).collect();
        Ok(Self { rows })
    }
}

fn field<'r>(
    record: &'r csv::ByteRecord,
    index: usize,
    name: &'static str,
) -> Result<&'r str, RowReason> {
    let raw = record.get(index).ok_or(RowReason::MissingColumn(name))?;
    let text = std::str::from_utf8(raw).map_err(|_| RowReason::NotUtf8(name))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(RowReason::MissingColumn(name));
    }
    Ok(text)
}

fn parse_row(
    record: &csv::ByteRecord,
    c_id: usize,
    c_status: usize,
    c_time: usize,
) -> Result<FeedRow, RowReason> {
    let id = field(record, c_id, "user_id")?;
    let status = field(record, c_status, "status")?;
    let time = field(record, c_time, "updated_at")?;
    let user_id = UserId::parse(id.as_bytes()).map_err(|e| RowReason::UserId {
        value: id.to_owned(),
        problem: e.to_string(),
    })?;
    let status =
        Status::parse(status).ok_or_else(|| RowReason::UnknownStatus(status.to_owned()))?;
    OffsetDateTime::parse(time, &Rfc3339).map_err(|_| RowReason::BadTime(time.to_owned()))?;
    Ok(FeedRow {
        user_id: user_id.as_str().to_owned(),
        status,
        updated_at: time.to_owned(),
    })
}

/// What is wrong with one row.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowReason {
    /// The user ID is not 13 digits with a valid check digit (PROFILE.md §3).
    UserId {
        /// The value found.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The status is not `active`, `suspended` or `abolished`.
    UnknownStatus(String),
    /// The time is not RFC 3339.
    BadTime(String),
    /// A column is missing or empty.
    MissingColumn(&'static str),
    /// A column is not UTF-8.
    NotUtf8(&'static str),
    /// The user ID already appeared in the file.
    Duplicate {
        /// The user ID.
        user_id: String,
        /// The line where it first appeared.
        first_line: u64,
    },
    /// The CSV itself is broken (an unterminated quote, …).
    Syntax(String),
}

impl fmt::Display for RowReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowReason::UserId { value, problem } => write!(f, "bad user ID {value:?}: {problem}"),
            RowReason::UnknownStatus(s) => write!(
                f,
                "unknown status {s:?} (expected active, suspended or abolished)"
            ),
            RowReason::BadTime(t) => write!(f, "bad time {t:?} (expected RFC 3339)"),
            RowReason::MissingColumn(c) => write!(f, "missing column {c}"),
            RowReason::NotUtf8(c) => write!(f, "column {c} is not UTF-8"),
            RowReason::Duplicate {
                user_id,
                first_line,
            } => write!(
                f,
                "duplicate user ID {user_id} (first on line {first_line})"
            ),
            RowReason::Syntax(e) => write!(f, "CSV syntax: {e}"),
        }
    }
}

/// A malformed row: its line number (1 is the header) and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Line number in the file, counting from 1 (the header).
    pub line: u64,
    /// What is wrong.
    pub reason: RowReason,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Why a feed file was refused (nothing of it is imported).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// The file cannot be read.
    #[error("cannot read the feed: {0}")]
    Io(String),
    /// The header line is missing or wrong.
    #[error("feed header: {0}")]
    Header(String),
    /// Malformed rows, every one of them.
    #[error("{} malformed row{} in the feed: {}", .0.len(), if .0.len() == 1 { "" } else { "s" },
            .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rows(Vec<RowError>),
}
