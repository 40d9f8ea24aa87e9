use super::number::AtomicNumber;
use super::{Buckets, Exemplar};
use super::{MetricConfig, MetricKind, Series};
use crate::Error;
use crate::encoding::{ClassicBucket, ClassicBuckets, Created, FamilyEncoder, HistogramSample};
use std::borrow::Cow;
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
/// let latency = Histogram::with_buckets(&[0.1, 1.0])?;
/// latency.observe(0.05);
/// latency.observe(0.5);
/// latency.observe(7.0);
/// assert_eq!(latency.count(), 3);
/// assert_eq!(latency.sum(), 7.55);
/// # Ok::<(), promexport::Error>(())
/// ```
///
/// A scrape reads `_sum` before the buckets, with no lock between them, as it reads every other
/// series: under concurrent `observe`s, `_sum` may already include an observation that the
/// buckets and `_count` do not count yet (or the reverse), so `_sum / _count` of one scrape can
/// be slightly off. The buckets and `_count` always agree with each other. Between scrapes the
/// difference evens out; the alternative (client_golang's hot and cold counts) would cost every
/// `observe` more.
pub struct Histogram {
    /// Borrowed for bounds known at compile time, owned for [`Buckets`] chosen at run time.
    upper_bounds: Cow<'static, [f64]>,
    /// Non-cumulative counts; the last one is the `+Inf` bucket.
    counts: Box<[AtomicU64]>,
    sum_bits: AtomicU64,
    /// Read once, at creation (served as the created timestamp).
    created: Created,
    /// The latest exemplar of each bucket, allocated at the first one.
    exemplars: OnceLock<Box<[Mutex<Option<Exemplar>>]>>,
}

impl Histogram {
    /// A histogram with the given upper bounds: at least one, finite, strictly increasing.
    /// The `+Inf` bucket is always added, so it is not one of them.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first bound that breaks these rules: an unsorted or repeated
    /// bound would make the cumulative counts decrease, and a NaN or infinite bound would be
    /// served as a second `le="+Inf"` bucket.
    ///
    /// ```
    /// use promexport::Histogram;
    /// assert!(Histogram::with_buckets(&[1.0, 0.5]).is_err());
    /// assert!(Histogram::with_buckets(&[0.5, f64::INFINITY]).is_err());
    /// ```
    pub fn with_buckets(upper_bounds: &'static [f64]) -> Result<Self, Error> {
        match bucket_problem(upper_bounds) {
            Some(problem) => Err(Error::Config(problem)),
            None => Ok(Histogram::with_checked_buckets(upper_bounds)),
        }
    }

    /// A histogram with the longest valid start of `upper_bounds` (see [`with_buckets`]): for
    /// bounds that could not be refused where they were given, as in a [`MetricConfig`].
    ///
    /// [`with_buckets`]: Self::with_buckets
    pub(crate) fn with_valid_buckets(upper_bounds: &'static [f64]) -> Self {
        Histogram::with_checked_buckets(&upper_bounds[..valid_bounds(upper_bounds)])
    }

    /// A histogram with bounds chosen at run time, freed with it (no `Box::leak` needed for
    /// [`with_buckets`](Self::with_buckets)' `&'static` bounds).
    ///
    /// ```
    /// use promexport::{Buckets, Histogram};
    /// let configured_bounds = vec![0.5, 1.0, 2.0];
    /// let histogram = Histogram::from_buckets(Buckets::new(configured_bounds)?);
    /// histogram.observe(0.7);
    /// assert_eq!(histogram.count(), 1);
    /// # Ok::<(), promexport::Error>(())
    /// ```
    pub fn from_buckets(buckets: Buckets) -> Self {
        Histogram::with_checked_buckets(Cow::Owned(buckets.into_vec()))
    }

