//! The metric types a `#[derive(Metrics)]` struct is made of.

mod buckets;
mod counter;
mod duration_histogram;
mod exemplar;
mod family;
mod gauge;
mod gauge_histogram;
mod histogram;
mod info;
mod native_histogram;
mod number;
mod refcounted;
mod sharded;
mod state_set;
mod summary;

pub use buckets::{Buckets, exponential_buckets, linear_buckets, valid_buckets};
pub use counter::Counter;
pub(crate) use duration_histogram::DurationHistogram;
pub use exemplar::{Exemplar, MAX_EXEMPLAR_LABEL_CHARS};
pub use family::{Family, SeriesHandle};
pub use gauge::{Gauge, InProgress};
pub use gauge_histogram::GaugeHistogram;
pub use histogram::{DEFAULT_BUCKETS, Histogram, HistogramTimer};
pub use info::Info;
pub use native_histogram::{
    DEFAULT_ZERO_THRESHOLD, MAX_SCHEMA, MIN_SCHEMA, NativeHistogram, NativeHistogramOptions,
    NativeHistogramSnapshot, NativeHistogramTimer,
};
pub use number::{CounterValue, GaugeValue};
pub use sharded::ShardedCounter;
pub use state_set::StateSet;
pub use summary::{DEFAULT_AGE_BUCKETS, DEFAULT_BUF_CAP, DEFAULT_MAX_AGE, Summary, SummaryOptions};

use crate::encoding::FamilyEncoder;

/// The type of a metric family, as the exposition formats name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A monotonic counter; its samples end in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations counted in buckets, with `_bucket`, `_sum` and `_count` samples.
    Histogram,
    /// The current distribution of a gauge in buckets, with `_bucket`, `_gcount` and `_gsum`
    /// samples ([`GaugeHistogram`]; text 0.0.4 serves it as a histogram and two gauges).
    GaugeHistogram,
    /// Labels describing the target, one sample at 1 named `<name>_info`.
    Info,
    /// One sample per state of an enum, the current one at 1.
    StateSet,
    /// Quantiles over a sliding window, with `_sum` and `_count` samples ([`Summary`], and
    /// foreign `prometheus` collectors' summaries).
    Summary,
    /// A metric of unknown type (only from foreign `prometheus` collectors).
    Unknown,
}

impl MetricKind {
    /// The type's name in OpenMetrics (`counter`, `gauge`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::GaugeHistogram => "gaugehistogram",
            MetricKind::Info => "info",
            MetricKind::StateSet => "stateset",
            MetricKind::Summary => "summary",
            MetricKind::Unknown => "unknown",
        }
    }

    /// Suffixes of the sample names a family of this kind writes (besides its own name).
    pub const fn sample_suffixes(self) -> &'static [&'static str] {
        match self {
            MetricKind::Counter => &["_total", "_created"],
            MetricKind::Histogram => &["_bucket", "_sum", "_count", "_created"],
            MetricKind::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
            MetricKind::Summary => &["_sum", "_count", "_created"],
            MetricKind::Info => &["_info"],
            MetricKind::Gauge | MetricKind::StateSet | MetricKind::Unknown => &[""],
        }
    }
}

/// The static description of one metric family.
///
/// `#[derive(Metrics)]` builds one per field at compile time, with the prefix and unit already in
/// `name`; the `_total` and `_info` suffixes are added when samples are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// Full family name, e.g. `app_request_duration_seconds`.
    pub name: &'static str,
    /// HELP text.
    pub help: &'static str,
    /// Unit (OpenMetrics `# UNIT`), already a suffix of `name`.
    pub unit: Option<&'static str>,
    /// Type of the family.
    pub kind: MetricKind,
}

/// Per-field settings a metric is built from.
#[derive(Debug, Clone, Copy)]
pub struct MetricConfig {
    /// Upper bounds of histogram buckets: finite, strictly increasing, without `+Inf`
    /// (`#[metric(buckets = [...])]` checks them at compile time). Bounds from the first one that
    /// breaks these rules are left out, so the exposition stays valid;
    /// [`Histogram::with_buckets`] reports them as an error instead.
    pub buckets: &'static [f64],
    /// Most label sets a [`Family`] creates (`#[metric(max_series = N)]`); `None` for the
    /// process-wide default ([`set_default_max_series`]).
    pub max_series: Option<usize>,
    /// The family's name, for `promexport_series_rejected_total{family}`.
    pub name: &'static str,
    /// Whether a [`Family`] over a closed label set creates (and serves at zero) every label
    /// combination up front (`#[metric(preinit)]`), rather than each when first touched.
    pub preinit: bool,
    /// How a [`NativeHistogram`] chooses its buckets (`#[metric(native(...))]`, with
    /// `buckets = [...]` as its classic buckets); other metric types ignore it.
    pub native: NativeHistogramOptions,
    /// Objectives and window of a [`Summary`] (`#[metric(quantiles(0.5 = 0.05), max_age =
    /// "10m", age_buckets = 5)]`); invalid objectives are left out.
    pub summary: SummaryOptions<'static>,
    /// How long a series of an open [`Family`] may go unused before a scrape drops it
    /// (`#[metric(expire_after = "10m")]`); `None` keeps series until removed. See
    /// [`Family::expire_after`].
    pub expire_after: Option<std::time::Duration>,
}

