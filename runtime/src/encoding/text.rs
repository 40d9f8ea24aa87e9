//! The two text formats: escaping, number formatting and the sample lines of every metric shape.

use super::family::{ClassicBucket, HistogramSample, Labels, Quantile, SummarySample};
use super::names::{self, Escaping};
use super::{Created, Format, Value};
use crate::Exemplar;

/// Where text is appended: the exposition (`Vec<u8>`) or a pre-escaped label set (`String`).
pub(crate) trait TextSink {
    fn push_text(&mut self, text: &str);
}

impl TextSink for String {
    fn push_text(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl TextSink for Vec<u8> {
    fn push_text(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }
}

/// Appends `value` to `out`, escaping `\`, `"` and newline as both text formats require.
pub(crate) fn escape_label_value_into(out: &mut impl TextSink, value: &str) {
    escape_into(out, value, true);
}

fn escape_into(out: &mut impl TextSink, value: &str, quote: bool) {
    let needs_escape = |b: u8| b == b'\\' || b == b'\n' || (quote && b == b'"');
    let mut rest = value;
    // Copies the runs between escapes whole: the escaped characters are all ASCII.
    while let Some(at) = rest.bytes().position(needs_escape) {
        out.push_text(&rest[..at]);
        out.push_text(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            _ => "\\\"",
        });
        rest = &rest[at + 1..];
    }
    out.push_text(rest);
}

/// Appends HELP text: text 0.0.4 escapes `\` and newline, OpenMetrics also `"`.
pub(super) fn write_help(out: &mut Vec<u8>, help: &str, format: Format) {
    escape_into(out, help, format == Format::OpenMetrics);
}

pub(super) fn write_value(out: &mut Vec<u8>, value: Value) {
    match value {
        Value::U64(v) => out.push_text(itoa::Buffer::new().format(v)),
        Value::I64(v) => out.push_text(itoa::Buffer::new().format(v)),
        Value::F64(v) => write_f64(out, v),
    }
}

/// Appends a float as Prometheus parses it: `NaN`, `+Inf`, `-Inf`, or the shortest round-trip form.
pub(crate) fn write_f64(out: &mut impl TextSink, v: f64) {
    if v.is_nan() {
        out.push_text("NaN");
    } else if v.is_infinite() {
        out.push_text(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        out.push_text(ryu::Buffer::new().format_finite(v));
    }
}

/// The parts of a text family every sample line repeats.
#[derive(Debug, Clone, Copy)]
pub(super) struct TextFamily<'a> {
    pub(super) format: Format,
    pub(super) name: &'a str,
    pub(super) const_labels: &'a str,
    /// OpenMetrics `_created` lines (off by default: Prometheus stores them as series).
    pub(super) created_lines: bool,
    /// How names that are not legacy-valid are written.
    pub(super) escaping: Escaping,
    /// The family name is legacy-valid: written as it is, outside braces.
    pub(super) plain_name: bool,
    /// Every label name is known to be legacy-valid (a derived metric's `LABEL_NAMES`): label
    /// lists are copied without a look, extra labels written as they are.
    pub(super) plain_labels: bool,
}

impl TextFamily<'_> {
    /// `<keyword><name><suffix> `: a `# HELP`, `# TYPE` or `# UNIT` line's start.
    pub(super) fn header_line(&self, out: &mut Vec<u8>, keyword: &str, suffix: &str) {
        out.push_text(keyword);
        if self.plain_name {
            out.push_text(self.name);
            out.push_text(suffix);
        } else {
            names::write_utf8_metric_name(out, self.name, suffix, self.escaping);
        }
        out.push(b' ');
    }

    /// Copies a pre-escaped label list, its quoted names escaped unless the scheme keeps them.
    fn label_list(&self, out: &mut Vec<u8>, list: &str) {
        if self.plain_labels
            || self.escaping == Escaping::AllowUtf8
            || !names::may_hold_quoted_names(list)
        {
            out.push_text(list);
        } else {
            names::write_escaped_list(out, list, self.escaping);
        }
    }

    /// Writes `<name><suffix>{<const labels>,<labels>,<extra>} <value>[ # exemplar]`.
    ///
    /// `extra` is one more label whose value is escaped here (the `le` of a bucket, a quantile).
    /// `labels` is borrowed: a copy, made for a call, read 16 bytes at a time the 8 just written
    /// of its `extra`, and waited for those stores: a third of a text scrape (perf, `serve` builds).
    pub(super) fn line(
        &self,
        out: &mut Vec<u8>,
        suffix: &str,
        labels: &Labels<'_>,
        extra: Option<(&str, &str)>,
        value: Value,
        exemplar: Option<&Exemplar>,
    ) {
        // Legacy names, known so when the family was written, are the line of every scrape of
        // every Prometheus 2 and most of 3: copied straight, without the escaping branches.
        if self.plain_name && self.plain_labels {
            self.plain_name_and_labels(out, suffix, labels, extra);
        } else {
            self.escaped_name_and_labels(out, suffix, labels, extra);
        }
        out.push(b' ');
        write_value(out, value);
        if let Some(exemplar) = exemplar.filter(|_| self.format == Format::OpenMetrics) {
            out.push_text(" # {");
            out.push_text(exemplar.labels());
            out.push_text("} ");
            write_value(out, Value::F64(exemplar.value()));
            out.push(b' ');
            write_f64(out, exemplar.timestamp());
        }
        out.push(b'\n');
    }

