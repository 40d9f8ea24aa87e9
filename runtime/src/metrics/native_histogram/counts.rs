//! One of the two sets of counts of a native histogram (client_golang's `histogramCounts`):
//! observations go to the hot one while a scrape or a change of the bucket layout works on the
//! cold one.
//!
//! Unlike Go's, a set has no `count` of completed observations to increment last: the count
//! that an observation increments last (its bucket's, the zero bucket's, or the NaN count) is
//! what completes it, and the set has completed as many observations as all of those sum to
//! ([`completed`](Counts::completed)). One atomic read-modify-write less an observation.

use super::buckets::SparseBuckets;
use super::schema::bucket_key;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

/// What every observation writes, on a cache line of its own: observations on another thread
/// then do not take the line that holds what they read (schema, threshold, the tables).
#[repr(align(128))]
pub(super) struct Written {
    pub(super) sum_bits: AtomicU64,
    pub(super) zero_count: AtomicU64,
    /// NaN observations (in `count`, `sum` and the classic `+Inf` bucket only).
    pub(super) nan_count: AtomicU64,
}

pub(super) struct Counts {
    pub(super) written: Written,
    pub(super) zero_threshold_bits: AtomicU64,
    pub(super) schema: AtomicI32,
    /// Positive and negative buckets created since the last clear, as Go counts them (a bucket
    /// emptied by a scrape stays, and counted, until the layout changes).
    pub(super) bucket_number: AtomicU32,
    /// Non-cumulative classic bucket counts, without `+Inf` (that one is `count`).
    pub(super) classic: Box<[AtomicU64]>,
    pub(super) positive: SparseBuckets,
    pub(super) negative: SparseBuckets,
}

impl Counts {
    pub(super) fn new(
        classic_buckets: usize,
        schema: i32,
        zero_threshold: f64,
        slots: usize,
    ) -> Self {
        Counts {
            written: Written {
                sum_bits: AtomicU64::new(0),
                zero_count: AtomicU64::new(0),
                nan_count: AtomicU64::new(0),
            },
            zero_threshold_bits: AtomicU64::new(zero_threshold.to_bits()),
            schema: AtomicI32::new(schema),
            bucket_number: AtomicU32::new(0),
            classic: (0..classic_buckets).map(|_| AtomicU64::new(0)).collect(),
            positive: SparseBuckets::new(slots),
            negative: SparseBuckets::new(slots),
        }
    }

    #[inline]
    pub(super) fn zero_threshold(&self) -> f64 {
        f64::from_bits(self.zero_threshold_bits.load(Ordering::Relaxed))
    }

    pub(super) fn sum(&self) -> f64 {
        f64::from_bits(self.written.sum_bits.load(Ordering::Relaxed))
    }

    pub(super) fn zero_count(&self) -> u64 {
        self.written.zero_count.load(Ordering::Relaxed)
    }

    /// Observations completed (see the module docs).
    pub(super) fn completed(&self) -> u64 {
        self.written.zero_count.load(Ordering::Acquire)
            + self.written.nan_count.load(Ordering::Acquire)
            + self.positive.total()
            + self.negative.total()
    }

    /// Records `value` (`classic` is its classic bucket); `native` is false for NaN, which only
    /// `count`, `sum` and the `+Inf` bucket see. The last increment (Release) completes it.
    #[inline]
    pub(super) fn observe(&self, value: f64, classic: usize, native: bool) {
        if let Some(bucket) = self.classic.get(classic) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        add_to_sum(&self.written.sum_bits, value);
        let completion = if !native {
            &self.written.nan_count
        } else if value > self.zero_threshold() {
            self.bucket(&self.positive, value)
        } else if value < -self.zero_threshold() {
            self.bucket(&self.negative, value)
        } else {
            &self.written.zero_count
        };
        completion.fetch_add(1, Ordering::Release);
    }

    /// The count of the bucket of `value`, counted in `bucket_number` if created for it.
    #[inline]
    fn bucket<'a>(&self, buckets: &'a SparseBuckets, value: f64) -> &'a AtomicU64 {
        let (count, created) =
            buckets.bucket(bucket_key(value, self.schema.load(Ordering::Relaxed)));
        if created {
            self.bucket_number.fetch_add(1, Ordering::Relaxed);
        }
        count
    }

    /// Back to no observations, at `schema` and `zero_threshold`.
    pub(super) fn reset(&self, schema: i32, zero_threshold: f64) {
        self.written.sum_bits.store(0, Ordering::Relaxed);
        self.written.zero_count.store(0, Ordering::Relaxed);
        self.written.nan_count.store(0, Ordering::Relaxed);
        self.zero_threshold_bits
            .store(zero_threshold.to_bits(), Ordering::Relaxed);
        self.schema.store(schema, Ordering::Relaxed);
        self.bucket_number.store(0, Ordering::Relaxed);
        for bucket in &self.classic {
            bucket.store(0, Ordering::Relaxed);
        }
        self.positive.clear();
        self.negative.clear();
    }

    /// Moves sum, classic buckets, zero bucket and NaN count of `self` into `hot` (Go's
    /// `addAndResetCounts`).
    pub(super) fn add_and_reset_into(&self, hot: &Counts) {
        add_to_sum(
            &hot.written.sum_bits,
            f64::from_bits(self.written.sum_bits.swap(0, Ordering::Relaxed)),
        );
        for (hot_bucket, bucket) in hot.classic.iter().zip(&self.classic) {
            hot_bucket.fetch_add(bucket.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
        for (hot_count, count) in [
            (&hot.written.zero_count, &self.written.zero_count),
            (&hot.written.nan_count, &self.written.nan_count),
        ] {
            hot_count.fetch_add(count.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    /// Adds every sparse bucket of `self` to `hot` and sets it to zero, keeping it (Go's
    /// `addAndReset`): the next swap finds the buckets already there.
    pub(super) fn add_and_reset_buckets_into(&self, hot: &Counts) {
        for (buckets, hot_buckets) in [
            (&self.positive, &hot.positive),
            (&self.negative, &hot.negative),
        ] {
            buckets.for_each(|key, count| {
                if hot_buckets.add(key, count.swap(0, Ordering::Relaxed)) {
                    hot.bucket_number.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    }

    /// The buckets of one sign with a count, sorted by index.
    pub(super) fn populated(buckets: &SparseBuckets) -> Vec<(i32, u64)> {
        let mut populated = Vec::new();
        buckets.for_each(|key, count| {
            let count = count.load(Ordering::Relaxed);
            if count > 0 {
                populated.push((key, count));
            }
        });
        populated.sort_unstable_by_key(|(key, _)| *key);
        populated
    }
}

/// Adds `value` to the float in `sum_bits` (a compare-and-swap loop: there is no atomic float
/// add), here so that it is inlined into `observe`.
#[inline]
fn add_to_sum(sum_bits: &AtomicU64, value: f64) {
    let mut current = sum_bits.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + value).to_bits();
        match sum_bits.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}
