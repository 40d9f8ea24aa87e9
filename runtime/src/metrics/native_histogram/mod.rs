//! Native histograms: exponential buckets chosen at run time, with client_golang's semantics.
//!
//! The layout follows client_golang's `histogram` (prometheus/histogram.go) step for step, so
//! that the same observations give the same schema, zero bucket and buckets (the differential
//! test in `tests/tests/native_histogram.rs` holds both to that). Where client_golang 1.14 (what
//! Debian ships) and today's client_golang differ, this follows today's: when the bucket limit
//! makes it widen the zero bucket or halve the resolution, it schedules a reset for `min_reset`
//! after the last one, and does not reset early while one is scheduled.
//!
//! # Observations without a lock, scrapes and changes of layout beside them
//!
//! client_golang keeps two sets of counts and announces each observation in a shared count (one
//! more atomic read-modify-write an observation, on a line every thread writes) so that a
//! scrape or a change of layout can wait for the observations in flight. Here an observation
//! costs what a classic one does, two atomic read-modify-writes (the sum's compare-and-swap and
//! the count of its bucket; a third for its classic bucket when there are classic buckets), and
//! nothing waits for it (see `counts.rs`). The sum is kept in four parts, each on its own cache
//! line, a thread adding to one of them: threads observing at once then do not retry each
//! other's compare-and-swap (two threads on one histogram: 68-70 ns a pair of observations with
//! one sum, 22-40 ns with four parts; `benches/README.md`):
//!
//! - A scrape reads the classic counts, then the native ones, then the sum. Its `count` is the
//!   sum of the native counts it read (zero bucket, buckets, NaN), so `count == zero_count +`
//!   the bucket counts always holds: that is what Prometheus checks of a native histogram
//!   (`histogram.Validate`: the count may exceed them only when the sum is NaN, as it is once a
//!   NaN was observed, and a scrape that reads a NaN count reads the NaN sum). It checks
//!   nothing of the sum. An observation racing the scrape may be in the sum without being in
//!   the counts (the sum runs ahead by the observations in flight, as promexport's classic
//!   histogram's does), or in its native bucket and not yet in its classic one (the classic
//!   part stays cumulative, each bucket at most `count`, which is its `+Inf` bucket). The next
//!   scrape finds each of them whole.
//! - A change of layout (the bucket limit widening the zero bucket or halving the resolution)
//!   publishes the new layout and moves the counts into it; the buckets of each schema are a
//!   table of their own whose keys never move, so an observation that read the old layout adds
//!   to the bucket it meant, and the next scrape or change of layout moves that late count
//!   where the new layout puts it. Every observation, concurrent ones included, is counted
//!   once.
//! - A reset (when the limit is hit after `min_reset`, or when a scheduled one is due) empties
//!   the counts and starts a new epoch; it keeps what starts after it (after a limit-triggered
//!   reset: the observation that hit the limit). Observations racing it may be kept, in part
//!   (in `count` without their value in the sum, or the reverse), or not.

mod bounds;
mod buckets;
mod counts;
mod exemplars;
mod limit;
mod schema;

pub use schema::{MAX_SCHEMA, MIN_SCHEMA};

