//! The embedding hooks and the handle and context guarantees, exercised
//! through the exported functions: a caller-supplied transport, a key
//! provider, the log callback, cancellation, stale handles and a context
//! shared by two threads. They need virtual cards (cargo feature
//! `virtual-card`).
#![cfg(feature = "virtual-card")]

use std::ffi::{c_char, c_void};
use std::ptr::{null, null_mut};
use std::sync::Mutex;

use cardap_core::transport::Transport;
use cardap_core::{KeyProvider, SecretKey, StaticKeys, Suite};
use cardap_sim::VirtualCard;

use crate::*;

use cardap_result as R;

const DEMO_CARD: &str = include_str!("../../examples/cards/demo.toml");
const LIBRARY: &str = include_str!("../../examples/profiles/library.toml");
const KIOSK: &str = include_str!("../../examples/profiles/kiosk.toml");
const EVACUEE: &str = include_str!("../../examples/profiles/evacuee.toml");

fn cs(s: &str) -> *const c_char {
    s.as_ptr().cast()
}

fn string(ptr: *const c_char, len: usize) -> String {
    // SAFETY: the library hands out `len` readable bytes.
    let b = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    String::from_utf8(b.to_vec()).unwrap()
}

fn last_error() -> String {
    let (mut p, mut n) = (null(), 0);
    // SAFETY: valid out-parameters.
    assert_eq!(unsafe { cardap_last_error(&mut p, &mut n) }, R::Ok);
    string(p, n)
}

fn profile(text: &str) -> *mut cardap_profile {
    let mut p = null_mut();
    // SAFETY: valid text and out-parameter.
    let r = unsafe { cardap_profile_new_from_str(cs(text), text.len(), &mut p) };
    assert_eq!(r, R::Ok, "{}", last_error());
    p
}

fn json(rec: *const cardap_record) -> Result<String, R> {
    let (mut p, mut n) = (null(), 0);
    // SAFETY: valid out-parameters; the handle may be stale (that is tested).
    match unsafe { cardap_record_to_json(rec, &mut p, &mut n) } {
        R::Ok => Ok(string(p, n)),
        code => Err(code),
    }
}

/// The JSON `cardap_context_read` gives for a profile on the demo card.
fn expected(profile_text: &str) -> String {
    let mut ctx = null_mut();
    let p = profile(profile_text);
    let mut rec = null_mut();
    // SAFETY: valid arguments; every handle freed once.
    unsafe {
        assert_eq!(
            cardap_context_new_virtual_card_str(cs(DEMO_CARD), DEMO_CARD.len(), &mut ctx),
            R::Ok
        );
        assert_eq!(cardap_context_read(ctx, p, &mut rec), R::Ok);
        let out = json(rec).unwrap();
        cardap_record_free(rec);
        cardap_profile_free(p);
        cardap_context_free(ctx);
        out
    }
}

/// The user data of the test transport: a virtual card, and a code to fail
/// with (0: answer).
struct CardSide {
    card: Mutex<VirtualCard>,
    fail_with: u32,
    overlong: bool,
}

unsafe extern "C" fn transmit(
    userdata: *mut c_void,
    command: *const u8,
    command_len: usize,
    response: *mut u8,
    capacity: usize,
    response_len: *mut usize,
) -> u32 {
    // SAFETY: the test passes a live `CardSide` as user data.
    let side = unsafe { &*userdata.cast::<CardSide>() };
    if side.fail_with != 0 {
        return side.fail_with;
    }
    // SAFETY: the library passes `command_len` readable bytes.
    let command = unsafe { std::slice::from_raw_parts(command, command_len) };
    let answer = side.card.lock().unwrap().transmit(command).unwrap();
    assert!(answer.len() <= capacity);
    assert_eq!(capacity, 65538);
    // SAFETY: `response` is writable for `capacity` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(answer.as_ptr(), response, answer.len());
        *response_len = if side.overlong {
            capacity + 1
        } else {
            answer.len()
        };
    }
    0
}

fn side(fail_with: u32, overlong: bool) -> Box<CardSide> {
    Box::new(CardSide {
        card: Mutex::new(VirtualCard::from_toml_str(DEMO_CARD).unwrap()),
        fail_with,
        overlong,
    })
}

