//! [`FamilyEncoder`]: the samples of one family, written through one typed method per metric
//! shape, so that every format sees a series whole (a histogram's buckets in one call, the
//! labels as a list it can split into pairs).

use super::protobuf::{self, PairLayout, PairTemplate, ProtoFamily, ProtoSeries};
#[cfg(feature = "remote-write")]
use super::series_sink::{self, SeriesSink};
use super::text::{BucketLabels, TextFamily};
use super::{Created, Format, Value};
use crate::Exemplar;
use crate::metrics::MetricKind;

/// The labels of one series: a pre-escaped list and at most one more label.
///
/// The list is `name="value",...` with values escaped as the text formats escape them (what
/// [`encode_label_set`](crate::encode_label_set) and [`LabelSetEncoder`](crate::LabelSetEncoder)
/// produce, and what a [`Family`](crate::Family) keeps per series); the extra label's value is
/// raw and escaped while writing (a reason, an outcome). `&str` converts into `Labels`.
///
/// ```
/// use promexport::Labels;
/// let labels = Labels::from(r#"method="GET""#).with("result", "ok");
/// assert_eq!(labels.escaped_list(), r#"method="GET""#);
/// assert_eq!(labels.extra(), Some(("result", "ok")));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Labels<'a> {
    escaped: &'a str,
    extra: Option<(&'a str, &'a str)>,
}

impl<'a> Labels<'a> {
    /// No labels.
    pub const NONE: Labels<'static> = Labels {
        escaped: "",
        extra: None,
    };

    /// A pre-escaped `name="value",...` list (or `""`).
    pub const fn escaped(list: &'a str) -> Self {
        Labels {
            escaped: list,
            extra: None,
        }
    }

    /// These labels and `name="value"`, `value` not escaped yet.
    pub const fn with(self, name: &'a str, value: &'a str) -> Self {
        Labels {
            escaped: self.escaped,
            extra: Some((name, value)),
        }
    }

    /// The pre-escaped list.
    pub const fn escaped_list(&self) -> &'a str {
        self.escaped
    }

    /// The extra label, its value unescaped.
    pub const fn extra(&self) -> Option<(&'a str, &'a str)> {
        self.extra
    }
}

impl<'a> From<&'a str> for Labels<'a> {
    fn from(list: &'a str) -> Self {
        Labels::escaped(list)
    }
}

/// One classic bucket: its upper bound, the observations up to it, and its exemplar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassicBucket<'a> {
    /// The bucket's `le`: `f64::INFINITY` for the last one.
    pub upper_bound: f64,
    /// Observations at or below `upper_bound` (counts are cumulative).
    pub cumulative_count: u64,
    /// The bucket's latest exemplar.
    pub exemplar: Option<&'a Exemplar>,
}

