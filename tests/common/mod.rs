//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// The golden transcripts of PROFILE.md, kept in the repository at
/// `tests/vectors/profile-v1.json`.
pub fn vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/profile-v1.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A string field.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("missing string {key}"))
}

/// A profile (PROFILE.md §9) for a transcript's card.
pub fn profile_for(t: &Value) -> String {
    let card = &t["card"];
    let mut p = format!(
        "name = \"{}\"\ntype = \"{}\"\naid = \"{}\"\n",
        s(t, "name"),
        s(t, "type"),
        s(card, "aid")
    );
    if let Some(suite) = t["suite"].as_str() {
        p.push_str(&format!(
            "[auth]\nsuite = \"{suite}\"\nk_enc = \"{}\"\nk_mac = \"{}\"\n",
            s(card, "k_enc"),
            s(card, "k_mac")
        ));
    }
    p
}
