//! The sparse buckets of one sign at one schema: a lock-free map from bucket index to count.
//!
//! client_golang uses a `sync.Map`; this is an open-addressing table of atomic slots, allocated
//! with the buckets and chained to a table twice as large when a key finds no free slot within
//! [`PROBES`] of its home. A key is claimed with one compare-and-swap and never leaves its slot,
//! so an existing bucket costs one load and one add and never allocates, a key is in at most one
//! table of the chain (a window that was full stays full), and an observation that looked its
//! slot up before a reset or a change of layout still adds to the bucket it meant (the module
//! docs of `native_histogram` say why that matters).
//!
//! Go deletes its buckets on a reset; here a slot's tag carries, beside its key, the epoch (the
//! count of resets, see `Counts`) in which it was created, and a bucket exists in an epoch when
//! its slot carries that epoch: a reset empties the histogram by moving to the next epoch, and
//! the first observation of a key in an epoch re-creates it (counted as Go counts a new bucket).
//! Epoch 0 marks a bucket removed in its epoch (taken into a widened zero bucket). The memory
//! is that of every key seen at the schema since the histogram was created.
//!
//! Keys are their own hash: the buckets of one histogram are mostly contiguous, and contiguous
//! keys fill consecutive slots without colliding.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// A slot no key has claimed: key `i32::MIN` (no bucket index comes near it: the lowest is about
/// `-1074 * 256`) in epoch 0.
const EMPTY: u64 = i32::MIN as u32 as u64;
/// How many slots from its home a key may land in before it goes to the next table.
const PROBES: usize = 8;

/// The tag of bucket `key` created in `epoch`.
fn tag(key: i32, epoch: u32) -> u64 {
    (u64::from(epoch) << 32) | u64::from(key as u32)
}

fn key_of(tag: u64) -> i32 {
    tag as u32 as i32
}

fn epoch_of(tag: u64) -> u32 {
    (tag >> 32) as u32
}

/// Whether a bucket created in `epoch` is older than one created in `than`: epochs wrap (after
/// 2^32 resets) and skip 0, and no observation lags 2^31 resets behind.
fn older(epoch: u32, than: u32) -> bool {
    epoch == 0 || (than.wrapping_sub(epoch) as i32) > 0
}

/// Keys and counts in arrays of their own: an observation reads a key's line, which only the
/// creation of a bucket writes, and writes a count's, so that on two threads it does not wait
/// for the line twice (once to read, once to write).
struct Table {
    tags: Box<[AtomicU64]>,
    counts: Box<[AtomicU64]>,
    next: OnceLock<Box<Table>>,
}

impl Table {
    fn with_slots(slots: usize) -> Table {
        let slots = slots.next_power_of_two();
        Table {
            tags: (0..slots).map(|_| AtomicU64::new(EMPTY)).collect(),
            counts: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            next: OnceLock::new(),
        }
    }

    /// The slots: (tag, count).
    fn slots(&self) -> impl Iterator<Item = (&AtomicU64, &AtomicU64)> {
        self.tags.iter().zip(&self.counts)
    }

    fn chain(&self) -> impl Iterator<Item = &Table> {
        std::iter::successors(Some(self), |table| table.next.get().map(|next| &**next))
    }
}

pub(super) struct SparseBuckets {
    first: Table,
}

impl SparseBuckets {
    /// Buckets whose first table holds `first_slots` (rounded up to a power of two).
    pub(super) fn new(first_slots: usize) -> SparseBuckets {
        SparseBuckets {
            first: Table::with_slots(first_slots.max(PROBES)),
        }
    }

    /// Adds `increment` to bucket `key`, creating it in `epoch` if needed; returns whether it
    /// was created.
    pub(super) fn add(&self, key: i32, epoch: u32, increment: u64) -> bool {
        let (count, created) = self.bucket(key, epoch);
        count.fetch_add(increment, Ordering::Relaxed);
        created
    }

    /// The count of bucket `key`, created in `epoch` (at zero) if needed, and whether it was.
    #[inline]
    pub(super) fn bucket(&self, key: i32, epoch: u32) -> (&AtomicU64, bool) {
        let table = &self.first;
        let home = key as u32 as usize & (table.tags.len() - 1);
        // Most observations find their bucket at home, in the first table.
        if let (Some(tag_at_home), Some(count)) = (table.tags.get(home), table.counts.get(home)) {
            if tag_at_home.load(Ordering::Acquire) == tag(key, epoch) {
                return (count, false);
            }
        }
        self.find_or_create(key, epoch)
    }

