//! A reference-counted series without `Arc`'s weak count, its count in 4 bytes next to 4 bytes
//! for the owner, and the series' label text in the same allocation, after the value (its
//! length in 4 bytes, the [`PairLayout`] of its labels in 8, then the bytes): the entry of
//! each series of an open label set and its text take 84 bytes plus the text where `Arc`'s two
//! 8-byte counts and the series' 4-byte stamp (padded to 8) made it 96, and a `Box<str>` for
//! the text took 88 plus the text in two blocks.

use crate::encoding::PairLayout;
use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering, fence};

/// The start of what `Refcounted` points to: the count, a spare 4-byte atomic (which would
/// otherwise be padding), and the value. The text's length (`u32`) follows at `LEN_AT`, its
/// labels' `PairLayout` at `PAIR_LAYOUT_AT`, and its bytes at `TEXT_AT`.
struct Header<T> {
    count: AtomicU32,
    spare: AtomicU32,
    value: T,
}

/// Shared ownership of a `T` and a text on the heap, freed with the last reference; like
/// `Arc<(T, Box<str>)>` without weak references, in one block.
#[repr(transparent)]
pub(crate) struct Refcounted<T> {
    /// The whole block (header, length and text), from `alloc` with `Self::layout`.
    inner: NonNull<Header<T>>,
}

/// Past this many references the process aborts, as `Arc` does: only a leak of handles (e.g.
/// `mem::forget` in a loop) gets there, and wrapping around would free a value still in use.
const MAX_REFERENCES: u32 = u32::MAX / 2;

// SAFETY: as for `Arc<T>`: the value is shared between threads (`Sync`) and dropped by whichever
// thread drops the last reference (`Send`); the text is never written after `new`.
unsafe impl<T: Send + Sync> Send for Refcounted<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Refcounted<T> {}

impl<T> Refcounted<T> {
    /// Where the text's length is: right after the header, aligned for a `u32` since the
    /// header's size is a multiple of its alignment, at least that of its `AtomicU32`s.
    const LEN_AT: usize = size_of::<Header<T>>();
    /// Where the `PairLayout` of the text's labels is (byte pairs: any address will do).
    const PAIR_LAYOUT_AT: usize = Self::LEN_AT + size_of::<u32>();
    /// Where the text's bytes are.
    const TEXT_AT: usize = Self::PAIR_LAYOUT_AT + size_of::<PairLayout>();

    /// The block for a text of `len` bytes; `None` if it is too large to allocate.
    fn layout(len: usize) -> Option<Layout> {
        let size = Self::TEXT_AT.checked_add(len)?;
        Layout::from_size_align(size, align_of::<Header<T>>()).ok()
    }

    /// `value` and `text` (a label list, its pairs laid out as `pair_layout` says), with `spare` in
    /// the spare atomic; `None` for a text of 4 GiB or more.
    pub(crate) fn new(value: T, spare: u32, text: &str, pair_layout: PairLayout) -> Option<Self> {
        let len = u32::try_from(text.len()).ok()?;
        let layout = Self::layout(text.len())?;
        // SAFETY: the size is not zero (the header alone holds two `AtomicU32`s).
        let Some(block) = NonNull::new(unsafe { alloc(layout) }) else {
            handle_alloc_error(layout)
        };
        let inner = block.cast::<Header<T>>();
        // SAFETY: `block` is a fresh allocation of `layout`: the header at 0 (aligned, since
        // the block has its alignment), the `u32` length at `LEN_AT` (aligned, see there), the
        // layout (align 1) at `PAIR_LAYOUT_AT` and the `text.len()` bytes at
        // `TEXT_AT` are all inside it, and `text` is elsewhere.
        unsafe {
            inner.write(Header {
                count: AtomicU32::new(1),
                spare: AtomicU32::new(spare),
                value,
            });
            block.add(Self::LEN_AT).cast::<u32>().write(len);
            block
                .add(Self::PAIR_LAYOUT_AT)
                .cast::<PairLayout>()
                .write(pair_layout);
            std::ptr::copy_nonoverlapping(
                text.as_ptr(),
                block.add(Self::TEXT_AT).as_ptr(),
                text.len(),
            );
        }
        Some(Refcounted { inner })
    }

