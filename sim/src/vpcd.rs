//! The card side of the vsmartcard `vpcd` protocol: puts a virtual card
//! behind a real PC/SC reader (`Virtual PCD 00 00` on TCP 35963).
//!
//! The card is the TCP *client*: vpcd (loaded by pcscd) listens, the card
//! connects. Frames both ways are a 2-byte big-endian length and the payload.
//! A 1-byte payload from vpcd is a control message — `00` power off, `01`
//! power on, `02` reset (no reply), `04` get ATR (reply: one frame holding the
//! ATR); any other payload is a command APDU, answered with one frame holding
//! the response APDU. Closing the connection is removing the card;
//! connecting is inserting it.
//!
//! Two details make it fast (the delayed-ACK stall of vpcd): vpcd
//! sends header and payload in two `send()` calls without `TCP_NODELAY`, so
//! the card sets `TCP_QUICKACK` after *every* read (the kernel clears it), and
//! writes each reply as one `write_all`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Asks the kernel to acknowledge at once (TCP_QUICKACK), so that each APDU
/// does not wait for a delayed ACK. Only Linux-like systems have the option;
/// elsewhere this does nothing.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_quickack(stream: &TcpStream) -> std::io::Result<()> {
    socket2::SockRef::from(stream).set_tcp_quickack(true)
}

/// Elsewhere there is no TCP_QUICKACK: nothing to do.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_quickack(_stream: &TcpStream) -> std::io::Result<()> {
    Ok(())
}

/// vpcd's default address: the first slot (`Virtual PCD 00 00`) of the
/// Debian build listens on 35963; the second (`… 00 01`) on 35964.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// vpcd's default port, see [`DEFAULT_HOST`].
pub const DEFAULT_PORT: u16 = 35963;

/// The largest payload one frame can hold.
const MAX_PAYLOAD: usize = u16::MAX as usize;

/// `6F 00`, no precise diagnosis: sent instead of a response that cannot be
/// framed (empty, which vpcd would read as a removal, or over 65 535 bytes).
const SW_NO_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

const CTRL_OFF: u8 = 0x00;
const CTRL_ON: u8 = 0x01;
const CTRL_RESET: u8 = 0x02;
const CTRL_ATR: u8 = 0x04;

/// What a card must do to sit behind vpcd. A virtual card (or a test double)
/// implements it; `cardap-sim`'s `VirtualCard` fits it as is.
pub trait CardSide: Send {
    /// Processes one command APDU and returns the response APDU (data ‖ SW).
    fn process(&mut self, apdu: &[u8]) -> Vec<u8>;
    /// The answer to reset.
    fn atr(&self) -> Vec<u8>;
    /// Power is cut (also on removal): volatile state is lost.
    fn power_off(&mut self);
    /// Warm reset (also used for power on): volatile state is lost.
    fn reset(&mut self);
}

/// Why the link to vpcd failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VpcdError {
    /// The host and port name no address.
    #[error("cannot resolve vpcd address {addr}: {source}")]
    Address {
        /// `host:port` as given.
        addr: String,
        /// What resolution said.
        source: io::Error,
    },
    /// vpcd did not accept the connection (pcscd down, vpcd not loaded).
    #[error("cannot connect to vpcd at {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// What the connect said.
        source: io::Error,
    },
    /// Reading or writing the link failed.
    #[error("vpcd link: {0}")]
    Io(#[from] io::Error),
}

/// How one connection (one insertion of the card) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEnd {
    /// The `stop` flag was set.
    Stopped,
    /// [`VpcdHandle::remove`] took the card out.
    Removed,
    /// vpcd closed the connection (pcscd stopped or restarted) or the link
    /// failed.
    Disconnected,
}

/// Shared state between a server and its [`VpcdHandle`]s.
#[derive(Debug)]
struct Shared {
    inserted: AtomicBool,
    connected: AtomicBool,
    connections: AtomicU64,
}

/// Takes the card out of and puts it back into the virtual reader while a
/// [`VpcdServer`] serves it, from any thread.
#[derive(Debug, Clone)]
pub struct VpcdHandle {
    shared: Arc<Shared>,
}

