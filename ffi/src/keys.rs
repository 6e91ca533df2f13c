//! `cardap_key_provider`: the AP's keys stay with the caller (a SAM, an HSM,
//! a key server); the library only asks for the three operations mutual
//! authentication needs, through callbacks.

use std::ffi::c_void;

use cardap_core::KeyProvider;
use cardap_core::Suite;
use cardap_core::error::AuthError;
use zeroize::{Zeroize, Zeroizing};

use crate::args::out;
use crate::handle::{Opaque, Table, free_handle};
use crate::panic::guard;
use crate::result::{Failure, cardap_result};
use crate::transport::cardap_result_code;

/// The cipher suite of a key provider's keys (PROFILE.md §7). Passed as a
/// `uint32_t`, like `cardap_result`.
///
/// cbindgen:prefix-with-name=false
/// cbindgen:rename-all=None
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cardap_suite {
    /// Two-key triple DES (16-byte keys); MAC: ISO/IEC 9797-1 algorithm 3.
    CARDAP_SUITE_3DES = 1,
    /// AES-128 (16-byte keys); MAC: AES-CMAC cut to 8 bytes.
    CARDAP_SUITE_AES128 = 2,
    /// AES-256 (32-byte keys); MAC: AES-CMAC cut to 8 bytes.
    CARDAP_SUITE_AES256 = 3,
}

/// A suite as C passes it (declared `cardap_suite` in the header).
pub type cardap_suite_code = u32;

fn suite_of(code: u32) -> Option<Suite> {
    match code {
        1 => Some(Suite::TripleDes),
        2 => Some(Suite::Aes128),
        3 => Some(Suite::Aes256),
        _ => None,
    }
}

/// Encrypts (`encrypt`: `E(K_enc, input)`) or decrypts (`decrypt`) with the
/// provider's K_enc: CBC with a zero IV and no padding. `input_len` is a
/// whole number of cipher blocks (32 bytes in mutual authentication); the
/// callback writes exactly `input_len` bytes to `output`
/// (`output_capacity` bytes, equal to `input_len`) and that length to
/// `*output_len`. Returns `CARDAP_RESULT_OK`, or any error code (the read
/// then fails with `CARDAP_RESULT_AUTH_FAILED`).
pub type cardap_cipher_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        input: *const u8,
        input_len: usize,
        output: *mut u8,
        output_capacity: usize,
        output_len: *mut usize,
    ) -> cardap_result_code,
>;

/// Computes `MAC(K_mac, input)`, the suite's 8-byte MAC, into `mac_out`
/// (8 bytes). The provider pads: it applies ISO/IEC 9797-1 padding method 2
/// to the cipher block size itself, as HSM MAC commands do. Returns
/// `CARDAP_RESULT_OK` or any error code.
pub type cardap_mac_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        input: *const u8,
        input_len: usize,
        mac_out: *mut u8,
    ) -> cardap_result_code,
>;

type CipherFn =
    unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8, usize, *mut usize) -> u32;
type MacFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8) -> u32;

/// Callbacks that hold an AP's keys. Made by `cardap_key_provider_new`,
/// released by `cardap_key_provider_free`; passed to
/// `cardap_context_read_with_keys`.
///
/// Thread safety: a provider may be used by several contexts on several
/// threads at once; its callbacks are then called concurrently, so they must
/// be thread-safe (or the provider used from one thread at a time).
pub struct cardap_key_provider {
    _private: [u8; 0],
}

pub(crate) struct CallbackKeys {
    suite: Suite,
    encrypt: CipherFn,
    decrypt: CipherFn,
    mac: MacFn,
    userdata: *mut c_void,
}

// SAFETY: the header states that the user data lives as long as the
// provider and that the callbacks may be called from any thread that runs an
// operation with the provider, concurrently when several do.
unsafe impl Send for CallbackKeys {}
// SAFETY: as above; the struct itself is never mutated after creation.
unsafe impl Sync for CallbackKeys {}

impl Opaque for cardap_key_provider {
    type Inner = CallbackKeys;
    const TAG: usize = 8;
    const NAME: &'static str = "key provider";
    fn table() -> &'static Table<Self::Inner> {
        static TABLE: Table<CallbackKeys> = Table::new();
        &TABLE
    }
}

fn callback_failed(what: &str, code: u32) -> AuthError {
    AuthError::KeyProvider(format!(
        "the key provider's {what} callback failed with code {code}"
    ))
}

