//! `cardap`: read My Number Card APs from PC/SC readers or from a virtual card.

/// `println!` that ends the process quietly when stdout is closed (a pipe to
/// `head`), instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}

mod card;
mod changing;
mod demo;
mod error;
mod issue;
mod output;
mod signals;
mod write;

use std::path::PathBuf;
use std::process::ExitCode;

use cardap::Profile;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::error::{CliError, CliResult, EXIT_CODES_HELP};

#[derive(Parser)]
#[command(
    name = "cardap",
    version,
    about = "Read My Number Card APs (Type A, C, D and custom)",
    after_help = EXIT_CODES_HELP
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
        /// Output format: `text` (`> command` / `< response` lines) or `json`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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
        /// Write the card's state back to CARD.toml after every write,
        /// install or deletion (temporary file, then rename).
        #[arg(long)]
        persist: bool,
    },
    /// Write info fields of an AP with its update keys (PROFILE.md §11).
    Write(write::WriteArgs),
    /// The loading desk: install, delete, move-out, list (PROFILE.md §12).
    #[command(subcommand)]
    Issue(issue::IssueCmd),
    /// Read N times and print timing statistics (the benchmark tool).
    Bench {
        /// The AP's profile.
        #[arg(long)]
        profile: PathBuf,
        #[command(flatten)]
        source: Source,
        /// Number of reads (1 to 10,000,000).
        #[arg(long, default_value_t = 1000,
              value_parser = clap::value_parser!(u64).range(1..=card::MAX_BENCH_COUNT))]
        count: u64,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout, or write it into a directory.
    Man {
        /// Write `cardap.1` into this directory instead of stdout.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
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
}

/// Where the card is: a PC/SC reader (the default) or a virtual card.
#[derive(Args, Clone)]
#[group(multiple = false)]
struct Source {
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

fn load_profile(path: &PathBuf) -> CliResult<Profile> {
    Ok(Profile::from_file(path)?)
}

fn run(cli: Cli) -> CliResult {
    match cli.command {
        Cmd::Read {
            profile,
            source,
            out,
        } => {
            let profile = load_profile(&profile)?;
            let transport = card::open(&source)?;
            let record = card::with_reader(transport, &out, |r| r.read(&profile))??;
            output::print_record(&record, out.format == Format::Json);
            Ok(())
        }
        Cmd::List { source, out } => {
            let transport = card::open(&source)?;
            let entries = card::with_reader(transport, &out, |r| r.list())??;
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
            format,
        } => card::apdu(&source, &apdus, trace.as_ref(), format == Format::Json),
        Cmd::Sim {
            card,
            port,
            host,
            no_extended,
            log,
            persist,
        } => card::sim(&card, &host, port, no_extended, log.as_ref(), persist),
        Cmd::Bench {
            profile,
            source,
            count,
        } => {
            let profile = load_profile(&profile)?;
            card::bench(&profile, &source, count)
        }
        Cmd::Demo { out, in_process } => demo::run(&out, in_process),
        Cmd::Write(args) => write::run(args),
        Cmd::Issue(cmd) => issue::run(cmd),
        Cmd::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut stdout = std::io::stdout();
            clap_complete::generate(shell, &mut cmd, "cardap", &mut stdout);
            Ok(())
        }
        Cmd::Man { out_dir } => man(out_dir.as_deref()),
    }
}

/// The manual page, rendered by clap_mangen from the same definitions as
/// `--help`, with the exit-code table appended.
fn man(out_dir: Option<&std::path::Path>) -> CliResult {
    let cmd = Cli::command();
    let mut page = Vec::new();
    let render = clap_mangen::Man::new(cmd.clone());
    render
        .render_title(&mut page)
        .and_then(|()| render.render_name_section(&mut page))
        .and_then(|()| render.render_synopsis_section(&mut page))
        .and_then(|()| render.render_description_section(&mut page))
        .and_then(|()| render.render_options_section(&mut page))
        .and_then(|()| render.render_subcommands_section(&mut page))
        .map_err(|e| CliError::internal(format!("man page: {e}")))?;
    page.extend_from_slice(b".SH \"EXIT STATUS\"\n");
    for line in EXIT_CODES_HELP.lines().skip(1) {
        let line = line.trim();
        if let Some((code, text)) = line.split_once(char::is_whitespace) {
            page.extend_from_slice(format!(".TP\n{code}\n{}\n", text.trim()).as_bytes());
        }
    }
    render
        .render_version_section(&mut page)
        .map_err(|e| CliError::internal(format!("man page: {e}")))?;
    match out_dir {
        None => {
            use std::io::Write;
            std::io::stdout()
                .write_all(&page)
                .map_err(|e| CliError::internal(format!("man page: {e}")))
        }
        Some(dir) => {
            let path = dir.join("cardap.1");
            std::fs::write(&path, &page)
                .map_err(|e| CliError::internal(format!("cannot write {}: {e}", path.display())))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cardap: {}", output::one_line(&e.message));
            e.exit_code()
        }
    }
}
