//! Virtual card descriptions: arbitrary text gives a card or a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mut card) = cardap_sim::VirtualCard::from_toml_str(text) {
        let _ = card.atr();
        let _ = card.process(&[0x00, 0xA4, 0x00, 0x0C, 0x02, 0x2F, 0x00]);
        let _ = card.process(&[0x00, 0xB2, 0x01, 0x04, 0x00]);
    }
});
