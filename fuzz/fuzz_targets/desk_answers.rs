//! The loading desk (install, delete, move-out, list an area) facing a card
//! whose answers are arbitrary: the card-manager authentication and the
//! secure channel must refuse every made-up answer (nothing the fuzzer
//! makes up carries a valid MAC), so no operation may succeed, and nothing
//! may panic.
#![no_main]

use std::sync::OnceLock;

use cardap::issuer::{Area, InstallRequest, Issuer, KeySet};
use cardap::{ApType, Card, SecretKey, Suite, UserId};
use cardap_fuzz::{Answers, FIXED_RANDOM};
use libfuzzer_sys::fuzz_target;

const SUITES: [Suite; 3] = [Suite::TripleDes, Suite::Aes128, Suite::Aes256];

/// A desk per suite, parsed once (its registry is never opened here:
/// installs go through `install_with`).
static DESKS: OnceLock<Vec<Issuer>> = OnceLock::new();

fn key(suite: Suite, byte: u8) -> SecretKey {
    SecretKey::new(vec![byte; suite.key_len()])
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let desks = DESKS.get_or_init(|| {
        SUITES
            .iter()
            .map(|s| {
                let k = "41".repeat(s.key_len());
                let text = format!(
                    "card_manager = \"F0434152444150 4D4752\"\nsuite = \"{s}\"\nk_enc = \"{k}\"\nk_mac = \"{k}\"\nregistry = \"unused.sqlite\"\n"
                );
                Issuer::from_toml_str(&text).expect("desk")
            })
            .collect()
    });
    let suite_index = usize::from(which % 3);
    let (suite, issuer) = (SUITES[suite_index], &desks[suite_index]);
    let mut card = Card::new(Answers::new(rest)).with_random(FIXED_RANDOM.repeat(8));
    let aid = [0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x41, 0x00, 0x09];
    let area = if which & 0x80 != 0 {
        Area::Local
    } else {
        Area::Extension
    };
    let succeeded = match (which / 3) % 4 {
        0 => card.list_area(issuer, Some(area)).is_ok(),
        1 => card.delete_ap(issuer, &aid).is_ok(),
        2 => card.move_out(issuer).is_ok(),
        _ => {
            let kind = [ApType::A, ApType::C, ApType::D][usize::from((which >> 5) % 3)];
            let request = InstallRequest::new(kind, area, aid.to_vec(), "fuzz");
            let keys = || KeySet::new(suite, key(suite, 0x10), key(suite, 0x11)).expect("keys");
            let read_keys = (kind != ApType::C).then(keys);
            let user_id = UserId::parse(b"1001000000019").expect("user ID");
            card.install_with(issuer, &request, &user_id, read_keys, keys())
                .is_ok()
        }
    };
    assert!(
        !succeeded,
        "a desk operation accepted unauthenticated answers"
    );
});
