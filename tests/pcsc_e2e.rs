//! End to end through the real PC/SC stack: `PcscTransport` → libpcsclite →
//! pcscd → the vsmartcard `vpcd` reader → `cardap_sim::vpcd::VpcdServer` →
//! a small test card.
//!
//! Needs pcscd with vpcd running, so the tests are ignored by default and
//! `scripts/test.sh` runs them:
//!
//! ```sh
//! bash scripts/pcscd-up.sh
//! cargo test -p cardap --features pcsc --test pcsc_e2e -- --include-ignored
//! bash scripts/pcscd-down.sh
//! ```
//!
//! All tests share the one vpcd slot (`Virtual PCD 00 00`); a lock keeps
//! them serial even without `--test-threads=1`.
// `cfg(test)` marks the whole file as test code, so clippy's test allowances
// (clippy.toml) cover the helpers too.
#![cfg(test)]
#![cfg(feature = "pcsc")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cardap::pcsc::{PcscOptions, PcscTransport, ReaderMonitor};
use cardap::transport::{Transport, TransportError};
use cardap_sim::vpcd::{CardSide, VpcdHandle, VpcdServer};

const READER: &str = "Virtual PCD 00 00";
/// T=1, historical bytes with card capabilities 94 01 40: extended length.
const ATR: [u8; 10] = [0x3B, 0x85, 0x81, 0x01, 0x80, 0x73, 0x94, 0x01, 0x40, 0x23];
const SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x43, 0x00, 0x01,
];
const OK: [u8; 2] = [0x90, 0x00];
const WAIT: Duration = Duration::from_secs(15);

static SLOT: Mutex<()> = Mutex::new(());

/// Answers SELECT by DF name with 90 00, echoes the data of `80 CA`, and
/// answers `80 CB 00 00 Le` with `Ne` pattern bytes.
struct TestCard;

impl CardSide for TestCard {
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let ok = |mut data: Vec<u8>| {
            data.extend_from_slice(&OK);
            data
        };
        match apdu {
            [0x00, 0xA4, 0x04, 0x0C, ..] => OK.to_vec(),
            // Case 3: short `Lc data` or extended `00 Lc1 Lc2 data`.
            [0x80, 0xCA, _, _, 0, hi, lo, data @ ..]
                if data.len() == usize::from(u16::from_be_bytes([*hi, *lo])) =>
            {
                ok(data.to_vec())
            }
            [0x80, 0xCA, _, _, lc, data @ ..] if data.len() == usize::from(*lc) => {
                ok(data.to_vec())
            }
            // Case 2: short `Le` (00: 256) or extended `00 Le1 Le2` (00 00: 65 536).
            [0x80, 0xCB, _, _, le] => ok(pattern(if *le == 0 { 256 } else { usize::from(*le) })),
            [0x80, 0xCB, _, _, 0, hi, lo] => {
                let ne = match u16::from_be_bytes([*hi, *lo]) {
                    0 => 65_536,
                    n => usize::from(n),
                };
                ok(pattern(ne.min(65_533)))
            }
            _ => vec![0x6D, 0x00],
        }
    }
    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }
    fn power_off(&mut self) {}
    fn reset(&mut self) {}
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `80 CA 00 00 Lc data`, in extended form when the data need it.
fn echo(data: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x80, 0xCA, 0x00, 0x00];
    match u8::try_from(data.len()) {
        Ok(n) => apdu.push(n),
        Err(_) => {
            apdu.push(0);
            apdu.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
        }
    }
    apdu.extend_from_slice(data);
    apdu
}

/// A virtual card served through vpcd for the length of one test.
struct Harness {
    stop: Arc<AtomicBool>,
    handle: VpcdHandle,
    thread: Option<JoinHandle<()>>,
    _slot: MutexGuard<'static, ()>,
}

impl Harness {
    /// Starts the test card and waits until pcscd sees it.
    fn start() -> Self {
        Self::serving(TestCard)
    }

