//! Serves a virtual card (a description file, PROFILE.md §10) to pcscd's
//! vsmartcard `vpcd` reader, so that programs reading through PC/SC see it in
//! a real reader. Used by `scripts/test-ffi.sh` for the bindings' end-to-end
//! runs; stop it with SIGTERM.
//!
//! ```sh
//! vpcd-card CARD.toml [PORT [READER]]
//! ```
//!
//! PORT 35963 is reader `Virtual PCD 00 00`, 35964 `Virtual PCD 00 01`. With
//! READER, it prints `ready` once PC/SC sees the card in that reader (or
//! exits with an error after 15 s).

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use cardap::pcsc::PcscTransport;
use cardap_sim::VirtualCard;
use cardap_sim::vpcd::VpcdServer;

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let card = args
        .next()
        .ok_or("usage: vpcd-card CARD.toml [PORT [READER]]")?;
    let port = match args.next() {
        Some(p) => p.parse().map_err(|e| format!("port {p:?}: {e}"))?,
        None => 35963,
    };
    let reader = args.next();
    let mut card = VirtualCard::from_file(&card).map_err(|e| e.to_string())?;
    let server = std::thread::spawn(move || {
        // Never set: the process serves until it is killed.
        let stop = AtomicBool::new(false);
        VpcdServer::new("127.0.0.1", port)
            .serve(&mut card, &stop, None)
            .map_err(|e| e.to_string())
    });
    if let Some(reader) = reader {
        PcscTransport::wait_for_card(Some(&reader), Some(Duration::from_secs(15)))
            .map_err(|e| format!("{reader}: the card did not appear: {e}"))?;
        let mut out = std::io::stdout();
        writeln!(out, "ready")
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
    }
    server
        .join()
        .map_err(|_| "the server thread panicked".to_owned())?
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
