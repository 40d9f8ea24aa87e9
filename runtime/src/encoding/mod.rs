//! Exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0 text.
//!
//! Derived metrics are encoded straight from their live handles into one reused `Vec<u8>`: no
//! intermediate `MetricFamily` values are built. Label sets are escaped once, when a series is
//! created, and copied verbatim at every scrape. Metric types write their series through the
//! typed methods of [`FamilyEncoder`] (one per metric shape), which each format turns into its
//! own lines or messages.

#[cfg(feature = "serve")]
mod chunks;
mod created;
mod family;
#[cfg(feature = "prometheus-interop")]
mod foreign;
pub(crate) mod names;
mod protobuf;
#[cfg(feature = "remote-write")]
pub(crate) mod series_sink;
pub(crate) mod text;

#[cfg(feature = "serve")]
pub(crate) use chunks::{CHUNK_BYTES, ChunkSink};
pub use created::Created;
pub use family::{
    ClassicBucket, ClassicBuckets, FamilyEncoder, HistogramSample, Labels, NativeHistogramParts,
    Quantile, SummarySample,
};
#[cfg(feature = "prometheus-interop")]
pub(crate) use foreign::{describe_foreign, encode_foreign};
pub use names::Escaping;
pub(crate) use protobuf::{PairLayout, PairLayoutBuilder};
pub use text::LabelValueEncoder;
pub(crate) use text::escape_label_value_into;

use crate::metrics::{Descriptor, MetricKind};
use text::{TextFamily, TextSink, write_help};

/// The exposition format of a scrape response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    Text,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
    /// The protobuf exposition: length-delimited `io.prometheus.client.MetricFamily` messages
    /// (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
    /// encoding=delimited`), what Prometheus scrapes native histograms and created timestamps
    /// over.
    Protobuf,
}

impl Format {
    /// The `Content-Type` header value of a response in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Protobuf => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
        }
    }

    /// Picks the format Prometheus asks for in its `Accept` header.
    ///
    /// The listed format of the highest quality wins (of equal ones, the first): OpenMetrics
    /// (version 1.0.x, 0.0.1 or unversioned) for `application/openmetrics-text`, protobuf for
    /// `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`,
    /// text (version 0.0.4, 1.0.0 or unversioned) for `text/plain` and `*/*`; one with `q=0`
    /// never. Without any of them the answer is text 0.0.4, which every client understands.
    /// Media types and parameter names are case-insensitive (`Q=0.5`). The `escaping=` of the
    /// chosen entry is [`Escaping::from_accept`]'s answer.
    ///
    /// ```
    /// use promexport::Format;
    /// let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
    ///                   version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// assert_eq!(Format::from_accept(prometheus), Format::OpenMetrics);
    /// assert_eq!(Format::from_accept("text/plain"), Format::Text);
    /// let native_histograms = "application/vnd.google.protobuf;proto=io.prometheus.client.\
    ///                          MetricFamily;encoding=delimited,text/plain;version=0.0.4;q=0.5";
    /// assert_eq!(Format::from_accept(native_histograms), Format::Protobuf);
    /// assert_eq!(Format::from_accept(""), Format::Text);
    /// ```
    pub fn from_accept(accept: &str) -> Format {
        Self::negotiate(accept).format
    }

    /// The format and escaping scheme `accept` asks for, and the `Content-Type` to answer with.
    pub(crate) fn negotiate(accept: &str) -> Negotiated {
        let mut best = (Negotiated::default(), -1.0_f32);
        for range in accept.split(',') {
            let mut params = range.split(';').map(str::trim);
            let media = params.next().unwrap_or_default().to_ascii_lowercase();
            let mut quality = 1.0_f32;
            let mut version = None;
            let mut proto = None;
            let mut encoding = None;
            let mut escaping = Escaping::default();
            for param in params {
                if let Some((key, value)) = param.split_once('=') {
                    let value = value.trim().trim_matches('"');
                    match key.trim().to_ascii_lowercase().as_str() {
                        "q" => quality = value.parse().unwrap_or(0.0),
                        "version" => version = Some(value),
                        "proto" => proto = Some(value),
                        "encoding" => encoding = Some(value),
                        // An unknown scheme is ignored, as client_golang ignores it.
                        "escaping" => escaping = Escaping::from_param(value).unwrap_or_default(),
                        _ => {}
                    }
                }
            }
            let (format, media_type) = match (media.as_str(), version) {
                ("application/openmetrics-text", None) => {
                    (Format::OpenMetrics, MediaType::OpenMetrics1)
                }
                ("application/openmetrics-text", Some(v)) if v.starts_with("1.0") => {
                    (Format::OpenMetrics, MediaType::OpenMetrics1)
                }
                ("application/openmetrics-text", Some("0.0.1")) => {
                    (Format::OpenMetrics, MediaType::OpenMetrics0)
                }
                ("application/vnd.google.protobuf", _)
                    if proto == Some("io.prometheus.client.MetricFamily")
                        && encoding == Some("delimited") =>
                {
                    (Format::Protobuf, MediaType::Protobuf)
                }
                ("text/plain", Some(v)) if v.starts_with("1.0") => (Format::Text, MediaType::Text1),
                ("text/plain" | "*/*", _) => (Format::Text, MediaType::Text0),
                _ => continue,
            };
            // q=0 refuses the format (RFC 9110 §12.4.2): never chosen, even when alone.
            if quality > best.1 && quality > 0.0 {
                let content_type = media_type.content_type(escaping);
                best = (
                    Negotiated {
                        format,
                        escaping,
                        content_type,
                    },
                    quality,
                );
            }
        }
        best.0
    }
}