    /// Serves `card` and waits until pcscd sees it.
    fn serving(mut card: impl CardSide + 'static) -> Self {
        let slot = SLOT.lock().unwrap_or_else(|e| e.into_inner());
        let server = VpcdServer::default();
        let handle = server.handle();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            server.serve(&mut card, &flag, None).unwrap();
        });
        let found = PcscTransport::wait_for_card(Some(READER), Some(WAIT)).unwrap();
        assert_eq!(found.name, READER);
        Self {
            stop,
            handle,
            thread: Some(thread),
            _slot: slot,
        }
    }

    fn connect(&self) -> PcscTransport {
        PcscTransport::connect(Some(READER)).unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // The next test must not see this card as still present.
        let _ = PcscTransport::wait_for_removal(READER, Some(WAIT));
    }
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn atr_listing_and_round_trip() {
    let h = Harness::start();
    let readers = PcscTransport::list_readers().unwrap();
    let ours = readers.iter().find(|r| r.name == READER).unwrap();
    assert!(ours.card_present);
    assert_eq!(ours.atr.as_deref(), Some(&ATR[..]));

    // Case-insensitive choice of the reader.
    let mut t = PcscTransport::connect(Some("virtual pcd 00 00")).unwrap();
    assert_eq!(t.reader_name(), READER);
    assert_eq!(t.atr(), Some(ATR.to_vec()));
    assert!(t.supports_extended());
    assert_eq!(t.transmit(&SELECT).unwrap(), OK);
    assert_eq!(t.transmit(&echo(b"hello")).unwrap(), b"hello\x90\x00");
    drop(t);

    // `None` takes the first reader with a card: ours.
    let t = h.connect();
    assert_eq!(
        PcscTransport::connect(None).unwrap().reader_name(),
        t.reader_name()
    );
}

