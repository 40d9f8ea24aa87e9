//! Exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0 text.
//!
//! Derived metrics are encoded straight from their live handles into one reused `String`: no
//! intermediate `MetricFamily` values are built. Label sets are escaped once, when a series is
//! created, and copied verbatim at every scrape.

#[cfg(feature = "prometheus-interop")]
mod foreign;
pub(crate) mod text;

#[cfg(feature = "prometheus-interop")]
pub(crate) use foreign::{describe_foreign, encode_foreign};
pub use text::LabelValueEncoder;
pub(crate) use text::{escape_label_value_into, write_f64};

use crate::metrics::{Descriptor, MetricKind};
use text::{write_help, write_value};

/// The exposition format of a scrape response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    Text,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` header value of a response in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// Picks the format Prometheus asks for in its `Accept` header.
    ///
    /// OpenMetrics (version 1.0.x, 0.0.1 or unversioned) is chosen only when the client lists
    /// `application/openmetrics-text` with a higher (or equal, earlier) quality than `text/plain`,
    /// and not with `q=0`; anything else gets text 0.0.4, which every client understands. Media
    /// types and parameter names are case-insensitive (`Q=0.5`).
    ///
    /// ```
    /// use promexport::Format;
    /// let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
    ///                   version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// assert_eq!(Format::from_accept(prometheus), Format::OpenMetrics);
    /// assert_eq!(Format::from_accept("text/plain"), Format::Text);
    /// assert_eq!(Format::from_accept(""), Format::Text);
    /// ```
    pub fn from_accept(accept: &str) -> Format {
        Self::negotiate(accept).0
    }

    /// The format `accept` asks for, and the `Content-Type` to answer with: OpenMetrics names
    /// the version the client chose (0.0.1 and 1.0.0 share one text format).
    pub(crate) fn negotiate(accept: &str) -> (Format, &'static str) {
        const OPEN_METRICS_0_0_1: &str =
            "application/openmetrics-text; version=0.0.1; charset=utf-8";
        let mut best = (Format::Text, Format::Text.content_type(), -1.0_f32);
        for range in accept.split(',') {
            let mut params = range.split(';').map(str::trim);
            let media = params.next().unwrap_or_default().to_ascii_lowercase();
            let mut quality = 1.0_f32;
            let mut version = None;
            for param in params {
                if let Some((key, value)) = param.split_once('=') {
                    let value = value.trim().trim_matches('"');
                    match key.trim().to_ascii_lowercase().as_str() {
                        "q" => quality = value.parse().unwrap_or(0.0),
                        "version" => version = Some(value),
                        _ => {}
                    }
                }
            }
            let chosen = match (media.as_str(), version) {
                ("application/openmetrics-text", None) => {
                    (Format::OpenMetrics, Format::OpenMetrics.content_type())
                }
                ("application/openmetrics-text", Some(v)) if v.starts_with("1.0") => {
                    (Format::OpenMetrics, Format::OpenMetrics.content_type())
                }
                ("application/openmetrics-text", Some("0.0.1")) => {
                    (Format::OpenMetrics, OPEN_METRICS_0_0_1)
                }
                ("text/plain" | "*/*", _) => (Format::Text, Format::Text.content_type()),
                _ => continue,
            };
            // q=0 refuses the format (RFC 9110 §12.4.2): never chosen, even when alone.
            if quality > best.2 && quality > 0.0 {
                best = (chosen.0, chosen.1, quality);
            }
        }
        (best.0, best.1)
    }
}

/// A number as it appears in a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// An unsigned integer (counters).
    U64(u64),
    /// A signed integer (gauges).
    I64(i64),
    /// A float; `NaN` and infinities are written as Prometheus spells them.
    F64(f64),
}

