//! The JSON objects of the public-AP operations (feature `json`): what
//! `cardap info`, `cardap pin-status` and `cardap kenhojo` print and what the
//! C ABI hands out, byte for byte.

use serde_json::{Map, Value, json};

use super::{CardInfo, KenhojoData, PinStatus};

/// `{"card": "mynumber" | "jpki-other" | "unknown", "token": … or null,
/// "aps": [{"aid", "label"}, …]}`.
pub fn info(info: &CardInfo) -> Value {
    json!({
        "card": info.kind.name(),
        "token": info.token,
        "aps": crate::json::dir(&info.aps),
    })
}

/// `{"jpki_auth": N, "jpki_sign": N, "kenhojo": N}` (null for an AP the card
/// does not have).
pub fn pin_status(s: &PinStatus) -> Value {
    json!({"jpki_auth": s.jpki_auth, "jpki_sign": s.jpki_sign, "kenhojo": s.kenhojo})
}

/// `{"name", "address", "birth_date" (YYYY-MM-DD), "sex" ("male" | "female" |
/// "not_applicable")}`, plus `"my_number"` when read and `"verification":
/// {"facts_digest": "ok", "my_number_digest": "ok" | "not_checked",
/// "signature": "valid" | "not_checked"}` when checked. The value holds
/// personal data: drop it when done.
pub fn kenhojo(data: &KenhojoData) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(data.facts.name()));
    o.insert("address".into(), json!(data.facts.address()));
    o.insert(
        "birth_date".into(),
        json!(data.facts.birth_date().to_string()),
    );
    o.insert("sex".into(), json!(data.facts.sex().name()));
    if let Some(n) = &data.my_number {
        o.insert("my_number".into(), json!(n.as_str()));
    }
    if let Some(v) = data.verification {
        let checked = |done: bool, yes: &'static str| if done { yes } else { "not_checked" };
        o.insert(
            "verification".into(),
            json!({
                "facts_digest": checked(v.facts_digest, "ok"),
                "my_number_digest": checked(v.my_number_digest, "ok"),
                "signature": checked(v.signature, "valid"),
            }),
        );
    }
    Value::Object(o)
}
