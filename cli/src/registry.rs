//! `cardap registry …` and `cardap revocation …`: members, the daily feed,
//! provider statuses and the gate's local copy.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use cardap::UserId;
use cardap_registry::{
    Error as RegistryError, Feed, FeedError, ImportMode, Member, SqliteStore, Status, Store,
    is_postgres_url, redacted,
};
use clap::{Args, Subcommand, ValueEnum};

use crate::error::{CliError, CliResult, Exit};

impl From<RegistryError> for CliError {
    fn from(e: RegistryError) -> Self {
        let exit = match &e {
            RegistryError::Feed(_) => Exit::File,
            RegistryError::Invalid(_) | RegistryError::Location(_) => Exit::Usage,
            _ => Exit::Internal,
        };
        CliError::new(exit, format!("registry: {e}"))
    }
}

/// `--db`: a SQLite file or a `postgres://` URL.
#[derive(Args, Clone, Debug)]
pub struct DbOpt {
    /// The registry: a SQLite file (created if missing) or a
    /// postgres://user@host/db URL (for instance "$CARDAP_REGISTRY_URL").
    #[arg(
        long,
        value_name = "FILE|URL",
        default_value = "cardap.db",
        global = true
    )]
    pub db: String,
}

/// Opens the registry a command names.
pub fn open_db(db: &str) -> CliResult<Box<dyn Store>> {
    cardap_registry::open(db)
        .map_err(|e| CliError::internal(format!("registry {}: {e}", redacted(db))))
}

/// Parses a user ID argument (13 digits, check digit of PROFILE.md §3).
pub fn parse_user_id(text: &str) -> Result<UserId, String> {
    UserId::parse(text.as_bytes()).map_err(|e| format!("not a user ID: {e}"))
}