fn transport_context(side: &CardSide, atr: Option<&[u8]>) -> *mut cardap_context {
    let mut ctx = null_mut();
    let (p, n) = atr.map_or((null(), 0), |a| (a.as_ptr(), a.len()));
    // SAFETY: a live callback and user data that outlives the context.
    let r = unsafe {
        cardap_context_new_transport(
            Some(transmit),
            std::ptr::from_ref(side).cast_mut().cast(),
            p,
            n,
            &mut ctx,
        )
    };
    assert_eq!(r, R::Ok, "{}", last_error());
    ctx
}

fn read_with(
    ctx: *mut cardap_context,
    p: *const cardap_profile,
    keys: Option<*const cardap_key_provider>,
) -> Result<String, R> {
    let mut rec = null_mut();
    // SAFETY: live handles and a valid out-parameter.
    let code = unsafe {
        match keys {
            Some(k) => cardap_context_read_with_keys(ctx, p, k, &mut rec),
            None => cardap_context_read(ctx, p, &mut rec),
        }
    };
    if code != R::Ok {
        assert!(rec.is_null());
        return Err(code);
    }
    let out = json(rec);
    // SAFETY: a live record, freed once.
    unsafe { cardap_record_free(rec) };
    out
}

#[test]
fn a_caller_transport_reads_types_c_a_and_d() {
    let s = side(0, false);
    let atr = VirtualCard::from_toml_str(DEMO_CARD).unwrap().atr();
    let ctx = transport_context(&s, Some(&atr));
    for text in [LIBRARY, KIOSK, EVACUEE] {
        let p = profile(text);
        assert_eq!(read_with(ctx, p, None), Ok(expected(text)));
        // SAFETY: a live profile, freed once.
        unsafe { cardap_profile_free(p) };
    }
    // Without an ATR too (short APDUs then).
    let ctx2 = transport_context(&s, None);
    let p = profile(LIBRARY);
    assert_eq!(read_with(ctx2, p, None), Ok(expected(LIBRARY)));
    // SAFETY: live handles, each freed once.
    unsafe {
        cardap_profile_free(p);
        cardap_context_free(ctx);
        cardap_context_free(ctx2);
    }
}

#[test]
fn transport_errors_become_their_codes() {
    let p = profile(LIBRARY);
    for (code, want) in [
        (R::CardRemoved as u32, R::CardRemoved),
        (R::NoCard as u32, R::NoCard),
        (R::Timeout as u32, R::Timeout),
        (R::Cancelled as u32, R::Cancelled),
        (R::NotCarried as u32, R::NotCarried),
        (R::ApNotFound as u32, R::TransportFailure),
        (12345, R::TransportFailure),
    ] {
        let s = side(code, false);
        let ctx = transport_context(&s, None);
        assert_eq!(read_with(ctx, p, None), Err(want), "callback code {code}");
        // SAFETY: a live context, freed once.
        unsafe { cardap_context_free(ctx) };
    }
    // A length over the capacity is an error, never an overflow.
    let s = side(0, true);
    let ctx = transport_context(&s, None);
    assert_eq!(read_with(ctx, p, None), Err(R::TransportFailure));
    assert!(last_error().contains("65539"), "{}", last_error());
    // SAFETY: valid arguments; the handles are freed once.
    unsafe {
        let mut c = null_mut();
        assert_eq!(
            cardap_context_new_transport(None, null_mut(), null(), 0, &mut c),
            R::NullParameter
        );
        assert_eq!(
            cardap_context_new_transport(Some(transmit), null_mut(), null(), 3, &mut c),
            R::NullParameter
        );
        let long = [0u8; 34];
        assert_eq!(
            cardap_context_new_transport(Some(transmit), null_mut(), long.as_ptr(), 34, &mut c),
            R::TooLong
        );
        assert!(c.is_null());
        cardap_context_free(ctx);
        cardap_profile_free(p);
    }
}

/// A key provider's user data: the keys, held outside the library, and
/// what was asked of them.
struct Hsm {
    keys: StaticKeys,
    calls: Mutex<Vec<&'static str>>,
    fail_mac: bool,
}

unsafe fn hsm<'a>(userdata: *mut c_void) -> &'a Hsm {
    // SAFETY: the test passes a live `Hsm` as user data.
    unsafe { &*userdata.cast::<Hsm>() }
}

