use super::{MetricConfig, MetricKind, Series};
use crate::encoding::{Created, FamilyEncoder, Value};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Shards per counter: enough that threads rarely share one on the machines exporters run on.
pub(super) const SHARDS: usize = 16;

/// One shard on its own cache line, so threads adding to different shards never contend.
#[derive(Default)]
#[repr(align(128))]
struct Shard(AtomicU64);

/// A counter for hot paths hit by many threads at once: each thread adds to its own shard, and
/// a scrape sums them.
///
/// On one thread it costs what a [`Counter`](crate::Counter) costs; under contention it avoids
/// the cache line ping-pong of a single atomic. The sum is exact: nothing is lost or counted
/// twice (an increment racing a scrape shows in that scrape or the next). It takes 2 KiB
/// (16 shards of 128 bytes), so keep it for counters that need it.
///
/// ```
/// use promexport::ShardedCounter;
/// let hits = ShardedCounter::default();
/// std::thread::scope(|scope| {
///     for _ in 0..4 {
///         scope.spawn(|| (0..1000).for_each(|_| hits.inc()));
///     }
/// });
/// assert_eq!(hits.get(), 4000);
/// ```
pub struct ShardedCounter {
    shards: [Shard; SHARDS],
    created: Created,
}

impl Default for ShardedCounter {
    fn default() -> Self {
        ShardedCounter {
            shards: Default::default(),
            created: Created::now(),
        }
    }
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's shard, given out round robin as threads first increment.
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
pub(super) fn shard_of_this_thread() -> usize {
    SHARD.with(|shard| {
        let mut index = shard.get();
        if index == usize::MAX {
            index = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
            shard.set(index);
        }
        index
    })
}

impl ShardedCounter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `delta`.
    #[inline]
    pub fn inc_by(&self, delta: u64) {
        self.shards[shard_of_this_thread()]
            .0
            .fetch_add(delta, Ordering::Relaxed);
    }

    /// When the counter was created (served as its created timestamp).
    pub fn created(&self) -> Created {
        self.created
    }

    /// The sum of the shards.
    pub fn get(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .sum()
    }
}

impl std::fmt::Debug for ShardedCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ShardedCounter").field(&self.get()).finish()
    }
}

impl Series for ShardedCounter {
    const KIND: MetricKind = MetricKind::Counter;
    fn new(_: &MetricConfig) -> Self {
        Self::default()
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        family.counter(labels, Value::U64(self.get()), Some(self.created), None);
    }
}
