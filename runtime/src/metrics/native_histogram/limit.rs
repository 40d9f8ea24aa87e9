//! What a native histogram does when it exceeds its bucket limit, step for step as
//! client_golang's `limitBuckets` (today's version, with its scheduled reset), and the reset
//! that schedule makes due. Every step runs under `layout`'s lock, on the cold counts.

use super::counts::Counts;
use super::schema::{MIN_SCHEMA, upper_bound};
use super::{Layout, NativeHistogram, STARTED, duration_nanos, lock, wait_for};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

impl NativeHistogram {
    /// client_golang's `limitBuckets`: the bucket limit was exceeded by `value`.
    #[cold]
    #[inline(never)]
    pub(super) fn limit_buckets(&self, value: f64, classic: usize) {
        let mut layout = lock(&self.layout);
        let (hot, cold, cold_index) = self.current();
        if hot.bucket_number.load(Ordering::Relaxed) <= self.options.max_buckets {
            return;
        }
        if self.maybe_reset(&mut layout, hot, cold, cold_index, value, classic) {
            return;
        }
        let min_reset = duration_nanos(self.options.min_reset);
        if min_reset > 0 && !layout.reset_scheduled {
            layout.reset_scheduled = true;
            self.reset_due.store(
                layout.last_reset.saturating_add(min_reset).max(1),
                Ordering::Relaxed,
            );
        }
        if self.maybe_widen_zero_bucket(hot, cold) {
            return;
        }
        self.halve_resolution(cold);
    }

    /// Resets everything but the observation of `value`, if `min_reset` has passed since the
    /// last reset and none is scheduled.
    fn maybe_reset(
        &self,
        layout: &mut Layout,
        hot: &Counts,
        cold: &Counts,
        cold_index: u64,
        value: f64,
        classic: usize,
    ) -> bool {
        let min_reset = duration_nanos(self.options.min_reset);
        let now = self.now();
        if min_reset == 0 || layout.reset_scheduled || now - layout.last_reset < min_reset {
            return false;
        }
        cold.reset(self.schema, self.zero_threshold);
        cold.observe(value, classic, true);
        let before = self
            .count_and_hot
            .0
            .swap((cold_index << 63) + 1, Ordering::AcqRel);
        wait_for(hot, before & STARTED);
        hot.reset(self.schema, self.zero_threshold);
        layout.last_reset = now;
        layout.last_reset_at = SystemTime::now();
        true
    }

    /// The reset scheduled when the limit was handled otherwise, once it is due.
    #[cold]
    #[inline(never)]
    pub(super) fn reset_if_due(&self) {
        let mut layout = lock(&self.layout);
        let due = self.reset_due.load(Ordering::Relaxed);
        let now = self.now();
        if due == 0 || now < due {
            return;
        }
        let (hot, cold, cold_index) = self.current();
        cold.reset(self.schema, self.zero_threshold);
        let before = self
            .count_and_hot
            .0
            .swap(cold_index << 63, Ordering::AcqRel);
        wait_for(hot, before & STARTED);
        hot.reset(self.schema, self.zero_threshold);
        // When Go's timer would have fired: every observation since was checked against it.
        layout.last_reset = due;
        layout.last_reset_at = SystemTime::now()
            .checked_sub(Duration::from_nanos(now - due))
            .unwrap_or_else(SystemTime::now);
        layout.reset_scheduled = false;
        self.reset_due.store(0, Ordering::Relaxed);
    }

    /// Widens the zero bucket to take the bucket closest to zero, if that stays within
    /// `max_zero_threshold` (client_golang's `maybeWidenZeroBucket`).
    fn maybe_widen_zero_bucket(&self, hot: &Counts, cold: &Counts) -> bool {
        if hot.zero_threshold() >= self.options.max_zero_threshold {
            return false;
        }
        let smallest = match (hot.positive.smallest_key(), hot.negative.smallest_key()) {
            (Some(positive), Some(negative)) => positive.min(negative),
            (Some(key), None) | (None, Some(key)) => key,
            (None, None) => return false,
        };
        let threshold = upper_bound(smallest, hot.schema.load(Ordering::Relaxed));
        if threshold > self.options.max_zero_threshold {
            return false;
        }
        cold.zero_threshold_bits
            .store(threshold.to_bits(), Ordering::Relaxed);
        for buckets in [&cold.negative, &cold.positive] {
            if buckets.remove(smallest) {
                cold.bucket_number.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let (hot, cold, _) = self.swap();
        cold.add_and_reset_into(hot);
        cold.zero_threshold_bits
            .store(threshold.to_bits(), Ordering::Relaxed);
        for (buckets, hot_buckets) in [
            (&cold.positive, &hot.positive),
            (&cold.negative, &hot.negative),
        ] {
            let mut merged = false;
            buckets.for_each(|key, count| {
                let count = count.swap(0, Ordering::Relaxed);
                if key == smallest {
                    hot.written.zero_count.fetch_add(count, Ordering::Relaxed);
                    merged = true;
                } else if hot_buckets.add(key, count) {
                    hot.bucket_number.fetch_add(1, Ordering::Relaxed);
                }
            });
            if merged && buckets.remove(smallest) {
                cold.bucket_number.fetch_sub(1, Ordering::Relaxed);
            }
        }
        true
    }

    /// Halves the resolution (schema - 1), merging pairs of buckets, unless it is already -4
    /// (client_golang's `doubleBucketWidth`).
    fn halve_resolution(&self, cold: &Counts) {
        let schema = cold.schema.load(Ordering::Relaxed);
        if schema == MIN_SCHEMA {
            return;
        }
        let schema = schema - 1;
        let clear = |counts: &Counts| {
            counts.schema.store(schema, Ordering::Relaxed);
            counts.bucket_number.store(0, Ordering::Relaxed);
            counts.positive.clear();
            counts.negative.clear();
        };
        clear(cold);
        let (hot, cold, _) = self.swap();
        cold.add_and_reset_into(hot);
        cold.schema.store(schema, Ordering::Relaxed);
        for (buckets, hot_buckets) in [
            (&cold.positive, &hot.positive),
            (&cold.negative, &hot.negative),
        ] {
            buckets.for_each(|key, count| {
                let wider = if key > 0 { key + 1 } else { key } / 2;
                if hot_buckets.add(wider, count.load(Ordering::Relaxed)) {
                    hot.bucket_number.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        clear(cold);
    }
}
