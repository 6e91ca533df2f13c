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

use crate::{OutputOpts, Source};

/// Opens the card a command names: a virtual card, or a PC/SC reader.
pub fn open(source: &Source) -> Result<Box<dyn Transport>, String> {
    match (&source.virtual_card, &source.reader) {
        (Some(path), _) => VirtualCard::from_file(path)
            .map(|c| Box::new(c) as Box<dyn Transport>)
            .map_err(|e| e.to_string()),
        (None, reader) => open_reader(reader.as_deref()),
    }
}

#[cfg(feature = "pcsc")]
fn open_reader(reader: Option<&str>) -> Result<Box<dyn Transport>, String> {
    cardap::pcsc::PcscTransport::connect(reader)
        .map(|t| Box::new(t) as Box<dyn Transport>)
        .map_err(|e| format!("PC/SC: {e}"))
}

#[cfg(not(feature = "pcsc"))]
fn open_reader(_reader: Option<&str>) -> Result<Box<dyn Transport>, String> {
    Err("this cardap was built without PC/SC (feature `pcsc`): give --virtual-card".into())
}

fn trace_file(path: &PathBuf, append: bool) -> Result<Box<dyn Write>, String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| format!("cannot write trace {}: {e}", path.display()))?;
    Ok(Box::new(std::io::LineWriter::new(file)))
}

/// Wraps the transport in a trace recorder when asked.
pub fn traced(
    transport: Box<dyn Transport>,
    trace: Option<&PathBuf>,
    append: bool,
) -> Result<Box<dyn Transport>, String> {
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
) -> Result<R, String> {
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
pub fn readers(as_json: bool) -> Result<(), String> {
    let list = cardap::pcsc::PcscTransport::list_readers().map_err(|e| format!("PC/SC: {e}"))?;
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
            outln!("{}\t{state}\t{atr}", r.name);
        }
    }
    Ok(())
}

#[cfg(not(feature = "pcsc"))]
pub fn readers(_as_json: bool) -> Result<(), String> {
    open_reader(None).map(|_| ())
}

