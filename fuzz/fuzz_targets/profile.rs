//! Profile files: arbitrary text gives a profile or a typed error, and the
//! error never echoes a value of the text (key material stays out of errors).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = cardap::Profile::from_toml_str(text).map_err(|e| e.to_string());
});
