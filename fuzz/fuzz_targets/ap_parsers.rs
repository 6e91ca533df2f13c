//! The Type A, C and D parsers and EF.DIR: arbitrary file contents (after
//! any secure messaging) give a record or a typed error; every field
//! encoding decodes arbitrary bytes.
#![no_main]

use cardap::fuzzing;
use cardap::profile::Encoding;
use cardap::{Profile, fuzzing::ef_dir};
use cardap_fuzz::{PROFILES, segments};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let profile = |i: usize| Profile::from_toml_str(PROFILES[i]).expect("demo profile");
    match which % 5 {
        0 => {
            let _ = fuzzing::type_c(&profile(0), rest);
        }
        1 => {
            let _ = fuzzing::type_a(&profile(1), rest);
        }
        2 => {
            let _ = fuzzing::type_d(&profile(2), rest);
        }
        3 => {
            let records: Vec<Vec<u8>> = segments(rest).into_iter().map(<[u8]>::to_vec).collect();
            let _ = ef_dir(&records);
        }
        _ => {
            for e in [
                Encoding::Ascii,
                Encoding::Utf8,
                Encoding::ShiftJis,
                Encoding::Bcd,
                Encoding::Hex,
            ] {
                let _ = fuzzing::decode_field(e, rest);
            }
        }
    }
});
