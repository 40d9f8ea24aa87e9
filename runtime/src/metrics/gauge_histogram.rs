//! [`GaugeHistogram`]: buckets of a gauge, OpenMetrics' `gaugehistogram`.

use super::histogram::{bucket_index, bucket_problem, valid_bounds};
use super::number::AtomicNumber;
use super::{Buckets, DEFAULT_BUCKETS, MetricConfig, MetricKind, Series};
use crate::Error;
use crate::encoding::{ClassicBucket, ClassicBuckets, FamilyEncoder, HistogramSample, Value};
use std::borrow::Cow;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The current distribution of something that comes and goes (items in a queue by age, open
/// connections by size), in buckets: OpenMetrics' `gaugehistogram`, with `_bucket{le=...}`,
/// `_gcount` and `_gsum` samples.
///
/// Unlike a [`Histogram`](crate::Histogram), an observation can be taken back
/// ([`remove`](Self::remove)), and the whole distribution replaced ([`set`](Self::set)).
/// Text 0.0.4 has no such type: there it is served as prometheus_client (Python) serves it,
/// a `histogram` of the buckets followed by `<name>_gcount` and `<name>_gsum` gauges.
///
/// ```
/// use promexport::{Buckets, GaugeHistogram};
/// let queued = GaugeHistogram::from_buckets(Buckets::new(vec![1.0, 10.0])?);
/// queued.observe(0.5); // a job waiting half a second
/// queued.observe(4.0);
/// queued.remove(0.5); // the first one is done
/// assert_eq!(queued.count(), 1);
/// assert_eq!(queued.sum(), 4.0);
/// assert_eq!(queued.cumulative_counts(), [0, 1, 1]);
/// # Ok::<(), promexport::Error>(())
/// ```
///
/// Buckets and `_gsum` are read one after another without a lock, as for a `Histogram`: under
/// concurrent changes one scrape may see a change in one and not yet in the other. A bucket
/// that a racing `remove` took below zero is served as 0 until the `observe` it raced arrives.
pub struct GaugeHistogram {
    upper_bounds: Cow<'static, [f64]>,
    /// Non-cumulative counts; the last one is the `+Inf` bucket.
    counts: Box<[AtomicI64]>,
    sum_bits: AtomicU64,
}

impl GaugeHistogram {
    /// A gauge histogram with the given upper bounds: at least one, finite, strictly
    /// increasing (`+Inf` is always added).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first bound that breaks these rules.
    pub fn with_buckets(upper_bounds: &'static [f64]) -> Result<Self, Error> {
        match bucket_problem(upper_bounds) {
            Some(problem) => Err(Error::Config(problem)),
            None => Ok(GaugeHistogram::with_checked_buckets(upper_bounds)),
        }
    }

    /// A gauge histogram with bounds chosen at run time.
    pub fn from_buckets(buckets: Buckets) -> Self {
        GaugeHistogram::with_checked_buckets(buckets.into_vec())
    }

    fn with_checked_buckets(upper_bounds: impl Into<Cow<'static, [f64]>>) -> Self {
        let upper_bounds = upper_bounds.into();
        GaugeHistogram {
            counts: (0..=upper_bounds.len())
                .map(|_| AtomicI64::new(0))
                .collect(),
            upper_bounds,
            sum_bits: AtomicU64::new(0),
        }
    }

    /// Adds one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.counts[bucket_index(&self.upper_bounds, value)].fetch_add(1, Ordering::Relaxed);
        f64::add(&self.sum_bits, value);
    }

    /// Takes back one observation of `value` (it left the queue, the connection closed).
    #[inline]
    pub fn remove(&self, value: f64) {
        self.counts[bucket_index(&self.upper_bounds, value)].fetch_sub(1, Ordering::Relaxed);
        f64::add(&self.sum_bits, -value);
    }

    /// Replaces the distribution: `counts` per bucket (not cumulative, in the order of the
    /// bounds, `+Inf` last) and their `sum`, e.g. from a snapshot taken elsewhere.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `counts` does not have one count per bucket, `+Inf` included;
    /// nothing is changed then.
    ///
    /// ```
    /// use promexport::GaugeHistogram;
    /// let sizes = GaugeHistogram::with_buckets(&[100.0, 1000.0])?;
    /// sizes.set(&[3, 2, 1], 2900.0)?;
    /// assert_eq!(sizes.cumulative_counts(), [3, 5, 6]);
    /// assert!(sizes.set(&[1, 2], 0.0).is_err());
    /// # Ok::<(), promexport::Error>(())
    /// ```
    pub fn set(&self, counts: &[u64], sum: f64) -> Result<(), Error> {
        if counts.len() != self.counts.len() {
            return Err(Error::Config(format!(
                "a gauge histogram with {} bounds takes {} counts (`+Inf` last), not {}",
                self.upper_bounds.len(),
                self.counts.len(),
                counts.len()
            )));
        }
        for (cell, count) in self.counts.iter().zip(counts) {
            cell.store(i64::try_from(*count).unwrap_or(i64::MAX), Ordering::Relaxed);
        }
        self.sum_bits.store(sum.to_bits(), Ordering::Relaxed);
        Ok(())
    }

    /// The cumulative count of each bucket (`+Inf` last), as served.
    pub fn cumulative_counts(&self) -> Vec<u64> {
        let mut cumulative = 0;
        self.counts
            .iter()
            .map(|count| {
                cumulative += non_negative(count);
                cumulative
            })
            .collect()
    }

    /// Number of observations now (`_gcount`).
    pub fn count(&self) -> u64 {
        self.counts.iter().map(non_negative).sum()
    }

    /// Sum of the observations now (`_gsum`).
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum_bits.load(Ordering::Relaxed))
    }
}

