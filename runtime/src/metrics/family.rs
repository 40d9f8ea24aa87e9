use super::{Metric, MetricConfig, MetricKind, Series};
use crate::encoding::FamilyEncoder;
use crate::labels::{LabelSet, encode_label_set};
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// A labelled family: one series of `M` per label set `L`.
///
/// When every label of `L` is closed (enums, `bool`), all series are created with the family and
/// [`get`](Self::get) is an index into an array: no hashing, no lock. Other label sets are looked
/// up in a map under a read lock; a new label set takes the write lock once. Series live as long
/// as the family, so the `&M` returned can be kept.
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
    Dynamic(RwLock<DynamicSeries<L, M>>),
}

struct DynamicSeries<L, M> {
    /// foldhash: several times faster than SipHash on short label text, and randomly seeded
    /// per process, so label values chosen by clients cannot be made to collide on purpose.
    index: HashMap<L, usize, foldhash::fast::RandomState>,
    series: Vec<Box<LabelledSeries<M>>>,
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
            None => Storage::Dynamic(RwLock::new(DynamicSeries {
                index: HashMap::default(),
                series: Vec::new(),
            })),
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
            Storage::Dynamic(lock) => {
                if let Some(metric) =
                    Self::lookup(&lock.read().unwrap_or_else(PoisonError::into_inner), labels)
                {
                    return metric;
                }
                self.insert(lock, labels)
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

    #[cold]
    fn insert<'a>(&'a self, lock: &'a RwLock<DynamicSeries<L, M>>, labels: &L) -> &'a M {
        let mut dynamic = lock.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(metric) = Self::lookup(&dynamic, labels) {
            return metric;
        }
        let position = dynamic.series.len();
        dynamic.series.push(Box::new(LabelledSeries {
            labels: encode_label_set(labels).into_boxed_str(),
            metric: M::new(&self.config),
        }));
        dynamic.index.insert(labels.clone(), position);
        Self::lookup(&dynamic, labels).expect("the series was just inserted")
    }

    /// Number of series in the family.
    pub fn len(&self) -> usize {
        match &self.storage {
            Storage::Fixed(series) => series.len(),
            Storage::Dynamic(lock) => lock
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
            Storage::Dynamic(lock) => {
                let dynamic = lock.read().unwrap_or_else(PoisonError::into_inner);
                for s in &dynamic.series {
                    s.metric.encode(family, &s.labels);
                }
            }
        }
    }
}