use super::histogram::{bucket_index, bucket_problem, valid_bounds};
use super::{MetricConfig, MetricKind, Series};
use crate::encoding::{
    ClassicBucket, Created, FamilyEncoder, HistogramSample, NativeHistogramParts,
};
use crate::{Error, Exemplar};
use counts::Counts;
use exemplars::NativeExemplars;
use schema::schema_for_factor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// The default half-width of the zero bucket: `2^-128`, as client_golang's
/// `DefNativeHistogramZeroThreshold`.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// How a [`NativeHistogram`] chooses and limits its buckets: client_golang's
/// `NativeHistogram*` options of `HistogramOpts`.
///
/// ```
/// use promexport::{NativeHistogram, NativeHistogramOptions};
/// use std::time::Duration;
///
/// let latency = NativeHistogram::new(NativeHistogramOptions {
///     factor: 1.1,
///     max_buckets: 100,
///     min_reset: Duration::from_secs(3600),
///     ..NativeHistogramOptions::DEFAULT
/// })?;
/// assert_eq!(latency.snapshot().schema, 3, "buckets grow by 2^(1/8) = 1.09, not above 1.1");
/// # Ok::<(), promexport::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeHistogramOptions {
    /// The most a bucket's upper bound may exceed its lower bound, as a factor above 1: the
    /// schema is the largest `n` in `-4..=8` with `2^(2^-n) <= factor` (`NativeHistogramBucketFactor`).
    pub factor: f64,
    /// Observations within `[-zero_threshold, zero_threshold]` count in the zero bucket; `0.0`
    /// for exact zeros only (Go's `NativeHistogramZeroThresholdZero`; Go's `0` is this
    /// [`DEFAULT_ZERO_THRESHOLD`]).
    pub zero_threshold: f64,
    /// The most positive and negative buckets together before the limit strategy starts; `0`
    /// for no limit (`NativeHistogramMaxBucketNumber`). When an observation exceeds it: reset
    /// if `min_reset` has passed since the last reset, else widen the zero bucket to take the
    /// bucket closest to zero if that stays within `max_zero_threshold`, else halve the
    /// resolution (`schema - 1`, down to -4). Best effort: the count can stay above.
    pub max_buckets: u32,
    /// The least time between two resets; `Duration::ZERO` never resets
    /// (`NativeHistogramMinResetDuration`).
    pub min_reset: Duration,
    /// How far the bucket limit may widen the zero bucket (`NativeHistogramMaxZeroThreshold`).
    pub max_zero_threshold: f64,
    /// The most exemplars kept for the native part; `0` keeps none (Go's default is 10, and a
    /// negative value there is this `0`).
    pub max_exemplars: usize,
    /// How old the oldest exemplar must be to make room for a new one when `max_exemplars` are
    /// kept (`NativeHistogramExemplarTTL`).
    pub exemplar_ttl: Duration,
    /// Classic buckets served beside the native ones, as [`Histogram::with_buckets`] takes
    /// them; empty for none (the classic part is then `+Inf`, `_sum` and `_count`).
    ///
    /// [`Histogram::with_buckets`]: crate::Histogram::with_buckets
    pub classic_buckets: &'static [f64],
}

impl NativeHistogramOptions {
    /// Factor 1.1 (schema 3), the default zero bucket, at most 160 buckets, a reset at most
    /// hourly, no widening of the zero bucket, 10 exemplars for 5 minutes, no classic buckets.
    /// client_golang leaves the limit off by default; promexport bounds the memory a series
    /// takes unless told otherwise (`max_buckets: 0`).
    pub const DEFAULT: NativeHistogramOptions = NativeHistogramOptions {
        factor: 1.1,
        zero_threshold: DEFAULT_ZERO_THRESHOLD,
        max_buckets: 160,
        min_reset: Duration::from_secs(3600),
        max_zero_threshold: 0.0,
        max_exemplars: 10,
        exemplar_ttl: Duration::from_secs(300),
        classic_buckets: &[],
    };

    /// What is wrong with these options, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
        if !(self.factor > 1.0 && self.factor.is_finite()) {
            return Some(format!(
                "a native histogram's bucket factor must be finite and above 1, e.g. 1.1, not `{}`",
                self.factor
            ));
        }
        for (name, threshold) in [
            ("zero_threshold", self.zero_threshold),
            ("max_zero_threshold", self.max_zero_threshold),
        ] {
            if !(threshold >= 0.0 && threshold.is_finite()) {
                return Some(format!(
                    "a native histogram's `{name}` must be finite and not negative, not `{threshold}`"
                ));
            }
        }
        if self.classic_buckets.is_empty() {
            None
        } else {
            bucket_problem(self.classic_buckets)
        }
    }
}

impl Default for NativeHistogramOptions {
    fn default() -> Self {
        NativeHistogramOptions::DEFAULT
    }
}