impl VpcdHandle {
    /// Removes the card: the server drops its connection (pcscd sees the
    /// removal at its next presence poll) and stays away until
    /// [`VpcdHandle::insert`].
    pub fn remove(&self) {
        self.shared.inserted.store(false, Ordering::SeqCst);
    }

    /// Inserts the card again: the server reconnects.
    pub fn insert(&self) {
        self.shared.inserted.store(true, Ordering::SeqCst);
    }

    /// Whether the card is meant to be in the reader.
    pub fn is_inserted(&self) -> bool {
        self.shared.inserted.load(Ordering::SeqCst)
    }

    /// Whether the server holds a connection to vpcd right now.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::SeqCst)
    }

    /// How many connections the server has made so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

/// Connects a [`CardSide`] to vpcd and serves it.
#[derive(Debug)]
pub struct VpcdServer {
    host: String,
    port: u16,
    poll: Duration,
    max_backoff: Duration,
    shared: Arc<Shared>,
}

impl Default for VpcdServer {
    /// The first vpcd slot on loopback.
    fn default() -> Self {
        Self::new(DEFAULT_HOST, DEFAULT_PORT)
    }
}

impl VpcdServer {
    /// A server for vpcd at `host:port`, card inserted.
    pub fn new(host: &str, port: u16) -> Self {
        Self {
            host: host.to_owned(),
            port,
            poll: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            shared: Arc::new(Shared {
                inserted: AtomicBool::new(true),
                connected: AtomicBool::new(false),
                connections: AtomicU64::new(0),
            }),
        }
    }

    /// A handle to remove and insert the card.
    pub fn handle(&self) -> VpcdHandle {
        VpcdHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Serves `card` until `stop` is set: connects (retrying with backoff,
    /// up to one second apart, while pcscd or vpcd is not up), serves, and
    /// reconnects when vpcd goes away (pcscd restart) or after the card is
    /// removed and inserted again. Returns within about 50 ms of `stop`.
    ///
    /// `log` gets one line per APDU — command header, lengths, status word,
    /// never data bytes — and one per connection event.
    pub fn serve(
        &self,
        card: &mut dyn CardSide,
        stop: &AtomicBool,
        log: Option<&mut dyn Write>,
    ) -> Result<(), VpcdError> {
        let mut log = log;
        let addr = self.resolve()?;
        let first_backoff = self.poll;
        let mut backoff = first_backoff;
        let mut reported_failure = false;
        while !stop.load(Ordering::SeqCst) {
            if !self.shared.inserted.load(Ordering::SeqCst) {
                std::thread::sleep(self.poll);
                continue;
            }
            match self.connect(addr) {
                Ok(stream) => {
                    backoff = first_backoff;
                    reported_failure = false;
                    match self.session(stream, card, stop, &mut log) {
                        Ok(SessionEnd::Stopped) => return Ok(()),
                        Ok(end) => note(&mut log, format_args!("session ended: {end:?}")),
                        Err(e) => note(&mut log, format_args!("session ended: {e}")),
                    }
                    // A vpcd that accepts and closes at once must not spin us.
                    self.sleep_unless(stop, self.poll);
                }
                Err(e) => {
                    if !reported_failure {
                        note(&mut log, format_args!("{e}; retrying"));
                        reported_failure = true;
                    }
                    self.sleep_unless(stop, backoff);
                    backoff = backoff.saturating_mul(2).min(self.max_backoff);
                }
            }
        }
        Ok(())
    }

    /// Connects once (no retry) and serves `card` until the connection ends;
    /// says how it ended.
    pub fn serve_once(
        &self,
        card: &mut dyn CardSide,
        stop: &AtomicBool,
        log: Option<&mut dyn Write>,
    ) -> Result<SessionEnd, VpcdError> {
        let mut log = log;
        let stream = self.connect(self.resolve()?)?;
        self.session(stream, card, stop, &mut log)
    }

    fn resolve(&self) -> Result<SocketAddr, VpcdError> {
        let text = format!("{}:{}", self.host, self.port);
        let not_found = || io::Error::new(io::ErrorKind::NotFound, "no address");
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .and_then(|mut addrs| addrs.next().ok_or_else(not_found))
            .map_err(|source| VpcdError::Address { addr: text, source })
    }

    fn connect(&self, addr: SocketAddr) -> Result<TcpStream, VpcdError> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .map_err(|source| VpcdError::Connect { addr, source })?;
        let setup = || -> io::Result<()> {
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(self.poll))?;
            stream.set_write_timeout(Some(Duration::from_secs(5)))?;
            set_quickack(&stream)
        };
        setup().map_err(|source| VpcdError::Connect { addr, source })?;
        self.shared.connections.fetch_add(1, Ordering::SeqCst);
        Ok(stream)
    }

