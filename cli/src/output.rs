//! JSON and text renderings of what the commands return.

use cardap::{ApRecord, DirEntry};
use std::io::Write;

/// Writes one line to stdout; a closed stdout ends the process quietly.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("cardap: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// The JSON of a record or an AP list (`serde::Serialize` of the core's
/// `json` feature).
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serializing records and lists cannot fail: every map key is a string.
    serde_json::to_string(value).unwrap_or_default()
}

pub fn print_record(r: &ApRecord, as_json: bool) {
    if as_json {
        outln!("{}", json(r));
        return;
    }
    outln!("name       {}", r.name());
    outln!("type       {}", r.ap_type().name());
    outln!("aid        {}", hex::encode_upper(r.aid()));
    outln!("user_id    {}", r.user_id());
    for (k, v) in r.info() {
        outln!("{k:<10} {}", hex::encode_upper(v));
    }
    if let Some(d) = r.data() {
        outln!("data       {}", hex::encode_upper(d));
    }
    for (k, v) in r.fields() {
        outln!("{k:<10} {v}");
    }
    outln!("apdus      {}", r.apdus());
    outln!("");
}

pub fn print_dir(entries: &[DirEntry], as_json: bool) {
    if as_json {
        outln!("{}", json(entries));
        return;
    }
    for e in entries {
        outln!(
            "{}  {}",
            hex::encode_upper(e.aid()),
            e.label().unwrap_or("")
        );
    }
}