/// What a scrape's `Accept` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub(crate) format: Format,
    pub(crate) escaping: Escaping,
    /// The `Content-Type` of the answer: the media type and version chosen, and the escaping
    /// scheme, always named (as client_golang names it).
    pub(crate) content_type: &'static str,
}

impl Default for Negotiated {
    fn default() -> Self {
        Negotiated {
            format: Format::Text,
            escaping: Escaping::default(),
            content_type: MediaType::Text0.content_type(Escaping::default()),
        }
    }
}

/// The media types and versions a scrape can be answered in.
#[derive(Debug, Clone, Copy)]
enum MediaType {
    Text0,
    Text1,
    OpenMetrics0,
    OpenMetrics1,
    Protobuf,
}

impl MediaType {
    const fn content_type(self, escaping: Escaping) -> &'static str {
        macro_rules! with_escaping {
            ($base:literal) => {
                match escaping {
                    Escaping::AllowUtf8 => concat!($base, "; escaping=allow-utf-8"),
                    Escaping::Underscores => concat!($base, "; escaping=underscores"),
                    Escaping::Dots => concat!($base, "; escaping=dots"),
                    Escaping::Values => concat!($base, "; escaping=values"),
                }
            };
        }
        match self {
            MediaType::Text0 => with_escaping!("text/plain; version=0.0.4; charset=utf-8"),
            MediaType::Text1 => with_escaping!("text/plain; version=1.0.0; charset=utf-8"),
            MediaType::OpenMetrics0 => {
                with_escaping!("application/openmetrics-text; version=0.0.1; charset=utf-8")
            }
            MediaType::OpenMetrics1 => {
                with_escaping!("application/openmetrics-text; version=1.0.0; charset=utf-8")
            }
            MediaType::Protobuf => with_escaping!(
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            ),
        }
    }
}