impl CallbackKeys {
    /// Runs a cipher callback over `data` into a zeroizing buffer.
    fn cipher(
        &self,
        f: CipherFn,
        what: &str,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        let mut output = Zeroizing::new(vec![0u8; data.len()]);
        let mut len = 0usize;
        // SAFETY: the callback has the documented signature; `data` is
        // readable and `output` writable for `data.len()` bytes, `len` is a
        // live local.
        let code = unsafe {
            f(
                self.userdata,
                data.as_ptr(),
                data.len(),
                output.as_mut_ptr(),
                output.len(),
                &mut len,
            )
        };
        if code != cardap_result::Ok as u32 {
            return Err(callback_failed(what, code));
        }
        if len != data.len() {
            return Err(AuthError::KeyProvider(format!(
                "the key provider's {what} callback returned {len} bytes for {} bytes of input",
                data.len()
            )));
        }
        Ok(output)
    }
}

impl KeyProvider for CallbackKeys {
    fn suite(&self) -> Suite {
        self.suite
    }

    fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>, AuthError> {
        // The cryptogram E_IFD is no secret; the working buffer is wiped.
        let out = self.cipher(self.encrypt, "encrypt", data)?;
        Ok(out.to_vec())
    }

    fn decrypt(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, AuthError> {
        self.cipher(self.decrypt, "decrypt", data)
    }

    fn mac(&self, data: &[u8]) -> Result<[u8; 8], AuthError> {
        let mut mac = [0u8; 8];
        // SAFETY: the callback has the documented signature; `data` is
        // readable for its length and `mac` writable for 8 bytes.
        let code =
            unsafe { (self.mac)(self.userdata, data.as_ptr(), data.len(), mac.as_mut_ptr()) };
        if code != cardap_result::Ok as u32 {
            mac.zeroize();
            return Err(callback_failed("mac", code));
        }
        Ok(mac)
    }
}

/// Makes a key provider from three callbacks and their user data: the
/// AP's keys stay in the caller's SAM, HSM or key server, and only the
/// cryptograms of mutual authentication pass through the callbacks. The
/// callbacks mirror the Rust `KeyProvider`: `encrypt` and `decrypt` are CBC
/// with a zero IV and no padding over whole blocks with K_enc; `mac` is the
/// suite's 8-byte MAC with K_mac, and the provider pads (ISO/IEC 9797-1
/// method 2). `userdata` is passed to every call and must stay valid until
/// `cardap_key_provider_free`. On success `*out` receives the provider.
///
/// The session keys derived from the authentication live in the library
/// (zeroized after the read); the provider's keys never do.
///
/// Errors: `CARDAP_RESULT_NULL_PARAMETER` (a callback or `out` is NULL),
/// `CARDAP_RESULT_INVALID_ARGUMENT` (`suite` is not a `cardap_suite`).
///
/// Thread safety: may be called from any thread. The callbacks are called
/// from the threads that run `cardap_context_read_with_keys`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_key_provider_new(
    suite: cardap_suite_code,
    encrypt: cardap_cipher_fn,
    decrypt: cardap_cipher_fn,
    mac: cardap_mac_fn,
    userdata: *mut c_void,
    out_provider: *mut *mut cardap_key_provider,
) -> cardap_result {
    guard("key provider", || {
        // SAFETY: the caller passes NULL or a writable out-parameter.
        let o = unsafe { out(out_provider, "out")? };
        let suite = suite_of(suite).ok_or_else(|| {
            Failure::new(
                cardap_result::InvalidArgument,
                format!("suite {suite} is not a cardap_suite (1 3DES, 2 AES-128, 3 AES-256)"),
            )
        })?;
        let encrypt = encrypt.ok_or_else(|| crate::args::null("encrypt"))?;
        let decrypt = decrypt.ok_or_else(|| crate::args::null("decrypt"))?;
        let mac = mac.ok_or_else(|| crate::args::null("mac"))?;
        o.set(cardap_key_provider::into_handle(CallbackKeys {
            suite,
            encrypt,
            decrypt,
            mac,
            userdata,
        })?);
        Ok(())
    })
}

/// Releases a key provider. NULL does nothing; a read in flight on another
/// thread finishes with it first. After this returns the callbacks are not
/// called again (once reads in flight have returned).
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cardap_key_provider_free(provider: *mut cardap_key_provider) {
    free_handle(provider, "free key provider");
}

/// The provider of a handle, for the read.
pub(crate) fn provider(
    keys: *const cardap_key_provider,
) -> Result<std::sync::Arc<CallbackKeys>, Failure> {
    cardap_key_provider::get(keys, "keys")
}
