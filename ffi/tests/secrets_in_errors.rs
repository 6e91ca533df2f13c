//! The C ABI's error text never echoes profile values: a key pasted into an
//! environment-variable name, into `suite`, or behind an escaped key name.
// `cfg(test)` marks the whole file as test code (clippy.toml's test allowances).
#![cfg(test)]
#![allow(unsafe_code)]

use std::ffi::c_char;
use std::ptr::{null, null_mut};

use cardap::{cardap_last_error, cardap_profile_free, cardap_profile_new_from_str};

const KEY: &str = "000102030405060708090A0B0C0D0E0F";

fn error_for(text: &str) -> String {
    let mut handle = null_mut();
    // SAFETY: `text` is valid for its length; the out-parameter is a local.
    let r = unsafe { cardap_profile_new_from_str(text.as_ptr().cast(), text.len(), &mut handle) };
    assert_ne!(r as u32, 0, "accepted: {text}");
    // SAFETY: NULL is allowed.
    unsafe { cardap_profile_free(handle) };
    let (mut p, mut n): (*const c_char, usize) = (null(), 0);
    // SAFETY: valid out-parameters; the text lives until the next failing call.
    unsafe { cardap_last_error(&mut p, &mut n) };
    // SAFETY: the library returned `n` readable bytes at `p`.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), n) };
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn profile_errors_through_the_c_abi_do_not_echo_values() {
    let head = "name = \"kiosk\"\ntype = \"A\"\naid = \"F0434152444150410007\"\n[auth]\n";
    for (auth, secret) in [
        (
            format!("suite = \"aes128\"\nk_enc_env = \"{KEY}\"\nk_mac = \"{KEY}\""),
            KEY,
        ),
        (
            format!("suite = \"{KEY}\"\nk_enc = \"{KEY}\"\nk_mac = \"{KEY}\""),
            KEY,
        ),
        (
            format!("suite = \"aes128\"\n\"k\\u005Fenc\" = 1234567\nk_mac = \"{KEY}\""),
            "1234567",
        ),
    ] {
        let e = error_for(&format!("{head}{auth}\n"));
        assert!(!e.is_empty());
        assert!(!e.contains(secret), "{e}");
    }
}
