//! Re-encodes families gathered from `prometheus` crate collectors (interop only: derived metrics
//! never take this path).

use super::{Encoder, Value, escape_label_value_into};
use crate::metrics::MetricKind;
use prometheus::proto::{Metric, MetricFamily, MetricType};

pub(crate) fn encode_foreign(encoder: &mut Encoder<'_>, families: &[MetricFamily]) {
    for family in families {
        let name = family.name();
        let (base, kind) = match family.get_field_type() {
            // OpenMetrics counters must end in `_total`; others are served as `unknown`.
            MetricType::COUNTER => match name.strip_suffix("_total") {
                Some(base) => (base, MetricKind::Counter),
                None => (name, MetricKind::Unknown),
            },
            MetricType::GAUGE => (name, MetricKind::Gauge),
            MetricType::HISTOGRAM => (name, MetricKind::Histogram),
            MetricType::SUMMARY => (name, MetricKind::Summary),
            MetricType::UNTYPED => (name, MetricKind::Unknown),
        };
        let mut samples = encoder.family_parts(base, family.help(), None, kind, "");
        let mut labels = String::new();
        for metric in family.get_metric() {
            labels.clear();
            encode_labels(&mut labels, metric);
            match family.get_field_type() {
                MetricType::COUNTER if kind == MetricKind::Counter => {
                    samples.sample(
                        "_total",
                        &labels,
                        None,
                        Value::F64(metric.get_counter().get_value()),
                    );
                }
                MetricType::COUNTER => {
                    samples.sample(
                        "",
                        &labels,
                        None,
                        Value::F64(metric.get_counter().get_value()),
                    );
                }
                MetricType::GAUGE => {
                    samples.sample(
                        "",
                        &labels,
                        None,
                        Value::F64(metric.get_gauge().get_value()),
                    );
                }
                MetricType::UNTYPED => {
                    // The plain model has no other accessor for untyped values.
                    #[allow(deprecated)]
                    let value = metric.get_untyped().get_value();
                    samples.sample("", &labels, None, Value::F64(value));
                }
                MetricType::HISTOGRAM => {
                    let histogram = metric.get_histogram();
                    let mut bound = String::new();
                    let mut saw_infinity = false;
                    for bucket in histogram.get_bucket() {
                        bound.clear();
                        super::write_f64(&mut bound, bucket.upper_bound());
                        saw_infinity |= bucket.upper_bound() == f64::INFINITY;
                        let count = Value::U64(bucket.cumulative_count());
                        samples.sample("_bucket", &labels, Some(("le", &bound)), count);
                    }
                    let count = Value::U64(histogram.get_sample_count());
                    if !saw_infinity {
                        samples.sample("_bucket", &labels, Some(("le", "+Inf")), count);
                    }
                    samples.sample(
                        "_sum",
                        &labels,
                        None,
                        Value::F64(histogram.get_sample_sum()),
                    );
                    samples.sample("_count", &labels, None, count);
                }
                MetricType::SUMMARY => {
                    let summary = metric.get_summary();
                    let mut quantile = String::new();
                    for q in summary.get_quantile() {
                        quantile.clear();
                        super::write_f64(&mut quantile, q.quantile());
                        let value = Value::F64(q.value());
                        samples.sample("", &labels, Some(("quantile", &quantile)), value);
                    }
                    samples.sample("_sum", &labels, None, Value::F64(summary.sample_sum()));
                    samples.sample("_count", &labels, None, Value::U64(summary.sample_count()));
                }
            }
        }
    }
}

fn encode_labels(out: &mut String, metric: &Metric) {
    for pair in metric.get_label() {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(pair.name());
        out.push_str("=\"");
        escape_label_value_into(out, pair.value());
        out.push('"');
    }
}
