//! The virtual card's command handler fed arbitrary APDU sequences (an empty
//! segment resets the card): every answer carries a status word.
#![no_main]

use cardap_fuzz::{DEMO_CARD, FIXED_RANDOM, segments};
use cardap_sim::VirtualCard;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut card = VirtualCard::from_toml_str(DEMO_CARD)
        .expect("demo card")
        .with_fixed_random(FIXED_RANDOM.repeat(64));
    for apdu in segments(data) {
        if apdu.is_empty() {
            card.reset();
            continue;
        }
        let response = card.process(apdu);
        assert!(response.len() >= 2, "an answer without a status word");
    }
});
