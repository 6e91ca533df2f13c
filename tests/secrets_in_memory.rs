//! No copies of keys stay in the process after a read: the long-term keys
//! (K_enc, K_mac) and the session keys (KS_enc, KS_mac) of a Type A (aes128)
//! and a Type D (aes256 and 3des) read are searched in every writable
//! mapping of the process (/proc/self/maps, read through /proc/self/mem:
//! heap, stacks, anonymous mappings) after the profile and the reader were
//! dropped. The read runs in a child process (this binary, started again),
//! whose card is a replayed session, so that no card-side copy exists; the
//! keys it searches for are handed over masked, so the search itself leaves
//! no copy. Linux only.
//!
//! `cargo test -p cardap --test secrets_in_memory`
#![cfg(test)]

use std::io::{Read, Seek, SeekFrom};
use std::process::Command;

use cardap::trace::{Recorder, Redaction, Replay, Trace};
use cardap::{Card as Reader, Profile, Suite};
use cardap_sim::VirtualCard;
use sha1::{Digest, Sha1};
use sha2::Sha256;

const CARD: &str = include_str!("../bench/card.toml");
const CASES: [(&str, &str); 3] = [
    ("a-aes128", include_str!("../bench/profiles/a-aes128.toml")),
    ("d-aes256", include_str!("../bench/profiles/d-aes256.toml")),
    ("d-3des", include_str!("../bench/profiles/d-3des.toml")),
];
const HOST_RANDOM: [u8; 24] = [0x11; 24];
const CARD_RANDOM: [u8; 24] = [0x22; 24];
const MASK: u8 = 0xA5;

