//! The C ABI's text and buffer entry points: a profile and a virtual card
//! from arbitrary text, then a read and every accessor of the result.
//!
//! An input is `profile text` or `profile text NUL card text`. With a card
//! text the context comes from `cardap_context_new_virtual_card_str`;
//! without one, from `cardap_context_new_transport` over the demo card,
//! built once and reset before each input, its answers handed back through
//! the transport callback's buffer (parsing the demo card's text again for
//! every input took half of the run's time).
#![no_main]

use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::{LazyLock, Mutex};

use cardap_abi::{
    cardap_context_free, cardap_context_new_transport, cardap_context_new_virtual_card_str,
    cardap_context_read, cardap_last_error, cardap_profile_free, cardap_profile_new_from_str,
    cardap_record_free, cardap_record_to_json, cardap_record_user_id,
};
use cardap_sim::VirtualCard;
use libfuzzer_sys::fuzz_target;

static DEMO: LazyLock<Mutex<VirtualCard>> = LazyLock::new(|| {
    Mutex::new(VirtualCard::from_toml_str(cardap_fuzz::DEMO_CARD).expect("the demo card parses"))
});

/// The transport callback: `userdata` is the demo card.
unsafe extern "C" fn transmit(
    userdata: *mut c_void,
    command: *const u8,
    command_len: usize,
    response: *mut u8,
    response_capacity: usize,
    response_len: *mut usize,
) -> u32 {
    // SAFETY: `userdata` is the locked demo card, the only reference to it
    // while the read runs; the library passes a readable command and a
    // writable response buffer of the lengths given.
    unsafe {
        let card = &mut *userdata.cast::<VirtualCard>();
        let answer = card.process(std::slice::from_raw_parts(command, command_len));
        assert!(
            answer.len() <= response_capacity,
            "the response buffer is too small"
        );
        ptr::copy_nonoverlapping(answer.as_ptr(), response, answer.len());
        *response_len = answer.len();
    }
    0
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0);
    let profile_text = split.map_or(data, |i| &data[..i]);
    let mut profile = ptr::null_mut();
    let mut context = ptr::null_mut();
    let mut text: *const c_char = ptr::null();
    let mut len = 0usize;
    let mut demo = DEMO.lock().unwrap_or_else(|e| e.into_inner());
    demo.reset();
    let atr = demo.atr();
    // SAFETY: every pointer is valid for the length given; out-parameters
    // are live locals; handles are freed once; the demo card stays locked
    // (and so alive and unshared) until the context is freed.
    unsafe {
        let p = cardap_profile_new_from_str(
            profile_text.as_ptr().cast(),
            profile_text.len(),
            &mut profile,
        );
        if p as u32 != 0 {
            cardap_last_error(&mut text, &mut len);
            assert!(!text.is_null());
        }
        let c = match split {
            Some(i) => {
                let card_text = &data[i + 1..];
                cardap_context_new_virtual_card_str(
                    card_text.as_ptr().cast(),
                    card_text.len(),
                    &mut context,
                ) as u32
            }
            None => cardap_context_new_transport(
                Some(transmit),
                ptr::from_mut::<VirtualCard>(&mut demo).cast(),
                atr.as_ptr(),
                atr.len(),
                &mut context,
            ) as u32,
        };
        if p as u32 == 0 && c == 0 {
            let mut record = ptr::null_mut();
            if cardap_context_read(context, profile, &mut record) as u32 == 0 {
                cardap_record_user_id(record, &mut text, &mut len);
                cardap_record_to_json(record, &mut text, &mut len);
                cardap_record_free(record);
            }
        }
        cardap_context_free(context);
        cardap_profile_free(profile);
    }
});
