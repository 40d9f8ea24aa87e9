//! Re-encodes families gathered from `prometheus` crate collectors (interop only: derived metrics
//! never take this path).

use super::{
    ClassicBucket, ClassicBuckets, Encoder, HistogramSample, Quantile, SummarySample, Value,
    escape_label_value_into,
};
use crate::FamilyDescription;
use crate::metrics::MetricKind;
use prometheus::core::Collector;
use prometheus::proto::{Metric, MetricFamily, MetricType};
use std::borrow::Cow;

/// The family name and type a foreign family of `name` is served as.
fn served_as(name: &str, field_type: MetricType) -> (&str, MetricKind) {
    match field_type {
        // OpenMetrics counters must end in `_total`; others are served as `unknown`.
        MetricType::COUNTER => match name.strip_suffix("_total") {
            Some(base) => (base, MetricKind::Counter),
            None => (name, MetricKind::Unknown),
        },
        MetricType::GAUGE => (name, MetricKind::Gauge),
        MetricType::HISTOGRAM => (name, MetricKind::Histogram),
        MetricType::SUMMARY => (name, MetricKind::Summary),
        MetricType::UNTYPED => (name, MetricKind::Unknown),
    }
}

/// The families `collector` describes, each as it is served, so that its names are claimed with
/// their sample suffixes. `desc()` has no type: it is read from one `collect()`, and a family
/// that collect leaves out is `Unknown` (its own name only).
pub(crate) fn describe_foreign(collector: &dyn Collector) -> Vec<FamilyDescription> {
    let collected = collector.collect();
    collector
        .desc()
        .iter()
        .map(|desc| {
            let field_type = collected
                .iter()
                .find(|family| family.name() == desc.fq_name)
                .map_or(MetricType::UNTYPED, MetricFamily::get_field_type);
            let (name, kind) = served_as(&desc.fq_name, field_type);
            FamilyDescription {
                name: Cow::Owned(name.to_owned()),
                kind,
                help: Cow::Owned(desc.help.clone()),
            }
        })
        .collect()
}

pub(crate) fn encode_foreign(encoder: &mut Encoder<'_>, families: &[MetricFamily]) {
    let mut labels = String::new();
    let mut quantiles = Vec::new();
    for family in families {
        let (base, kind) = served_as(family.name(), family.get_field_type());
        let mut series = encoder.family_parts(base, family.help(), None, kind, "");
        for metric in family.get_metric() {
            labels.clear();
            encode_labels(&mut labels, metric);
            let labels = labels.as_str();
            match family.get_field_type() {
                MetricType::COUNTER if kind == MetricKind::Counter => {
                    let value = Value::F64(metric.get_counter().get_value());
                    series.counter(labels, value, None, None);
                }
                MetricType::COUNTER => {
                    series.unknown(labels, Value::F64(metric.get_counter().get_value()));
                }
                MetricType::GAUGE => {
                    series.gauge(labels, Value::F64(metric.get_gauge().get_value()));
                }
                MetricType::UNTYPED => {
                    // The plain model has no other accessor for untyped values.
                    #[allow(deprecated)]
                    let value = metric.get_untyped().get_value();
                    series.unknown(labels, Value::F64(value));
                }
                MetricType::HISTOGRAM => {
                    let histogram = metric.get_histogram();
                    let sample = HistogramSample {
                        buckets: &ForeignBuckets(histogram),
                        sum: histogram.get_sample_sum(),
                        created: None,
                        native: None,
                    };
                    series.histogram(labels, &sample);
                }
                MetricType::SUMMARY => {
                    let summary = metric.get_summary();
                    quantiles.clear();
                    quantiles.extend(summary.get_quantile().iter().map(|q| Quantile {
                        quantile: q.quantile(),
                        value: q.value(),
                    }));
                    let sample = SummarySample {
                        quantiles: &quantiles,
                        count: summary.sample_count(),
                        sum: summary.sample_sum(),
                        created: None,
                    };
                    series.summary(labels, &sample);
                }
            }
        }
    }
}

/// The buckets of a gathered histogram; the encoder adds `+Inf` (the sample count) when the
/// histogram does not list it.
struct ForeignBuckets<'a>(&'a prometheus::proto::Histogram);

