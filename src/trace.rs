//! APDU traces: a [`Recorder`] wraps any transport and writes what crossed it
//! with secrets redacted; a [`Replay`] transport plays a trace back so that a
//! recorded session becomes a test.
//!
//! The text format, one exchange per pair of lines:
//!
//! ```text
//! # cardap trace v1
//! atr 3B858101807394014023
//! > 00A4040C0AF0434152444150430001
//! < 9000
//! > 0CB0810000000D[13]0000
//! < [259]9000
//! ```
//!
//! `[n]` stands for `n` redacted bytes. With [`Redaction::Secrets`] the
//! recorder redacts PINs (VERIFY, CHANGE/RESET REFERENCE DATA), authentication
//! cryptograms (MUTUAL/INTERNAL AUTHENTICATE, both ways) and secure-messaging
//! payloads (every protected command's data and response data, and GET
//! RESPONSE continuations of them). A replayed trace matches redacted command
//! bytes by length; a redacted *response* cannot be replayed and ends the
//! replay with a typed error, so only [`Redaction::None`] traces (test keys
//! only) replay secure sessions.

use std::fmt::Write as _;

use crate::apdu::Command;
use crate::commands;
use crate::transport::{Transport, TransportError};

/// What a recorder hides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redaction {
    /// PINs, cryptograms and secure-messaging payloads (the default).
    Secrets,
    /// Nothing: only for test keys and fictitious data.
    None,
}

/// A run of trace bytes: clear or redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Bytes as sent.
    Clear(Vec<u8>),
    /// This many bytes, not shown.
    Redacted(usize),
}

/// One command and its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The command APDU.
    pub command: Vec<Segment>,
    /// The response APDU, or `None` when the transport failed.
    pub response: Option<Vec<Segment>>,
}

/// A recorded session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The ATR, if known.
    pub atr: Option<Vec<u8>>,
    /// The exchanges in order.
    pub exchanges: Vec<Exchange>,
}

/// A trace file that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace line {line}: {problem}")]
pub struct TraceError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

fn segments_text(segs: &[Segment]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Segment::Clear(b) => s.push_str(&hex::encode_upper(b)),
            Segment::Redacted(n) => {
                let _ = write!(s, "[{n}]");
            }
        }
    }
    s
}

fn parse_segments(text: &str, line: usize) -> Result<Vec<Segment>, TraceError> {
    let err = |problem: &str| TraceError {
        line,
        problem: problem.to_owned(),
    };
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(|| err("unclosed ["))?;
            let n: usize = after
                .get(..end)
                .and_then(|n| n.parse().ok())
                .filter(|&n| n <= MAX_APDU_LEN)
                .ok_or_else(|| err("bad redaction length"))?;
            out.push(Segment::Redacted(n));
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find('[').unwrap_or(rest.len());
            let hexpart = rest.get(..end).unwrap_or("");
            out.push(Segment::Clear(
                hex::decode(hexpart).map_err(|_| err("bad hex"))?,
            ));
            rest = rest.get(end..).unwrap_or("");
        }
    }
    Ok(out)
}

/// The longest APDU either way (an extended response: 65 536 bytes and SW).
const MAX_APDU_LEN: usize = 65_538;

fn segments_len(segs: &[Segment]) -> usize {
    segs.iter()
        .map(|s| match s {
            Segment::Clear(b) => b.len(),
            Segment::Redacted(n) => *n,
        })
        .fold(0usize, usize::saturating_add)
}

impl Trace {
    /// The trace as text.
    pub fn to_text(&self) -> String {
        let mut s = String::from("# cardap trace v1\n");
        if let Some(atr) = &self.atr {
            let _ = writeln!(s, "atr {}", hex::encode_upper(atr));
        }
        for ex in &self.exchanges {
            let _ = writeln!(s, "> {}", segments_text(&ex.command));
            match &ex.response {
                Some(r) => {
                    let _ = writeln!(s, "< {}", segments_text(r));
                }
                None => s.push_str("! transport error\n"),
            }
        }
        s
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Self, TraceError> {
        let mut trace = Self::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if let Some(a) = l.strip_prefix("atr ") {
                trace.atr = Some(hex::decode(a.trim()).map_err(|_| TraceError {
                    line,
                    problem: "bad ATR hex".into(),
                })?);
            } else if let Some(c) = l.strip_prefix("> ") {
                trace.exchanges.push(Exchange {
                    command: parse_segments(c, line)?,
                    response: None,
                });
            } else if let Some(r) = l.strip_prefix("< ") {
                let last = trace
                    .exchanges
                    .last_mut()
                    .filter(|e| e.response.is_none())
                    .ok_or_else(|| TraceError {
                        line,
                        problem: "response without a command".into(),
                    })?;
                last.response = Some(parse_segments(r, line)?);
            } else if l.starts_with('!') {
                // A failed exchange: the response stays None.
            } else {
                return Err(TraceError {
                    line,
                    problem: "expected '>', '<', 'atr' or '#'".into(),
                });
            }
        }
        Ok(trace)
    }
}