impl Escaping {
    /// The scheme a scraper's `Accept` header asks for: the `escaping=` of the entry
    /// [`Format::from_accept`] chooses, [`Escaping::Underscores`] when it names none (or one
    /// this library does not know).
    ///
    /// ```
    /// use promexport::Escaping;
    /// let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
    ///                     text/plain;version=0.0.4;q=0.3";
    /// assert_eq!(Escaping::from_accept(prometheus_3), Escaping::AllowUtf8);
    /// assert_eq!(Escaping::from_accept("text/plain;version=0.0.4"), Escaping::Underscores);
    /// ```
    pub fn from_accept(accept: &str) -> Escaping {
        Format::negotiate(accept).escaping
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
///
/// The output is bytes: the text formats are UTF-8, protobuf is binary.
#[derive(Debug)]
pub struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    format: Format,
    /// Family names to keep (`name[]` of a scrape); empty keeps all.
    selected: &'a [String],
    /// Where families that are not selected are written, and discarded.
    discarded: Vec<u8>,
    /// OpenMetrics `_created` lines.
    created_lines: bool,
    /// How names outside the legacy character set are written.
    escaping: Escaping,
    /// Where the series go instead of an exposition (remote write).
    #[cfg(feature = "remote-write")]
    sink: Option<&'a mut dyn series_sink::SeriesSink>,
    /// Who takes the output in pieces as it grows (the server's streamed responses).
    #[cfg(feature = "serve")]
    chunks: Option<&'a mut dyn ChunkSink>,
    /// The prefix and labels of the registry view the collector being written was registered
    /// through, and the name and const labels of its family being written with them.
    pub(crate) view: Option<std::sync::Arc<crate::registry::View>>,
    view_name: String,
    view_labels: String,
    /// The `le` labels last written, for the histograms of the next families too.
    bucket_labels: text::BucketLabels,
}

impl<'a> Encoder<'a> {
    /// An encoder appending to `out`.
    pub fn new(out: &'a mut Vec<u8>, format: Format) -> Self {
        Self::selecting(out, format, &[])
    }

    /// An encoder that keeps only the families named in `selected` (by family name or by any of
    /// their sample names, as `name[]` query parameters give them); all of them when empty.
    pub fn selecting(out: &'a mut Vec<u8>, format: Format, selected: &'a [String]) -> Self {
        Encoder {
            out,
            format,
            selected,
            discarded: Vec::new(),
            created_lines: false,
            escaping: Escaping::default(),
            #[cfg(feature = "remote-write")]
            sink: None,
            #[cfg(feature = "serve")]
            chunks: None,
            view: None,
            view_name: String::new(),
            view_labels: String::new(),
            bucket_labels: text::BucketLabels::default(),
        }
    }

    /// Hands the output to `chunks` as it grows, between families and (in the text formats)
    /// between series, so that it never holds much more than [`CHUNK_BYTES`].
    #[cfg(feature = "serve")]
    pub(crate) fn streaming_to(mut self, chunks: &'a mut dyn ChunkSink) -> Self {
        self.chunks = Some(chunks);
        self
    }

    /// How names that are not legacy-valid are written (default [`Escaping::Underscores`], what
    /// a scraper that names no scheme gets): quoted under [`Escaping::AllowUtf8`], escaped
    /// otherwise. Legacy-valid names are the same in every scheme.
    ///
    /// ```
    /// use promexport::{Descriptor, Encoder, Escaping, Format, MetricKind, Value};
    /// const LOAD: Descriptor = Descriptor {
    ///     name: "system.cpu.load", help: "Load.", unit: None, kind: MetricKind::Gauge,
    /// };
    /// let write = |escaping| {
    ///     let mut out = Vec::new();
    ///     let mut encoder = Encoder::new(&mut out, Format::Text).escaping(escaping);
    ///     encoder.family(&LOAD, "").gauge(r#""cpu.core"="0""#, Value::F64(0.5));
    ///     String::from_utf8(out).unwrap()
    /// };
    /// assert!(write(Escaping::AllowUtf8).ends_with("{\"system.cpu.load\",\"cpu.core\"=\"0\"} 0.5\n"));
    /// assert!(write(Escaping::Underscores).ends_with("\nsystem_cpu_load{cpu_core=\"0\"} 0.5\n"));
    /// ```
    #[must_use]
    pub fn escaping(mut self, escaping: Escaping) -> Self {
        self.escaping = escaping;
        self
    }

