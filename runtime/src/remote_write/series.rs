//! What one collection of a registry sends: a series per sample, with sorted labels (`__name__`
//! included), and the metadata of each family.
//!
//! The registry is walked through the typed family API (one more backend of it, next to the
//! text formats): each family's series arrive whole, a histogram's native part included.

use crate::encoding::NativeHistogramParts;
use crate::encoding::series_sink::{SampleExtras, SampleName, SeriesLabels, SeriesSink};
use crate::{Created, Exemplar, MetricKind, Registry};
use std::time::UNIX_EPOCH;

/// Label names and (unescaped) values, sorted by name.
pub(crate) type Labels = Vec<(String, String)>;

/// One series of a collection: its labels, sorted by name with `__name__` among them, and its
/// value at `timestamp_ms`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub(crate) labels: Labels,
    pub(crate) point: Point,
    pub(crate) timestamp_ms: i64,
    /// When a counter, histogram or summary started counting (remote write 2.0 sends it).
    pub(crate) created_ms: Option<i64>,
    /// A counter's or a bucket's latest exemplar, a native histogram's (2.0 sends them).
    pub(crate) exemplars: Vec<SeriesExemplar>,
    /// Index of its family in [`Collection::families`].
    pub(crate) family: usize,
}

/// An exemplar with its labels unescaped and sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesExemplar {
    pub(crate) labels: Labels,
    pub(crate) value: f64,
    pub(crate) timestamp_ms: i64,
}

impl SeriesExemplar {
    fn new(exemplar: &Exemplar) -> Self {
        let mut labels = Vec::new();
        unescape_list(exemplar.labels(), &mut labels);
        labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        SeriesExemplar {
            labels,
            value: exemplar.value(),
            timestamp_ms: (exemplar.timestamp() * 1e3).round() as i64,
        }
    }
}

/// Milliseconds since the epoch; 2.0 reads 0 as "not set", so the epoch itself is sent as 1.
fn created_ms(created: Created) -> i64 {
    let since = created
        .time()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// The value of a series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Point {
    Float(f64),
    Histogram(Box<NativeHistogram>),
}

/// A native histogram as remote write carries it: spans of buckets and their counts as deltas.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct NativeHistogram {
    pub(crate) count: u64,
    pub(crate) sum: f64,
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) zero_count: u64,
    /// `(offset, length)`: the first span's offset is its first index, later ones the gap
    /// since the previous span.
    pub(crate) negative_spans: Vec<(i32, u32)>,
    /// Each bucket's count less the previous bucket's (the first one's less zero).
    pub(crate) negative_deltas: Vec<i64>,
    pub(crate) positive_spans: Vec<(i32, u32)>,
    pub(crate) positive_deltas: Vec<i64>,
}

impl NativeHistogram {
    fn new(count: u64, sum: f64, parts: &NativeHistogramParts<'_>) -> Self {
        let (positive_spans, positive_deltas) = spans_and_deltas(parts.positive);
        let (negative_spans, negative_deltas) = spans_and_deltas(parts.negative);
        NativeHistogram {
            count,
            sum,
            schema: parts.schema,
            zero_threshold: parts.zero_threshold,
            zero_count: parts.zero_count,
            negative_spans,
            negative_deltas,
            positive_spans,
            positive_deltas,
        }
    }
}

/// Spans and deltas of `(index, count)` buckets sorted by index. A gap of one or two empty
/// buckets is filled with zero counts rather than starting a span, as client_golang does: a
/// span costs more bytes than two zero deltas.
fn spans_and_deltas(buckets: &[(i32, u64)]) -> (Vec<(i32, u32)>, Vec<i64>) {
    let mut spans: Vec<(i32, u32)> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.len());
    let mut previous_count = 0_i64;
    let mut next_index: Option<i32> = None;
    for &(index, count) in buckets {
        match next_index {
            Some(next) if index >= next && index - next <= 2 => {
                let gap = index - next;
                for _ in 0..gap {
                    deltas.push(-previous_count);
                    previous_count = 0;
                }
                if let Some(span) = spans.last_mut() {
                    span.1 += gap as u32 + 1;
                }
            }
            Some(next) => spans.push((index - next, 1)),
            None => spans.push((index, 1)),
        }
        let count = count as i64;
        deltas.push(count - previous_count);
        previous_count = count;
        next_index = Some(index + 1);
    }
    (spans, deltas)
}

/// Type, help and unit of a family, as remote write's metadata carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FamilyMetadata {
    /// The family's name as metadata names it (without `_total`, with `_info`).
    pub(crate) name: String,
    pub(crate) kind: MetricKind,
    pub(crate) help: String,
    pub(crate) unit: String,
}

/// Every series of one collection, and the families they belong to.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Collection {
    pub(crate) families: Vec<FamilyMetadata>,
    pub(crate) series: Vec<Series>,
}

