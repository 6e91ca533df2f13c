//! A transport the caller supplies: a transmit callback with user data (an
//! NFC stack, a vendor SDK, a phone, the caller's own PC/SC calls).

use std::ffi::c_void;

use cardap_core::transport::{Transport, TransportError};
use zeroize::Zeroize;

use crate::result::cardap_result;

/// A raw result code as C hands it back from a callback. It is declared as
/// `cardap_result` in the header (cbindgen renames it); Rust reads it as a
/// plain integer, since a callback may return any value.
pub type cardap_result_code = u32;

/// Sends one command APDU to the card and writes the whole response, data
/// followed by `SW1 SW2`, to `response` (`response_capacity` bytes, 65538:
/// the longest extended-length response) and its length to
/// `*response_len`.
///
/// Returns `CARDAP_RESULT_OK`, or an error code that becomes the transport
/// error of the operation: `CARDAP_RESULT_CARD_REMOVED`,
/// `CARDAP_RESULT_CARD_RESET`, `CARDAP_RESULT_NO_CARD`,
/// `CARDAP_RESULT_READER_UNAVAILABLE`, `CARDAP_RESULT_SERVICE_UNAVAILABLE`,
/// `CARDAP_RESULT_CANCELLED`, `CARDAP_RESULT_TIMEOUT`,
/// `CARDAP_RESULT_NOT_CARRIED` and `CARDAP_RESULT_INTERRUPTED` keep their
/// meaning (a reset or an interruption lets a read start again from
/// SELECT); any other code is `CARDAP_RESULT_TRANSPORT_FAILURE`. A
/// `*response_len` over `response_capacity`, or under 2, is a transport
/// failure: nothing past the capacity is read.
///
/// The command bytes are valid only during the call. The callback runs on
/// the thread that called the operation, one call at a time per context.
pub type cardap_transmit_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        command: *const u8,
        command_len: usize,
        response: *mut u8,
        response_capacity: usize,
        response_len: *mut usize,
    ) -> cardap_result_code,
>;

/// The response buffer handed to the callback: the longest response APDU
/// (65536 data bytes and the status word).
pub(crate) const RESPONSE_CAPACITY: usize = 65538;

/// The transport error a callback's code stands for.
pub(crate) fn transport_error(code: u32) -> TransportError {
    use cardap_result as R;
    match cardap_result::from_u32(code) {
        Some(R::CardRemoved) => TransportError::CardRemoved,
        Some(R::CardReset) => TransportError::CardReset,
        Some(R::NoCard) => TransportError::NoCard,
        Some(R::ReaderUnavailable) => {
            TransportError::ReaderUnavailable("reported by the transmit callback".into())
        }
        Some(R::ServiceUnavailable) => {
            TransportError::ServiceUnavailable("reported by the transmit callback".into())
        }
        Some(R::Cancelled) => TransportError::Cancelled,
        Some(R::Timeout) => TransportError::Timeout,
        Some(R::NotCarried) => {
            TransportError::NotCarried("reported by the transmit callback".into())
        }
        Some(R::Interrupted) => {
            TransportError::Interrupted("reported by the transmit callback".into())
        }
        _ => TransportError::Other(format!("the transmit callback failed with code {code}")),
    }
}

/// A [`Transport`] over a C transmit callback.
pub(crate) struct CallbackTransport {
    transmit: unsafe extern "C" fn(
        *mut c_void,
        *const u8,
        usize,
        *mut u8,
        usize,
        *mut usize,
    ) -> cardap_result_code,
    userdata: *mut c_void,
    atr: Option<Vec<u8>>,
    /// Where the callback writes; the bytes of each response are wiped once
    /// copied out.
    response: Vec<u8>,
}

// SAFETY: the header states that the user data lives as long as the context
// and that the callback may be called from whichever thread runs an
// operation on the context (one at a time: the context's lock).
unsafe impl Send for CallbackTransport {}

impl CallbackTransport {
    pub(crate) fn new(
        transmit: unsafe extern "C" fn(
            *mut c_void,
            *const u8,
            usize,
            *mut u8,
            usize,
            *mut usize,
        ) -> cardap_result_code,
        userdata: *mut c_void,
        atr: Option<Vec<u8>>,
    ) -> Self {
        Self {
            transmit,
            userdata,
            atr,
            response: vec![0; RESPONSE_CAPACITY],
        }
    }
}

impl Drop for CallbackTransport {
    fn drop(&mut self) {
        self.response.zeroize();
    }
}

impl Transport for CallbackTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut len = 0usize;
        // SAFETY: the callback is the caller's function with the documented
        // signature; `command` is readable for its length, `response` is
        // writable for `RESPONSE_CAPACITY` bytes and `len` is a live local.
        let code = unsafe {
            (self.transmit)(
                self.userdata,
                command.as_ptr(),
                command.len(),
                self.response.as_mut_ptr(),
                RESPONSE_CAPACITY,
                &mut len,
            )
        };
        if code != cardap_result::Ok as u32 {
            self.response.as_mut_slice().zeroize();
            return Err(transport_error(code));
        }
        if len > RESPONSE_CAPACITY {
            self.response.as_mut_slice().zeroize();
            return Err(TransportError::Other(format!(
                "the transmit callback reported {len} response bytes; the buffer holds {RESPONSE_CAPACITY}"
            )));
        }
        let Some(used) = self.response.get_mut(..len) else {
            return Err(TransportError::Other("response length out of range".into()));
        };
        if len < 2 {
            used.zeroize();
            return Err(TransportError::Other(format!(
                "the transmit callback returned {len} bytes; a response holds at least its status word"
            )));
        }
        let answer = used.to_vec();
        used.zeroize();
        Ok(answer)
    }

    fn atr(&self) -> Option<Vec<u8>> {
        self.atr.clone()
    }
}