    fn inner(&self) -> &Header<T> {
        // SAFETY: `inner` was initialised by `new` and is freed only when the count, which
        // this reference holds one of, drops to zero.
        unsafe { self.inner.as_ref() }
    }

    /// The 4 bytes next to the count, for the owner to use (the family: when the series was
    /// last used).
    pub(crate) fn spare(this: &Self) -> &AtomicU32 {
        &this.inner().spare
    }

    /// The text given to `new`.
    pub(crate) fn text(this: &Self) -> &str {
        // SAFETY: this reference keeps the block alive for as long as `this` is borrowed.
        unsafe { Unowned::of(this).text() }
    }

    /// The `PairLayout` of the text's labels.
    pub(crate) fn pair_layout(this: &Self) -> PairLayout {
        // SAFETY: as for `text`: `new` wrote it at `PAIR_LAYOUT_AT` and nothing writes it
        // after; the pointer is the whole block's.
        unsafe {
            this.inner
                .cast::<u8>()
                .add(Self::PAIR_LAYOUT_AT)
                .cast::<PairLayout>()
                .read()
        }
    }

    /// The value and text of `this` without a reference to them, for a reader that keeps them
    /// alive by other means (the family's encoder: the family keeps each series it
    /// snapshotted until the scrape is done).
    pub(crate) fn unowned(this: &Self) -> Unowned<T> {
        Unowned::of(this)
    }

    /// Whether both are the same value.
    pub(crate) fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.inner == other.inner
    }

    /// The number of references: exact only while no other thread clones or drops one.
    pub(crate) fn count(this: &Self) -> usize {
        this.inner().count.load(Ordering::Relaxed) as usize
    }

    /// Drops the value and frees the block.
    ///
    /// # Safety
    ///
    /// The last reference to `inner` is gone, and nothing else reaches it.
    #[cold]
    #[inline(never)]
    unsafe fn free(inner: NonNull<Header<T>>) {
        let block = inner.cast::<u8>();
        // SAFETY: the block is as `new` initialised it, and the caller's contract gives this
        // call sole access to it.
        unsafe {
            let len = block.add(Self::LEN_AT).cast::<u32>().read() as usize;
            std::ptr::drop_in_place(&raw mut (*inner.as_ptr()).value);
            // `new` allocated the block with this layout, so it is one.
            let layout = Self::layout(len).unwrap_unchecked();
            dealloc(block.as_ptr(), layout);
        }
    }
}

/// A pointer to the value and text of a `Refcounted` that holds no reference to them, for a
/// reader that keeps them alive by other means (the family's scrape keeps each series it
/// snapshotted until the scrape is done). Copying it costs no atomic operation on the value's
/// cache line.
#[repr(transparent)]
pub(crate) struct Unowned<T> {
    inner: NonNull<Header<T>>,
}

impl<T> Clone for Unowned<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Unowned<T> {}

impl<T> Unowned<T> {
    fn of(this: &Refcounted<T>) -> Self {
        Unowned { inner: this.inner }
    }

