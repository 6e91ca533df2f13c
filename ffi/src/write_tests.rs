//! Writes and the loading desk through the exported functions.

use std::ffi::c_char;
use std::ptr::{null, null_mut};

use crate::*;

use cardap_result as R;

const DEMO_CARD: &str = include_str!("../../examples/cards/demo.toml");
const LIBRARY: &str = include_str!("../../examples/profiles/library.toml");
const EVACUEE: &str = include_str!("../../examples/profiles/evacuee.toml");

fn cs(s: &str) -> *const c_char {
    s.as_ptr().cast()
}

fn last_error() -> String {
    let (mut p, mut n) = (null(), 0);
    // SAFETY: valid out-parameters.
    assert_eq!(unsafe { cardap_last_error(&mut p, &mut n) }, R::Ok);
    // SAFETY: the library hands out `n` readable bytes.
    String::from_utf8(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), n) }.to_vec()).unwrap()
}

fn context(card: &str) -> *mut cardap_context {
    let mut ctx = null_mut();
    // SAFETY: valid text and out-parameter.
    let r = unsafe { cardap_context_new_virtual_card_str(cs(card), card.len(), &mut ctx) };
    assert_eq!(r, R::Ok, "{}", last_error());
    ctx
}

fn profile(text: &str) -> *mut cardap_profile {
    let mut p = null_mut();
    // SAFETY: valid text and out-parameter.
    let r = unsafe { cardap_profile_new_from_str(cs(text), text.len(), &mut p) };
    assert_eq!(r, R::Ok, "{}", last_error());
    p
}

fn write(ctx: *mut cardap_context, p: *const cardap_profile, writes: &str) -> (R, usize) {
    let mut apdus = 0;
    // SAFETY: live handles, valid text and out-parameter.
    let r = unsafe { cardap_context_write(ctx, p, cs(writes), writes.len(), &mut apdus) };
    (r, apdus)
}

fn read_json(ctx: *mut cardap_context, p: *const cardap_profile) -> serde_json::Value {
    let mut rec = null_mut();
    // SAFETY: live handles and a valid out-parameter.
    assert_eq!(
        // SAFETY: live handles and valid arguments.
        unsafe { cardap_context_read(ctx, p, &mut rec) },
        R::Ok,
        "{}",
        last_error()
    );
    let (mut t, mut n) = (null(), 0);
    // SAFETY: a live record and valid out-parameters.
    assert_eq!(unsafe { cardap_record_to_json(rec, &mut t, &mut n) }, R::Ok);
    // SAFETY: the library hands out `n` readable bytes.
    let text = unsafe { std::slice::from_raw_parts(t.cast::<u8>(), n) }.to_vec();
    // SAFETY: a live record, freed once.
    unsafe { cardap_record_free(rec) };
    serde_json::from_slice(&text).unwrap()
}

#[test]
fn writes_land_and_read_back() {
    let ctx = context(DEMO_CARD);
    let library = profile(LIBRARY);
    let evacuee = profile(EVACUEE);
    assert_eq!(
        write(ctx, library, "info2=00999999\nbranch=GATE\n"),
        (R::Ok, 5)
    );
    let v = read_json(ctx, library);
    assert_eq!(v["fields"]["member_no"], "00999999");
    assert_eq!(v["fields"]["branch"], "GATE");
    assert_eq!(write(ctx, evacuee, "data@13=E4BD90\r\n"), (R::Ok, 4));
    assert!(
        read_json(ctx, evacuee)["data"]
            .as_str()
            .unwrap()
            .starts_with("E4BD90")
    );
    // Refused before anything is sent.
    assert_eq!(write(ctx, evacuee, "data@0=3030").0, R::InvalidWrite);
    assert!(last_error().contains("user ID"), "{}", last_error());
    assert_eq!(
        write(ctx, library, "info1=00112233445566778899AABBCC").0,
        R::InvalidWrite
    );
    assert_eq!(write(ctx, library, "").0, R::InvalidArgument);
    // SAFETY: NULL handles are reported, not dereferenced.
    assert_eq!(
        // SAFETY: live handles and valid arguments.
        unsafe { cardap_context_write(null_mut(), library, cs("a=1"), 3, null_mut()) },
        R::NullParameter
    );
    // SAFETY: live handles, freed once.
    unsafe {
        cardap_profile_free(library);
        cardap_profile_free(evacuee);
        cardap_context_free(ctx);
    }
}

