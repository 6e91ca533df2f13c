//! Log events to C: a `tracing` subscriber that forwards the library's
//! events (the core's and the C ABI's own) to one process-wide callback.

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use crate::panic::guard;
use crate::result::{Failure, cardap_result};

/// Receives one log event. `level`: 1 error, 2 warn, 3 info, 4 debug,
/// 5 trace. `target` is where it comes from (`cardap::ffi`, `cardap::…`),
/// `message` the text with its fields (`key=value`), after the operations it
/// belongs to (`read{ap=city-library}: …`). Neither is NUL-terminated
/// and both are valid only during the call. Events never carry key
/// material, PINs or card data.
pub type cardap_log_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        level: u32,
        target: *const std::ffi::c_char,
        target_len: usize,
        message: *const std::ffi::c_char,
        message_len: usize,
    ),
>;

type LogFn = unsafe extern "C" fn(
    *mut c_void,
    u32,
    *const std::ffi::c_char,
    usize,
    *const std::ffi::c_char,
    usize,
);

#[derive(Clone, Copy)]
struct Sink {
    callback: LogFn,
    userdata: *mut c_void,
}

// SAFETY: the header states the callback may be called from any thread that
// runs a cardap operation, with this user data.
unsafe impl Send for Sink {}
// SAFETY: as above; a `Sink` is two plain values, never mutated.
unsafe impl Sync for Sink {}

/// The callback; held for reading while it is called, so that once
/// `cardap_set_log_callback` returns the previous callback is not called.
static SINK: RwLock<Option<Sink>> = RwLock::new(None);
/// The highest level forwarded (0: none).
static MAX_LEVEL: AtomicU32 = AtomicU32::new(0);
static INSTALL: Once = Once::new();

thread_local! {
    /// Set while this thread runs the callback: events it causes (it may call
    /// cardap) are dropped, and it may not change the callback.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
    /// The spans entered on this thread, innermost last.
    static STACK: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn level_number(level: &Level) -> u32 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// The fields of an event or span as `message key=value …`.
#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.add(field, format_args!("{value:?}"));
    }
}

impl Fields {
    fn add(&mut self, field: &Field, value: std::fmt::Arguments<'_>) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = self.0.write_fmt(value);
        } else {
            let _ = write!(self.0, "{}={}", field.name(), value);
        }
    }
}

struct SpanData {
    name: &'static str,
    /// The span's fields as `key=value`, in the order recorded.
    fields: Fields,
    refs: usize,
}

/// The subscriber installed as the library's global default.
struct Forwarder {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, SpanData>>,
}

impl Forwarder {
    fn spans(&self) -> std::sync::MutexGuard<'_, HashMap<u64, SpanData>> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Subscriber for Forwarder {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level can change at any time: ask `enabled` each time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        level_number(metadata.level()) <= MAX_LEVEL.load(Ordering::Relaxed)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        use tracing::level_filters::LevelFilter;
        Some(match MAX_LEVEL.load(Ordering::Relaxed) {
            0 => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            4 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed).max(1);
        let mut fields = Fields::default();
        span.record(&mut fields);
        self.spans().insert(
            id,
            SpanData {
                name: span.metadata().name(),
                fields,
                refs: 1,
            },
        );
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(s) = self.spans().get_mut(&span.into_u64()) {
            values.record(&mut s.fields);
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        if IN_CALLBACK.with(Cell::get) {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut message = String::new();
        let _ = STACK.try_with(|stack| {
            let stack = stack.borrow();
            if !stack.is_empty() {
                let spans = self.spans();
                for id in stack.iter() {
                    if let Some(s) = spans.get(id) {
                        message.push_str(s.name);
                        if !s.fields.0.is_empty() {
                            message.push('{');
                            message.push_str(&s.fields.0);
                            message.push('}');
                        }
                        message.push_str(": ");
                    }
                }
            }
        });
        message.push_str(&fields.0);
        let metadata = event.metadata();
        deliver(level_number(metadata.level()), metadata.target(), &message);
    }

    fn enter(&self, span: &Id) {
        let _ = STACK.try_with(|s| s.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        let _ = STACK.try_with(|s| {
            let mut s = s.borrow_mut();
            if let Some(at) = s.iter().rposition(|id| *id == span.into_u64()) {
                s.remove(at);
            }
        });
    }

    fn clone_span(&self, id: &Id) -> Id {
        if let Some(s) = self.spans().get_mut(&id.into_u64()) {
            s.refs += 1;
        }
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        let mut spans = self.spans();
        let key = id.into_u64();
        let closed = match spans.get_mut(&key) {
            Some(s) if s.refs > 1 => {
                s.refs -= 1;
                false
            }
            Some(_) => true,
            None => false,
        };
        if closed {
            spans.remove(&key);
        }
        closed
    }
}

/// Calls the callback, if any, with one event.
fn deliver(level: u32, target: &str, message: &str) {
    let sink = SINK.read().unwrap_or_else(|e| e.into_inner());
    let Some(sink) = *sink else { return };
    IN_CALLBACK.with(|c| c.set(true));
    // SAFETY: the caller's callback with the documented signature; the
    // strings are valid for their lengths during the call.
    unsafe {
        (sink.callback)(
            sink.userdata,
            level,
            target.as_ptr().cast(),
            target.len(),
            message.as_ptr().cast(),
            message.len(),
        );
    }
    IN_CALLBACK.with(|c| c.set(false));
}

/// Sets the process-wide log callback: the library's events up to
/// `max_level` (1 error, 2 warn, 3 info, 4 debug, 5 trace; higher values
/// count as 5) go to `callback` with `userdata`. `callback == NULL` (or
/// `max_level == 0`) turns logging off. Events above `max_level` are not
/// even built. Events never carry key material, PINs or card data.
///
/// The callback may be called from any thread that runs a cardap call, also
/// from several at once, so it must be thread-safe. Once this function
/// returns, the previous callback is not called any more, so its user data
/// may be released. Events raised by cardap calls made from inside the
/// callback are dropped.
///
/// Errors: `CARDAP_RESULT_BUSY` when called from inside the callback.
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_set_log_callback(
    callback: cardap_log_fn,
    userdata: *mut c_void,
    max_level: u32,
) -> cardap_result {
    guard("set log callback", || {
        if IN_CALLBACK.with(Cell::get) {
            return Err(Failure::new(
                cardap_result::Busy,
                "the log callback cannot be changed from inside the log callback",
            ));
        }
        INSTALL.call_once(|| {
            let forwarder = Forwarder {
                next: AtomicU64::new(1),
                spans: Mutex::new(HashMap::new()),
            };
            // Fails only when a global subscriber is set already (a Rust
            // program linking this crate): its subscriber then gets the
            // events, and the callback gets none.
            let _ = tracing::subscriber::set_global_default(forwarder);
        });
        let level = match callback {
            Some(_) => max_level.min(5),
            None => 0,
        };
        {
            let mut sink = SINK.write().unwrap_or_else(|e| e.into_inner());
            *sink = callback.map(|callback| Sink { callback, userdata });
            MAX_LEVEL.store(level, Ordering::SeqCst);
        }
        tracing::callsite::rebuild_interest_cache();
        Ok(())
    })
}
