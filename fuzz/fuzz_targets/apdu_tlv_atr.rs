//! Command and response APDU parsing (with re-encoding), BER-TLV and
//! simple-TLV, the ATR's historical bytes, user IDs and APDU trace text.
#![no_main]

use cardap::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bytes) = fuzzing::command_apdu(data) {
        let again = fuzzing::command_apdu(&bytes).expect("an encoded command parses");
        assert_eq!(again, bytes);
    }
    let _ = fuzzing::command_apdu_is_extended(data);
    if let Ok((len, _)) = fuzzing::response_apdu(data) {
        assert_eq!(len + 2, data.len());
    }
    let _ = fuzzing::ber_tlv(data);
    let mut rest = data;
    while let Ok((_, _, left)) = fuzzing::simple_tlv(rest) {
        if left >= rest.len() {
            break;
        }
        rest = &rest[rest.len() - left..];
    }
    let _ = fuzzing::atr_historical_bytes(data);
    let _ = fuzzing::atr_supports_extended(data);
    let _ = cardap::UserId::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(trace) = cardap::trace::Trace::parse(text) {
            let _ = cardap::trace::Trace::parse(&trace.to_text()).expect("a trace's text parses");
        }
    }
});
