//! Fault injection at every APDU of every read and of the EF.DIR listing:
//! Type C, Type A and Type D in each suite, extended length on and off. At
//! APDU k the transport fails, loses the response after the card executed
//! the command, answers garbage, or the card is torn away. The outcome is a
//! typed error or (a read restarted after a reset or glitch) the very record
//! of a clean read — never partial or other data; nothing state-changing
//! reaches the card twice; and the next read on the same reader succeeds.
//! The helper is `cardap_sim::fault` (see its docs for other operations).
// `cfg(test)` marks the whole file as test code (clippy.toml's test allowances).
#![cfg(test)]

use cardap::{ApRecord, Card as Reader, Error, Profile};
use cardap_sim::VirtualCard;
use cardap_sim::fault::{Fault, FaultTransport};

const CARD: &str = include_str!("../bench/card.toml");
const PROFILES: [&str; 7] = [
    include_str!("../bench/profiles/c.toml"),
    include_str!("../bench/profiles/a-3des.toml"),
    include_str!("../bench/profiles/a-aes128.toml"),
    include_str!("../bench/profiles/a-aes256.toml"),
    include_str!("../bench/profiles/d-3des.toml"),
    include_str!("../bench/profiles/d-aes128.toml"),
    include_str!("../bench/profiles/d-aes256.toml"),
];

fn card() -> VirtualCard {
    VirtualCard::from_toml_str(CARD).unwrap()
}

fn profiles() -> Vec<Profile> {
    let mut out = Vec::new();
    for text in PROFILES {
        for ext in [true, false] {
            out.push(Profile::from_toml_str(&format!("extended_length = {ext}\n{text}")).unwrap());
        }
    }
    out
}

/// Same data as the clean read (the APDU count may differ after a retry).
fn same_data(a: &ApRecord, b: &ApRecord) -> bool {
    a.name() == b.name()
        && a.aid() == b.aid()
        && a.user_id() == b.user_id()
        && a.info().eq(b.info())
        && a.data() == b.data()
        && a.steps().eq(b.steps())
        && a.fields().eq(b.fields())
}

fn check_outcome<T>(r: &Result<T, Error>, fault: &Fault, ctx: &str) {
    if let Err(e) = r {
        // Typed, and not an internal error.
        let text = e.to_string();
        assert!(!text.is_empty(), "{ctx}");
    }
    if matches!(
        fault,
        Fault::TearAway | Fault::LoseResponse(cardap::transport::TransportError::CardRemoved)
    ) {
        assert!(
            r.is_err(),
            "{ctx}: a read succeeded with the card torn away"
        );
    }
}

#[test]
fn every_fault_at_every_apdu_of_every_read() {
    let mut cases = 0;
    for profile in profiles() {
        let clean = Reader::new(card()).read(&profile).unwrap();
        for k in 0..clean.apdus() {
            for fault in Fault::all() {
                let ctx = format!(
                    "{} ext={:?} k={k} {fault:?}",
                    profile.name(),
                    profile.extended_length()
                );
                let mut reader =
                    Reader::new(FaultTransport::virtual_card(card(), k, fault.clone()));
                let r = reader.read(&profile);
                check_outcome(&r, &fault, &ctx);
                if let Ok(rec) = &r {
                    assert!(same_data(rec, &clean), "{ctx}: other data {rec:?}");
                }
                assert_eq!(reader.transport().resent_state_changing(), None, "{ctx}");
                reader.transport_mut().heal();
                let again = reader
                    .read(&profile)
                    .unwrap_or_else(|e| panic!("{ctx}: next read: {e}"));
                assert!(same_data(&again, &clean), "{ctx}");
                cases += 1;
            }
        }
    }
    assert!(cases > 500, "{cases}");
}

#[test]
fn every_fault_at_every_apdu_of_the_listing() {
    let mut probe = Reader::new(FaultTransport::virtual_card(
        card(),
        usize::MAX,
        Fault::TearAway,
    ));
    let clean = probe.list().unwrap();
    let n = probe.transport().sent();
    assert!(n >= 2 && clean.len() == 7, "{n} {clean:?}");
    for k in 0..n {
        for fault in Fault::all() {
            let ctx = format!("list k={k} {fault:?}");
            let mut reader = Reader::new(FaultTransport::virtual_card(card(), k, fault.clone()));
            let r = reader.list();
            check_outcome(&r, &fault, &ctx);
            if let Ok(entries) = &r {
                assert_eq!(entries, &clean, "{ctx}");
            }
            reader.transport_mut().heal();
            assert_eq!(reader.list().unwrap(), clean, "{ctx}");
        }
    }
}

#[test]
fn state_changing_commands_are_recognised() {
    use cardap_sim::fault::is_state_changing;
    assert!(is_state_changing(&[0x00, 0x20, 0x00, 0x81]));
    assert!(is_state_changing(&[0x0C, 0xD6, 0x81, 0x00]));
    assert!(!is_state_changing(&[0x00, 0xB0, 0x81, 0x00]));
    assert!(!is_state_changing(&[0x00, 0xA4, 0x04, 0x0C]));
    let card = card();
    let mut t = FaultTransport::new(card, usize::MAX, Fault::TearAway);
    use cardap::transport::Transport;
    let verify = [0x00, 0x20, 0x00, 0x81, 0x04, 0x31, 0x32, 0x33, 0x34];
    let _ = t.transmit(&verify);
    assert_eq!(t.resent_state_changing(), None);
    let _ = t.transmit(&verify);
    assert_eq!(t.resent_state_changing(), Some(&verify[..]));
}

/// Found by the `reader_answers` fuzz target: a card that answers `90 00`
/// (an empty record) to every command. The listing stops at the last record
/// number and after its retries; it never loops.
#[test]
fn a_listing_ends_when_every_record_exists() {
    struct AlwaysOk(usize);
    impl cardap::Transport for AlwaysOk {
        fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, cardap::TransportError> {
            self.0 += 1;
            Ok(vec![0x90, 0x00])
        }
    }
    let mut reader = Reader::new(AlwaysOk(0));
    let _ = reader.list();
    let sent = reader.transport().0;
    assert!(sent <= 3 * 260, "{sent} commands");
}