    /// An encoder that hands every series to `sink` rather than writing an exposition
    /// (`scratch` gets the headers, and is of no use).
    #[cfg(feature = "remote-write")]
    pub(crate) fn to_sink(
        scratch: &'a mut Vec<u8>,
        sink: &'a mut dyn series_sink::SeriesSink,
    ) -> Self {
        let mut encoder = Self::new(scratch, Format::OpenMetrics);
        encoder.sink = Some(sink);
        encoder
    }

    /// Whether OpenMetrics carries the `_created` line of counters, histograms and summaries
    /// (default `false`, as client_golang: Prometheus stores those lines as series of their own
    /// unless started with `--enable-feature=created-timestamp-zero-ingestion`). Protobuf always
    /// carries created timestamps; text 0.0.4 never does.
    #[must_use]
    pub fn open_metrics_created(mut self, on: bool) -> Self {
        self.created_lines = on;
        self
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

    /// How names that are not legacy-valid are written.
    pub fn escaping_scheme(&self) -> Escaping {
        self.escaping
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

    /// [`family`](Self::family) of a metric whose label lists hold only legacy-valid names
    /// (known at compile time: its `LABEL_NAMES`), which are then copied without a look.
    pub(crate) fn family_of_legacy_labels<'e>(
        &'e mut self,
        desc: &'e Descriptor,
        const_labels: &'e str,
    ) -> FamilyEncoder<'e> {
        let mut family = self.family(desc, const_labels);
        // A state set's state label is named after the family.
        family.text.plain_labels = desc.kind != MetricKind::StateSet || family.text.plain_name;
        family
    }

