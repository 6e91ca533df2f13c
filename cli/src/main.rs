//! `cardap`: read card APs from a virtual card (and, with PC/SC, real readers).

mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use cardap::Profile;
use cardap::ap::{LengthMode, Reader};
use cardap::trace::{Recorder, Redaction};
use cardap::transport::Transport;
use cardap_sim::VirtualCard;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The built-in demo card and the profiles that read it.
const DEMO_CARD: &str = include_str!("../../examples/cards/demo.toml");
const DEMO_PROFILES: [(&str, &str); 3] = [
    (
        "library.toml",
        include_str!("../../examples/profiles/library.toml"),
    ),
    (
        "kiosk.toml",
        include_str!("../../examples/profiles/kiosk.toml"),
    ),
    (
        "evacuee.toml",
        include_str!("../../examples/profiles/evacuee.toml"),
    ),
];

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
    /// Read every AP of the built-in demo card with the built-in profiles.
    Demo {
        #[command(flatten)]
        out: OutputOpts,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct Source {
    /// An in-process virtual card from a description file (PROFILE.md §10).
    #[arg(long, value_name = "CARD.toml")]
    virtual_card: Option<PathBuf>,
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

fn open(source: &Source) -> Result<Box<dyn Transport>, String> {
    match &source.virtual_card {
        Some(path) => VirtualCard::from_file(path)
            .map(|c| Box::new(c) as Box<dyn Transport>)
            .map_err(|e| e.to_string()),
        None => Err("give --virtual-card CARD.toml".into()),
    }
}

fn with_trace<R>(
    transport: Box<dyn Transport>,
    out: &OutputOpts,
    f: impl FnOnce(&mut Reader<Box<dyn Transport>>) -> R,
) -> Result<R, String> {
    let length = if out.short {
        LengthMode::Short
    } else {
        LengthMode::Auto
    };
    let transport: Box<dyn Transport> = match &out.trace {
        None => transport,
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("cannot write trace {}: {e}", path.display()))?;
            Box::new(Recorder::with_sink(
                transport,
                Redaction::Secrets,
                Box::new(std::io::BufWriter::new(file)),
            ))
        }
    };
    let mut reader = Reader::new(transport).with_length_mode(length);
    Ok(f(&mut reader))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Cmd::Read {
            profile,
            source,
            out,
        } => {
            let profile = Profile::from_file(&profile).map_err(|e| e.to_string())?;
            let transport = open(&source)?;
            let record =
                with_trace(transport, &out, |r| r.read(&profile))?.map_err(|e| e.to_string())?;
            output::print_record(&record, out.format == Format::Json);
            Ok(())
        }
        Cmd::List { source, out } => {
            let transport = open(&source)?;
            let entries = with_trace(transport, &out, |r| r.list())?.map_err(|e| e.to_string())?;
            output::print_dir(&entries, out.format == Format::Json);
            Ok(())
        }
        Cmd::Demo { out } => {
            let card = VirtualCard::from_toml_str(DEMO_CARD).map_err(|e| e.to_string())?;
            let transport: Box<dyn Transport> = Box::new(card);
            let profiles = DEMO_PROFILES
                .iter()
                .map(|(name, text)| {
                    Profile::from_toml_str(text).map_err(|e| format!("{name}: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let results = with_trace(transport, &out, |reader| {
                let entries = reader.list();
                let reads: Vec<_> = profiles.iter().map(|p| reader.read(p)).collect();
                (entries, reads)
            })?;
            let (entries, reads) = results;
            let entries = entries.map_err(|e| e.to_string())?;
            if out.format == Format::Text {
                println!("built-in virtual card: {} APs", entries.len());
            }
            for r in reads {
                let rec = r.map_err(|e| e.to_string())?;
                output::print_record(&rec, out.format == Format::Json);
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cardap: {}", e.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
