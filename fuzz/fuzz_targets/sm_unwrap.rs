//! Secure-messaging unwrap with fixed session keys, in both modes and every
//! suite: arbitrary responses give an error or verified data, never a panic.
#![no_main]

use cardap::{Suite, fuzzing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (suite, key_len, ssc_len) = [
        (Suite::TripleDes, 16, 8),
        (Suite::Aes128, 16, 16),
        (Suite::Aes256, 32, 16),
    ][usize::from(mode % 3)];
    let encrypt = mode & 4 != 0;
    let (ks_enc, ks_mac, ssc) = (vec![1; key_len], vec![2; key_len], vec![0; ssc_len]);
    for segment in cardap_fuzz::segments(rest) {
        let _ = fuzzing::sm_unwrap(suite, &ks_enc, &ks_mac, &ssc, encrypt, segment);
    }
});