impl Collection {
    /// The series of every family of `registry`, each at `timestamp_ms` and with
    /// `external_labels` (which a label of the series' own of the same name overrides, as
    /// Prometheus does).
    pub(crate) fn of_registry(
        registry: &Registry,
        timestamp_ms: i64,
        external_labels: &[(String, String)],
    ) -> Collection {
        let mut builder = Builder {
            collection: Collection::default(),
            timestamp_ms,
            external_labels,
        };
        registry.encode_to_sink(&mut builder);
        builder.collection
    }
}

#[derive(Debug)]
struct Builder<'a> {
    collection: Collection,
    timestamp_ms: i64,
    external_labels: &'a [(String, String)],
}

impl Builder<'_> {
    fn push(
        &mut self,
        name: String,
        labels: SeriesLabels<'_>,
        point: Point,
        created: Option<Created>,
        exemplars: &[&Exemplar],
    ) {
        let Some(family) = self.collection.families.len().checked_sub(1) else {
            return;
        };
        let mut all = Vec::new();
        for list in labels.escaped {
            unescape_list(list, &mut all);
        }
        for (label, value) in labels.raw.into_iter().flatten() {
            all.push((label.to_owned(), value.to_owned()));
        }
        for (label, value) in self.external_labels {
            if !all.iter().any(|(own, _)| own == label) {
                all.push((label.clone(), value.clone()));
            }
        }
        all.push(("__name__".to_owned(), name));
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.collection.series.push(Series {
            labels: all,
            point,
            timestamp_ms: self.timestamp_ms,
            created_ms: created.map(created_ms),
            exemplars: exemplars.iter().map(|e| SeriesExemplar::new(e)).collect(),
            family,
        });
    }
}

impl SeriesSink for Builder<'_> {
    fn family(&mut self, name: &str, help: &str, unit: Option<&str>, kind: MetricKind) {
        // Metadata names an info family with `_info`, as Prometheus' own remote write does.
        let name = match kind {
            MetricKind::Info if !name.ends_with("_info") => format!("{name}_info"),
            _ => name.to_owned(),
        };
        self.collection.families.push(FamilyMetadata {
            name,
            kind,
            help: help.to_owned(),
            unit: unit.unwrap_or_default().to_owned(),
        });
    }

    fn sample(
        &mut self,
        name: SampleName<'_>,
        labels: SeriesLabels<'_>,
        value: f64,
        extras: SampleExtras<'_>,
    ) {
        let name = format!("{}{}", name.family, name.suffix);
        let point = Point::Float(value);
        self.push(name, labels, point, extras.created, extras.exemplars);
    }

    fn native_histogram(
        &mut self,
        name: &str,
        labels: SeriesLabels<'_>,
        count: u64,
        sum: f64,
        parts: &NativeHistogramParts<'_>,
        created: Option<Created>,
    ) {
        let histogram = Point::Histogram(Box::new(NativeHistogram::new(count, sum, parts)));
        self.push(name.to_owned(), labels, histogram, created, parts.exemplars);
    }
}