unsafe extern "C" fn hsm_cipher(
    decrypt: bool,
    userdata: *mut c_void,
    input: *const u8,
    input_len: usize,
    output: *mut u8,
    capacity: usize,
    output_len: *mut usize,
) -> u32 {
    // SAFETY: forwarded from the library's call.
    let h = unsafe { hsm(userdata) };
    // SAFETY: the library passes `input_len` readable bytes.
    let input = unsafe { std::slice::from_raw_parts(input, input_len) };
    let out = if decrypt {
        h.calls.lock().unwrap().push("decrypt");
        h.keys.decrypt(input).unwrap().to_vec()
    } else {
        h.calls.lock().unwrap().push("encrypt");
        h.keys.encrypt(input).unwrap()
    };
    assert_eq!(capacity, out.len());
    // SAFETY: `output` is writable for `capacity` bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(out.as_ptr(), output, out.len());
        *output_len = out.len();
    }
    0
}

unsafe extern "C" fn hsm_encrypt(
    u: *mut c_void,
    i: *const u8,
    n: usize,
    o: *mut u8,
    c: usize,
    l: *mut usize,
) -> u32 {
    // SAFETY: forwarded.
    unsafe { hsm_cipher(false, u, i, n, o, c, l) }
}

unsafe extern "C" fn hsm_decrypt(
    u: *mut c_void,
    i: *const u8,
    n: usize,
    o: *mut u8,
    c: usize,
    l: *mut usize,
) -> u32 {
    // SAFETY: forwarded.
    unsafe { hsm_cipher(true, u, i, n, o, c, l) }
}

unsafe extern "C" fn hsm_mac(u: *mut c_void, input: *const u8, n: usize, mac: *mut u8) -> u32 {
    // SAFETY: forwarded from the library's call.
    let h = unsafe { hsm(u) };
    if h.fail_mac {
        return R::Crypto as u32;
    }
    h.calls.lock().unwrap().push("mac");
    // SAFETY: `input` is readable for `n` bytes, `mac` writable for 8.
    unsafe {
        let m = h.keys.mac(std::slice::from_raw_parts(input, n)).unwrap();
        std::ptr::copy_nonoverlapping(m.as_ptr(), mac, 8);
    }
    0
}

fn hsm_with(suite: Suite, k_enc: &str, k_mac: &str, fail_mac: bool) -> Box<Hsm> {
    Box::new(Hsm {
        keys: StaticKeys::new(
            suite,
            SecretKey::from_hex(k_enc).unwrap(),
            SecretKey::from_hex(k_mac).unwrap(),
        )
        .unwrap(),
        calls: Mutex::new(Vec::new()),
        fail_mac,
    })
}

fn provider(suite: u32, h: &Hsm) -> *mut cardap_key_provider {
    let mut k = null_mut();
    // SAFETY: live callbacks; the user data outlives the provider.
    let r = unsafe {
        cardap_key_provider_new(
            suite,
            Some(hsm_encrypt),
            Some(hsm_decrypt),
            Some(hsm_mac),
            std::ptr::from_ref(h).cast_mut().cast(),
            &mut k,
        )
    };
    assert_eq!(r, R::Ok, "{}", last_error());
    k
}