fn redact_command(bytes: &[u8], policy: Redaction) -> (Vec<Segment>, bool) {
    let clear = |b: &[u8]| (vec![Segment::Clear(b.to_vec())], false);
    if policy == Redaction::None {
        return clear(bytes);
    }
    let Some((cmd, enc)) = Command::parse(bytes).ok() else {
        // Unparseable: keep the header only.
        let head = bytes.get(..4).unwrap_or(bytes);
        let mut segs = vec![Segment::Clear(head.to_vec())];
        if bytes.len() > head.len() {
            segs.push(Segment::Redacted(bytes.len() - head.len()));
        }
        return (segs, true);
    };
    // What is secret is a property of the command (crate::commands).
    let protected = commands::is_protected_class(cmd.cla);
    let properties = commands::properties(cmd.ins);
    let secret_data = protected || properties.secret_data();
    let secret_response = protected || properties.secret_response();
    if !secret_data || cmd.data().is_empty() {
        return (vec![Segment::Clear(bytes.to_vec())], secret_response);
    }
    let lc_len = match (enc, bytes.len() > 4) {
        (crate::apdu::LengthEncoding::Extended, _) => 3,
        _ => 1,
    };
    let data_start = 4 + lc_len;
    let data_end = data_start + cmd.data().len();
    let mut segs = vec![Segment::Clear(
        bytes.get(..data_start).unwrap_or(bytes).to_vec(),
    )];
    segs.push(Segment::Redacted(cmd.data().len()));
    if let Some(tail) = bytes.get(data_end..).filter(|t| !t.is_empty()) {
        segs.push(Segment::Clear(tail.to_vec()));
    }
    (segs, secret_response)
}

fn redact_response(bytes: &[u8], secret: bool) -> Vec<Segment> {
    match bytes.split_last_chunk::<2>() {
        Some((data, sw)) if secret && !data.is_empty() => {
            vec![Segment::Redacted(data.len()), Segment::Clear(sw.to_vec())]
        }
        _ => vec![Segment::Clear(bytes.to_vec())],
    }
}

struct RecordState {
    policy: Redaction,
    trace: Trace,
    /// The last response was redacted: its GET RESPONSE continuations are too.
    continuing_secret: bool,
    /// Where each exchange is also written as it happens (long-running tools).
    sink: Option<Box<dyn std::io::Write>>,
}

impl std::fmt::Debug for RecordState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordState")
            .field("policy", &self.policy)
            .field("exchanges", &self.trace.exchanges.len())
            .finish_non_exhaustive()
    }
}

impl RecordState {
    fn record(&mut self, command: &[u8], result: &Result<Vec<u8>, TransportError>) {
        let (segs, mut secret) = redact_command(command, self.policy);
        let is_get_response = command.get(1) == Some(&commands::ins::GET_RESPONSE);
        if is_get_response && self.continuing_secret && self.policy == Redaction::Secrets {
            secret = true;
        }
        let response = result.as_ref().ok().map(|r| redact_response(r, secret));
        let more = result
            .as_ref()
            .ok()
            .and_then(|r| r.get(r.len().wrapping_sub(2)))
            .is_some_and(|&sw1| sw1 == 0x61);
        self.continuing_secret = secret && more;
        let ex = Exchange {
            command: segs,
            response,
        };
        if let Some(sink) = self.sink.as_mut() {
            let mut t = Trace::default();
            t.exchanges.push(ex.clone());
            let text = t.to_text();
            let body = text.split_once('\n').map_or("", |(_, b)| b);
            // A trace sink that fails must not fail the card operation.
            if sink
                .write_all(body.as_bytes())
                .and_then(|()| sink.flush())
                .is_err()
            {
                self.sink = None;
            }
        }
        self.trace.exchanges.push(ex);
    }
}

/// Wraps a transport and records every exchange.
#[derive(Debug)]
pub struct Recorder<T> {
    inner: T,
    state: RecordState,
}

impl<T: Transport> Recorder<T> {
    /// Records with the given redaction policy.
    pub fn new(inner: T, policy: Redaction) -> Self {
        let atr = inner.atr();
        Self {
            inner,
            state: RecordState {
                policy,
                trace: Trace {
                    atr,
                    exchanges: Vec::new(),
                },
                continuing_secret: false,
                sink: None,
            },
        }
    }

    /// Records, and also writes each exchange to `sink` as it happens (the
    /// header and ATR first). Write errors stop the writing, not the card
    /// operation.
    pub fn with_sink(inner: T, policy: Redaction, mut sink: Box<dyn std::io::Write>) -> Self {
        let mut rec = Self::new(inner, policy);
        let head = Trace {
            atr: rec.state.trace.atr.clone(),
            exchanges: Vec::new(),
        }
        .to_text();
        if sink.write_all(head.as_bytes()).is_ok() {
            rec.state.sink = Some(sink);
        }
        rec
    }

    /// What was recorded so far.
    pub fn trace(&self) -> &Trace {
        &self.state.trace
    }

