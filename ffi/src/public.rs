//! The card's public APs through the C ABI: card detection, PIN counts,
//! JPKI certificates and signatures, kenhojo. The core applies the PIN
//! safety rules (format checked before sending, count read first, the floor,
//! no VERIFY resend); PINs are passed as byte buffers that the library copies
//! into memory it zeroizes when done (the caller's buffer is the caller's to
//! wipe).

use cardap_core::Card;
use cardap_core::public::{
    Certificate, HashAlg, KenhojoRequest, Pin, PinFloor, PinKind, SigningKey, public_key_from,
};
use zeroize::Zeroizing;

use crate::args::{self, buffer_out, out};
use crate::context::{ContextState, cardap_context};
use crate::handle::{Opaque, Table, free_handle};
use crate::panic::guard;
use crate::result::{Failure, cardap_result};

/// Longest PIN accepted (bytes).
pub const CARDAP_MAX_PIN_LEN: usize = 64;
/// Longest data to sign or key file given in memory (bytes).
pub const CARDAP_MAX_DATA_LEN: usize = 1_073_741_824;

/// `which` of `cardap_context_jpki_certificate`.
pub const CARDAP_JPKI_CERT_AUTH: u32 = 0;
/// The authentication CA certificate.
pub const CARDAP_JPKI_CERT_AUTH_CA: u32 = 1;
/// The signature certificate (needs the signature PIN).
pub const CARDAP_JPKI_CERT_SIGN: u32 = 2;
/// The signature CA certificate.
pub const CARDAP_JPKI_CERT_SIGN_CA: u32 = 3;
/// `key` of `cardap_context_jpki_sign`: the authentication key.
pub const CARDAP_JPKI_KEY_AUTH: u32 = 0;
/// The signature key.
pub const CARDAP_JPKI_KEY_SIGN: u32 = 1;
/// `hash` of `cardap_context_jpki_sign`: SHA-256 (the default).
pub const CARDAP_HASH_SHA256: u32 = 0;
/// SHA-1.
pub const CARDAP_HASH_SHA1: u32 = 1;
/// SHA-384.
pub const CARDAP_HASH_SHA384: u32 = 2;
/// SHA-512.
pub const CARDAP_HASH_SHA512: u32 = 3;
/// `flags` of `cardap_context_kenhojo`: also read the My Number.
pub const CARDAP_KENHOJO_MY_NUMBER: u32 = 1;
/// Check the digests (and the signature when a key is given).
pub const CARDAP_KENHOJO_VERIFY: u32 = 2;

/// Bytes an operation handed out: a certificate (DER), a signature, or JSON
/// text (NUL-terminated, the length not counting the NUL). Released by
/// `cardap_bytes_free`, which wipes it first (kenhojo data are personal).
///
/// Thread safety: immutable; may be read from several threads at once.
pub struct cardap_bytes {
    _private: [u8; 0],
}

pub(crate) struct BytesInner {
    /// The bytes, then a NUL the length does not count.
    bytes: Zeroizing<Vec<u8>>,
}

impl BytesInner {
    fn new(mut bytes: Vec<u8>) -> Self {
        bytes.push(0);
        Self {
            bytes: Zeroizing::new(bytes),
        }
    }
}

impl Opaque for cardap_bytes {
    type Inner = BytesInner;
    const TAG: usize = 10;
    const NAME: &'static str = "bytes";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<BytesInner> = Table::new();
        &TABLE
    }
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(cardap_result::InvalidArgument, message)
}

/// # Safety
/// `pin` is NULL or valid for reads of `pin_len` bytes.
unsafe fn read_pin(pin: *const u8, pin_len: usize, kind: PinKind) -> Result<Pin, Failure> {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { args::bytes(pin, pin_len, CARDAP_MAX_PIN_LEN, "pin")? };
    Pin::new(kind, bytes).map_err(|e| Failure::from(cardap_core::Error::from(e)))
}

