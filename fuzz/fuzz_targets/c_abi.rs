//! The C ABI's text and buffer entry points: a profile and a virtual card
//! from arbitrary text, then a read and every accessor of the result.
#![no_main]

use std::ffi::c_char;
use std::ptr;

use cardap_abi::{
    cardap_context_free, cardap_context_new_virtual_card_str, cardap_context_read,
    cardap_last_error, cardap_profile_free, cardap_profile_new_from_str, cardap_record_free,
    cardap_record_to_json, cardap_record_user_id,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (profile_text, card_text) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, cardap_fuzz::DEMO_CARD.as_bytes()),
    };
    let mut profile = ptr::null_mut();
    let mut context = ptr::null_mut();
    let mut text: *const c_char = ptr::null();
    let mut len = 0usize;
    // SAFETY: every pointer is valid for the length given; out-parameters
    // are live locals; handles are freed once.
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
        let c = cardap_context_new_virtual_card_str(
            card_text.as_ptr().cast(),
            card_text.len(),
            &mut context,
        );
        if p as u32 == 0 && c as u32 == 0 {
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
