//! One of the two sets of counts of a native histogram (client_golang's `histogramCounts`):
//! observations go to the hot one while a scrape or a change of the bucket layout works on the
//! cold one.

use super::buckets::SparseBuckets;
use super::schema::bucket_key;
use crate::metrics::number::AtomicNumber;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

pub(super) struct Counts {
    pub(super) sum_bits: AtomicU64,
    /// Completed observations: incremented last, so that a scrape waiting for it to reach the
    /// number of started ones knows every started observation is in.
    pub(super) count: AtomicU64,
    pub(super) zero_count: AtomicU64,
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
            sum_bits: AtomicU64::new(0),
            count: AtomicU64::new(0),
            zero_count: AtomicU64::new(0),
            zero_threshold_bits: AtomicU64::new(zero_threshold.to_bits()),
            schema: AtomicI32::new(schema),
            bucket_number: AtomicU32::new(0),
            classic: (0..classic_buckets).map(|_| AtomicU64::new(0)).collect(),
            positive: SparseBuckets::new(slots),
            negative: SparseBuckets::new(slots),
        }
    }

    pub(super) fn zero_threshold(&self) -> f64 {
        f64::from_bits(self.zero_threshold_bits.load(Ordering::Relaxed))
    }

    /// Records `value` (`classic` is its classic bucket); `native` is false for NaN, which only
    /// `count`, `sum` and the `+Inf` bucket see.
    #[inline]
    pub(super) fn observe(&self, value: f64, classic: usize, native: bool) {
        if let Some(bucket) = self.classic.get(classic) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        f64::add(&self.sum_bits, value);
        if native {
            let zero_threshold = self.zero_threshold();
            let created = if value > zero_threshold {
                self.positive
                    .add(bucket_key(value, self.schema.load(Ordering::Relaxed)), 1)
            } else if value < -zero_threshold {
                self.negative
                    .add(bucket_key(value, self.schema.load(Ordering::Relaxed)), 1)
            } else {
                self.zero_count.fetch_add(1, Ordering::Relaxed);
                false
            };
            if created {
                self.bucket_number.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Release);
    }

    /// Back to no observations, at `schema` and `zero_threshold`.
    pub(super) fn reset(&self, schema: i32, zero_threshold: f64) {
        self.sum_bits.store(0, Ordering::Relaxed);
        self.count.store(0, Ordering::Relaxed);
        self.zero_count.store(0, Ordering::Relaxed);
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

    /// Moves count, sum, classic buckets and zero bucket of `self` into `hot` (Go's
    /// `addAndResetCounts`).
    pub(super) fn add_and_reset_into(&self, hot: &Counts) {
        hot.count
            .fetch_add(self.count.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        f64::add(
            &hot.sum_bits,
            f64::from_bits(self.sum_bits.swap(0, Ordering::Relaxed)),
        );
        for (hot_bucket, bucket) in hot.classic.iter().zip(&self.classic) {
            hot_bucket.fetch_add(bucket.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
        hot.zero_count.fetch_add(
            self.zero_count.swap(0, Ordering::Relaxed),
            Ordering::Relaxed,
        );
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
