//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// `shared/` lives beside the repository (`<repo>/../shared`, as in a CI clone
/// or a worktree), else one level further up.
pub fn shared_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [manifest.join("../shared"), manifest.join("../../shared")]
        .into_iter()
        .find(|p| p.join("vectors/profile-v1.json").exists())
        .unwrap_or_else(|| {
            panic!(
                "shared/vectors/profile-v1.json not found beside {}",
                manifest.display()
            )
        })
}

/// The golden transcripts of PROFILE.md.
pub fn vectors() -> Value {
    let text = std::fs::read_to_string(shared_dir().join("vectors/profile-v1.json")).unwrap();
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
