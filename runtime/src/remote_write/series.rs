//! What one collection of a registry sends: a series per sample, with sorted labels (`__name__`
//! included), and the metadata of each family.
//!
//! The registry is read through its OpenMetrics exposition, which every collector (derived,
//! hand-written, `Collector`s and foreign ones) writes, with the type, unit and help of each
//! family. The exposition is promexport's own, so a line it cannot read is a bug of the
//! encoder: such a line is left out, never a panic.

use crate::MetricKind;

/// One series of a collection: its labels, sorted by name with `__name__` among them, and its
/// value at `timestamp_ms`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: f64,
    pub(crate) timestamp_ms: i64,
    /// Index of its family in [`Collection::families`].
    pub(crate) family: usize,
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
    /// The series of an OpenMetrics exposition, each at `timestamp_ms` and with
    /// `external_labels` (which a label of the sample's own of the same name overrides, as
    /// Prometheus does).
    pub(crate) fn from_open_metrics(
        exposition: &str,
        timestamp_ms: i64,
        external_labels: &[(String, String)],
    ) -> Collection {
        let mut collection = Collection::default();
        let mut family: Option<usize> = None;
        for line in exposition.lines() {
            if let Some(comment) = line.strip_prefix("# ") {
                let (keyword, rest) = comment.split_once(' ').unwrap_or((comment, ""));
                let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
                match keyword {
                    "TYPE" => {
                        collection.families.push(FamilyMetadata {
                            name: name.to_owned(),
                            kind: kind_of(text),
                            help: String::new(),
                            unit: String::new(),
                        });
                        family = Some(collection.families.len() - 1);
                    }
                    "HELP" | "UNIT" => {
                        if let Some(current) = family.and_then(|i| collection.families.get_mut(i)) {
                            if keyword == "HELP" {
                                current.help = unescape(text);
                            } else {
                                current.unit = text.to_owned();
                            }
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let Some(index) = family else { continue };
            let Some((name, mut labels, value)) = parse_sample(line) else {
                continue;
            };
            let kind = collection.families[index].kind;
            if name.ends_with("_created")
                && matches!(
                    kind,
                    MetricKind::Counter | MetricKind::Histogram | MetricKind::Summary
                )
            {
                continue;
            }
            for (label, value) in external_labels {
                if !labels.iter().any(|(own, _)| own == label) {
                    labels.push((label.clone(), value.clone()));
                }
            }
            labels.push(("__name__".to_owned(), name.to_owned()));
            labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            collection.series.push(Series {
                labels,
                value,
                timestamp_ms,
                family: index,
            });
        }
        // Metadata names a counter family without `_total` and an info with `_info`, as
        // Prometheus' own remote write sends them.
        for family in &mut collection.families {
            if family.kind == MetricKind::Info && !family.name.ends_with("_info") {
                family.name.push_str("_info");
            }
        }
        collection
    }
}

fn kind_of(name: &str) -> MetricKind {
    match name {
        "counter" => MetricKind::Counter,
        "gauge" => MetricKind::Gauge,
        "histogram" => MetricKind::Histogram,
        "info" => MetricKind::Info,
        "stateset" => MetricKind::StateSet,
        "summary" => MetricKind::Summary,
        _ => MetricKind::Unknown,
    }
}

/// Label names and (unescaped) values.
type Labels = Vec<(String, String)>;

/// `name{label="value",...} value [# exemplar]`: the name, the labels (unescaped) and the value.
fn parse_sample(line: &str) -> Option<(&str, Labels, f64)> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = after_brace;
        loop {
            rest = rest.strip_prefix(',').unwrap_or(rest);
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (label, after_name) = rest.split_once("=\"")?;
            let (value, after_value) = quoted(after_name)?;
            labels.push((label.to_owned(), value));
            rest = after_value;
        }
    }
    let value = rest.trim_start().split(' ').next()?;
    Some((name, labels, parse_value(value)?))
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

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some('n')) => {
                out.push('\n');
                chars.next();
            }
            ('\\', Some(escaped @ ('\\' | '"'))) => {
                out.push(escaped);
                chars.next();
            }
            (c, _) => out.push(c),
        }
    }
    out
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        text => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_sample_becomes_a_series_with_sorted_labels_and_its_family() {
        let exposition = "\
# TYPE jobs counter
# HELP jobs Jobs \\\"run\\\",\\nby kind.
jobs_total{kind=\"a\\\"b\\\\c\\nd\",zone=\"x\"} 3 # {trace_id=\"t\"} 1.0 1.5
jobs_created{kind=\"a\"} 1.7e9
# TYPE latency_seconds histogram
# UNIT latency_seconds seconds
# HELP latency_seconds Latency.
latency_seconds_bucket{le=\"0.5\"} 1
latency_seconds_bucket{le=\"+Inf\"} 2
latency_seconds_sum 1.25
latency_seconds_count 2
# TYPE build info
# HELP build Build.
build_info{version=\"1.0\"} 1
# TYPE temperature gauge
# HELP temperature T.
temperature -Inf
# EOF
";
        let external = labels(&[("instance", "i-1"), ("zone", "ignored")]);
        let collection = Collection::from_open_metrics(exposition, 1_000, &external);
        let names: Vec<_> = collection
            .families
            .iter()
            .map(|f| (f.name.as_str(), f.kind, f.help.as_str(), f.unit.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("jobs", MetricKind::Counter, "Jobs \"run\",\nby kind.", ""),
                (
                    "latency_seconds",
                    MetricKind::Histogram,
                    "Latency.",
                    "seconds"
                ),
                ("build_info", MetricKind::Info, "Build.", ""),
                ("temperature", MetricKind::Gauge, "T.", ""),
            ]
        );
        assert_eq!(collection.series.len(), 7, "no _created series");
        assert_eq!(
            collection.series[0],
            Series {
                labels: labels(&[
                    ("__name__", "jobs_total"),
                    ("instance", "i-1"),
                    ("kind", "a\"b\\c\nd"),
                    ("zone", "x"),
                ]),
                value: 3.0,
                timestamp_ms: 1_000,
                family: 0,
            }
        );
        let inf = &collection.series[2];
        assert_eq!(inf.labels[2], ("le".to_owned(), "+Inf".to_owned()));
        assert_eq!((inf.value, inf.family), (2.0, 1));
        assert_eq!(collection.series[5].labels[0].1, "build_info");
        assert_eq!(collection.series[6].value, f64::NEG_INFINITY);
    }

    #[test]
    fn a_line_it_cannot_read_is_left_out() {
        let exposition = "orphan 1\n# TYPE g gauge\ng{a=\"unterminated} 1\ng{a=\"x\"} nope\ng 2\n";
        let collection = Collection::from_open_metrics(exposition, 0, &[]);
        assert_eq!(collection.series.len(), 1);
        assert_eq!(collection.series[0].value, 2.0);
    }
}
