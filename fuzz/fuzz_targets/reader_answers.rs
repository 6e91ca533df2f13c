//! A reader facing a card whose answers are arbitrary: Type C, A and D reads
//! and the EF.DIR listing, through the whole send path (61xx, 6Cxx, the short
//! fallback, retries). Types A and D must never return data: nothing the
//! fuzzer makes up carries a valid MAC.
#![no_main]

use cardap::{Card as Reader, Profile};
use cardap_fuzz::{Answers, FIXED_RANDOM, PROFILES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, answers)) = data.split_first() else {
        return;
    };
    let mut reader = Reader::new(Answers::new(answers)).with_random(FIXED_RANDOM.repeat(4));
    match which % 4 {
        3 => {
            let _ = reader.list();
        }
        i => {
            let text = PROFILES[usize::from(i)];
            let profile = Profile::from_toml_str(text).expect("demo profile");
            let result = reader.read(&profile);
            if i > 0 {
                assert!(result.is_err(), "unauthenticated data accepted");
            }
        }
    }
    // A listing reads up to 254 records per attempt (found by this target:
    // a card answering 90 00 to every READ RECORD); three attempts at most.
    assert!(reader.transport().sent <= 3 * 260, "too many commands");
});
