//! `cardap`: read My Number Card APs from PC/SC readers or from a virtual card.

/// `println!` that ends the process quietly when stdout is closed (a pipe to
/// `head`), instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

mod card;
mod demo;
mod output;
mod public;
mod signals;

use std::path::PathBuf;
use std::process::ExitCode;

use cardap::Profile;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "cardap",
    version,
    about = "Read My Number Card APs (Type A, C, D and custom)"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Read one AP described by a profile.
    Read {
        /// The AP's profile (PROFILE.md §9).
        #[arg(long)]
        profile: PathBuf,
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        out: OutputOpts,
    },
    /// List the APs on the card (EF.DIR).
    List {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        out: OutputOpts,
    },
    /// List the PC/SC readers, whether a card is present, and its ATR.
    Readers {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// Gate mode: wait for each card, read the AP, print one JSON line per tap.
    Watch {
        /// The AP's profile.
        #[arg(long)]
        profile: PathBuf,
        /// PC/SC reader (name or part of it); default: any reader.
        #[arg(long, value_name = "NAME")]
        reader: Option<String>,
        /// Append a redacted APDU trace of every tap to this file.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
    /// Send raw command APDUs (hex) in one transaction and print the answers.
    Apdu {
        #[command(flatten)]
        source: Source,
        /// Command APDUs, hex (spaces inside one argument allowed).
        #[arg(required = true, value_name = "HEX")]
        apdus: Vec<String>,
        /// Write a redacted APDU trace to this file.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
    /// Serve a virtual card to pcscd's vpcd reader until Ctrl-C or SIGTERM.
    Sim {
        /// The card description (PROFILE.md §10).
        #[arg(long, value_name = "CARD.toml")]
        card: PathBuf,
        /// vpcd port: 35963 is reader `Virtual PCD 00 00`, 35964 `… 00 01`.
        #[arg(long, default_value_t = 35963)]
        port: u16,
        /// vpcd host.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Present a card without extended length (its ATR says so).
        #[arg(long)]
        no_extended: bool,
        /// Log every APDU (header, lengths, status word; never data) here.
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Read N times and print timing statistics (the benchmark tool).
    Bench {
        /// The AP's profile.
        #[arg(long)]
        profile: PathBuf,
        #[command(flatten)]
        source: Source,
        /// Number of reads.
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// Read every AP of the built-in demo card: through pcscd and the vpcd
    /// virtual reader when they run here, in process otherwise.
    Demo {
        #[command(flatten)]
        out: OutputOpts,
        /// Never use PC/SC, even where pcscd runs.
        #[arg(long)]
        in_process: bool,
    },
    #[command(flatten)]
    Public(public::PublicCmd),
}

/// Where the card is: a PC/SC reader (the default) or a virtual card.
#[derive(Args, Clone)]
#[group(multiple = false)]
pub struct Source {
    /// An in-process virtual card from a description file (PROFILE.md §10).
    #[arg(long, value_name = "CARD.toml")]
    virtual_card: Option<PathBuf>,
    /// A PC/SC reader, by name or part of it; default: the first with a card.
    #[arg(long, value_name = "NAME")]
    reader: Option<String>,
}

#[derive(Args)]
struct OutputOpts {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Write a redacted APDU trace to this file.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Use short APDUs only (readers that cannot carry extended length).
    #[arg(long)]
    short: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Json,
    Text,
}

fn load_profile(path: &PathBuf) -> Result<Profile, String> {
    Profile::from_file(path).map_err(|e| e.to_string())
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Cmd::Read {
            profile,
            source,
            out,
        } => {
            let profile = load_profile(&profile)?;
            let transport = card::open(&source)?;
            let record = card::with_reader(transport, &out, |r| r.read(&profile))?
                .map_err(|e| e.to_string())?;
            output::print_record(&record, out.format == Format::Json);
            Ok(())
        }
        Cmd::List { source, out } => {
            let transport = card::open(&source)?;
            let entries =
                card::with_reader(transport, &out, |r| r.list())?.map_err(|e| e.to_string())?;
            output::print_dir(&entries, out.format == Format::Json);
            Ok(())
        }
        Cmd::Readers { format } => card::readers(format == Format::Json),
        Cmd::Watch {
            profile,
            reader,
            trace,
        } => {
            let profile = load_profile(&profile)?;
            card::watch(&profile, reader.as_deref(), trace.as_ref())
        }
        Cmd::Apdu {
            source,
            apdus,
            trace,
        } => card::apdu(&source, &apdus, trace.as_ref()),
        Cmd::Sim {
            card,
            port,
            host,
            no_extended,
            log,
        } => card::sim(&card, &host, port, no_extended, log.as_ref()),
        Cmd::Bench {
            profile,
            source,
            count,
        } => {
            let profile = load_profile(&profile)?;
            card::bench(&profile, &source, count)
        }
        Cmd::Demo { out, in_process } => demo::run(&out, in_process),
        Cmd::Public(cmd) => public::run(cmd).map_err(|f| f.message),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The public-AP commands exit with their error's class (public.rs).
    let command = match cli.command {
        Cmd::Public(cmd) => return public::main(cmd),
        other => other,
    };
    match run(Cli { command }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cardap: {}", e.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