    /// Asks the processor to start loading the cache lines of the value and of the start of
    /// the text, for a reader that will read them soon: a scrape visits a family's series in
    /// the order of its hash table, block after scattered block, and waited for each.
    #[inline(always)]
    pub(crate) fn prefetch(self) {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse", not(miri)))]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let block = self.inner.cast::<i8>().as_ptr().cast_const();
            // SAFETY: the build targets SSE, which `_mm_prefetch` needs (the `cfg` above); a
            // prefetch is a hint that reads nothing into the program and never faults, at any
            // address.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(block);
                _mm_prefetch::<_MM_HINT_T0>(block.wrapping_add(Refcounted::<T>::TEXT_AT));
            }
        }
    }

    /// The text.
    ///
    /// # Safety
    ///
    /// A reference to the `Refcounted` this came from is held for `'a`.
    pub(crate) unsafe fn text<'a>(self) -> &'a str {
        let block = self.inner.cast::<u8>();
        // SAFETY: the block is alive for `'a` (the caller's contract) and never written after
        // `new`, which put the length of a `&str` at `LEN_AT` and its bytes at `TEXT_AT`; the
        // pointers come from `inner`, the whole block's, not from a reference to the header.
        unsafe {
            let len = block.add(Refcounted::<T>::LEN_AT).cast::<u32>().read() as usize;
            let bytes = std::slice::from_raw_parts(
                block.add(Refcounted::<T>::TEXT_AT).as_ptr().cast_const(),
                len,
            );
            std::str::from_utf8_unchecked(bytes)
        }
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
        // SAFETY: this was the last reference, so nothing else can reach `inner`.
        unsafe { Self::free(self.inner) };
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
    use super::{PairLayout, Refcounted};
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
        let shared = Refcounted::new(
            CountsDrops(&drops),
            7,
            r#"path="/items/7""#,
            PairLayout::UNKNOWN,
        )
        .unwrap();
        assert_eq!(Refcounted::count(&shared), 1);
        let threads = if cfg!(miri) { 3 } else { 8 };
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let mine = shared.clone();
                scope.spawn(move || {
                    let copies: Vec<_> = (0..10).map(|_| mine.clone()).collect();
                    assert_eq!(copies[3].0.load(Ordering::Relaxed), 0);
                    assert_eq!(Refcounted::text(&copies[9]), r#"path="/items/7""#);
                });
            }
        });
        assert_eq!(Refcounted::count(&shared), 1);
        assert_eq!(Refcounted::spare(&shared).load(Ordering::Relaxed), 7);
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        drop(shared);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    }

    /// Aligned past the header's 4 bytes, so the value is not at offset 8.
    #[repr(align(64))]
    struct CacheLine(u8);

    #[test]
    fn the_text_follows_values_of_any_size_and_alignment() {
        let texts = [
            "",
            r#"path="/items/7",method="GET""#,
            "a",
            "ab",
            "abcde",
            "é, \"quoted\"\n and more past eight bytes",
        ];
        for text in texts {
            let unit = Refcounted::new((), 1, text, PairLayout::of(text)).unwrap();
            let byte = Refcounted::new(3u8, 2, text, PairLayout::of(text)).unwrap();
            let line = Refcounted::new(CacheLine(4), 3, text, PairLayout::of(text)).unwrap();
            let owned =
                Refcounted::new(String::from("owned"), 4, text, PairLayout::of(text)).unwrap();
            for (spare, found, layout) in [
                (1, Refcounted::text(&unit), Refcounted::pair_layout(&unit)),
                (2, Refcounted::text(&byte), Refcounted::pair_layout(&byte)),
                (3, Refcounted::text(&line), Refcounted::pair_layout(&line)),
                (4, Refcounted::text(&owned), Refcounted::pair_layout(&owned)),
            ] {
                assert_eq!(found, text, "spare {spare}");
                assert_eq!(layout, PairLayout::of(text), "spare {spare}");
            }
            assert_eq!((*byte, line.0, owned.as_str()), (3, 4, "owned"));
            assert_eq!(std::ptr::from_ref(&*line).addr() % 64, 0);
            assert_eq!(Refcounted::spare(&line).load(Ordering::Relaxed), 3);
            let unowned = Refcounted::unowned(&owned);
            // SAFETY: `owned` is held until after the reads.
            let (value, text_read) = unsafe { (unowned.get(), unowned.text()) };
            assert_eq!((value.as_str(), text_read), ("owned", text));
        }
    }
}