#[cfg(feature = "issuer")]
#[test]
fn the_loading_desk_installs_lists_moves_out_and_deletes() {
    let dir = std::env::temp_dir().join(format!("cardap-ffi-issuer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let issuer_text = include_str!("../../examples/issuer.toml");
    let issuer_path = dir.join("issuer.toml");
    std::fs::write(&issuer_path, issuer_text).unwrap();
    let issuer_path = issuer_path.display().to_string();
    let mut issuer = null_mut();
    // SAFETY: a valid path and out-parameter.
    let r =
        // SAFETY: live handles and valid arguments.
        unsafe { cardap_issuer_new_from_file(cs(&issuer_path), issuer_path.len(), &mut issuer) };
    assert_eq!(r, R::Ok, "{}", last_error());
    let ctx = context(DEMO_CARD);
    let aid = hex::decode("F0434152444150410200").unwrap();
    let out_profile = dir.join("taxi.toml").display().to_string();
    let info = "info1=5441584931\ninfo2=";
    let mut user_id = [0xFFu8; 14];
    // SAFETY: live handles, valid buffers.
    let r = unsafe {
        cardap_context_install(
            ctx,
            issuer,
            cardap_ap_type::A as u32,
            cardap_area::Local as u32,
            aid.as_ptr(),
            aid.len(),
            cs("taxi"),
            4,
            cs(info),
            info.len(),
            3,
            cs(&out_profile),
            out_profile.len(),
            user_id.as_mut_ptr(),
        )
    };
    assert_eq!(r, R::Ok, "{}", last_error());
    assert_eq!(user_id[13], 0);
    let user_id = String::from_utf8(user_id[..13].to_vec()).unwrap();
    let taxi = profile(&std::fs::read_to_string(&out_profile).unwrap());
    let v = read_json(ctx, taxi);
    assert_eq!(v["user_id"], user_id.as_str());
    assert_eq!(v["info"]["info1"], "5441584931");
    assert_eq!(write(ctx, taxi, "info2=01").0, R::Ok);
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    // SAFETY: live handles, a buffer of its capacity.
    let r = unsafe {
        cardap_context_list_area(
            ctx,
            issuer,
            cardap_area::Local as u32,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut len,
        )
    };
    assert_eq!(r, R::Ok, "{}", last_error());
    let listed: serde_json::Value = serde_json::from_slice(&buf[..len]).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    // SAFETY: a too small buffer gives the length needed.
    let r =
        // SAFETY: live handles and valid arguments.
        unsafe { cardap_context_list_area(ctx, issuer, 0, buf.as_mut_ptr().cast(), 4, &mut len) };
    assert_eq!(r, R::TooLong);
    assert!(len > 4);
    let mut count = 0;
    // SAFETY: live handles and a valid out-parameter.
    assert_eq!(
        // SAFETY: live handles and valid arguments.
        unsafe { cardap_context_move_out(ctx, issuer, &mut count) },
        R::Ok
    );
    assert_eq!(count, 2);
    let mut rec = null_mut();
    // SAFETY: live handles and a valid out-parameter.
    assert_eq!(
        // SAFETY: live handles and valid arguments.
        unsafe { cardap_context_read(ctx, taxi, &mut rec) },
        R::ApNotFound
    );
    let kiosk = hex::decode("F0434152444150410007").unwrap();
    // SAFETY: live handles and a valid AID.
    assert_eq!(
        // SAFETY: live handles and valid arguments.
        unsafe { cardap_context_delete_ap(ctx, issuer, kiosk.as_ptr(), kiosk.len()) },
        R::Ok
    );
    // SAFETY: as above.
    assert_eq!(
        // SAFETY: live handles and valid arguments.
        unsafe { cardap_context_delete_ap(ctx, issuer, kiosk.as_ptr(), kiosk.len()) },
        R::ApNotFound
    );
    // SAFETY: live handles, freed once.
    unsafe {
        cardap_profile_free(taxi);
        cardap_context_free(ctx);
        cardap_issuer_free(issuer);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
