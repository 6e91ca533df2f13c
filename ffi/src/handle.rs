//! Opaque handles through generation-counted tables.
//!
//! A handle handed to C is not an address: it encodes a slot index, the
//! slot's generation and the type's tag. Every use looks the handle up in
//! its type's table (a `Mutex`ed slab) and gets a shared reference to the
//! value, so nothing is ever read through a pointer C handed in. Freeing a
//! handle empties its slot and bumps the slot's generation: a stale handle
//! (used after its `_free`, even once the slot holds a new value), a second
//! `_free`, a handle of another type or any made-up value gives
//! `CARDAP_RESULT_INVALID_HANDLE`, never another object's data.
//!
//! Layout of a handle (as an address-sized integer, `H = usize::BITS / 2`):
//! the generation in the upper `H` bits, the slot index plus one in the next
//! `H - 4` bits, the type tag in the low 4 bits. A handle is never 0. A slot
//! whose generation would wrap is retired, so a value is never reused.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::result::{Failure, cardap_result};

const TAG_BITS: u32 = 4;
const TAG_MASK: usize = (1 << TAG_BITS) - 1;
const HALF: u32 = usize::BITS / 2;
const INDEX_BITS: u32 = HALF - TAG_BITS;
/// The largest slot index (the index plus one must fit in `INDEX_BITS`).
const MAX_INDEX: usize = (1 << INDEX_BITS) - 2;
/// The largest generation.
const MAX_GENERATION: usize = (1 << HALF) - 1;

struct Slot<T> {
    generation: usize,
    value: Option<Arc<T>>,
}

struct Slots<T> {
    slots: Vec<Slot<T>>,
    /// Indices of empty slots that may be reused.
    free: Vec<usize>,
}

/// The live values of one handle type.
pub(crate) struct Table<T> {
    inner: Mutex<Slots<T>>,
}

