//! [`Summary`]: count, sum and quantiles over a sliding window.

mod stream;
#[cfg(test)]
mod tests;
mod window;

use super::sharded::{SHARDS, shard_of_this_thread};
use super::{MetricConfig, MetricKind, Series};
use crate::Error;
use crate::encoding::{Created, FamilyEncoder, Quantile, SummarySample};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use window::Window;

/// client_golang's `DefMaxAge`: how long an observation counts towards the quantiles.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
/// client_golang's `DefAgeBuckets`: how many buckets the window moves by.
pub const DEFAULT_AGE_BUCKETS: u32 = 5;
/// client_golang's `DefBufCap`: observations a thread buffers before they enter the window.
pub const DEFAULT_BUF_CAP: u32 = 500;

/// How a [`Summary`] computes its quantiles: client_golang's `SummaryOpts`, with its defaults.
///
/// A zero `max_age`, `age_buckets` or `buf_cap` means its default, as in client_golang.
///
/// ```
/// use promexport::{Summary, SummaryOptions};
/// use std::time::Duration;
/// let latency = Summary::new(&SummaryOptions {
///     objectives: &[(0.5, 0.05), (0.99, 0.001)],
///     max_age: Duration::from_secs(60),
///     ..SummaryOptions::DEFAULT
/// })?;
/// latency.observe(0.25);
/// assert_eq!(latency.quantiles(), [(0.5, 0.25), (0.99, 0.25)]);
/// # Ok::<(), promexport::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryOptions<'a> {
    /// `(quantile, allowed rank error)` pairs: `(0.99, 0.001)` serves a value whose rank is
    /// within `0.001·n` of `0.99·n`. None (the default) serves only `_count` and `_sum`.
    pub objectives: &'a [(f64, f64)],
    /// How long an observation counts towards the quantiles (default 10 minutes).
    pub max_age: Duration,
    /// How many buckets the window is made of (default 5): it moves by `max_age / age_buckets`
    /// at a time, so it covers between `max_age - max_age / age_buckets` and `max_age`.
    pub age_buckets: u32,
    /// Observations each thread buffers before they enter the window (default 500).
    pub buf_cap: u32,
}

impl SummaryOptions<'static> {
    /// No objectives, and client_golang's defaults for the window.
    pub const DEFAULT: SummaryOptions<'static> = SummaryOptions {
        objectives: &[],
        max_age: DEFAULT_MAX_AGE,
        age_buckets: DEFAULT_AGE_BUCKETS,
        buf_cap: DEFAULT_BUF_CAP,
    };
}

impl Default for SummaryOptions<'static> {
    fn default() -> Self {
        SummaryOptions::DEFAULT
    }
}

/// What is wrong with one objective, if anything.
pub(crate) fn objective_problem(quantile: f64, error: f64) -> Option<String> {
    if !(0.0..=1.0).contains(&quantile) {
        return Some(format!(
            "summary quantiles are between 0 and 1, not `{quantile}`; e.g. `(0.99, 0.001)`"
        ));
    }
    if !(error > 0.0 && error < 1.0) {
        return Some(format!(
            "the allowed error of quantile `{quantile}` must be above 0 and below 1, not `{error}`; e.g. `(0.99, 0.001)`"
        ));
    }
    None
}

/// Observations summarised as `_count`, `_sum` and quantiles over a sliding window, served as
/// `name{quantile="0.99"}` samples.
///
/// Count and sum are over all time; the quantiles over the last [`max_age`] (between
/// `max_age - max_age / age_buckets` and `max_age`, as in client_golang).
///
/// **Error bound.** Each served quantile `φ` is a value that was observed at a rank `r` with
/// `|r - φ·n| <= max(ε·n, 1)`, `n` the observations in the window and `ε` the smallest allowed
/// error among the objectives: every quantile gets the tightest objective's bound. It holds for
/// any order of observations (Greenwald-Khanna summaries, one per age bucket, queried together;
/// client_golang's CKMS streams give no such guarantee on adversarial orders). NaN is counted
/// and summed but has no rank, so it is left out of the quantiles; with no observation in the
/// window the quantiles are NaN, as in client_golang.
///
/// **Hot path.** `observe` adds to its thread's shard (one of 16, each on its own cache line
/// behind its own lock, which other threads almost never take): count, sum and, with
/// objectives, a buffer. A full buffer ([`buf_cap`]) enters the window on the observing thread,
/// which leaves the shard first, so others go on observing; a scrape takes every buffer.
/// Buffers are reused: once warm, `observe` does not allocate. An observation enters the
/// window when its buffer does (at a scrape at the latest), which is what dates it: the window's
/// edges are as precise as the scrape interval.
///
/// ```
/// use promexport::{Summary, SummaryOptions};
/// let latency = Summary::new(&SummaryOptions {
///     objectives: &[(0.5, 0.05), (0.9, 0.01)],
///     ..SummaryOptions::DEFAULT
/// })?;
/// for millis in 1..=100 {
///     latency.observe(f64::from(millis) / 1000.0);
/// }
/// assert_eq!(latency.count(), 100);
/// let quantiles = latency.quantiles();
/// assert!((quantiles[0].1 - 0.05).abs() <= 0.0051, "{quantiles:?}");
/// assert!((quantiles[1].1 - 0.09).abs() <= 0.0011, "{quantiles:?}");
/// # Ok::<(), promexport::Error>(())
/// ```
///
/// [`max_age`]: SummaryOptions::max_age
/// [`buf_cap`]: SummaryOptions::buf_cap
pub struct Summary {
    shards: Box<[Shard]>,
    /// `None` without objectives: count and sum only.
    quantiles: Option<Box<Quantiles>>,
    created: Created,
}