/// SELECT round trips through pcscd: far below the 44 ms delayed-ACK stall
/// that a card without TCP_QUICKACK suffers (PCSC.md). Prints the timings.
#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn select_round_trip_has_no_delayed_ack_stall() {
    let h = Harness::start();
    let mut t = h.connect();
    for _ in 0..50 {
        t.transmit(&SELECT).unwrap();
    }
    let mut times: Vec<Duration> = (0..2_000)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(t.transmit(&SELECT).unwrap(), OK);
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    println!("SELECT round trip through pcscd+vpcd: median {median:?}, p99 {p99:?}, n = 2000");
    assert!(median < Duration::from_millis(20), "median {median:?}");
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn extended_length_both_ways() {
    let h = Harness::start();
    let mut t = h.connect();
    // Case 2E: Le = EA 60 asks for 60 000 bytes.
    let response = t
        .transmit(&[0x80, 0xCB, 0x00, 0x00, 0x00, 0xEA, 0x60])
        .unwrap();
    assert_eq!(response.len(), 60_002);
    assert_eq!(&response[..60_000], pattern(60_000));
    assert_eq!(&response[60_000..], OK);
    // Case 3E: 3 000 data bytes up, echoed back.
    let data = pattern(3_000);
    let response = t.transmit(&echo(&data)).unwrap();
    assert_eq!(&response[..3_000], data);
    assert_eq!(&response[3_000..], OK);
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn short_only_reader_refuses_extended() {
    let _h = Harness::start();
    let options = PcscOptions::default().extended_length(false);
    let mut t = PcscTransport::connect_with(Some(READER), options).unwrap();
    assert!(!t.supports_extended());
    assert!(matches!(
        t.transmit(&[0x80, 0xCB, 0x00, 0x00, 0x00, 0xEA, 0x60]),
        Err(TransportError::NotCarried(_))
    ));
    let response = t.transmit(&[0x80, 0xCB, 0x00, 0x00, 0xFF]).unwrap();
    assert_eq!(response.len(), 257);
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn transaction_runs_and_nests() {
    let h = Harness::start();
    let mut t = h.connect();
    let mut seen = Vec::new();
    t.transaction(&mut |card| {
        seen.push(card.transmit(&SELECT));
        assert_eq!(card.atr(), Some(ATR.to_vec()));
        // Already inside: a nested transaction runs on the same handle.
        card.transaction(&mut |inner| seen.push(inner.transmit(&echo(&[1, 2, 3]))))
            .unwrap();
    })
    .unwrap();
    assert_eq!(seen, [Ok(OK.to_vec()), Ok(vec![1, 2, 3, 0x90, 0x00])]);
    // The card is usable outside the transaction afterwards.
    assert_eq!(t.transmit(&SELECT).unwrap(), OK);
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn removal_mid_loop_then_reinsertion() {
    let h = Harness::start();
    let mut t = h.connect();
    let remover = {
        let handle = h.handle.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            handle.remove();
        })
    };
    let started = Instant::now();
    let mut exchanges = 0u32;
    let error = loop {
        match t.transmit(&echo(&[0x5A; 16])) {
            Ok(r) => assert_eq!(r.len(), 18),
            Err(e) => break e,
        }
        exchanges += 1;
        assert!(started.elapsed() < WAIT, "no failure after removal");
    };
    remover.join().unwrap();
    println!(
        "removal seen after {exchanges} exchanges, {:?} after the loop started",
        started.elapsed()
    );
    assert!(exchanges > 0);
    assert_eq!(error, TransportError::CardRemoved);
    // The stale handle keeps saying so.
    assert!(t.transmit(&SELECT).unwrap_err().loses_card_state());

    PcscTransport::wait_for_removal(READER, Some(WAIT)).unwrap();
    assert_eq!(
        PcscTransport::connect(Some(READER)).unwrap_err(),
        TransportError::NoCard
    );

    h.handle.insert();
    PcscTransport::wait_for_card(Some(READER), Some(WAIT)).unwrap();
    let mut again = h.connect();
    assert_eq!(again.transmit(&SELECT).unwrap(), OK);
    assert!(t.transmit(&SELECT).unwrap_err().loses_card_state());
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn removal_inside_a_transaction() {
    let h = Harness::start();
    let mut t = h.connect();
    let handle = h.handle.clone();
    let mut inner_error = None;
    let result = t.transaction(&mut |card| {
        for i in 0..100_000u32 {
            if i == 20 {
                handle.remove();
            }
            if let Err(e) = card.transmit(&SELECT) {
                inner_error = Some(e);
                return;
            }
        }
    });
    assert_eq!(inner_error, Some(TransportError::CardRemoved));
    if let Err(e) = result {
        assert!(e.loses_card_state(), "{e:?}");
    }
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn reset_by_another_handle_reports_card_reset() {
    let h = Harness::start();
    let mut a = h.connect();
    let mut b = h.connect();
    assert_eq!(a.transmit(&SELECT).unwrap(), OK);

    b.reset_card().unwrap();
    assert_eq!(a.transmit(&SELECT), Err(TransportError::CardReset));
    // Reconnected: the next command goes through (the caller re-SELECTs).
    assert_eq!(a.transmit(&SELECT).unwrap(), OK);

    b.reset_card().unwrap();
    let mut ran = false;
    assert_eq!(
        a.transaction(&mut |_| ran = true),
        Err(TransportError::CardReset)
    );
    assert!(!ran);
    a.transaction(&mut |card| ran = card.transmit(&SELECT).is_ok())
        .unwrap();
    assert!(ran);
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn waits_time_out_and_cancel() {
    let h = Harness::start();
    h.handle.remove();
    PcscTransport::wait_for_removal(READER, Some(WAIT)).unwrap();

    let started = Instant::now();
    assert_eq!(
        PcscTransport::wait_for_card(Some(READER), Some(Duration::from_millis(300))),
        Err(TransportError::Timeout)
    );
    assert!(started.elapsed() >= Duration::from_millis(250));

    let monitor = ReaderMonitor::new().unwrap();
    let canceller = monitor.canceller();
    let cancel = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        canceller.cancel().unwrap();
    });
    assert_eq!(
        monitor.wait_for_card(Some(READER), None),
        Err(TransportError::Cancelled)
    );
    cancel.join().unwrap();

    // Insertion wakes a waiter without polling.
    let inserter = {
        let handle = h.handle.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            handle.insert();
        })
    };
    let found = monitor.wait_for_card(Some(READER), Some(WAIT)).unwrap();
    inserter.join().unwrap();
    assert_eq!(found.atr.as_deref(), Some(&ATR[..]));
}

#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn unknown_reader_is_reader_unavailable() {
    let _h = Harness::start();
    assert!(matches!(
        PcscTransport::connect(Some("no such reader")),
        Err(TransportError::ReaderUnavailable(m)) if m.contains(READER)
    ));
}