fn non_negative(count: &AtomicI64) -> u64 {
    u64::try_from(count.load(Ordering::Relaxed)).unwrap_or(0)
}

impl Default for GaugeHistogram {
    fn default() -> Self {
        GaugeHistogram::with_checked_buckets(DEFAULT_BUCKETS)
    }
}

impl std::fmt::Debug for GaugeHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GaugeHistogram")
            .field("upper_bounds", &self.upper_bounds)
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish()
    }
}

impl Series for GaugeHistogram {
    const KIND: MetricKind = MetricKind::GaugeHistogram;
    const TRAILING_GAUGES: &'static [&'static str] = &["_gcount", "_gsum"];

    fn new(config: &MetricConfig) -> Self {
        let bounds = config.buckets;
        GaugeHistogram::with_checked_buckets(&bounds[..valid_bounds(bounds)])
    }

    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        let sample = HistogramSample {
            buckets: self,
            sum: self.sum(),
            created: None,
            native: None,
        };
        family.gauge_histogram(labels, &sample);
    }

    fn encode_trailing(&self, family: &mut FamilyEncoder<'_>, labels: &str, suffix: &str) {
        let value = match suffix {
            "_gcount" => Value::U64(self.count()),
            _ => Value::F64(self.sum()),
        };
        family.trailing_gauge(suffix, labels, value);
    }
}