#[test]
fn no_key_copies_in_memory_after_a_read() {
    if let Ok(case) = std::env::var("CARDAP_MEMSCAN_CHILD") {
        child(&case);
        return;
    }
    if !std::path::Path::new("/proc/self/mem").exists() {
        println!("secrets_in_memory: skipped (no /proc/self/mem)");
        return;
    }
    let mut failed = false;
    for (name, text) in CASES {
        let profile = Profile::from_toml_str(text).unwrap();
        let suite = profile.auth().unwrap().suite();
        let key = |name: &str| -> Vec<u8> {
            let line = text.lines().find(|l| l.starts_with(name)).unwrap();
            hex::decode(line.split('"').nth(1).unwrap()).unwrap()
        };
        // The session keys both sides derive from the fixed random numbers.
        let seed: Vec<u8> = HOST_RANDOM[8..]
            .iter()
            .zip(&CARD_RANDOM[8..])
            .map(|(a, b)| a ^ b)
            .collect();
        let keys = [
            ("K_enc", key("k_enc")),
            ("K_mac", key("k_mac")),
            ("KS_enc", kdf(suite, &seed, 1)),
            ("KS_mac", kdf(suite, &seed, 2)),
        ];
        let masked: Vec<String> = keys
            .iter()
            .map(|(n, k)| {
                format!(
                    "{n}:{}",
                    hex::encode(k.iter().map(|b| b ^ MASK).collect::<Vec<u8>>())
                )
            })
            .collect();
        let trace = record(&profile);
        let dir = std::env::temp_dir().join(format!("cardap-memscan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let trace_path = dir.join(format!("{name}.trace"));
        std::fs::write(&trace_path, trace.to_text()).unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "no_key_copies_in_memory_after_a_read",
                "--nocapture",
            ])
            .args(["--test-threads", "1", "--include-ignored"])
            .env("CARDAP_MEMSCAN_CHILD", name)
            .env("CARDAP_MEMSCAN_TRACE", &trace_path)
            .env("CARDAP_MEMSCAN_KEYS", masked.join(","))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report = stdout
            .lines()
            .find(|l| l.contains("copies found"))
            .unwrap_or_else(|| panic!("no report from the child: {stdout}"));
        println!("{name} ({suite:?}): {report}");
        if !out.status.success() {
            println!("{}", String::from_utf8_lossy(&out.stderr));
            failed = true;
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(!failed, "key material left in memory after a read");
    println!("secrets_in_memory: ok");
}

/// ICAO 9303 key derivation (PROFILE.md §7), computed here independently.
fn kdf(suite: Suite, seed: &[u8], counter: u32) -> Vec<u8> {
    let mut input = seed.to_vec();
    input.extend_from_slice(&counter.to_be_bytes());
    match suite {
        Suite::Aes256 => Sha256::digest(&input).to_vec(),
        Suite::Aes128 => Sha1::digest(&input)[..16].to_vec(),
        _ => Sha1::digest(&input)[..16]
            .iter()
            .map(|b| {
                let high = b & 0xFE;
                if high.count_ones() % 2 == 0 {
                    high | 1
                } else {
                    high
                }
            })
            .collect(),
    }
}

fn record(profile: &Profile) -> Trace {
    let card = VirtualCard::from_toml_str(CARD)
        .unwrap()
        .with_fixed_random(CARD_RANDOM.to_vec());
    let mut reader =
        Reader::new(Recorder::new(card, Redaction::None)).with_random(HOST_RANDOM.to_vec());
    reader.read(profile).unwrap();
    reader.into_transport().finish().1
}

/// In the child: one read, everything dropped, then the memory scanned.
fn child(case: &str) {
    let text = CASES.iter().find(|(n, _)| *n == case).unwrap().1;
    let trace = Trace::parse(
        &std::fs::read_to_string(std::env::var("CARDAP_MEMSCAN_TRACE").unwrap()).unwrap(),
    )
    .unwrap();
    let needles: Vec<(String, Vec<u8>)> = std::env::var("CARDAP_MEMSCAN_KEYS")
        .unwrap()
        .split(',')
        .map(|s| {
            let (n, h) = s.split_once(':').unwrap();
            (n.to_owned(), hex::decode(h).unwrap())
        })
        .collect();
    {
        let profile = Profile::from_toml_str(text).unwrap();
        let mut reader = Reader::new(Replay::new(trace)).with_random(HOST_RANDOM.to_vec());
        let record = reader.read(&profile).unwrap();
        assert_eq!(record.apdus(), 4);
    }
    let t = std::time::Instant::now();
    let counts = scan(&needles);
    eprintln!("scan took {:?}", t.elapsed());
    let mut line = Vec::new();
    let mut total = 0;
    for ((name, _), n) in needles.iter().zip(&counts) {
        line.push(format!("{name} {n}"));
        total += n;
    }
    println!("copies found: {}", line.join(", "));
    std::process::exit(if total == 0 { 0 } else { 1 });
}

/// Counts, for each masked needle, its unmasked occurrences in every
/// readable and writable mapping of this process.
fn scan(needles: &[(String, Vec<u8>)]) -> Vec<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut regions = Vec::new();
    for line in maps.lines() {
        let mut parts = line.split_whitespace();
        let (Some(range), Some(perms)) = (parts.next(), parts.next()) else {
            continue;
        };
        let path = line.split_whitespace().nth(5).unwrap_or("");
        if !perms.starts_with("rw") || path.starts_with("[v") {
            continue;
        }
        let (a, b) = range.split_once('-').unwrap();
        regions.push((
            u64::from_str_radix(a, 16).unwrap(),
            u64::from_str_radix(b, 16).unwrap(),
        ));
    }
    // Allocated after reading the map: this buffer is not scanned.
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK + 64];
    let mut mem = std::fs::File::open("/proc/self/mem").unwrap();
    let mut counts = vec![0; needles.len()];
    for (start, end) in regions {
        let mut at = start;
        while at < end {
            let len = ((end - at) as usize).min(CHUNK);
            // Overlap by 63 bytes so that a key across a chunk edge is found.
            let read_len = (len + 63).min((end - at) as usize);
            if mem.seek(SeekFrom::Start(at)).is_err()
                || mem.read_exact(&mut buf[..read_len]).is_err()
            {
                break;
            }
            let window = &buf[..read_len];
            // A table of first bytes keeps the loop cheap in unoptimised builds.
            let mut first = [false; 256];
            for (_, n) in needles {
                first[usize::from(n[0])] = true;
            }
            for off in 0..len {
                if !first[usize::from(window[off] ^ MASK)] {
                    continue;
                }
                for (i, (_, needle)) in needles.iter().enumerate() {
                    if window
                        .get(off..off + needle.len())
                        .is_some_and(|w| w.iter().zip(needle).all(|(m, n)| m ^ MASK == *n))
                    {
                        counts[i] += 1;
                    }
                }
            }
            at += len as u64;
        }
    }
    counts
}
