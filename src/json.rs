//! The JSON objects every front end prints (feature `json`): `cardap read`,
//! `cardap list`, the C ABI's `cardap_record_to_json`, and so the examples in
//! every language, byte for byte.

use serde_json::{Map, Value, json};

use crate::{ApRecord, ApType, DirEntry};

fn hex_map<'a>(items: impl Iterator<Item = (&'a String, &'a Vec<u8>)>) -> Value {
    Value::Object(
        items
            .map(|(k, v)| (k.clone(), json!(hex::encode_upper(v))))
            .collect(),
    )
}

/// The object of one read: `name`, `type`, `aid`, `user_id`, `info` (hex; A
/// and C) or `data` (hex of file bytes 13…; D and custom), `steps` (custom),
/// `fields` (decoded), `apdus` (command APDUs sent).
pub fn record(r: &ApRecord) -> Value {
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
    Value::Object(o)
}

/// The array of the APs on a card: `[{"aid": …, "label": … or null}, …]`.
pub fn dir(entries: &[DirEntry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| json!({"aid": hex::encode_upper(&e.aid), "label": e.label}))
            .collect(),
    )
}
