//! The card's public APs (JPKI, kenhojo) end to end through the real PC/SC
//! stack: `cardap sim` serves `examples/cards/public.toml` to pcscd's vpcd
//! reader and the `cardap` commands read it with `--reader`. Round trips are
//! counted from the simulator's APDU log; signatures are checked with the
//! `openssl` command.
//!
//! Needs pcscd with vpcd (`bash scripts/pcscd-up.sh`) and `openssl`, so the
//! tests are ignored by default; `scripts/test.sh` runs them.
#![cfg(test)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cardap::pcsc::PcscTransport;
use cardap::public::{Certificate, HashAlg, KenhojoRequest, Pin, PinKind, SigningKey};
use cardap::{Card, Error};
use cardap_sim::vpcd::VpcdServer;
use common::pcsc::{PORT, PulledAt, READER, WAIT, root, serial};

mod common;
use cardap_sim::{Description, JpkiCertificate, VirtualCard};
use rsa::pkcs8::EncodePublicKey;

fn card_path() -> PathBuf {
    root().join("examples/cards/public.toml")
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("cardap-public-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cardap() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cardap"));
    c.current_dir(root());
    c
}

/// `cardap sim` with an APDU log, for as long as it lives.
struct Sim {
    child: Child,
    log: PathBuf,
}

impl Sim {
    fn start(card: &Path, name: &str) -> Self {
        let log = dir().join(format!("{name}.log"));
        let _ = std::fs::remove_file(&log);
        let child = cardap()
            .args(["sim", "--port", &PORT.to_string(), "--card"])
            .arg(card)
            .arg("--log")
            .arg(&log)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sim = Self { child, log };
        PcscTransport::wait_for_card(Some(READER), Some(WAIT)).expect("card did not appear");
        sim
    }

    /// Command APDUs the card has answered so far.
    fn apdus(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("APDU "))
            .count()
    }

    /// Log lines of VERIFY commands with data (`00 20 00 xx` longer than 4 bytes).
    fn verifies_with_data(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("APDU 00 20 00") && !l.contains("(4 bytes)"))
            .count()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = PcscTransport::wait_for_removal(READER, Some(WAIT));
    }
}

/// Runs `cardap ARGS --reader R` with `PIN` in the environment.
fn run(args: &[&str], pin: Option<&str>) -> Output {
    let mut c = cardap();
    c.args(args).args(["--reader", READER]);
    if let Some(pin) = pin {
        c.env("CARDAP_TEST_PIN", pin)
            .args(["--pin-env", "CARDAP_TEST_PIN"]);
    }
    c.output().unwrap()
}

fn ok(out: &Output) -> &[u8] {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    &out.stdout
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(ok(out)).unwrap()
}

/// Runs a command and returns its output and the APDUs it cost.
fn counted(sim: &Sim, args: &[&str], pin: Option<&str>) -> (Output, usize) {
    let before = sim.apdus();
    let out = run(args, pin);
    // The log is line-buffered by the simulator: give it a moment.
    std::thread::sleep(Duration::from_millis(50));
    (out, sim.apdus() - before)
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap()
}

