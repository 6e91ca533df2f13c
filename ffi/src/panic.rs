//! The panic boundary every exported body runs in: a panic becomes
//! `CARDAP_RESULT_PANIC` instead of unwinding into C (which would abort the
//! process), and a failure's message becomes the thread's last error.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::result::{Failure, cardap_result, set_last_error};

/// Runs `body`; maps its failure or panic to a result code and records the
/// message as this thread's last error, prefixed with the operation's name
/// as users know it ("read", "load profile"), not the C function's.
pub(crate) fn guard(
    name: &'static str,
    body: impl FnOnce() -> Result<(), Failure>,
) -> cardap_result {
    // AssertUnwindSafe: after a panic the handles a body touched may hold
    // half-updated state, but every handle stays memory-safe to use and to
    // free; the caller learns of the panic from the code.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => cardap_result::Ok,
        Ok(Err(failure)) => {
            set_last_error(&format!("{name}: {}", failure.message));
            failure.code
        }
        Err(_) => {
            set_last_error(&format!("{name}: internal error (panic); please report it"));
            cardap_result::Panic
        }
    }
}

/// Runs a body that returns nothing (the `_free` functions): a panic is
/// swallowed, since there is no code to return it through.
pub(crate) fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}
