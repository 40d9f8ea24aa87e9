//! What a native histogram does when it exceeds its bucket limit, step for step as
//! client_golang's `limitBuckets` (today's version, with its scheduled reset), and the reset
//! that schedule makes due. Every step runs under `layout`'s lock, beside observations (see the
//! module docs).

use super::schema::{MIN_SCHEMA, upper_bound};
use super::{Layout, NativeHistogram, duration_nanos, lock};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

impl NativeHistogram {
    /// client_golang's `limitBuckets`: the bucket limit was exceeded by `value`.
    #[cold]
    #[inline(never)]
    pub(super) fn limit_buckets(&self, value: f64, classic: usize) {
        let mut layout = lock(&self.layout);
        let (schema, _) = self.counts.layout();
        let buckets = self
            .counts
            .layer(schema)
            .bucket_number
            .load(Ordering::Relaxed);
        if buckets <= self.options.max_buckets {
            return;
        }
        if self.maybe_reset(&mut layout, value, classic) {
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
        if self.maybe_widen_zero_bucket() {
            return;
        }
        if schema > MIN_SCHEMA {
            self.counts.halve_resolution();
        }
    }

    /// Resets everything but the observation of `value`, if `min_reset` has passed since the
    /// last reset and none is scheduled.
    fn maybe_reset(&self, layout: &mut Layout, value: f64, classic: usize) -> bool {
        let min_reset = duration_nanos(self.options.min_reset);
        let now = self.now();
        if min_reset == 0 || layout.reset_scheduled || now - layout.last_reset < min_reset {
            return false;
        }
        self.counts.reset(self.schema, self.zero_threshold);
        self.counts.observe(value, classic, true, 0);
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
        self.counts.reset(self.schema, self.zero_threshold);
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
    fn maybe_widen_zero_bucket(&self) -> bool {
        if self.counts.zero_threshold() >= self.options.max_zero_threshold {
            return false;
        }
        let (schema, epoch) = self.counts.layout();
        let layer = self.counts.layer(schema);
        let smallest = match (
            layer.positive.smallest_key(epoch),
            layer.negative.smallest_key(epoch),
        ) {
            (Some(positive), Some(negative)) => positive.min(negative),
            (Some(key), None) | (None, Some(key)) => key,
            (None, None) => return false,
        };
        let threshold = upper_bound(smallest, schema);
        if threshold > self.options.max_zero_threshold {
            return false;
        }
        self.counts.widen_zero_bucket(threshold, smallest);
        true
    }
}
