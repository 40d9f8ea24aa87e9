//! A duration histogram that is classic or native, chosen at run time: for the series
//! `#[instrument]` and `HttpMetricsLayer` create, whose type is fixed but whose options are not.

use super::{Histogram, MetricConfig, NativeHistogram, NativeHistogramOptions, Series};
use crate::encoding::FamilyEncoder;

#[derive(Debug)]
pub(crate) enum DurationHistogram {
    Classic(Histogram),
    /// Boxed: a native histogram is ten times the size of a classic one.
    Native(Box<NativeHistogram>),
}

impl DurationHistogram {
    pub(crate) fn classic(buckets: &'static [f64]) -> Self {
        DurationHistogram::Classic(Histogram::with_valid_buckets(buckets))
    }

    pub(crate) fn native(options: NativeHistogramOptions) -> Self {
        DurationHistogram::Native(Box::new(Series::new(&MetricConfig {
            native: options,
            ..MetricConfig::DEFAULT
        })))
    }

    #[inline]
    pub(crate) fn observe(&self, seconds: f64) {
        match self {
            DurationHistogram::Classic(histogram) => histogram.observe(seconds),
            DurationHistogram::Native(histogram) => histogram.observe(seconds),
        }
    }

    pub(crate) fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        match self {
            DurationHistogram::Classic(histogram) => histogram.encode(family, labels),
            DurationHistogram::Native(histogram) => histogram.encode(family, labels),
        }
    }

    #[cfg(test)]
    pub(crate) fn count_and_sum(&self) -> (u64, f64) {
        match self {
            DurationHistogram::Classic(histogram) => (histogram.count(), histogram.sum()),
            DurationHistogram::Native(histogram) => {
                let snapshot = histogram.snapshot();
                (snapshot.count, snapshot.sum)
            }
        }
    }
}
