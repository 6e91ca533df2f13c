//! What a read returns: [`ApRecord`]. Every byte and text read from the card
//! is held in a buffer that is zeroized on drop, and `Debug` shows names and
//! lengths, never values.

use zeroize::Zeroizing;

use crate::profile::{ApType, Profile};
use crate::userid::UserId;

/// Bytes read from the card, wiped on drop.
pub(crate) type SecretBytes = Zeroizing<Vec<u8>>;

/// What a read returns: the AP's identity, its user ID and its contents, all
/// authenticated where the AP type requires it.
///
/// Info fields, step outputs and decoded fields keep their order: info fields
/// in card order (`info1`, `info2`, …), steps and fields in the profile's
/// `[[read]]` and `[[field]]` order.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApRecord {
    name: String,
    ap_type: ApType,
    aid: Vec<u8>,
    user_id: UserId,
    info: Vec<(String, SecretBytes)>,
    data: Option<SecretBytes>,
    steps: Vec<(String, SecretBytes)>,
    fields: Vec<(String, Zeroizing<String>)>,
    apdus: usize,
}

impl std::fmt::Debug for ApRecord {
    // Card data (user ID, info, data, fields) are never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApRecord")
            .field("name", &self.name)
            .field("ap_type", &self.ap_type)
            .field("aid", &hex::encode_upper(&self.aid))
            .field("user_id", &"REDACTED")
            .field(
                "info",
                &self.info.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("data_len", &self.data.as_ref().map(|d| d.len()))
            .field(
                "steps",
                &self.steps.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field(
                "fields",
                &self.fields.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("apdus", &self.apdus)
            .finish()
    }
}

impl ApRecord {
    /// A record of `profile`'s AP with its user ID and nothing else yet.
    pub(crate) fn new(profile: &Profile, user_id: UserId) -> Self {
        Self {
            name: profile.name().to_owned(),
            ap_type: profile.ap_type(),
            aid: profile.aid().to_vec(),
            user_id,
            info: Vec::new(),
            data: None,
            steps: Vec::new(),
            fields: Vec::new(),
            apdus: 0,
        }
    }

    pub(crate) fn push_info(&mut self, number: u8, value: &[u8]) {
        self.info
            .push((format!("info{number}"), Zeroizing::new(value.to_vec())));
    }

    pub(crate) fn set_data(&mut self, data: SecretBytes) {
        self.data = Some(data);
    }

    pub(crate) fn push_step(&mut self, name: &str, bytes: SecretBytes) {
        self.steps.push((name.to_owned(), bytes));
    }

    pub(crate) fn push_field(&mut self, name: &str, text: Zeroizing<String>) {
        self.fields.push((name.to_owned(), text));
    }

    pub(crate) fn set_apdus(&mut self, apdus: usize) {
        self.apdus = apdus;
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The AP type.
    pub fn ap_type(&self) -> ApType {
        self.ap_type
    }

    /// The AID read.
    pub fn aid(&self) -> &[u8] {
        &self.aid
    }

    /// The validated user ID.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// Info fields (`info1`, `info2`, … in card order) and their bytes, for
    /// Types A and C.
    pub fn info(&self) -> impl ExactSizeIterator<Item = (&str, &[u8])> + DoubleEndedIterator + '_ {
        self.info.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// One info field by name (`info1`, …).
    pub fn info_value(&self, name: &str) -> Option<&[u8]> {
        lookup(&self.info, name).map(|v| v.as_slice())
    }

    /// File bytes 13… for Type D; the concatenated step outputs for custom
    /// APs; `None` for Types A and C.
    pub fn data(&self) -> Option<&[u8]> {
        self.data.as_ref().map(|d| d.as_slice())
    }

    /// Custom APs: each `[[read]]` step's output, in the profile's order.
    pub fn steps(&self) -> impl ExactSizeIterator<Item = (&str, &[u8])> + DoubleEndedIterator + '_ {
        self.steps.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// One step's output by step name.
    pub fn step(&self, name: &str) -> Option<&[u8]> {
        lookup(&self.steps, name).map(|v| v.as_slice())
    }

    /// The fields decoded per the profile's `[[field]]` entries, in the
    /// profile's order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + DoubleEndedIterator + '_ {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// One decoded field by name.
    pub fn field(&self, name: &str) -> Option<&str> {
        lookup(&self.fields, name).map(|v| v.as_str())
    }

    /// Command APDUs the read sent (GET RESPONSE and retries included).
    pub fn apdus(&self) -> usize {
        self.apdus
    }
}

fn lookup<'a, V>(pairs: &'a [(String, V)], name: &str) -> Option<&'a V> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[cfg(feature = "json")]
mod json {
    //! The JSON object of one read (feature `json`), printed byte for byte
    //! alike by `cardap read`, the C ABI and the examples: `name`, `type`,
    //! `aid`, `user_id`, `info` (hex; A and C) or `data` (hex of file bytes
    //! 13…; D and custom), `steps` (custom), `fields` (decoded), `apdus`.

    use serde::ser::{Serialize, SerializeMap, Serializer};

    use super::ApRecord;
    use crate::ap::DirEntry;
    use crate::profile::ApType;

    struct HexMap<'a, V>(&'a [(String, V)]);

    impl<V: AsRef<[u8]>> Serialize for HexMap<'_, V> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0 {
                m.serialize_entry(k, &hex::encode_upper(v.as_ref()))?;
            }
            m.end()
        }
    }

    struct TextMap<'a>(&'a [(String, zeroize::Zeroizing<String>)]);

    impl Serialize for TextMap<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0 {
                m.serialize_entry(k, v.as_str())?;
            }
            m.end()
        }
    }

    impl Serialize for ApRecord {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("name", &self.name)?;
            m.serialize_entry("type", self.ap_type.name())?;
            m.serialize_entry("aid", &hex::encode_upper(&self.aid))?;
            m.serialize_entry("user_id", self.user_id.as_str())?;
            match self.ap_type {
                ApType::D | ApType::Custom => {
                    let data = self.data.as_deref().map(Vec::as_slice).unwrap_or_default();
                    m.serialize_entry("data", &hex::encode_upper(data))?;
                }
                ApType::A | ApType::C => m.serialize_entry("info", &HexMap(&self.info))?,
            }
            if self.ap_type == ApType::Custom {
                m.serialize_entry("steps", &HexMap(&self.steps))?;
            }
            m.serialize_entry("fields", &TextMap(&self.fields))?;
            m.serialize_entry("apdus", &self.apdus)?;
            m.end()
        }
    }

    /// `{"aid": "…", "label": "…" or null}`; a list of entries is an array.
    impl Serialize for DirEntry {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(2))?;
            m.serialize_entry("aid", &hex::encode_upper(self.aid()))?;
            m.serialize_entry("label", &self.label())?;
            m.end()
        }
    }
}
