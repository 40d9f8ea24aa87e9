use super::refcounted::{Refcounted, Unowned};
use super::{Metric, MetricConfig, MetricKind, Series};
use crate::Counter;
use crate::encoding::{FamilyEncoder, Format, PairLayout};
use crate::labels::{BorrowedLabels, LabelSet, LabelSetEncoder, encode_label_set_and_layout};
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// A labelled family: one series of `M` per label set `L`.
///
/// When every label of `L` is closed (enums, `bool`), [`get`](Self::get) is an index into an
/// array of slots, one per label combination: no hashing, no lock. A slot's series is created
/// the first time it is touched, and only touched series are served, so a family over
/// `{method, status, cached}` does not export all its combinations from the first scrape. Give
/// the field `#[metric(preinit)]` to create and serve every combination at zero from the start,
/// as Prometheus advises for the label values a dashboard or alert expects to see.
///
/// Other label sets are looked up in a hash table under a read lock; a new label set takes the
/// write lock once. A scrape holds the read lock only while it copies the table's series
/// pointers, not while it encodes them (nor while it looks for idle series, with idle expiry),
/// so updates and new label sets wait for the copy at most, not for the encoding.
/// [`get`](Self::get) accepts the label set or a borrowed form of it ([`BorrowedLabels`]), so
/// finding an existing series allocates nothing. They are served in the table's order, which is
/// no particular one (a list in creation order cost 12 bytes a series).
///
/// Open label sets are limited (`#[metric(max_series = N)]`, default 10,000, see
/// [`set_default_max_series`](crate::set_default_max_series)): past the limit, `get` returns a
/// series that is never served, `promexport_series_rejected_total{family}` counts the refusal,
/// and memory stays bounded whatever label values clients send. A refusal takes only the read
/// lock, so a flood of new label values does not stall the updates of existing series.
///
/// # Series that come and go
///
/// [`remove`](Self::remove), [`retain`](Self::retain) and [`clear`](Self::clear) drop series,
/// and [`expire_after`](Self::expire_after) (`#[metric(expire_after = "10m")]`) drops those a
/// scrape finds unused for that long. The limit counts live series, so a family over pods or
/// tenants that come and go keeps room for new ones.
///
/// A series of an open label set is reference-counted: the [`SeriesHandle`] that `get` returns
/// keeps it alive, so a handle kept past a removal stays valid, but its series is no longer
/// served and its updates are lost. Getting the same labels again creates a fresh series at
/// zero. A series of a closed label set lives in its slot for as long as the family: removing
/// it only stops serving it, and when touched again it is served again *with its value*
/// (counters stay monotonic, so Prometheus sees no reset).
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
    Fixed(Box<[FixedSlot<M>]>),
    /// Reference-counted series, found by label set in a hash table.
    Dynamic {
        table: RwLock<Table<L, M>>,
        /// What label sets past the series limit record into: never served.
        overflow: M,
        /// This family's `promexport_series_rejected_total` series, found once, at the first
        /// refusal.
        rejected: OnceLock<SeriesHandle<'static, RejectedLabels, Counter>>,
    },
}

struct FixedSlot<M> {
    series: OnceLock<LabelledSeries<M>>,
    /// Served: set when touched, cleared by `remove`. The series stays in its slot either way,
    /// so the `&M` of a closed label set lives as long as the family.
    live: AtomicBool,
}

struct LabelledSeries<M> {
    /// Pre-escaped `name="value",...` text.
    labels: Box<str>,
    pair_layout: PairLayout,
    metric: M,
}

struct Table<L, M> {
    /// The series by the hash of their label set, in the order they are served: one pointer a
    /// slot, where a table of label sets took 56 bytes a slot (the table keeps an eighth of its
    /// slots free, and doubles).
    index: hashbrown::HashTable<Refcounted<Entry<L, M>>>,
    /// foldhash: several times faster than SipHash on short label text, and randomly seeded
    /// per process, so label values chosen by clients cannot be made to collide on purpose.
    hasher: foldhash::fast::RandomState,
    /// Where a new series' label text is written, so the text is allocated once, at its size.
    scratch: String,
    /// Idle expiry: the scrape count, stamped on each series when it is looked up. Advanced by
    /// a scrape under the read lock (and `scrapes`' lock), so lookups do not wait for it.
    epoch: AtomicU32,
    /// Idle expiry: when recent scrapes started, oldest first, back to the last one more than
    /// `expire_after` ago. Only scrapes use it.
    scrapes: Mutex<VecDeque<(u32, Instant)>>,
    /// Scrapes encoding from a [`Snapshot`] of the series right now: raised and lowered under
    /// the read lock, read under the write lock.
    snapshots: AtomicUsize,
    /// Series removed while a snapshot was out: kept until the last snapshot is done, since
    /// snapshots point to their series without holding a reference.
    removed_while_encoding: Vec<Refcounted<Entry<L, M>>>,
}

impl<L, M> Table<L, M> {
    /// Lets go of a series the table no longer holds, or keeps it for the snapshots out.
    fn release(&mut self, entry: Refcounted<Entry<L, M>>) {
        if *self.snapshots.get_mut() > 0 {
            self.removed_while_encoding.push(entry);
        }
    }

    /// Records the start of a scrape of a family with idle expiry, at `now`, and advances the
    /// epoch; returns the epoch before which a series is idle for longer than `idle`, if a scrape
    /// recorded started long enough ago.
    fn start_scrape(&self, idle: Duration, now: Instant) -> Option<u32> {
        let mut scrapes = self.scrapes.lock().unwrap_or_else(PoisonError::into_inner);
        // Only scrapes write the epoch, under this lock: racing scrapes number their starts
        // in the order they record them, and never in decreasing time.
        let epoch = self.epoch.load(Ordering::Relaxed).saturating_add(1);
        self.epoch.store(epoch, Ordering::Relaxed);
        let now = scrapes.back().map_or(now, |&(_, last)| now.max(last));
        scrapes.push_back((epoch, now));
        let cutoff = now.checked_sub(idle)?;
        // Keep the latest scrape that started before the cutoff, and the ones after it.
        while scrapes.get(1).is_some_and(|(_, start)| *start <= cutoff) {
            scrapes.pop_front();
        }
        let &(stale_before, start) = scrapes.front()?;
        (start <= cutoff).then_some(stale_before)
    }

    /// Gives back what the table no longer needs after a burst of removals (it held `before`
    /// series).
    fn shrink_after_removal(&mut self, before: usize)
    where
        L: LabelSet,
    {
        if self.index.len() < before && self.index.len() < self.index.capacity() / 4 {
            let hasher = &self.hasher;
            self.index
                .shrink_to_fit(|entry| hasher.hash_one(&entry.key));
        }
    }
}

/// One series of an open label set, shared by the family and the handles to it; its
/// pre-escaped `name="value",...` text is the `Refcounted`'s, in the same block.
struct Entry<L, M> {
    key: L,
    metric: M,
}

/// The `Table::epoch` of the last lookup of a series: it was last used after that scrape
/// started and before the next one did. Kept next to the reference count, in what would be
/// padding.
fn last_used<L, M>(entry: &Refcounted<Entry<L, M>>) -> &AtomicU32 {
    Refcounted::spare(entry)
}

