//! SIGINT and SIGTERM end long-running commands cleanly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Sets the returned flag on SIGINT or SIGTERM and then runs `on_signal`
/// (for instance to cancel a blocking PC/SC wait).
pub fn stop_flag(on_signal: impl Fn() + Send + 'static) -> Result<Arc<AtomicBool>, String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| format!("cannot handle signals: {e}"))?;
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            flag.store(true, Ordering::SeqCst);
            on_signal();
        }
    });
    Ok(stop)
}