/// The classic buckets of a histogram, visited once per scrape and never collected: a
/// histogram reads its atomics (and locks its exemplars) while the encoder writes them.
///
/// Buckets come in increasing bound order with cumulative counts and end with the `+Inf`
/// bucket, whose count is the histogram's count. When the last one is not `+Inf` (a foreign
/// histogram) the encoder adds it with the last count; a histogram without classic buckets (a
/// native-only one) gives just the `+Inf` bucket. Arrays, `Vec`s and slice references of
/// [`ClassicBucket`]s are such buckets.
///
/// ```
/// use promexport::{ClassicBucket, ClassicBuckets};
/// let buckets = [
///     ClassicBucket { upper_bound: 0.5, cumulative_count: 2, exemplar: None },
///     ClassicBucket { upper_bound: f64::INFINITY, cumulative_count: 3, exemplar: None },
/// ];
/// let mut counts = Vec::new();
/// buckets.for_each_bucket(&mut |bucket| counts.push(bucket.cumulative_count));
/// assert_eq!(counts, [2, 3]);
/// ```
pub trait ClassicBuckets {
    /// Calls `visit` with each bucket, in order.
    fn for_each_bucket(&self, visit: &mut dyn FnMut(ClassicBucket<'_>));
}

impl ClassicBuckets for [ClassicBucket<'_>] {
    fn for_each_bucket(&self, visit: &mut dyn FnMut(ClassicBucket<'_>)) {
        for bucket in self {
            visit(*bucket);
        }
    }
}

/// `buckets: &slice` where `slice: &[ClassicBucket]` (a reference, so that it is `Sized`).
impl ClassicBuckets for &[ClassicBucket<'_>] {
    fn for_each_bucket(&self, visit: &mut dyn FnMut(ClassicBucket<'_>)) {
        (**self).for_each_bucket(visit);
    }
}

impl ClassicBuckets for Vec<ClassicBucket<'_>> {
    fn for_each_bucket(&self, visit: &mut dyn FnMut(ClassicBucket<'_>)) {
        self[..].for_each_bucket(visit);
    }
}

impl<const N: usize> ClassicBuckets for [ClassicBucket<'_>; N] {
    fn for_each_bucket(&self, visit: &mut dyn FnMut(ClassicBucket<'_>)) {
        self[..].for_each_bucket(visit);
    }
}

/// The native (exponential) buckets of a histogram, as its type keeps them; served only in
/// [`Format::Protobuf`] (the text formats serve the classic buckets).
///
/// `positive` and `negative` are `(bucket index, count)` pairs sorted by index, empty buckets
/// left out; bucket `i` of schema `s` is `(base^(i-1), base^i]` with `base = 2^(2^-s)`. The
/// encoder turns them into spans and delta-encoded counts as client_golang does (gaps of up to
/// two empty buckets are filled with zero counts rather than starting a new span).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeHistogramParts<'a> {
    /// The resolution, -4 to 8.
    pub schema: i32,
    /// Observations with an absolute value at or below this are counted in the zero bucket.
    pub zero_threshold: f64,
    /// The zero bucket's count.
    pub zero_count: u64,
    /// Positive buckets: `(index, count)`, sorted by index, no zero counts.
    pub positive: &'a [(i32, u64)],
    /// Negative buckets (of the absolute values): `(index, count)`, sorted by index.
    pub negative: &'a [(i32, u64)],
    /// Exemplars of the native histogram (with timestamps, as Prometheus requires).
    pub exemplars: &'a [&'a Exemplar],
}

/// One histogram series, read once per scrape.
#[derive(Clone, Copy)]
pub struct HistogramSample<'a> {
    /// The classic buckets, ending with `+Inf` (whose count is the histogram's count).
    pub buckets: &'a dyn ClassicBuckets,
    /// The sum of the observations.
    pub sum: f64,
    /// When the histogram was created or last reset.
    pub created: Option<Created>,
    /// Native buckets, for the protobuf format (the text formats ignore them).
    pub native: Option<NativeHistogramParts<'a>>,
}

impl std::fmt::Debug for HistogramSample<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buckets = Vec::new();
        self.buckets.for_each_bucket(&mut |bucket| {
            buckets.push((bucket.upper_bound, bucket.cumulative_count))
        });
        f.debug_struct("HistogramSample")
            .field("buckets", &buckets)
            .field("sum", &self.sum)
            .field("created", &self.created)
            .field("native", &self.native)
            .finish()
    }
}

/// One precomputed quantile of a summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile {
    /// The rank, 0 to 1 (`0.99`).
    pub quantile: f64,
    /// The observation at that rank.
    pub value: f64,
}

/// One summary series, read once per scrape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummarySample<'a> {
    /// The quantiles, in increasing rank.
    pub quantiles: &'a [Quantile],
    /// Number of observations.
    pub count: u64,
    /// Sum of the observations.
    pub sum: f64,
    /// When the summary was created or last reset.
    pub created: Option<Created>,
}