/// The family's table holds one reference to each live series.
const TABLE_REFERENCES: usize = 1;

/// Whether a series was last looked up before the scrape numbered `stale_before` started, and
/// no handle holds it. Exact under the write lock: without it, a lookup may use the series
/// right after. (A lookup stamps the epoch it reads, at least `stale_before`: the scrape that
/// advanced it to `stale_before` did so more than `idle` earlier, in a read section before the
/// lookup's.)
fn is_idle<L, M>(entry: &Refcounted<Entry<L, M>>, stale_before: u32) -> bool {
    last_used(entry).load(Ordering::Relaxed) < stale_before
        && Refcounted::count(entry) == TABLE_REFERENCES
}

/// A series of a [`Family`], as [`Family::get`] returns it: use it as the metric (`Deref`).
///
/// A series of an open label set is shared: the handle keeps it alive after it is removed or
/// expired (its updates are then not served), and a series held by a handle is never expired.
/// Getting a handle and dropping it costs two uncontended atomic operations on the series' own
/// cache line, the one its update writes anyway; [`Family::with`] updates a series without
/// one.
pub struct SeriesHandle<'a, L, M> {
    series: Handle<'a, L, M>,
}

enum Handle<'a, L, M> {
    /// A closed label set's slot, or the overflow series: they live as long as the family.
    Borrowed(&'a M),
    Shared(Refcounted<Entry<L, M>>),
}

impl<L, M> std::ops::Deref for SeriesHandle<'_, L, M> {
    type Target = M;
    #[inline]
    fn deref(&self) -> &M {
        match &self.series {
            Handle::Borrowed(metric) => metric,
            Handle::Shared(entry) => &entry.metric,
        }
    }
}

impl<L, M> Clone for SeriesHandle<'_, L, M> {
    fn clone(&self) -> Self {
        let series = match &self.series {
            Handle::Borrowed(metric) => Handle::Borrowed(*metric),
            Handle::Shared(entry) => Handle::Shared(Refcounted::clone(entry)),
        };
        SeriesHandle { series }
    }
}

