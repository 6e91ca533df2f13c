//! Shared test helpers: the golden vectors, and a minimal terminal (host side
//! of PROFILE.md §7, written for the tests from the `conventions` of the
//! vectors, independent of the card code) to drive the card.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use cardap::Suite;
use cardap_sim::SecretKey;
use cardap_sim::crypto;
use cardap_sim::{ApDescription, Description, VirtualCard};
use serde_json::Value;

/// The golden transcripts, kept in the repository at
/// `tests/vectors/profile-v1.json` (a copy of the profile's published vectors).
pub fn vectors_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/profile-v1.json")
}

pub fn vectors() -> Value {
    let text = std::fs::read_to_string(vectors_path()).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn h(text: &str) -> Vec<u8> {
    hex::decode(text.replace(' ', "")).unwrap()
}

pub fn hv(value: &Value) -> Vec<u8> {
    h(value.as_str().unwrap())
}

pub fn suite_of(name: &str) -> Suite {
    Suite::from_name(name).unwrap()
}

/// The AP a transcript's `card` object describes, built with the Rust API.
pub fn ap_of(transcript: &Value) -> ApDescription {
    let card = &transcript["card"];
    let aid = hv(&card["aid"]);
    let user_id = card["user_id"].as_str().unwrap();
    let keys = || {
        (
            suite_of(transcript["suite"].as_str().unwrap()),
            SecretKey::new(hv(&card["k_enc"])),
            SecretKey::new(hv(&card["k_mac"])),
        )
    };
    match transcript["type"].as_str().unwrap() {
        "C" => {
            let mut ap = ApDescription::type_c(aid, user_id);
            for (field, key) in [
                (cardap_sim::InfoField::Info1, "info1"),
                (cardap_sim::InfoField::Info2, "info2"),
                (cardap_sim::InfoField::Info3, "info3"),
            ] {
                if let Some(v) = card.get(key) {
                    ap = ap.with_info(field, hv(v));
                }
            }
            ap
        }
        "A" => {
            let (suite, k_enc, k_mac) = keys();
            let mut ap = ApDescription::type_a(aid, user_id, suite, k_enc, k_mac);
            for record in card["records"].as_array().unwrap() {
                ap = ap.with_record(hv(record));
            }
            ap
        }
        "D" => {
            let (suite, k_enc, k_mac) = keys();
            ApDescription::type_d(aid, user_id, suite, k_enc, k_mac).with_data(hv(&card["data"]))
        }
        other => panic!("unknown type {other}"),
    }
}

pub fn description_of(transcript: &Value) -> Description {
    Description::builder()
        .extended_length(transcript["extended_length"].as_bool().unwrap())
        .ap(ap_of(transcript))
        .build()
        .unwrap()
}

/// The same description written as TOML by hand (PROFILE.md §10 syntax).
pub fn toml_of(transcript: &Value) -> String {
    let card = &transcript["card"];
    let s = |k: &str| card[k].as_str().unwrap().to_owned();
    let mut out = format!(
        "extended_length = {}\n\n[[ap]]\ntype = \"{}\"\naid = \"{}\"\nuser_id = \"{}\"\n",
        transcript["extended_length"],
        transcript["type"].as_str().unwrap(),
        s("aid"),
        s("user_id")
    );
    match transcript["type"].as_str().unwrap() {
        "C" => {
            for k in ["info1", "info2", "info3"] {
                if card.get(k).is_some() {
                    out += &format!("{k} = \"{}\"\n", s(k));
                }
            }
        }
        t => {
            out += &format!(
                "suite = \"{}\"\nk_enc = \"{}\"\nk_mac = \"{}\"\n",
                transcript["suite"].as_str().unwrap(),
                s("k_enc"),
                s("k_mac")
            );
            if t == "A" {
                let records: Vec<String> = card["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| format!("\"{}\"", r.as_str().unwrap()))
                    .collect();
                out += &format!("records = [{}]\n", records.join(", "));
            } else {
                out += &format!("data = \"{}\"\n", s("data"));
            }
        }
    }
    out
}

/// RND.ICC ‖ K.ICC of a transcript (empty for Type C).
pub fn card_random(transcript: &Value) -> Vec<u8> {
    let random = &transcript["random"];
    match (random.get("RND_ICC"), random.get("K_ICC")) {
        (Some(r), Some(k)) => [hv(r), hv(k)].concat(),
        _ => Vec::new(),
    }
}

