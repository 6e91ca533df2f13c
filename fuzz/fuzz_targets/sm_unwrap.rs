//! Secure-messaging unwrap with fixed session keys, in both modes and every
//! suite: arbitrary responses give an error or verified data, never a panic,
//! and a failure closes the channel.
#![no_main]

use cardap::apdu::Response;
use cardap::crypto::{SecretKey, Suite};
use cardap::sm::{SecureChannel, SmMode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let suite = [Suite::TripleDes, Suite::Aes128, Suite::Aes256][usize::from(mode % 3)];
    let sm = if mode & 4 == 0 {
        SmMode::Mac
    } else {
        SmMode::Encrypt
    };
    let key = |b: u8| SecretKey::new(vec![b; suite.key_len()]);
    let mut channel = SecureChannel::new(suite, key(1), key(2), vec![0; suite.ssc_len()], sm);
    for segment in cardap_fuzz::segments(rest) {
        let Ok(response) = Response::parse(segment) else {
            continue;
        };
        if channel.unprotect(&response).is_err() {
            assert!(!channel.is_open());
            break;
        }
    }
});
