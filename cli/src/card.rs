//! Commands that talk to a card: opening a source, readers, watch, apdu, sim
//! and bench.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use cardap::trace::{Recorder, Redaction};
use cardap::transport::Transport;
use cardap::{Card, LengthMode};
use cardap::{Profile, Result as CardResult};
use cardap_sim::VirtualCard;
use serde_json::json;

use crate::error::{CliError, CliResult};
use crate::{OutputOpts, Source};

/// The most reads `bench` takes: enough for any measurement, small enough that
/// the sample buffer stays a few tens of MiB.
pub const MAX_BENCH_COUNT: u64 = 10_000_000;

/// Opens the card a command names: a virtual card, or a PC/SC reader.
pub fn open(source: &Source) -> CliResult<Box<dyn Transport>> {
    match (&source.virtual_card, &source.reader) {
        (Some(path), _) => Ok(Box::new(VirtualCard::from_file(path)?)),
        (None, reader) => open_reader(reader.as_deref()),
    }
}

#[cfg(feature = "pcsc")]
fn open_reader(reader: Option<&str>) -> CliResult<Box<dyn Transport>> {
    cardap::pcsc::PcscTransport::connect(reader)
        .map(|t| Box::new(t) as Box<dyn Transport>)
        .map_err(|e| CliError::from(e).context("PC/SC"))
}

#[cfg(not(feature = "pcsc"))]
fn open_reader(_reader: Option<&str>) -> CliResult<Box<dyn Transport>> {
    Err(CliError::new(
        crate::error::Exit::NoCard,
        "this cardap was built without PC/SC (feature `pcsc`): give --virtual-card",
    ))
}

/// Opens a trace or log file for writing: created with mode 0600 (it
/// describes a card session), never through a symbolic link, and an error
/// when it cannot be written (nothing is skipped silently).
pub fn trace_file(path: &PathBuf, append: bool) -> CliResult<Box<dyn Write>> {
    let mut options = std::fs::OpenOptions::new();
    options
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let file = options.open(path).map_err(|e| {
        let why = if e.raw_os_error() == Some(libc_eloop()) {
            "it is a symbolic link".to_string()
        } else {
            e.to_string()
        };
        CliError::internal(format!("cannot write trace {}: {why}", path.display()))
    })?;
    Ok(Box::new(std::io::LineWriter::new(file)))
}

/// The errno an `O_NOFOLLOW` open of a symbolic link fails with.
fn libc_eloop() -> i32 {
    #[cfg(unix)]
    {
        libc::ELOOP
    }
    #[cfg(not(unix))]
    {
        -1
    }
}

/// Wraps the transport in a trace recorder when asked.
pub fn traced(
    transport: Box<dyn Transport>,
    trace: Option<&PathBuf>,
    append: bool,
) -> CliResult<Box<dyn Transport>> {
    Ok(match trace {
        None => transport,
        Some(path) => Box::new(Recorder::with_sink(
            transport,
            Redaction::Secrets,
            trace_file(path, append)?,
        )),
    })
}

/// Runs `f` on a reader over `transport`, honouring `--trace` and `--short`.
pub fn with_reader<R>(
    transport: Box<dyn Transport>,
    out: &OutputOpts,
    f: impl FnOnce(&mut Card<Box<dyn Transport>>) -> R,
) -> CliResult<R> {
    let length = if out.short {
        LengthMode::Short
    } else {
        LengthMode::Auto
    };
    let transport = traced(transport, out.trace.as_ref(), false)?;
    let mut reader = Card::new(transport).with_length_mode(length);
    Ok(f(&mut reader))
}

#[cfg(feature = "pcsc")]
pub fn readers(as_json: bool) -> CliResult {
    let list = cardap::pcsc::PcscTransport::list_readers()
        .map_err(|e| CliError::from(e).context("PC/SC"))?;
    if as_json {
        let v: Vec<_> = list
            .iter()
            .map(|r| {
                json!({"name": r.name, "card_present": r.card_present,
                       "atr": r.atr.as_ref().map(hex::encode_upper)})
            })
            .collect();
        outln!("{}", serde_json::Value::Array(v));
    } else {
        for r in &list {
            let atr = r.atr.as_ref().map(hex::encode_upper).unwrap_or_default();
            let state = if r.card_present { "card" } else { "empty" };
            outln!("{}\t{state}\t{atr}", crate::output::escape(&r.name));
        }
    }
    Ok(())
}

#[cfg(not(feature = "pcsc"))]
pub fn readers(_as_json: bool) -> CliResult {
    open_reader(None).map(|_| ())
}

/// How long one PC/SC wait of `watch` lasts before it looks at the stop flag.
#[cfg(feature = "pcsc")]
const WAIT_SLICE: std::time::Duration = std::time::Duration::from_millis(250);

