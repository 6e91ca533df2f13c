//! Ctrl-C (SIGINT) and SIGTERM end long-running commands cleanly, on every
//! platform (the `ctrlc` crate: signals on Unix, console events on Windows).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Sets the returned flag on Ctrl-C or SIGTERM and then runs `on_signal`
/// (for instance to cancel a blocking PC/SC wait). The handler is
/// process-wide: one command installs it once.
pub fn stop_flag(on_signal: impl Fn() + Send + 'static) -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        // Only the first signal acts; later ones find the flag set.
        if !flag.swap(true, Ordering::SeqCst) {
            on_signal();
        }
    })
    .map_err(|e| format!("cannot handle signals: {e}"))?;
    Ok(stop)
}