#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<ShardState>);

#[derive(Default)]
struct ShardState {
    count: u64,
    sum: f64,
    /// Observations not yet in the window.
    values: Vec<f64>,
    /// The other buffer, swapped in when `values` is full.
    spare: Vec<f64>,
}

impl Shard {
    fn lock(&self) -> MutexGuard<'_, ShardState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Quantiles {
    /// Sorted, without duplicates.
    quantiles: Box<[f64]>,
    /// The tightest objective's error, which every quantile gets.
    epsilon: f64,
    buf_cap: usize,
    state: Mutex<WindowState>,
}

struct WindowState {
    window: Window,
    /// Observations taken from the shards at a scrape.
    staging: Vec<f64>,
    /// The latest answers, kept to reuse the allocation.
    answers: Vec<f64>,
    /// The latest answers with their quantiles, as a scrape writes them.
    served: Vec<Quantile>,
}

impl Quantiles {
    fn lock(&self) -> MutexGuard<'_, WindowState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Summary {
    /// A summary with `options`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first objective whose quantile is not in `[0, 1]`, whose
    /// allowed error is not in `(0, 1)`, or whose quantile is given twice.
    ///
    /// ```
    /// use promexport::{Summary, SummaryOptions};
    /// let options = |objectives| SummaryOptions { objectives, ..SummaryOptions::DEFAULT };
    /// assert!(Summary::new(&options(&[(1.5, 0.01)])).is_err());
    /// assert!(Summary::new(&options(&[(0.5, 0.0)])).is_err());
    /// assert!(Summary::new(&options(&[(0.5, 0.05), (0.5, 0.01)])).is_err());
    /// ```
    pub fn new(options: &SummaryOptions<'_>) -> Result<Self, Error> {
        let mut seen: Vec<f64> = Vec::with_capacity(options.objectives.len());
        for &(quantile, error) in options.objectives {
            if let Some(problem) = objective_problem(quantile, error) {
                return Err(Error::Config(problem));
            }
            if seen.contains(&quantile) {
                return Err(Error::Config(format!(
                    "summary quantile `{quantile}` is given twice; give each quantile once"
                )));
            }
            seen.push(quantile);
        }
        Ok(Summary::with_valid_objectives(options, Instant::now()))
    }