/// A profile with its key lines taken out.
fn keyless(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("k_enc") && !l.starts_with("k_mac"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_key_provider_authenticates_type_a_and_d_without_keys_in_the_profile() {
    let kiosk_keys = (
        "000102030405060708090A0B0C0D0E0F",
        "101112131415161718191A1B1C1D1E1F",
    );
    let evacuee_keys = (
        "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F",
        "606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F",
    );
    let mut ctx = null_mut();
    // SAFETY: valid text and out-parameter.
    unsafe {
        assert_eq!(
            cardap_context_new_virtual_card_str(cs(DEMO_CARD), DEMO_CARD.len(), &mut ctx),
            R::Ok
        );
    }
    for (text, suite, code, (e, m)) in [
        (KIOSK, Suite::Aes128, 2, kiosk_keys),
        (EVACUEE, Suite::Aes256, 3, evacuee_keys),
    ] {
        let p = profile(&keyless(text));
        // Without keys the read is refused.
        assert_eq!(read_with(ctx, p, None), Err(R::NoKeys));
        let h = hsm_with(suite, e, m, false);
        let k = provider(code, &h);
        assert_eq!(read_with(ctx, p, Some(k)), Ok(expected(text)));
        assert_eq!(
            *h.calls.lock().unwrap(),
            ["encrypt", "mac", "mac", "decrypt"],
            "the provider did the authentication's key operations"
        );
        // A provider of another suite fails the authentication.
        let other = provider(if code == 2 { 3 } else { 2 }, &h);
        assert_eq!(read_with(ctx, p, Some(other)), Err(R::AuthFailed));
        // A failing callback too.
        let failing = hsm_with(suite, e, m, true);
        let f = provider(code, &failing);
        assert_eq!(read_with(ctx, p, Some(f)), Err(R::AuthFailed));
        assert!(last_error().contains("mac callback"), "{}", last_error());
        // SAFETY: live handles, each freed once.
        unsafe {
            cardap_key_provider_free(k);
            cardap_key_provider_free(other);
            cardap_key_provider_free(f);
            cardap_profile_free(p);
        }
    }
    // Bad arguments.
    let h = hsm_with(Suite::Aes128, kiosk_keys.0, kiosk_keys.1, false);
    let mut k = null_mut();
    // SAFETY: valid out-parameters.
    unsafe {
        let u = std::ptr::from_ref(&*h).cast_mut().cast();
        let e = Some(hsm_encrypt as unsafe extern "C" fn(_, _, _, _, _, _) -> _);
        let d = Some(hsm_decrypt as unsafe extern "C" fn(_, _, _, _, _, _) -> _);
        let m = Some(hsm_mac as unsafe extern "C" fn(_, _, _, _) -> _);
        assert_eq!(
            cardap_key_provider_new(0, e, d, m, u, &mut k),
            R::InvalidArgument
        );
        assert_eq!(
            cardap_key_provider_new(4, e, d, m, u, &mut k),
            R::InvalidArgument
        );
        assert_eq!(
            cardap_key_provider_new(2, None, d, m, u, &mut k),
            R::NullParameter
        );
        assert_eq!(
            cardap_key_provider_new(2, e, None, m, u, &mut k),
            R::NullParameter
        );
        assert_eq!(
            cardap_key_provider_new(2, e, d, None, u, &mut k),
            R::NullParameter
        );
        assert_eq!(
            cardap_key_provider_new(2, e, d, m, u, null_mut()),
            R::NullParameter
        );
        assert!(k.is_null());
        let mut rec = null_mut();
        let p = profile(KIOSK);
        assert_eq!(
            cardap_context_read_with_keys(ctx, p, null(), &mut rec),
            R::NullParameter
        );
        cardap_profile_free(p);
        cardap_context_free(ctx);
    }
}

/// What the log callback received.
static EVENTS: Mutex<Vec<(u32, String, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn log_event(
    userdata: *mut c_void,
    level: u32,
    target: *const c_char,
    target_len: usize,
    message: *const c_char,
    message_len: usize,
) {
    assert_eq!(userdata.addr(), 0x5EED);
    EVENTS.lock().unwrap().push((
        level,
        string(target, target_len),
        string(message, message_len),
    ));
}

#[test]
fn the_log_callback_gets_events_up_to_its_level_and_never_keys() {
    let userdata = std::ptr::without_provenance_mut(0x5EED);
    assert_eq!(
        // SAFETY: a live callback (or NULL); the user data is a tag.
        unsafe { cardap_set_log_callback(Some(log_event), userdata, 4) },
        R::Ok
    );
    for text in [LIBRARY, KIOSK, EVACUEE] {
        expected(text);
    }
    // A failing read logs a warning naming the operation.
    let absent = profile(&LIBRARY.replace("43 00 01", "43 00 99"));
    let mut ctx = null_mut();
    // SAFETY: valid arguments.
    unsafe {
        assert_eq!(
            cardap_context_new_virtual_card_str(cs(DEMO_CARD), DEMO_CARD.len(), &mut ctx),
            R::Ok
        );
    }
    assert_eq!(read_with(ctx, absent, None), Err(R::ApNotFound));
    // Events inside spans (the core's operations) name them and their fields.
    tracing::info_span!("read", ap = "city-library").in_scope(|| {
        tracing::info!(target: "cardap::test", apdus = 2, "inside");
    });
    // Info and above only.
    assert_eq!(
        // SAFETY: a live callback (or NULL); the user data is a tag.
        unsafe { cardap_set_log_callback(Some(log_event), userdata, 3) },
        R::Ok
    );
    let before = EVENTS.lock().unwrap().len();
    expected(LIBRARY);
    // Off.
    assert_eq!(
        // SAFETY: a live callback (or NULL); the user data is a tag.
        unsafe { cardap_set_log_callback(None, null_mut(), 5) },
        R::Ok
    );
    let at_off = EVENTS.lock().unwrap().len();
    expected(KIOSK);
    let events = EVENTS.lock().unwrap().clone();
    assert_eq!(events.len(), at_off, "no event once the callback is off");
    let ours = |e: &&(u32, String, String)| e.1 == "cardap::ffi";
    assert!(
        events
            .iter()
            .filter(ours)
            .any(|e| e.0 == 3 && e.2 == "read: AP staff-kiosk read in 4 APDUs"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .filter(ours)
            .any(|e| e.0 == 4 && e.2.starts_with("read: AP evacuee-record (type D")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .filter(ours)
            .any(|e| e.0 == 2 && e.2.starts_with("read: AP F0434152444150430099")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.1 == "cardap::test" && e.2 == "read{ap=city-library}: inside apdus=2"),
        "{events:?}"
    );
    let later = events.get(before..at_off).unwrap();
    assert!(!later.is_empty());
    assert!(later.iter().all(|e| e.0 <= 3), "{later:?}");
    // No key of the demo profiles, in any spelling, in any event.
    for e in &events {
        let text = e.2.to_uppercase().replace(' ', "");
        for key in [
            "000102030405060708090A0B0C0D0E0F",
            "101112131415161718191A1B1C1D1E1F",
            "404142434445464748494A4B",
            "606162636465666768696A6B",
        ] {
            assert!(!text.contains(key), "key material in {e:?}");
        }
    }
    // SAFETY: live handles, each freed once.
    unsafe {
        cardap_profile_free(absent);
        cardap_context_free(ctx);
    }
}

#[test]
fn a_stale_record_handle_never_reaches_another_record() {
    let s = side(0, false);
    let ctx = transport_context(&s, None);
    let lib = profile(LIBRARY);
    let kiosk = profile(KIOSK);
    let mut first = null_mut();
    let mut second = null_mut();
    // SAFETY: live handles; the stale handle is passed on purpose, which the
    // table makes safe.
    unsafe {
        assert_eq!(cardap_context_read(ctx, lib, &mut first), R::Ok);
        let first_json = json(first).unwrap();
        cardap_record_free(first);
        assert_eq!(cardap_context_read(ctx, kiosk, &mut second), R::Ok);
        let second_json = json(second).unwrap();
        assert_ne!(first_json, second_json);
        // The old handle is refused; it never shows the new record.
        assert_eq!(json(first), Err(R::InvalidHandle));
        assert!(
            last_error().contains("not a live record handle"),
            "{}",
            last_error()
        );
        let mut n = 0;
        assert_eq!(cardap_record_apdus(first, &mut n), R::InvalidHandle);
        // A double free does nothing (and says so); the live record stays.
        cardap_record_free(first);
        assert!(
            last_error().starts_with("free record: "),
            "{}",
            last_error()
        );
        assert_eq!(json(second), Ok(second_json));
        // A handle of one type is not one of another.
        assert_eq!(
            cardap_profile_name(second.cast(), &mut null(), &mut 0),
            R::InvalidHandle
        );
        cardap_record_free(second);
        assert_eq!(json(second), Err(R::InvalidHandle));
        cardap_profile_free(lib);
        cardap_profile_free(kiosk);
        cardap_context_free(ctx);
        // A freed context and profile are refused too.
        let mut r = null_mut();
        assert_eq!(cardap_context_read(ctx, lib, &mut r), R::InvalidHandle);
    }
}

#[test]
fn two_threads_on_one_context_get_ok_or_busy_never_a_crash() {
    let mut ctx = null_mut();
    // SAFETY: valid arguments.
    unsafe {
        assert_eq!(
            cardap_context_new_virtual_card_str(cs(DEMO_CARD), DEMO_CARD.len(), &mut ctx),
            R::Ok
        );
    }
    let p = profile(LIBRARY);
    let want = expected(LIBRARY);
    let (ctx_addr, p_addr) = (ctx.addr(), p.addr());
    let counts = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let want = want.clone();
                scope.spawn(move || {
                    let ctx: *mut cardap_context = std::ptr::without_provenance_mut(ctx_addr);
                    let p: *const cardap_profile = std::ptr::without_provenance(p_addr);
                    let (mut ok, mut busy) = (0, 0);
                    for _ in 0..300 {
                        match read_with(ctx, p, None) {
                            Ok(j) => {
                                assert_eq!(j, want);
                                ok += 1;
                            }
                            Err(R::Busy) => busy += 1,
                            Err(other) => panic!("read gave {other:?}"),
                        }
                        // The context's last error is BUSY-checked too.
                        let (mut t, mut n) = (null(), 0);
                        // SAFETY: valid out-parameters.
                        let r = unsafe { cardap_context_last_error(ctx, &mut t, &mut n) };
                        assert!(matches!(r, R::Ok | R::Busy), "{r:?}");
                    }
                    (ok, busy)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    let ok: usize = counts.iter().map(|c| c.0).sum();
    assert_eq!(counts.iter().map(|c| c.0 + c.1).sum::<usize>(), 600);
    assert!(ok > 0, "{counts:?}");
    // SAFETY: live handles, each freed once.
    unsafe {
        cardap_profile_free(p);
        cardap_context_free(ctx);
    }
}

#[test]
fn a_triggered_token_cancels_waits_at_once() {
    let mut c = null_mut();
    let mut event = null_mut();
    // SAFETY: valid arguments throughout.
    unsafe {
        assert_eq!(cardap_cancel_new(&mut c), R::Ok);
        assert_eq!(cardap_cancel_trigger(c), R::Ok);
        let started = std::time::Instant::now();
        let r = cardap_wait_for_card(null(), 0, c, &mut event);
        let want = if cfg!(feature = "pcsc") {
            R::Cancelled
        } else {
            R::Unsupported
        };
        assert_eq!(r, want);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(event.is_null());
        cardap_cancel_free(c);
        assert_eq!(cardap_cancel_trigger(c), R::InvalidHandle);
        assert_eq!(cardap_cancel_new(null_mut()), R::NullParameter);
        assert_eq!(
            cardap_wait_for_card(null(), 0, null(), null_mut()),
            R::NullParameter
        );
        let mut e = null_mut();
        assert_eq!(cardap_wait_for_card(null(), 0, c, &mut e), R::InvalidHandle);
        assert_eq!(
            cardap_card_event_reader(null(), &mut null(), &mut 0),
            R::NullParameter
        );
        cardap_card_event_free(null_mut());
    }
}

/// Through pcscd: a wait for a reader that is not there ends by its timeout,
/// and a wait with no timeout ends when another thread triggers the token.
/// Without pcscd both are SERVICE_UNAVAILABLE.
#[cfg(feature = "pcsc")]
#[test]
fn waits_end_by_timeout_or_by_cancel_from_another_thread() {
    let mut list = null_mut();
    // SAFETY: a valid out-parameter.
    let service = unsafe { cardap_reader_list_new(&mut list) };
    // SAFETY: NULL or a live list.
    unsafe { cardap_reader_list_free(list) };
    let reader = c"no such reader anywhere";
    let mut event = null_mut();
    let started = std::time::Instant::now();
    // SAFETY: valid arguments.
    let r = unsafe { cardap_wait_for_card(reader.as_ptr(), 300, null(), &mut event) };
    if service == R::ServiceUnavailable {
        assert_eq!(r, R::ServiceUnavailable);
        return;
    }
    assert_eq!(r, R::Timeout, "{}", last_error());
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(300),
        "{waited:?}"
    );
    let mut c = null_mut();
    // SAFETY: a valid out-parameter.
    assert_eq!(unsafe { cardap_cancel_new(&mut c) }, R::Ok);
    let c_addr = c.addr();
    let trigger = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let c: *const cardap_cancel = std::ptr::without_provenance(c_addr);
        // SAFETY: a live token.
        unsafe { cardap_cancel_trigger(c) }
    });
    let started = std::time::Instant::now();
    // SAFETY: valid arguments.
    let r = unsafe { cardap_wait_for_card(reader.as_ptr(), 0, c, &mut event) };
    assert_eq!(trigger.join().unwrap(), R::Ok);
    assert_eq!(r, R::Cancelled);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    // SAFETY: a live token, freed once.
    unsafe { cardap_cancel_free(c) };
}
