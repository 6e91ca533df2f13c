//! Serves a virtual card (a description file, PROFILE.md §10) to pcscd's
//! vsmartcard `vpcd` reader, so that programs reading through PC/SC see it in
//! a real reader. Used by `scripts/test-ffi.sh` for the bindings' end-to-end
//! runs; stop it with SIGTERM.
//!
//! ```sh
//! vpcd-card CARD.toml [PORT]   # PORT 35963 = "Virtual PCD 00 00", 35964 = "… 00 01"
//! ```

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use cardap_sim::VirtualCard;
use cardap_sim::vpcd::VpcdServer;

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let card = args
        .next()
        .ok_or("usage: vpcd-card CARD.toml [PORT]")?;
    let port = match args.next() {
        Some(p) => p.parse().map_err(|e| format!("port {p:?}: {e}"))?,
        None => 35963,
    };
    let mut card = VirtualCard::from_file(&card).map_err(|e| e.to_string())?;
    // Never set: the process serves until it is killed.
    let stop = AtomicBool::new(false);
    VpcdServer::new("127.0.0.1", port)
        .serve(&mut card, &stop, None)
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vpcd-card: {e}");
            ExitCode::FAILURE
        }
    }
}
