//! The sliding window: one quantile stream per age bucket, the oldest dropped as time moves on.

use super::stream::{Stream, query};
use std::time::{Duration, Instant};

/// `age_buckets` streams of `bucket_duration` each: observations go into the newest; a query
/// reads them all, so it covers between `(age_buckets - 1)` and `age_buckets` bucket durations
/// (client_golang's `MaxAge` window, which also loses a bucket at a time).
#[derive(Debug)]
pub(super) struct Window {
    streams: Box<[Stream]>,
    newest: usize,
    newest_start: Instant,
    bucket_duration: Duration,
    epsilon: f64,
}

impl Window {
    pub(super) fn new(epsilon: f64, max_age: Duration, age_buckets: u32, now: Instant) -> Self {
        Window {
            streams: (0..age_buckets.max(1))
                .map(|_| Stream::new(epsilon))
                .collect(),
            newest: 0,
            newest_start: now,
            bucket_duration: (max_age / age_buckets.max(1)).max(Duration::from_nanos(1)),
            epsilon,
        }
    }

    /// Starts a new bucket for each bucket duration passed since the newest began, dropping
    /// the oldest each time (all of them after a whole `MaxAge` without a call).
    fn rotate(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.newest_start);
        let passed = elapsed.as_nanos() / self.bucket_duration.as_nanos();
        if passed == 0 {
            return;
        }
        let len = self.streams.len();
        for _ in 0..passed.min(len as u128) {
            self.newest = (self.newest + 1) % len;
            self.streams[self.newest].reset();
        }
        // `passed` is at most `elapsed / bucket_duration`, so this stays within `now`.
        let step = self.bucket_duration.as_nanos() * passed;
        self.newest_start +=
            Duration::from_nanos(u64::try_from(step).unwrap_or(u64::MAX)).min(elapsed);
    }

    /// Moves `values` into the newest bucket, leaving `values` empty (NaN is left out: it has
    /// no rank).
    pub(super) fn absorb(&mut self, values: &mut Vec<f64>, now: Instant) {
        self.rotate(now);
        values.retain(|value| !value.is_nan());
        values.sort_unstable_by(f64::total_cmp);
        self.streams[self.newest].insert_sorted(values);
        values.clear();
    }

    /// The values at `quantiles` (sorted) over the window, into `out`.
    pub(super) fn quantiles(&mut self, now: Instant, quantiles: &[f64], out: &mut Vec<f64>) {
        self.rotate(now);
        query(&self.streams, quantiles, self.epsilon, out);
    }

    /// Observations in the window (without those still in the threads' buffers).
    #[cfg(test)]
    pub(super) fn count(&self) -> u64 {
        self.streams.iter().map(Stream::count).sum()
    }

    #[cfg(test)]
    pub(super) fn kept(&self) -> usize {
        self.streams.iter().map(Stream::len).sum()
    }
}
