//! Checking what C hands in: NULL pointers, lengths over the limits, text that
//! is not UTF-8, and out-parameters.

use std::ffi::c_char;

use crate::result::{Failure, cardap_result};

/// A checked out-parameter: non-NULL and aligned. Written with [`Out::set`]
/// only once the whole call has succeeded.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Writes the value (without reading or dropping what was there).
    pub(crate) fn set(self, value: T) {
        // SAFETY: `out` checked non-NULL and alignment; the caller of `out`
        // promised the pointer is valid for writes.
        unsafe { self.0.write(value) }
    }
}

/// Checks an out-parameter.
///
/// # Safety
/// `ptr` is NULL or valid for writes of a `T`.
pub(crate) unsafe fn out<T>(ptr: *mut T, name: &str) -> Result<Out<T>, Failure> {
    if ptr.is_null() {
        return Err(null(name));
    }
    if !ptr.is_aligned() {
        return Err(Failure::new(
            cardap_result::InvalidArgument,
            format!("{name} is not aligned"),
        ));
    }
    Ok(Out(ptr))
}

pub(crate) fn null(name: &str) -> Failure {
    Failure::new(cardap_result::NullParameter, format!("{name} is NULL"))
}

/// Borrows `len` bytes of UTF-8 text at `ptr` (no NUL terminator needed).
///
/// # Safety
/// `ptr` is NULL, or valid for reads of `len` bytes when `len <= max`.
pub(crate) unsafe fn text<'a>(
    ptr: *const c_char,
    len: usize,
    max: usize,
    name: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { bytes(ptr.cast(), len, max, name)? };
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            cardap_result::InvalidArgument,
            format!("{name} is not UTF-8 (byte {})", e.valid_up_to()),
        )
    })
}

/// Like [`text`], but NULL with a zero length means "none".
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    len: usize,
    max: usize,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() && len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { text(ptr, len, max, name) }.map(Some)
}

/// Borrows `len` bytes at `ptr`. The length is checked against `max` before
/// the memory is touched.
///
/// # Safety
/// `ptr` is NULL, or valid for reads of `len` bytes when `len <= max`.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    max: usize,
    name: &str,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(null(name));
    }
    if len > max {
        return Err(Failure::new(
            cardap_result::TooLong,
            format!("{name} is {len} bytes long; the limit is {max}"),
        ));
    }
    // SAFETY: non-NULL, `len <= max` (far below isize::MAX), and the caller
    // promises `len` readable bytes; u8 needs no alignment.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Checks a path argument: UTF-8, no NUL, not empty.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn path<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<&'a std::path::Path, Failure> {
    // SAFETY: forwarded from the caller.
    let s = unsafe { text(ptr, len, crate::CARDAP_MAX_PATH_LEN, name)? };
    if s.is_empty() || s.contains('\0') {
        return Err(Failure::new(
            cardap_result::InvalidArgument,
            format!("{name} is empty or holds a NUL byte"),
        ));
    }
    Ok(std::path::Path::new(s))
}

/// A checked pair of out-parameters for a borrowed buffer: its start and its
/// length.
pub(crate) struct BufferOut<T> {
    ptr: Out<*const T>,
    len: Out<usize>,
}

impl<T> BufferOut<T> {
    /// Writes the buffer's start and length.
    pub(crate) fn set(self, ptr: *const T, len: usize) {
        self.ptr.set(ptr);
        self.len.set(len);
    }
}

/// Checks a pair of out-parameters for a buffer.
///
/// # Safety
/// `out_ptr` and `out_len` are NULL or valid for writes.
pub(crate) unsafe fn buffer_out<T>(
    out_ptr: *mut *const T,
    out_len: *mut usize,
    name: &str,
) -> Result<BufferOut<T>, Failure> {
    // SAFETY: forwarded from the caller.
    let (ptr, len) = unsafe { (out(out_ptr, name)?, out(out_len, &format!("{name}_len"))?) };
    Ok(BufferOut { ptr, len })
}

/// Writes a borrowed pointer and its length to two out-parameters, checking
/// both before writing either.
///
/// # Safety
/// `out_ptr` and `out_len` are NULL or valid for writes.
pub(crate) unsafe fn write_buffer<T>(
    ptr: *const T,
    len: usize,
    out_ptr: *mut *const T,
    out_len: *mut usize,
) -> Result<(), Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { buffer_out(out_ptr, out_len, "out")? }.set(ptr, len);
    Ok(())
}