    /// A summary with the valid objectives of `options` (the first of each quantile): for
    /// options that could not be refused where they were given, as in a [`MetricConfig`].
    fn with_valid_objectives(options: &SummaryOptions<'_>, now: Instant) -> Self {
        let mut objectives: Vec<(f64, f64)> = Vec::new();
        for &(quantile, error) in options.objectives {
            let known = objectives.iter().any(|(known, _)| *known == quantile);
            if objective_problem(quantile, error).is_none() && !known {
                objectives.push((quantile, error));
            }
        }
        objectives.sort_by(|a, b| a.0.total_cmp(&b.0));
        let quantiles = (!objectives.is_empty()).then(|| {
            let epsilon = objectives
                .iter()
                .map(|(_, error)| *error)
                .fold(1.0, f64::min);
            let or_default = |value: u32, default: u32| if value == 0 { default } else { value };
            let max_age = if options.max_age.is_zero() {
                DEFAULT_MAX_AGE
            } else {
                options.max_age
            };
            let age_buckets = or_default(options.age_buckets, DEFAULT_AGE_BUCKETS);
            Box::new(Quantiles {
                quantiles: objectives.iter().map(|(quantile, _)| *quantile).collect(),
                epsilon,
                buf_cap: or_default(options.buf_cap, DEFAULT_BUF_CAP) as usize,
                state: Mutex::new(WindowState {
                    window: Window::new(epsilon, max_age, age_buckets, now),
                    staging: Vec::new(),
                    answers: Vec::new(),
                    served: Vec::new(),
                }),
            })
        });
        Summary {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            quantiles,
            created: Created::now(),
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        let shard = &self.shards[shard_of_this_thread()];
        let mut state = shard.lock();
        state.count += 1;
        state.sum += value;
        if let Some(quantiles) = &self.quantiles {
            state.values.push(value);
            if state.values.len() >= quantiles.buf_cap {
                let spare = std::mem::take(&mut state.spare);
                let full = std::mem::replace(&mut state.values, spare);
                drop(state);
                self.absorb_full(quantiles, shard, full);
            }
        }
    }

    // Out of line: one `observe` in `buf_cap` gets here.
    #[inline(never)]
    fn absorb_full(&self, quantiles: &Quantiles, shard: &Shard, mut full: Vec<f64>) {
        quantiles.lock().window.absorb(&mut full, Instant::now());
        let mut state = shard.lock();
        if state.spare.capacity() < full.capacity() {
            state.spare = full;
        }
    }

    /// Number of observations, over all time.
    pub fn count(&self) -> u64 {
        self.shards.iter().map(|shard| shard.lock().count).sum()
    }

    /// Sum of the observations, over all time.
    pub fn sum(&self) -> f64 {
        self.shards.iter().map(|shard| shard.lock().sum).sum()
    }

    /// When the summary was created: protobuf's `created_timestamp`, OpenMetrics' `_created`.
    pub fn created(&self) -> Created {
        self.created
    }

    /// The `(quantile, value)` of each objective, sorted by quantile, over the window as it is
    /// now (see [`Summary`] for the error bound); empty without objectives.
    pub fn quantiles(&self) -> Vec<(f64, f64)> {
        self.quantiles_at(Instant::now())
    }

    fn quantiles_at(&self, now: Instant) -> Vec<(f64, f64)> {
        let Some(quantiles) = &self.quantiles else {
            return Vec::new();
        };
        let mut state = self.flush(quantiles, now);
        let state = &mut *state;
        state
            .window
            .quantiles(now, &quantiles.quantiles, &mut state.answers);
        quantiles
            .quantiles
            .iter()
            .copied()
            .zip(state.answers.iter().copied())
            .collect()
    }

    /// Moves every thread's buffer into the window, and returns it locked.
    fn flush<'q>(&self, quantiles: &'q Quantiles, now: Instant) -> MutexGuard<'q, WindowState> {
        let mut state = quantiles.lock();
        let WindowState {
            window, staging, ..
        } = &mut *state;
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            staging.extend_from_slice(&shard.values);
            shard.values.clear();
        }
        window.absorb(staging, now);
        state
    }
}

impl Default for Summary {
    /// A summary without objectives: `_count` and `_sum` only, as client_golang's default.
    fn default() -> Self {
        Summary::with_valid_objectives(&SummaryOptions::DEFAULT, Instant::now())
    }
}

impl std::fmt::Debug for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let quantiles = self.quantiles.as_deref();
        f.debug_struct("Summary")
            .field("count", &self.count())
            .field("sum", &self.sum())
            .field("quantiles", &quantiles.map(|q| &q.quantiles))
            .field("rank_error", &quantiles.map(|q| q.epsilon))
            .finish()
    }
}

impl Series for Summary {
    const KIND: MetricKind = MetricKind::Summary;
    fn new(config: &MetricConfig) -> Self {
        Summary::with_valid_objectives(&config.summary, Instant::now())
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        let (mut count, mut sum) = (0, 0.0);
        let mut totals = || {
            for shard in self.shards.iter() {
                let shard = shard.lock();
                count += shard.count;
                sum += shard.sum;
            }
        };
        let Some(quantiles) = &self.quantiles else {
            totals();
            let sample = SummarySample {
                quantiles: &[],
                count,
                sum,
                created: Some(self.created),
            };
            family.summary(labels, &sample);
            return;
        };
        let now = Instant::now();
        let mut state = self.flush(quantiles, now);
        let state = &mut *state;
        state
            .window
            .quantiles(now, &quantiles.quantiles, &mut state.answers);
        state.served.clear();
        let pairs = quantiles.quantiles.iter().zip(&state.answers);
        state.served.extend(pairs.map(|(quantile, value)| Quantile {
            quantile: *quantile,
            value: *value,
        }));
        totals();
        let sample = SummarySample {
            quantiles: &state.served,
            count,
            sum,
            created: Some(self.created),
        };
        family.summary(labels, &sample);
    }
}