/// Writes the series of one metric family: returned by [`Encoder::family`](super::Encoder::family),
/// which has written the family's header.
///
/// Call the method of the family's kind once per series ([`counter`](Self::counter) in a
/// counter family, ...): each writes the series' sample lines in the text formats, or one
/// `Metric` message in protobuf. Nothing is allocated per series, except what a
/// [`summary`](Self::summary)'s quantile labels need. In protobuf the family's message is
/// completed (its length written in front) when the `FamilyEncoder` is dropped, and a family
/// without series is left out then; the borrow of the [`Encoder`](super::Encoder) makes the
/// next family wait for that.
///
/// ```
/// use promexport::{Descriptor, Encoder, Format, Labels, MetricKind, Value};
///
/// const JOBS: Descriptor =
///     Descriptor { name: "jobs", help: "Jobs run.", unit: None, kind: MetricKind::Counter };
/// let mut out = Vec::new();
/// let mut encoder = Encoder::new(&mut out, Format::Text);
/// let mut family = encoder.family(&JOBS, "");
/// family.counter(Labels::from(r#"queue="mail""#).with("result", "ok"), Value::U64(3), None, None);
/// drop(family);
/// encoder.finish();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total{queue=\"mail\",result=\"ok\"} 3\n",
/// );
/// ```
#[derive(Debug)]
pub struct FamilyEncoder<'a> {
    pub(super) out: &'a mut Vec<u8>,
    pub(super) text: TextFamily<'a>,
    pub(super) kind: MetricKind,
    /// Where the series go instead of `out`, for [`Encoder::to_sink`](super::Encoder::to_sink).
    #[cfg(feature = "remote-write")]
    pub(super) sink: Option<&'a mut dyn SeriesSink>,
    /// Who takes the text in pieces, at series boundaries (see `Encoder::streaming_to`).
    #[cfg(feature = "serve")]
    pub(super) chunks: Option<&'a mut dyn super::ChunkSink>,
    /// HELP, repeated by the gauges that follow a gauge histogram in text 0.0.4.
    pub(super) help: &'a str,
    /// Protobuf: where the family's message starts, and how many series it holds so far.
    pub(super) message_start: usize,
    pub(super) series: usize,
    /// Protobuf: what the family's series share.
    pub(super) proto_family: ProtoFamily,
    /// Protobuf: the `PairLayout` of the list of the series being written, while
    /// [`with_pair_layout`](Self::with_pair_layout) runs.
    pub(super) known_layout: Option<KnownLayout>,
    /// Text: the `le` labels last written, kept by the scrape's encoder.
    pub(super) bucket_labels: &'a mut BucketLabels,
}

/// The `PairLayout` of one label list, and the list, by address and length: any list with
/// both is that list (it is alive, and never written, while they are known).
#[derive(Debug, Clone, Copy)]
pub(super) struct KnownLayout {
    list_address: usize,
    list_len: usize,
    layout: PairLayout,
}

impl Drop for FamilyEncoder<'_> {
    /// Ends the family's message in protobuf (its length comes first).
    fn drop(&mut self) {
        if self.text.format == Format::Protobuf {
            protobuf::end_family(self.out, self.message_start, self.series);
        }
    }
}