/// Gate mode: one JSON line per tap, across removals and errors, until a
/// signal.
#[cfg(feature = "pcsc")]
pub fn watch(profile: &Profile, reader: Option<&str>, trace: Option<&PathBuf>) -> CliResult {
    watch_taps(reader, trace, |name, transport, started| {
        let result = transport.and_then(|t| Card::new(t).read(profile).map_err(|e| e.to_string()));
        let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        match result {
            Ok(rec) => json!({"time": now(), "reader": name, "ok": true,
                              "user_id": rec.user_id().as_str(), "apdus": rec.apdus(), "ms": ms}),
            Err(e) => json!({"time": now(), "reader": name, "ok": false, "error": e, "ms": ms}),
        }
    })
}

/// The loop of every gate mode: waits for each card, connects to it (traced
/// when asked), hands the connection to `on_tap` with the reader's name and
/// the time the tap began, prints the line `on_tap` makes, and waits for the
/// card's removal; across removals and errors, until SIGINT or SIGTERM.
#[cfg(feature = "pcsc")]
pub fn watch_taps(
    reader: Option<&str>,
    trace: Option<&PathBuf>,
    mut on_tap: impl FnMut(&str, Result<Box<dyn Transport>, String>, Instant) -> serde_json::Value,
) -> CliResult {
    use cardap::pcsc::{PcscTransport, ReaderMonitor};
    use cardap::transport::TransportError;

    // An unwritable trace is an error before the first tap, not a silent skip.
    if let Some(path) = trace {
        trace_file(path, true)?;
    }
    let monitor = ReaderMonitor::new().map_err(|e| CliError::from(e).context("PC/SC"))?;
    let canceller = monitor.canceller();
    let stop = crate::signals::stop_flag(move || {
        let _ = canceller.cancel();
    })
    .map_err(CliError::internal)?;
    let mut stdout = std::io::stdout();
    while !stop.load(Ordering::SeqCst) {
        // Waits run in slices: SCardCancel wakes a wait under way at once, and
        // a signal that lands between two waits is seen within one slice.
        let info = match monitor.wait_for_card(reader, Some(WAIT_SLICE)) {
            Ok(info) => info,
            Err(TransportError::Timeout) => continue,
            Err(TransportError::Cancelled) => break,
            // A wait broken by the signal that stops us is not a tap.
            Err(_) if stop.load(Ordering::SeqCst) => break,
            Err(e) => {
                emit(
                    &mut stdout,
                    json!({"time": now(), "reader": reader, "ok": false, "error": e.to_string()}),
                );
                std::thread::sleep(std::time::Duration::from_millis(500));
                continue;
            }
        };
        let started = Instant::now();
        let transport = PcscTransport::connect(Some(&info.name))
            .map_err(|e| e.to_string())
            .and_then(|t| traced(Box::new(t), trace, true).map_err(|e| e.message));
        let line = on_tap(&info.name, transport, started);
        emit(&mut stdout, line);
        let removal = loop {
            match monitor.wait_for_removal(&info.name, Some(WAIT_SLICE)) {
                Err(TransportError::Timeout) if !stop.load(Ordering::SeqCst) => {}
                other => break other,
            }
        };
        match removal {
            Ok(()) | Err(TransportError::Timeout) => {}
            Err(TransportError::Cancelled) => break,
            Err(_) if stop.load(Ordering::SeqCst) => break,
            Err(e) => emit(
                &mut stdout,
                json!({"time": now(), "reader": info.name, "ok": false, "error": e.to_string()}),
            ),
        }
    }
    Ok(())
}

#[cfg(not(feature = "pcsc"))]
pub fn watch(_profile: &Profile, _reader: Option<&str>, _trace: Option<&PathBuf>) -> CliResult {
    open_reader(None).map(|_| ())
}

#[cfg(feature = "pcsc")]
fn emit(out: &mut std::io::Stdout, v: serde_json::Value) {
    let mut lock = out.lock();
    let _ = writeln!(lock, "{v}");
    let _ = lock.flush();
}

#[cfg(feature = "pcsc")]
pub(crate) fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Sends raw APDUs inside one transaction; prints `> cmd` / `< resp` lines,
/// or one JSON object. Errors name the APDU by its position, never its bytes
/// (a VERIFY carries a PIN); the data of commands that carry secrets are
/// redacted in the output as in traces.
pub fn apdu(
    source: &Source,
    apdus: &[String],
    trace: Option<&PathBuf>,
    as_json: bool,
) -> CliResult {
    let commands = apdus
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let clean: String = a.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = zeroize::Zeroizing::new(
                hex::decode(&clean)
                    .map_err(|_| CliError::usage(format!("APDU #{}: not hexadecimal", i + 1)))?,
            );
            cardap::transport::check_command_apdu(&bytes)
                .map_err(|e| CliError::usage(format!("APDU #{}: {e}", i + 1)))?;
            Ok(bytes)
        })
        .collect::<CliResult<Vec<_>>>()?;
    let mut transport = traced(open(source)?, trace, false)?;
    let mut outcome: CliResult = Ok(());
    let mut exchanges = Vec::new();
    transport.transaction(&mut |t| {
        for (i, c) in commands.iter().enumerate() {
            match t.transmit(c) {
                Ok(r) => {
                    let shown = crate::output::redacted_command(c);
                    let (data, sw) = r.split_at(r.len().saturating_sub(2));
                    if as_json {
                        exchanges.push(json!({
                            "command": shown,
                            "response": hex::encode_upper(data),
                            "sw": hex::encode_upper(sw),
                        }));
                    } else {
                        outln!("> {shown}");
                        outln!("< {}", hex::encode_upper(&r));
                    }
                }
                Err(e) => {
                    outcome = Err(CliError::from(e).context(format!("APDU #{}", i + 1)));
                    return;
                }
            }
        }
    })?;
    if as_json {
        outln!("{}", json!({ "exchanges": exchanges }));
    }
    outcome
}

