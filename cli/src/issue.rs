//! `cardap issue …`: the loading desk (PROFILE.md §12) — install an AP with a
//! new user ID, delete one, empty the local-resident area at a move-out,
//! list the APs by area.

use std::path::PathBuf;

use cardap::ApType;
use cardap::Suite;
use cardap::issuer::{Area, InstallRequest, Issuer};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::Source;
use crate::changing::{Failure, Target};
use crate::error::CliError;

#[derive(Subcommand)]
pub enum IssueCmd {
    /// Install an AP: prints its new user ID; --keys-out writes its profile.
    Install(InstallArgs),
    /// Delete the AP with this AID.
    Delete {
        #[command(flatten)]
        desk: Desk,
        /// The AP's AID (hex).
        #[arg(long)]
        aid: String,
    },
    /// Move-out: delete every AP of the local-resident area, nothing else.
    MoveOut {
        #[command(flatten)]
        desk: Desk,
    },
    /// List the APs with their types, areas and user IDs.
    List {
        #[command(flatten)]
        desk: Desk,
        /// Only this area.
        #[arg(long, value_enum)]
        area: Option<AreaArg>,
    },
}

/// The desk and the card, for every `issue` command.
#[derive(Args)]
pub struct Desk {
    /// The loading desk's file (issuer keys, registry); default $CARDAP_ISSUER.
    #[arg(long, value_name = "ISSUER.toml")]
    issuer: Option<PathBuf>,
    #[command(flatten)]
    source: Source,
    /// Use short APDUs only (long commands are chained).
    #[arg(long)]
    short: bool,
    /// Output format: `install` prints the new user ID alone by default
    /// (`json`: an object with it); the other commands print JSON by default.
    #[arg(long, value_enum)]
    format: Option<crate::Format>,
}

