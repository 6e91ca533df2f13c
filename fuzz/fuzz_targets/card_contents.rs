//! Genuine secure-messaging sessions over arbitrary contents: a virtual card
//! whose Type A records, Type D data and Type C info fields come from the
//! fuzz input is read in process (extended length on or off), so the Type
//! A/C/D parsers and the SM chaining see every length and layout.
#![no_main]

use cardap::{Card as Reader, Profile};
use cardap_fuzz::{FIXED_RANDOM, segments};
use cardap_sim::VirtualCard;
use libfuzzer_sys::fuzz_target;

const K16: &str = "000102030405060708090A0B0C0D0E0F";
const K32: &str = "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let suite = ["3des", "aes128", "aes256"][usize::from(mode % 3)];
    let key = if suite == "aes256" { K32 } else { K16 };
    let extended = mode & 0x10 != 0;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    let (kind, ap) = match (mode >> 2) % 3 {
        0 => {
            let records: Vec<String> = segments(rest)
                .iter()
                .map(|s| format!("\"{}\"", hex(s)))
                .collect();
            (
                "A",
                format!(
                    "suite = \"{suite}\"\nk_enc = \"{key}\"\nk_mac = \"{key}\"\nrecords = [{}]",
                    records.join(", ")
                ),
            )
        }
        1 => (
            "D",
            format!(
                "suite = \"{suite}\"\nk_enc = \"{key}\"\nk_mac = \"{key}\"\ndata = \"{}\"",
                hex(rest)
            ),
        ),
        _ => {
            let s = segments(rest);
            let info: Vec<String> = s
                .iter()
                .take(3)
                .enumerate()
                .map(|(i, v)| format!("info{} = \"{}\"", i + 1, hex(v)))
                .collect();
            ("C", info.join("\n"))
        }
    };
    let aid = "F0434152444150410001";
    let card = format!(
        "extended_length = {extended}\n[[ap]]\ntype = \"{kind}\"\naid = \"{aid}\"\nuser_id = \"1001000000019\"\n{ap}\n"
    );
    let Ok(card) = VirtualCard::from_toml_str(&card) else {
        return;
    };
    let card = card.with_fixed_random(FIXED_RANDOM.repeat(4));
    let auth = if kind == "C" {
        String::new()
    } else {
        format!("[auth]\nsuite = \"{suite}\"\nk_enc = \"{key}\"\nk_mac = \"{key}\"\n")
    };
    let profile = format!(
        "name = \"f\"\ntype = \"{kind}\"\naid = \"{aid}\"\n{auth}[[field]]\nname = \"x\"\n{}\nencoding = \"hex\"\n",
        if kind == "D" {
            "offset = 13\nlength = 4"
        } else {
            "source = \"info1\""
        }
    );
    let profile = Profile::from_toml_str(&profile).expect("profile");
    let mut reader = Reader::new(card).with_random(FIXED_RANDOM.repeat(4));
    if let Ok(record) = reader.read(&profile) {
        assert_eq!(record.user_id().as_str(), "1001000000019");
    }
});