    #[cold]
    #[inline(never)]
    fn find_or_create(&self, key: i32, epoch: u32) -> (&AtomicU64, bool) {
        let mut table = &self.first;
        let home = key as u32 as usize;
        loop {
            let mask = table.tags.len() - 1;
            for probe in 0..PROBES {
                let at = (home + probe) & mask;
                let (slot_tag, slot_count) = (&table.tags[at], &table.counts[at]);
                let mut current = slot_tag.load(Ordering::Acquire);
                loop {
                    let mine = current != EMPTY && key_of(current) == key;
                    if mine && !older(epoch_of(current), epoch) {
                        // Created in this epoch, or a later one than this late observation's.
                        return (slot_count, false);
                    }
                    if !mine && current != EMPTY {
                        break;
                    }
                    match slot_tag.compare_exchange(
                        current,
                        tag(key, epoch),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return (slot_count, true),
                        Err(actual) => current = actual,
                    }
                }
            }
            let slots = table.tags.len() * 2;
            table = table
                .next
                .get_or_init(|| Box::new(Table::with_slots(slots)));
        }
    }

    /// Calls `visit` with every key, the epoch it was last created in, and its count.
    pub(super) fn for_each(&self, mut visit: impl FnMut(i32, u32, &AtomicU64)) {
        for table in self.first.chain() {
            for (slot_tag, count) in table.slots() {
                let tag = slot_tag.load(Ordering::Acquire);
                if tag != EMPTY {
                    visit(key_of(tag), epoch_of(tag), count);
                }
            }
        }
    }

    /// The lowest key of a bucket that exists in `epoch`, if there is one.
    pub(super) fn smallest_key(&self, epoch: u32) -> Option<i32> {
        let mut smallest = None;
        self.for_each(|key, created, _| {
            if created == epoch {
                smallest = Some(smallest.map_or(key, |s: i32| s.min(key)));
            }
        });
        smallest
    }

    /// Removes bucket `key` from `epoch` (its slot and count stay); returns whether it existed.
    pub(super) fn remove(&self, key: i32, epoch: u32) -> bool {
        for table in self.first.chain() {
            for slot_tag in &table.tags {
                if slot_tag
                    .compare_exchange(
                        tag(key, epoch),
                        tag(key, 0),
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(buckets: &SparseBuckets, epoch: u32) -> Vec<(i32, u64)> {
        let mut all = Vec::new();
        buckets.for_each(|key, created, count| {
            if created == epoch {
                all.push((key, count.load(Ordering::Relaxed)));
            }
        });
        all.sort_unstable();
        all
    }

    #[test]
    fn keys_beyond_the_first_table_go_to_the_next() {
        let buckets = SparseBuckets::new(8);
        for key in -100..100 {
            assert!(buckets.add(key * 7, 1, 1), "{key} is new");
        }
        for key in -100..100 {
            assert!(!buckets.add(key * 7, 1, 2), "{key} exists");
        }
        let all = contents(&buckets, 1);
        assert_eq!(all.len(), 200);
        assert!(all.iter().all(|(_, count)| *count == 3));
        assert_eq!(buckets.smallest_key(1), Some(-700));
        assert!(buckets.remove(-700, 1));
        assert!(!buckets.remove(-700, 1));
        assert_eq!(buckets.smallest_key(1), Some(-693));
        assert_eq!(contents(&buckets, 1).len(), 199);
    }

    #[test]
    fn a_bucket_is_created_again_in_each_epoch() {
        let buckets = SparseBuckets::new(8);
        assert!(buckets.add(5, 1, 1));
        assert!(buckets.add(5, 2, 1), "a new epoch");
        assert!(!buckets.add(5, 2, 1));
        assert!(
            !buckets.add(5, 1, 1),
            "a late observation finds the newer bucket"
        );
        assert_eq!(contents(&buckets, 2), [(5, 4)], "in the one slot");
        assert!(buckets.remove(5, 2));
        assert_eq!(buckets.smallest_key(2), None);
        assert!(buckets.add(5, 2, 1), "removed, then created again");
        assert!(buckets.add(5, 3, 1), "epoch 3 is newer");
        assert!(older(u32::MAX, 1), "after the epochs wrap");
    }
}