impl ContextState {
    /// Runs a public-AP operation over this context's card, with its PIN
    /// floor and what it learnt about SFI addressing.
    fn run_public<T>(
        &mut self,
        operation: &'static str,
        op: impl FnOnce(
            &mut Card<&mut (dyn cardap_core::transport::Transport + Send + 'static)>,
        ) -> cardap_core::Result<T>,
    ) -> Result<T, Failure> {
        let floor = self.pin_floor;
        let sfi = self.kenhojo_sfi;
        let mut learnt = sfi;
        let outcome = self.run(operation, |card| {
            card.set_pin_floor(floor);
            card.set_kenhojo_sfi(sfi);
            let r = op(card);
            learnt = card.kenhojo_sfi();
            r
        });
        self.kenhojo_sfi = learnt;
        outcome
    }
}

fn hand_out(o: args::Out<*mut cardap_bytes>, bytes: Vec<u8>) -> Result<(), Failure> {
    o.set(cardap_bytes::into_handle(BytesInner::new(bytes))?);
    Ok(())
}

/// Sets the PIN floor of the context: a VERIFY is refused
/// (`CARDAP_RESULT_PIN_FLOOR`, nothing sent) when the tries left are at or
/// below it. The default is 1, so the last try is never used; 0 lets the
/// last try be used (an explicit opt-in).
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_set_pin_floor(
    context: *mut cardap_context,
    floor: u8,
) -> cardap_result {
    guard("set PIN floor", || {
        let c = cardap_context::get(context, "context")?;
        c.lock()?.pin_floor = PinFloor::new(floor);
        Ok(())
    })
}

/// Identifies the card by SELECT of the JPKI AP and its token (never by
/// ATR) and lists EF.DIR: `*out_json` receives the JSON object `cardap info`
/// prints (`card`: `mynumber`, `jpki-other` or `unknown`; `token`; `aps`).
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_card_info(
    context: *mut cardap_context,
    out_json: *mut *mut cardap_bytes,
) -> cardap_result {
    guard("card info", || {
        let c = cardap_context::get(context, "context")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_json, "out_json")? };
        let info = c.lock()?.run_public("card info", |aps| aps.info())?;
        hand_out(
            o,
            serde_json::to_string(&info)
                .unwrap_or_default()
                .into_bytes(),
        )
    })
}

/// The tries left of the three PINs, spending none (VERIFY without data).
/// Each out-parameter receives the count, or -1 when the card does not have
/// that AP.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_pin_status(
    context: *mut cardap_context,
    out_jpki_auth: *mut i32,
    out_jpki_sign: *mut i32,
    out_kenhojo: *mut i32,
) -> cardap_result {
    guard("PIN status", || {
        let c = cardap_context::get(context, "context")?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        let (a, s, k) = unsafe {
            (
                out(out_jpki_auth, "out_jpki_auth")?,
                out(out_jpki_sign, "out_jpki_sign")?,
                out(out_kenhojo, "out_kenhojo")?,
            )
        };
        let status = c.lock()?.run_public("pin status", |aps| aps.pin_status())?;
        let n = |v: Option<u8>| v.map_or(-1, i32::from);
        a.set(n(status.jpki_auth));
        s.set(n(status.jpki_sign));
        k.set(n(status.kenhojo));
        Ok(())
    })
}

/// A JPKI certificate, DER: `which` is `CARDAP_JPKI_CERT_AUTH`, `…_AUTH_CA`,
/// `…_SIGN` (needs the signature PIN in `pin`/`pin_len`) or `…_SIGN_CA`
/// (`pin` NULL with `pin_len` 0 for those without a PIN).
///
/// Errors: PIN errors (410–413), `CARDAP_RESULT_AP_NOT_FOUND`, card and
/// transport codes.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_jpki_certificate(
    context: *mut cardap_context,
    which: u32,
    pin: *const u8,
    pin_len: usize,
    out_der: *mut *mut cardap_bytes,
) -> cardap_result {
    guard("JPKI certificate", || {
        let which = match which {
            CARDAP_JPKI_CERT_AUTH => Certificate::Auth,
            CARDAP_JPKI_CERT_AUTH_CA => Certificate::AuthCa,
            CARDAP_JPKI_CERT_SIGN => Certificate::Sign,
            CARDAP_JPKI_CERT_SIGN_CA => Certificate::SignCa,
            other => return Err(invalid(format!("which = {other} is not a certificate"))),
        };
        let c = cardap_context::get(context, "context")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_der, "out_der")? };
        let pin = if which.needs_pin() {
            // SAFETY: the caller passes `pin_len` readable bytes or NULL.
            Some(unsafe { read_pin(pin, pin_len, PinKind::JpkiSign)? })
        } else {
            None
        };
        let der = c.lock()?.run_public("jpki certificate", |aps| {
            aps.jpki_certificate(which, pin.as_ref())
        })?;
        hand_out(o, der)
    })
}

