use super::{Metric, MetricConfig, MetricKind, Series};
use crate::encoding::FamilyEncoder;
use crate::labels::{LabelSet, LabelSetEncoder, encode_label_set};
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// A labelled family: one series of `M` per label set `L`.
///
/// When every label of `L` is closed (enums, `bool`), all series are created with the family and
/// [`get`](Self::get) is an index into an array: no hashing, no lock. Other label sets are looked
/// up in a map under a read lock; a new label set takes the write lock once. Series live as long
/// as the family, so the `&M` returned can be kept.
///
/// Open label sets are limited (`#[metric(max_series = N)]`, default 10,000, see
/// [`set_default_max_series`](crate::set_default_max_series)): past the limit, `get` returns a
/// series that is never served, `promexport_series_rejected_total{family}` counts the refusal,
/// and memory stays bounded whatever label values clients send.
///
/// ```
/// use promexport::{Counter, Family, LabelSet, LabelValue, MetricConfig};
///
/// #[derive(Clone, PartialEq, Eq, Hash, LabelValue)]
/// enum Outcome { Ok, Error }
/// #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
/// struct CallLabels { outcome: Outcome }
///
/// let calls: Family<CallLabels, Counter> = Family::default();
/// calls.get(&CallLabels { outcome: Outcome::Ok }).inc();
/// assert_eq!(calls.get(&CallLabels { outcome: Outcome::Ok }).get(), 1);
/// assert_eq!(calls.get(&CallLabels { outcome: Outcome::Error }).get(), 0);
/// ```
pub struct Family<L: LabelSet, M: Series> {
    config: MetricConfig,
    storage: Storage<L, M>,
}

enum Storage<L, M> {
    /// Every series of a closed label set, at `LabelSet::index`.
    Fixed(Box<[LabelledSeries<M>]>),
    /// Series in creation order (boxed, so references survive growth) and their index by label set.
    Dynamic {
        series: RwLock<DynamicSeries<L, M>>,
        /// What label sets past the series limit record into: never served.
        overflow: M,
    },
}

struct DynamicSeries<L, M> {
    /// foldhash: several times faster than SipHash on short label text, and randomly seeded
    /// per process, so label values chosen by clients cannot be made to collide on purpose.
    index: HashMap<L, usize, foldhash::fast::RandomState>,
    series: Vec<Box<LabelledSeries<M>>>,
    /// Where a new series' label text is written, so the text is allocated once, at its size.
    scratch: String,
}

struct LabelledSeries<M> {
    /// Pre-escaped `name="value",...` text.
    labels: Box<str>,
    metric: M,
}

impl<L: LabelSet, M: Series> Family<L, M> {
    /// An empty family whose series are built with `config` (e.g. histogram buckets).
    pub fn new(config: &MetricConfig) -> Self {
        let fixed = L::CARDINALITY.filter(|n| *n > 0).and_then(|cardinality| {
            (0..cardinality)
                .map(|index| {
                    let labels = L::from_index(index).filter(|l| l.index() == index);
                    labels.map(|labels| LabelledSeries {
                        labels: encode_label_set(&labels).into_boxed_str(),
                        metric: M::new(config),
                    })
                })
                .collect::<Option<Box<[_]>>>()
        });
        let storage = match fixed {
            Some(series) => Storage::Fixed(series),
            None => Storage::Dynamic {
                series: RwLock::new(DynamicSeries {
                    index: HashMap::default(),
                    series: Vec::new(),
                    scratch: String::new(),
                }),
                overflow: M::new(config),
            },
        };
        Family {
            config: *config,
            storage,
        }
    }

    /// The series of `labels`, created at zero on first use.
    #[inline]
    pub fn get(&self, labels: &L) -> &M {
        match &self.storage {
            // `new` checked that `index` round-trips, and a closed label set has at least one
            // series; clamping only guards against a hand-written `index` beyond CARDINALITY.
            Storage::Fixed(series) => &series[labels.index().min(series.len() - 1)].metric,
            Storage::Dynamic { series, overflow } => {
                if let Some(metric) = Self::lookup(
                    &series.read().unwrap_or_else(PoisonError::into_inner),
                    labels,
                ) {
                    return metric;
                }
                self.insert(series, labels).unwrap_or(overflow)
            }
        }
    }

    fn lookup<'a>(dynamic: &DynamicSeries<L, M>, labels: &L) -> Option<&'a M> {
        let series: &LabelledSeries<M> = dynamic.series.get(*dynamic.index.get(labels)?)?;
        // SAFETY: series are boxed and never removed or moved out of their box while the family
        // is alive (removal needs `&mut self`), so the pointee outlives the returned borrow of
        // `self`, whatever happens to the lock guard or the `Vec` holding the box.
        Some(unsafe { &*std::ptr::from_ref(&series.metric) })
    }

    /// Creates the series of `labels`, or `None` past the series limit (counted in
    /// `promexport_series_rejected_total{family}`).
    #[cold]
    fn insert<'a>(&'a self, lock: &'a RwLock<DynamicSeries<L, M>>, labels: &L) -> Option<&'a M> {
        let mut dynamic = lock.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(metric) = Self::lookup(&dynamic, labels) {
            return Some(metric);
        }
        let limit = self
            .config
            .max_series
            .unwrap_or_else(super::default_max_series);
        if dynamic.series.len() >= limit {
            drop(dynamic);
            SeriesGuardMetrics::global()
                .series_rejected
                .get(&RejectedLabels {
                    family: self.config.name,
                })
                .inc();
            return None;
        }
        let position = dynamic.series.len();
        let mut text = std::mem::take(&mut dynamic.scratch);
        text.clear();
        labels.encode(&mut LabelSetEncoder::new(&mut text));
        dynamic.series.push(Box::new(LabelledSeries {
            labels: Box::from(text.as_str()),
            metric: M::new(&self.config),
        }));
        dynamic.scratch = text;
        dynamic.index.insert(labels.clone(), position);
        Self::lookup(&dynamic, labels)
    }

    /// Number of series in the family.
    pub fn len(&self) -> usize {
        match &self.storage {
            Storage::Fixed(series) => series.len(),
            Storage::Dynamic { series, .. } => series
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .series
                .len(),
        }
    }

    /// Whether the family has no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, crate::LabelSet)]
#[label(crate = crate)]
struct RejectedLabels {
    family: &'static str,
}

/// Label sets refused by families at their series limit (`max_series`).
#[doc(hidden)]
#[derive(crate::Metrics)]
#[metrics(crate = crate, prefix = "promexport")]
pub struct SeriesGuardMetrics {
    /// Label sets not created because their family reached its series limit.
    series_rejected: Family<RejectedLabels, crate::Counter>,
}

impl<L: LabelSet, M: Series> Default for Family<L, M> {
    fn default() -> Self {
        Family::new(&MetricConfig::DEFAULT)
    }
}

impl<L: LabelSet, M: Series> std::fmt::Debug for Family<L, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("series", &self.len())
            .finish()
    }
}

impl<L: LabelSet, M: Series> Metric for Family<L, M> {
    const KIND: MetricKind = M::KIND;
    const LABEL_NAMES: &'static [&'static str] = L::NAMES;
    fn new(config: &MetricConfig) -> Self {
        Family::new(config)
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>) {
        match &self.storage {
            Storage::Fixed(series) => {
                for s in series.iter() {
                    s.metric.encode(family, &s.labels);
                }
            }
            Storage::Dynamic { series, .. } => {
                let dynamic = series.read().unwrap_or_else(PoisonError::into_inner);
                for s in &dynamic.series {
                    s.metric.encode(family, &s.labels);
                }
            }
        }
    }
}