/// Serves a virtual card to vpcd until SIGINT/SIGTERM.
pub fn sim(
    card: &PathBuf,
    host: &str,
    port: u16,
    no_extended: bool,
    log: Option<&PathBuf>,
    persist: bool,
) -> CliResult {
    let path = card;
    let mut description = cardap_sim::Description::from_file(card)?;
    let extended_in_file = description.extended_length();
    if no_extended {
        description = description.with_extended_length(false);
    }
    let card = VirtualCard::new(description);
    let stop = crate::signals::stop_flag(|| {}).map_err(CliError::internal)?;
    let mut log_file: Option<Box<dyn Write>> = match log {
        Some(p) => Some(trace_file(p, true)?),
        None => None,
    };
    let server = cardap_sim::vpcd::VpcdServer::new(host, port);
    eprintln!(
        "cardap sim: serving {} to vpcd at {host}:{port}{}",
        card_summary(&card),
        if persist {
            ", persisting to its file"
        } else {
            ""
        }
    );
    let log = log_file.as_mut().map(|w| w as &mut dyn Write);
    if persist {
        let mut card =
            cardap_sim::PersistentCard::new(card, path).keep_extended_length(extended_in_file);
        server.serve(&mut card, &stop, log)
    } else {
        let mut card = card;
        server.serve(&mut card, &stop, log)
    }
    .map_err(|e| CliError::internal(e.to_string()).context("sim"))
}

fn card_summary(card: &VirtualCard) -> String {
    let n = card.description().aps().len();
    format!(
        "a virtual card with {n} AP{}",
        if n == 1 { "" } else { "s" }
    )
}

/// Reads `count` times and prints statistics as one JSON object. On a
/// terminal it shows progress on stderr; Ctrl-C or SIGTERM stops the run and
/// the statistics of the reads done so far are still printed.
pub fn bench(profile: &Profile, source: &Source, count: u64) -> CliResult {
    let transport = open(source)?;
    let mut reader = Card::new(transport);
    let stop = crate::signals::stop_flag(|| {}).map_err(CliError::internal)?;
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // `count` is bounded by the parser; the buffer grows as reads are done.
    let mut times: Vec<f64> = Vec::with_capacity(usize::try_from(count.min(100_000)).unwrap_or(0));
    let mut failures = 0u64;
    let mut first_error: Option<CliError> = None;
    let mut apdus = 0;
    let mut last_shown = Instant::now();
    let mut done = 0u64;
    while done < count && !stop.load(Ordering::SeqCst) {
        let t0 = Instant::now();
        let r: CardResult<_> = reader.read(profile);
        times.push(t0.elapsed().as_secs_f64() * 1e6);
        done += 1;
        match r {
            Ok(rec) => apdus = rec.apdus(),
            Err(e) => {
                failures += 1;
                first_error.get_or_insert(CliError::from(e));
            }
        }
        if progress && (done == count || last_shown.elapsed().as_millis() >= 200) {
            last_shown = Instant::now();
            eprint!("\rcardap bench: {done}/{count} reads, {failures} failed");
        }
    }
    if progress {
        eprintln!();
    }
    let interrupted = done < count;
    let stats = Stats::of(&mut times);
    outln!(
        "{}",
        json!({"profile": profile.name(), "count": done, "requested": count,
               "interrupted": interrupted, "failures": failures,
               "first_error": first_error.as_ref().map(|e| e.message.clone()),
               "apdus_per_read": apdus, "us_mean": stats.mean.round(), "us_p50": stats.p50.round(),
               "us_p99": stats.p99.round(), "us_max": stats.max.round()})
    );
    if let Some(e) = first_error {
        return Err(CliError::new(
            e.exit,
            format!(
                "{failures} of {done} reads failed; the first: {}",
                e.message
            ),
        ));
    }
    // A run stopped on purpose still succeeds: its statistics are printed
    // and say `"interrupted": true`.
    Ok(())
}

/// Latency statistics in microseconds.
struct Stats {
    mean: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Stats {
    fn of(times: &mut [f64]) -> Self {
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| -> f64 {
            let idx = ((times.len() as f64 - 1.0) * p).round() as usize;
            times.get(idx).copied().unwrap_or(0.0)
        };
        let mean = if times.is_empty() {
            0.0
        } else {
            times.iter().sum::<f64>() / times.len() as f64
        };
        Self {
            mean,
            p50: pct(0.5),
            p99: pct(0.99),
            max: pct(1.0),
        }
    }
}