impl<L, M: std::fmt::Debug> std::fmt::Debug for SeriesHandle<'_, L, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl<'a, L, M> SeriesHandle<'a, L, M> {
    fn borrowed(metric: &'a M) -> Self {
        SeriesHandle {
            series: Handle::Borrowed(metric),
        }
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
                let slots: Box<[_]> = (0..cardinality)
                    .map(|_| FixedSlot {
                        series: OnceLock::new(),
                        live: AtomicBool::new(false),
                    })
                    .collect();
                if config.preinit {
                    for (index, slot) in slots.iter().enumerate() {
                        slot.series
                            .get_or_init(|| Self::fixed_series(config, index, None));
                        slot.live.store(true, Ordering::Relaxed);
                    }
                }
                Storage::Fixed(slots)
            }
            None => Storage::Dynamic {
                table: RwLock::new(Table {
                    index: hashbrown::HashTable::new(),
                    hasher: foldhash::fast::RandomState::default(),
                    scratch: String::new(),
                    epoch: AtomicU32::new(0),
                    scrapes: Mutex::new(VecDeque::new()),
                    snapshots: AtomicUsize::new(0),
                    removed_while_encoding: Vec::new(),
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

    /// This family, dropping each series of an open label set that no scrape has seen used
    /// for `idle` (what `#[metric(expire_after = "...")]` sets).
    ///
    /// A series is used when [`get`](Self::get) finds it, and while a [`SeriesHandle`] to it is
    /// held: a handle kept and updated for hours keeps its series. The check runs when the
    /// family is scraped, so the hot path reads no clock: `get` stamps the series with the
    /// number of the current scrape (a load and, once per scrape interval, a store), and a scrape
    /// drops the series last stamped before the last scrape that started more than `idle` ago.
    /// A series is thus dropped between `idle` and `idle` plus one scrape interval after its last
    /// use. A family that is never scraped expires nothing. Closed label sets do not expire.
    ///
    /// The scrape looks for idle series in the pointers it copied to encode, without the
    /// family's lock, so writers do not wait for the scan of a large family. It takes the write
    /// lock only when it found some, to remove those still idle then: a series used between the
    /// scan and the removal stays, with its update.
    ///
    /// ```
    /// use promexport::{Counter, Family, LabelSet};
    /// use std::time::Duration;
    ///
    /// #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
    /// struct PeerLabels { peer: String }
    ///
    /// let sent: Family<PeerLabels, Counter> =
    ///     Family::default().expire_after(Duration::from_secs(600));
    /// sent.get(&PeerLabels { peer: "10.0.0.7:9000".into() }).inc();
    /// assert_eq!(sent.len(), 1);
    /// ```
    #[must_use]
    pub fn expire_after(mut self, idle: Duration) -> Self {
        self.config.expire_after = Some(idle);
        self
    }

    /// The series of `labels`, created at zero on first use. `labels` is the label set or a
    /// borrowed form of it ([`BorrowedLabels`]), which is only made owned for a new series.
    #[inline]
    pub fn get<Q: BorrowedLabels<L> + ?Sized>(&self, labels: &Q) -> SeriesHandle<'_, L, M> {
        match &self.storage {
            Storage::Fixed(slots) => {
                let index = Self::slot_index(slots, labels);
                let slot = &slots[index];
                match slot.series.get() {
                    Some(series) if slot.live.load(Ordering::Relaxed) => {
                        SeriesHandle::borrowed(&series.metric)
                    }
                    _ => self.touch(slot, index, labels),
                }
            }
            Storage::Dynamic {
                table,
                overflow,
                rejected,
            } => {
                {
                    let table = read(table);
                    if let Some(series) = Self::lookup(&table, labels) {
                        return series;
                    }
                    // Refused under the read lock: at the limit, new label sets would queue
                    // every reader of the family behind the write lock.
                    if table.index.len() >= self.limit() {
                        drop(table);
                        self.count_rejection(rejected);
                        return SeriesHandle::borrowed(overflow);
                    }
                }
                self.insert(table, rejected, labels)
                    .unwrap_or_else(|| SeriesHandle::borrowed(overflow))
            }
        }
    }

    /// Calls `update` with the series of `labels` (created at zero on first use) and returns
    /// what it returns: the way to update a series without keeping it.
    ///
    /// For an open label set this is cheaper than [`get`](Self::get): `update` runs under the
    /// family's read lock, which keeps the series alive, so no [`SeriesHandle`] is made (two
    /// atomic read-modify-writes fewer). Keep `update` to the update, and do not use this
    /// family from it: a writer waiting for the lock (a new label set, a removal) would
    /// deadlock the nested call. For a closed label set it is the same as `get`.
    ///
    /// ```
    /// use promexport::{Counter, Family, LabelSet};
    ///
    /// #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
    /// struct PathLabels { path: String }
    ///
    /// let hits: Family<PathLabels, Counter> = Family::default();
    /// let labels = PathLabels { path: "/api/items".into() };
    /// hits.with(&labels, |hits| hits.inc());
    /// assert_eq!(hits.with(&labels, |hits| hits.get()), 1);
    /// ```
    #[inline]
    pub fn with<Q: BorrowedLabels<L> + ?Sized, R>(
        &self,
        labels: &Q,
        update: impl FnOnce(&M) -> R,
    ) -> R {
        if let Storage::Dynamic { table, .. } = &self.storage {
            let table = read(table);
            if let Some(entry) = Self::find(&table, labels) {
                return update(&entry.metric);
            }
        }
        update(&self.get(labels))
    }

    /// The slot of `labels` in a closed label set.
    #[inline]
    fn slot_index<Q: BorrowedLabels<L> + ?Sized>(slots: &[FixedSlot<M>], labels: &Q) -> usize {
        // `new` checked that `index` round-trips, and a closed label set has at least one
        // series; clamping only guards against a hand-written `index` beyond CARDINALITY.
        labels.to_label_set().index().min(slots.len() - 1)
    }

    /// Fills (or serves again) the slot at `index` of a closed label set.
    #[cold]
    #[inline(never)]
    fn touch<'a, Q: BorrowedLabels<L> + ?Sized>(
        &self,
        slot: &'a FixedSlot<M>,
        index: usize,
        labels: &Q,
    ) -> SeriesHandle<'a, L, M> {
        let series = slot
            .series
            .get_or_init(|| Self::fixed_series(&self.config, index, Some(&labels.to_label_set())));
        slot.live.store(true, Ordering::Relaxed);
        SeriesHandle::borrowed(&series.metric)
    }

    /// The series at `index` of a closed label set, labelled from `index` (`touched` is only
    /// a fallback, should a hand-written `from_index` refuse the index it round-tripped in `new`).
    fn fixed_series(config: &MetricConfig, index: usize, touched: Option<&L>) -> LabelledSeries<M> {
        let (labels, pair_layout) = match (L::from_index(index), touched) {
            (Some(labels), _) => encode_label_set_and_layout(&labels),
            (None, Some(labels)) => encode_label_set_and_layout(labels),
            (None, None) => (String::new(), PairLayout::UNKNOWN),
        };
        LabelledSeries {
            pair_layout,
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
    fn count_rejection(&self, rejected: &OnceLock<SeriesHandle<'static, RejectedLabels, Counter>>) {
        let counter = rejected.get_or_init(|| {
            SeriesGuardMetrics::global()
                .series_rejected
                .get_unlimited(&RejectedLabels {
                    family: self.config.name,
                })
        });
        counter.inc();
    }

    /// The series of `labels`, stamped as used.
    #[inline]
    fn find<'t, Q: BorrowedLabels<L> + ?Sized>(
        table: &'t Table<L, M>,
        labels: &Q,
    ) -> Option<&'t Refcounted<Entry<L, M>>> {
        let hash = table.hasher.hash_one(labels);
        let entry = table.index.find(hash, |entry| labels.matches(&entry.key))?;
        // Without expiry the epoch stays 0, as every stamp does: two loads, never a store.
        let epoch = table.epoch.load(Ordering::Relaxed);
        let stamp = last_used(entry);
        if stamp.load(Ordering::Relaxed) != epoch {
            stamp.store(epoch, Ordering::Relaxed);
        }
        Some(entry)
    }

    #[inline]
    fn lookup<'a, Q: BorrowedLabels<L> + ?Sized>(
        table: &Table<L, M>,
        labels: &Q,
    ) -> Option<SeriesHandle<'a, L, M>> {
        Self::find(table, labels).map(|entry| SeriesHandle {
            series: Handle::Shared(Refcounted::clone(entry)),
        })
    }

    /// Creates the series of `labels`, or `None` past the series limit (counted in
    /// `promexport_series_rejected_total{family}`).
    #[cold]
    fn insert<Q: BorrowedLabels<L> + ?Sized>(
        &self,
        table: &RwLock<Table<L, M>>,
        rejected: &OnceLock<SeriesHandle<'static, RejectedLabels, Counter>>,
        labels: &Q,
    ) -> Option<SeriesHandle<'static, L, M>> {
        if let Some(series) = self.insert_within(table, self.limit(), labels) {
            return Some(series);
        }
        self.count_rejection(rejected);
        None
    }

    /// Creates the series of `labels` unless the family already holds `limit` series.
    fn insert_within<Q: BorrowedLabels<L> + ?Sized>(
        &self,
        table: &RwLock<Table<L, M>>,
        limit: usize,
        labels: &Q,
    ) -> Option<SeriesHandle<'static, L, M>> {
        let mut table = self.write(table);
        let owned = labels.to_label_set().into_owned();
        // Found again by the owned label set: should a borrowed form hash differently, it is
        // slow (each lookup ends here) but never creates a second series for the same labels.
        let hash = table.hasher.hash_one(&owned);
        if let Some(entry) = table.index.find(hash, |entry| entry.key == owned) {
            return Some(SeriesHandle {
                series: Handle::Shared(Refcounted::clone(entry)),
            });
        }
        if table.index.len() >= limit {
            return None;
        }
        let table = &mut *table;
        table.scratch.clear();
        let mut encoder = LabelSetEncoder::new(&mut table.scratch);
        owned.encode(&mut encoder);
        let layout = encoder.layout();
        // `None` only for label text of 4 GiB or more: refused, as past the limit.
        let entry = Refcounted::new(
            Entry {
                metric: M::new(&self.config),
                key: owned,
            },
            *table.epoch.get_mut(),
            &table.scratch,
            layout,
        )?;
        let hasher = &table.hasher;
        table
            .index
            .insert_unique(hash, Refcounted::clone(&entry), |entry| {
                hasher.hash_one(&entry.key)
            });
        Some(SeriesHandle {
            series: Handle::Shared(entry),
        })
    }

    /// The series of `labels`, whatever the limit: for the rejection counters themselves, one
    /// per family name, which must not refuse (and count) their own series. Only label text
    /// of 4 GiB or more gets the overflow series.
    fn get_unlimited(&'static self, labels: &L) -> SeriesHandle<'static, L, M> {
        match &self.storage {
            Storage::Fixed(_) => unreachable!("the rejection counters have an open label set"),
            Storage::Dynamic {
                table, overflow, ..
            } => {
                if let Some(series) = Self::lookup(&read(table), labels) {
                    return series;
                }
                self.insert_within(table, usize::MAX, labels)
                    .unwrap_or_else(|| SeriesHandle::borrowed(overflow))
            }
        }
    }

    /// Removes the series of `labels`; whether it was served. A [`SeriesHandle`] to it stays
    /// valid, but its updates are no longer served, and getting `labels` again starts a fresh
    /// series at zero. For a closed label set, the series is served again when next touched,
    /// with its value.
    ///
    /// ```
    /// use promexport::{Gauge, Family, LabelSet};
    ///
    /// #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
    /// struct PodLabels { pod: String }
    ///
    /// let ready: Family<PodLabels, Gauge> = Family::default();
    /// let pod = PodLabels { pod: "web-7f9c".into() };
    /// ready.get(&pod).set(1);
    /// assert!(ready.remove(&pod), "the pod went away");
    /// assert!(!ready.remove(&pod));
    /// assert_eq!(ready.len(), 0);
    /// assert_eq!(ready.get(&pod).get(), 0, "a fresh series");
    /// ```
    pub fn remove<Q: BorrowedLabels<L> + ?Sized>(&self, labels: &Q) -> bool {
        match &self.storage {
            Storage::Fixed(slots) => slots[Self::slot_index(slots, labels)]
                .live
                .swap(false, Ordering::Relaxed),
            Storage::Dynamic { table, .. } => {
                let mut table = self.write(table);
                let hash = table.hasher.hash_one(labels);
                if let Ok(found) = table
                    .index
                    .find_entry(hash, |entry| labels.matches(&entry.key))
                {
                    let entry = found.remove().0;
                    table.release(entry);
                    return true;
                }
                // A borrowed form that hashes unlike its label set is found by the owned one.
                let owned = labels.to_label_set();
                let hash = table.hasher.hash_one(&*owned);
                match table.index.find_entry(hash, |entry| entry.key == *owned) {
                    Ok(found) => {
                        let entry = found.remove().0;
                        table.release(entry);
                        true
                    }
                    Err(_) => false,
                }
            }
        }
    }

    /// Keeps only the series whose label set `keep` accepts.
    ///
    /// ```
    /// use promexport::{Counter, Family, LabelSet};
    ///
    /// #[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
    /// struct JobLabels { tenant: String, job: String }
    ///
    /// let runs: Family<JobLabels, Counter> = Family::default();
    /// for (tenant, job) in [("acme", "backup"), ("acme", "report"), ("initech", "backup")] {
    ///     runs.get(&JobLabels { tenant: tenant.into(), job: job.into() }).inc();
    /// }
    /// runs.retain(|labels| labels.tenant != "acme"); // the tenant left
    /// assert_eq!(runs.len(), 1);
    /// ```
    pub fn retain(&self, mut keep: impl FnMut(&L) -> bool) {
        match &self.storage {
            Storage::Fixed(slots) => {
                for (index, slot) in slots.iter().enumerate() {
                    if slot.live.load(Ordering::Relaxed)
                        && L::from_index(index).is_some_and(|labels| !keep(&labels))
                    {
                        slot.live.store(false, Ordering::Relaxed);
                    }
                }
            }
            Storage::Dynamic { table, .. } => {
                let mut table = self.write(table);
                Self::retain_entries(&mut table, |entry| keep(&entry.key));
            }
        }
    }

    /// Removes every series (see [`remove`](Self::remove)). The family's table is freed too,
    /// so a family emptied after a burst of label sets returns its memory.
    pub fn clear(&self) {
        match &self.storage {
            Storage::Fixed(slots) => {
                for slot in slots {
                    slot.live.store(false, Ordering::Relaxed);
                }
            }
            Storage::Dynamic { table, .. } => {
                let mut table = self.write(table);
                let removed = std::mem::replace(&mut table.index, hashbrown::HashTable::new());
                table.scratch = String::new();
                if *table.snapshots.get_mut() > 0 {
                    table.removed_while_encoding.extend(removed);
                } else {
                    // Freed after the lock is released.
                    drop(table);
                    drop(removed);
                }
            }
        }
    }

    /// Drops the series `keep` refuses.
    fn retain_entries(
        table: &mut Table<L, M>,
        mut keep: impl FnMut(&mut Refcounted<Entry<L, M>>) -> bool,
    ) {
        let before = table.index.len();
        if *table.snapshots.get_mut() == 0 {
            table.index.retain(keep);
        } else {
            let removed = table.index.extract_if(|entry| !keep(entry));
            table.removed_while_encoding.extend(removed);
        }
        table.shrink_after_removal(before);
    }

    /// Starts a scrape of a family with idle expiry: advances the epoch, and drops the series
    /// of `snapshot` idle for longer than `idle` (from the family, and from the snapshot, which
    /// then does not serve them).
    ///
    /// The series are scanned from the snapshot, without the lock, so no writer waits for the
    /// scan of a large family. The write lock is taken only when some series look idle, and
    /// only to remove those still idle under it: a series used since the scan is stamped (or
    /// held), and stays.
    fn expire_idle(&self, snapshot: &mut Snapshot<'_, L, M>, idle: Duration, now: Instant) {
        let Some(stale_before) = read(snapshot.table).start_scrape(idle, now) else {
            return;
        };
        let idle_series = snapshot.idle_series(stale_before);
        if !idle_series.is_empty() {
            self.remove_idle(snapshot, idle_series, stale_before);
        }
    }

    /// Removes the series of `snapshot` at `idle_series` (in increasing order) that are still
    /// idle, from the family and from the snapshot.
    fn remove_idle(
        &self,
        snapshot: &mut Snapshot<'_, L, M>,
        idle_series: Vec<usize>,
        stale_before: u32,
    ) {
        let mut expired = Vec::with_capacity(idle_series.len());
        let mut freed = Vec::new();
        {
            let mut table = self.write(snapshot.table);
            let table = &mut *table;
            // Other scrapes out may be encoding these series: kept for them, as any removal.
            let encoded_elsewhere = *table.snapshots.get_mut() > 1;
            let before = table.index.len();
            for position in idle_series {
                let entry = snapshot.entry(position);
                let hash = table.hasher.hash_one(&entry.key);
                // Not found: removed since the snapshot was taken.
                let Ok(found) = table
                    .index
                    .find_entry(hash, |other| Refcounted::ptr_eq(other, entry))
                else {
                    continue;
                };
                if !is_idle(found.get(), stale_before) {
                    continue;
                }
                let removed = found.remove().0;
                if encoded_elsewhere {
                    table.removed_while_encoding.push(removed);
                } else {
                    freed.push(removed);
                }
                expired.push(position);
            }
            table.shrink_after_removal(before);
        }
        // Out of the snapshot too, the others moved down over them in runs (`expired` is in
        // increasing order, as `idle_series` was): a `retain` cost 24 instructions a series.
        let series = &mut snapshot.series;
        if let Some(&first) = expired.first() {
            let mut kept = first;
            for (i, &gone) in expired.iter().enumerate() {
                let next = expired.get(i + 1).copied().unwrap_or(series.len());
                series.copy_within(gone + 1..next, kept);
                kept += next - gone - 1;
            }
            series.truncate(kept);
        }
        // Freed after the lock is released, and once the snapshot no longer points to them.
        drop(freed);
    }

    fn write<'a>(&self, table: &'a RwLock<Table<L, M>>) -> RwLockWriteGuard<'a, Table<L, M>> {
        #[cfg(test)]
        self.write_locks.fetch_add(1, Ordering::Relaxed);
        table.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of series in the family (served ones: for a closed label set, those touched).
    pub fn len(&self) -> usize {
        match &self.storage {
            Storage::Fixed(slots) => slots
                .iter()
                .filter(|slot| slot.live.load(Ordering::Relaxed))
                .count(),
            Storage::Dynamic { table, .. } => read(table).index.len(),
        }
    }

    /// Whether the family has no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
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