    fn with_checked_buckets(upper_bounds: impl Into<Cow<'static, [f64]>>) -> Self {
        let upper_bounds = upper_bounds.into();
        Histogram {
            counts: (0..=upper_bounds.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            upper_bounds,
            sum_bits: AtomicU64::new(0),
            created: Created::now(),
            exemplars: OnceLock::new(),
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.record(bucket_index(&self.upper_bounds, value), value);
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
        let bucket = bucket_index(&self.upper_bounds, value);
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

    /// When the histogram was created (served as its created timestamp).
    pub fn created(&self) -> Created {
        self.created
    }
}

/// How many bounds at the start of `upper_bounds` are finite and strictly increasing.
pub(super) fn valid_bounds(upper_bounds: &[f64]) -> usize {
    let mut previous = f64::NEG_INFINITY;
    upper_bounds
        .iter()
        .take_while(|bound| {
            let valid = bound.is_finite() && **bound > previous;
            previous = **bound;
            valid
        })
        .count()
}

/// What is wrong with bucket bounds, if anything.
pub(super) fn bucket_problem(upper_bounds: &[f64]) -> Option<String> {
    if upper_bounds.is_empty() {
        return Some(
            "histogram buckets need at least one upper bound, e.g. `&[0.1, 0.5, 1.0]`".to_owned(),
        );
    }
    let valid = valid_bounds(upper_bounds);
    let bound = *upper_bounds.get(valid)?;
    Some(if bound.is_finite() {
        format!(
            "histogram bucket bounds must be strictly increasing: `{bound}` comes after `{}`",
            upper_bounds[valid - 1]
        )
    } else {
        format!("histogram bucket bounds must be finite, not `{bound}`; `+Inf` is always added")
    })
}

/// The bucket `value` falls in: the first bound `>= value`, or the `+Inf` bucket (also for NaN).
///
/// A linear scan for the usual dozen bounds: it does not wait on a chain of dependent
/// comparisons as a binary search does, and typical observations stop early. Binary search
/// above 32 bounds (client_golang makes the same switch at 35).
#[inline(always)]
pub(super) fn bucket_index(upper_bounds: &[f64], value: f64) -> usize {
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
        Histogram::with_checked_buckets(DEFAULT_BUCKETS)
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
        Histogram::with_valid_buckets(config.buckets)
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        let sample = HistogramSample {
            buckets: self,
            sum: self.sum(),
            created: Some(self.created),
            native: None,
        };
        family.histogram(labels, &sample);
    }
}

/// The buckets as a scrape reads them: each count loaded once, while it is written, so the
/// buckets and the count (the `+Inf` bucket) agree.
impl ClassicBuckets for Histogram {
    fn for_each_bucket(&self, visit: &mut dyn FnMut(ClassicBucket<'_>)) {
        let mut cumulative = 0;
        let exemplars = self.exemplars.get();
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            // Written under the bucket's lock, not copied out of it.
            let slot = exemplars.and_then(|slots| slots.get(index));
            let exemplar = slot.map(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner));
            visit(ClassicBucket {
                upper_bound: self
                    .upper_bounds
                    .get(index)
                    .copied()
                    .unwrap_or(f64::INFINITY),
                cumulative_count: cumulative,
                exemplar: exemplar.as_ref().and_then(|guard| guard.as_ref()),
            });
        }
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
    use super::*;

    #[test]
    fn buckets_keep_their_own_bounds_after_histograms_of_other_buckets() {
        use crate::encoding::{Encoder, Format};
        use crate::metrics::Descriptor;
        // The text encoder keeps the `le` labels of the buckets it last wrote, by position:
        // these differ from the ones before them at some positions and not at others.
        let first = Histogram::with_buckets(&[1.0, 2.0, 5.0]).unwrap();
        let second = Histogram::with_buckets(&[1.0, 2.5, 5.0, 10.0]).unwrap();
        let third = Histogram::with_buckets(&[-0.5, 2.0]).unwrap();
        let histograms = [
            ("first", &first),
            ("second", &second),
            ("third", &third),
            ("again", &first),
        ];
        for format in [Format::Text, Format::OpenMetrics] {
            let mut out = Vec::new();
            let mut encoder = Encoder::new(&mut out, format);
            for (name, histogram) in histograms {
                let descriptor = Descriptor {
                    name,
                    help: "Latency.",
                    unit: None,
                    kind: MetricKind::Histogram,
                };
                crate::__private::encode_metric(&mut encoder, &descriptor, "", histogram);
            }
            encoder.finish();
            let text = String::from_utf8(out).unwrap();
            let bounds = |name: &str| -> Vec<&str> {
                let bucket = format!("{name}_bucket{{le=\"");
                text.lines()
                    .filter_map(|line| line.strip_prefix(bucket.as_str()))
                    .filter_map(|rest| rest.split('"').next())
                    .collect()
            };
            assert_eq!(bounds("first"), ["1.0", "2.0", "5.0", "+Inf"], "{text}");
            assert_eq!(
                bounds("second"),
                ["1.0", "2.5", "5.0", "10.0", "+Inf"],
                "{text}"
            );
            assert_eq!(bounds("third"), ["-0.5", "2.0", "+Inf"], "{text}");
            assert_eq!(bounds("again"), ["1.0", "2.0", "5.0", "+Inf"], "{text}");
        }
    }

    #[test]
    fn bucket_bounds_are_checked() {
        assert!(Histogram::with_buckets(&[0.1, 1.0, 10.0]).is_ok());
        assert!(Histogram::with_buckets(&[-1.0, 0.0]).is_ok());
        for (bounds, problem) in [
            (&[][..], "at least one upper bound"),
            (&[1.0, 0.5], "`0.5` comes after `1`"),
            (&[1.0, 1.0], "`1` comes after `1`"),
            (&[1.0, f64::NAN], "not `NaN`"),
            (&[1.0, f64::INFINITY], "not `inf`"),
            (&[f64::NEG_INFINITY, 1.0], "not `-inf`"),
        ] {
            match Histogram::with_buckets(bounds) {
                Err(Error::Config(message)) => {
                    assert!(message.contains(problem), "{bounds:?}: {message}")
                }
                other => panic!("{bounds:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn configured_bounds_keep_their_valid_start() {
        let histogram = |buckets| {
            let config = MetricConfig {
                buckets,
                ..MetricConfig::DEFAULT
            };
            <Histogram as Series>::new(&config)
                .upper_bounds
                .into_owned()
        };
        assert_eq!(histogram(&[0.5, 1.0]), [0.5, 1.0]);
        assert_eq!(histogram(&[0.5, 2.0, 1.0, 3.0]), [0.5, 2.0]);
        assert_eq!(histogram(&[0.5, f64::INFINITY]), [0.5]);
        assert_eq!(histogram(&[f64::NAN, 1.0]), [] as [f64; 0]);
    }

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