    /// Serves one connection. Whatever ends it, the card loses power, as a
    /// card pulled from a reader does.
    fn session(
        &self,
        mut stream: TcpStream,
        card: &mut dyn CardSide,
        stop: &AtomicBool,
        log: &mut Option<&mut dyn Write>,
    ) -> Result<SessionEnd, VpcdError> {
        self.shared.connected.store(true, Ordering::SeqCst);
        note(log, format_args!("card inserted (connected to vpcd)"));
        let result = self.session_loop(&mut stream, card, stop, log);
        let _ = stream.shutdown(std::net::Shutdown::Both);
        drop(stream);
        self.shared.connected.store(false, Ordering::SeqCst);
        card.power_off();
        note(log, format_args!("card out (connection closed)"));
        result
    }

    fn session_loop(
        &self,
        stream: &mut TcpStream,
        card: &mut dyn CardSide,
        stop: &AtomicBool,
        log: &mut Option<&mut dyn Write>,
    ) -> Result<SessionEnd, VpcdError> {
        let mut frames = FrameReader::default();
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(SessionEnd::Stopped);
            }
            if !self.shared.inserted.load(Ordering::SeqCst) {
                return Ok(SessionEnd::Removed);
            }
            let frame = match frames.next_frame(stream) {
                Ok(Some(frame)) => frame,
                Ok(None) => continue,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok(SessionEnd::Disconnected);
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(reply) = handle_frame(card, &frame, log) {
                // Pulled out while it was working: the answer never leaves.
                if !self.shared.inserted.load(Ordering::SeqCst) {
                    return Ok(SessionEnd::Removed);
                }
                write_frame(stream, &reply)?;
            }
        }
    }

    fn sleep_unless(&self, stop: &AtomicBool, total: Duration) {
        let mut left = total;
        while !left.is_zero() && !stop.load(Ordering::SeqCst) {
            let step = left.min(self.poll);
            std::thread::sleep(step);
            left = left.saturating_sub(step);
        }
    }
}

/// Acts on one frame from vpcd; returns the reply payload, if any.
fn handle_frame(
    card: &mut dyn CardSide,
    frame: &[u8],
    log: &mut Option<&mut dyn Write>,
) -> Option<Vec<u8>> {
    match frame {
        [] => {
            note(log, format_args!("ignored an empty frame"));
            None
        }
        [CTRL_OFF] => {
            card.power_off();
            note(log, format_args!("power off"));
            None
        }
        [CTRL_ON] => {
            // A cold start: the card comes up fresh, as after a reset.
            card.reset();
            note(log, format_args!("power on"));
            None
        }
        [CTRL_RESET] => {
            card.reset();
            note(log, format_args!("reset"));
            None
        }
        // pcscd asks twice a second; not logged.
        [CTRL_ATR] => Some(card.atr()),
        [other] => {
            note(log, format_args!("ignored unknown control {other:02X}"));
            None
        }
        apdu => {
            let mut response = card.process(apdu);
            if response.is_empty() || response.len() > MAX_PAYLOAD {
                note(
                    log,
                    format_args!("response of {} bytes cannot be framed", response.len()),
                );
                response = SW_NO_DIAGNOSIS.to_vec();
            }
            log_apdu(log, apdu, &response);
            Some(response)
        }
    }
}

