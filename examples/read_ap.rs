//! Reads one card AP with the Rust API and prints the JSON object
//! `cardap read` prints.
//!
//! ```sh
//! cargo run --example read_ap -- --profile FILE --virtual-card CARD.toml
//! cargo run --example read_ap --features pcsc -- --profile FILE --reader NAME
//! ```

use std::process::ExitCode;

use cardap::transport::Transport;
use cardap::{ApRecord, ApType, Profile, Reader};
use cardap_sim::VirtualCard;

const USAGE: &str = "usage: read_ap --profile FILE (--reader NAME | --virtual-card CARD.toml)";

enum Source {
    Reader(String),
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
            "--reader" if source.is_none() => source = Some(Source::Reader(value)),
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

/// A JSON string literal.
fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn hex_object<'a>(items: impl Iterator<Item = (&'a String, &'a Vec<u8>)>) -> String {
    let members: Vec<String> = items
        .map(|(k, v)| format!("{}:{}", quote(k), quote(&hex::encode_upper(v))))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// The object `cardap read` prints, key order included.
fn to_json(r: &ApRecord) -> String {
    let mut out = vec![
        format!("\"name\":{}", quote(&r.name)),
        format!("\"type\":{}", quote(r.kind.name())),
        format!("\"aid\":{}", quote(&hex::encode_upper(&r.aid))),
        format!("\"user_id\":{}", quote(r.user_id.as_str())),
    ];
    match r.kind {
        ApType::A | ApType::C => out.push(format!("\"info\":{}", hex_object(r.info.iter()))),
        ApType::D | ApType::Custom => out.push(format!(
            "\"data\":{}",
            quote(&hex::encode_upper(r.data.as_deref().unwrap_or_default()))
        )),
    }
    if r.kind == ApType::Custom {
        out.push(format!("\"steps\":{}", hex_object(r.steps.iter())));
    }
    let fields: Vec<String> = r
        .fields
        .iter()
        .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
        .collect();
    out.push(format!("\"fields\":{{{}}}", fields.join(",")));
    out.push(format!("\"apdus\":{}", r.apdus));
    format!("{{{}}}", out.join(","))
}

fn run() -> Result<(), String> {
    let (profile, source) = parse_args()?;
    let profile = Profile::from_file(&profile).map_err(|e| e.to_string())?;
    let transport: Box<dyn Transport> = match source {
        Source::VirtualCard(path) => {
            Box::new(VirtualCard::from_file(&path).map_err(|e| e.to_string())?)
        }
        Source::Reader(name) => pcsc(&name)?,
    };
    let record = Reader::new(transport)
        .read(&profile)
        .map_err(|e| e.to_string())?;
    println!("{}", to_json(&record));
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