    /// `<name><suffix>{<labels>}` of a family whose name and label names are legacy-valid.
    #[inline(always)]
    fn plain_name_and_labels(
        &self,
        out: &mut Vec<u8>,
        suffix: &str,
        labels: &Labels<'_>,
        extra: Option<(&str, &str)>,
    ) {
        out.push_text(self.name);
        out.push_text(suffix);
        let lists = [self.const_labels, labels.escaped_list()];
        let extras = [labels.extra(), extra];
        if lists.iter().all(|list| list.is_empty()) && extras.iter().all(Option::is_none) {
            return;
        }
        out.push(b'{');
        let mut comma = false;
        for list in lists.into_iter().filter(|list| !list.is_empty()) {
            if comma {
                out.push(b',');
            }
            out.push_text(list);
            comma = true;
        }
        for (name, value) in extras.into_iter().flatten() {
            if comma {
                out.push(b',');
            }
            out.push_text(name);
            out.push_text("=\"");
            escape_label_value_into(out, value);
            out.push(b'"');
            comma = true;
        }
        out.push(b'}');
    }

    /// `<name><suffix>{<labels>}` of a family whose names may need quoting or escaping.
    fn escaped_name_and_labels(
        &self,
        out: &mut Vec<u8>,
        suffix: &str,
        labels: &Labels<'_>,
        extra: Option<(&str, &str)>,
    ) {
        let quoted_name = !self.plain_name && self.escaping == Escaping::AllowUtf8;
        if !quoted_name {
            if self.plain_name {
                out.push_text(self.name);
                out.push_text(suffix);
            } else {
                names::write_utf8_metric_name(out, self.name, suffix, self.escaping);
            }
        }
        let lists = [self.const_labels, labels.escaped_list()];
        let mut comma = false;
        let extras = [labels.extra(), extra];
        let has_labels =
            lists.iter().any(|list| !list.is_empty()) || extras.iter().any(Option::is_some);
        if quoted_name {
            // `{"name",labels}`: a name the legacy syntax cannot hold goes inside the braces.
            out.push(b'{');
            names::write_utf8_metric_name(out, self.name, suffix, self.escaping);
            comma = true;
        } else if has_labels {
            out.push(b'{');
        }
        if has_labels {
            for list in lists.into_iter().filter(|list| !list.is_empty()) {
                if comma {
                    out.push(b',');
                }
                self.label_list(out, list);
                comma = true;
            }
            for (name, value) in extras.into_iter().flatten() {
                if comma {
                    out.push(b',');
                }
                if self.plain_labels {
                    out.push_text(name);
                } else {
                    names::write_label_name(out, name, self.escaping);
                }
                out.push_text("=\"");
                escape_label_value_into(out, value);
                out.push(b'"');
                comma = true;
            }
        }
        if quoted_name || has_labels {
            out.push(b'}');
        }
    }

    /// The `_created` line of OpenMetrics, when asked for.
    pub(super) fn created(&self, out: &mut Vec<u8>, labels: &Labels<'_>, created: Option<Created>) {
        if let Some(created) = created.filter(|_| self.created_lines) {
            if self.format == Format::OpenMetrics {
                let seconds = Value::F64(created.as_secs_f64());
                self.line(out, "_created", labels, None, seconds, None);
            }
        }
    }

