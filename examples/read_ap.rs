//! Reads one card AP with the Rust API and prints the JSON object
//! `cardap read` prints.
//!
//! ```sh
//! cargo run --example read_ap --features json -- --profile FILE --virtual-card CARD.toml
//! cargo run --example read_ap --features json,pcsc -- --profile FILE --reader NAME
//! ```

use std::process::ExitCode;

use cardap::transport::Transport;
use cardap::{Card, Profile};
use cardap_sim::VirtualCard;

const USAGE: &str = "usage: read_ap --profile FILE (--reader NAME | --virtual-card CARD.toml)";

enum Source {
    Card(String),
    VirtualCard(String),
}

fn parse_args() -> Result<(String, Source), String> {
    let mut profile = None;
    let mut source = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(USAGE)?;
        match flag.as_str() {
            "--profile" => profile = Some(value),
            "--reader" if source.is_none() => source = Some(Source::Card(value)),
            "--virtual-card" if source.is_none() => source = Some(Source::VirtualCard(value)),
            _ => return Err(USAGE.into()),
        }
    }
    match (profile, source) {
        (Some(p), Some(s)) => Ok((p, s)),
        _ => Err(USAGE.into()),
    }
}

#[cfg(feature = "pcsc")]
fn pcsc(reader: &str) -> Result<Box<dyn Transport>, String> {
    cardap::pcsc::PcscTransport::connect(Some(reader))
        .map(|t| Box::new(t) as Box<dyn Transport>)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "pcsc"))]
fn pcsc(_reader: &str) -> Result<Box<dyn Transport>, String> {
    Err("built without PC/SC: run with --features pcsc".into())
}

fn run() -> Result<(), String> {
    let (profile, source) = parse_args()?;
    let profile = Profile::from_file(&profile).map_err(|e| e.to_string())?;
    let transport: Box<dyn Transport> = match source {
        Source::VirtualCard(path) => {
            Box::new(VirtualCard::from_file(&path).map_err(|e| e.to_string())?)
        }
        Source::Card(name) => pcsc(&name)?,
    };
    let record = Card::new(transport)
        .read(&profile)
        .map_err(|e| e.to_string())?;
    // The object `cardap read` prints, key order included (feature `json`).
    let json = serde_json::to_string(&record).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("read_ap: {e}");
            ExitCode::FAILURE
        }
    }
}
