//! The main job on the built-in demo card: through pcscd and the vpcd virtual
//! reader where they run (the card served by an in-process `cardap sim`), in
//! process otherwise.

use cardap::Profile;
use cardap::transport::Transport;
use cardap_sim::VirtualCard;

use crate::error::{CliError, CliResult};
use crate::{Format, OutputOpts, card, output};

/// The built-in demo card and the profiles that read it.
const DEMO_CARD: &str = include_str!("../../examples/cards/demo.toml");
const DEMO_PROFILES: [(&str, &str); 3] = [
    (
        "library.toml",
        include_str!("../../examples/profiles/library.toml"),
    ),
    (
        "kiosk.toml",
        include_str!("../../examples/profiles/kiosk.toml"),
    ),
    (
        "evacuee.toml",
        include_str!("../../examples/profiles/evacuee.toml"),
    ),
];

pub fn run(out: &OutputOpts, in_process: bool) -> CliResult {
    let profiles = DEMO_PROFILES
        .iter()
        .map(|(name, text)| {
            Profile::from_toml_str(text).map_err(|e| CliError::from(e).context(name))
        })
        .collect::<CliResult<Vec<_>>>()?;
    let card = || VirtualCard::from_toml_str(DEMO_CARD).map_err(CliError::from);
    #[cfg(feature = "pcsc")]
    if !in_process && let Some(result) = pcsc::run(card()?, out, &profiles) {
        return result;
    }
    let _ = in_process;
    note(out, "in process (no pcscd with the vpcd reader here)");
    read_all(Box::new(card()?), out, &profiles)
}

fn note(out: &OutputOpts, path: &str) {
    if out.format == Format::Text {
        outln!("built-in virtual card, {path}\n");
    } else {
        eprintln!("cardap demo: built-in virtual card, {path}");
    }
}

fn read_all(transport: Box<dyn Transport>, out: &OutputOpts, profiles: &[Profile]) -> CliResult {
    let reads = card::with_reader(transport, out, |reader| {
        profiles.iter().map(|p| reader.read(p)).collect::<Vec<_>>()
    })?;
    for r in reads {
        let rec = r?;
        output::print_record(&rec, out.format == Format::Json);
    }
    Ok(())
}

#[cfg(feature = "pcsc")]
mod pcsc {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use cardap::Profile;
    use cardap::pcsc::{PcscTransport, ReaderMonitor};
    use cardap_sim::VirtualCard;
    use cardap_sim::vpcd::VpcdServer;

    use crate::OutputOpts;

    /// The vpcd slots: reader name and the port its card connects to.
    const SLOTS: [(&str, u16); 2] = [("Virtual PCD 00 00", 35963), ("Virtual PCD 00 01", 35964)];

    /// Reads through pcscd when a free vpcd reader is there; `None` when not.
    pub fn run(
        mut card: VirtualCard,
        out: &OutputOpts,
        profiles: &[Profile],
    ) -> Option<crate::error::CliResult> {
        let readers = PcscTransport::list_readers().ok()?;
        let (name, port) = SLOTS.into_iter().find(|(name, _)| {
            readers
                .iter()
                .any(|r| r.name.eq_ignore_ascii_case(name) && !r.card_present)
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let server = VpcdServer::new("127.0.0.1", port);
        let serving = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || server.serve(&mut card, &stop, None))
        };
        let present = ReaderMonitor::new()
            .and_then(|m| m.wait_for_card(Some(name), Some(Duration::from_secs(5))))
            .is_ok();
        let result = if present {
            super::note(out, &format!("through pcscd, reader {name}"));
            Some(
                PcscTransport::connect(Some(name))
                    .map_err(|e| crate::error::CliError::from(e).context("PC/SC"))
                    .and_then(|t| super::read_all(Box::new(t), out, profiles)),
            )
        } else {
            None
        };
        stop.store(true, Ordering::SeqCst);
        let _ = serving.join();
        result
    }
}
