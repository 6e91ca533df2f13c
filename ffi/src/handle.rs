//! Opaque handles. A handle points to a heap block that starts with a magic
//! number of its type, so that a NULL, misaligned, foreign or freed pointer
//! gives `CARDAP_RESULT_INVALID_HANDLE` instead of a crash in most cases.
//! The check is best effort: a pointer to unmapped memory can still fault,
//! and using a freed handle stays undefined behaviour.

use crate::result::{Failure, cardap_result};

/// The heap block behind a handle: the magic first, at offset 0, whatever
/// the inner type.
#[repr(C)]
struct Tagged<T> {
    magic: u64,
    value: T,
}

/// Written over the magic when a handle is freed.
const FREED: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// An opaque C type (`cardap_context`, …) and the Rust value behind it.
pub(crate) trait Opaque: Sized {
    /// The Rust value a handle holds.
    type Inner;
    /// This type's magic number.
    const MAGIC: u64;
    /// The C name, for messages.
    const NAME: &'static str;

    /// Moves `value` to the heap and returns the handle.
    fn into_handle(value: Self::Inner) -> *mut Self {
        Box::into_raw(Box::new(Tagged {
            magic: Self::MAGIC,
            value,
        }))
        .cast()
    }

    /// Checks a handle and borrows its value.
    ///
    /// # Safety
    /// `handle` is NULL, or points to memory readable for 8 bytes; when it is
    /// a live handle of this type, no other thread mutates it meanwhile.
    unsafe fn borrow<'a>(handle: *const Self, arg: &str) -> Result<&'a Self::Inner, Failure> {
        // SAFETY: forwarded from the caller.
        let tagged = unsafe { check::<Self>(handle.cast_mut(), arg)? };
        // SAFETY: `check` verified this is a live `Tagged<Inner>`.
        Ok(unsafe { &(*tagged).value })
    }

    /// Checks a handle and borrows its value mutably.
    ///
    /// # Safety
    /// As [`Opaque::borrow`], and no other reference to the value exists
    /// meanwhile (the caller does not use the handle from two threads).
    unsafe fn borrow_mut<'a>(handle: *mut Self, arg: &str) -> Result<&'a mut Self::Inner, Failure> {
        // SAFETY: forwarded from the caller.
        let tagged = unsafe { check::<Self>(handle, arg)? };
        // SAFETY: `check` verified this is a live `Tagged<Inner>`; the caller
        // guarantees exclusive access.
        Ok(unsafe { &mut (*tagged).value })
    }

    /// Frees a handle; NULL and anything that is not a live handle of this
    /// type are ignored.
    ///
    /// # Safety
    /// As [`Opaque::borrow_mut`]; the handle is not used afterwards.
    unsafe fn free(handle: *mut Self) {
        // SAFETY: forwarded from the caller.
        if let Ok(tagged) = unsafe { check::<Self>(handle, "handle") } {
            // SAFETY: `tagged` is a live block made by `into_handle`; marking
            // it freed first lets a second `_free` of the same pointer be
            // caught while the allocator has not reused the block.
            unsafe {
                (*tagged).magic = FREED;
                drop(Box::from_raw(tagged));
            }
        }
    }
}

/// # Safety
/// `handle` is NULL or readable for 8 bytes.
unsafe fn check<O: Opaque>(handle: *mut O, arg: &str) -> Result<*mut Tagged<O::Inner>, Failure> {
    if handle.is_null() {
        return Err(Failure::new(
            cardap_result::NullParameter,
            format!("{arg} is NULL"),
        ));
    }
    let tagged: *mut Tagged<O::Inner> = handle.cast();
    if !tagged.is_aligned() {
        return Err(invalid::<O>(arg));
    }
    // SAFETY: non-NULL and aligned; the caller promises 8 readable bytes, and
    // `magic` is the first field of the `repr(C)` block. A volatile read,
    // since the value may be anything.
    let magic = unsafe { std::ptr::addr_of!((*tagged).magic).read_volatile() };
    if magic == O::MAGIC {
        Ok(tagged)
    } else {
        Err(invalid::<O>(arg))
    }
}

fn invalid<O: Opaque>(arg: &str) -> Failure {
    Failure::new(
        cardap_result::InvalidHandle,
        format!("{arg} is not a valid {} handle", O::NAME),
    )
}
