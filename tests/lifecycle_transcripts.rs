//! The host side of the write and lifecycle transcripts
//! (`tests/vectors/profile-v2-lifecycle.json`, PROFILE.md §11, §12): the SDK,
//! fed the transcript's random values, must send exactly the recorded
//! commands and accept the recorded answers. The card side replays the same
//! file in `sim/tests/lifecycle_vectors.rs`.
#![cfg(test)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use cardap::trace::{Exchange, Replay, Segment, Trace};
use cardap::{Card, FieldWrite, Profile};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/profile-v2-lifecycle.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key}"))
}

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

fn trace_of(t: &Value) -> Trace {
    let atr = if t["extended_length"].as_bool().unwrap() {
        "3B858101807394014023"
    } else {
        "3B858101807394010063"
    };
    Trace {
        atr: Some(h(atr)),
        exchanges: t["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| Exchange {
                command: vec![Segment::Clear(h(s(e, "command")))],
                response: Some(vec![Segment::Clear(h(s(e, "response")))]),
            })
            .collect(),
    }
}

fn reader_for(t: &Value) -> Card<Replay> {
    let random = h(&format!(
        "{}{}",
        s(&t["random"], "RND_IFD"),
        s(&t["random"], "K_IFD")
    ));
    Card::new(Replay::new(trace_of(t))).with_random(random)
}

fn transcripts(operation: &str) -> Vec<Value> {
    let all: Vec<Value> = vectors()["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["operation"] == operation)
        .cloned()
        .collect();
    assert!(!all.is_empty(), "{operation}");
    all
}

#[test]
fn every_write_transcript_replays_on_the_host() {
    let writes = transcripts("write");
    assert_eq!(writes.len(), 15, "A, C, D in three suites");
    for t in writes {
        let name = s(&t, "name");
        let profile = Profile::from_toml_str(s(&t, "profile")).unwrap();
        let sets: Vec<FieldWrite> = t["set"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                let pair = pair.as_array().unwrap();
                FieldWrite::parse(&format!(
                    "{}={}",
                    pair[0].as_str().unwrap(),
                    pair[1].as_str().unwrap()
                ))
                .unwrap()
            })
            .collect();
        let mut reader = reader_for(&t);
        let report = reader
            .write(&profile, &sets)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            report.apdus as u64,
            t["result"]["apdus"].as_u64().unwrap(),
            "{name}"
        );
        assert!(
            reader.transport().finished(),
            "{name}: not every exchange was played"
        );
    }
}

#[cfg(feature = "issuer")]
mod issuer {
    use super::*;
    use cardap::issuer::{Area, InstallRequest, Issuer, KeySet};
    use cardap::{ApType, Error, StatusWord, UserId};
    use cardap::{SecretKey, Suite};

    fn issuer_of(t: &Value) -> Issuer {
        let i = &t["issuer"];
        Issuer::from_toml_str(&format!(
            "card_manager = \"{}\"\nsuite = \"{}\"\nk_enc = \"{}\"\nk_mac = \"{}\"\nregistry = \"unused.sqlite\"\n",
            s(i, "card_manager"),
            s(i, "suite"),
            s(i, "k_enc"),
            s(i, "k_mac")
        ))
        .unwrap()
    }

    fn keys(v: &Value) -> KeySet {
        KeySet::new(
            Suite::from_name(s(v, "suite")).unwrap(),
            SecretKey::new(h(s(v, "k_enc"))),
            SecretKey::new(h(s(v, "k_mac"))),
        )
        .unwrap()
    }

    fn status_of(t: &Value) -> StatusWord {
        let b = h(s(t, "status"));
        StatusWord::from_bytes(b[0], b[1])
    }

    #[test]
    fn install_transcripts_replay_on_the_host() {
        for t in transcripts("install") {
            let name = s(&t, "name");
            let r = &t["request"];
            let kind = match s(r, "type") {
                "A" => ApType::A,
                "C" => ApType::C,
                _ => ApType::D,
            };
            let mut request = InstallRequest::new(
                kind,
                Area::from_name(s(r, "area")).unwrap(),
                h(s(r, "aid")),
                s(r, "label"),
            );
            let contents = h(s(r, "contents"));
            if kind == ApType::D {
                request = request.with_data(contents);
            } else {
                // C1 L v1 C2 L v2 …
                let mut rest = contents.as_slice();
                while !rest.is_empty() {
                    let n = usize::from(rest[0] - 0xC0);
                    let len = usize::from(rest[1]);
                    request = request.with_info(n, rest[2..2 + len].to_vec());
                    rest = &rest[2 + len..];
                }
            }
            let user_id = UserId::parse(s(r, "user_id").as_bytes()).unwrap();
            let read = (!r["read_keys"].is_null()).then(|| keys(&r["read_keys"]));
            let mut reader = reader_for(&t);
            let result = reader.install_with(
                &issuer_of(&t),
                &request,
                &user_id,
                read,
                keys(&r["update_keys"]),
            );
            match status_of(&t) {
                StatusWord::Success => {
                    let installed = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(installed.user_id, user_id);
                    assert_eq!(installed.apdus, t["exchanges"].as_array().unwrap().len());
                }
                sw => assert_eq!(
                    result.unwrap_err(),
                    Error::Status {
                        command: "CREATE FILE",
                        sw
                    },
                    "{name}"
                ),
            }
            assert!(reader.transport().finished(), "{name}");
        }
    }

    #[test]
    fn delete_move_out_and_list_transcripts_replay_on_the_host() {
        for t in transcripts("delete") {
            let name = s(&t, "name");
            let aid = h(s(&t["request"], "aid"));
            let mut reader = reader_for(&t);
            let result = reader.delete_ap(&issuer_of(&t), &aid);
            match status_of(&t) {
                StatusWord::Success => assert_eq!(result.unwrap(), 4, "{name}"),
                _ => assert!(matches!(result, Err(Error::ApNotFound { .. })), "{name}"),
            }
            assert!(reader.transport().finished(), "{name}");
        }
        for t in transcripts("move-out") {
            let mut reader = reader_for(&t);
            let (count, apdus) = reader.move_out(&issuer_of(&t)).unwrap();
            assert_eq!(count as u64, t["result"]["deleted"].as_u64().unwrap());
            assert_eq!(apdus, 4);
            assert!(reader.transport().finished());
        }
        for t in transcripts("list") {
            let mut reader = reader_for(&t);
            let listed = reader.list_area(&issuer_of(&t), None).unwrap();
            let entries = t["result"]["entries"].as_array().unwrap();
            assert_eq!(listed.len(), entries.len());
            assert_eq!(listed[0].user_id.as_str(), "1001000000019");
            assert_eq!(listed[0].area, Area::Local);
            assert_eq!(listed[1].kind, ApType::A);
            assert_eq!(listed[1].label.as_deref(), Some("staff ID"));
            assert!(reader.transport().finished());
        }
    }
}