/// Signs `data` on the card: its digest (`hash`: `CARDAP_HASH_SHA256`, …) as a
/// DigestInfo, PKCS#1 v1.5 with `key` (`CARDAP_JPKI_KEY_AUTH` with the
/// authentication PIN, `CARDAP_JPKI_KEY_SIGN` with the signature PIN).
/// `*out_signature` receives the 256-byte signature.
///
/// Errors: PIN errors (410–413), card and transport codes.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_jpki_sign(
    context: *mut cardap_context,
    key: u32,
    hash: u32,
    pin: *const u8,
    pin_len: usize,
    data: *const u8,
    data_len: usize,
    out_signature: *mut *mut cardap_bytes,
) -> cardap_result {
    guard("JPKI sign", || {
        let key = match key {
            CARDAP_JPKI_KEY_AUTH => SigningKey::Auth,
            CARDAP_JPKI_KEY_SIGN => SigningKey::Sign,
            other => return Err(invalid(format!("key = {other} is not a JPKI key"))),
        };
        let hash = match hash {
            CARDAP_HASH_SHA256 => HashAlg::Sha256,
            CARDAP_HASH_SHA1 => HashAlg::Sha1,
            CARDAP_HASH_SHA384 => HashAlg::Sha384,
            CARDAP_HASH_SHA512 => HashAlg::Sha512,
            other => return Err(invalid(format!("hash = {other} is not a digest"))),
        };
        let c = cardap_context::get(context, "context")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_signature, "out_signature")? };
        let data: &[u8] = if data.is_null() && data_len == 0 {
            &[]
        } else {
            // SAFETY: the caller passes `data_len` readable bytes.
            unsafe { args::bytes(data, data_len, CARDAP_MAX_DATA_LEN, "data")? }
        };
        // SAFETY: the caller passes `pin_len` readable bytes or NULL.
        let pin = unsafe { read_pin(pin, pin_len, key.pin())? };
        let signature = c
            .lock()?
            .run_public("jpki sign", |aps| aps.jpki_sign(key, &pin, hash, data))?;
        hand_out(o, signature)
    })
}

/// The kenhojo AP after its PIN: `*out_json` receives the JSON object
/// `cardap kenhojo` prints (`name`, `address`, `birth_date`, `sex`; plus
/// `my_number` with `CARDAP_KENHOJO_MY_NUMBER` in `flags`; plus
/// `verification` with `CARDAP_KENHOJO_VERIFY`, the signature checked when
/// `verify_key` (a public key or certificate, PEM or DER, `verify_key_len`
/// bytes) is given, NULL with 0 otherwise). A digest or signature mismatch
/// is `CARDAP_RESULT_VERIFICATION_FAILED`.
///
/// Thread safety: one thread at a time per context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_context_kenhojo(
    context: *mut cardap_context,
    pin: *const u8,
    pin_len: usize,
    flags: u32,
    verify_key: *const u8,
    verify_key_len: usize,
    out_json: *mut *mut cardap_bytes,
) -> cardap_result {
    guard("kenhojo", || {
        if flags & !(CARDAP_KENHOJO_MY_NUMBER | CARDAP_KENHOJO_VERIFY) != 0 {
            return Err(invalid(format!("unknown flags {flags:#x}")));
        }
        let c = cardap_context::get(context, "context")?;
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_json, "out_json")? };
        let key = if verify_key.is_null() && verify_key_len == 0 {
            None
        } else {
            // SAFETY: the caller passes `verify_key_len` readable bytes.
            let bytes = unsafe {
                args::bytes(
                    verify_key,
                    verify_key_len,
                    CARDAP_MAX_DATA_LEN,
                    "verify_key",
                )?
            };
            Some(public_key_from(bytes).map_err(|e| invalid(e.to_string()))?)
        };
        // SAFETY: the caller passes `pin_len` readable bytes or NULL.
        let pin = unsafe { read_pin(pin, pin_len, PinKind::Kenhojo)? };
        let request = KenhojoRequest {
            my_number: flags & CARDAP_KENHOJO_MY_NUMBER != 0,
            verify: flags & CARDAP_KENHOJO_VERIFY != 0,
            verify_key: key,
        };
        let data = c
            .lock()?
            .run_public("kenhojo", |aps| aps.kenhojo(&pin, &request))?;
        let text = Zeroizing::new(serde_json::to_string(&data).unwrap_or_default());
        hand_out(o, text.as_bytes().to_vec())
    })
}

/// The bytes of a `cardap_bytes`: `*out_data` points to `*out_len` bytes
/// (followed by a NUL the length does not count), borrowed until
/// `cardap_bytes_free`.
///
/// Thread safety: may be called from several threads at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_bytes_data(
    bytes: *const cardap_bytes,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> cardap_result {
    guard("bytes", || {
        let b = cardap_bytes::get(bytes, "bytes")?;
        // SAFETY: the caller passes NULL or writable out-parameters.
        let o = unsafe { buffer_out(out_data, out_len, "out_data")? };
        o.set(b.bytes.as_ptr(), b.bytes.len().saturating_sub(1));
        Ok(())
    })
}

/// Wipes and releases a `cardap_bytes`. NULL does nothing.
///
/// Thread safety: the handle must not be in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_bytes_free(bytes: *mut cardap_bytes) {
    free_handle(bytes, "free bytes");
}

#[cfg(all(test, feature = "virtual-card"))]
mod tests {
    use std::ptr::{null, null_mut};

    use super::*;
    use crate::context::cardap_context_free;
    use crate::{cardap_context_new_virtual_card_str, cardap_result as R};

