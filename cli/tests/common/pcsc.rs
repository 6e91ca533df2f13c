//! The harness of the tests through pcscd: the test reader, one test at a
//! time, waits for insertion and removal, and a virtual card that is pulled
//! out while it processes its k-th APDU.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cardap::pcsc::PcscTransport;
use cardap_sim::VirtualCard;
use cardap_sim::vpcd::{CardSide, VpcdHandle};

/// The vpcd reader the tests use, and the port its card connects to.
pub const READER: &str = "Virtual PCD 00 01";
pub const PORT: u16 = 35964;
/// How long a card may take to appear or go.
pub const WAIT: Duration = Duration::from_secs(15);

static LOCK: Mutex<()> = Mutex::new(());

/// One test at a time on the one pcscd.
pub fn serial() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn wait_for_card() {
    PcscTransport::wait_for_card(Some(READER), Some(WAIT))
        .expect("card did not appear in the reader");
}

pub fn wait_for_removal() {
    PcscTransport::wait_for_removal(READER, Some(WAIT)).expect("card was not removed");
}

/// SIGTERM, then the process must exit cleanly.
pub fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "cardap stopped uncleanly: {status}");
}

/// A virtual card pulled out while it processes its `at`-th APDU (counted
/// from power-on). It counts the commands that changed it (`changing`) and
/// the VERIFY commands that carried a PIN (`verifies`).
pub struct PulledAt {
    pub card: VirtualCard,
    pub at: Arc<AtomicUsize>,
    pub seen: usize,
    pub changing: Arc<AtomicUsize>,
    pub verifies: Arc<AtomicUsize>,
    pub handle: VpcdHandle,
}

impl PulledAt {
    /// Pulled at `at`, with counters of its own.
    pub fn new(card: VirtualCard, at: Arc<AtomicUsize>, handle: VpcdHandle) -> Self {
        Self {
            card,
            at,
            seen: 0,
            changing: Arc::default(),
            verifies: Arc::default(),
            handle,
        }
    }
}

impl CardSide for PulledAt {
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.seen += 1;
        if apdu.get(..3) == Some(&[0x00, 0x20, 0x00]) && apdu.len() > 4 {
            self.verifies.fetch_add(1, Ordering::SeqCst);
        }
        if self.seen == self.at.load(Ordering::SeqCst) {
            self.handle.remove();
        }
        let before = self.card.changes();
        let response = self.card.process(apdu);
        if self.card.changes() != before {
            self.changing.fetch_add(1, Ordering::SeqCst);
        }
        response
    }
    fn atr(&self) -> Vec<u8> {
        self.card.atr()
    }
    fn power_off(&mut self) {
        self.seen = 0;
        self.card.power_off();
    }
    fn reset(&mut self) {
        self.seen = 0;
        self.card.reset();
    }
}
