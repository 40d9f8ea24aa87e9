use super::{Metric, MetricConfig, MetricKind, Series};
use crate::Counter;
use crate::encoding::FamilyEncoder;
use crate::labels::{LabelSet, LabelSetEncoder, encode_label_set};
use std::hash::BuildHasher;
use std::sync::{OnceLock, PoisonError, RwLock};

/// A labelled family: one series of `M` per label set `L`.
///
/// When every label of `L` is closed (enums, `bool`), [`get`](Self::get) is an index into an
/// array of slots, one per label combination: no hashing, no lock. A slot's series is created
/// the first time it is touched, and only touched series are served, so a family over
/// `{method, status, cached}` does not export all its combinations from the first scrape. Give
/// the field `#[metric(preinit)]` to create and serve every combination at zero from the start,
/// as Prometheus advises for the label values a dashboard or alert expects to see.
///
/// Other label sets are looked up in a map under a read lock; a new label set takes the write
/// lock once. Series live as long as the family, so the `&M` returned can be kept.
///
/// Open label sets are limited (`#[metric(max_series = N)]`, default 10,000, see
/// [`set_default_max_series`](crate::set_default_max_series)): past the limit, `get` returns a
/// series that is never served, `promexport_series_rejected_total{family}` counts the refusal,
/// and memory stays bounded whatever label values clients send. A refusal takes only the read
/// lock, so a flood of new label values does not stall the updates of existing series.
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
/// assert_eq!(calls.len(), 1, "`Error` is not served until touched");
///
/// let preinit = MetricConfig { preinit: true, ..MetricConfig::DEFAULT };
/// let calls: Family<CallLabels, Counter> = Family::new(&preinit);
/// assert_eq!(calls.len(), 2, "every outcome served at zero");
/// ```
pub struct Family<L: LabelSet, M: Series> {
    config: MetricConfig,
    storage: Storage<L, M>,
    /// How often the write lock was taken, for tests that a path does not take it.
    #[cfg(test)]
    write_locks: std::sync::atomic::AtomicUsize,
}

