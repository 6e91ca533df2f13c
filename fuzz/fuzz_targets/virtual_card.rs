//! The virtual card's command handler fed arbitrary APDU sequences (an empty
//! segment resets the card): every answer carries a status word.
#![no_main]

use std::sync::OnceLock;

use cardap_fuzz::{DEMO_CARD, FIXED_RANDOM, segments};
use cardap_sim::{Description, VirtualCard};
use libfuzzer_sys::fuzz_target;

/// The demo card's description, parsed once: each input gets a fresh card
/// built from a copy (parsing the TOML for every input took most of the time).
static DEMO: OnceLock<Description> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let description =
        DEMO.get_or_init(|| Description::from_toml_str(DEMO_CARD).expect("demo card"));
    let mut card = VirtualCard::new(description.clone()).with_fixed_random(FIXED_RANDOM.repeat(64));
    for apdu in segments(data) {
        if apdu.is_empty() {
            card.reset();
            continue;
        }
        let response = card.process(apdu);
        assert!(response.len() >= 2, "an answer without a status word");
    }
});