impl<T> Table<T> {
    pub(crate) const fn new() -> Self {
        Self {
            inner: Mutex::new(Slots {
                slots: Vec::new(),
                free: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slots<T>> {
        // A panic while the lock was held cannot leave the slab inconsistent
        // (every update is one assignment), so a poisoned lock is used as is.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores a value; returns its (index, generation), or `None` when the
    /// table is full.
    fn insert(&self, value: T) -> Option<(usize, usize)> {
        let mut t = self.lock();
        let value = Some(Arc::new(value));
        if let Some(index) = t.free.pop() {
            let slot = t.slots.get_mut(index)?;
            slot.value = value;
            return Some((index, slot.generation));
        }
        let index = t.slots.len();
        if index > MAX_INDEX {
            return None;
        }
        t.slots.push(Slot {
            generation: 0,
            value,
        });
        Some((index, 0))
    }

    fn get(&self, index: usize, generation: usize) -> Option<Arc<T>> {
        let t = self.lock();
        let slot = t.slots.get(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.value.clone()
    }

    /// Empties a live slot and returns its value (dropped by the caller,
    /// outside the lock).
    fn remove(&self, index: usize, generation: usize) -> Option<Arc<T>> {
        let mut t = self.lock();
        let slot = t.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        let value = slot.value.take()?;
        if slot.generation < MAX_GENERATION {
            slot.generation += 1;
            t.free.push(index);
        }
        // else: the slot is retired, its last handle stays invalid forever.
        Some(value)
    }

    /// How many values are live (for tests).
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        self.lock()
            .slots
            .iter()
            .filter(|s| s.value.is_some())
            .count()
    }
}

fn encode(tag: usize, index: usize, generation: usize) -> usize {
    (generation << HALF) | ((index + 1) << TAG_BITS) | tag
}

/// The (index, generation) of a handle of type `tag`, if its layout fits.
fn decode(handle: usize, tag: usize) -> Option<(usize, usize)> {
    if handle & TAG_MASK != tag {
        return None;
    }
    let index_plus_one = (handle >> TAG_BITS) & ((1 << INDEX_BITS) - 1);
    let index = index_plus_one.checked_sub(1)?;
    Some((index, handle >> HALF))
}

/// An opaque C type (`cardap_context`, …) and the Rust value behind it.
pub(crate) trait Opaque: Sized + 'static {
    /// The Rust value a handle stands for.
    type Inner: Send + Sync + 'static;
    /// This type's tag (1..=15, distinct per type).
    const TAG: usize;
    /// What a user calls it, for messages ("context", "record").
    const NAME: &'static str;

    /// This type's table.
    fn table() -> &'static Table<Self::Inner>;

    /// Stores `value` and returns its new handle.
    fn into_handle(value: Self::Inner) -> Result<*mut Self, Failure> {
        let (index, generation) = Self::table().insert(value).ok_or_else(|| {
            Failure::new(
                cardap_result::TooLong,
                format!("too many live {} handles", Self::NAME),
            )
        })?;
        // The handle is a number, not an address; C only passes it back.
        Ok(std::ptr::without_provenance_mut(encode(
            Self::TAG,
            index,
            generation,
        )))
    }

    /// Looks a handle up; `arg` names the parameter in messages.
    fn get(handle: *const Self, arg: &str) -> Result<Arc<Self::Inner>, Failure> {
        if handle.is_null() {
            return Err(crate::args::null(arg));
        }
        decode(handle.addr(), Self::TAG)
            .and_then(|(index, generation)| Self::table().get(index, generation))
            .ok_or_else(|| invalid::<Self>(arg))
    }

    /// Frees a handle. NULL is `Ok`; a handle that is not live (freed
    /// already, of another type, made up) changes nothing and is an
    /// `INVALID_HANDLE` failure. The value itself is dropped once no call in
    /// flight on another thread still uses it.
    fn free(handle: *mut Self) -> Result<(), Failure> {
        if handle.is_null() {
            return Ok(());
        }
        let value = decode(handle.addr(), Self::TAG)
            .and_then(|(index, generation)| Self::table().remove(index, generation))
            .ok_or_else(|| invalid::<Self>("handle"))?;
        drop(value);
        Ok(())
    }
}

fn invalid<O: Opaque>(arg: &str) -> Failure {
    Failure::new(
        cardap_result::InvalidHandle,
        format!(
            "{arg} is not a live {} handle (freed already, or of another type)",
            O::NAME
        ),
    )
}

/// Frees a handle from a `_free` function: a failure (a double free, a
/// foreign value) becomes the thread's last error, since `_free` returns
/// nothing.
pub(crate) fn free_handle<O: Opaque>(handle: *mut O, operation: &str) {
    crate::panic::guard_void(|| {
        if let Err(f) = O::free(handle) {
            crate::result::set_last_error(&format!("{operation}: {}", f.message));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_keeps_types_apart() {
        let h = encode(3, 41, 7);
        assert_ne!(h, 0);
        assert_eq!(decode(h, 3), Some((41, 7)));
        assert_eq!(decode(h, 4), None);
        assert_eq!(decode(0, 0), None);
        let max = encode(15, MAX_INDEX, MAX_GENERATION);
        assert_eq!(decode(max, 15), Some((MAX_INDEX, MAX_GENERATION)));
    }

    #[test]
    fn a_freed_slot_reused_does_not_revive_the_old_handle() {
        let t: Table<u32> = Table::new();
        let (i, g) = t.insert(1).unwrap();
        assert!(t.remove(i, g).is_some());
        let (j, h) = t.insert(2).unwrap();
        assert_eq!(i, j, "the slot is reused");
        assert_ne!(g, h, "with a new generation");
        assert!(t.get(i, g).is_none());
        assert!(t.remove(i, g).is_none(), "a double free is refused");
        assert_eq!(t.get(j, h).as_deref(), Some(&2));
        assert_eq!(t.live(), 1);
    }

    #[test]
    fn a_slot_at_the_last_generation_is_retired() {
        let t: Table<u32> = Table::new();
        let (i, _) = t.insert(1).unwrap();
        {
            let mut s = t.lock();
            s.slots.get_mut(i).unwrap().generation = MAX_GENERATION;
        }
        assert!(t.remove(i, MAX_GENERATION).is_some());
        let (j, _) = t.insert(2).unwrap();
        assert_ne!(i, j, "a retired slot is not reused");
    }
}
