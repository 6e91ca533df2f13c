//! Command and response APDU parsing (with re-encoding), BER-TLV and
//! simple-TLV, the ATR's historical bytes, user IDs and APDU trace text.
#![no_main]

use cardap::apdu::{Command, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((command, encoding)) = Command::parse(data) {
        let bytes = command
            .to_bytes(encoding)
            .expect("a parsed command encodes");
        let (again, _) = Command::parse(&bytes).expect("an encoded command parses");
        assert_eq!(again, command);
    }
    if let Ok(response) = Response::parse(data) {
        assert_eq!(response.to_bytes(), data);
    }
    let _ = cardap::tlv::parse_ber_all(data);
    let mut rest = data;
    while let Ok((_, tail)) = cardap::tlv::parse_simple(rest) {
        if tail.len() >= rest.len() {
            break;
        }
        rest = tail;
    }
    let _ = cardap::atr::historical_bytes(data);
    let _ = cardap::atr::card_capabilities(data);
    let _ = cardap::atr::supports_extended_length(data);
    let _ = cardap::UserId::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(trace) = cardap::trace::Trace::parse(text) {
            let _ = cardap::trace::Trace::parse(&trace.to_text()).expect("a trace's text parses");
        }
    }
});
