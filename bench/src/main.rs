//! `cardap-bench`: cardap through real pcscd + vpcd against the floor — the
//! very APDUs of a recorded session replayed raw with the `pcsc` crate, one
//! transaction per read — and against a pyscard reader
//! (`scripts/bench_pyscard.py`). `scripts/bench.sh` runs it; see the README's
//! performance section.
//!
//! ```text
//! cardap-bench card  --card bench/card.toml --port 35964
//! cardap-bench e2e   --reader "Virtual PCD 00 01" --count 2000 [--python python3] [--cases c,a-aes128]
//! cardap-bench split --reader "Virtual PCD 00 01" --count 2000 [--cases …]   (where the time goes)
//! cardap-bench reads --reader R --profile P --count N --mode floor|cardap   (for strace)
//! cardap-bench record --reader R --profile P --out TRACE   then   floor-once --reader R --trace TRACE
//! cardap-bench process-time --count N -- PROGRAM ARGS…
//! cardap-bench watch-latency --cardap target/release/cardap --taps 20
//! cardap-bench replay --profile P --count N   (in process, for callgrind)
//! ```
//!
//! The benchmark card answers with a fixed random source (the same RND.ICC
//! and K.ICC in every authentication), so a recorded Type A or D session can
//! be replayed byte for byte: the host's random numbers are inside the
//! recorded commands, the card's are the same every time.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use cardap::pcsc::{PcscCalls, PcscTransport};
use cardap::trace::{Recorder, Redaction, Segment, Trace};
use cardap::transport::{Transport, TransportError};
use cardap::{Card as Reader, Profile};
use cardap_sim::VirtualCard;
use cardap_sim::vpcd::VpcdServer;

type Res<T> = Result<T, Box<dyn std::error::Error>>;
/// A recorded session: its command APDUs and their responses' status words.
type Session = (Vec<Vec<u8>>, Vec<[u8; 2]>);

