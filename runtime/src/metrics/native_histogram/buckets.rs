//! The sparse buckets of one sign: a lock-free map from bucket index to count.
//!
//! client_golang uses a `sync.Map`; this is an open-addressing table of atomic slots, allocated
//! when its first bucket is created and chained to a table twice as large when a key finds no
//! free slot within [`PROBES`] of its home. A key is claimed with one compare-and-swap and never
//! moves while observations run, so an existing bucket costs one load and one add and never
//! allocates, and a key is in at most one table of the chain: a window that was full stays full.
//! Keys leave only in [`clear`](SparseBuckets::clear) and [`remove`](SparseBuckets::remove),
//! which the histogram calls only on its cold counts (no observation touches them then).
//!
//! Keys are their own hash: the buckets of one histogram are mostly contiguous, and contiguous
//! keys fill consecutive slots without colliding.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// A slot no key has claimed (no bucket index comes near `i32::MIN`: the lowest is about
/// `-1074 * 256`).
const EMPTY: i32 = i32::MIN;
/// How many slots from its home a key may land in before it goes to the next table.
const PROBES: usize = 8;

struct Slot {
    key: AtomicI32,
    count: AtomicU64,
}

struct Table {
    slots: Box<[Slot]>,
    next: OnceLock<Box<Table>>,
}

impl Table {
    fn with_slots(slots: usize) -> Table {
        Table {
            slots: (0..slots.next_power_of_two())
                .map(|_| Slot {
                    key: AtomicI32::new(EMPTY),
                    count: AtomicU64::new(0),
                })
                .collect(),
            next: OnceLock::new(),
        }
    }

    fn chain(&self) -> impl Iterator<Item = &Table> {
        std::iter::successors(Some(self), |table| table.next.get().map(|next| &**next))
    }
}

pub(super) struct SparseBuckets {
    first_slots: usize,
    first: OnceLock<Table>,
}

impl SparseBuckets {
    /// Buckets whose first table holds `first_slots` (rounded up to a power of two).
    pub(super) fn new(first_slots: usize) -> SparseBuckets {
        SparseBuckets {
            first_slots: first_slots.max(PROBES),
            first: OnceLock::new(),
        }
    }

    /// Adds `increment` to bucket `key`, creating it if needed; returns whether it was created.
    #[inline]
    pub(super) fn add(&self, key: i32, increment: u64) -> bool {
        let (count, created) = self.bucket(key);
        count.fetch_add(increment, Ordering::Relaxed);
        created
    }

    /// The count of bucket `key`, created (at zero) if needed, and whether it was created.
    #[inline]
    pub(super) fn bucket(&self, key: i32) -> (&AtomicU64, bool) {
        let mut table = self
            .first
            .get_or_init(|| Table::with_slots(self.first_slots));
        let home = key as u32 as usize;
        // Most observations find their bucket at home, in the first table.
        if let Some(slot) = table.slots.get(home & (table.slots.len() - 1)) {
            if slot.key.load(Ordering::Acquire) == key {
                return (&slot.count, false);
            }
        }
        loop {
            let mask = table.slots.len() - 1;
            for probe in 0..PROBES {
                let slot = &table.slots[(home + probe) & mask];
                let mut claimed = slot.key.load(Ordering::Acquire);
                if claimed == EMPTY {
                    match slot
                        .key
                        .compare_exchange(EMPTY, key, Ordering::AcqRel, Ordering::Acquire)
                    {
                        Ok(_) => return (&slot.count, true),
                        Err(other) => claimed = other,
                    }
                }
                if claimed == key {
                    return (&slot.count, false);
                }
            }
            let slots = table.slots.len() * 2;
            table = table
                .next
                .get_or_init(|| Box::new(Table::with_slots(slots)));
        }
    }

    /// The sum of every bucket's count (Acquire: what an observation wrote before its count
    /// is seen with it).
    pub(super) fn total(&self) -> u64 {
        let mut total = 0_u64;
        for table in self.first.get().into_iter().flat_map(Table::chain) {
            for slot in &table.slots {
                total = total.wrapping_add(slot.count.load(Ordering::Acquire));
            }
        }
        total
    }

    /// Calls `visit` with every bucket's key and count (those at zero included).
    pub(super) fn for_each(&self, mut visit: impl FnMut(i32, &AtomicU64)) {
        for table in self.first.get().into_iter().flat_map(Table::chain) {
            for slot in &table.slots {
                let key = slot.key.load(Ordering::Acquire);
                if key != EMPTY {
                    visit(key, &slot.count);
                }
            }
        }
    }

    /// The lowest key, if there is one.
    pub(super) fn smallest_key(&self) -> Option<i32> {
        let mut smallest = None;
        self.for_each(|key, _| smallest = Some(smallest.map_or(key, |s: i32| s.min(key))));
        smallest
    }

    /// Forgets every bucket (their memory stays for the next ones). Only with no concurrent
    /// [`add`](Self::add).
    pub(super) fn clear(&self) {
        for table in self.first.get().into_iter().flat_map(Table::chain) {
            for slot in &table.slots {
                slot.key.store(EMPTY, Ordering::Relaxed);
                slot.count.store(0, Ordering::Relaxed);
            }
        }
    }

    /// Removes bucket `key`; returns whether it was there. Only with no concurrent
    /// [`add`](Self::add): it re-inserts the other buckets, as open addressing cannot leave a
    /// hole in a probe sequence.
    pub(super) fn remove(&self, key: i32) -> bool {
        let mut kept = Vec::new();
        let mut found = false;
        self.for_each(|other, count| {
            if other == key {
                found = true;
            } else {
                kept.push((other, count.load(Ordering::Relaxed)));
            }
        });
        if found {
            self.clear();
            for (other, count) in kept {
                self.add(other, count);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(buckets: &SparseBuckets) -> Vec<(i32, u64)> {
        let mut all = Vec::new();
        buckets.for_each(|key, count| all.push((key, count.load(Ordering::Relaxed))));
        all.sort_unstable();
        all
    }

    #[test]
    fn keys_beyond_the_first_table_go_to_the_next() {
        let buckets = SparseBuckets::new(8);
        for key in -100..100 {
            assert!(buckets.add(key * 7, 1), "{key} is new");
        }
        for key in -100..100 {
            assert!(!buckets.add(key * 7, 2), "{key} exists");
        }
        let all = contents(&buckets);
        assert_eq!(all.len(), 200);
        assert!(all.iter().all(|(_, count)| *count == 3));
        assert_eq!(buckets.smallest_key(), Some(-700));
        assert!(buckets.remove(-700));
        assert!(!buckets.remove(-700));
        assert_eq!(contents(&buckets).len(), 199);
        assert!(contents(&buckets).iter().all(|(_, count)| *count == 3));
        buckets.clear();
        assert_eq!(contents(&buckets), []);
        assert_eq!(buckets.smallest_key(), None);
    }
}
