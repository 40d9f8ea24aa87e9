//! [`ConstFamily`]: one family whose name, help, unit, type and label names are chosen at run
//! time, with its samples, encoded through the typed family API in every format.

use super::FamilyError;
use super::labels::{SampleLabels, write_escaped};
use crate::encoding::{
    ClassicBucket, Created, Encoder, HistogramSample, Labels, Quantile, SummarySample, Value,
};
use crate::metrics::MetricKind;
use crate::naming;
use crate::registry::{Collect, FamilyDescription};
use std::borrow::Cow;
use std::ops::Range;

/// A family named at run time, and its samples: what an exporter that mirrors its target (a
/// JSON document, SQL rows, SNMP tables, a server's `INFO`) serves, as client_golang's
/// `NewDesc` and `MustNewConstMetric` or client_python's `GaugeMetricFamily` do.
///
/// Create it with the constructor of its type ([`counter`](Self::counter),
/// [`gauge`](Self::gauge), ...), which checks the name and label names, then add one sample
/// per series, its label values in the order of the declared names or as `(name, value)`
/// pairs. Label values are escaped here, help text when written: any text is safe. Nothing is
/// leaked: the names live as long as the family. Serve families through a
/// [`ConstMetrics`](crate::ConstMetrics) (what a `Collector` (feature `serve`) returns), or
/// register one as it is, or write it from a hand-written [`Collect`] with
/// [`encode`](Self::encode).
///
/// As in client_python, a counter's name may end in `_total` and an info's in `_info` (both
/// added when written), and a unit is appended to the name unless it already ends with it.
///
/// ```
/// use promexport::{ConstFamily, Format, Registry};
///
/// let mut keys = ConstFamily::gauge("kv_keys", "Keys by database.", &["db"])?;
/// keys.add(["db0"], 12)?;
/// keys.add([("db", "say \"hi\"\n")], 1)?; // escaped for the caller
/// let mut calls = ConstFamily::counter("kv_calls_total", "Calls by command.", &["cmd", "result"])?;
/// calls.add([("result", "ok"), ("cmd", "get")], 7)?;
///
/// let registry = Registry::new();
/// registry.register(keys)?;
/// registry.register(calls)?;
/// assert_eq!(
///     registry.render(Format::Text),
///     "# HELP kv_keys Keys by database.\n# TYPE kv_keys gauge\n\
///      kv_keys{db=\"db0\"} 12\nkv_keys{db=\"say \\\"hi\\\"\\n\"} 1\n# HELP kv_calls_total \
///      Calls by command.\n# TYPE kv_calls_total counter\n\
///      kv_calls_total{cmd=\"get\",result=\"ok\"} 7\n",
/// );
/// // Names are checked, and so are the labels of each sample:
/// assert!(ConstFamily::gauge("", "", &[]).is_err());
/// assert!(ConstFamily::gauge("kv_keys", "", &["__db"]).is_err());
/// assert!(ConstFamily::gauge("kv_keys", "", &["db"])?.add(["db0", "extra"], 1).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConstFamily {
    name: String,
    help: String,
    unit: Option<String>,
    kind: MetricKind,
    label_names: Vec<String>,
    /// Every series' escaped `name="value",...` list, one after the other.
    labels: String,
    series: Vec<(Range<usize>, ConstSample)>,
}

/// What one series holds.
#[derive(Debug, Clone, PartialEq)]
enum ConstSample {
    Value(Value, Option<Created>),
    Info,
    States(Vec<(String, bool)>),
    Histogram {
        buckets: Vec<(f64, u64)>,
        sum: f64,
        created: Option<Created>,
    },
    Summary {
        quantiles: Vec<Quantile>,
        count: u64,
        sum: f64,
        created: Option<Created>,
    },
}

impl ConstFamily {
    /// A family of `kind` named `name`, whose samples carry the labels `label_names`.
    ///
    /// `name` is checked as a metric name (after a counter's `_total` or an info's `_info`
    /// is taken off), each label name as a label name that the type does not write itself
    /// (`le` in histograms, `quantile` in summaries, the family's name in state sets), and
    /// declared once.
    pub fn new(
        kind: MetricKind,
        name: &str,
        help: &str,
        label_names: &[&str],
    ) -> Result<Self, FamilyError> {
        let name = match kind {
            MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
            MetricKind::Info => name.strip_suffix("_info").unwrap_or(name),
            _ => name,
        };
        if let Some(problem) = naming::metric_name_problem(name) {
            return Err(FamilyError::MetricName {
                name: name.to_owned(),
                problem,
            });
        }
        let mut declared: Vec<String> = Vec::with_capacity(label_names.len());
        for &label in label_names {
            let problem = naming::label_name_problem(label)
                .or_else(|| reserved_by(kind, name, label))
                .or_else(|| {
                    declared
                        .iter()
                        .any(|earlier| earlier == label)
                        .then(|| format!("the label `{label}` is declared twice"))
                });
            if let Some(problem) = problem {
                return Err(FamilyError::LabelName {
                    family: name.to_owned(),
                    label: label.to_owned(),
                    problem,
                });
            }
            declared.push(label.to_owned());
        }
        Ok(ConstFamily {
            name: name.to_owned(),
            help: help.to_owned(),
            unit: None,
            kind,
            label_names: declared,
            labels: String::new(),
            series: Vec::new(),
        })
    }

