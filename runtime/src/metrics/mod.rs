//! The metric types a `#[derive(Metrics)]` struct is made of.

mod counter;
mod exemplar;
mod family;
mod gauge;
mod histogram;
mod info;
mod number;
mod refcounted;
mod sharded;
mod state_set;

pub use counter::Counter;
pub use exemplar::{Exemplar, MAX_EXEMPLAR_LABEL_CHARS};
pub use family::{Family, SeriesHandle};
pub use gauge::{Gauge, InProgress};
pub use histogram::{DEFAULT_BUCKETS, Histogram, HistogramTimer};
pub use info::Info;
pub use number::{CounterValue, GaugeValue};
pub use sharded::ShardedCounter;
pub use state_set::StateSet;

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
    /// Labels describing the target, one sample at 1 named `<name>_info`.
    Info,
    /// One sample per state of an enum, the current one at 1.
    StateSet,
    /// Precomputed quantiles (only from foreign `prometheus` collectors).
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
/// Implemented by [`Counter`], [`Gauge`], [`Histogram`] and [`StateSet`]. Every `Series` is also
/// a [`Metric`], so it can be a field of a `#[derive(Metrics)]` struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the series of a `Family`",
    label = "not a series type",
    note = "a `Family<L, M>` holds `Counter`, `ShardedCounter`, `Gauge`, `Histogram` or `StateSet` series"
)]
pub trait Series: Send + Sync + 'static {
    /// The family type.
    const KIND: MetricKind;
    /// Creates the series at zero.
    fn new(config: &MetricConfig) -> Self;
    /// Writes the samples of this series; `labels` is its pre-escaped label list.
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str);
}

/// A field of a `#[derive(Metrics)]` struct: one metric family.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a metric",
    label = "not a metric type",
    note = "metric fields are `Counter`, `ShardedCounter`, `Gauge`, `Histogram`, `Family<L, M>`, `StateSet<E>` or `Info<L>`; mark any other field `#[metric(skip)]`"
)]
pub trait Metric: Send + Sync + 'static {
    /// The family type.
    const KIND: MetricKind;
    /// Names of the labels each sample carries (checked against reserved names at compile time).
    const LABEL_NAMES: &'static [&'static str];
    /// The number of label sets when all are known in advance (a [`Family`] over a closed label
    /// set), `None` otherwise: what `#[metric(preinit)]` creates, checked at compile time.
    const CLOSED_LABEL_SETS: Option<usize> = None;
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
    const LABEL_NAMES: &'static [&'static str] = &[];
    fn new(config: &MetricConfig) -> Self {
        Series::new(config)
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>) {
        Series::encode(self, family, "");
    }
}