/// The series of an open label set as a scrape found them, so that it encodes them without
/// holding the family's lock: a writer waits for the copy at most (a new label set waited for
/// the write lock for the whole encoding, and every update queued behind it).
///
/// It holds pointers, not references: a reference each would cost an atomic read-modify-write
/// on every series' cache line under the lock, where the pointers are copied from the table
/// alone. The family keeps what it removes while a snapshot is out (`removed_while_encoding`),
/// and frees it when the last snapshot is done.
struct Snapshot<'a, L: LabelSet, M: Series> {
    family: &'a Family<L, M>,
    table: &'a RwLock<Table<L, M>>,
    series: Vec<Unowned<Entry<L, M>>>,
}

impl<'a, L: LabelSet, M: Series> Snapshot<'a, L, M> {
    fn take(family: &'a Family<L, M>, table: &'a RwLock<Table<L, M>>) -> Self {
        // Allocated before the lock is taken, with room for some growth meanwhile: the copy
        // under the lock is then all the lock waits for.
        let expected = read(table).index.len();
        let mut series = Vec::with_capacity(expected + expected / 16);
        let guard = read(table);
        // Raised under the read lock: a removal (under the write lock) sees it, and keeps what
        // it removes for this snapshot.
        guard.snapshots.fetch_add(1, Ordering::Relaxed);
        series.extend(guard.index.iter().map(Refcounted::unowned));
        drop(guard);
        Snapshot {
            family,
            table,
            series,
        }
    }