pub fn transcript(name: &str) -> Value {
    vectors()["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no transcript {name}"))
        .clone()
}

/// A card for a transcript, with its fixed card randomness.
pub fn card_for(transcript: &Value) -> VirtualCard {
    VirtualCard::new(description_of(transcript)).with_fixed_random(card_random(transcript))
}

pub fn sw(response: &[u8]) -> [u8; 2] {
    let n = response.len();
    [response[n - 2], response[n - 1]]
}

pub fn select(card: &mut VirtualCard, aid: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, aid.len() as u8];
    apdu.extend_from_slice(aid);
    card.process(&apdu)
}

/// Host side of an open secure channel, for the tests.
pub struct Terminal {
    pub suite: Suite,
    pub ks_enc: Vec<u8>,
    pub ks_mac: Vec<u8>,
    pub ssc: Vec<u8>,
    pub encrypt: bool,
}

/// The MUTUAL AUTHENTICATE command data `E_IFD ‖ M_IFD`.
pub fn terminal_cryptogram(
    suite: Suite,
    k_enc: &[u8],
    k_mac: &[u8],
    rnd_ifd: &[u8],
    rnd_icc: &[u8],
    k_ifd: &[u8],
) -> Vec<u8> {
    let s = [rnd_ifd, rnd_icc, k_ifd].concat();
    let e = crypto::encrypt_cbc(suite, k_enc, &vec![0; suite.block_size()], &s).unwrap();
    let m = crypto::mac(suite, k_mac, &crypto::pad(&e, suite.block_size())).unwrap();
    [e, m.to_vec()].concat()
}

/// GET CHALLENGE and MUTUAL AUTHENTICATE against the selected AP; checks the
/// card's answer and derives the session.
pub fn authenticate(
    card: &mut VirtualCard,
    suite: Suite,
    k_enc: &[u8],
    k_mac: &[u8],
    encrypt: bool,
) -> Terminal {
    authenticate_with(card, 0x00, suite, k_enc, k_mac, encrypt)
}

/// [`authenticate`] with the key reference `p2` (PROFILE.md §11.1).
pub fn authenticate_with(
    card: &mut VirtualCard,
    p2: u8,
    suite: Suite,
    k_enc: &[u8],
    k_mac: &[u8],
    encrypt: bool,
) -> Terminal {
    let challenge = card.process(&h("0084000008"));
    assert_eq!(sw(&challenge), [0x90, 0x00], "GET CHALLENGE");
    let rnd_icc = &challenge[..8];
    let rnd_ifd = b"RND.IFDx";
    let k_ifd = b"K.IFD/test/term1";
    let mut apdu = vec![0x00, 0x82, 0x00, p2, 0x28];
    apdu.extend(terminal_cryptogram(
        suite, k_enc, k_mac, rnd_ifd, rnd_icc, k_ifd,
    ));
    apdu.push(0x28);
    let answer = card.process(&apdu);
    assert_eq!(sw(&answer), [0x90, 0x00], "MUTUAL AUTHENTICATE");
    let (e_icc, m_icc) = answer[..40].split_at(32);
    let mac = crypto::mac(suite, k_mac, &crypto::pad(e_icc, suite.block_size())).unwrap();
    assert_eq!(&mac, m_icc);
    let r = crypto::decrypt_cbc(suite, k_enc, &vec![0; suite.block_size()], e_icc).unwrap();
    assert_eq!(&r[..8], rnd_icc);
    assert_eq!(&r[8..16], rnd_ifd);
    let seed: Vec<u8> = r[16..32].iter().zip(k_ifd).map(|(a, b)| a ^ b).collect();
    let mut ssc = vec![0; suite.ssc_len() - 8];
    ssc.extend_from_slice(&rnd_icc[4..]);
    ssc.extend_from_slice(&rnd_ifd[4..]);
    Terminal {
        suite,
        ks_enc: crypto::kdf(suite, &seed, 1).expose().to_vec(),
        ks_mac: crypto::kdf(suite, &seed, 2).expose().to_vec(),
        ssc,
        encrypt,
    }
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match value.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(value);
    out
}

