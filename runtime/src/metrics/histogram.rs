use super::Exemplar;
use super::number::AtomicNumber;
use super::{MetricConfig, MetricKind, Series};
use crate::Error;
use crate::encoding::{FamilyEncoder, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

/// Prometheus' default buckets (seconds): 5 ms to 10 s.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Observations counted in buckets, exposed as `_bucket{le=...}`, `_sum` and `_count`.
///
/// Buckets come from `#[metric(buckets = [...])]` (default [`DEFAULT_BUCKETS`]). An observation
/// is a scan of the bounds and two atomic adds; `_count` is the `+Inf` bucket, so the two always
/// agree. [`observe_with_exemplar`](Self::observe_with_exemplar) also keeps the observation, with
/// its labels (a trace id), as its bucket's exemplar, served in OpenMetrics; their storage is
/// allocated at the first one, so a histogram without exemplars pays 24 bytes for the feature.
///
/// ```
/// use promexport::{Histogram, MetricConfig};
/// let latency = Histogram::with_buckets(&[0.1, 1.0]);
/// latency.observe(0.05);
/// latency.observe(0.5);
/// latency.observe(7.0);
/// assert_eq!(latency.count(), 3);
/// assert_eq!(latency.sum(), 7.55);
/// ```
pub struct Histogram {
    upper_bounds: &'static [f64],
    /// Non-cumulative counts; the last one is the `+Inf` bucket.
    counts: Box<[AtomicU64]>,
    sum_bits: AtomicU64,
    /// The latest exemplar of each bucket, allocated at the first one.
    exemplars: OnceLock<Box<[Mutex<Option<Exemplar>>]>>,
}

impl Histogram {
    /// A histogram with the given upper bounds (strictly increasing, without `+Inf`).
    pub fn with_buckets(upper_bounds: &'static [f64]) -> Self {
        Histogram {
            upper_bounds,
            counts: (0..=upper_bounds.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            sum_bits: AtomicU64::new(0),
            exemplars: OnceLock::new(),
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.record(bucket_index(self.upper_bounds, value), value);
    }

    #[inline(always)]
    fn record(&self, bucket: usize, value: f64) {
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        f64::add(&self.sum_bits, value);
    }

    /// Records one observation and keeps it, with `labels` (e.g. `[("trace_id", id)]`), as the
    /// exemplar of its bucket, replacing the previous one. The observation is recorded even when
    /// the labels are refused (see [`Exemplar::new`]).
    // Out of line: `observe`, on hot paths, stays as small as it was without exemplars.
    #[inline(never)]
    pub fn observe_with_exemplar(&self, value: f64, labels: &[(&str, &str)]) -> Result<(), Error> {
        let bucket = bucket_index(self.upper_bounds, value);
        self.record(bucket, value);
        let exemplar = Exemplar::new(labels, value)?;
        let exemplars = self
            .exemplars
            .get_or_init(|| self.counts.iter().map(|_| Mutex::new(None)).collect());
        if let Some(slot) = exemplars.get(bucket) {
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(exemplar);
        }
        Ok(())
    }

    /// The exemplar of bucket `index` (in the order of the bounds, `+Inf` last), if it has one.
    pub fn exemplar(&self, index: usize) -> Option<Exemplar> {
        let slot = self.exemplars.get()?.get(index)?;
        slot.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Starts a timer that observes the elapsed seconds when dropped (or [`stop`](HistogramTimer::stop)ped).
    pub fn start_timer(&self) -> HistogramTimer<'_> {
        HistogramTimer {
            histogram: self,
            start: Instant::now(),
            observed: false,
        }
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Sum of the observations.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum_bits.load(Ordering::Relaxed))
    }
}

/// The bucket `value` falls in: the first bound `>= value`, or the `+Inf` bucket (also for NaN).
///
/// A linear scan for the usual dozen bounds: it does not wait on a chain of dependent
/// comparisons as a binary search does, and typical observations stop early. Binary search
/// above 32 bounds (client_golang makes the same switch at 35).
#[inline(always)]
fn bucket_index(upper_bounds: &[f64], value: f64) -> usize {
    if upper_bounds.len() <= 32 {
        upper_bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(upper_bounds.len())
    } else if value.is_nan() {
        upper_bounds.len()
    } else {
        upper_bounds.partition_point(|bound| *bound < value)
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::with_buckets(DEFAULT_BUCKETS)
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("upper_bounds", &self.upper_bounds)
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish()
    }
}

impl Series for Histogram {
    const KIND: MetricKind = MetricKind::Histogram;
    fn new(config: &MetricConfig) -> Self {
        Histogram::with_buckets(config.buckets)
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        let mut cumulative = 0;
        let mut bound_text = ryu::Buffer::new();
        let exemplars = self.exemplars.get();
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let le = match self.upper_bounds.get(index) {
                Some(bound) if bound.is_finite() => bound_text.format_finite(*bound),
                _ => "+Inf",
            };
            let le = Some(("le", le));
            let value = Value::U64(cumulative);
            // Written under the bucket's lock, not copied out of it.
            let slot = exemplars.and_then(|slots| slots.get(index));
            let exemplar = slot.map(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner));
            let exemplar = exemplar.as_ref().and_then(|guard| guard.as_ref());
            family.sample_with_exemplar("_bucket", labels, le, value, exemplar);
        }
        family.sample("_sum", labels, None, Value::F64(self.sum()));
        family.sample("_count", labels, None, Value::U64(cumulative));
    }
}

/// Observes the seconds since [`Histogram::start_timer`] when dropped.
#[derive(Debug)]
#[must_use = "a timer observes when dropped; bind it to a variable"]
pub struct HistogramTimer<'a> {
    histogram: &'a Histogram,
    start: Instant,
    observed: bool,
}

impl HistogramTimer<'_> {
    /// Observes now and returns the elapsed seconds.
    pub fn stop(mut self) -> f64 {
        self.observe()
    }

    fn observe(&mut self) -> f64 {
        let seconds = self.start.elapsed().as_secs_f64();
        if !std::mem::replace(&mut self.observed, true) {
            self.histogram.observe(seconds);
        }
        seconds
    }
}

impl Drop for HistogramTimer<'_> {
    fn drop(&mut self) {
        self.observe();
    }
}

#[cfg(test)]
mod tests {
    use super::bucket_index;

    #[test]
    fn both_searches_agree_on_every_edge() {
        let few = [0.5, 1.0, 2.0];
        let many: Vec<f64> = (1..=40).map(f64::from).collect();
        for (bounds, values) in [
            (
                &few[..],
                vec![-1.0, 0.5, 0.75, 1.0, 2.0, 2.5, f64::INFINITY, f64::NAN],
            ),
            (
                &many[..],
                vec![-1.0, 1.0, 1.5, 40.0, 41.0, f64::INFINITY, f64::NAN],
            ),
        ] {
            for value in values {
                let expected = bounds
                    .iter()
                    .position(|bound| value <= *bound)
                    .unwrap_or(bounds.len());
                assert_eq!(
                    bucket_index(bounds, value),
                    expected,
                    "{value} in {} bounds",
                    bounds.len()
                );
            }
        }
    }
}