    /// The series at `position`.
    fn entry(&self, position: usize) -> &Refcounted<Entry<L, M>> {
        // SAFETY: the series was in the table when the snapshot was taken, under the read
        // lock; since then, whatever removed it from the table (under the write lock, which
        // saw `snapshots` raised) moved its reference into `removed_while_encoding`, which is
        // kept until this snapshot is dropped, or (`remove_idle`, with no other snapshot out)
        // took it out of this snapshot before freeing it. So a reference to it is held for as
        // long as the snapshot's borrow.
        unsafe { self.series[position].get() }
    }

    fn entries(&self) -> impl Iterator<Item = &Refcounted<Entry<L, M>>> {
        /// How many series ahead of the one read the next is asked for: about a memory
        /// latency of work at a series' hundred-odd nanoseconds.
        const PREFETCH_AHEAD: usize = 8;
        (0..self.series.len()).map(|position| {
            if let Some(ahead) = self.series.get(position + PREFETCH_AHEAD) {
                ahead.prefetch();
            }
            self.entry(position)
        })
    }

    /// The positions of the series idle since before the scrape numbered `stale_before`,
    /// in increasing order: read without the lock, so a writer may use one right after.
    fn idle_series(&self, stale_before: u32) -> Vec<usize> {
        self.entries()
            .enumerate()
            .filter(|(_, entry)| is_idle(entry, stale_before))
            .map(|(position, _)| position)
            .collect()
    }

    fn for_each(&self, visit: &mut dyn FnMut(&M, &str)) {
        for entry in self.entries() {
            visit(&entry.metric, Refcounted::text(entry));
        }
    }
}

impl<L: LabelSet, M: Series> Drop for Snapshot<'_, L, M> {
    fn drop(&mut self) {
        {
            let table = read(self.table);
            // Lowered under the read lock, as it was raised: a removal (under the write lock)
            // sees this snapshot either out or done. Nothing removed meanwhile (the usual case):
            // no write lock.
            let last = table.snapshots.fetch_sub(1, Ordering::Relaxed) == 1;
            if !last || table.removed_while_encoding.is_empty() {
                return;
            }
        }
        let removed = {
            let mut table = self.family.write(self.table);
            // A snapshot taken meanwhile may point to a series removed since: it frees them all
            // when it is done.
            if *table.snapshots.get_mut() == 0 {
                std::mem::take(&mut table.removed_while_encoding)
            } else {
                Vec::new()
            }
        };
        // Freed after the lock is released.
        drop(removed);
    }
}

impl<L: LabelSet, M: Series> Family<L, M> {
    /// Each series of a closed label set, in the order they are served.
    fn fixed_series_served(slots: &[FixedSlot<M>]) -> impl Iterator<Item = &LabelledSeries<M>> {
        slots
            .iter()
            .filter(|slot| slot.live.load(Ordering::Relaxed))
            .filter_map(|slot| slot.series.get())
    }

    /// Calls `visit` with each series of a closed label set and its pre-escaped labels, in the
    /// order they are served.
    fn for_each_fixed(slots: &[FixedSlot<M>], visit: &mut dyn FnMut(&M, &str)) {
        for series in Self::fixed_series_served(slots) {
            visit(&series.metric, &series.labels);
        }
    }
}