    /// A counter family: samples with [`add`](Self::add) or
    /// [`add_with_created`](Self::add_with_created).
    pub fn counter(name: &str, help: &str, label_names: &[&str]) -> Result<Self, FamilyError> {
        Self::new(MetricKind::Counter, name, help, label_names)
    }

    /// A gauge family: samples with [`add`](Self::add).
    pub fn gauge(name: &str, help: &str, label_names: &[&str]) -> Result<Self, FamilyError> {
        Self::new(MetricKind::Gauge, name, help, label_names)
    }

    /// A family of unknown type (`untyped` in text 0.0.4), for values whose type the target
    /// does not tell: samples with [`add`](Self::add).
    pub fn unknown(name: &str, help: &str, label_names: &[&str]) -> Result<Self, FamilyError> {
        Self::new(MetricKind::Unknown, name, help, label_names)
    }

    /// An info family (`<name>_info{labels} 1`): samples with [`add_info`](Self::add_info).
    pub fn info(name: &str, help: &str, label_names: &[&str]) -> Result<Self, FamilyError> {
        Self::new(MetricKind::Info, name, help, label_names)
    }

    /// A state set family: samples with [`add_states`](Self::add_states).
    pub fn state_set(name: &str, help: &str, label_names: &[&str]) -> Result<Self, FamilyError> {
        Self::new(MetricKind::StateSet, name, help, label_names)
    }

    /// A histogram family: samples with [`add_histogram`](Self::add_histogram).
    pub fn histogram(name: &str, help: &str, label_names: &[&str]) -> Result<Self, FamilyError> {
        Self::new(MetricKind::Histogram, name, help, label_names)
    }

    /// A summary family: samples with [`add_summary`](Self::add_summary).
    pub fn summary(name: &str, help: &str, label_names: &[&str]) -> Result<Self, FamilyError> {
        Self::new(MetricKind::Summary, name, help, label_names)
    }

    /// The family with a unit (OpenMetrics `# UNIT`): appended to the name as `_<unit>`
    /// unless the name already ends with it.
    ///
    /// ```
    /// use promexport::ConstFamily;
    /// let family = ConstFamily::gauge("disk_free", "Free space.", &[])?.with_unit("bytes")?;
    /// assert_eq!(family.name(), "disk_free_bytes");
    /// assert!(ConstFamily::gauge("x", "", &[])?.with_unit("b-s").is_err());
    /// # Ok::<(), promexport::FamilyError>(())
    /// ```
    pub fn with_unit(mut self, unit: &str) -> Result<Self, FamilyError> {
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if unit.is_empty() || !unit.chars().all(valid) {
            return Err(FamilyError::MetricName {
                name: self.name,
                problem: format!("`{unit}` is not a valid unit (`[a-zA-Z0-9_]+`)"),
            });
        }
        if !self.name.ends_with(&format!("_{unit}")) {
            self.name = format!("{}_{unit}", self.name);
        }
        if let Some(problem) = naming::metric_name_problem(&self.name) {
            return Err(FamilyError::MetricName {
                name: self.name,
                problem,
            });
        }
        self.unit = Some(unit.to_owned());
        Ok(self)
    }

    /// The family's name (without `_total` or `_info`, with its unit).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The family's type.
    pub fn kind(&self) -> MetricKind {
        self.kind
    }

    /// The declared label names, in order.
    pub fn label_names(&self) -> &[String] {
        &self.label_names
    }

    /// The number of samples added.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no sample was added (a family without samples is served as its header alone
    /// in the text formats, and left out of protobuf).
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The description a registry checks names with.
    pub fn description(&self) -> FamilyDescription {
        FamilyDescription {
            name: Cow::Owned(self.name.clone()),
            kind: self.kind,
            help: Cow::Owned(self.help.clone()),
        }
    }

