//! The host side of every golden transcript (PROFILE.md, `profile-v1.json`):
//! the reader, fed the transcript's random values, must send exactly the
//! recorded commands, in the recorded number of round trips, and report the
//! recorded result.
#![cfg(test)]

mod common;

use cardap::trace::{Exchange, Replay, Segment, Trace};
use cardap::{ApType, Card, Profile};
use common::{profile_for, s, vectors};

fn trace_of(t: &serde_json::Value) -> Trace {
    Trace {
        atr: Some(hex::decode(s(&t["card"], "atr")).unwrap()),
        exchanges: t["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| Exchange {
                command: vec![Segment::Clear(hex::decode(s(e, "command")).unwrap())],
                response: Some(vec![Segment::Clear(hex::decode(s(e, "response")).unwrap())]),
            })
            .collect(),
    }
}

#[test]
fn every_transcript_replays_on_the_reader() {
    let v = vectors();
    let transcripts = v["transcripts"].as_array().unwrap();
    assert_eq!(transcripts.len(), 10);
    for t in transcripts {
        let name = s(t, "name");
        let profile = Profile::from_toml_str(&profile_for(t)).unwrap();
        let random = match t["random"].get("RND_IFD") {
            Some(_) => hex::decode(format!(
                "{}{}",
                s(&t["random"], "RND_IFD"),
                s(&t["random"], "K_IFD")
            ))
            .unwrap(),
            None => Vec::new(),
        };
        let mut reader = Card::new(Replay::new(trace_of(t))).with_random(random);
        let rec = reader
            .read(&profile)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let result = &t["result"];
        assert_eq!(rec.user_id().as_str(), s(result, "user_id"), "{name}");
        assert_eq!(hex::encode_upper(rec.aid()), s(result, "aid"), "{name}");
        assert_eq!(
            rec.apdus() as u64,
            result["apdus"].as_u64().unwrap(),
            "{name}"
        );
        assert!(
            reader.transport().finished(),
            "{name}: not every exchange was played"
        );
        match rec.ap_type() {
            ApType::D => assert_eq!(
                hex::encode_upper(rec.data().unwrap()),
                s(result, "data"),
                "{name}"
            ),
            _ => {
                let info = result["info"].as_object().unwrap();
                assert_eq!(rec.info().len(), info.len(), "{name}");
                for (k, val) in info {
                    assert_eq!(
                        hex::encode_upper(rec.info_value(k).unwrap()),
                        val.as_str().unwrap(),
                        "{name} {k}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_tampered_transcript_returns_no_data() {
    let v = vectors();
    for t in v["transcripts"].as_array().unwrap() {
        if t["suite"].is_null() {
            continue;
        }
        let name = s(t, "name");
        let profile = Profile::from_toml_str(&profile_for(t)).unwrap();
        let random = hex::decode(format!(
            "{}{}",
            s(&t["random"], "RND_IFD"),
            s(&t["random"], "K_IFD")
        ))
        .unwrap();
        let mut trace = trace_of(t);
        // Flip one bit in the last protected response's data.
        let last = trace.exchanges.last_mut().unwrap();
        if let Some(resp) = last.response.as_mut()
            && let Segment::Clear(b) = &mut resp[0]
        {
            b[5] ^= 0x01;
        }
        let mut reader = Card::new(Replay::new(trace)).with_random(random);
        let err = reader.read(&profile).expect_err(name);
        assert!(
            matches!(err, cardap::Error::SecureMessaging(_)),
            "{name}: expected a secure-messaging error, got {err:?}"
        );
    }
}
