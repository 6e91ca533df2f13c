//! Random virtual cards and the profiles that read them, shared by the tests.
#![allow(dead_code)]

pub mod pcsc;

/// xorshift64*: reproducible randomness from a printed seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

pub fn check_digit(d12: &str) -> char {
    let s: u32 = d12
        .bytes()
        .rev()
        .zip([2u32, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let r = s % 11;
    char::from(b'0' + if r <= 1 { 0 } else { (11 - r) as u8 })
}

pub struct Case {
    pub card: String,
    pub profile: String,
    pub user_id: String,
    pub info: Vec<(String, String)>,
    pub data: Option<String>,
    pub rounds: usize,
}

pub fn hexs(b: &[u8]) -> String {
    hex::encode_upper(b)
}

pub fn make(rng: &mut Rng, kind: char, suite: &str, extended: bool) -> Case {
    let d12: String = (0..12)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect();
    let user_id = format!("{d12}{}", check_digit(&d12));
    let mut aid = vec![0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, kind as u8];
    aid.extend(rng.bytes(2));
    let key_len = if suite == "aes256" { 32 } else { 16 };
    let (k_enc, k_mac) = (rng.bytes(key_len), rng.bytes(key_len));
    let mut card = format!("extended_length = {extended}\n\n");
    // A decoy AP first, so that SELECT must pick the right one.
    let d2: String = (0..12)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect();
    card += &format!(
        "[[ap]]\ntype = \"C\"\naid = \"F0434152444150430999\"\nuser_id = \"{d2}{}\"\n\n",
        check_digit(&d2)
    );
    card += &format!(
        "[[ap]]\ntype = \"{kind}\"\naid = \"{}\"\nuser_id = \"{user_id}\"\n",
        hexs(&aid)
    );
    let mut profile = format!(
        "name = \"rand-{kind}\"\ntype = \"{kind}\"\naid = \"{}\"\n",
        hexs(&aid)
    );
    let mut info = Vec::new();
    let mut data = None;
    let rounds;
    match kind {
        'C' => {
            let mut budget = 12;
            for i in 1..=3 {
                if rng.below(4) == 0 {
                    continue;
                }
                let n = rng.below(budget + 1);
                budget -= n;
                let v = rng.bytes(n);
                card += &format!("info{i} = \"{}\"\n", hexs(&v));
                info.push((format!("info{i}"), hexs(&v)));
            }
            rounds = 2;
        }
        _ => {
            card += &format!(
                "suite = \"{suite}\"\nk_enc = \"{}\"\nk_mac = \"{}\"\n",
                hexs(&k_enc),
                hexs(&k_mac)
            );
            profile += &format!(
                "[auth]\nsuite = \"{suite}\"\nk_enc = \"{}\"\nk_mac = \"{}\"\n",
                hexs(&k_enc),
                hexs(&k_mac)
            );
            if kind == 'A' {
                let n = rng.below(6);
                let mut used = 15;
                let mut recs = Vec::new();
                for i in 1..=n {
                    let len = rng.below(40).min(255 - used - 2);
                    used += 2 + len;
                    let v = rng.bytes(len);
                    recs.push(format!("\"{}\"", hexs(&v)));
                    info.push((format!("info{i}"), hexs(&v)));
                }
                card += &format!("records = [{}]\n", recs.join(", "));
                // Short: one READ RECORD per record plus the one that gets 6A 83.
                rounds = if extended { 4 } else { 3 + n + 2 };
            } else {
                let len = rng.below(243);
                let mut v = rng.bytes(len);
                card += &format!("data = \"{}\"\n", hexs(&v));
                v.resize(242, 0);
                data = Some(hexs(&v));
                rounds = if extended { 4 } else { 5 };
            }
        }
    }
    Case {
        card,
        profile,
        user_id,
        info,
        data,
        rounds,
    }
}

pub fn seed() -> u64 {
    std::env::var("CARDAP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        })
}

pub fn combos() -> Vec<(char, &'static str, bool)> {
    let mut out = Vec::new();
    for kind in ['A', 'C', 'D'] {
        for suite in ["3des", "aes128", "aes256"] {
            for ext in [true, false] {
                out.push((kind, suite, ext));
            }
        }
    }
    out
}

/// Checks the JSON object `cardap read` printed against what the case holds.
pub fn assert_read_json(v: &serde_json::Value, case: &Case, ctx: &str) {
    assert_eq!(v["user_id"], case.user_id.as_str(), "{ctx}");
    assert_eq!(v["apdus"], case.rounds, "{ctx}");
    match &case.data {
        Some(d) => assert_eq!(v["data"], d.as_str(), "{ctx}"),
        None => {
            for (k, val) in &case.info {
                assert_eq!(v["info"][k], val.as_str(), "{ctx}");
            }
            assert_eq!(
                v["info"].as_object().map(|o| o.len()),
                Some(case.info.len()),
                "{ctx}"
            );
        }
    }
}