/// When the histogram was last reset, and whether a reset is scheduled: client_golang's
/// `lastResetTime` and `resetScheduled`, under the lock that also orders layout changes and
/// scrapes.
struct Layout {
    last_reset: u64,
    last_reset_at: SystemTime,
    reset_scheduled: bool,
}

/// A histogram with native (exponential, sparse) buckets, and classic buckets if asked for,
/// with client_golang's semantics: see [`NativeHistogramOptions`].
///
/// `observe` is lock-free and allocation-free once its bucket exists. The protobuf format
/// ([`Format::Protobuf`](crate::Format::Protobuf), what Prometheus scrapes native histograms
/// over) serves both parts; text and OpenMetrics serve the classic one (`_bucket`, `_sum`,
/// `_count`). [`snapshot`](Self::snapshot) reads it all.
///
/// ```
/// use promexport::{NativeHistogram, NativeHistogramOptions};
///
/// let sizes = NativeHistogram::new(NativeHistogramOptions {
///     factor: 2.0,
///     ..NativeHistogramOptions::DEFAULT
/// })?;
/// for size in [0.0, 1.0, 3.0, 4.0, -0.5] {
///     sizes.observe(size);
/// }
/// let snapshot = sizes.snapshot();
/// assert_eq!((snapshot.count, snapshot.sum, snapshot.schema), (5, 7.5, 0));
/// assert_eq!(snapshot.zero_count, 1);
/// // Bucket `i` holds (2^(i-1), 2^i]: 1 in 0, 3 and 4 in 2, -0.5 in -1 of the negative side.
/// assert_eq!(snapshot.positive, [(0, 1), (2, 2)]);
/// assert_eq!(snapshot.negative, [(-1, 1)]);
/// # Ok::<(), promexport::Error>(())
/// ```
pub struct NativeHistogram {
    counts: Counts,
    options: NativeHistogramOptions,
    schema: i32,
    zero_threshold: f64,
    started: Instant,
    /// Nanoseconds after `started` when a scheduled reset is due; 0 when none is.
    reset_due: AtomicU64,
    layout: Mutex<Layout>,
    classic_exemplars: OnceLock<Box<[Mutex<Option<Exemplar>>]>>,
    native_exemplars: Mutex<NativeExemplars>,
    /// Time added to the clock, so that unit tests can let `min_reset` pass.
    #[cfg(test)]
    skew: AtomicU64,
}

/// What a [`NativeHistogram`] holds at one moment: the parts of a protobuf histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeHistogramSnapshot {
    /// Observations, NaN included.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The classic buckets: upper bound and cumulative count, without `+Inf` (that is `count`).
    pub classic: Vec<(f64, u64)>,
    /// The current resolution, -4..=8.
    pub schema: i32,
    /// The current half-width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Positive buckets with observations, as (index, count) sorted by index: bucket `i` holds
    /// `(base^(i-1), base^i]` with `base = 2^(2^-schema)`.
    pub positive: Vec<(i32, u64)>,
    /// Negative buckets with observations, by absolute value as `positive`.
    pub negative: Vec<(i32, u64)>,
    /// The native exemplars, sorted by value.
    pub exemplars: Vec<Exemplar>,
    /// When the histogram was created or last reset.
    pub created: SystemTime,
}

impl NativeHistogram {
    /// A native histogram with `options`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the factor is not above 1, a threshold is negative or not finite,
    /// or the classic buckets break [`Histogram::with_buckets`]' rules.
    ///
    /// ```
    /// use promexport::{NativeHistogram, NativeHistogramOptions};
    /// let flat = NativeHistogramOptions { factor: 1.0, ..NativeHistogramOptions::DEFAULT };
    /// assert!(NativeHistogram::new(flat).is_err());
    /// ```
    ///
    /// [`Histogram::with_buckets`]: crate::Histogram::with_buckets
    pub fn new(options: NativeHistogramOptions) -> Result<Self, Error> {
        match options.problem() {
            Some(problem) => Err(Error::Config(problem)),
            None => Ok(NativeHistogram::with_checked_options(options)),
        }
    }