    /// The inner transport.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Ends recording, giving back the transport and the trace.
    pub fn finish(self) -> (T, Trace) {
        (self.inner, self.state.trace)
    }
}

struct Recording<'a> {
    inner: &'a mut dyn Transport,
    state: &'a mut RecordState,
}

impl Transport for Recording<'_> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let r = self.inner.transmit(command);
        self.state.record(command, &r);
        r
    }
    fn atr(&self) -> Option<Vec<u8>> {
        self.inner.atr()
    }
    fn supports_extended(&self) -> bool {
        self.inner.supports_extended()
    }
}

impl<T: Transport> Transport for Recorder<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        Recording {
            inner: &mut self.inner,
            state: &mut self.state,
        }
        .transmit(command)
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
        let state = &mut self.state;
        self.inner.transaction(&mut |t| {
            let mut rec = Recording {
                inner: t,
                state: &mut *state,
            };
            op(&mut rec);
        })
    }
}

/// Plays a trace back as a card: each command must match the recorded one
/// (redacted spans by length), and gets the recorded response.
#[derive(Debug)]
pub struct Replay {
    trace: Trace,
    next: usize,
}

impl Replay {
    /// A replay of `trace`.
    pub fn new(trace: Trace) -> Self {
        Self { trace, next: 0 }
    }

    /// Whether every recorded exchange was played.
    pub fn finished(&self) -> bool {
        self.next == self.trace.exchanges.len()
    }

    /// Exchanges played so far.
    pub fn played(&self) -> usize {
        self.next
    }
}

fn matches(pattern: &[Segment], bytes: &[u8]) -> bool {
    if segments_len(pattern) != bytes.len() {
        return false;
    }
    let mut pos = 0;
    for seg in pattern {
        match seg {
            Segment::Clear(b) => {
                if bytes.get(pos..pos + b.len()) != Some(b.as_slice()) {
                    return false;
                }
                pos += b.len();
            }
            Segment::Redacted(n) => pos = pos.saturating_add(*n),
        }
    }
    true
}

impl Transport for Replay {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let index = self.next;
        let ex = self
            .trace
            .exchanges
            .get(index)
            .ok_or(TransportError::Replay {
                index,
                reason: "the trace has no more exchanges".into(),
            })?;
        if !matches(&ex.command, command) {
            return Err(TransportError::Replay {
                index,
                reason: format!(
                    "command differs: recorded {}, sent {}",
                    segments_text(&ex.command),
                    hex::encode_upper(command.get(..4).unwrap_or(command))
                ),
            });
        }
        self.next += 1;
        match &ex.response {
            None => Err(TransportError::CardRemoved),
            Some(segs) => {
                let mut out = Vec::new();
                for s in segs {
                    match s {
                        Segment::Clear(b) => out.extend_from_slice(b),
                        Segment::Redacted(_) => {
                            return Err(TransportError::Replay {
                                index,
                                reason: "the recorded response is redacted".into(),
                            });
                        }
                    }
                }
                Ok(out)
            }
        }
    }
    fn atr(&self) -> Option<Vec<u8>> {
        self.trace.atr.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_matching() {
        let t = Trace::parse("# x\natr 3B00\n> 00A4[3]00\n< [5]9000\n> 00B0\n! transport error\n")
            .unwrap();
        assert_eq!(t.exchanges.len(), 2);
        assert_eq!(Trace::parse(&t.to_text()).unwrap(), t);
        assert!(matches(&t.exchanges[0].command, &[0, 0xA4, 1, 2, 3, 0]));
        assert!(!matches(&t.exchanges[0].command, &[0, 0xA4, 1, 2, 0]));
        assert!(Trace::parse("< 9000").is_err());
        assert!(Trace::parse("> 0G").is_err());
        // Lengths from a file are bounded: no huge allocation, no overflow.
        assert!(Trace::parse("< [1000000000000000]9000").is_err());
        assert!(Trace::parse("> 00[18446744073709551615][1]").is_err());
        let t = Trace::parse("> [65538][65538]\n< 9000").unwrap();
        assert!(!matches(&t.exchanges[0].command, &[0; 4]));
    }

    #[test]
    fn secrets_are_redacted() {
        let verify = hex::decode("002000800431323334").unwrap();
        let (segs, _) = redact_command(&verify, Redaction::Secrets);
        assert_eq!(segments_text(&segs), "0020008004[4]");
        let sm = hex::decode("0CB0810000000D9701008E08B6582679D893480C0000").unwrap();
        let (segs, secret) = redact_command(&sm, Redaction::Secrets);
        assert_eq!(segments_text(&segs), "0CB0810000000D[13]0000");
        assert!(secret);
        assert_eq!(
            segments_text(&redact_response(&[1, 2, 3, 0x90, 0], true)),
            "[3]9000"
        );
        let (segs, _) = redact_command(&verify, Redaction::None);
        assert_eq!(segments_text(&segs), "002000800431323334");
    }
}