#[derive(Subcommand, Debug)]
pub enum RegistryCmd {
    /// Register a member: user ID + AP name -> member key.
    Add {
        /// The user ID read from the AP (13 digits).
        #[arg(long, value_parser = parse_user_id)]
        user_id: UserId,
        /// The AP's name (the profile's `name`).
        #[arg(long)]
        ap: String,
        /// The provider's key for this person (a member number, a staff ID).
        #[arg(long)]
        member: String,
        /// A free-text label.
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        db: DbOpt,
    },
    /// Remove the member of (user ID, AP).
    Remove {
        #[arg(long, value_parser = parse_user_id)]
        user_id: UserId,
        #[arg(long)]
        ap: String,
        #[command(flatten)]
        db: DbOpt,
    },
    /// List every member as one JSON array.
    List {
        #[command(flatten)]
        db: DbOpt,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatusArg {
    Active,
    Suspended,
    Abolished,
}

impl From<StatusArg> for Status {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Active => Status::Active,
            StatusArg::Suspended => Status::Suspended,
            StatusArg::Abolished => Status::Abolished,
        }
    }
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ModeOpt {
    /// The file is the whole list: it replaces every feed status.
    #[arg(long)]
    full: bool,
    /// The file holds changes: each row is inserted or updated.
    #[arg(long)]
    delta: bool,
}

#[derive(Subcommand, Debug)]
pub enum RevocationCmd {
    /// Import the daily feed (CSV user_id,status,updated_at) in one
    /// transaction; a malformed row refuses the whole file.
    Import {
        /// The feed file.
        file: PathBuf,
        #[command(flatten)]
        mode: ModeOpt,
        #[command(flatten)]
        db: DbOpt,
    },
    /// Set the provider's status for a user ID (in effect at once; wins over
    /// the feed until cleared).
    Set {
        #[arg(value_parser = parse_user_id)]
        user_id: UserId,
        #[arg(value_enum)]
        status: StatusArg,
        #[command(flatten)]
        db: DbOpt,
    },
    /// Clear the provider's status: the feed's applies again.
    Clear {
        #[arg(value_parser = parse_user_id)]
        user_id: UserId,
        #[command(flatten)]
        db: DbOpt,
    },
    /// Print {"user_id","status","source","updated_at"} for a user ID.
    Check {
        #[arg(value_parser = parse_user_id)]
        user_id: UserId,
        #[command(flatten)]
        db: DbOpt,
    },
    /// Print counts of members and statuses.
    Stats {
        #[command(flatten)]
        db: DbOpt,
    },
    /// Copy what changed on the PostgreSQL registry into the --db file.
    Sync {
        /// The server (default: $CARDAP_REGISTRY_URL).
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        #[command(flatten)]
        db: DbOpt,
    },
}

pub fn registry(cmd: RegistryCmd) -> CliResult {
    match cmd {
        RegistryCmd::Add {
            user_id,
            ap,
            member,
            label,
            db,
        } => {
            let member = Member::new(&user_id, &ap, &member, label.as_deref());
            open_db(&db.db)?.add_member(&member)?;
            outln!("{}", member_json(&member));
        }
        RegistryCmd::Remove { user_id, ap, db } => {
            let removed = open_db(&db.db)?.remove_member(&user_id, &ap)?;
            outln!(
                "{}",
                serde_json::json!({"user_id": user_id.as_str(), "ap": ap, "removed": removed})
            );
        }
        RegistryCmd::List { db } => {
            let list = open_db(&db.db)?.members()?;
            let v: Vec<_> = list.iter().map(member_json).collect();
            outln!("{}", serde_json::Value::Array(v));
        }
    }
    Ok(())
}

pub fn member_json(m: &Member) -> serde_json::Value {
    serde_json::json!({"user_id": m.user_id, "ap": m.ap, "member": m.member, "label": m.label})
}

pub fn revocation(cmd: RevocationCmd) -> CliResult {
    match cmd {
        RevocationCmd::Import { file, mode, db } => {
            let mode = if mode.full {
                ImportMode::Full
            } else {
                ImportMode::Delta
            };
            import(&file, mode, &db.db)
        }
        RevocationCmd::Set {
            user_id,
            status,
            db,
        } => {
            let record = open_db(&db.db)?.set_status(&user_id, status.into())?;
            outln!("{}", record.to_json());
            Ok(())
        }
        RevocationCmd::Clear { user_id, db } => {
            let mut store = open_db(&db.db)?;
            store.clear_status(&user_id)?;
            outln!("{}", store.check(&user_id)?.to_json());
            Ok(())
        }
        RevocationCmd::Check { user_id, db } => {
            outln!("{}", open_db(&db.db)?.check(&user_id)?.to_json());
            Ok(())
        }
        RevocationCmd::Stats { db } => {
            let stats = open_db(&db.db)?.stats()?;
            let v = serde_json::to_value(&stats).map_err(|e| CliError::internal(e.to_string()))?;
            outln!("{v}");
            Ok(())
        }
        RevocationCmd::Sync { from, db } => sync(from, &db.db),
    }
}

fn import(file: &Path, mode: ImportMode, db: &str) -> CliResult {
    let feed = match Feed::from_path(file) {
        Ok(feed) => feed,
        Err(FeedError::Rows(rows)) => {
            // Every malformed row on its own line, then the summary.
            for row in &rows {
                eprintln!("{}:{}: {}", file.display(), row.line, row.reason);
            }
            return Err(CliError::file(format!(
                "{}: {} malformed row{}; nothing imported",
                file.display(),
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )));
        }
        Err(e) => {
            return Err(CliError::file(format!(
                "{}: {e}; nothing imported",
                file.display()
            )));
        }
    };
    let mut store = open_db(db)?;
    let bar = progress_bar(feed.len() as u64);
    let report = store.import(&feed, mode, &mut |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = report?;
    let v = serde_json::to_value(&report).map_err(|e| CliError::internal(e.to_string()))?;
    outln!("{v}");
    Ok(())
}

/// A progress bar on stderr, only when stderr is a terminal.
fn progress_bar(total: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "importing {bar:40} {pos}/{len} rows ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

fn sync(from: Option<String>, db: &str) -> CliResult {
    let from = match from.or_else(|| std::env::var(cardap_registry::URL_ENV).ok()) {
        Some(url) if !url.is_empty() => url,
        _ => {
            return Err(CliError::usage(
                "revocation sync needs --from postgres://… or CARDAP_REGISTRY_URL",
            ));
        }
    };
    if is_postgres_url(db) {
        return Err(CliError::usage(
            "revocation sync copies into a local SQLite file: --db FILE",
        ));
    }
    let mut local =
        SqliteStore::open(db).map_err(|e| CliError::internal(format!("registry {db}: {e}")))?;
    let mut server = open_db(&from)?;
    let report = cardap_registry::sync(server.as_mut(), &mut local)?;
    let v = serde_json::to_value(&report).map_err(|e| CliError::internal(e.to_string()))?;
    outln!("{v}");
    Ok(())
}