/// Writes an exposition: the families of every collector, then `# EOF` for OpenMetrics.
#[derive(Debug)]
pub struct Encoder<'a> {
    out: &'a mut String,
    format: Format,
    /// Family names to keep (`name[]` of a scrape); empty keeps all.
    selected: &'a [String],
    /// Where families that are not selected are written, and discarded.
    discarded: String,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `out`.
    pub fn new(out: &'a mut String, format: Format) -> Self {
        Self::selecting(out, format, &[])
    }

    /// An encoder that keeps only the families named in `selected` (by family name or by any of
    /// their sample names, as `name[]` query parameters give them); all of them when empty.
    pub fn selecting(out: &'a mut String, format: Format, selected: &'a [String]) -> Self {
        Encoder {
            out,
            format,
            selected,
            discarded: String::new(),
        }
    }

    fn is_selected(&self, name: &str, kind: MetricKind) -> bool {
        self.selected.is_empty()
            || self.selected.iter().any(|wanted| {
                wanted.strip_prefix(name).is_some_and(|suffix| {
                    suffix.is_empty() || kind.sample_suffixes().contains(&suffix)
                })
            })
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Writes the `HELP`/`TYPE`/`UNIT` header of a family and returns the encoder of its samples.
    ///
    /// `const_labels` is a pre-escaped `name="value",...` list (or empty) added to every sample.
    pub fn family<'e>(
        &'e mut self,
        desc: &'e Descriptor,
        const_labels: &'e str,
    ) -> FamilyEncoder<'e> {
        self.family_parts(desc.name, desc.help, desc.unit, desc.kind, const_labels)
    }

    pub(crate) fn family_parts<'e>(
        &'e mut self,
        name: &'e str,
        help: &'e str,
        unit: Option<&str>,
        kind: MetricKind,
        const_labels: &'e str,
    ) -> FamilyEncoder<'e> {
        let format = self.format;
        let out = if self.is_selected(name, kind) {
            &mut *self.out
        } else {
            self.discarded.clear();
            &mut self.discarded
        };
        let (type_name, header_suffix) = match (format, kind) {
            (Format::Text, MetricKind::Counter) => ("counter", "_total"),
            (Format::Text, MetricKind::Info) => ("gauge", "_info"),
            (Format::Text, MetricKind::StateSet) => ("gauge", ""),
            // As prometheus_client (Python) serves it: `_gcount` and `_gsum` follow as gauges.
            (Format::Text, MetricKind::GaugeHistogram) => ("histogram", ""),
            (Format::Text, MetricKind::Unknown) => ("untyped", ""),
            (Format::Text, kind) => (kind.as_str(), ""),
            (Format::OpenMetrics, kind) => (kind.as_str(), ""),
        };
        match format {
            Format::Text => {
                header_line(out, "# HELP ", name, header_suffix);
                write_help(out, help, format);
                out.push('\n');
                header_line(out, "# TYPE ", name, header_suffix);
                out.push_str(type_name);
                out.push('\n');
            }
            Format::OpenMetrics => {
                header_line(out, "# TYPE ", name, "");
                out.push_str(type_name);
                out.push('\n');
                if let Some(unit) = unit {
                    header_line(out, "# UNIT ", name, "");
                    out.push_str(unit);
                    out.push('\n');
                }
                header_line(out, "# HELP ", name, "");
                write_help(out, help, format);
                out.push('\n');
            }
        }
        FamilyEncoder {
            out,
            format,
            name,
            help,
            const_labels,
        }
    }

    /// Writes the end of the exposition (`# EOF` in OpenMetrics, nothing in text 0.0.4).
    pub fn finish(self) {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
    }
}

fn header_line(out: &mut String, keyword: &str, name: &str, suffix: &str) {
    out.push_str(keyword);
    out.push_str(name);
    out.push_str(suffix);
    out.push(' ');
}

/// Writes the samples of one metric family.
#[derive(Debug)]
pub struct FamilyEncoder<'a> {
    out: &'a mut String,
    format: Format,
    name: &'a str,
    help: &'a str,
    const_labels: &'a str,
}

