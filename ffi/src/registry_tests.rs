//! The registry's C ABI from Rust, through the exported functions only:
//! decisions, checks, imports, statuses, members, registration from a
//! virtual card, error codes, and a reader thread during an import on
//! another handle.
#![cfg(feature = "virtual-card")]

use std::ffi::c_char;
use std::ptr::{null, null_mut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::*;

use cardap_result as R;

const DEMO_CARD: &str = include_str!("../../examples/cards/demo.toml");
const LIBRARY: &str = include_str!("../../examples/profiles/library.toml");

fn cs(s: &str) -> *const c_char {
    s.as_ptr().cast()
}

fn string(ptr: *const c_char, len: usize) -> String {
    assert!(!ptr.is_null());
    // SAFETY: the library hands out `len` readable bytes followed by a NUL.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len + 1) };
    assert_eq!(bytes[len], 0);
    String::from_utf8(bytes[..len].to_vec()).unwrap()
}

fn last_error() -> String {
    let (mut p, mut n) = (null(), 0);
    // SAFETY: valid out-parameters.
    assert_eq!(unsafe { cardap_last_error(&mut p, &mut n) }, R::Ok);
    string(p, n)
}

/// The check digit of PROFILE.md §3 for 12 digits (weights 2…7 from the
/// right, `11 - s mod 11`, 0 when the remainder is 0 or 1).
fn check_digit(body: &str) -> u32 {
    let s: u32 = body
        .bytes()
        .rev()
        .zip([2u32, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let r = s % 11;
    if r <= 1 { 0 } else { 11 - r }
}

fn uid(n: u64) -> String {
    let body = format!("{n:012}");
    let check = check_digit(&body);
    format!("{body}{check}")
}

/// A registry handle that frees itself.
struct Registry(*mut cardap_registry);

// SAFETY: a registry handle may be used from any thread (its state is
// behind a lock); the tests use each from one thread at a time anyway.
unsafe impl Send for Registry {}

impl Registry {
    fn open(location: &str) -> Self {
        let mut r = null_mut();
        // SAFETY: valid text and out-parameter.
        let code = unsafe { cardap_registry_open(cs(location), location.len(), &mut r) };
        assert_eq!(code, R::Ok, "{}", last_error());
        Self(r)
    }

    fn check(&self, id: &str) -> serde_json::Value {
        let (mut p, mut n) = (null(), 0);
        // SAFETY: valid handle, text and out-parameters.
        let code = unsafe { cardap_registry_check(self.0, cs(id), id.len(), &mut p, &mut n) };
        assert_eq!(code, R::Ok, "{}", last_error());
        serde_json::from_str(&string(p, n)).unwrap()
    }

    fn decide(&self, id: &str, ap: &str) -> (cardap_decision, serde_json::Value) {
        let mut d = cardap_decision {
            allow: true,
            reason: cardap_deny_reason::None,
            source: cardap_status_source::None,
        };
        let (mut p, mut n) = (null(), 0);
        // SAFETY: valid handle, texts and out-parameters.
        let code = unsafe {
            cardap_registry_decide(
                self.0,
                cs(id),
                id.len(),
                cs(ap),
                ap.len(),
                &mut d,
                &mut p,
                &mut n,
            )
        };
        assert_eq!(code, R::Ok, "{}", last_error());
        (d, serde_json::from_str(&string(p, n)).unwrap())
    }

    fn import(&self, path: &str, mode: u32) -> Result<serde_json::Value, R> {
        let (mut p, mut n) = (null(), 0);
        // SAFETY: valid handle, text and out-parameters.
        let code =
            unsafe { cardap_registry_import(self.0, cs(path), path.len(), mode, &mut p, &mut n) };
        if code == R::Ok {
            Ok(serde_json::from_str(&string(p, n)).unwrap())
        } else {
            Err(code)
        }
    }

    fn add(&self, id: &str, ap: &str, member: &str) -> R {
        // SAFETY: valid handle and texts; no label.
        unsafe {
            cardap_registry_add_member(
                self.0,
                cs(id),
                id.len(),
                cs(ap),
                ap.len(),
                cs(member),
                member.len(),
                null(),
                0,
            )
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // SAFETY: a handle from cardap_registry_open, used by nobody else now.
        unsafe { cardap_registry_free(self.0) }
    }
}

fn feed(
    dir: &std::path::Path,
    name: &str,
    rows: impl Iterator<Item = (u64, &'static str)>,
) -> String {
    let mut text = String::from("user_id,status,updated_at\n");
    for (n, status) in rows {
        text.push_str(&format!("{},{status},2026-11-30T00:00:00Z\n", uid(n)));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn decide_check_import_and_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db").display().to_string();
    let reg = Registry::open(&db);
    assert_eq!(reg.add(&uid(1), "city-library", "M-1"), R::Ok);
    assert_eq!(reg.add(&uid(2), "city-library", "M-2"), R::Ok);
    assert_eq!(reg.add(&uid(1), "city-library", "M-9"), R::MemberExists);
    assert!(last_error().contains("M-1"));

    let (d, j) = reg.decide(&uid(1), "city-library");
    assert_eq!(
        (d.allow, d.reason, d.source),
        (true, cardap_deny_reason::None, cardap_status_source::None)
    );
    assert_eq!(j["member"], "M-1");
    let (d, _) = reg.decide(&uid(1), "gym");
    assert_eq!(d.reason, cardap_deny_reason::WrongAp);
    let (d, j) = reg.decide(&uid(3), "city-library");
    assert_eq!(
        (d.allow, d.reason),
        (false, cardap_deny_reason::UnknownUser)
    );
    assert_eq!(j["reason"], "unknown_user");

    let f = feed(
        dir.path(),
        "f.csv",
        [(1, "suspended"), (2, "abolished")].into_iter(),
    );
    let report = reg.import(&f, CARDAP_IMPORT_FULL).unwrap();
    assert_eq!(report["changed"], 2);
    assert_eq!(reg.import(&f, CARDAP_IMPORT_FULL).unwrap()["changed"], 0);
    let (d, _) = reg.decide(&uid(1), "city-library");
    assert_eq!(
        (d.allow, d.reason, d.source),
        (
            false,
            cardap_deny_reason::Suspended,
            cardap_status_source::Feed
        )
    );
    let (d, _) = reg.decide(&uid(2), "city-library");
    assert_eq!(d.reason, cardap_deny_reason::Abolished);
    let c = reg.check(&uid(1));
    assert_eq!(
        c,
        serde_json::json!({"user_id": uid(1), "status": "suspended", "source": "feed",
                                     "updated_at": "2026-11-30T00:00:00Z"})
    );
    // The provider lifts it at once; clearing gives the feed back.
    let id = uid(1);
    // SAFETY: valid handle and text.
    let code =
        unsafe { cardap_registry_set_status(reg.0, cs(&id), id.len(), CARDAP_CARD_STATUS_ACTIVE) };
    assert_eq!(code, R::Ok);
    let (d, _) = reg.decide(&id, "city-library");
    assert_eq!((d.allow, d.source), (true, cardap_status_source::Provider));
    // SAFETY: valid handle and text.
    let code = unsafe { cardap_registry_clear_status(reg.0, cs(&id), id.len()) };
    assert_eq!(code, R::Ok);
    assert_eq!(reg.check(&id)["source"], "feed");
    assert_eq!(reg.check(&uid(5))["status"], "unlisted");

    // Errors: a bad ID, a bad status, a bad mode, a malformed feed, no file.
    let bad = "1001000000010";
    let (mut p, mut n) = (null(), 0);
    // SAFETY: valid handle, text and out-parameters.
    let code = unsafe { cardap_registry_check(reg.0, cs(bad), bad.len(), &mut p, &mut n) };
    assert_eq!(code, R::InvalidArgument);
    assert!(last_error().contains("check digit"));
    // SAFETY: valid handle and text.
    let code = unsafe { cardap_registry_set_status(reg.0, cs(&id), id.len(), 9) };
    assert_eq!(code, R::InvalidArgument);
    assert_eq!(reg.import(&f, 7), Err(R::InvalidArgument));
    let broken = dir.path().join("broken.csv");
    std::fs::write(
        &broken,
        format!(
            "user_id,status,updated_at\n{},lost,2026-01-01T00:00:00Z\n",
            uid(1)
        ),
    )
    .unwrap();
    assert_eq!(
        reg.import(&broken.display().to_string(), CARDAP_IMPORT_DELTA),
        Err(R::FeedInvalid)
    );
    assert!(last_error().contains("line 2: unknown status"));
    assert_eq!(
        reg.import("/nonexistent.csv", CARDAP_IMPORT_DELTA),
        Err(R::FeedIo)
    );
    assert_eq!(reg.check(&uid(1))["status"], "suspended");
    // A location that cannot be opened, and NULL handles.
    let mut r = null_mut();
    let nowhere = "/nonexistent/dir/r.db";
    // SAFETY: valid text and out-parameter.
    let code = unsafe { cardap_registry_open(cs(nowhere), nowhere.len(), &mut r) };
    assert_eq!(code, R::RegistryStore);
    assert!(r.is_null());
    // SAFETY: NULL handle.
    let code = unsafe { cardap_registry_clear_status(null_mut(), cs(&id), id.len()) };
    assert_eq!(code, R::NullParameter);
    // SAFETY: NULL is ignored.
    unsafe { cardap_registry_free(null_mut()) };
}

#[test]
fn register_reads_the_card_and_links_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db").display().to_string();
    let reg = Registry::open(&db);
    let (mut ctx, mut prof) = (null_mut(), null_mut());
    // SAFETY: valid texts and out-parameters.
    unsafe {
        assert_eq!(
            cardap_context_new_virtual_card_str(cs(DEMO_CARD), DEMO_CARD.len(), &mut ctx),
            R::Ok
        );
        assert_eq!(
            cardap_profile_new_from_str(cs(LIBRARY), LIBRARY.len(), &mut prof),
            R::Ok
        );
    }
    let member = "M-0001";
    let (mut p, mut n) = (null(), 0);
    // SAFETY: valid handles, texts and out-parameters.
    let code = unsafe {
        cardap_registry_register(
            reg.0,
            ctx,
            prof,
            cs(member),
            member.len(),
            cs("Hanako"),
            6,
            &mut p,
            &mut n,
        )
    };
    assert_eq!(code, R::Ok, "{}", last_error());
    let j: serde_json::Value = serde_json::from_str(&string(p, n)).unwrap();
    assert_eq!(
        j,
        serde_json::json!({"user_id": "1001000000019", "ap": "city-library",
                                     "member": "M-0001", "label": "Hanako"})
    );
    // The same card again: already registered.
    // SAFETY: as above; no JSON asked.
    let code = unsafe {
        cardap_registry_register(
            reg.0,
            ctx,
            prof,
            cs(member),
            member.len(),
            null(),
            0,
            null_mut(),
            null_mut(),
        )
    };
    assert_eq!(code, R::MemberExists);
    let (d, _) = reg.decide("1001000000019", "city-library");
    assert!(d.allow);
    // SAFETY: handles from the constructors above.
    unsafe {
        cardap_context_free(ctx);
        cardap_profile_free(prof);
    }
}

/// A gate thread decides on its own handle while another thread imports on
/// another: every decision is the old list's or the new one's, and once new,
/// never old again.
#[test]
fn a_reader_thread_during_an_import_on_another_handle() {
    const N: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db").display().to_string();
    let importer = Registry::open(&db);
    let old = feed(dir.path(), "old.csv", (1..=N).map(|n| (n, "active")));
    let new = feed(dir.path(), "new.csv", (1..=N).map(|n| (n, "suspended")));
    importer.import(&old, CARDAP_IMPORT_FULL).unwrap();
    assert_eq!(importer.add(&uid(N), "city-library", "M-N"), R::Ok);
    assert_eq!(importer.add(&uid(1), "city-library", "M-1"), R::Ok);

    let gate = Registry::open(&db);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let reader = std::thread::spawn(move || {
        let (mut seen_new, mut decisions) = (false, 0u32);
        loop {
            let done = flag.load(Ordering::SeqCst);
            for n in [N, 1] {
                let (d, _) = gate.decide(&uid(n), "city-library");
                match d.reason {
                    cardap_deny_reason::Suspended => seen_new = true,
                    cardap_deny_reason::None => assert!(!seen_new, "old after new"),
                    other => panic!("{other:?}"),
                }
                decisions += 1;
            }
            if done {
                return (decisions, seen_new);
            }
        }
    });
    importer.import(&new, CARDAP_IMPORT_FULL).unwrap();
    stop.store(true, Ordering::SeqCst);
    let (decisions, seen_new) = reader.join().unwrap();
    assert!(decisions > 2 && seen_new, "{decisions} decisions");
}