/// Gate mode: one JSON line per tap, across removals and errors, until a
/// signal.
#[cfg(feature = "pcsc")]
pub fn watch(
    profile: &Profile,
    reader: Option<&str>,
    trace: Option<&PathBuf>,
) -> Result<(), String> {
    use cardap::pcsc::{PcscTransport, ReaderMonitor};
    use cardap::transport::TransportError;

    let monitor = ReaderMonitor::new().map_err(|e| format!("PC/SC: {e}"))?;
    let canceller = monitor.canceller();
    let stop = crate::signals::stop_flag(move || {
        let _ = canceller.cancel();
    })?;
    let mut stdout = std::io::stdout();
    while !stop.load(Ordering::SeqCst) {
        let info = match monitor.wait_for_card(reader, None) {
            Ok(info) => info,
            Err(TransportError::Cancelled) => break,
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
        let result: Result<cardap::ApRecord, String> = PcscTransport::connect(Some(&info.name))
            .map_err(|e| e.to_string())
            .and_then(|t| traced(Box::new(t), trace, true))
            .and_then(|t| Card::new(t).read(profile).map_err(|e| e.to_string()));
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let line = match result {
            Ok(rec) => {
                json!({"time": now(), "reader": info.name, "ok": true, "user_id": rec.user_id().as_str(),
                              "apdus": rec.apdus(), "ms": (ms * 10.0).round() / 10.0})
            }
            Err(e) => json!({"time": now(), "reader": info.name, "ok": false, "error": e,
                             "ms": (ms * 10.0).round() / 10.0}),
        };
        emit(&mut stdout, line);
        match monitor.wait_for_removal(&info.name, None) {
            Ok(()) => {}
            Err(TransportError::Cancelled) => break,
            Err(e) => emit(
                &mut stdout,
                json!({"time": now(), "reader": info.name, "ok": false, "error": e.to_string()}),
            ),
        }
    }
    Ok(())
}

#[cfg(not(feature = "pcsc"))]
pub fn watch(
    _profile: &Profile,
    _reader: Option<&str>,
    _trace: Option<&PathBuf>,
) -> Result<(), String> {
    open_reader(None).map(|_| ())
}

fn emit(out: &mut std::io::Stdout, v: serde_json::Value) {
    let mut lock = out.lock();
    let _ = writeln!(lock, "{v}");
    let _ = lock.flush();
}

fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Sends raw APDUs inside one transaction; prints `> cmd` / `< resp` lines.
pub fn apdu(source: &Source, apdus: &[String], trace: Option<&PathBuf>) -> Result<(), String> {
    let commands = apdus
        .iter()
        .map(|a| {
            let clean: String = a.chars().filter(|c| !c.is_whitespace()).collect();
            hex::decode(&clean).map_err(|_| format!("not a hex APDU: {a}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for c in &commands {
        cardap::transport::check_command_apdu(c)
            .map_err(|e| format!("{}: {e}", hex::encode_upper(c)))?;
    }
    let mut transport = traced(open(source)?, trace, false)?;
    let mut outcome: Result<(), String> = Ok(());
    transport
        .transaction(&mut |t| {
            for c in &commands {
                match t.transmit(c) {
                    Ok(r) => {
                        outln!("> {}", hex::encode_upper(c));
                        outln!("< {}", hex::encode_upper(&r));
                    }
                    Err(e) => {
                        outcome = Err(e.to_string());
                        return;
                    }
                }
            }
        })
        .map_err(|e| e.to_string())?;
    outcome
}

/// Serves a virtual card to vpcd until SIGINT/SIGTERM.
pub fn sim(
    card: &PathBuf,
    host: &str,
    port: u16,
    no_extended: bool,
    log: Option<&PathBuf>,
) -> Result<(), String> {
    let mut description = cardap_sim::Description::from_file(card).map_err(|e| e.to_string())?;
    if no_extended {
        description = description.with_extended_length(false);
    }
    let mut card = VirtualCard::new(description);
    let stop = crate::signals::stop_flag(|| {})?;
    let mut log_file: Option<Box<dyn Write>> = match log {
        Some(p) => Some(trace_file(p, true)?),
        None => None,
    };
    let server = cardap_sim::vpcd::VpcdServer::new(host, port);
    eprintln!(
        "cardap sim: serving {} to vpcd at {host}:{port}",
        card_summary(&card)
    );
    server
        .serve(
            &mut card,
            &stop,
            log_file.as_mut().map(|w| w as &mut dyn Write),
        )
        .map_err(|e| e.to_string())
}

fn card_summary(card: &VirtualCard) -> String {
    let n = card.description().aps().len();
    format!(
        "a virtual card with {n} AP{}",
        if n == 1 { "" } else { "s" }
    )
}

/// Reads `count` times and prints statistics as one JSON object.
pub fn bench(profile: &Profile, source: &Source, count: usize) -> Result<(), String> {
    let transport = open(source)?;
    let mut reader = Card::new(transport);
    let mut times = Vec::with_capacity(count);
    let mut failures = 0usize;
    let mut first_error = None;
    let mut apdus = 0;
    for _ in 0..count {
        let t0 = Instant::now();
        let r: CardResult<_> = reader.read(profile);
        times.push(t0.elapsed().as_secs_f64() * 1e6);
        match r {
            Ok(rec) => apdus = rec.apdus(),
            Err(e) => {
                failures += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
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
    outln!(
        "{}",
        json!({"profile": profile.name(), "count": count, "failures": failures, "first_error": first_error,
               "apdus_per_read": apdus, "us_mean": mean.round(), "us_p50": pct(0.5).round(),
               "us_p99": pct(0.99).round(), "us_max": pct(1.0).round()})
    );
    if failures > 0 {
        return Err(format!("{failures} of {count} reads failed"));
    }
    Ok(())
}
