//! The JSON objects `cardap read` and `cardap list` print, so that programs in
//! every language print byte-for-byte the same output. Keep in step with
//! `cli/src/output.rs` (the test script compares the two).

use cardap_core::{ApRecord, ApType, DirEntry};
use serde_json::{Map, Value, json};

fn hex_map<'a>(items: impl Iterator<Item = (&'a String, &'a Vec<u8>)>) -> Value {
    Value::Object(
        items
            .map(|(k, v)| (k.clone(), json!(hex::encode_upper(v))))
            .collect(),
    )
}

/// The object of one read: `name`, `type`, `aid`, `user_id`, `info` (A, C) or
/// `data` (D, custom), `steps` (custom), `fields`, `apdus`.
pub(crate) fn record(r: &ApRecord) -> String {
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
            o.insert("info".into(), hex_map(r.info.iter()));
        }
    }
    if r.kind == ApType::Custom {
        o.insert("steps".into(), hex_map(r.steps.iter()));
    }
    let fields: Map<String, Value> = r
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    o.insert("fields".into(), Value::Object(fields));
    o.insert("apdus".into(), json!(r.apdus));
    Value::Object(o).to_string()
}

/// The array `cardap list` prints: `[{"aid": …, "label": … or null}, …]`.
pub(crate) fn dir(entries: &[DirEntry]) -> String {
    let list: Vec<Value> = entries
        .iter()
        .map(|e| json!({"aid": hex::encode_upper(&e.aid), "label": e.label}))
        .collect();
    Value::Array(list).to_string()
}