#[test]
#[ignore = "needs pcscd with the vpcd reader and openssl: bash scripts/pcscd-up.sh, then --include-ignored"]
fn every_public_command_through_pcscd() {
    let _lock = serial();
    let description = Description::from_file(card_path()).unwrap();
    let jpki = description.jpki().unwrap();
    let sim = Sim::start(&card_path(), "public");
    let d = dir();

    // info
    let v = json(&run(&["info"], None));
    assert_eq!(v["card"], "mynumber");
    assert_eq!(v["token"], "JPKIAPICCTOKEN2");
    assert_eq!(v["aps"][0]["aid"], "F0434152444150430001");

    // pin-status: no try spent, at most 8 round trips.
    let (out, n) = counted(&sim, &["pin-status"], None);
    assert_eq!(
        json(&out),
        serde_json::json!({"jpki_auth": 3, "jpki_sign": 5, "kenhojo": 3})
    );
    assert!(n <= 8, "pin-status: {n} round trips");
    println!("round trips: pin-status {n}");

    // Certificates: extended (≤ 3) and short (≤ 2 + ⌈N/256⌉).
    let auth = jpki.certificate(JpkiCertificate::Auth);
    let der_path = d.join("auth.der");
    let (out, n) = counted(
        &sim,
        &[
            "jpki",
            "cert",
            "auth",
            "--der",
            "-o",
            der_path.to_str().unwrap(),
        ],
        None,
    );
    ok(&out);
    assert_eq!(std::fs::read(&der_path).unwrap(), auth);
    assert!(n <= 3, "auth certificate, extended: {n}");
    println!(
        "round trips: auth certificate ({} bytes) extended {n}",
        auth.len()
    );
    let (out, n) = counted(&sim, &["jpki", "cert", "auth", "--der", "--short"], None);
    assert_eq!(ok(&out), auth);
    let bound = 2 + auth.len().div_ceil(256);
    assert!(n <= bound, "auth certificate, short: {n} > {bound}");
    println!("round trips: auth certificate short {n}");
    for (which, cert) in [
        ("auth-ca", JpkiCertificate::AuthCa),
        ("sign-ca", JpkiCertificate::SignCa),
    ] {
        let pem = d.join(format!("{which}.pem"));
        ok(&run(
            &["jpki", "cert", which, "-o", pem.to_str().unwrap()],
            None,
        ));
        let der = openssl(&["x509", "-in", pem.to_str().unwrap(), "-outform", "DER"]);
        assert_eq!(ok(&der), jpki.certificate(cert));
    }
    // The signature certificate needs the signature PIN.
    let out = run(&["jpki", "cert", "sign"], None);
    assert_eq!(out.status.code(), Some(2));
    let sign_pem = d.join("sign.pem");
    ok(&run(
        &["jpki", "cert", "sign", "-o", sign_pem.to_str().unwrap()],
        Some("sample1"),
    ));
    let auth_pem = d.join("auth.pem");
    ok(&run(
        &["jpki", "cert", "auth", "-o", auth_pem.to_str().unwrap()],
        None,
    ));
    // Each holder certificate verifies against its CA.
    for (cert, ca) in [("auth.pem", "auth-ca.pem"), ("sign.pem", "sign-ca.pem")] {
        let out = openssl(&[
            "verify",
            "-CAfile",
            d.join(ca).to_str().unwrap(),
            d.join(cert).to_str().unwrap(),
        ]);
        ok(&out);
    }

    // Signatures: ≤ 6 round trips; verified by openssl with the certificate key.
    let msg = d.join("message.txt");
    std::fs::write(&msg, "署名する文書\n").unwrap();
    for (key, pin, cert) in [("auth", "1234", &auth_pem), ("sign", "SAMPLE1", &sign_pem)] {
        let pubkey = d.join(format!("{key}.pub.pem"));
        let out = openssl(&["x509", "-in", cert.to_str().unwrap(), "-pubkey", "-noout"]);
        std::fs::write(&pubkey, ok(&out)).unwrap();
        for hash in ["sha256", "sha1", "sha384", "sha512"] {
            let sig = d.join(format!("{key}.{hash}.sig"));
            let (out, n) = counted(
                &sim,
                &[
                    "jpki",
                    "sign",
                    key,
                    "--hash",
                    hash,
                    "-o",
                    sig.to_str().unwrap(),
                    msg.to_str().unwrap(),
                ],
                Some(pin),
            );
            ok(&out);
            assert!(n <= 6, "sign {key} {hash}: {n}");
            let verified = openssl(&[
                "dgst",
                &format!("-{hash}"),
                "-verify",
                pubkey.to_str().unwrap(),
                "-signature",
                sig.to_str().unwrap(),
                msg.to_str().unwrap(),
            ]);
            ok(&verified);
        }
        // Hex on stdout without -o.
        let out = run(&["jpki", "sign", key, msg.to_str().unwrap()], Some(pin));
        let text = String::from_utf8(ok(&out).to_vec()).unwrap();
        assert_eq!(hex::decode(text.trim()).unwrap().len(), 256);
    }
    println!("round trips: any signature ≤ 6");

    // kenhojo: four facts with PIN, count checked first, ≤ 5 with SFI.
    let (out, n) = counted(&sim, &["kenhojo"], Some("1234"));
    let v = json(&out);
    assert_eq!(
        v,
        serde_json::json!({
            "name": "見本　太郎",
            "address": "東京都千代田区霞が関二丁目一番二号　見本ビル三階",
            "birth_date": "1980-04-01",
            "sex": "male"
        })
    );
    assert!(n <= 5, "kenhojo: {n}");
    println!("round trips: four facts with PIN (SFI) {n}");
    let key = d.join("kenhojo-signer.pem");
    let pem = description
        .kenhojo()
        .unwrap()
        .signer_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    std::fs::write(&key, pem).unwrap();
    let v = json(&run(
        &[
            "kenhojo",
            "--my-number",
            "--verify",
            "--verify-key",
            key.to_str().unwrap(),
        ],
        Some("1234"),
    ));
    assert_eq!(v["my_number"], "123456789018");
    assert_eq!(
        v["verification"],
        serde_json::json!({"facts_digest": "ok", "my_number_digest": "ok", "signature": "valid"})
    );
    let v = json(&run(&["kenhojo", "--verify"], Some("1234")));
    assert_eq!(v["verification"]["signature"], "not_checked");
    assert!(v.get("my_number").is_none());
    // A wrong key is an integrity failure (exit 6).
    let out = run(
        &[
            "kenhojo",
            "--verify",
            "--verify-key",
            auth_pem.to_str().unwrap(),
        ],
        Some("1234"),
    );
    assert_eq!(out.status.code(), Some(6));

    // Malformed PIN: refused before sending anything.
    let (out, n) = counted(&sim, &["kenhojo"], Some("12345"));
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(n, 0);

    // Wrong PIN: one line with the tries left; the floor keeps the last try.
    let verifies = sim.verifies_with_data();
    let out = run(&["kenhojo"], Some("0000"));
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("2 tries left"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
    assert!(!err.contains("0000"));
    let out = run(&["kenhojo"], Some("0000"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 try left"));
    let (out, n) = counted(&sim, &["kenhojo"], Some("1234"));
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("floor"));
    assert!(n <= 2, "no VERIFY under the floor: {n}");
    assert_eq!(
        sim.verifies_with_data(),
        verifies + 2,
        "each VERIFY sent once"
    );
    assert_eq!(json(&run(&["pin-status"], None))["kenhojo"], 1);
    // Explicit opt-in: the last try, right PIN, counter back to 3.
    json(&run(&["kenhojo", "--allow-last-try"], Some("1234")));
    assert_eq!(json(&run(&["pin-status"], None))["kenhojo"], 3);

    // Blocking the authentication PIN takes the explicit opt-in.
    for _ in 0..2 {
        let out = run(
            &["jpki", "sign", "auth", msg.to_str().unwrap()],
            Some("9999"),
        );
        assert_eq!(out.status.code(), Some(6));
    }
    let out = run(
        &["jpki", "sign", "auth", msg.to_str().unwrap()],
        Some("9999"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("floor"));
    let out = run(
        &[
            "jpki",
            "sign",
            "auth",
            "--allow-last-try",
            msg.to_str().unwrap(),
        ],
        Some("9999"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 tries left"));
    assert_eq!(json(&run(&["pin-status"], None))["jpki_auth"], 0);
    let out = run(
        &[
            "jpki",
            "sign",
            "auth",
            "--allow-last-try",
            msg.to_str().unwrap(),
        ],
        Some("1234"),
    );
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("blocked"));
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn kenhojo_on_a_card_that_refuses_sfi_through_pcscd() {
    let _lock = serial();
    let text = std::fs::read_to_string(card_path())
        .unwrap()
        .replace("[kenhojo]\n", "[kenhojo]\nsfi = false\n")
        .replace("[jpki]\n", "[jpki]\nsfi = false\n");
    let card = dir().join("no-sfi.toml");
    std::fs::write(&card, text).unwrap();
    let sim = Sim::start(&card, "no-sfi");
    let (out, n) = counted(&sim, &["kenhojo"], Some("1234"));
    assert_eq!(json(&out)["sex"], "male");
    // SELECT AP, refused SFI count, SELECT PIN EF, count, VERIFY, SELECT EF, READ.
    assert!(n <= 7, "{n}");
    println!("round trips: four facts with PIN (SELECT EF, SFI refused once) {n}");
    // In one process the refusal is remembered: ≤ 6 from the second read.
    let mut aps = Card::new(PcscTransport::connect(Some(READER)).unwrap());
    let pin = Pin::new(PinKind::Kenhojo, b"1234").unwrap();
    aps.kenhojo(&pin, &KenhojoRequest::default()).unwrap();
    let before = sim.apdus();
    aps.kenhojo(&pin, &KenhojoRequest::default()).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let n = sim.apdus() - before;
    assert!(n <= 6, "{n}");
    println!("round trips: four facts with PIN (SELECT EF, remembered) {n}");
}

type Op = fn(&mut Card<PcscTransport>) -> Result<usize, Error>;

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn a_card_pulled_at_every_apdu_of_every_public_operation() {
    let _lock = serial();
    let server = VpcdServer::new("127.0.0.1", PORT);
    let handle = server.handle();
    let at = Arc::new(AtomicUsize::new(0));
    let verifies = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let serving = {
        let (at, stop, handle, verifies) = (
            Arc::clone(&at),
            Arc::clone(&stop),
            handle.clone(),
            Arc::clone(&verifies),
        );
        let card = VirtualCard::from_file(card_path()).unwrap();
        std::thread::spawn(move || {
            let mut side = PulledAt {
                verifies,
                ..PulledAt::new(card, at, handle)
            };
            server.serve(&mut side, &stop, None)
        })
    };
    let ops: Vec<(&str, Op)> = vec![
        ("info", |a| a.info().map(|i| i.aps.len())),
        ("pin-status", |a| {
            a.pin_status().map(|s| usize::from(s.kenhojo.unwrap_or(0)))
        }),
        ("cert auth", |a| {
            a.jpki_certificate(Certificate::Auth, None).map(|c| c.len())
        }),
        ("cert sign", |a| {
            let pin = Pin::new(PinKind::JpkiSign, b"SAMPLE1").unwrap();
            a.jpki_certificate(Certificate::Sign, Some(&pin))
                .map(|c| c.len())
        }),
        ("sign", |a| {
            let pin = Pin::new(PinKind::JpkiAuth, b"1234").unwrap();
            a.jpki_sign(SigningKey::Auth, &pin, HashAlg::Sha256, b"x")
                .map(|s| s.len())
        }),
        ("kenhojo", |a| {
            let pin = Pin::new(PinKind::Kenhojo, b"1234").unwrap();
            let r = KenhojoRequest {
                my_number: true,
                verify: true,
                verify_key: None,
            };
            a.kenhojo(&pin, &r).map(|d| d.facts.name().len())
        }),
    ];
    for (name, op) in ops {
        PcscTransport::wait_for_card(Some(READER), Some(WAIT)).unwrap();
        let mut aps = Card::new(PcscTransport::connect(Some(READER)).unwrap());
        let want = op(&mut aps).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rounds = aps.last_public_apdus();
        drop(aps);
        for k in 1..=rounds {
            PcscTransport::wait_for_card(Some(READER), Some(WAIT)).unwrap();
            let before = verifies.load(Ordering::SeqCst);
            at.store(k, Ordering::SeqCst);
            let mut aps = Card::new(PcscTransport::connect(Some(READER)).unwrap());
            let err = op(&mut aps).expect_err("a pulled card returns no data");
            assert!(err.card_state_lost(), "{name} k={k}: {err:?}");
            assert!(
                verifies.load(Ordering::SeqCst) - before <= 1,
                "{name} k={k}: VERIFY sent twice"
            );
            PcscTransport::wait_for_removal(READER, Some(WAIT)).unwrap();
            at.store(0, Ordering::SeqCst);
            handle.insert();
            PcscTransport::wait_for_card(Some(READER), Some(WAIT)).unwrap();
            let mut aps = Card::new(PcscTransport::connect(Some(READER)).unwrap());
            let got = op(&mut aps).unwrap_or_else(|e| panic!("{name} after k={k}: {e}"));
            assert_eq!(got, want, "{name} after k={k}");
        }
    }
    stop.store(true, Ordering::SeqCst);
    serving.join().unwrap().unwrap();
    let _ = PcscTransport::wait_for_removal(READER, Some(WAIT));
}