impl Desk {
    /// Whether to print JSON, given the command's default.
    fn json(&self, default: crate::Format) -> bool {
        self.format.unwrap_or(default) == crate::Format::Json
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TypeArg {
    #[value(name = "A")]
    A,
    #[value(name = "C")]
    C,
    #[value(name = "D")]
    D,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AreaArg {
    Extension,
    Local,
}

impl AreaArg {
    fn area(self) -> Area {
        match self {
            Self::Extension => Area::Extension,
            Self::Local => Area::Local,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SuiteArg {
    #[value(name = "3des")]
    TripleDes,
    Aes128,
    Aes256,
}

#[derive(Args)]
pub struct InstallArgs {
    #[command(flatten)]
    desk: Desk,
    /// The AP type.
    #[arg(long = "type", value_enum, ignore_case = true)]
    kind: TypeArg,
    /// The area: extension (kept at a move) or local (deleted at a move-out).
    #[arg(long, value_enum)]
    area: AreaArg,
    /// The new AP's AID (hex, 5 to 16 bytes).
    #[arg(long)]
    aid: String,
    /// The EF.DIR label.
    #[arg(long)]
    label: String,
    /// Initial contents: infoN=HEX (Types A and C; a Type A AP gets records
    /// info1 … up to the highest N, the others empty) or data=HEX (Type D);
    /// a bare HEX is the next info field (Type D: the data).
    #[arg(long = "info", value_name = "infoN=HEX|data=HEX")]
    info: Vec<String>,
    /// The suite of the AP's key sets (default: the desk's ap_suite).
    #[arg(long, value_enum)]
    suite: Option<SuiteArg>,
    /// Write the AP's ready profile here ([auth] read keys, [auth.update]
    /// update keys; owner-only permissions).
    #[arg(long, value_name = "FILE")]
    keys_out: Option<PathBuf>,
    /// The profile's name (default: the label).
    #[arg(long)]
    name: Option<String>,
}

fn issuer(desk: &Desk) -> Result<Issuer, Failure> {
    let path = match &desk.issuer {
        Some(p) => p.clone(),
        None => std::env::var_os("CARDAP_ISSUER")
            .map(PathBuf::from)
            .ok_or_else(|| CliError::usage("give --issuer ISSUER.toml (or set CARDAP_ISSUER)"))?,
    };
    Issuer::from_file(&path).map_err(|e| CliError::file(e.to_string()))
}

fn hex_arg(what: &str, text: &str) -> Result<Vec<u8>, Failure> {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(cleaned).map_err(|_| CliError::usage(format!("{what}: not a hex string")))
}

pub fn run(cmd: IssueCmd) -> Result<(), Failure> {
    match cmd {
        IssueCmd::Install(args) => install(args),
        IssueCmd::Delete { desk, aid } => {
            let issuer = issuer(&desk)?;
            let aid = hex_arg("--aid", &aid)?;
            let apdus =
                Target::open(&desk.source)?.run(desk.short, |r| r.delete_ap(&issuer, &aid))?;
            if desk.json(crate::Format::Json) {
                outln!(
                    "{}",
                    json!({ "deleted": hex::encode_upper(&aid), "apdus": apdus })
                );
            } else {
                outln!("deleted {}", hex::encode_upper(&aid));
            }
            Ok(())
        }
        IssueCmd::MoveOut { desk } => {
            let issuer = issuer(&desk)?;
            let (count, apdus) =
                Target::open(&desk.source)?.run(desk.short, |r| r.move_out(&issuer))?;
            if desk.json(crate::Format::Json) {
                outln!(
                    "{}",
                    json!({ "area": "local", "deleted": count, "apdus": apdus })
                );
            } else {
                outln!(
                    "deleted {count} local-resident AP{}",
                    if count == 1 { "" } else { "s" }
                );
            }
            Ok(())
        }
        IssueCmd::List { desk, area } => {
            let issuer = issuer(&desk)?;
            let area = area.map(AreaArg::area);
            let listed =
                Target::open(&desk.source)?.run(desk.short, |r| r.list_area(&issuer, area))?;
            if desk.json(crate::Format::Json) {
                let entries: Vec<_> = listed
                    .iter()
                    .map(|ap| {
                        json!({
                            "aid": hex::encode_upper(&ap.aid),
                            "label": ap.label,
                            "type": ap.kind.name(),
                            "area": ap.area.name(),
                            "user_id": ap.user_id.as_str(),
                        })
                    })
                    .collect();
                outln!("{}", serde_json::Value::Array(entries));
            } else {
                for ap in &listed {
                    outln!(
                        "{}  {}  {:<9}  {}  {}",
                        hex::encode_upper(&ap.aid),
                        ap.kind.name(),
                        ap.area.name(),
                        ap.user_id,
                        ap.label.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
    }
}

fn install(args: InstallArgs) -> Result<(), Failure> {
    let issuer = issuer(&args.desk)?;
    let kind = match args.kind {
        TypeArg::A => ApType::A,
        TypeArg::C => ApType::C,
        TypeArg::D => ApType::D,
    };
    let aid = hex_arg("--aid", &args.aid)?;
    let mut request = InstallRequest::new(kind, args.area.area(), aid, args.label.clone());
    let mut next_info = 1;
    for spec in &args.info {
        // A bare HEX is the next info field (Type D: the data).
        let (key, value): (String, &str) = match spec.split_once('=') {
            Some((key, value)) => (key.to_owned(), value),
            None if kind == ApType::D => ("data".to_owned(), spec.as_str()),
            None => (format!("info{next_info}"), spec.as_str()),
        };
        let key = key.as_str();
        let bytes = hex_arg(&format!("--info {key}"), value)?;
        match (
            key,
            key.strip_prefix("info")
                .and_then(|n| n.parse::<usize>().ok()),
        ) {
            ("data", _) => request = request.with_data(bytes),
            (_, Some(n)) if n >= 1 => {
                request = request.with_info(n, bytes);
                next_info = n + 1;
            }
            _ => {
                return Err(CliError::usage(format!(
                    "--info {key}: expected infoN or data"
                )));
            }
        }
    }
    if let Some(suite) = args.suite {
        request = request.with_suite(match suite {
            SuiteArg::TripleDes => Suite::TripleDes,
            SuiteArg::Aes128 => Suite::Aes128,
            SuiteArg::Aes256 => Suite::Aes256,
        });
    }
    let installed =
        Target::open(&args.desk.source)?.run(args.desk.short, |r| r.install(&issuer, &request))?;
    if let Some(path) = &args.keys_out {
        let name = args.name.as_deref().unwrap_or(&args.label);
        let text = installed.profile_toml(name);
        write_secret(path, text.as_bytes()).map_err(|e| {
            CliError::internal(format!(
                "installed user ID {}, but cannot write {}: {e}",
                installed.user_id,
                path.display()
            ))
        })?;
    } else {
        eprintln!("cardap: no --keys-out: the new AP's keys are not kept anywhere");
    }
    if args.desk.json(crate::Format::Text) {
        outln!(
            "{}",
            json!({
                "user_id": installed.user_id.as_str(),
                "type": installed.kind.name(),
                "area": installed.area.name(),
                "aid": hex::encode_upper(&installed.aid),
                "label": installed.label,
                "profile": args.keys_out.as_ref().map(|p| p.display().to_string()),
                "apdus": installed.apdus,
            })
        );
    } else {
        outln!("{}", installed.user_id);
    }
    Ok(())
}

/// Writes a file only its owner can read (it holds keys).
fn write_secret(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