fn parse_tlvs(mut input: &[u8]) -> Vec<(u8, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let tag = input[0];
        let (len, header) = match input[1] {
            0x81 => (input[2] as usize, 3),
            0x82 => (((input[2] as usize) << 8) | input[3] as usize, 4),
            n => (n as usize, 2),
        };
        out.push((
            tag,
            input[header..header + len].to_vec(),
            input[..header + len].to_vec(),
        ));
        input = &input[header + len..];
    }
    out
}

impl Terminal {
    fn iv(&self) -> Vec<u8> {
        match self.suite {
            Suite::TripleDes => vec![0; 8],
            _ => crypto::encrypt_block(self.suite, &self.ks_enc, &self.ssc).unwrap(),
        }
    }

    /// A protected command: `data` goes in DO87 (encrypt) or DO81, `le` is the
    /// DO97 value (None: no DO97), `outer` the outer Le encoding: Some(false)
    /// short `00`, Some(true) extended `00 00`, None no Le.
    pub fn protect(
        &mut self,
        header: [u8; 4],
        data: &[u8],
        le: Option<&[u8]>,
        outer: Option<bool>,
    ) -> Vec<u8> {
        crypto::increment(&mut self.ssc);
        let block = self.suite.block_size();
        let header = [header[0] | 0x0C, header[1], header[2], header[3]];
        let mut dos = Vec::new();
        if !data.is_empty() {
            if self.encrypt {
                let c = crypto::encrypt_cbc(
                    self.suite,
                    &self.ks_enc,
                    &self.iv(),
                    &crypto::pad(data, block),
                )
                .unwrap();
                dos.extend(tlv(0x87, &[vec![0x01], c].concat()));
            } else {
                dos.extend(tlv(0x81, data));
            }
        }
        if let Some(le) = le {
            dos.extend(tlv(0x97, le));
        }
        let mut input = self.ssc.clone();
        input.extend(crypto::pad(&header, block));
        input.extend(&dos);
        let mac = crypto::mac(self.suite, &self.ks_mac, &crypto::pad(&input, block)).unwrap();
        dos.extend(tlv(0x8E, &mac));
        let mut apdu = header.to_vec();
        match outer {
            Some(true) => {
                apdu.extend([0, (dos.len() >> 8) as u8, dos.len() as u8]);
                apdu.extend(&dos);
                apdu.extend([0, 0]);
            }
            _ => {
                apdu.push(dos.len() as u8);
                apdu.extend(&dos);
                if outer.is_some() {
                    apdu.push(0);
                }
            }
        }
        apdu
    }

    /// Verifies a protected response; returns the plain data and DO99's SW.
    pub fn unprotect(&mut self, response: &[u8]) -> (Vec<u8>, [u8; 2]) {
        crypto::increment(&mut self.ssc);
        let block = self.suite.block_size();
        let body = &response[..response.len() - 2];
        let dos = parse_tlvs(body);
        let mac_do = dos.last().unwrap();
        assert_eq!(mac_do.0, 0x8E, "DO8E last");
        let mut input = self.ssc.clone();
        for (_, _, raw) in &dos[..dos.len() - 1] {
            input.extend(raw);
        }
        let mac = crypto::mac(self.suite, &self.ks_mac, &crypto::pad(&input, block)).unwrap();
        assert_eq!(mac.to_vec(), mac_do.1, "response MAC");
        let mut data = Vec::new();
        let mut status = None;
        for (tag, value, _) in &dos[..dos.len() - 1] {
            match tag {
                0x87 => {
                    assert!(self.encrypt, "DO87 on a MAC-mode channel");
                    assert_eq!(value[0], 0x01);
                    let p = crypto::decrypt_cbc(self.suite, &self.ks_enc, &self.iv(), &value[1..])
                        .unwrap();
                    data = crypto::unpad(&p).unwrap().to_vec();
                }
                0x81 => {
                    assert!(!self.encrypt, "DO81 on an encryption-mode channel");
                    data = value.clone();
                }
                0x99 => status = Some([value[0], value[1]]),
                other => panic!("unexpected DO {other:02X}"),
            }
        }
        let status = status.expect("DO99");
        assert_eq!(status, sw(response), "outer SW equals DO99");
        (data, status)
    }
}