impl FamilyEncoder<'_> {
    /// The family's name (without `_total` or `_info`).
    pub fn name(&self) -> &str {
        self.text.name
    }

    /// The format being written.
    pub fn format(&self) -> Format {
        self.text.format
    }

    /// The family's kind, as its header declared it.
    pub fn kind(&self) -> MetricKind {
        self.kind
    }

    /// Calls `encode`, which writes the series whose pre-escaped list is `labels`, with the
    /// `PairLayout` of that list known: protobuf then copies its pairs without looking at
    /// them. For the series that keep it (a family's own).
    #[inline]
    pub(crate) fn with_pair_layout(
        &mut self,
        labels: &str,
        layout: PairLayout,
        encode: impl FnOnce(&mut Self),
    ) {
        if self.text.format != Format::Protobuf {
            return encode(self);
        }
        self.known_layout = Some(KnownLayout {
            list_address: labels.as_ptr().addr(),
            list_len: labels.len(),
            layout,
        });
        encode(self);
        self.known_layout = None;
    }

    /// The `PairLayout` of `list`, if it is known.
    #[inline]
    fn pair_layout(&self, list: &str) -> PairLayout {
        match self.known_layout {
            Some(known)
                if known.list_address == list.as_ptr().addr() && known.list_len == list.len() =>
            {
                known.layout
            }
            _ => PairLayout::UNKNOWN,
        }
    }

    /// The protobuf writer of one more series, or `None` in the text formats.
    #[inline]
    fn proto<'l>(&mut self, labels: &'l Labels<'l>) -> Option<ProtoSeries<'l>>
    where
        Self: 'l,
    {
        // Every series method starts here: a boundary between two series.
        #[cfg(feature = "serve")]
        if self.out.len() >= super::CHUNK_BYTES {
            if let Some(chunks) = self.chunks.as_deref_mut() {
                chunks.series_boundary(self.out);
            }
        }
        (self.text.format == Format::Protobuf).then(|| {
            if self.series == 0 {
                self.learn_pairs(*labels);
            }
            self.series += 1;
            ProtoSeries {
                const_labels: self.text.const_labels,
                labels,
                pair_layout: self.pair_layout(labels.escaped_list()),
                escaping: self.text.escaping,
                plain_labels: self.text.plain_labels,
            }
        })
    }

    /// Protobuf: the pairs of the family's first series, if they are all it has (no const
    /// labels), as [`ProtoSeries`] writes them from a template.
    #[inline(never)]
    fn learn_pairs(&mut self, labels: Labels<'_>) {
        if self.text.plain_labels && self.text.const_labels.is_empty() {
            self.proto_family.pairs = PairTemplate::learn(labels.escaped_list());
        }
    }

    /// A counter series: `<name>_total`, its exemplar (OpenMetrics and protobuf) and its
    /// created time (protobuf; OpenMetrics `_created` when the encoder is asked to).
    // Inlined into the encoding loop of a family of counters: called, it takes its value and
    // created time on the stack, 6 instructions more a series of a text scrape (callgrind).
    #[inline]
    pub fn counter<'l>(
        &mut self,
        labels: impl Into<Labels<'l>>,
        value: Value,
        created: Option<Created>,
        exemplar: Option<&Exemplar>,
    ) {
        #[cfg(feature = "remote-write")]
        if let Some(sink) = self.sink.as_deref_mut() {
            let extras = series_sink::SampleExtras {
                created,
                exemplars: exemplar.as_slice(),
            };
            let labels = labels.into();
            series_sink::sample(sink, &self.text, "_total", labels, None, value, extras);
            return;
        }
        let labels = labels.into();
        if let Some(series) = self.proto(&labels) {
            series.counter(self.out, &mut self.proto_family, value, created, exemplar);
            return;
        }
        self.text
            .line(self.out, "_total", &labels, None, value, exemplar);
        self.text.created(self.out, &labels, created);
    }

    /// A gauge series.
    pub fn gauge<'l>(&mut self, labels: impl Into<Labels<'l>>, value: Value) {
        self.single_sample(labels.into(), "", None, value, false);
    }

    /// A series of unknown type (untyped).
    pub fn unknown<'l>(&mut self, labels: impl Into<Labels<'l>>, value: Value) {
        self.single_sample(labels.into(), "", None, value, true);
    }

    /// An info series: `<name>_info{labels} 1` (a gauge in protobuf, as client_golang has it).
    pub fn info<'l>(&mut self, labels: impl Into<Labels<'l>>) {
        self.single_sample(labels.into(), "_info", None, Value::U64(1), false);
    }

    /// One state of a state set: `<name>{labels,<name>="<state>"}`, 1 when `active` (a gauge in
    /// protobuf). `state` is raw (escaped here).
    pub fn state<'l>(&mut self, labels: impl Into<Labels<'l>>, state: &str, active: bool) {
        let extra = Some((self.text.name, state));
        let value = Value::U64(u64::from(active));
        self.single_sample(labels.into(), "", extra, value, false);
    }

    /// A series of one sample with neither created time nor exemplar: `<name><suffix>` in the
    /// text formats, a gauge in protobuf (untyped with `untyped`).
    #[inline]
    fn single_sample(
        &mut self,
        labels: Labels<'_>,
        suffix: &str,
        extra: Option<(&str, &str)>,
        value: Value,
        untyped: bool,
    ) {
        #[cfg(feature = "remote-write")]
        if let Some(sink) = self.sink.as_deref_mut() {
            let none = series_sink::SampleExtras::NONE;
            series_sink::sample(sink, &self.text, suffix, labels, extra, value, none);
            return;
        }
        match self.proto(&labels) {
            Some(series) => series.gauge(self.out, &mut self.proto_family, value, extra, untyped),
            None => self
                .text
                .line(self.out, suffix, &labels, extra, value, None),
        }
    }

    // A gauge histogram (OpenMetrics `gaugehistogram` with `_gcount`/`_gsum`, protobuf
    // `GAUGE_HISTOGRAM` = 5) takes the same `HistogramSample`: it needs its `MetricKind` and the
    // suffixes as a parameter of `TextFamily::histogram`; `ProtoSeries::histogram` serves it as is.
    /// A histogram series: its classic buckets, `_sum`, `_count` and (when asked for)
    /// `_created` in the text formats; in protobuf one `Histogram` with its created timestamp
    /// and native part.
    pub fn histogram<'l>(&mut self, labels: impl Into<Labels<'l>>, sample: &HistogramSample<'_>) {
        #[cfg(feature = "remote-write")]
        if let Some(sink) = self.sink.as_deref_mut() {
            series_sink::histogram(sink, &self.text, labels.into(), sample, false);
            return;
        }
        let labels = labels.into();
        match self.proto(&labels) {
            Some(series) => series.histogram(self.out, &mut self.proto_family, sample),
            None => self
                .text
                .histogram(self.out, &labels, sample, self.bucket_labels),
        }
    }

    /// A gauge histogram series: its buckets, then `_gcount` and `_gsum` in OpenMetrics; in
    /// protobuf one `Histogram` of a `GAUGE_HISTOGRAM` family. Text 0.0.4 has no such type: the
    /// family is a `histogram` of the buckets, and [`Series::TRAILING_GAUGES`] write `_gcount`
    /// and `_gsum` as gauges after every series, as prometheus_client does.
    ///
    /// [`Series::TRAILING_GAUGES`]: crate::Series::TRAILING_GAUGES
    pub fn gauge_histogram<'l>(
        &mut self,
        labels: impl Into<Labels<'l>>,
        sample: &HistogramSample<'_>,
    ) {
        #[cfg(feature = "remote-write")]
        if let Some(sink) = self.sink.as_deref_mut() {
            series_sink::histogram(sink, &self.text, labels.into(), sample, true);
            return;
        }
        let labels = labels.into();
        match self.proto(&labels) {
            Some(series) => series.histogram(self.out, &mut self.proto_family, sample),
            None => self
                .text
                .gauge_histogram(self.out, &labels, sample, self.bucket_labels),
        }
    }

    /// Writes the text 0.0.4 header of a gauge family named `<name><suffix>`, with the
    /// family's HELP: what follows a gauge histogram's buckets.
    pub(crate) fn gauge_header(&mut self, suffix: &str) {
        self.text.header_line(self.out, "# HELP ", suffix);
        super::text::write_help(self.out, self.help, self.text.format);
        self.out.push(b'\n');
        self.text.header_line(self.out, "# TYPE ", suffix);
        self.out.extend_from_slice(b"gauge\n");
    }

    /// One line `<name><suffix>{labels} <value>` of a gauge written by [`gauge_header`]
    /// (text 0.0.4 only).
    ///
    /// [`gauge_header`]: Self::gauge_header
    pub(crate) fn trailing_gauge(&mut self, suffix: &str, labels: &str, value: Value) {
        self.text
            .line(self.out, suffix, &labels.into(), None, value, None);
    }

    /// A summary series: one sample per quantile, `_sum`, `_count` and (when asked for)
    /// `_created`; in protobuf one `Summary` with its created timestamp.
    ///
    /// The hook for summary types: read the quantiles into a reused buffer and pass them.
    pub fn summary<'l>(&mut self, labels: impl Into<Labels<'l>>, sample: &SummarySample<'_>) {
        #[cfg(feature = "remote-write")]
        if let Some(sink) = self.sink.as_deref_mut() {
            series_sink::summary(sink, &self.text, labels.into(), sample);
            return;
        }
        let labels = labels.into();
        match self.proto(&labels) {
            Some(series) => series.summary(self.out, &mut self.proto_family, sample),
            None => self.text.summary(self.out, &labels, sample),
        }
    }
}