    /// Adds the sample of a counter, gauge or unknown family: `value` is a `u64`, `i64` or
    /// `f64` (a [`Value`]).
    pub fn add(
        &mut self,
        labels: impl SampleLabels,
        value: impl Into<Value>,
    ) -> Result<(), FamilyError> {
        self.expect_kind(
            &[MetricKind::Counter, MetricKind::Gauge, MetricKind::Unknown],
            "add",
        )?;
        self.push(labels, ConstSample::Value(value.into(), None))
    }

    /// Adds the sample of a counter with the time it started counting (protobuf's created
    /// timestamp, OpenMetrics' `_created` when asked for).
    pub fn add_with_created(
        &mut self,
        labels: impl SampleLabels,
        value: impl Into<Value>,
        created: Created,
    ) -> Result<(), FamilyError> {
        self.expect_kind(&[MetricKind::Counter], "add_with_created")?;
        self.push(labels, ConstSample::Value(value.into(), Some(created)))
    }

    /// Adds the sample of an info family: its labels, at 1.
    pub fn add_info(&mut self, labels: impl SampleLabels) -> Result<(), FamilyError> {
        self.expect_kind(&[MetricKind::Info], "add_info")?;
        self.push(labels, ConstSample::Info)
    }

    /// Adds one series of a state set: each state as `<name>{labels,<name>="<state>"}`, 1 when
    /// active. States are raw text (escaped here).
    ///
    /// ```
    /// use promexport::{ConstFamily, Format, Registry};
    /// let mut role = ConstFamily::state_set("kv_role", "Replication role.", &[])?;
    /// role.add_states((), &[("master", true), ("replica", false)])?;
    /// let registry = Registry::new();
    /// registry.register(role)?;
    /// assert!(registry.render(Format::Text).contains("kv_role{kv_role=\"master\"} 1\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_states(
        &mut self,
        labels: impl SampleLabels,
        states: &[(&str, bool)],
    ) -> Result<(), FamilyError> {
        self.expect_kind(&[MetricKind::StateSet], "add_states")?;
        let states = states
            .iter()
            .map(|&(state, active)| (state.to_owned(), active))
            .collect();
        self.push(labels, ConstSample::States(states))
    }

    /// Adds the sample of a histogram: its classic buckets (cumulative counts in increasing
    /// bound order; a last `+Inf` bucket is added with the last count when missing), sum and
    /// created time. The native part of `sample` is not kept: const histograms are classic.
    ///
    /// ```
    /// use promexport::{ClassicBucket, ConstFamily, Format, HistogramSample, Registry};
    /// let mut latency = ConstFamily::histogram("kv_latency_seconds", "Latency.", &["cmd"])?;
    /// let buckets = [
    ///     ClassicBucket { upper_bound: 0.1, cumulative_count: 3, exemplar: None },
    ///     ClassicBucket { upper_bound: f64::INFINITY, cumulative_count: 4, exemplar: None },
    /// ];
    /// let sample = HistogramSample { buckets: &buckets, sum: 0.5, created: None, native: None };
    /// latency.add_histogram(["get"], &sample)?;
    /// let registry = Registry::new();
    /// registry.register(latency)?;
    /// let text = registry.render(Format::Text);
    /// assert!(text.contains("kv_latency_seconds_bucket{cmd=\"get\",le=\"0.1\"} 3\n"));
    /// assert!(text.contains("kv_latency_seconds_count{cmd=\"get\"} 4\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_histogram(
        &mut self,
        labels: impl SampleLabels,
        sample: &HistogramSample<'_>,
    ) -> Result<(), FamilyError> {
        self.expect_kind(&[MetricKind::Histogram], "add_histogram")?;
        let mut buckets: Vec<(f64, u64)> = Vec::new();
        sample.buckets.for_each_bucket(&mut |bucket| {
            buckets.push((bucket.upper_bound, bucket.cumulative_count));
        });
        let mut previous = (f64::NEG_INFINITY, 0);
        for &(bound, count) in &buckets {
            if bound.is_nan() || bound <= previous.0 || count < previous.1 {
                return Err(self.sample_problem(format!(
                    "bucket `le={bound}` with {count} observations follows `le={}` with {}: \
                     bounds must increase and cumulative counts not decrease",
                    previous.0, previous.1
                )));
            }
            previous = (bound, count);
        }
        let histogram = ConstSample::Histogram {
            buckets,
            sum: sample.sum,
            created: sample.created,
        };
        self.push(labels, histogram)
    }

    /// Adds the sample of a summary: its quantiles (ranks in 0..=1, increasing), count, sum
    /// and created time.
    pub fn add_summary(
        &mut self,
        labels: impl SampleLabels,
        sample: &SummarySample<'_>,
    ) -> Result<(), FamilyError> {
        self.expect_kind(&[MetricKind::Summary], "add_summary")?;
        let mut previous = f64::NEG_INFINITY;
        for quantile in sample.quantiles {
            let rank = quantile.quantile;
            if !(0.0..=1.0).contains(&rank) || rank <= previous {
                return Err(self.sample_problem(format!(
                    "quantile {rank} is not in 0..=1 or does not follow {previous}"
                )));
            }
            previous = rank;
        }
        let summary = ConstSample::Summary {
            quantiles: sample.quantiles.to_vec(),
            count: sample.count,
            sum: sample.sum,
            created: sample.created,
        };
        self.push(labels, summary)
    }

    fn expect_kind(&self, kinds: &[MetricKind], method: &'static str) -> Result<(), FamilyError> {
        match kinds.contains(&self.kind) {
            true => Ok(()),
            false => Err(FamilyError::Kind {
                family: self.name.clone(),
                kind: self.kind,
                method,
            }),
        }
    }

    fn sample_problem(&self, problem: String) -> FamilyError {
        FamilyError::Sample {
            family: self.name.clone(),
            problem,
        }
    }

    fn push(&mut self, labels: impl SampleLabels, sample: ConstSample) -> Result<(), FamilyError> {
        let start = self.labels.len();
        write_escaped(&self.label_names, labels.labels(), &mut self.labels).map_err(|problem| {
            FamilyError::Labels {
                family: self.name.clone(),
                problem,
            }
        })?;
        self.series.push((start..self.labels.len(), sample));
        Ok(())
    }

    /// Writes the family (its header, then every sample) onto `encoder`: what a hand-written
    /// [`Collect::encode`] calls for the families it builds at scrape time.
    pub fn encode(&self, encoder: &mut Encoder<'_>) {
        let mut family = encoder.family_declaring(
            &self.name,
            &self.help,
            self.unit.as_deref(),
            self.kind,
            "",
            &self.label_names,
        );
        for (range, sample) in &self.series {
            let labels = Labels::escaped(&self.labels[range.clone()]);
            match sample {
                ConstSample::Value(value, created) => match self.kind {
                    MetricKind::Counter => family.counter(labels, *value, *created, None),
                    MetricKind::Gauge => family.gauge(labels, *value),
                    _ => family.unknown(labels, *value),
                },
                ConstSample::Info => family.info(labels),
                ConstSample::States(states) => {
                    for (state, active) in states {
                        family.state(labels, state, *active);
                    }
                }
                ConstSample::Histogram {
                    buckets,
                    sum,
                    created,
                } => {
                    let buckets: Vec<ClassicBucket<'_>> = buckets
                        .iter()
                        .map(|&(upper_bound, cumulative_count)| ClassicBucket {
                            upper_bound,
                            cumulative_count,
                            exemplar: None,
                        })
                        .collect();
                    let sample = HistogramSample {
                        buckets: &buckets,
                        sum: *sum,
                        created: *created,
                        native: None,
                    };
                    family.histogram(labels, &sample);
                }
                ConstSample::Summary {
                    quantiles,
                    count,
                    sum,
                    created,
                } => family.summary(
                    labels,
                    &SummarySample {
                        quantiles,
                        count: *count,
                        sum: *sum,
                        created: *created,
                    },
                ),
            }
        }
    }
}