/// Appends the pairs of a pre-escaped `name="value",...` list, unescaped. The lists are the
/// encoder's own: one it cannot read is left out at the first pair it cannot read. A UTF-8
/// name (quoted in the list) is sent as it is: remote write does not escape names.
fn unescape_list(mut list: &str, out: &mut Labels) {
    while !list.is_empty() {
        if let Some(unquoted) = list.strip_prefix('"') {
            let Some((name, rest)) = quoted(unquoted) else {
                return;
            };
            list = rest;
            let Some((value, rest)) = list.strip_prefix("=\"").and_then(quoted) else {
                return;
            };
            out.push((name, value));
            list = rest.strip_prefix(',').unwrap_or(rest);
            continue;
        }
        let Some((name, rest)) = list.split_once("=\"") else {
            return;
        };
        let Some((value, rest)) = quoted(rest) else {
            return;
        };
        out.push((name.to_owned(), value));
        list = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// The escaped text up to the closing quote, unescaped, and what follows the quote.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{ClassicBucket, Encoder, HistogramSample, Labels as LabelList, Value};
    use crate::registry::{Collect, FamilyDescription};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A collector writing one family of each shape through the typed API.
    struct EveryShape;

    impl Collect for EveryShape {
        fn describe(&self) -> Vec<FamilyDescription> {
            Vec::new()
        }

        fn encode(&self, encoder: &mut Encoder<'_>) {
            let counter = "jobs";
            let mut jobs = encoder.family_parts(counter, "Jobs.", None, MetricKind::Counter, "");
            let own = LabelList::from(r#"kind="a\"b\\c\nd",zone="x""#);
            jobs.counter(own, Value::U64(3), None, None);
            drop(jobs);
            let mut latency = encoder.family_parts(
                "latency_seconds",
                "Latency.",
                Some("seconds"),
                MetricKind::Histogram,
                r#"app="a""#,
            );
            let buckets = [
                ClassicBucket {
                    upper_bound: 0.5,
                    cumulative_count: 1,
                    exemplar: None,
                },
                ClassicBucket {
                    upper_bound: f64::INFINITY,
                    cumulative_count: 2,
                    exemplar: None,
                },
            ];
            let native = NativeHistogramParts {
                schema: 3,
                zero_threshold: 0.001,
                zero_count: 0,
                positive: &[(-2, 1), (5, 1)],
                negative: &[],
                exemplars: &[],
            };
            latency.histogram(
                LabelList::NONE,
                &HistogramSample {
                    buckets: &buckets,
                    sum: 1.25,
                    created: None,
                    native: Some(native),
                },
            );
            drop(latency);
            let mut build = encoder.family_parts("build", "Build.", None, MetricKind::Info, "");
            build.info(r#"version="1.0""#);
            drop(build);
            let mut phase = encoder.family_parts("phase", "Phase.", None, MetricKind::StateSet, "");
            phase.state(LabelList::NONE, "busy", true);
        }
    }

    #[test]
    fn every_series_comes_with_sorted_labels_and_its_family() {
        let registry = Registry::new();
        registry.register(EveryShape).unwrap();
        let external = labels(&[("instance", "i-1"), ("zone", "ignored")]);
        let collection = Collection::of_registry(&registry, 1_000, &external);
        let families: Vec<_> = collection
            .families
            .iter()
            .map(|f| (f.name.as_str(), f.kind, f.help.as_str(), f.unit.as_str()))
            .collect();
        assert_eq!(
            families,
            [
                ("jobs", MetricKind::Counter, "Jobs.", ""),
                (
                    "latency_seconds",
                    MetricKind::Histogram,
                    "Latency.",
                    "seconds"
                ),
                ("build_info", MetricKind::Info, "Build.", ""),
                ("phase", MetricKind::StateSet, "Phase.", ""),
            ]
        );
        assert_eq!(
            collection.series[0],
            Series {
                labels: labels(&[
                    ("__name__", "jobs_total"),
                    ("instance", "i-1"),
                    ("kind", "a\"b\\c\nd"),
                    ("zone", "x"),
                ]),
                point: Point::Float(3.0),
                timestamp_ms: 1_000,
                created_ms: None,
                exemplars: Vec::new(),
                family: 0,
            }
        );
        let names: Vec<_> = collection
            .series
            .iter()
            .map(|s| {
                let name = &s.labels.iter().find(|(n, _)| n == "__name__").unwrap().1;
                let le = s
                    .labels
                    .iter()
                    .find(|(n, _)| n == "le")
                    .map(|(_, v)| v.as_str());
                (name.as_str(), le, s.family)
            })
            .collect();
        assert_eq!(
            names,
            [
                ("jobs_total", None, 0),
                ("latency_seconds_bucket", Some("0.5"), 1),
                ("latency_seconds_bucket", Some("+Inf"), 1),
                ("latency_seconds_sum", None, 1),
                ("latency_seconds_count", None, 1),
                ("latency_seconds", None, 1),
                ("build_info", None, 2),
                ("phase", None, 3),
            ]
        );
        assert!(
            collection.series[1]
                .labels
                .contains(&("app".to_owned(), "a".to_owned()))
        );
        let Point::Histogram(native) = &collection.series[5].point else {
            panic!("a native histogram: {:?}", collection.series[5]);
        };
        assert_eq!((native.count, native.sum, native.schema), (2, 1.25, 3));
        assert_eq!(native.positive_spans, [(-2, 1), (6, 1)]);
        assert_eq!(native.positive_deltas, [1, 0]);
        assert_eq!(
            collection.series[7].labels[2],
            ("phase".to_owned(), "busy".to_owned())
        );
        assert_eq!(collection.series[7].point, Point::Float(1.0));
    }

    #[test]
    fn gaps_of_up_to_two_empty_buckets_stay_in_one_span() {
        let (spans, deltas) = spans_and_deltas(&[(0, 2), (1, 3), (4, 1), (8, 5), (9, 5)]);
        assert_eq!(spans, [(0, 5), (3, 2)]);
        assert_eq!(deltas, [2, 1, -3, 0, 1, 4, 0]);
        assert_eq!(spans_and_deltas(&[]), (vec![], vec![]));
        assert_eq!(spans_and_deltas(&[(-3, 4)]), (vec![(-3, 1)], vec![4]));
    }

    #[test]
    fn a_list_it_cannot_read_is_left_out_from_there() {
        let mut out = Vec::new();
        unescape_list(r#"a="1",b="unterminated"#, &mut out);
        let mut utf8 = Labels::new();
        unescape_list(r#""error.message"="x",b="2""#, &mut utf8);
        assert_eq!(
            utf8,
            [
                ("error.message".to_owned(), "x".to_owned()),
                ("b".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(out, labels(&[("a", "1")]));
    }
}