/// RND.ICC ‖ K.ICC of every authentication on the benchmark card.
const CARD_RANDOM: [u8; 24] = [0x22; 24];
/// How many authentications the fixed source covers (24 bytes each).
const CARD_AUTHENTICATIONS: usize = 2_000_000;
const WARMUP: usize = 50;
const CASES: [&str; 7] = [
    "c", "a-3des", "a-aes128", "a-aes256", "d-3des", "d-aes128", "d-aes256",
];

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cardap-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--name value` options, and what follows `--`.
struct Opts {
    map: BTreeMap<String, String>,
    rest: Vec<String>,
}

impl Opts {
    fn parse(args: &[String]) -> Res<Self> {
        let mut map = BTreeMap::new();
        let mut it = args.iter();
        let mut rest = Vec::new();
        while let Some(a) = it.next() {
            if a == "--" {
                rest = it.cloned().collect();
                break;
            }
            let name = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {a:?}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Self { map, rest })
    }
    fn get(&self, name: &str) -> Res<&str> {
        self.map
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("missing --{name}").into())
    }
    fn or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.map.get(name).map_or(default, String::as_str)
    }
    /// `--cases a,b,…`, or every case.
    fn cases(&self) -> Vec<&str> {
        self.map
            .get("cases")
            .map_or_else(|| CASES.to_vec(), |c| c.split(',').collect())
    }
    fn count(&self, name: &str, default: usize) -> Res<usize> {
        let n: usize = self.or(name, &default.to_string()).parse()?;
        if n == 0 || n > 10_000_000 {
            return Err(format!("--{name} must be 1…10000000").into());
        }
        Ok(n)
    }
}

fn run(args: &[String]) -> Res<()> {
    let (cmd, rest) = args.split_first().ok_or(
        "usage: cardap-bench card|e2e|split|reads|record|floor-once|process-time|watch-latency …",
    )?;
    let o = Opts::parse(rest)?;
    match cmd.as_str() {
        "card" => serve_card(
            Path::new(o.or("card", "bench/card.toml")),
            o.or("port", "35964").parse()?,
        ),
        "e2e" => e2e(&o),
        "split" => split(&o),
        "reads" => reads(&o),
        "record" => {
            let profile = Profile::from_file(o.get("profile")?)?;
            let trace = record(o.get("reader")?, &profile)?;
            std::fs::write(o.get("out")?, trace.to_text())?;
            Ok(())
        }
        "floor-once" => floor_once(&o),
        "process-time" => process_time(&o),
        "watch-latency" => watch_latency(&o),
        "replay" => replay(&o),
        other => Err(format!("unknown command {other:?}").into()),
    }
}

/// The benchmark card behind vpcd, with the card's random numbers fixed.
fn serve_card(card: &Path, port: u16) -> Res<()> {
    let mut card =
        VirtualCard::from_file(card)?.with_fixed_random(CARD_RANDOM.repeat(CARD_AUTHENTICATIONS));
    let server = VpcdServer::new("127.0.0.1", port);
    let stop = AtomicBool::new(false);
    eprintln!("cardap-bench: serving the benchmark card to vpcd on port {port}");
    server.serve(&mut card, &stop, None)?;
    Ok(())
}

/// The command APDUs of a trace (recorded without redaction) and the status
/// words of their responses.
fn commands(trace: &Trace) -> Res<Session> {
    let clear = |segments: &[Segment]| -> Res<Vec<u8>> {
        let mut out = Vec::new();
        for s in segments {
            match s {
                Segment::Clear(b) => out.extend_from_slice(b),
                Segment::Redacted(_) => return Err("a redacted trace cannot be replayed".into()),
            }
        }
        Ok(out)
    };
    let mut commands = Vec::new();
    let mut status = Vec::new();
    for e in &trace.exchanges {
        commands.push(clear(&e.command)?);
        let response = clear(e.response.as_deref().unwrap_or_default())?;
        match response.as_slice() {
            [.., a, b] => status.push([*a, *b]),
            _ => return Err("a recorded response without a status word".into()),
        }
    }
    Ok((commands, status))
}

/// One read by cardap through a recorder: the session the floor replays.
fn record(reader: &str, profile: &Profile) -> Res<Trace> {
    let transport = PcscTransport::connect(Some(reader))?;
    let mut r = Reader::new(Recorder::new(transport, Redaction::None));
    r.read(profile)?;
    Ok(r.into_transport().finish().1)
}

/// The floor: a raw PC/SC connection replaying fixed APDUs, one transaction
/// per read, nothing else.
struct Floor {
    card: pcsc::Card,
    commands: Vec<Vec<u8>>,
    /// The status word each recorded response ended with.
    status: Vec<[u8; 2]>,
    receive: Vec<u8>,
}

impl Floor {
    fn connect(reader: &str, (commands, status): Session) -> Res<Self> {
        let context = pcsc::Context::establish(pcsc::Scope::User)?;
        let name = CString::new(reader)?;
        let card = context.connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)?;
        Ok(Self {
            card,
            commands,
            status,
            receive: vec![0; cardap::pcsc::RECEIVE_BUFFER_LEN],
        })
    }

    /// One read; every status word must be the recorded one.
    fn read(&mut self) -> Res<()> {
        let tx = self.card.transaction()?;
        let mut same = true;
        for (c, sw) in self.commands.iter().zip(&self.status) {
            let r = tx.transmit(c, &mut self.receive)?;
            same &= r.ends_with(sw);
        }
        tx.end(pcsc::Disposition::LeaveCard).map_err(|(_, e)| e)?;
        if !same {
            return Err("the replayed session got other status words than recorded".into());
        }
        Ok(())
    }
}

/// Latencies in microseconds, sorted.
struct Stats(Vec<f64>);

impl Stats {
    fn new(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        Self(v)
    }
    fn pct(&self, p: f64) -> f64 {
        let idx = ((self.0.len().saturating_sub(1)) as f64 * p).round() as usize;
        self.0.get(idx).copied().unwrap_or(f64::NAN)
    }
}

fn profile_for(case: &str, extended: bool) -> Res<(PathBuf, Profile)> {
    let path = PathBuf::from(format!("bench/profiles/{case}.toml"));
    let text = std::fs::read_to_string(&path)?;
    let text = format!("extended_length = {extended}\n{text}");
    let profile = Profile::from_toml_str(&text)?;
    // The pyscard reader reads the same profile text.
    let out = std::env::temp_dir().join(format!(
        "cardap-bench-{case}-{}.toml",
        if extended { "ext" } else { "short" }
    ));
    std::fs::write(&out, text)?;
    Ok((out, profile))
}

/// The pyscard reader (`scripts/bench_pyscard.py --serve`), taking turns
/// with the floor and cardap: each line written asks for one read, each line
/// back is its time (µs, measured in Python around the read) and its APDUs.
struct Pyscard {
    child: std::process::Child,
    ask: std::process::ChildStdin,
    answers: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Pyscard {
    fn start(python: &str, reader: &str, profile: &Path) -> Res<Self> {
        let mut child = Command::new(python)
            .arg("scripts/bench_pyscard.py")
            .args(["--reader", reader, "--serve"])
            .args(["--warmup", &WARMUP.to_string(), "--profile"])
            .arg(profile)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let ask = child
            .stdin
            .take()
            .ok_or("the pyscard reader has no stdin")?;
        let out = child
            .stdout
            .take()
            .ok_or("the pyscard reader has no stdout")?;
        Ok(Self {
            child,
            ask,
            answers: BufReader::new(out).lines(),
        })
    }

    /// One read: its µs and APDUs.
    fn read(&mut self) -> Res<(f64, u64)> {
        use std::io::Write;
        self.ask.write_all(b"read\n")?;
        self.ask.flush()?;
        let line = self.answers.next().ok_or("the pyscard reader stopped")??;
        let mut parts = line.split_whitespace();
        let us = parts
            .next()
            .ok_or("an empty answer from the pyscard reader")?
            .parse()?;
        let apdus = parts
            .next()
            .ok_or("no APDU count from the pyscard reader")?
            .parse()?;
        Ok((us, apdus))
    }

    fn finish(self) -> Res<()> {
        let Self { mut child, ask, .. } = self;
        drop(ask);
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("the pyscard reader failed: {status}").into());
        }
        Ok(())
    }
}

fn e2e(o: &Opts) -> Res<()> {
    let reader = o.get("reader")?;
    let count = o.count("count", 2000)?;
    let python = o.or("python", "");
    let cases = o.cases();
    println!(
        "| AP | ext | APDUs | PC/SC calls per read (floor / cardap) | floor p50 / p99 µs | cardap p50 / p99 µs | cardap/floor p50 | pyscard p50 / p99 µs | pyscard/cardap p50 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut worst_ratio: f64 = 0.0;
    let mut worst_py = f64::INFINITY;
    for case in cases {
        for extended in [true, false] {
            let (profile_path, profile) = profile_for(case, extended)?;
            let trace = record(reader, &profile)?;
            let cmds = commands(&trace)?;
            let apdus = cmds.0.len() as u64;
            let mut floor = Floor::connect(reader, cmds)?;
            let mut card = Reader::new(PcscTransport::connect(Some(reader))?);
            for _ in 0..WARMUP {
                floor.read()?;
                card.read(&profile)?;
            }
            let mut py = if python.is_empty() {
                None
            } else {
                Some(Pyscard::start(python, reader, &profile_path)?)
            };
            let mut f_times = Vec::with_capacity(count);
            let mut c_times = Vec::with_capacity(count);
            let mut p_times = Vec::with_capacity(count);
            let mut py_apdus = 0;
            let calls_before = card.transport().calls();
            let mut cardap_apdus = 0;
            // Taking turns read by read, so that all three see the same
            // machine load.
            for _ in 0..count {
                let t = Instant::now();
                floor.read()?;
                f_times.push(t.elapsed().as_secs_f64() * 1e6);
                let t = Instant::now();
                cardap_apdus = card.read(&profile)?.apdus();
                c_times.push(t.elapsed().as_secs_f64() * 1e6);
                if let Some(py) = py.as_mut() {
                    let (us, apdus) = py.read()?;
                    p_times.push(us);
                    py_apdus = apdus;
                }
            }
            let calls = card.transport().calls().since(&calls_before);
            let n_reads = c_times.len() as f64;
            let per_read = |c: &PcscCalls| c.total() as f64 / n_reads;
            let (f, c) = (Stats::new(f_times), Stats::new(c_times));
            let ratio = c.pct(0.5) / f.pct(0.5);
            worst_ratio = worst_ratio.max(ratio);
            let py = match py {
                None => "– | –".to_owned(),
                Some(py) => {
                    py.finish()?;
                    let p = Stats::new(p_times);
                    if py_apdus != apdus {
                        eprintln!(
                            "warning: pyscard sent {py_apdus} APDUs per read, cardap {apdus}"
                        );
                    }
                    let py_ratio = p.pct(0.5) / c.pct(0.5);
                    worst_py = worst_py.min(py_ratio);
                    format!("{:.0} / {:.0} | {py_ratio:.2}×", p.pct(0.5), p.pct(0.99))
                }
            };
            println!(
                "| {case} | {} | {apdus} | {} / {:.2} | {:.0} / {:.0} | {:.0} / {:.0} | {ratio:.3} | {py} |",
                if extended { "on" } else { "off" },
                apdus + 2,
                per_read(&calls),
                f.pct(0.5),
                f.pct(0.99),
                c.pct(0.5),
                c.pct(0.99),
            );
            if cardap_apdus as u64 != apdus {
                return Err(
                    format!("{case}: cardap sent {cardap_apdus} APDUs, the floor {apdus}").into(),
                );
            }
        }
    }
    println!("worst cardap/floor p50 ratio: {worst_ratio:.3}");
    if worst_py.is_finite() {
        println!("smallest pyscard/cardap p50 ratio: {worst_py:.2}");
    }
    Ok(())
}

/// `count` reads by the floor or by cardap, for counting messages with strace.
fn reads(o: &Opts) -> Res<()> {
    let reader = o.get("reader")?;
    let profile = Profile::from_file(o.get("profile")?)?;
    let count = o.count("count", 20)?;
    match o.get("mode")? {
        "floor" => {
            let trace = Trace::parse(&std::fs::read_to_string(o.get("trace")?)?)?;
            let mut floor = Floor::connect(reader, commands(&trace)?)?;
            for _ in 0..count {
                floor.read()?;
            }
        }
        "cardap" => {
            let mut card = Reader::new(PcscTransport::connect(Some(reader))?);
            for _ in 0..count {
                card.read(&profile)?;
            }
        }
        m => return Err(format!("unknown mode {m:?}").into()),
    }
    Ok(())
}

/// The floor's one-shot program: connect, replay one read, exit.
fn floor_once(o: &Opts) -> Res<()> {
    let trace = Trace::parse(&std::fs::read_to_string(o.get("trace")?)?)?;
    Floor::connect(o.get("reader")?, commands(&trace)?)?.read()
}

/// Runs programs `count` times each, alternated (`-- A ARGS… --- B ARGS…`);
/// prints p50/p99 of each one's wall time in ms.
fn process_time(o: &Opts) -> Res<()> {
    let count = o.count("count", 50)?;
    let programs: Vec<&[String]> = o.rest.split(|a| a == "---").collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(count); programs.len()];
    for _ in 0..count {
        for (p, t) in programs.iter().zip(times.iter_mut()) {
            let (program, args) = p.split_first().ok_or("process-time needs -- PROGRAM")?;
            let start = Instant::now();
            let status = Command::new(program)
                .args(args)
                .stdout(Stdio::null())
                .status()?;
            t.push(start.elapsed().as_secs_f64() * 1e3);
            if !status.success() {
                return Err(format!("{program} failed: {status}").into());
            }
        }
    }
    let parts: Vec<String> = programs
        .iter()
        .zip(times)
        .map(|(p, t)| {
            let s = Stats::new(t);
            let name = p.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
            format!(
                "{{\"program\":{name:?},\"runs\":{count},\"ms_p50\":{:.2},\"ms_p99\":{:.2}}}",
                s.pct(0.5),
                s.pct(0.99)
            )
        })
        .collect();
    println!("{}", parts.join(" "));
    Ok(())
}

/// Tap to result: serves the card in this process, inserts it, and times
/// until `cardap watch` prints the read; then removes it and waits.
fn watch_latency(o: &Opts) -> Res<()> {
    let taps = o.count("taps", 20)?;
    let port: u16 = o.or("port", "35964").parse()?;
    let reader = o.or("reader", "Virtual PCD 00 01");
    let server = VpcdServer::new("127.0.0.1", port);
    let handle = server.handle();
    handle.remove();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let mut card = VirtualCard::from_file(o.or("card", "bench/card.toml"))?
        .with_fixed_random(CARD_RANDOM.repeat(1000));
    let thread = std::thread::spawn(move || server.serve(&mut card, &flag, None).is_ok());
    let mut child = Command::new(o.get("cardap")?)
        .args([
            "watch",
            "--reader",
            reader,
            "--profile",
            "bench/profiles/c.toml",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    std::thread::sleep(Duration::from_millis(500));
    let mut times = Vec::with_capacity(taps);
    let mut result = Ok(());
    for _ in 0..taps {
        let t = Instant::now();
        handle.insert();
        match lines.next() {
            Some(Ok(line)) if line.contains("\"ok\":true") => {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            other => {
                result = Err(format!("cardap watch printed {other:?}"));
                break;
            }
        }
        handle.remove();
        PcscTransport::wait_for_removal(reader, Some(Duration::from_secs(10)))?;
        // Taps land at random points of pcscd's presence poll.
        std::thread::sleep(Duration::from_millis(137));
    }
    let _ = child.kill();
    let _ = child.wait();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = thread.join();
    result?;
    let s = Stats::new(times);
    println!(
        "{{\"taps\":{taps},\"tap_to_result_ms_p50\":{:.1},\"ms_p99\":{:.1},\"ms_min\":{:.1}}}",
        s.pct(0.5),
        s.pct(0.99),
        s.pct(0.0)
    );
    Ok(())
}

/// `count` reads of a recorded session replayed in process (no card, no
/// I/O): cardap's own instructions, for `valgrind --tool=callgrind`
/// (scripts/callgrind.sh).
fn replay(o: &Opts) -> Res<()> {
    use cardap::trace::Replay;
    const HOST_RANDOM: [u8; 24] = [0x11; 24];
    let profile = Profile::from_file(o.get("profile")?)?;
    let count = o.count("count", 100)?;
    let card = VirtualCard::from_file(o.or("card", "bench/card.toml"))?
        .with_fixed_random(CARD_RANDOM.to_vec());
    let mut r = Reader::new(Recorder::new(card, Redaction::None)).with_random(HOST_RANDOM.to_vec());
    r.read(&profile)?;
    let trace = r.into_transport().finish().1;
    for _ in 0..count {
        let mut reader = Reader::new(Replay::new(trace.clone())).with_random(HOST_RANDOM.to_vec());
        reader.read(&profile)?;
    }
    Ok(())
}

/// A transport inside a transaction that notes when each APDU left and its
/// answer came back.
struct Stamped<'a> {
    inner: &'a mut dyn Transport,
    log: &'a mut Vec<(Instant, Instant)>,
}

impl Transport for Stamped<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let sent = Instant::now();
        let response = self.inner.transmit(command);
        self.log.push((sent, Instant::now()));
        response
    }
    fn atr(&self) -> Option<Vec<u8>> {
        self.inner.atr()
    }
    fn supports_extended(&self) -> bool {
        self.inner.supports_extended()
    }
}

/// [`PcscTransport`] with the times of one read: each APDU's
/// `SCardTransmit`, the end of the operation inside the transaction and the
/// return of `SCardEndTransaction`.
struct Timed {
    inner: PcscTransport,
    transmits: Vec<(Instant, Instant)>,
    op_end: Option<Instant>,
    tx_end: Option<Instant>,
}

impl Transport for Timed {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.inner.transmit(command)
    }
    fn atr(&self) -> Option<Vec<u8>> {
        self.inner.atr()
    }
    fn supports_extended(&self) -> bool {
        self.inner.supports_extended()
    }
    fn transaction(
        &mut self,
        op: &mut dyn FnMut(&mut dyn Transport),
    ) -> Result<(), TransportError> {
        let Self {
            inner,
            transmits,
            op_end,
            ..
        } = self;
        let result = inner.transaction(&mut |t| {
            op(&mut Stamped {
                inner: t,
                log: transmits,
            });
            *op_end = Some(Instant::now());
        });
        self.tx_end = Some(Instant::now());
        result
    }
}

/// One read's wall time split (µs): before the first APDU (including
/// `SCardBeginTransaction`), inside `SCardTransmit`, between APDUs, after the
/// last answer (the rest of the operation, `SCardEndTransaction`, the rest).
#[derive(Clone, Copy)]
struct Split {
    total: f64,
    before_first: f64,
    transmit: f64,
    between: f64,
    after_last: f64,
    end_transaction: f64,
}

impl Split {
    fn of(
        start: Instant,
        stop: Instant,
        transmits: &[(Instant, Instant)],
        op_end: Instant,
        tx_end: Instant,
    ) -> Option<Self> {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let (first, last) = (transmits.first()?, transmits.last()?);
        Some(Self {
            total: us(stop - start),
            before_first: us(first.0 - start),
            transmit: transmits.iter().map(|(a, b)| us(*b - *a)).sum(),
            between: transmits
                .windows(2)
                .filter_map(|w| Some(us(w.get(1)?.0 - w.first()?.1)))
                .sum(),
            after_last: us(stop - last.1) - us(tx_end - op_end),
            end_transaction: us(tx_end - op_end),
        })
    }
}

/// Where cardap's time over the floor goes: the floor and cardap take turns
/// read by read as in `e2e`, each read's wall time split by [`Split`]; prints
/// the medians of each part (extended length on).
fn split(o: &Opts) -> Res<()> {
    let reader = o.get("reader")?;
    let count = o.count("count", 2000)?;
    let cases = o.cases();
    println!(
        "| AP | reader | total | before the first APDU | in SCardTransmit | between APDUs | after the last answer | SCardEndTransaction |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for case in cases {
        let (_, profile) = profile_for(case, true)?;
        let (commands, _) = commands(&record(reader, &profile)?)?;
        let context = pcsc::Context::establish(pcsc::Scope::User)?;
        let mut floor = context.connect(
            &CString::new(reader)?,
            pcsc::ShareMode::Shared,
            pcsc::Protocols::ANY,
        )?;
        let mut receive = vec![0; cardap::pcsc::RECEIVE_BUFFER_LEN];
        let mut card = Reader::new(Timed {
            inner: PcscTransport::connect(Some(reader))?,
            transmits: Vec::new(),
            op_end: None,
            tx_end: None,
        });
        let (mut f_rows, mut c_rows) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for i in 0..count + WARMUP {
            let mut stamps = Vec::with_capacity(commands.len());
            let start = Instant::now();
            let tx = floor.transaction()?;
            for c in &commands {
                let sent = Instant::now();
                tx.transmit(c, &mut receive)?;
                stamps.push((sent, Instant::now()));
            }
            let op_end = Instant::now();
            tx.end(pcsc::Disposition::LeaveCard).map_err(|(_, e)| e)?;
            let stop = Instant::now();
            let f = Split::of(start, stop, &stamps, op_end, stop);

            card.transport_mut().transmits.clear();
            let start = Instant::now();
            card.read(&profile)?;
            let stop = Instant::now();
            let t = card.transport_mut();
            let c = match (t.op_end, t.tx_end) {
                (Some(op_end), Some(tx_end)) => {
                    Split::of(start, stop, &t.transmits, op_end, tx_end)
                }
                _ => None,
            };
            if i >= WARMUP {
                f_rows.extend(f);
                c_rows.extend(c);
            }
        }
        for (name, rows) in [("floor", &f_rows), ("cardap", &c_rows)] {
            let median =
                |part: fn(&Split) -> f64| Stats::new(rows.iter().map(part).collect()).pct(0.5);
            println!(
                "| {case} | {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
                median(|s| s.total),
                median(|s| s.before_first),
                median(|s| s.transmit),
                median(|s| s.between),
                median(|s| s.after_last),
                median(|s| s.end_transaction),
            );
        }
    }
    Ok(())
}
