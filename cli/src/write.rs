//! `cardap write`: write info fields of an AP (PROFILE.md §11) with the
//! update keys of its profile.

use std::path::PathBuf;

use cardap::{FieldWrite, Profile};
use clap::Args;
use serde_json::json;

use crate::Source;
use crate::changing::{Failure, Target};
use crate::error::CliError;

#[derive(Args)]
pub struct WriteArgs {
    /// The AP's profile, with its update keys under [auth.update].
    #[arg(long)]
    profile: PathBuf,
    /// A write, in order: infoN=HEX (Types A, C), data@OFFSET=HEX (Type D),
    /// or FIELD=TEXT (a [[field]] of the profile, encoded per its encoding).
    #[arg(long = "set", value_name = "KEY=VALUE", required = true)]
    sets: Vec<String>,
    #[command(flatten)]
    source: Source,
    /// Use short APDUs only (long writes are chained).
    #[arg(long)]
    short: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = crate::Format::Json)]
    format: crate::Format,
}

pub fn run(args: WriteArgs) -> Result<(), Failure> {
    let profile = Profile::from_file(&args.profile).map_err(|e| CliError::file(e.to_string()))?;
    let writes = args
        .sets
        .iter()
        .map(|s| FieldWrite::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::usage(e.to_string()))?;
    let report = Target::open(&args.source)?.run(args.short, |r| r.write(&profile, &writes))?;
    if args.format == crate::Format::Json {
        outln!(
            "{}",
            json!({
                "name": report.name,
                "type": report.kind.name(),
                "aid": hex::encode_upper(&report.aid),
                "written": report.written,
                "apdus": report.apdus,
            })
        );
    } else {
        outln!("name     {}", report.name);
        outln!("aid      {}", hex::encode_upper(&report.aid));
        outln!("written  {}", report.written.join(", "));
        outln!("apdus    {}", report.apdus);
    }
    Ok(())
}