enum Storage<L, M> {
    /// The slots of a closed label set, at `LabelSet::index`, each filled when first touched.
    /// The series sits in its slot, not behind a pointer: a touched slot costs one more load
    /// than a plain array, and an untouched one the size of the series without its heap parts.
    Fixed(Box<[OnceLock<LabelledSeries<M>>]>),
    /// Series in creation order (boxed, so references survive growth) and their index by label set.
    Dynamic {
        series: RwLock<DynamicSeries<L, M>>,
        /// What label sets past the series limit record into: never served.
        overflow: M,
        /// This family's `promexport_series_rejected_total` series, found once, at the first
        /// refusal.
        rejected: OnceLock<&'static Counter>,
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
    /// An empty family whose series are built with `config` (e.g. histogram buckets); with
    /// `config.preinit`, a closed label set has every series created at zero.
    pub fn new(config: &MetricConfig) -> Self {
        let closed = L::CARDINALITY
            .filter(|n| *n > 0)
            .filter(|n| (0..*n).all(|i| L::from_index(i).is_some_and(|l| l.index() == i)));
        let storage = match closed {
            Some(cardinality) => {
                let slots: Box<[_]> = (0..cardinality).map(|_| OnceLock::new()).collect();
                if config.preinit {
                    for (index, slot) in slots.iter().enumerate() {
                        slot.get_or_init(|| Self::fixed_series(config, index, None));
                    }
                }
                Storage::Fixed(slots)
            }
            None => Storage::Dynamic {
                series: RwLock::new(DynamicSeries {
                    index: hashbrown::HashTable::new(),
                    hasher: foldhash::fast::RandomState::default(),
                    series: Vec::new(),
                    scratch: String::new(),
                }),
                overflow: M::new(config),
                rejected: OnceLock::new(),
            },
        };
        Family {
            config: *config,
            storage,
            #[cfg(test)]
            write_locks: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The series of `labels`, created at zero on first use.
    #[inline]
    pub fn get(&self, labels: &L) -> &M {
        match &self.storage {
            Storage::Fixed(slots) => {
                // `new` checked that `index` round-trips, and a closed label set has at least one
                // series; clamping only guards against a hand-written `index` beyond CARDINALITY.
                let index = labels.index().min(slots.len() - 1);
                let slot = &slots[index];
                match slot.get() {
                    Some(series) => &series.metric,
                    None => self.touch(slot, index, labels),
                }
            }
            Storage::Dynamic {
                series,
                overflow,
                rejected,
            } => {
                {
                    let dynamic = series.read().unwrap_or_else(PoisonError::into_inner);
                    if let Some(metric) = Self::lookup(&dynamic, labels) {
                        return metric;
                    }
                    // Refused under the read lock: at the limit, new label sets would queue
                    // every reader of the family behind the write lock.
                    if dynamic.series.len() >= self.limit() {
                        drop(dynamic);
                        self.count_rejection(rejected);
                        return overflow;
                    }
                }
                self.insert(series, rejected, labels).unwrap_or(overflow)
            }
        }
    }

    /// Fills the slot at `index` of a closed label set, the first time it is touched.
    #[cold]
    #[inline(never)]
    fn touch<'a>(&self, slot: &'a OnceLock<LabelledSeries<M>>, index: usize, labels: &L) -> &'a M {
        &slot
            .get_or_init(|| Self::fixed_series(&self.config, index, Some(labels)))
            .metric
    }

    /// The series at `index` of a closed label set, labelled from `index` (`touched` is only
    /// a fallback, should a hand-written `from_index` refuse the index it round-tripped in `new`).
    fn fixed_series(config: &MetricConfig, index: usize, touched: Option<&L>) -> LabelledSeries<M> {
        let labels = match (L::from_index(index), touched) {
            (Some(labels), _) => encode_label_set(&labels),
            (None, Some(labels)) => encode_label_set(labels),
            (None, None) => String::new(),
        };
        LabelledSeries {
            labels: labels.into_boxed_str(),
            metric: M::new(config),
        }
    }

    fn limit(&self) -> usize {
        self.config
            .max_series
            .unwrap_or_else(super::default_max_series)
    }

    /// Counts one refused label set, in a counter found once per family.
    fn count_rejection(&self, rejected: &OnceLock<&'static Counter>) {
        let counter = rejected.get_or_init(|| {
            SeriesGuardMetrics::global()
                .series_rejected
                .get_unlimited(&RejectedLabels {
                    family: self.config.name,
                })
        });
        counter.inc();
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
    fn insert<'a>(
        &'a self,
        lock: &'a RwLock<DynamicSeries<L, M>>,
        rejected: &OnceLock<&'static Counter>,
        labels: &L,
    ) -> Option<&'a M> {
        if let Some(metric) = self.insert_within(lock, self.limit(), labels) {
            return Some(metric);
        }
        self.count_rejection(rejected);
        None
    }