    pub(crate) fn family_parts<'e>(
        &'e mut self,
        name: &'e str,
        help: &'e str,
        unit: Option<&str>,
        kind: MetricKind,
        const_labels: &'e str,
    ) -> FamilyEncoder<'e> {
        self.family_declaring(name, help, unit, kind, const_labels, &[] as &[&str])
    }

    /// [`family_parts`](Self::family_parts) of a family whose series carry the labels
    /// `declared`: a registry view's labels of the same names are left out of it.
    pub(crate) fn family_declaring<'e>(
        &'e mut self,
        name: &'e str,
        help: &'e str,
        unit: Option<&str>,
        kind: MetricKind,
        const_labels: &'e str,
        declared: &[impl AsRef<str>],
    ) -> FamilyEncoder<'e> {
        let (name, const_labels) = match &self.view {
            Some(view) => {
                self.view_name.clear();
                self.view_name.push_str(&view.prefix);
                self.view_name.push_str(name);
                self.view_labels.clear();
                view.const_labels_into(&mut self.view_labels, const_labels, declared);
                (self.view_name.as_str(), self.view_labels.as_str())
            }
            None => (name, const_labels),
        };
        let format = self.format;
        #[cfg(feature = "serve")]
        if let Some(chunks) = self.chunks.as_deref_mut() {
            // Before the protobuf message starts: its length is written in front of it.
            chunks.family_boundary(self.out);
        }
        let selected = self.is_selected(name, kind);
        let out = if selected {
            &mut *self.out
        } else {
            self.discarded.clear();
            &mut self.discarded
        };
        let message_start = out.len();
        let escaping = self.escaping;
        let plain_name = names::is_legacy_metric_name(name);
        let (type_name, header_suffix) = match (format, kind) {
            (Format::Text, MetricKind::Counter) => ("counter", "_total"),
            (Format::Text, MetricKind::Info) => ("gauge", "_info"),
            (Format::Text, MetricKind::StateSet) => ("gauge", ""),
            // As prometheus_client (Python) serves it: `_gcount` and `_gsum` follow as gauges.
            (Format::Text, MetricKind::GaugeHistogram) => ("histogram", ""),
            (Format::Text, MetricKind::Unknown) => ("untyped", ""),
            (Format::Text, kind) => (kind.as_str(), ""),
            (Format::OpenMetrics | Format::Protobuf, kind) => (kind.as_str(), ""),
        };
        let text = TextFamily {
            format,
            name,
            const_labels,
            created_lines: self.created_lines,
            escaping,
            plain_name,
            plain_labels: false,
        };
        match format {
            Format::Text => {
                text.header_line(out, "# HELP ", header_suffix);
                write_help(out, help, format);
                out.push(b'\n');
                text.header_line(out, "# TYPE ", header_suffix);
                out.push_text(type_name);
                out.push(b'\n');
            }
            Format::OpenMetrics => {
                text.header_line(out, "# TYPE ", "");
                out.push_text(type_name);
                out.push(b'\n');
                if let Some(unit) = unit {
                    text.header_line(out, "# UNIT ", "");
                    out.push_text(unit);
                    out.push(b'\n');
                }
                text.header_line(out, "# HELP ", "");
                write_help(out, help, format);
                out.push(b'\n');
            }
            Format::Protobuf => {
                let family_name = match plain_name {
                    true => std::borrow::Cow::Borrowed(name),
                    false => escaping.escape_name(name),
                };
                protobuf::begin_family(out, &family_name, help, kind);
            }
        }
        #[cfg(feature = "remote-write")]
        if let Some(sink) = self.sink.as_deref_mut() {
            sink.family(name, help, unit, kind);
        }
        FamilyEncoder {
            out,
            // A protobuf family is one message, written whole; discarded families are not sent.
            #[cfg(feature = "serve")]
            chunks: match &mut self.chunks {
                Some(chunks) if selected && format != Format::Protobuf => Some(&mut **chunks),
                _ => None,
            },
            #[cfg(feature = "remote-write")]
            sink: match &mut self.sink {
                Some(sink) => Some(&mut **sink),
                None => None,
            },
            text,
            kind,
            help,
            message_start,
            series: 0,
            proto_family: protobuf::ProtoFamily::default(),
            known_layout: None,
            bucket_labels: &mut self.bucket_labels,
        }
    }

    /// Writes the end of the exposition (`# EOF` in OpenMetrics, nothing in text 0.0.4).
    pub fn finish(self) {
        if self.format == Format::OpenMetrics {
            self.out.push_text("# EOF\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Escaping, Format};

    #[test]
    fn open_metrics_0_0_1_is_chosen_when_it_is_the_only_one_offered() {
        let accept = "application/openmetrics-text;version=0.0.1,text/plain;version=0.0.4;q=0.5";
        let negotiated = Format::negotiate(accept);
        assert_eq!(negotiated.format, Format::OpenMetrics);
        assert_eq!(
            negotiated.content_type,
            "application/openmetrics-text; version=0.0.1; charset=utf-8; escaping=underscores"
        );
        // Offered beside 1.0.0, the higher quality wins.
        let accept = "application/openmetrics-text;version=0.0.1;q=0.75,\
                      application/openmetrics-text;version=1.0.0";
        assert_eq!(
            Format::negotiate(accept).content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
        );
        assert_eq!(
            Format::from_accept("application/openmetrics-text;version=2.0.0"),
            Format::Text
        );
    }

    const PROTOBUF: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

    #[test]
    fn protobuf_is_chosen_as_prometheus_asks_for_it() {
        let prometheus_2_42 = format!(
            "{PROTOBUF},application/openmetrics-text;version=1.0.0;q=0.8,\
             application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        );
        let prometheus_3_14 = format!(
            "{PROTOBUF};q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
             application/openmetrics-text;version=0.0.1;q=0.4,\
             text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
        );
        // 3.0 to 3.3 append the escaping scheme to every entry.
        let prometheus_3_0 = format!(
            "{PROTOBUF};escaping=allow-utf-8;q=0.5,\
             application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.4,\
             application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.3,\
             text/plain;version=0.0.4;escaping=allow-utf-8;q=0.2,*/*;q=0.1"
        );
        for accept in [&prometheus_2_42, &prometheus_3_14, &prometheus_3_0] {
            let negotiated = Format::negotiate(accept);
            assert_eq!(negotiated.format, Format::Protobuf, "{accept}");
            assert!(
                negotiated
                    .content_type
                    .starts_with(Format::Protobuf.content_type()),
                "{accept}"
            );
        }
        // Without native histograms, Prometheus 3.0 leaves protobuf out.
        let text_only = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
                         application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.4,\
                         text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.1";
        assert_eq!(Format::from_accept(text_only), Format::OpenMetrics);
        let escaped_text = "text/plain;version=0.0.4;escaping=underscores;q=0.9,*/*;q=0.1";
        assert_eq!(Format::from_accept(escaped_text), Format::Text);
    }

    #[test]
    fn the_escaping_of_the_chosen_entry_is_served_and_echoed() {
        // Prometheus 3.14's default Accept header (the issue's first literal header).
        let prometheus_3_14 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
                               application/openmetrics-text;version=0.0.1;q=0.5,\
                               text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
                               text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        let negotiated = Format::negotiate(prometheus_3_14);
        assert_eq!(
            (negotiated.format, negotiated.escaping),
            (Format::OpenMetrics, Escaping::AllowUtf8)
        );
        assert_eq!(
            negotiated.content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
        let text_1_0_0 =
            "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3";
        assert_eq!(
            Format::negotiate(text_1_0_0).content_type,
            "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
        // Prometheus 2.42 names no scheme: underscores (the issue's second literal header
        // is the 2.42 one of `protobuf_is_chosen_as_prometheus_asks_for_it`).
        let prometheus_2_42 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                               version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        let negotiated = Format::negotiate(prometheus_2_42);
        assert_eq!(negotiated.escaping, Escaping::Underscores);
        assert_eq!(
            negotiated.content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
        );
        for (param, scheme) in [
            ("dots", Escaping::Dots),
            ("values", Escaping::Values),
            ("underscores", Escaping::Underscores),
            ("allow-utf-8", Escaping::AllowUtf8),
            // Unknown (or differently cased) schemes are ignored, as client_golang ignores them.
            ("ALLOW-UTF-8", Escaping::Underscores),
            ("rot13", Escaping::Underscores),
        ] {
            let negotiated = Format::negotiate(&format!("text/plain;escaping={param}"));
            assert_eq!(negotiated.escaping, scheme, "{param}");
            assert!(
                negotiated
                    .content_type
                    .ends_with(&format!("; escaping={}", scheme.as_str())),
                "{param}"
            );
        }
        // The scheme of an entry that is not chosen does not count.
        let accept = "application/openmetrics-text;escaping=allow-utf-8;q=0.1,text/plain";
        assert_eq!(Escaping::from_accept(accept), Escaping::Underscores);
        assert_eq!(Escaping::from_accept(""), Escaping::Underscores);
    }

    #[test]
    fn protobuf_needs_the_delimited_metric_family_encoding() {
        for other in [
            "application/vnd.google.protobuf",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text",
            "application/vnd.google.protobuf;proto=other.Message;encoding=delimited",
        ] {
            assert_eq!(Format::from_accept(other), Format::Text, "{other}");
        }
        let case_and_quotes = "Application/Vnd.Google.Protobuf; Proto=\"io.prometheus.client.MetricFamily\"; Encoding=delimited";
        assert_eq!(Format::from_accept(case_and_quotes), Format::Protobuf);
        let lower = format!("{PROTOBUF};q=0.4,application/openmetrics-text;q=0.5");
        assert_eq!(Format::from_accept(&lower), Format::OpenMetrics);
        assert_eq!(
            Format::from_accept(&format!("{PROTOBUF};q=0")),
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
