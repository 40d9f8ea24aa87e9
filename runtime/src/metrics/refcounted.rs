//! A reference-counted box without `Arc`'s weak count, its count in 4 bytes next to 4 bytes for
//! the owner: the entry of each series of an open label set is 80 bytes where `Arc`'s two 8-byte
//! counts and the series' 4-byte stamp (padded to 8) made it 96.

use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering, fence};

/// What `Refcounted` points to: the count, a spare 4-byte atomic (which would otherwise be
/// padding), and the value.
struct Inner<T> {
    count: AtomicU32,
    spare: AtomicU32,
    value: T,
}

/// Shared ownership of a `T` on the heap, freed with the last reference; like `Arc<T>` without
/// weak references.
#[repr(transparent)]
pub(crate) struct Refcounted<T> {
    inner: NonNull<Inner<T>>,
}

/// A `Refcounted` that holds no reference, for a reader that keeps the value alive by other means
/// (the family's scrape: the family keeps each series it snapshotted until the scrape is done).
/// Copying it costs no atomic operation on the value's cache line.
#[repr(transparent)]
pub(crate) struct Unowned<T> {
    inner: NonNull<Inner<T>>,
}

impl<T> Clone for Unowned<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Unowned<T> {}

/// Past this many references the process aborts, as `Arc` does: only a leak of handles (e.g.
/// `mem::forget` in a loop) gets there, and wrapping around would free a value still in use.
const MAX_REFERENCES: u32 = u32::MAX / 2;

// SAFETY: as for `Arc<T>`: the value is shared between threads (`Sync`) and dropped by whichever
// thread drops the last reference (`Send`).
unsafe impl<T: Send + Sync> Send for Refcounted<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Refcounted<T> {}

impl<T> Refcounted<T> {
    /// `value`, with `spare` in the spare atomic.
    pub(crate) fn new(value: T, spare: u32) -> Self {
        let inner = Box::new(Inner {
            count: AtomicU32::new(1),
            spare: AtomicU32::new(spare),
            value,
        });
        Refcounted {
            inner: NonNull::from(Box::leak(inner)),
        }
    }

    fn inner(&self) -> &Inner<T> {
        // SAFETY: `inner` came from `Box::leak` and is freed only when the count, which this
        // reference holds one of, drops to zero.
        unsafe { self.inner.as_ref() }
    }

    /// The 4 bytes next to the count, for the owner to use (the family: when the series was
    /// last used).
    pub(crate) fn spare(this: &Self) -> &AtomicU32 {
        &this.inner().spare
    }

    /// The same value, without a reference to it.
    pub(crate) fn unowned(this: &Self) -> Unowned<T> {
        Unowned { inner: this.inner }
    }

    /// Whether both are the same value.
    pub(crate) fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.inner == other.inner
    }

    /// The number of references: exact only while no other thread clones or drops one.
    pub(crate) fn count(this: &Self) -> usize {
        this.inner().count.load(Ordering::Relaxed) as usize
    }
}

impl<T> Unowned<T> {
    /// The value, as if through one of its references.
    ///
    /// # Safety
    ///
    /// Some `Refcounted` to the value must stay alive for as long as the returned borrow.
    pub(crate) unsafe fn get(&self) -> &Refcounted<T> {
        // SAFETY: both types are `repr(transparent)` over the same pointer, and the caller keeps
        // a reference alive meanwhile, so the value is valid. Through `&Refcounted` the value can
        // only be read or cloned, and a clone holds a reference of its own.
        unsafe { &*std::ptr::from_ref(self).cast::<Refcounted<T>>() }
    }
}

impl<T> Clone for Refcounted<T> {
    #[inline]
    fn clone(&self) -> Self {
        // Relaxed, as in `Arc::clone`: a new reference is made from an existing one, which keeps
        // the value alive meanwhile.
        let before = self.inner().count.fetch_add(1, Ordering::Relaxed);
        if before > MAX_REFERENCES {
            std::process::abort();
        }
        Refcounted { inner: self.inner }
    }
}

impl<T> Drop for Refcounted<T> {
    #[inline]
    fn drop(&mut self) {
        // Release, then Acquire before freeing, as in `Arc::drop`: every use of the value by
        // other references happens before it is freed.
        if self.inner().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        // SAFETY: this was the last reference, so nothing else can reach `inner`, which came
        // from `Box::leak`.
        drop(unsafe { Box::from_raw(self.inner.as_ptr()) });
    }
}

impl<T> Deref for Refcounted<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

#[cfg(test)]
mod tests {
    use super::Refcounted;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct CountsDrops<'a>(&'a AtomicUsize);

    impl Drop for CountsDrops<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn racing_threads_drop_the_value_once_with_the_last_reference() {
        let drops = AtomicUsize::new(0);
        let shared = Refcounted::new(CountsDrops(&drops), 7);
        assert_eq!(Refcounted::count(&shared), 1);
        let threads = if cfg!(miri) { 3 } else { 8 };
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let mine = shared.clone();
                scope.spawn(move || {
                    let copies: Vec<_> = (0..10).map(|_| mine.clone()).collect();
                    assert_eq!(copies[3].0.load(Ordering::Relaxed), 0);
                });
            }
        });
        assert_eq!(Refcounted::count(&shared), 1);
        assert_eq!(Refcounted::spare(&shared).load(Ordering::Relaxed), 7);
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        drop(shared);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    }
}