impl MetricConfig {
    /// Settings with Prometheus' default buckets and the default series limit.
    pub const DEFAULT: MetricConfig = MetricConfig {
        buckets: DEFAULT_BUCKETS,
        max_series: None,
        name: "",
        preinit: false,
        native: NativeHistogramOptions::DEFAULT,
        summary: SummaryOptions::DEFAULT,
        expire_after: None,
    };
}

static DEFAULT_MAX_SERIES: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(10_000);

/// Sets the most label sets a [`Family`] without `#[metric(max_series = N)]` creates
/// (default 10,000). Families over closed label sets (enums, `bool`) are not limited: their
/// label combinations are known, and only those touched (or all, with `#[metric(preinit)]`) are
/// created.
pub fn set_default_max_series(limit: usize) {
    DEFAULT_MAX_SERIES.store(limit, std::sync::atomic::Ordering::Relaxed);
}

pub(crate) fn default_max_series() -> usize {
    DEFAULT_MAX_SERIES.load(std::sync::atomic::Ordering::Relaxed)
}

impl Default for MetricConfig {
    fn default() -> Self {
        MetricConfig::DEFAULT
    }
}

/// One series (or one series per state, for [`StateSet`]): the types a [`Family`] can hold.
///
/// Implemented by [`Counter`], [`Gauge`], [`Histogram`], [`NativeHistogram`], [`Summary`],
/// [`GaugeHistogram`] and [`StateSet`]. Every `Series` is also
/// a [`Metric`], so it can be a field of a `#[derive(Metrics)]` struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the series of a `Family`",
    label = "not a series type",
    note = "a `Family<L, M>` holds `Counter`, `ShardedCounter`, `Gauge`, `Histogram`, `NativeHistogram`, `Summary`, `GaugeHistogram` or `StateSet` series"
)]
pub trait Series: Send + Sync + 'static {
    /// The family type.
    const KIND: MetricKind;
    /// Whether it has native histogram buckets (`#[metric(native(...))]` needs them).
    const NATIVE: bool = false;
    /// Creates the series at zero.
    fn new(config: &MetricConfig) -> Self;
    /// Writes the samples of this series; `labels` is its pre-escaped label list.
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str);
    /// Suffixes of samples that text 0.0.4 serves as gauge families of their own, after the
    /// samples of every series (a [`GaugeHistogram`]'s `_gcount` and `_gsum`).
    const TRAILING_GAUGES: &'static [&'static str] = &[];
    /// Writes the sample of this series for one of [`TRAILING_GAUGES`](Self::TRAILING_GAUGES)
    /// (text 0.0.4 only).
    fn encode_trailing(&self, family: &mut FamilyEncoder<'_>, labels: &str, suffix: &str) {
        let _ = (family, labels, suffix);
    }
}

/// Writes the trailing gauge families of `S` (text 0.0.4): a header each, then the sample of
/// every series from `each_series`.
pub(crate) fn encode_trailing_gauges<S: Series>(
    family: &mut FamilyEncoder<'_>,
    mut each_series: impl FnMut(&mut dyn FnMut(&S, &str)),
) {
    if family.format() != crate::Format::Text {
        return;
    }
    for suffix in S::TRAILING_GAUGES {
        family.gauge_header(suffix);
        each_series(&mut |series, labels| series.encode_trailing(family, labels, suffix));
    }
}

/// A field of a `#[derive(Metrics)]` struct: one metric family.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a metric",
    label = "not a metric type",
    note = "metric fields are `Counter`, `ShardedCounter`, `Gauge`, `Histogram`, `NativeHistogram`, `Summary`, `GaugeHistogram`, `Family<L, M>`, `StateSet<E>` or `Info<L>`; mark any other field `#[metric(skip)]`"
)]
pub trait Metric: Send + Sync + 'static {
    /// The family type.
    const KIND: MetricKind;
    /// Names of the labels each sample carries (checked against reserved names at compile time).
    const LABEL_NAMES: &'static [&'static str];
    /// The number of label sets when all are known in advance (a [`Family`] over a closed label
    /// set), `None` otherwise: what `#[metric(preinit)]` creates, checked at compile time.
    const CLOSED_LABEL_SETS: Option<usize> = None;
    /// Whether its series are [`NativeHistogram`]s (`#[metric(native(...))]` needs them).
    const NATIVE: bool = false;
    /// Whether the metric is a [`Family`] over an open label set, whose series can expire
    /// (`#[metric(expire_after = "...")]`, checked at compile time).
    const OPEN_LABEL_SETS: bool = false;
    /// Creates the metric with no observations.
    fn new(config: &MetricConfig) -> Self;
    /// Writes the samples of the family (its header is already written).
    fn encode(&self, family: &mut FamilyEncoder<'_>);
}

impl<S: Series> Metric for S {
    const KIND: MetricKind = S::KIND;
    const NATIVE: bool = S::NATIVE;
    const LABEL_NAMES: &'static [&'static str] = &[];
    fn new(config: &MetricConfig) -> Self {
        Series::new(config)
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>) {
        Series::encode(self, family, "");
        encode_trailing_gauges::<S>(family, |write| write(self, ""));
    }
}