    /// Creates the series of `labels` unless the family already holds `limit` series.
    fn insert_within<'a>(
        &'a self,
        lock: &'a RwLock<DynamicSeries<L, M>>,
        limit: usize,
        labels: &L,
    ) -> Option<&'a M> {
        let mut dynamic = lock.write().unwrap_or_else(PoisonError::into_inner);
        #[cfg(test)]
        self.write_locks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(metric) = Self::lookup(&dynamic, labels) {
            return Some(metric);
        }
        let position = dynamic.series.len();
        if position >= limit {
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

    /// The series of `labels`, whatever the limit: for the rejection counters themselves, one
    /// per family name, which must not refuse (and count) their own series.
    fn get_unlimited(&self, labels: &L) -> &M {
        match &self.storage {
            Storage::Fixed(_) => self.get(labels),
            Storage::Dynamic {
                series, overflow, ..
            } => {
                if let Some(metric) = Self::lookup(
                    &series.read().unwrap_or_else(PoisonError::into_inner),
                    labels,
                ) {
                    return metric;
                }
                self.insert_within(series, usize::MAX, labels)
                    .unwrap_or(overflow)
            }
        }
    }

    /// Number of series in the family (served ones: for a closed label set, those touched).
    pub fn len(&self) -> usize {
        match &self.storage {
            Storage::Fixed(slots) => slots.iter().filter(|slot| slot.get().is_some()).count(),
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

impl<L: LabelSet, M: Series> Family<L, M> {
    /// Calls `visit` with each series and its pre-escaped labels, in the order they are served.
    fn for_each_series(&self, visit: &mut dyn FnMut(&M, &str)) {
        match &self.storage {
            Storage::Fixed(slots) => {
                for series in slots.iter().filter_map(OnceLock::get) {
                    visit(&series.metric, &series.labels);
                }
            }
            Storage::Dynamic { series, .. } => {
                let dynamic = series.read().unwrap_or_else(PoisonError::into_inner);
                for keyed in &dynamic.series {
                    visit(&keyed.series.metric, &keyed.series.labels);
                }
            }
        }
    }
}

impl<L: LabelSet, M: Series> Metric for Family<L, M> {
    const KIND: MetricKind = M::KIND;
    const NATIVE: bool = M::NATIVE;
    const LABEL_NAMES: &'static [&'static str] = L::NAMES;
    const CLOSED_LABEL_SETS: Option<usize> = L::CARDINALITY;
    fn new(config: &MetricConfig) -> Self {
        Family::new(config)
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>) {
        self.for_each_series(&mut |metric, labels| metric.encode(family, labels));
        super::encode_trailing_gauges::<M>(family, |write| self.for_each_series(write));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, crate::LabelValue)]
    #[label(crate = crate)]
    enum Method {
        Get,
        Put,
        Delete,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash, crate::LabelSet)]
    #[label(crate = crate)]
    struct RouteLabels {
        method: Method,
        cached: bool,
    }

    fn write_locks<L: LabelSet, M: Series>(family: &Family<L, M>) -> usize {
        family
            .write_locks
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    #[test]
    fn a_refused_label_set_takes_no_write_lock_and_is_counted_in_the_family() {
        let family: Family<PathLabels, Counter> = Family::new(&MetricConfig {
            max_series: Some(2),
            name: "family_test_refusals",
            ..MetricConfig::DEFAULT
        });
        family.get(&path(0)).inc();
        family.get(&path(1)).inc();
        assert_eq!(write_locks(&family), 2, "one per new series");
        for i in 2..102 {
            family.get(&path(i)).inc();
            family.get(&path(0)).inc();
        }
        assert_eq!(write_locks(&family), 2, "refusals and hits only read");
        assert_eq!(family.len(), 2);
        assert_eq!(family.get(&path(0)).get(), 101);
        assert_eq!(family.get(&path(1)).get(), 1);
        let Storage::Dynamic { rejected, .. } = &family.storage else {
            unreachable!("open label set")
        };
        let counter = rejected.get().expect("found at the first refusal");
        assert_eq!(counter.get(), 100);
        let global = SeriesGuardMetrics::global()
            .series_rejected
            .get(&RejectedLabels {
                family: "family_test_refusals",
            });
        assert!(std::ptr::eq(*counter, global), "the exported series");
    }

    #[test]
    fn closed_label_sets_create_a_series_when_first_touched() {
        let family: Family<RouteLabels, Counter> = Family::default();
        assert!(family.is_empty(), "nothing served before use");
        let put = RouteLabels {
            method: Method::Put,
            cached: true,
        };
        let first = family.get(&put);
        first.inc();
        assert!(std::ptr::eq(first, family.get(&put.clone())));
        assert_eq!(family.len(), 1);
        let Storage::Fixed(slots) = &family.storage else {
            unreachable!("closed label set")
        };
        let touched: Vec<&str> = slots
            .iter()
            .filter_map(OnceLock::get)
            .map(|series| &*series.labels)
            .collect();
        assert_eq!(touched, [r#"method="put",cached="true""#]);
        assert_eq!(write_locks(&family), 0);
    }

    #[test]
    fn preinit_creates_every_combination_at_zero() {
        let family: Family<RouteLabels, Counter> = Family::new(&MetricConfig {
            preinit: true,
            ..MetricConfig::DEFAULT
        });
        assert_eq!(family.len(), 6, "3 methods x 2 booleans");
        let Storage::Fixed(slots) = &family.storage else {
            unreachable!("closed label set")
        };
        for (index, slot) in slots.iter().enumerate() {
            let labels = RouteLabels::from_index(index).unwrap();
            let series = slot.get().unwrap();
            assert_eq!(*series.labels, encode_label_set(&labels));
            assert!(std::ptr::eq(&series.metric, family.get(&labels)));
            assert_eq!(series.metric.get(), 0);
        }
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