/// The buckets as a scrape reads them, each count loaded once (negative ones as 0).
impl ClassicBuckets for GaugeHistogram {
    fn for_each_bucket(&self, visit: &mut dyn FnMut(ClassicBucket<'_>)) {
        let mut cumulative = 0;
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += non_negative(count);
            visit(ClassicBucket {
                upper_bound: self
                    .upper_bounds
                    .get(index)
                    .copied()
                    .unwrap_or(f64::INFINITY),
                cumulative_count: cumulative,
                exemplar: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Encoder, Format};
    use crate::metrics::{Descriptor, Family, Metric};

    #[derive(Clone, PartialEq, Eq, Hash, crate::LabelSet)]
    #[label(crate = crate)]
    struct Queue {
        queue: &'static str,
    }

    fn render(metric: &impl Metric, format: Format) -> String {
        let descriptor = Descriptor {
            name: "jobs_waiting_seconds",
            help: "Jobs waiting, by time waited.",
            unit: Some("seconds"),
            kind: MetricKind::GaugeHistogram,
        };
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, format);
        crate::__private::encode_metric(&mut encoder, &descriptor, "", metric);
        encoder.finish();
        String::from_utf8(out).expect("text")
    }

    #[test]
    fn observations_can_be_taken_back() {
        let waiting = GaugeHistogram::with_buckets(&[1.0, 10.0]).unwrap();
        waiting.observe(0.5);
        waiting.observe(20.0);
        waiting.remove(0.5);
        waiting.remove(5.0); // never observed: its bucket is served at 0, not below
        assert_eq!(waiting.cumulative_counts(), [0, 0, 1]);
        waiting.observe(5.0);
        assert_eq!(waiting.cumulative_counts(), [0, 0, 1]);
        assert_eq!(waiting.sum(), 20.0);
    }

    #[test]
    fn text_serves_buckets_then_gauges_as_prometheus_client_does() {
        let family: Family<Queue, GaugeHistogram> = Family::new(&MetricConfig {
            buckets: &[1.0],
            ..MetricConfig::DEFAULT
        });
        family.get(&Queue { queue: "mail" }).observe(0.5);
        family.get(&Queue { queue: "print" }).observe(2.0);
        // An open family serves its series in table order: the expected text follows it.
        let text = render(&family, Format::Text);
        let queues = if text.find("\"mail\"") < text.find("\"print\"") {
            ["mail", "print"]
        } else {
            ["print", "mail"]
        };
        let state = |queue| match queue {
            "mail" => ("1", "1", "1", "0.5"),
            _ => ("0", "1", "1", "2.0"),
        };
        let mut expected = String::from(
            "# HELP jobs_waiting_seconds Jobs waiting, by time waited.\n\
             # TYPE jobs_waiting_seconds histogram\n",
        );
        for queue in queues {
            let (below_one, all, _, _) = state(queue);
            expected += &format!(
                "jobs_waiting_seconds_bucket{{queue=\"{queue}\",le=\"1.0\"}} {below_one}\n\
                 jobs_waiting_seconds_bucket{{queue=\"{queue}\",le=\"+Inf\"}} {all}\n"
            );
        }
        for (suffix, pick) in [("gcount", 2), ("gsum", 3)] {
            expected += &format!(
                "# HELP jobs_waiting_seconds_{suffix} Jobs waiting, by time waited.\n\
                 # TYPE jobs_waiting_seconds_{suffix} gauge\n"
            );
            for queue in queues {
                let (_, _, count, sum) = state(queue);
                let value = if pick == 2 { count } else { sum };
                expected +=
                    &format!("jobs_waiting_seconds_{suffix}{{queue=\"{queue}\"}} {value}\n");
            }
        }
        assert_eq!(text, expected);
        let mut expected = String::from(
            "# TYPE jobs_waiting_seconds gaugehistogram\n\
             # UNIT jobs_waiting_seconds seconds\n\
             # HELP jobs_waiting_seconds Jobs waiting, by time waited.\n",
        );
        for queue in queues {
            let (below_one, all, count, sum) = state(queue);
            expected += &format!(
                "jobs_waiting_seconds_bucket{{queue=\"{queue}\",le=\"1.0\"}} {below_one}\n\
                 jobs_waiting_seconds_bucket{{queue=\"{queue}\",le=\"+Inf\"}} {all}\n\
                 jobs_waiting_seconds_gcount{{queue=\"{queue}\"}} {count}\n\
                 jobs_waiting_seconds_gsum{{queue=\"{queue}\"}} {sum}\n"
            );
        }
        expected += "# EOF\n";
        assert_eq!(render(&family, Format::OpenMetrics), expected);
    }

    #[test]
    fn concurrent_changes_add_up_exactly() {
        // Miri runs every atomic step of four threads: a few hundred changes each check the same.
        const CHANGES: u32 = if cfg!(miri) { 200 } else { 10_000 };
        let gauge = GaugeHistogram::with_buckets(&[10.0, 100.0]).unwrap();
        std::thread::scope(|scope| {
            for thread in 0..4_u32 {
                let gauge = &gauge;
                scope.spawn(move || {
                    for i in 0..CHANGES {
                        let value = f64::from((i * 7 + thread) % 200);
                        gauge.observe(value);
                        if i % 2 == 1 {
                            gauge.remove(value);
                        }
                    }
                });
            }
        });
        assert_eq!(gauge.count(), u64::from(4 * CHANGES / 2));
        let expected: f64 = (0..4_u32)
            .flat_map(|thread| {
                (0..CHANGES)
                    .step_by(2)
                    .map(move |i| f64::from((i * 7 + thread) % 200))
            })
            .sum();
        assert_eq!(gauge.sum(), expected);
    }
}
