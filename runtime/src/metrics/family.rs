use super::{Metric, MetricConfig, MetricKind, Series};
use crate::encoding::FamilyEncoder;
use crate::labels::{LabelSet, LabelSetEncoder, encode_label_set};
use std::hash::BuildHasher;
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
    /// The series, found by the hash of their label set: a pointer a slot, where a map keyed by
    /// a second copy of each label set took 56 bytes.
    index: hashbrown::HashTable<SeriesRef<L, M>>,
    /// foldhash: several times faster than SipHash on short label text, and randomly seeded
    /// per process, so label values chosen by clients cannot be made to collide on purpose.
    hasher: foldhash::fast::RandomState,
    series: Vec<Box<KeyedSeries<L, M>>>,
    /// Where a new series' label text is written, so the text is allocated once, at its size.
    scratch: String,
}

struct LabelledSeries<M> {
    /// Pre-escaped `name="value",...` text.
    labels: Box<str>,
    metric: M,
}

/// A series of an open label set, with the label set it is found by.
struct KeyedSeries<L, M> {
    key: L,
    series: LabelledSeries<M>,
}

/// A series boxed in `DynamicSeries::series`, pointed to from its `index`.
struct SeriesRef<L, M>(std::ptr::NonNull<KeyedSeries<L, M>>);

// SAFETY: a `SeriesRef` is only read through `get`, as a shared reference; it is as safe to send
// and share as `&KeyedSeries`.
unsafe impl<L: Sync, M: Sync> Send for SeriesRef<L, M> {}
// SAFETY: as above.
unsafe impl<L: Sync, M: Sync> Sync for SeriesRef<L, M> {}

impl<L, M> SeriesRef<L, M> {
    fn get(&self) -> &KeyedSeries<L, M> {
        // SAFETY: the pointee is a box of the `series` of the `DynamicSeries` holding this
        // `SeriesRef`; boxes are never removed or mutated, and moving a box (when `series` grows)
        // does not move what it points to.
        unsafe { self.0.as_ref() }
    }
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
                    index: hashbrown::HashTable::new(),
                    hasher: foldhash::fast::RandomState::default(),
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
        let hash = dynamic.hasher.hash_one(labels);
        let found = dynamic
            .index
            .find(hash, |series| series.get().key == *labels)?;
        let series = &found.get().series;
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
        let position = dynamic.series.len();
        if position >= limit {
            drop(dynamic);
            SeriesGuardMetrics::global()
                .series_rejected
                .get(&RejectedLabels {
                    family: self.config.name,
                })
                .inc();
            return None;
        }
        let dynamic = &mut *dynamic;
        dynamic.scratch.clear();
        labels.encode(&mut LabelSetEncoder::new(&mut dynamic.scratch));
        let keyed = Box::new(KeyedSeries {
            key: labels.clone(),
            series: LabelledSeries {
                labels: Box::from(dynamic.scratch.as_str()),
                metric: M::new(&self.config),
            },
        });
        dynamic.series.push(keyed);
        // Taken from the box where it stays: moving a box asserts it is unique.
        let pointer = SeriesRef(std::ptr::NonNull::from(&*dynamic.series[position]));
        let hasher = &dynamic.hasher;
        let hash = hasher.hash_one(labels);
        dynamic
            .index
            .insert_unique(hash, pointer, |series| hasher.hash_one(&series.get().key));
        Self::lookup(dynamic, labels)
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
                for keyed in &dynamic.series {
                    keyed.series.metric.encode(family, &keyed.series.labels);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Counter;

    #[derive(Clone, PartialEq, Eq, Hash, crate::LabelSet)]
    #[label(crate = crate)]
    struct PathLabels {
        path: String,
    }

    fn path(i: usize) -> PathLabels {
        PathLabels {
            path: format!("/items/{i}"),
        }
    }

    #[test]
    fn series_stay_where_they_are_while_the_family_grows() {
        // Enough for the list of series and the table to grow many times (fewer under Miri).
        let limit = if cfg!(miri) { 100 } else { 5_000 };
        let family: Family<PathLabels, Counter> = Family::new(&MetricConfig {
            max_series: Some(limit),
            ..MetricConfig::DEFAULT
        });
        let first = family.get(&path(0));
        let series: Vec<&Counter> = (0..limit).map(|i| family.get(&path(i))).collect();
        first.inc();
        assert_eq!(family.len(), limit);
        for (i, counter) in series.iter().enumerate() {
            assert!(std::ptr::eq(*counter, family.get(&path(i))), "series {i}");
            counter.inc();
        }
        assert_eq!(family.get(&path(0)).get(), 2);
        assert_eq!(family.get(&path(limit - 1)).get(), 1);
        let past_limit = family.get(&path(limit));
        past_limit.inc();
        assert_eq!(family.len(), limit);
        assert!(
            series
                .iter()
                .all(|counter| !std::ptr::eq(*counter, past_limit))
        );
    }

    #[test]
    fn racing_threads_find_one_series_per_label_set() {
        // Each thread meets the label sets in another order, so inserts race with lookups and
        // with each other (few under Miri, which runs every interleaving slowly).
        const THREADS: usize = 4;
        let labels = if cfg!(miri) { 8 } else { 256 };
        let family: Family<PathLabels, Counter> = Family::default();
        let found: Vec<Vec<usize>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let family = &family;
                    scope.spawn(move || {
                        let mut found = vec![0; labels];
                        for step in 0..labels {
                            let i = (step * (2 * thread + 1) + thread) % labels;
                            let counter = family.get(&path(i));
                            counter.inc();
                            found[i] = std::ptr::from_ref(counter) as usize;
                        }
                        found
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(family.len(), labels);
        for (i, address) in found[0].iter().enumerate() {
            assert!(found.iter().all(|f| f[i] == *address), "label set {i}");
            let counter = family.get(&path(i));
            assert_eq!(std::ptr::from_ref(counter) as usize, *address);
            assert_eq!(counter.get(), THREADS as u64, "label set {i}");
        }
    }
}