/// Why `label` cannot be declared by a family of `kind` named `name`: the type writes it.
fn reserved_by(kind: MetricKind, name: &str, label: &str) -> Option<String> {
    let reserved = match kind {
        MetricKind::Histogram | MetricKind::GaugeHistogram => "le",
        MetricKind::Summary => "quantile",
        MetricKind::StateSet => name,
        _ => return None,
    };
    (label == reserved).then(|| {
        format!(
            "a {} family writes the label `{label}` itself",
            kind.as_str()
        )
    })
}

/// A family registered as it is: served as it was built, its name claimed.
impl Collect for ConstFamily {
    fn describe(&self) -> Vec<FamilyDescription> {
        vec![self.description()]
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        ConstFamily::encode(self, encoder);
    }

    fn label_names(&self, index: usize) -> Option<Vec<Cow<'static, str>>> {
        (index == 0).then(|| {
            self.label_names
                .iter()
                .map(|name| Cow::Owned(name.clone()))
                .collect()
        })
    }
}

impl From<u64> for Value {
    fn from(value: u64) -> Self {
        Value::U64(value)
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Value::U64(value.into())
    }
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::I64(value)
    }
}

impl From<i32> for Value {
    fn from(value: i32) -> Self {
        Value::I64(value.into())
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::F64(value)
    }
}
