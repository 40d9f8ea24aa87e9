//! A backend of the typed family API that is not an exposition: every series handed, whole, to
//! a [`SeriesSink`] (remote write builds its requests from them). The text of the labels stays
//! as the families keep it, pre-escaped; the sink reads it back.

use super::family::{HistogramSample, Labels, NativeHistogramParts, SummarySample};
use super::text::{TextFamily, write_f64};
use super::{Created, Value};
use crate::Exemplar;
use crate::metrics::MetricKind;

/// Where the series of an [`Encoder::to_sink`](super::Encoder::to_sink) go.
pub(crate) trait SeriesSink: std::fmt::Debug {
    /// A new family starts: the series that follow are its own.
    fn family(&mut self, name: &str, help: &str, unit: Option<&str>, kind: MetricKind);
    /// One float sample named `<name><suffix>`, labelled by pre-escaped `lists` and raw
    /// `extras`.
    fn sample(
        &mut self,
        name: SampleName<'_>,
        labels: SeriesLabels<'_>,
        value: f64,
        extras: SampleExtras<'_>,
    );
    /// A native histogram named `<name>` (no suffix); its exemplars are in `parts`.
    fn native_histogram(
        &mut self,
        name: &str,
        labels: SeriesLabels<'_>,
        count: u64,
        sum: f64,
        parts: &NativeHistogramParts<'_>,
        created: Option<Created>,
    );
}

/// What a series carries beside its value: when it started counting (every series of a
/// counter, histogram or summary) and its exemplars (a counter's, a bucket's).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SampleExtras<'a> {
    pub(crate) created: Option<Created>,
    pub(crate) exemplars: &'a [&'a Exemplar],
}

impl SampleExtras<'_> {
    pub(crate) const NONE: SampleExtras<'static> = SampleExtras {
        created: None,
        exemplars: &[],
    };
}

/// `<family name><suffix>`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SampleName<'a> {
    pub(crate) family: &'a str,
    pub(crate) suffix: &'a str,
}

/// The labels of a series: the family's const labels and the series' own (both pre-escaped
/// `name="value",...` lists), and up to two more whose values are raw.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeriesLabels<'a> {
    pub(crate) escaped: [&'a str; 2],
    pub(crate) raw: [Option<(&'a str, &'a str)>; 2],
}

fn labels<'a>(
    family: &TextFamily<'a>,
    labels: Labels<'a>,
    extra: Option<(&'a str, &'a str)>,
) -> SeriesLabels<'a> {
    SeriesLabels {
        escaped: [family.const_labels, labels.escaped_list()],
        raw: [labels.extra(), extra],
    }
}

fn float(value: Value) -> f64 {
    match value {
        Value::U64(v) => v as f64,
        Value::I64(v) => v as f64,
        Value::F64(v) => v,
    }
}

pub(super) fn sample(
    sink: &mut dyn SeriesSink,
    family: &TextFamily<'_>,
    suffix: &str,
    own: Labels<'_>,
    extra: Option<(&str, &str)>,
    value: Value,
    extras: SampleExtras<'_>,
) {
    let name = SampleName {
        family: family.name,
        suffix,
    };
    sink.sample(name, labels(family, own, extra), float(value), extras);
}

/// A histogram's `_bucket`, `_sum` and `_count` series (a gauge histogram's `_gsum` and
/// `_gcount`, as Prometheus stores them when it scrapes OpenMetrics), and its native part.
pub(super) fn histogram(
    sink: &mut dyn SeriesSink,
    family: &TextFamily<'_>,
    own: Labels<'_>,
    histogram: &HistogramSample<'_>,
    gauge: bool,
) {
    let (sum_suffix, count_suffix) = if gauge {
        ("_gsum", "_gcount")
    } else {
        ("_sum", "_count")
    };
    let created = SampleExtras {
        created: histogram.created,
        exemplars: &[],
    };
    let mut count = 0;
    let mut le = String::new();
    let mut saw_infinity = false;
    histogram.buckets.for_each_bucket(&mut |bucket| {
        le.clear();
        write_f64(&mut le, bucket.upper_bound);
        saw_infinity |= bucket.upper_bound == f64::INFINITY;
        count = bucket.cumulative_count;
        let value = Value::U64(bucket.cumulative_count);
        let exemplar = bucket.exemplar;
        let extras = SampleExtras {
            exemplars: exemplar.as_slice(),
            ..created
        };
        sample(
            sink,
            family,
            "_bucket",
            own,
            Some(("le", &le)),
            value,
            extras,
        );
    });
    if !saw_infinity {
        let le = Some(("le", "+Inf"));
        sample(sink, family, "_bucket", own, le, Value::U64(count), created);
    }
    let sum = Value::F64(histogram.sum);
    sample(sink, family, sum_suffix, own, None, sum, created);
    let count_value = Value::U64(count);
    sample(sink, family, count_suffix, own, None, count_value, created);
    if let Some(native) = &histogram.native {
        let labels = labels(family, own, None);
        let sum = histogram.sum;
        sink.native_histogram(family.name, labels, count, sum, native, histogram.created);
    }
}

pub(super) fn summary(
    sink: &mut dyn SeriesSink,
    family: &TextFamily<'_>,
    own: Labels<'_>,
    summary: &SummarySample<'_>,
) {
    let created = SampleExtras {
        created: summary.created,
        exemplars: &[],
    };
    let mut quantile = String::new();
    for point in summary.quantiles {
        quantile.clear();
        write_f64(&mut quantile, point.quantile);
        let extra = Some(("quantile", quantile.as_str()));
        sample(
            sink,
            family,
            "",
            own,
            extra,
            Value::F64(point.value),
            created,
        );
    }
    let sum = Value::F64(summary.sum);
    sample(sink, family, "_sum", own, None, sum, created);
    let count = Value::U64(summary.count);
    sample(sink, family, "_count", own, None, count, created);
}