    const CARD: &str = include_str!("../../examples/cards/public.toml");

    fn context() -> *mut cardap_context {
        let mut ctx = null_mut();
        // SAFETY: valid text and out-parameter.
        let r = unsafe {
            cardap_context_new_virtual_card_str(CARD.as_ptr().cast(), CARD.len(), &mut ctx)
        };
        assert_eq!(r, R::Ok);
        ctx
    }

    fn take(b: *mut cardap_bytes) -> Vec<u8> {
        let (mut p, mut n) = (null(), 0);
        // SAFETY: a live handle and valid out-parameters.
        assert_eq!(unsafe { cardap_bytes_data(b, &mut p, &mut n) }, R::Ok);
        // SAFETY: the library hands out `n` readable bytes.
        let v = unsafe { std::slice::from_raw_parts(p, n) }.to_vec();
        // SAFETY: a live handle, freed once.
        unsafe { cardap_bytes_free(b) };
        v
    }

    #[test]
    fn every_public_operation_and_pin_error() {
        let ctx = context();
        let mut out = null_mut();
        // SAFETY: a live context and valid buffers and out-parameters throughout.
        unsafe {
            assert_eq!(cardap_context_card_info(ctx, &mut out), R::Ok);
            let info: serde_json::Value = serde_json::from_slice(&take(out)).unwrap();
            assert_eq!(info["card"], "mynumber");
            let (mut a, mut s, mut k) = (0, 0, 0);
            assert_eq!(
                cardap_context_pin_status(ctx, &mut a, &mut s, &mut k),
                R::Ok
            );
            assert_eq!((a, s, k), (3, 5, 3));
            assert_eq!(
                cardap_context_jpki_certificate(ctx, CARDAP_JPKI_CERT_AUTH, null(), 0, &mut out),
                R::Ok
            );
            assert_eq!(take(out).first(), Some(&0x30));
            let pin = b"sample1";
            assert_eq!(
                cardap_context_jpki_certificate(
                    ctx,
                    CARDAP_JPKI_CERT_SIGN,
                    pin.as_ptr(),
                    pin.len(),
                    &mut out
                ),
                R::Ok
            );
            assert!(take(out).len() > 900);
            assert_eq!(
                cardap_context_jpki_certificate(ctx, CARDAP_JPKI_CERT_SIGN, null(), 0, &mut out),
                R::NullParameter
            );
            let data = b"to sign";
            let auth = b"1234";
            assert_eq!(
                cardap_context_jpki_sign(
                    ctx,
                    CARDAP_JPKI_KEY_AUTH,
                    CARDAP_HASH_SHA384,
                    auth.as_ptr(),
                    auth.len(),
                    data.as_ptr(),
                    data.len(),
                    &mut out
                ),
                R::Ok
            );
            assert_eq!(take(out).len(), 256);
            assert_eq!(
                cardap_context_kenhojo(
                    ctx,
                    auth.as_ptr(),
                    auth.len(),
                    CARDAP_KENHOJO_MY_NUMBER | CARDAP_KENHOJO_VERIFY,
                    null(),
                    0,
                    &mut out
                ),
                R::Ok
            );
            let v: serde_json::Value = serde_json::from_slice(&take(out)).unwrap();
            assert_eq!(v["my_number"], "123456789018");
            assert_eq!(v["verification"]["signature"], "not_checked");

            // PIN errors, each with its code.
            let bad = b"12a4";
            assert_eq!(
                cardap_context_kenhojo(ctx, bad.as_ptr(), bad.len(), 0, null(), 0, &mut out),
                R::MalformedPin
            );
            let wrong = b"0000";
            for _ in 0..2 {
                assert_eq!(
                    cardap_context_kenhojo(
                        ctx,
                        wrong.as_ptr(),
                        wrong.len(),
                        0,
                        null(),
                        0,
                        &mut out
                    ),
                    R::WrongPin
                );
            }
            assert_eq!(
                cardap_context_kenhojo(ctx, auth.as_ptr(), auth.len(), 0, null(), 0, &mut out),
                R::PinFloor
            );
            assert_eq!(cardap_context_set_pin_floor(ctx, 0), R::Ok);
            assert_eq!(
                cardap_context_kenhojo(ctx, wrong.as_ptr(), wrong.len(), 0, null(), 0, &mut out),
                R::WrongPin
            );
            assert_eq!(
                cardap_context_kenhojo(ctx, auth.as_ptr(), auth.len(), 0, null(), 0, &mut out),
                R::PinBlocked
            );
            assert_eq!(
                cardap_context_jpki_sign(ctx, 7, 0, null(), 0, null(), 0, &mut out),
                R::InvalidArgument
            );
            cardap_context_free(ctx);
        }
    }
}
