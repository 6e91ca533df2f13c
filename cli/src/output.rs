//! JSON and text renderings of what the commands return.

use cardap::{ApRecord, ApType, DirEntry};
use std::io::Write;

use serde_json::{Map, Value, json};

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

/// The JSON object of one read (the format `cardap read` documents).
pub fn record_json(r: &ApRecord) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(r.name));
    o.insert("type".into(), json!(r.kind.name()));
    o.insert("aid".into(), json!(hex::encode_upper(&r.aid)));
    o.insert("user_id".into(), json!(r.user_id.as_str()));
    match r.kind {
        ApType::D | ApType::Custom => {
            o.insert(
                "data".into(),
                json!(hex::encode_upper(r.data.as_deref().unwrap_or_default())),
            );
        }
        ApType::A | ApType::C => {
            let info: Map<String, Value> = r
                .info
                .iter()
                .map(|(k, v)| (k.clone(), json!(hex::encode_upper(v))))
                .collect();
            o.insert("info".into(), Value::Object(info));
        }
    }
    if r.kind == ApType::Custom {
        let steps: Map<String, Value> = r
            .steps
            .iter()
            .map(|(k, v)| (k.clone(), json!(hex::encode_upper(v))))
            .collect();
        o.insert("steps".into(), Value::Object(steps));
    }
    let fields: Map<String, Value> = r
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    o.insert("fields".into(), Value::Object(fields));
    o.insert("apdus".into(), json!(r.apdus));
    Value::Object(o)
}

pub fn print_record(r: &ApRecord, as_json: bool) {
    if as_json {
        outln!("{}", record_json(r));
        return;
    }
    outln!("name       {}", r.name);
    outln!("type       {}", r.kind.name());
    outln!("aid        {}", hex::encode_upper(&r.aid));
    outln!("user_id    {}", r.user_id);
    for (k, v) in &r.info {
        outln!("{k:<10} {}", hex::encode_upper(v));
    }
    if let Some(d) = &r.data {
        outln!("data       {}", hex::encode_upper(d));
    }
    for (k, v) in &r.fields {
        outln!("{k:<10} {v}");
    }
    outln!("apdus      {}", r.apdus);
    outln!("");
}

pub fn print_dir(entries: &[DirEntry], as_json: bool) {
    if as_json {
        let list: Vec<Value> = entries
            .iter()
            .map(|e| json!({"aid": hex::encode_upper(&e.aid), "label": e.label}))
            .collect();
        outln!("{}", Value::Array(list));
        return;
    }
    for e in entries {
        outln!(
            "{}  {}",
            hex::encode_upper(&e.aid),
            e.label.as_deref().unwrap_or("")
        );
    }
}