impl<L: LabelSet, M: Series> Metric for Family<L, M> {
    const KIND: MetricKind = M::KIND;
    const NATIVE: bool = M::NATIVE;
    const LABEL_NAMES: &'static [&'static str] = L::NAMES;
    const CLOSED_LABEL_SETS: Option<usize> = L::CARDINALITY;
    const OPEN_LABEL_SETS: bool = L::CARDINALITY.is_none();
    fn new(config: &MetricConfig) -> Self {
        Family::new(config)
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>) {
        match &self.storage {
            Storage::Fixed(slots) => {
                for series in Self::fixed_series_served(slots) {
                    family.with_pair_layout(&series.labels, series.pair_layout, |family| {
                        series.metric.encode(family, &series.labels);
                    });
                }
                super::encode_trailing_gauges::<M>(family, |write| {
                    Self::for_each_fixed(slots, write);
                });
            }
            Storage::Dynamic { table, .. } => {
                let mut snapshot = Snapshot::take(self, table);
                if let Some(idle) = self.config.expire_after {
                    self.expire_idle(&mut snapshot, idle, Instant::now());
                }
                // Only protobuf reads the layouts: the text formats' loop is left as it was.
                if family.format() == Format::Protobuf {
                    for entry in snapshot.entries() {
                        let labels = Refcounted::text(entry);
                        family.with_pair_layout(labels, Refcounted::pair_layout(entry), |family| {
                            entry.metric.encode(family, labels);
                        });
                    }
                } else {
                    snapshot.for_each(&mut |metric, labels| metric.encode(family, labels));
                }
                super::encode_trailing_gauges::<M>(family, |write| snapshot.for_each(write));
            }
        }
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
        let series: Vec<SeriesHandle<'_, PathLabels, Counter>> =
            (0..limit).map(|i| family.get(&path(i))).collect();
        first.inc();
        assert_eq!(family.len(), limit);
        for (i, counter) in series.iter().enumerate() {
            assert!(
                std::ptr::eq(&**counter, &*family.get(&path(i))),
                "series {i}"
            );
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
                .all(|counter| !std::ptr::eq(&**counter, &*past_limit))
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
        assert!(std::ptr::eq(&**counter, &*global), "the exported series");
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
        assert!(std::ptr::eq(&*first, &*family.get(&put.clone())));
        assert_eq!(family.len(), 1);
        let Storage::Fixed(slots) = &family.storage else {
            unreachable!("closed label set")
        };
        let touched: Vec<&str> = slots
            .iter()
            .filter(|slot| slot.live.load(Ordering::Relaxed))
            .filter_map(|slot| slot.series.get())
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
            let series = slot.series.get().unwrap();
            assert_eq!(*series.labels, crate::encode_label_set(&labels));
            assert_eq!(series.pair_layout, PairLayout::of(&series.labels));
            assert!(std::ptr::eq(&series.metric, &*family.get(&labels)));
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
                            found[i] = std::ptr::from_ref(&*counter) as usize;
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
            assert_eq!(std::ptr::from_ref(&*counter) as usize, *address);
            assert_eq!(counter.get(), THREADS as u64, "label set {i}");
        }
    }

    fn limited(limit: usize) -> Family<PathLabels, Counter> {
        Family::new(&MetricConfig {
            max_series: Some(limit),
            name: "family_test_lifecycle",
            ..MetricConfig::DEFAULT
        })
    }

    #[test]
    fn a_removed_series_held_by_a_handle_stays_valid_and_comes_back_fresh() {
        let family = limited(10);
        let held = family.get(&path(1));
        held.inc_by(5);
        assert!(family.remove(&path(1)));
        assert!(!family.remove(&path(1)), "already gone");
        assert_eq!(family.len(), 0);
        held.inc();
        assert_eq!(held.get(), 6, "the handle still counts, unserved");
        let fresh = family.get(&path(1));
        assert_eq!(fresh.get(), 0, "a new series starts at zero");
        assert!(!std::ptr::eq(&*fresh, &*held));
        assert_eq!(family.len(), 1);
    }

    #[test]
    fn the_series_limit_counts_live_series() {
        let family = limited(3);
        for i in 0..3 {
            family.get(&path(i)).inc();
        }
        family.get(&path(3)).inc();
        assert_eq!(family.len(), 3, "refused at the limit");
        assert!(family.remove(&path(0)));
        family.get(&path(3)).inc();
        assert_eq!(family.len(), 3, "room made by the removal");
        assert_eq!(family.get(&path(3)).get(), 1);
        family.clear();
        assert!(family.is_empty());
        for i in 10..13 {
            family.get(&path(i)).inc();
        }
        assert_eq!(family.len(), 3);
    }

    /// The label texts served, sorted.
    fn served<L: LabelSet, M: Series>(family: &Family<L, M>) -> Vec<String> {
        match &family.storage {
            Storage::Fixed(slots) => slots
                .iter()
                .filter(|slot| slot.live.load(Ordering::Relaxed))
                .filter_map(|slot| slot.series.get())
                .map(|series| series.labels.to_string())
                .collect(),
            Storage::Dynamic { table, .. } => {
                let mut served: Vec<String> = read(table)
                    .index
                    .iter()
                    .map(|entry| Refcounted::text(entry).to_string())
                    .collect();
                served.sort();
                served
            }
        }
    }

    #[test]
    fn remove_and_retain_leave_the_other_series_as_they_were() {
        let family = limited(10);
        for i in 0..6 {
            family.get(&path(i)).inc();
        }
        assert!(family.remove(&path(1)));
        let expected = [0, 2, 3, 4, 5].map(|i| format!(r#"path="/items/{i}""#));
        assert_eq!(served(&family), expected);
        family.retain(|labels| labels.path != "/items/5" && labels.path != "/items/3");
        let expected = [0, 2, 4].map(|i| format!(r#"path="/items/{i}""#));
        assert_eq!(served(&family), expected);
        assert!(family.remove(&path(2)));
        let expected = [0, 4].map(|i| format!(r#"path="/items/{i}""#));
        assert_eq!(served(&family), expected);
        assert_eq!(
            family.get(&path(4)).get(),
            1,
            "kept series keep their values"
        );
    }

    #[test]
    fn removing_a_closed_series_stops_serving_it_until_touched_again() {
        let family: Family<RouteLabels, Counter> = Family::default();
        let get = RouteLabels {
            method: Method::Get,
            cached: false,
        };
        let put = RouteLabels {
            method: Method::Put,
            cached: true,
        };
        family.get(&get).inc();
        family.get(&put).inc_by(2);
        assert!(family.remove(&get));
        assert!(!family.remove(&get));
        assert_eq!(served(&family), [r#"method="put",cached="true""#]);
        family.get(&get).inc();
        assert_eq!(family.len(), 2);
        assert_eq!(family.get(&get).get(), 2, "a closed series keeps its value");
        family.retain(|labels| labels.method != Method::Put);
        assert_eq!(served(&family), [r#"method="get",cached="false""#]);
        family.clear();
        assert!(family.is_empty());
        assert_eq!(write_locks(&family), 0, "closed sets take no lock");
    }

    /// A scrape of `family` started at `now`, as `encode` runs it: the label texts it serves,
    /// sorted.
    fn scrape_at(family: &Family<PathLabels, Counter>, now: Instant) -> Vec<String> {
        let Storage::Dynamic { table, .. } = &family.storage else {
            unreachable!("open label set")
        };
        let idle = family.config.expire_after.expect("idle expiry");
        let mut snapshot = Snapshot::take(family, table);
        family.expire_idle(&mut snapshot, idle, now);
        let mut served = Vec::new();
        snapshot.for_each(&mut |_, labels| served.push(labels.to_owned()));
        served.sort();
        served
    }

    #[test]
    fn idle_series_expire_at_a_scrape_unless_used_or_held() {
        let idle = Duration::from_secs(60);
        let family = limited(10).expire_after(idle);
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        family.get(&path(0)).inc();
        family.get(&path(1)).inc();
        let held = family.get(&path(2));
        scrape_at(&family, at(0));
        family.get(&path(1)).inc();
        scrape_at(&family, at(30));
        assert_eq!(family.len(), 3, "nothing idle for a minute yet");
        family.get(&path(1)).inc();
        scrape_at(&family, at(59));
        assert_eq!(family.len(), 3, "no scrape is a minute old yet");
        // Label set 0 was last used before the scrape at 0, more than a minute before 61;
        // label set 1 after the scrape at 30.
        let expected = [r#"path="/items/1""#, r#"path="/items/2""#];
        assert_eq!(
            scrape_at(&family, at(61)),
            expected,
            "the scrape that expires a series does not serve it"
        );
        assert_eq!(
            served(&family),
            expected,
            "the idle series is gone, the held one stays"
        );
        drop(held);
        assert!(scrape_at(&family, at(200)).is_empty());
        assert!(family.is_empty(), "all idle, none held");
        assert_eq!(family.get(&path(0)).get(), 0, "fresh after expiry");
    }

    /// The text exposition of `family`, through `Metric::encode` as a registry runs it.
    fn render(family: &Family<PathLabels, Counter>) -> String {
        let descriptor = crate::Descriptor {
            name: "family_test_render",
            help: "Rendered by a test.",
            unit: None,
            kind: MetricKind::Counter,
        };
        let mut out = Vec::new();
        let mut encoder = crate::Encoder::new(&mut out, crate::Format::Text);
        crate::__private::encode_metric(&mut encoder, &descriptor, "", family);
        encoder.finish();
        String::from_utf8(out).expect("text")
    }

    #[test]
    fn a_scrape_takes_the_write_lock_only_to_remove_the_idle_series() {
        // Expiring after no time at all, every series is idle at each scrape unless held, and
        // every scrape scans them all.
        let series = if cfg!(miri) { 20 } else { 1_000 };
        let family = limited(series).expire_after(Duration::ZERO);
        let held: Vec<_> = (0..series).map(|i| family.get(&path(i))).collect();
        let locks = write_locks(&family);
        let text = render(&family);
        assert_eq!(text.matches("family_test_render_total{").count(), series);
        assert_eq!(
            write_locks(&family) - locks,
            0,
            "nothing idle: the scan is all the scrape does, without the write lock"
        );
        let idle = [3, 17, series - 1];
        let held: Vec<_> = held
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !idle.contains(i))
            .collect();
        let locks = write_locks(&family);
        let text = render(&family);
        assert_eq!(write_locks(&family) - locks, 1, "once, to remove them");
        assert_eq!(family.len(), series - idle.len(), "exactly the idle ones");
        let kept: Vec<usize> = held.iter().map(|(i, _)| *i).collect();
        assert_eq!(served_paths(&text), kept, "each other series, once");
        let locks = write_locks(&family);
        render(&family);
        assert_eq!(write_locks(&family) - locks, 0, "none idle again");
        assert_eq!(family.len(), held.len());
        // Half idle, runs of them wherever the table put them.
        let held: Vec<_> = held.into_iter().filter(|(i, _)| i % 2 == 1).collect();
        let locks = write_locks(&family);
        let text = render(&family);
        assert_eq!(write_locks(&family) - locks, 1);
        let kept: Vec<usize> = held.iter().map(|(i, _)| *i).collect();
        assert_eq!(served_paths(&text), kept);
    }

    /// The `/items/{i}` of each series of `text`, sorted.
    fn served_paths(text: &str) -> Vec<usize> {
        let mut served: Vec<usize> = text
            .lines()
            .filter_map(|line| line.strip_prefix(r#"family_test_render_total{path="/items/"#))
            .map(|rest| rest.split('"').next().and_then(|i| i.parse().ok()))
            .collect::<Option<_>>()
            .expect("a path in each series");
        served.sort_unstable();
        served
    }

    #[test]
    fn a_series_used_between_the_scan_and_the_removal_stays() {
        let idle = Duration::from_secs(60);
        let family = limited(100).expire_after(idle);
        let Storage::Dynamic { table, .. } = &family.storage else {
            unreachable!("open label set")
        };
        for i in 0..6 {
            family.get(&path(i)).inc();
        }
        let start = Instant::now();
        scrape_at(&family, start);
        // The steps of `expire_idle`, with writers in between.
        let mut snapshot = Snapshot::take(&family, table);
        let stale_before = read(table)
            .start_scrape(idle, start + Duration::from_secs(61))
            .expect("a scrape a minute old");
        let locks = write_locks(&family);
        let idle_series = snapshot.idle_series(stale_before);
        assert_eq!(idle_series.len(), 6, "none used since the first scrape");
        family.with(&path(1), Counter::inc);
        family.get(&path(2)).inc();
        let held = family.get(&path(3));
        family.remove(&path(4));
        family.get(&path(10)).inc();
        assert_eq!(
            write_locks(&family) - locks,
            2,
            "the removal and the new series, none for the scan"
        );
        family.remove_idle(&mut snapshot, idle_series, stale_before);
        assert_eq!(write_locks(&family) - locks, 3, "one for the expiry");
        assert_eq!(
            served(&family),
            [1, 10, 2, 3].map(|i| format!(r#"path="/items/{i}""#)),
            "0 and 5 expired, 4 removed; the ones used meanwhile stay"
        );
        let mut encoded = Vec::new();
        snapshot.for_each(&mut |counter, labels| encoded.push((labels.to_owned(), counter.get())));
        encoded.sort();
        assert_eq!(
            encoded,
            [
                (r#"path="/items/1""#.to_owned(), 2),
                (r#"path="/items/2""#.to_owned(), 2),
                (r#"path="/items/3""#.to_owned(), 1),
                (r#"path="/items/4""#.to_owned(), 1),
            ],
            "the scrape serves what it found, less what it expired, with every update"
        );
        drop(snapshot);
        assert!(read(table).removed_while_encoding.is_empty(), "freed");
        held.inc();
        assert_eq!(family.get(&path(3)).get(), 2);
    }

    #[test]
    fn racing_scrapes_expire_series_while_writers_use_them() {
        // Scrapers expire what no thread used since they started (Miri checks that no series
        // a snapshot points to is freed, whichever scrape expires it) while writers update,
        // create, hold and remove series. A series held throughout never expires.
        const LABEL_SETS: u64 = 12;
        let steps = if cfg!(miri) { 30 } else { 5_000 };
        let family = limited(64).expire_after(Duration::ZERO);
        let held = family.get(&path(100));
        held.inc();
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..steps / 5 {
                        let served = scrape_at(&family, Instant::now());
                        let mut unique = served.clone();
                        unique.dedup();
                        assert_eq!(unique, served, "no series twice in one scrape");
                        assert!(served.contains(&r#"path="/items/100""#.to_owned()));
                    }
                });
            }
            for thread in 0..2u64 {
                let (family, held) = (&family, &held);
                scope.spawn(move || {
                    let mut state = thread.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    let mut handles = Vec::new();
                    for _ in 0..steps {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        let labels = path((state % LABEL_SETS) as usize);
                        match (state >> 32) % 8 {
                            0..=2 => family.with(&labels, Counter::inc),
                            3 => family.get(&labels).inc(),
                            4 => handles.push(family.get(&labels)),
                            5 => handles.clear(),
                            6 => {
                                family.remove(&labels);
                            }
                            _ => held.inc(),
                        }
                    }
                });
            }
        });
        let Storage::Dynamic { table, .. } = &family.storage else {
            unreachable!("open label set")
        };
        assert!(read(table).removed_while_encoding.is_empty());
        assert_eq!(
            family.get(&path(100)).get(),
            held.get(),
            "the held series is still the one served"
        );
    }

    #[derive(Hash)]
    struct PathRef<'a> {
        path: &'a str,
    }

    impl BorrowedLabels<PathLabels> for PathRef<'_> {
        fn matches(&self, owned: &PathLabels) -> bool {
            self.path == owned.path
        }
        fn to_label_set(&self) -> std::borrow::Cow<'_, PathLabels> {
            std::borrow::Cow::Owned(PathLabels {
                path: self.path.to_owned(),
            })
        }
    }

    #[test]
    fn borrowed_labels_find_the_series_of_their_owned_form() {
        let family = limited(10);
        family.get(&PathRef { path: "/items/1" }).inc();
        assert_eq!(write_locks(&family), 1, "created once");
        family.get(&path(1)).inc();
        family.get(&PathRef { path: "/items/1" }).inc();
        assert_eq!(
            write_locks(&family),
            1,
            "found by either form under the read lock"
        );
        assert_eq!(family.get(&path(1)).get(), 3);
        assert!(family.remove(&PathRef { path: "/items/1" }));
        assert!(family.is_empty());
    }

    #[test]
    fn with_updates_an_open_series_without_a_handle() {
        let family = limited(2);
        family.with(&path(0), Counter::inc);
        family.with(&PathRef { path: "/items/0" }, Counter::inc);
        let Storage::Dynamic { table, .. } = &family.storage else {
            unreachable!("open label set")
        };
        family.with(&path(0), |counter| {
            let table = read(table);
            let entry = entry_of(&table, "/items/0");
            assert_eq!(Refcounted::count(entry), TABLE_REFERENCES, "no handle made");
            assert!(std::ptr::eq(counter, &entry.metric));
        });
        assert_eq!(family.with(&path(0), Counter::get), 2);
        family.with(&path(1), Counter::inc);
        assert_eq!(family.with(&path(2), |counter| counter.inc()), ());
        assert_eq!(family.len(), 2, "past the limit, as `get`");
        assert_eq!(
            served(&family),
            [r#"path="/items/0""#, r#"path="/items/1""#]
        );
    }

    /// The table's entry of `path`.
    fn entry_of<'t>(
        table: &'t Table<PathLabels, Counter>,
        path: &str,
    ) -> &'t Refcounted<Entry<PathLabels, Counter>> {
        table
            .index
            .iter()
            .find(|entry| entry.key.path == path)
            .expect("served")
    }

    #[test]
    fn writers_are_not_stalled_while_a_scrape_encodes() {
        let family = limited(100);
        for i in 0..3 {
            family.get(&path(i)).inc();
        }
        let Storage::Dynamic { table, .. } = &family.storage else {
            unreachable!("open label set")
        };
        let snapshot = Snapshot::take(&family, table);
        let mut visited = Vec::new();
        std::thread::scope(|scope| {
            snapshot.for_each(&mut |counter, labels| {
                visited.push((labels.to_owned(), counter.get()));
                if visited.len() > 1 {
                    return;
                }
                let (done, finished) = std::sync::mpsc::channel();
                let family = &family;
                scope.spawn(move || {
                    family.get(&path(10)).inc();
                    family.with(&path(0), Counter::inc);
                    family.remove(&path(1));
                    family.retain(|labels| labels.path != "/items/2");
                    done.send(()).expect("the scrape waits");
                });
                finished
                    .recv_timeout(Duration::from_secs(30))
                    .expect("a writer stalled by the scrape");
            });
        });
        visited.sort();
        let labels: Vec<&str> = visited.iter().map(|(labels, _)| labels.as_str()).collect();
        assert_eq!(
            labels,
            [
                r#"path="/items/0""#,
                r#"path="/items/1""#,
                r#"path="/items/2""#
            ],
            "the series as the scrape found them, removed ones too"
        );
        assert_eq!(read(table).removed_while_encoding.len(), 2, "kept");
        drop(snapshot);
        assert!(read(table).removed_while_encoding.is_empty(), "freed");
        assert_eq!(
            served(&family),
            [r#"path="/items/0""#, r#"path="/items/10""#]
        );
        assert_eq!(family.get(&path(0)).get(), 2);
    }

    #[test]
    fn series_cleared_under_overlapping_scrapes_are_freed_after_the_last() {
        let family = limited(100);
        let held = family.get(&path(0));
        family.get(&path(1)).inc();
        let Storage::Dynamic { table, .. } = &family.storage else {
            unreachable!("open label set")
        };
        let first = Snapshot::take(&family, table);
        family.clear();
        family.get(&path(2)).inc();
        let second = Snapshot::take(&family, table);
        family.remove(&path(2));
        assert_eq!(read(table).removed_while_encoding.len(), 3);
        let mut served_first = Vec::new();
        first.for_each(&mut |_, labels| served_first.push(labels.to_owned()));
        served_first.sort();
        assert_eq!(served_first, [r#"path="/items/0""#, r#"path="/items/1""#]);
        drop(first);
        assert_eq!(
            read(table).removed_while_encoding.len(),
            3,
            "the second is out"
        );
        let mut served_second = Vec::new();
        second.for_each(&mut |_, labels| served_second.push(labels.to_owned()));
        assert_eq!(served_second, [r#"path="/items/2""#]);
        drop(second);
        assert!(read(table).removed_while_encoding.is_empty());
        assert_eq!(
            Refcounted::count(match &held.series {
                Handle::Shared(entry) => entry,
                Handle::Borrowed(_) => unreachable!("open label set"),
            }),
            1,
            "only the handle holds its removed series"
        );
        assert!(family.is_empty());
    }

    #[test]
    fn racing_scrapes_encode_while_series_are_removed_and_recreated() {
        // Scrapers visit snapshots (Miri checks that no series they point to has been freed)
        // while the other threads create, update, remove, retain and clear.
        const LABEL_SETS: u64 = 12;
        let steps = if cfg!(miri) { 30 } else { 5_000 };
        let family = limited(8);
        let Storage::Dynamic { table, .. } = &family.storage else {
            unreachable!("open label set")
        };
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..steps / 5 {
                        let snapshot = Snapshot::take(&family, table);
                        let mut labels = Vec::new();
                        snapshot.for_each(&mut |counter, text| {
                            assert!(counter.get() < u64::MAX);
                            labels.push(text.to_owned());
                        });
                        let served = labels.len();
                        labels.sort();
                        labels.dedup();
                        assert_eq!(labels.len(), served, "no series twice in one scrape");
                        assert!(served <= 8);
                    }
                });
            }
            for thread in 0..2u64 {
                let family = &family;
                scope.spawn(move || {
                    let mut state = thread.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    for _ in 0..steps {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        let labels = path((state % LABEL_SETS) as usize);
                        match (state >> 32) % 8 {
                            0..=3 => family.with(&labels, Counter::inc),
                            4 | 5 => {
                                family.remove(&labels);
                            }
                            6 => family.retain(|other| other.path.len() % 2 == 0),
                            _ => family.clear(),
                        }
                    }
                });
            }
        });
        assert!(read(table).removed_while_encoding.is_empty());
    }

    #[test]
    fn racing_threads_increment_remove_and_recreate_series() {
        // Each thread walks its own pseudo-random sequence of label sets, removing some, clearing
        // or retaining now and then, and checks what it can: a handle is usable after any removal,
        // and the family never exceeds its limit (fewer steps under Miri).
        const THREADS: u64 = 8;
        const LABEL_SETS: u64 = 16;
        let steps = if cfg!(miri) { 40 } else { 20_000 };
        let limit = 12;
        let family = limited(limit);
        std::thread::scope(|scope| {
            for thread in 0..THREADS {
                let family = &family;
                scope.spawn(move || {
                    let mut state = thread.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    let mut held = Vec::new();
                    for _ in 0..steps {
                        // xorshift64
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        let labels = path((state % LABEL_SETS) as usize);
                        match (state >> 32) % 16 {
                            0..=9 => family.get(&labels).inc(),
                            10 | 11 => {
                                family.remove(&labels);
                            }
                            12 => held.push(family.get(&labels)),
                            13 => family.retain(|other| other.path.len() % 2 == 0),
                            14 if held.len() > 4 => held.clear(),
                            14 => family.clear(),
                            _ => {
                                for handle in &held {
                                    handle.inc();
                                }
                            }
                        }
                        assert!(family.len() <= limit);
                    }
                    for handle in &held {
                        handle.inc();
                    }
                });
            }
        });
        let total: u64 = (0..LABEL_SETS as usize)
            .filter(|i| family.remove(&path(*i)))
            .count() as u64;
        assert!(total <= limit as u64);
        assert!(family.is_empty());
        // Everything removed is freed once no handle holds it: only the table's two references
        // were ever left, so recreating starts at zero.
        assert_eq!(family.get(&path(0)).get(), 0);
    }
}