    pub(super) fn histogram(
        &self,
        out: &mut Vec<u8>,
        labels: &Labels<'_>,
        sample: &HistogramSample<'_>,
        bucket_labels: &mut BucketLabels,
    ) {
        let mut count = 0;
        let mut saw_infinity = false;
        let mut position = 0;
        sample
            .buckets
            .for_each_bucket(&mut |bucket: ClassicBucket<'_>| {
                let le = bucket_labels.label(position, bucket.upper_bound);
                position += 1;
                saw_infinity = bucket.upper_bound == f64::INFINITY;
                count = bucket.cumulative_count;
                let value = Value::U64(count);
                self.line(
                    out,
                    "_bucket",
                    labels,
                    Some(("le", le)),
                    value,
                    bucket.exemplar,
                );
            });
        if !saw_infinity {
            self.line(
                out,
                "_bucket",
                labels,
                Some(("le", "+Inf")),
                Value::U64(count),
                None,
            );
        }
        self.line(out, "_sum", labels, None, Value::F64(sample.sum), None);
        self.line(out, "_count", labels, None, Value::U64(count), None);
        self.created(out, labels, sample.created);
    }

    /// A gauge histogram's buckets, and in OpenMetrics its `_gcount` and `_gsum` (text 0.0.4
    /// writes those after every series, as gauges of their own).
    pub(super) fn gauge_histogram(
        &self,
        out: &mut Vec<u8>,
        labels: &Labels<'_>,
        sample: &HistogramSample<'_>,
        bucket_labels: &mut BucketLabels,
    ) {
        let mut count = 0;
        let mut position = 0;
        sample
            .buckets
            .for_each_bucket(&mut |bucket: ClassicBucket<'_>| {
                count = bucket.cumulative_count;
                let le = Some(("le", bucket_labels.label(position, bucket.upper_bound)));
                position += 1;
                self.line(out, "_bucket", labels, le, Value::U64(count), None);
            });
        if self.format == Format::OpenMetrics {
            self.line(out, "_gcount", labels, None, Value::U64(count), None);
            self.line(out, "_gsum", labels, None, Value::F64(sample.sum), None);
        }
    }

    pub(super) fn summary(
        &self,
        out: &mut Vec<u8>,
        labels: &Labels<'_>,
        sample: &SummarySample<'_>,
    ) {
        let mut quantile_text = String::new();
        for &Quantile { quantile, value } in sample.quantiles {
            quantile_text.clear();
            write_f64(&mut quantile_text, quantile);
            let extra = Some(("quantile", quantile_text.as_str()));
            self.line(out, "", labels, extra, Value::F64(value), None);
        }
        self.line(out, "_sum", labels, None, Value::F64(sample.sum), None);
        self.line(out, "_count", labels, None, Value::U64(sample.count), None);
        self.created(out, labels, sample.created);
    }
}

/// The `le` label of each bucket position as last written, for the next histogram: a family's
/// series share their buckets (and a registry's families often do), and writing every bound of
/// every series with `ryu` was 44% of a text scrape of histograms (perf).
#[derive(Debug, Default)]
pub(super) struct BucketLabels {
    /// By position: the bits of the bound, and its label.
    by_position: Vec<(u64, String)>,
}

impl BucketLabels {
    /// The `le` label of `upper_bound`, the bound of the bucket at `position`: the bound
    /// written by `ryu`, or `+Inf` for the last.
    fn label(&mut self, position: usize, upper_bound: f64) -> &str {
        if !upper_bound.is_finite() {
            return "+Inf";
        }
        while self.by_position.len() <= position {
            // No finite bound has NaN's bits.
            self.by_position.push((f64::NAN.to_bits(), String::new()));
        }
        let (bits, label) = &mut self.by_position[position];
        if *bits != upper_bound.to_bits() {
            *bits = upper_bound.to_bits();
            label.clear();
            label.push_str(ryu::Buffer::new().format_finite(upper_bound));
        }
        label
    }
}

/// Writes one label value, escaped, into a pre-encoded label set.
///
/// Passed to [`LabelValue::encode`](crate::LabelValue::encode); implementations call
/// [`write_str`](Self::write_str) (or `write!`) with the value's text.
#[derive(Debug)]
pub struct LabelValueEncoder<'a> {
    out: &'a mut String,
    escape: bool,
    /// Some character needed an escape.
    escaped: bool,
}

impl<'a> LabelValueEncoder<'a> {
    pub(crate) fn new(out: &'a mut String) -> Self {
        LabelValueEncoder {
            out,
            escape: true,
            escaped: false,
        }
    }

    /// An encoder that collects the unescaped text, for a caller that escapes it later.
    pub(crate) fn raw(out: &'a mut String) -> Self {
        LabelValueEncoder {
            out,
            escape: false,
            escaped: false,
        }
    }

    /// Appends `text` to the label value, escaping it.
    pub fn write_str(&mut self, text: &str) {
        if self.escape {
            let before = self.out.len();
            escape_label_value_into(self.out, text);
            // Each escape adds a byte.
            self.escaped |= self.out.len() - before != text.len();
        } else {
            self.out.push_str(text);
        }
    }

    /// Whether the value written so far holds an escape (a `\`).
    pub(crate) fn escaped(&self) -> bool {
        self.escaped
    }
}

impl std::fmt::Write for LabelValueEncoder<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        LabelValueEncoder::write_str(self, text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_what_the_formats_require() {
        let mut out = String::new();
        escape_label_value_into(&mut out, "a\\b\"c\nd é\t");
        assert_eq!(out, "a\\\\b\\\"c\\nd é\t");
        let mut help = Vec::new();
        write_help(&mut help, "say \"hi\"\\\n", Format::Text);
        assert_eq!(help, b"say \"hi\"\\\\\\n");
        let mut help = Vec::new();
        write_help(&mut help, "say \"hi\"", Format::OpenMetrics);
        assert_eq!(help, b"say \\\"hi\\\"");
    }

    #[test]
    fn floats_use_prometheus_spelling() {
        let render = |v| {
            let mut s = String::new();
            write_f64(&mut s, v);
            s
        };
        assert_eq!(render(f64::NAN), "NaN");
        assert_eq!(render(f64::INFINITY), "+Inf");
        assert_eq!(render(f64::NEG_INFINITY), "-Inf");
        assert_eq!(render(0.25), "0.25");
        assert_eq!(render(1.0), "1.0");
    }
}