/// One log line per APDU: the header, the lengths, the status word. Never
/// data bytes: they can be secure-messaging payloads or PINs.
fn log_apdu(log: &mut Option<&mut dyn Write>, command: &[u8], response: &[u8]) {
    if log.is_none() {
        return;
    }
    let header: Vec<String> = command.iter().take(4).map(|b| format!("{b:02X}")).collect();
    let split = response.len().saturating_sub(2);
    let sw: Vec<String> = response
        .get(split..)
        .unwrap_or_default()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    note(
        log,
        format_args!(
            "APDU {} ({} bytes) -> {} data bytes, SW {}",
            header.join(" "),
            command.len(),
            split,
            sw.join(" ")
        ),
    );
}

fn note(log: &mut Option<&mut dyn Write>, line: std::fmt::Arguments<'_>) {
    if let Some(out) = log.as_mut() {
        // A failing log must not take the card down.
        let _ = writeln!(out, "vpcd: {line}");
    }
}

/// Writes one frame, header and payload in a single `write_all` so vpcd gets
/// it in one segment.
fn write_frame(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 65 535 bytes"))?;
    let mut out = Vec::with_capacity(payload.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    stream.write_all(&out)?;
    stream.flush()
}

/// Reassembles frames from reads that may stop anywhere (read timeouts let
/// the loop check its flags, so a frame can arrive in pieces).
#[derive(Debug, Default)]
struct FrameReader {
    pending: Vec<u8>,
}

impl FrameReader {
    /// The next complete frame; `Ok(None)` when the read timed out first;
    /// `UnexpectedEof` when vpcd closed the connection.
    fn next_frame(&mut self, stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            if let Some(frame) = self.take_frame() {
                return Ok(Some(frame));
            }
            match stream.read(&mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    // The kernel clears QUICKACK after use: set it after every
                    // read, or each APDU waits ~44 ms for a delayed ACK.
                    let _ = set_quickack(stream);
                    self.pending
                        .extend_from_slice(chunk.get(..n).unwrap_or_default());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn take_frame(&mut self) -> Option<Vec<u8>> {
        let header = self.pending.get(..2)?;
        let len = usize::from(u16::from_be_bytes([*header.first()?, *header.get(1)?]));
        let frame = self.pending.get(2..2 + len)?.to_vec();
        self.pending.drain(..2 + len);
        Some(frame)
    }
}

impl CardSide for crate::VirtualCard {
    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        crate::VirtualCard::process(self, apdu)
    }
    fn atr(&self) -> Vec<u8> {
        crate::VirtualCard::atr(self)
    }
    fn power_off(&mut self) {
        crate::VirtualCard::power_off(self);
    }
    fn reset(&mut self) {
        crate::VirtualCard::reset(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::Mutex;
    use std::thread::JoinHandle;
    use std::time::Instant;

    const ATR: [u8; 10] = [0x3B, 0x85, 0x81, 0x01, 0x80, 0x73, 0x94, 0x01, 0x40, 0x23];

    /// Records what vpcd made it do; echoes command data back with 90 00.
    struct Recorder {
        events: Arc<Mutex<Vec<String>>>,
    }

    impl CardSide for Recorder {
        fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
            self.events
                .lock()
                .unwrap()
                .push(format!("apdu {}", apdu.len()));
            match apdu {
                [0x80, 0xCB, ..] => vec![0xAB; 60_000].into_iter().chain([0x90, 0x00]).collect(),
                [0x80, 0xCC, ..] => Vec::new(),
                [_, _, _, _, _, data @ ..] => data.iter().copied().chain([0x90, 0x00]).collect(),
                _ => vec![0x67, 0x00],
            }
        }
        fn atr(&self) -> Vec<u8> {
            ATR.to_vec()
        }
        fn power_off(&mut self) {
            self.events.lock().unwrap().push("off".into());
        }
        fn reset(&mut self) {
            self.events.lock().unwrap().push("reset".into());
        }
    }

    /// What the server thread returns: its result and its log.
    type ServeOutcome = (Result<(), VpcdError>, Vec<u8>);

    /// A fake vpcd: the listening side, as vpcd is.
    struct FakeVpcd {
        listener: TcpListener,
        events: Arc<Mutex<Vec<String>>>,
        stop: Arc<AtomicBool>,
        handle: VpcdHandle,
        thread: Option<JoinHandle<ServeOutcome>>,
    }

    impl FakeVpcd {
        fn start() -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = VpcdServer::new("127.0.0.1", port);
            let handle = server.handle();
            let events = Arc::new(Mutex::new(Vec::new()));
            let stop = Arc::new(AtomicBool::new(false));
            let (ev, st) = (Arc::clone(&events), Arc::clone(&stop));
            let thread = std::thread::spawn(move || {
                let mut card = Recorder { events: ev };
                let mut log = Vec::new();
                let result = server.serve(&mut card, &st, Some(&mut log));
                (result, log)
            });
            Self {
                listener,
                events,
                stop,
                handle,
                thread: Some(thread),
            }
        }

        fn accept(&self) -> TcpStream {
            let (stream, _) = self.listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            stream
        }

        fn finish(mut self) -> (Result<(), VpcdError>, String) {
            self.stop.store(true, Ordering::SeqCst);
            let (result, log) = self.thread.take().unwrap().join().unwrap();
            (result, String::from_utf8(log).unwrap())
        }

        fn events(&self) -> Vec<String> {
            self.events.lock().unwrap().clone()
        }
    }

    fn send(stream: &mut TcpStream, payload: &[u8]) {
        let mut out = (payload.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(payload);
        stream.write_all(&out).unwrap();
    }

    fn recv(stream: &mut TcpStream) -> Vec<u8> {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).unwrap();
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(header))];
        stream.read_exact(&mut payload).unwrap();
        payload
    }

    fn assert_silent(stream: &mut TcpStream) {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut byte = [0u8; 1];
        let err = stream.read(&mut byte).unwrap_err();
        assert!(matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
    }

    fn wait_until(what: &str, cond: impl Fn() -> bool) {
        let end = Instant::now() + Duration::from_secs(5);
        while !cond() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn control_messages_and_apdus() {
        let vpcd = FakeVpcd::start();
        let mut link = vpcd.accept();

        send(&mut link, &[CTRL_ATR]);
        assert_eq!(recv(&mut link), ATR);

        send(&mut link, &[CTRL_ON]);
        send(&mut link, &[CTRL_RESET]);
        assert_silent(&mut link);
        send(&mut link, &[CTRL_OFF]);
        assert_silent(&mut link);

        send(&mut link, &[0x00, 0xA4, 0x04, 0x0C, 0x02, 0xF0, 0x43]);
        assert_eq!(recv(&mut link), [0xF0, 0x43, 0x90, 0x00]);

        // Extended response: 60 000 bytes in one frame.
        send(&mut link, &[0x80, 0xCB, 0x00, 0x00, 0x00, 0xEA, 0x60]);
        let big = recv(&mut link);
        assert_eq!(big.len(), 60_002);
        assert!(big[..60_000].iter().all(|&b| b == 0xAB));

        // A card that answers nothing must not look like a removal.
        send(&mut link, &[0x80, 0xCC, 0x00, 0x00]);
        assert_eq!(recv(&mut link), SW_NO_DIAGNOSIS);

        // A frame split over several writes (and read timeouts) reassembles.
        let mut frame = vec![0x00, 0x09, 0x80, 0xCA, 0x00, 0x00];
        frame.extend_from_slice(&[0x04, 1, 2, 3, 4]);
        for piece in frame.chunks(3) {
            link.write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(120));
        }
        assert_eq!(recv(&mut link), [1, 2, 3, 4, 0x90, 0x00]);

        // Unknown control bytes get no reply either.
        send(&mut link, &[0x07]);
        assert_silent(&mut link);

        let events = vpcd.events();
        assert_eq!(
            events[..5],
            ["reset", "reset", "off", "apdu 7", "apdu 7"].map(String::from)
        );
        let (result, log) = vpcd.finish();
        result.unwrap();
        assert!(
            log.contains("APDU 00 A4 04 0C (7 bytes) -> 2 data bytes, SW 90 00"),
            "{log}"
        );
        assert!(log.contains("APDU 80 CB 00 00 (7 bytes) -> 60000 data bytes, SW 90 00"));
        // Data bytes never reach the log.
        assert!(!log.contains("F0 43 90"));
        assert!(!log.contains("01 02 03 04"));
        assert_eq!(log.lines().filter(|l| l.contains("APDU")).count(), 4);
    }

    #[test]
    fn stops_promptly() {
        let vpcd = FakeVpcd::start();
        let _link = vpcd.accept();
        wait_until("connection", || vpcd.handle.is_connected());
        let started = Instant::now();
        let (result, _) = vpcd.finish();
        result.unwrap();
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn removal_closes_and_insertion_reconnects() {
        let vpcd = FakeVpcd::start();
        let mut link = vpcd.accept();
        send(&mut link, &[CTRL_ATR]);
        assert_eq!(recv(&mut link), ATR);

        vpcd.handle.remove();
        let mut byte = [0u8; 1];
        assert_eq!(link.read(&mut byte).unwrap(), 0, "removal is EOF for vpcd");
        wait_until("power off", || vpcd.events().contains(&"off".to_string()));
        wait_until("disconnect", || !vpcd.handle.is_connected());

        vpcd.handle.insert();
        let mut again = vpcd.accept();
        send(&mut again, &[CTRL_ATR]);
        assert_eq!(recv(&mut again), ATR);
        assert_eq!(vpcd.handle.connections(), 2);
        vpcd.finish().0.unwrap();
    }

    #[test]
    fn reconnects_when_vpcd_goes_away() {
        let vpcd = FakeVpcd::start();
        let link = vpcd.accept();
        drop(link); // pcscd restarting
        let mut again = vpcd.accept();
        send(&mut again, &[CTRL_ATR]);
        assert_eq!(recv(&mut again), ATR);
        vpcd.finish().0.unwrap();
    }

    #[test]
    fn retries_until_vpcd_listens_and_stops_while_retrying() {
        // Reserve a port, then close it so nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = VpcdServer::new("127.0.0.1", port);
        let stop = Arc::new(AtomicBool::new(false));
        let st = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut card = Recorder {
                events: Arc::default(),
            };
            server.serve(&mut card, &st, None)
        });
        std::thread::sleep(Duration::from_millis(150));
        // vpcd comes up late.
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let (mut link, _) = listener.accept().unwrap();
        send(&mut link, &[CTRL_ATR]);
        assert_eq!(recv(&mut link), ATR);
        drop(listener);
        drop(link);
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        stop.store(true, Ordering::SeqCst);
        thread.join().unwrap().unwrap();
        assert!(started.elapsed() < Duration::from_millis(1_500));
    }

    #[test]
    fn serve_once_reports_how_it_ended() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = VpcdServer::new("127.0.0.1", port);
        let stop = AtomicBool::new(false);
        let mut card = Recorder {
            events: Arc::default(),
        };
        let closer = std::thread::spawn(move || {
            let (link, _) = listener.accept().unwrap();
            drop(link);
        });
        let end = server.serve_once(&mut card, &stop, None).unwrap();
        closer.join().unwrap();
        assert_eq!(end, SessionEnd::Disconnected);
        assert!(matches!(
            VpcdServer::new("127.0.0.1", port).serve_once(&mut card, &stop, None),
            Err(VpcdError::Connect { .. })
        ));
        assert!(matches!(
            VpcdServer::new("no such host.invalid", 1).serve_once(&mut card, &stop, None),
            Err(VpcdError::Address { .. })
        ));
    }

    #[test]
    fn frame_reader_keeps_partial_frames() {
        let mut reader = FrameReader {
            pending: vec![0x00, 0x03, 0xAA],
        };
        assert_eq!(reader.take_frame(), None);
        reader
            .pending
            .extend_from_slice(&[0xBB, 0xCC, 0x00, 0x01, 0x04, 0x00]);
        assert_eq!(reader.take_frame(), Some(vec![0xAA, 0xBB, 0xCC]));
        assert_eq!(reader.take_frame(), Some(vec![0x04]));
        assert_eq!(reader.take_frame(), None);
        assert_eq!(reader.pending, [0x00]);
    }
}
