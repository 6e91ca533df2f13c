//! The JSON shapes of the public-AP results (feature `json`: `serde`
//! serialization): what `cardap info`, `cardap pin-status` and `cardap
//! kenhojo` print and what the C ABI hands out, byte for byte.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{CardInfo, KenhojoData, PinStatus};

/// `{"card": "mynumber" | "jpki-other" | "unknown", "token": … or null,
/// "aps": [{"aid", "label"}, …]}`.
impl Serialize for CardInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("card", self.kind.name())?;
        m.serialize_entry("token", &self.token)?;
        m.serialize_entry("aps", &self.aps)?;
        m.end()
    }
}

/// `{"jpki_auth": N, "jpki_sign": N, "kenhojo": N}` (null for an AP the card
/// does not have).
impl Serialize for PinStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("jpki_auth", &self.jpki_auth)?;
        m.serialize_entry("jpki_sign", &self.jpki_sign)?;
        m.serialize_entry("kenhojo", &self.kenhojo)?;
        m.end()
    }
}

/// `{"name", "address", "birth_date" (YYYY-MM-DD), "sex" ("male" | "female" |
/// "not_applicable")}`, plus `"my_number"` when read and `"verification":
/// {"facts_digest": "ok", "my_number_digest": "ok" | "not_checked",
/// "signature": "valid" | "not_checked"}` when checked. The text holds
/// personal data: wipe it when done.
impl Serialize for KenhojoData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", self.facts.name())?;
        m.serialize_entry("address", self.facts.address())?;
        m.serialize_entry("birth_date", &self.facts.birth_date().to_string())?;
        m.serialize_entry("sex", self.facts.sex().name())?;
        if let Some(n) = &self.my_number {
            m.serialize_entry("my_number", n.as_str())?;
        }
        if let Some(v) = self.verification {
            m.serialize_entry("verification", &VerificationJson(v))?;
        }
        m.end()
    }
}

struct VerificationJson(super::Verification);

impl Serialize for VerificationJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let checked = |done: bool, yes: &'static str| if done { yes } else { "not_checked" };
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("facts_digest", checked(self.0.facts_digest, "ok"))?;
        m.serialize_entry("my_number_digest", checked(self.0.my_number_digest, "ok"))?;
        m.serialize_entry("signature", checked(self.0.signature, "valid"))?;
        m.end()
    }
}