/// A read costs exactly `SCardBeginTransaction`, one `SCardTransmit` per
/// command APDU and `SCardEndTransaction`: no `SCardStatus` for the ATR, no
/// reader-state query, for every AP type, with and without extended length.
/// After a reset by another handle the next read reconnects once and reads
/// the ATR again, then reads cost the minimum again.
#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn a_read_costs_only_its_transaction_and_transmits() {
    use cardap::pcsc::PcscCalls;
    use cardap::{Card as Reader, Profile};
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let card = cardap_sim::VirtualCard::from_file(demo.join("cards/demo.toml")).unwrap();
    let h = Harness::serving(card);
    for profile in ["library", "kiosk", "evacuee"] {
        let text = std::fs::read_to_string(demo.join(format!("profiles/{profile}.toml"))).unwrap();
        for extended in [true, false] {
            let text = format!("extended_length = {extended}\n{text}");
            let profile = Profile::from_toml_str(&text).unwrap();
            let mut reader = Reader::new(h.connect());
            let at_connect = reader.transport().calls();
            assert_eq!(at_connect.status, 1, "{at_connect:?}");
            for _ in 0..3 {
                let before = reader.transport().calls();
                let record = reader.read(&profile).unwrap();
                let spent = reader.transport().calls().since(&before);
                let mut expected = PcscCalls::default();
                expected.begin_transaction = 1;
                expected.transmit = record.apdus() as u64;
                expected.end_transaction = 1;
                assert_eq!(spent, expected, "{} extended={extended}", profile.name());
                assert_eq!(spent.total(), record.apdus() as u64 + 2);
            }
        }
    }

    // A reset by another party: one reconnect and one ATR refresh, once.
    let profile = Profile::from_file(demo.join("profiles/library.toml")).unwrap();
    let mut reader = Reader::new(h.connect());
    let mut other = h.connect();
    other.reset_card().unwrap();
    let before = reader.transport().calls();
    let record = reader.read(&profile).unwrap();
    let spent = reader.transport().calls().since(&before);
    assert_eq!(spent.reconnect, 1, "{spent:?}");
    assert_eq!(spent.status, 1, "{spent:?}");
    assert_eq!(spent.transmit, record.apdus() as u64, "{spent:?}");
    let before = reader.transport().calls();
    let record = reader.read(&profile).unwrap();
    assert_eq!(
        reader.transport().calls().since(&before).total(),
        record.apdus() as u64 + 2
    );
}

/// A virtual card that loses its state (a warm reset: no secure channel, no
/// selection) just before the k-th APDU after it was armed (`countdown = k`).
struct ResetAt {
    card: cardap_sim::VirtualCard,
    countdown: Arc<std::sync::atomic::AtomicUsize>,
}

impl CardSide for ResetAt {
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let n = self.countdown.load(Ordering::SeqCst);
        if n > 0 {
            self.countdown.store(n - 1, Ordering::SeqCst);
            if n == 1 {
                self.card.reset();
            }
        }
        self.card.process(apdu)
    }
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }
    fn power_off(&mut self) {
        self.card.power_off();
    }
    fn reset(&mut self) {
        self.card.reset();
    }
}

/// A card reset at every APDU of every read through pcscd (the card loses
/// its security state mid-read): the read returns a typed error or the very
/// record of a clean read, never other data, and the next read on the same
/// handle succeeds. (A reset by another PC/SC handle is
/// `reset_by_another_handle_reports_card_reset` and
/// `a_read_costs_only_its_transaction_and_transmits`.)
#[test]
#[ignore = "needs pcscd with the vpcd reader: bash scripts/pcscd-up.sh, then --include-ignored"]
fn a_reset_at_every_apdu_gives_a_typed_error_or_the_same_data_then_reads_again() {
    use cardap::{Card as Reader, Profile};
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let countdown = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let card = cardap_sim::VirtualCard::from_file(examples.join("cards/demo.toml")).unwrap();
    let h = Harness::serving(ResetAt {
        card,
        countdown: Arc::clone(&countdown),
    });
    for name in ["library", "kiosk", "evacuee"] {
        let profile = Profile::from_file(examples.join(format!("profiles/{name}.toml"))).unwrap();
        let mut reader = Reader::new(h.connect());
        let clean = reader.read(&profile).unwrap();
        for k in 1..=clean.apdus() {
            countdown.store(k, Ordering::SeqCst);
            match reader.read(&profile) {
                Ok(rec) => {
                    assert_eq!(rec.user_id(), clean.user_id(), "{name} k={k}: other data");
                    assert!(rec.info().eq(clean.info()), "{name} k={k}: other data");
                    assert_eq!(rec.data(), clean.data(), "{name} k={k}: other data");
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
            countdown.store(0, Ordering::SeqCst);
            let again = reader
                .read(&profile)
                .unwrap_or_else(|e| panic!("{name} after a reset at k={k}: {e}"));
            assert_eq!(again.user_id(), clean.user_id());
        }
    }
}