impl FamilyEncoder<'_> {
    /// Writes the text 0.0.4 header of a gauge family named `<name><suffix>`, with the
    /// family's HELP: what follows a gauge histogram's buckets.
    pub(crate) fn gauge_header(&mut self, suffix: &str) {
        header_line(self.out, "# HELP ", self.name, suffix);
        write_help(self.out, self.help, self.format);
        self.out.push('\n');
        header_line(self.out, "# TYPE ", self.name, suffix);
        self.out.push_str("gauge\n");
    }

    /// The family's name (without `_total` or `_info`).
    pub fn name(&self) -> &str {
        self.name
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Writes one sample: `<name><suffix>{<const labels>,<labels>,<extra>} <value>`.
    ///
    /// `labels` is a pre-escaped `name="value",...` list (or empty); `extra` is one more label
    /// whose value is escaped here (the `le` of a bucket, the state of a state set).
    pub fn sample(
        &mut self,
        suffix: &str,
        labels: &str,
        extra: Option<(&str, &str)>,
        value: Value,
    ) {
        self.sample_with_exemplar(suffix, labels, extra, value, None);
    }

    /// Writes one sample as [`sample`](Self::sample) does, followed in OpenMetrics by
    /// ` # {<exemplar labels>} <value> <timestamp>` (text 0.0.4 has no exemplars: left out).
    pub fn sample_with_exemplar(
        &mut self,
        suffix: &str,
        labels: &str,
        extra: Option<(&str, &str)>,
        value: Value,
        exemplar: Option<&crate::Exemplar>,
    ) {
        let out = &mut *self.out;
        out.push_str(self.name);
        out.push_str(suffix);
        let mut parts = [self.const_labels, labels]
            .into_iter()
            .filter(|s| !s.is_empty());
        let first = parts.next();
        if first.is_some() || extra.is_some() {
            out.push('{');
            let mut comma = false;
            for part in first.into_iter().chain(parts) {
                if comma {
                    out.push(',');
                }
                out.push_str(part);
                comma = true;
            }
            if let Some((name, value)) = extra {
                if comma {
                    out.push(',');
                }
                out.push_str(name);
                out.push_str("=\"");
                escape_label_value_into(out, value);
                out.push('"');
            }
            out.push('}');
        }
        out.push(' ');
        write_value(out, value);
        if let Some(exemplar) = exemplar.filter(|_| self.format == Format::OpenMetrics) {
            out.push_str(" # {");
            out.push_str(exemplar.labels());
            out.push_str("} ");
            write_value(out, Value::F64(exemplar.value()));
            out.push(' ');
            write_f64(out, exemplar.timestamp());
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn open_metrics_0_0_1_is_chosen_when_it_is_the_only_one_offered() {
        let accept = "application/openmetrics-text;version=0.0.1,text/plain;version=0.0.4;q=0.5";
        assert_eq!(
            Format::negotiate(accept),
            (
                Format::OpenMetrics,
                "application/openmetrics-text; version=0.0.1; charset=utf-8"
            )
        );
        // Offered beside 1.0.0, the higher quality wins.
        let accept = "application/openmetrics-text;version=0.0.1;q=0.75,\
                      application/openmetrics-text;version=1.0.0";
        assert_eq!(
            Format::negotiate(accept),
            (Format::OpenMetrics, Format::OpenMetrics.content_type())
        );
        assert_eq!(
            Format::from_accept("application/openmetrics-text;version=2.0.0"),
            Format::Text
        );
    }

    #[test]
    fn parameter_names_are_case_insensitive() {
        let accept = "text/plain;Q=0.5,application/openmetrics-text;VERSION=1.0.0;Q=0.9";
        assert_eq!(Format::from_accept(accept), Format::OpenMetrics);
        let accept = "Application/OpenMetrics-Text;Version=1.0.0;Q=0.1,text/plain";
        assert_eq!(Format::from_accept(accept), Format::Text);
        assert_eq!(
            Format::from_accept("application/openmetrics-text;Q=0,text/plain;q=0.1"),
            Format::Text
        );
    }

    #[test]
    fn a_refused_format_is_never_chosen() {
        // q=0 is "not acceptable" (RFC 9110 §12.4.2), whatever else the header lists, or not.
        for accept in [
            "application/openmetrics-text;version=1.0.0;q=0",
            ",application/openmetrics-text;q=0",
            "text/html,application/openmetrics-text;q=0.0",
            "application/openmetrics-text;q=0,*/*;q=0",
        ] {
            assert_eq!(Format::from_accept(accept), Format::Text, "{accept}");
        }
        let prefers_open_metrics = "application/openmetrics-text;q=0.1,text/plain;q=0";
        assert_eq!(
            Format::from_accept(prefers_open_metrics),
            Format::OpenMetrics
        );
    }
}