    /// A native histogram with `options`, whatever is wrong in them replaced by the default
    /// (for options that could not be refused where they were given, as in a [`MetricConfig`]).
    fn with_valid_options(mut options: NativeHistogramOptions) -> Self {
        let valid = NativeHistogramOptions::DEFAULT;
        if !(options.factor > 1.0 && options.factor.is_finite()) {
            options.factor = valid.factor;
        }
        if !(options.zero_threshold >= 0.0 && options.zero_threshold.is_finite()) {
            options.zero_threshold = valid.zero_threshold;
        }
        if !(options.max_zero_threshold >= 0.0 && options.max_zero_threshold.is_finite()) {
            options.max_zero_threshold = valid.max_zero_threshold;
        }
        options.classic_buckets = &options.classic_buckets[..valid_bounds(options.classic_buckets)];
        NativeHistogram::with_checked_options(options)
    }

    fn with_checked_options(options: NativeHistogramOptions) -> Self {
        let schema = schema_for_factor(options.factor);
        // Room for the limit's worth of buckets without a second table, within reason.
        let slots = match options.max_buckets {
            0 => 64,
            limit => (limit as usize + limit as usize / 2).min(4096),
        };
        NativeHistogram {
            counts: Counts::new(
                options.classic_buckets.len(),
                schema,
                options.zero_threshold,
                slots,
            ),
            options,
            schema,
            zero_threshold: options.zero_threshold,
            started: Instant::now(),
            reset_due: AtomicU64::new(0),
            layout: Mutex::new(Layout {
                last_reset: 0,
                last_reset_at: SystemTime::now(),
                reset_scheduled: false,
            }),
            classic_exemplars: OnceLock::new(),
            native_exemplars: Mutex::new(NativeExemplars::new(
                options.max_exemplars,
                options.exemplar_ttl,
            )),
            #[cfg(test)]
            skew: AtomicU64::new(0),
        }
    }

    /// The options it was made with.
    pub fn options(&self) -> &NativeHistogramOptions {
        &self.options
    }

    /// Records one observation. NaN counts in `count`, `sum` and the classic `+Inf` bucket only.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.record(bucket_index(self.options.classic_buckets, value), value);
    }

    #[inline]
    fn record(&self, classic: usize, value: f64) {
        if self.reset_due.load(Ordering::Relaxed) != 0 {
            self.reset_if_due();
        }
        if (self.counts).observe(value, classic, !value.is_nan(), self.options.max_buckets) {
            self.limit_buckets(value, classic);
        }
    }

    /// Records one observation and keeps it, with `labels` (a trace id), as the exemplar of its
    /// classic bucket and among the native exemplars (unless NaN). The observation is recorded
    /// even when the labels are refused (see [`Exemplar::new`]). Takes a lock, as
    /// client_golang's `ObserveWithExemplar` does: for sampled requests, not every one.
    ///
    /// ```
    /// use promexport::NativeHistogram;
    /// let latency = NativeHistogram::default();
    /// latency.observe_with_exemplar(0.25, &[("trace_id", "4bf92f35")])?;
    /// let snapshot = latency.snapshot();
    /// assert_eq!(snapshot.exemplars[0].value(), 0.25);
    /// assert!(snapshot.exemplars[0].timestamp() > 0.0);
    /// # Ok::<(), promexport::Error>(())
    /// ```
    #[inline(never)]
    pub fn observe_with_exemplar(&self, value: f64, labels: &[(&str, &str)]) -> Result<(), Error> {
        let classic = bucket_index(self.options.classic_buckets, value);
        self.record(classic, value);
        let exemplar = Exemplar::new(labels, value)?;
        let slots = self.classic_exemplars.get_or_init(|| {
            (0..=self.options.classic_buckets.len())
                .map(|_| Mutex::new(None))
                .collect()
        });
        if !value.is_nan() {
            lock(&self.native_exemplars).add(exemplar.clone());
        }
        if let Some(slot) = slots.get(classic) {
            *lock(slot) = Some(exemplar);
        }
        Ok(())
    }

    /// Starts a timer that observes the elapsed seconds when dropped.
    pub fn start_timer(&self) -> NativeHistogramTimer<'_> {
        NativeHistogramTimer {
            histogram: self,
            start: Instant::now(),
        }
    }

    /// What it holds now, as a scrape reads it: count, sum and every bucket of the same
    /// observations.
    pub fn snapshot(&self) -> NativeHistogramSnapshot {
        if self.reset_due.load(Ordering::Relaxed) != 0 {
            self.reset_if_due();
        }
        let layout = lock(&self.layout);
        let read = self.counts.read();
        let mut cumulative = 0;
        let classic = (self.options.classic_buckets.iter().zip(&read.classic))
            .map(|(bound, bucket)| {
                cumulative += bucket;
                // Only an observation racing a reset can be in a classic bucket and not in
                // `count`: the classic part stays cumulative.
                (*bound, cumulative.min(read.count))
            })
            .collect();
        NativeHistogramSnapshot {
            count: read.count,
            sum: read.sum,
            classic,
            schema: read.schema,
            zero_threshold: read.zero_threshold,
            zero_count: read.zero_count,
            positive: read.positive,
            negative: read.negative,
            exemplars: lock(&self.native_exemplars).kept().to_vec(),
            created: layout.last_reset_at,
        }
    }

    /// Nanoseconds since it was created (at least 1, so that 0 can mean "never").
    fn now(&self) -> u64 {
        let now = duration_nanos(self.started.elapsed());
        #[cfg(test)]
        let now = now + self.skew.load(Ordering::Relaxed);
        now
    }
}

fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for NativeHistogram {
    /// [`NativeHistogramOptions::DEFAULT`].
    fn default() -> Self {
        NativeHistogram::with_checked_options(NativeHistogramOptions::DEFAULT)
    }
}

impl std::fmt::Debug for NativeHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeHistogram")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Series for NativeHistogram {
    const KIND: MetricKind = MetricKind::Histogram;
    const NATIVE: bool = true;
    fn new(config: &MetricConfig) -> Self {
        NativeHistogram::with_valid_options(config.native)
    }
    /// Both parts: text and OpenMetrics serve the classic one, protobuf both.
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        let snapshot = self.snapshot();
        let exemplars = self.classic_exemplars.get();
        // Held while the encoder writes them, not copied out.
        let guards: Vec<_> = (0..=snapshot.classic.len())
            .map(|index| exemplars.and_then(|slots| slots.get(index)).map(lock))
            .collect();
        let exemplar = |index: usize| guards.get(index)?.as_ref()?.as_ref();
        let buckets: Vec<ClassicBucket<'_>> = snapshot
            .classic
            .iter()
            .chain([&(f64::INFINITY, snapshot.count)])
            .enumerate()
            .map(|(index, (bound, cumulative))| ClassicBucket {
                upper_bound: *bound,
                cumulative_count: *cumulative,
                exemplar: exemplar(index),
            })
            .collect();
        let native_exemplars: Vec<&Exemplar> = snapshot.exemplars.iter().collect();
        let sample = HistogramSample {
            buckets: &buckets,
            sum: snapshot.sum,
            created: Some(Created::at(snapshot.created)),
            native: Some(NativeHistogramParts {
                schema: snapshot.schema,
                zero_threshold: snapshot.zero_threshold,
                zero_count: snapshot.zero_count,
                positive: &snapshot.positive,
                negative: &snapshot.negative,
                exemplars: &native_exemplars,
            }),
        };
        family.histogram(labels, &sample);
    }
}

/// Observes the seconds since [`NativeHistogram::start_timer`] when dropped.
#[derive(Debug)]
#[must_use = "a timer observes when dropped; bind it to a variable"]
pub struct NativeHistogramTimer<'a> {
    histogram: &'a NativeHistogram,
    start: Instant,
}

impl Drop for NativeHistogramTimer<'_> {
    fn drop(&mut self) {
        self.histogram.observe(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests;