impl ClassicBuckets for ForeignBuckets<'_> {
    fn for_each_bucket(&self, visit: &mut dyn FnMut(ClassicBucket<'_>)) {
        for bucket in self.0.get_bucket() {
            visit(ClassicBucket {
                upper_bound: bucket.upper_bound(),
                cumulative_count: bucket.cumulative_count(),
                exemplar: None,
            });
        }
        if self.0.get_bucket().last().map(|b| b.upper_bound()) != Some(f64::INFINITY) {
            visit(ClassicBucket {
                upper_bound: f64::INFINITY,
                cumulative_count: self.0.get_sample_count(),
                exemplar: None,
            });
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

#[cfg(test)]
mod tests {
    use crate::metrics::MetricKind;
    use crate::{Collect, Encoder, Error, FamilyDescription, Registry};
    use prometheus::core::{Collector, Desc};
    use prometheus::proto::MetricFamily;
    use std::borrow::Cow;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A native collector of one gauge, to claim a name against the foreign ones.
    struct NativeGauge(&'static str);

    impl Collect for NativeGauge {
        fn describe(&self) -> Vec<FamilyDescription> {
            vec![FamilyDescription {
                name: Cow::Borrowed(self.0),
                kind: MetricKind::Gauge,
                help: Cow::Borrowed("Native."),
            }]
        }
        fn encode(&self, _: &mut Encoder<'_>) {}
    }

    fn histogram(name: &str) -> prometheus::Histogram {
        prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(name, "Foreign.")).unwrap()
    }

    #[test]
    fn a_foreign_histogram_takes_its_sample_names() {
        let registry = Registry::new();
        registry
            .register_prometheus(Box::new(histogram("legacy_wait_seconds")))
            .unwrap();
        for sample in ["_bucket", "_sum", "_count"] {
            let name = format!("legacy_wait_seconds{sample}").leak();
            let error = registry.register(NativeGauge(name)).unwrap_err();
            assert!(
                matches!(error, Error::DuplicateMetric { name: ref clash, .. } if clash == name),
                "{error:?}"
            );
            let gauge = prometheus::Gauge::new(&*name, "Foreign.").unwrap();
            assert!(registry.register_prometheus(Box::new(gauge)).is_err());
        }
        // A foreign counter is its family without `_total`, as OpenMetrics serves it.
        let counter = prometheus::Counter::new("legacy_jobs_total", "Foreign.").unwrap();
        registry.register_prometheus(Box::new(counter)).unwrap();
        assert!(registry.register(NativeGauge("legacy_jobs")).is_err());
        // Other names stay free.
        registry.register(NativeGauge("legacy_wait")).unwrap();
    }

    /// Describes `name` once, then `name` twice: the `prometheus` registry refuses what
    /// promexport's name check accepted.
    struct DescribesTwiceOnSecondCall {
        desc: Desc,
        calls: AtomicUsize,
    }

    impl Collector for DescribesTwiceOnSecondCall {
        fn desc(&self) -> Vec<&Desc> {
            match self.calls.fetch_add(1, Ordering::Relaxed) {
                0 => vec![&self.desc],
                _ => vec![&self.desc, &self.desc],
            }
        }
        fn collect(&self) -> Vec<MetricFamily> {
            Vec::new()
        }
    }

    #[test]
    fn a_refused_foreign_collector_leaves_its_names_free() {
        let registry = Registry::new();
        let refused = DescribesTwiceOnSecondCall {
            desc: Desc::new(
                "legacy_up".into(),
                "Foreign.".into(),
                Vec::new(),
                Default::default(),
            )
            .unwrap(),
            calls: AtomicUsize::new(0),
        };
        let error = registry.register_prometheus(Box::new(refused)).unwrap_err();
        assert!(matches!(error, Error::Foreign(_)), "{error:?}");
        assert!(
            error.to_string().starts_with("foreign collector refused: "),
            "{error}"
        );
        assert!(std::error::Error::source(&error).is_some());
        registry.register(NativeGauge("legacy_up")).unwrap();
    }
}
