//! The counts of a native histogram (client_golang's `histogramCounts`, once, without Go's hot
//! and cold copies): sum, zero bucket, NaN count and classic buckets, and the sparse buckets of
//! every schema the histogram has used.
//!
//! An observation reads the layout (schema, epoch, zero threshold) with plain loads and
//! increments its counts: the sum, then the one count that places it (its bucket's, the zero
//! bucket's or the NaN count), then its classic bucket. A change of layout publishes the new
//! one; an observation that read the old one finishes in it, on buckets that keep their
//! meaning: those of each schema are a table of their own (`layers`), and a bucket's key never
//! leaves its slot. [`settle`](Counts::settle) then moves such late counts where the current
//! layout puts them.

use super::super::sharded::shard_of_this_thread;
use super::buckets::SparseBuckets;
use super::schema::{MAX_SCHEMA, MIN_SCHEMA, bucket_key, upper_bound};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// How many parts the sum is kept in. The sum is the one count every observation writes, and
/// with a compare-and-swap (there is no atomic float add) that fails and retries whenever
/// another thread took the line meanwhile: threads given different parts never share it.
/// A part costs a cache line; a native histogram's bucket tables are kilobytes.
const SUM_PARTS: usize = 4;

/// One part of the sum, on a cache line of its own: observations on another thread then do not
/// take the line that holds what they read (the layout, the tables), nor each other's.
#[derive(Default)]
#[repr(align(128))]
struct SumPart(AtomicU64);

/// Written by zero and NaN observations only, away from the sum.
#[repr(align(128))]
struct Rare {
    zero_count: AtomicU64,
    /// NaN observations (in `count`, `sum` and the classic `+Inf` bucket only).
    nan_count: AtomicU64,
}

/// The buckets of one schema.
pub(super) struct Layer {
    pub(super) positive: SparseBuckets,
    pub(super) negative: SparseBuckets,
    /// Buckets (of both signs) that exist in the current epoch, as Go counts them: a bucket a
    /// scrape found empty stays, and counted, until the layout changes.
    pub(super) bucket_number: AtomicU32,
}

impl Layer {
    fn signs(&self) -> [&SparseBuckets; 2] {
        [&self.positive, &self.negative]
    }
}

const LAYERS: usize = (MAX_SCHEMA - MIN_SCHEMA + 1) as usize;

pub(super) struct Counts {
    /// The sum, in parts by thread: observed on one thread, it is in one part, the others hold
    /// +0.0, so the total is exactly what one float would hold.
    sum: [SumPart; SUM_PARTS],
    rare: Rare,
    /// The current schema (low 32 bits) and epoch (high 32 bits: resets since creation, from 1,
    /// skipping 0 when it wraps). Changed only under the histogram's `layout` lock.
    layout: AtomicU64,
    zero_threshold_bits: AtomicU64,
    /// Non-cumulative classic bucket counts, without `+Inf` (that one is `count`).
    classic: Box<[AtomicU64]>,
    /// By `schema - MIN_SCHEMA`, created when the schema is first used.
    layers: [OnceLock<Box<Layer>>; LAYERS],
    slots: usize,
}

/// What a scrape reads: the buckets of the current schema with a count, sorted by index.
pub(super) struct Read {
    pub(super) count: u64,
    pub(super) sum: f64,
    pub(super) classic: Vec<u64>,
    pub(super) schema: i32,
    pub(super) zero_threshold: f64,
    pub(super) zero_count: u64,
    pub(super) positive: Vec<(i32, u64)>,
    pub(super) negative: Vec<(i32, u64)>,
}

impl Counts {
    pub(super) fn new(
        classic_buckets: usize,
        schema: i32,
        zero_threshold: f64,
        slots: usize,
    ) -> Self {
        Counts {
            sum: Default::default(),
            rare: Rare {
                zero_count: AtomicU64::new(0),
                nan_count: AtomicU64::new(0),
            },
            layout: AtomicU64::new(layout(schema, 1)),
            zero_threshold_bits: AtomicU64::new(zero_threshold.to_bits()),
            classic: (0..classic_buckets).map(|_| AtomicU64::new(0)).collect(),
            layers: std::array::from_fn(|_| OnceLock::new()),
            slots,
        }
    }

    /// The current (schema, epoch).
    #[inline]
    pub(super) fn layout(&self) -> (i32, u32) {
        let layout = self.layout.load(Ordering::Relaxed);
        (layout as u32 as i32, (layout >> 32) as u32)
    }

    #[inline]
    pub(super) fn zero_threshold(&self) -> f64 {
        f64::from_bits(self.zero_threshold_bits.load(Ordering::Relaxed))
    }

    /// The buckets of `schema` (in `MIN_SCHEMA..=MAX_SCHEMA`), created if needed.
    #[inline]
    pub(super) fn layer(&self, schema: i32) -> &Layer {
        let index = ((schema - MIN_SCHEMA) as usize).min(LAYERS - 1);
        self.layers[index].get_or_init(|| {
            Box::new(Layer {
                positive: SparseBuckets::new(self.slots),
                negative: SparseBuckets::new(self.slots),
                bucket_number: AtomicU32::new(0),
            })
        })
    }

    /// Records `value` (`classic` is its classic bucket); `native` is false for NaN, which only
    /// `count`, `sum` and the `+Inf` bucket see. Returns whether the buckets of its schema are
    /// now more than `max_buckets` (unless that is 0). The count that places it is incremented
    /// after the sum, and the classic bucket after that (both Release): a scrape that reads a
    /// classic count, then the native ones, then the sum, finds each of those observations in
    /// all three.
    #[inline]
    pub(super) fn observe(
        &self,
        value: f64,
        classic: usize,
        native: bool,
        max_buckets: u32,
    ) -> bool {
        add_to_sum(&self.sum[shard_of_this_thread() % SUM_PARTS].0, value);
        let mut over = false;
        if !native {
            self.rare.nan_count.fetch_add(1, Ordering::Release);
        } else {
            let threshold = self.zero_threshold();
            if value > threshold || value < -threshold {
                let (schema, epoch) = self.layout();
                let layer = self.layer(schema);
                let buckets = if value > 0.0 {
                    &layer.positive
                } else {
                    &layer.negative
                };
                let (count, created) = buckets.bucket(bucket_key(value, schema), epoch);
                count.fetch_add(1, Ordering::Release);
                if created {
                    layer.bucket_number.fetch_add(1, Ordering::Relaxed);
                }
                over =
                    max_buckets != 0 && layer.bucket_number.load(Ordering::Relaxed) > max_buckets;
            } else {
                self.rare.zero_count.fetch_add(1, Ordering::Release);
            }
        }
        if let Some(bucket) = self.classic.get(classic) {
            bucket.fetch_add(1, Ordering::Release);
        }
        over
    }

    /// Everything as a scrape reads it (the caller holds `layout`): classic counts first, then
    /// the native ones, whose sum is the count, then the sum (see [`observe`](Self::observe)).
    pub(super) fn read(&self) -> Read {
        let classic = (self.classic.iter())
            .map(|bucket| bucket.load(Ordering::Acquire))
            .collect();
        self.settle();
        let (schema, _) = self.layout();
        let layer = self.layer(schema);
        let nan_count = self.rare.nan_count.load(Ordering::Acquire);
        let zero_count = self.rare.zero_count.load(Ordering::Acquire);
        let positive = populated(&layer.positive);
        let negative = populated(&layer.negative);
        let in_buckets: u64 = (positive.iter().chain(&negative))
            .map(|(_, count)| count)
            .sum();
        Read {
            count: nan_count + zero_count + in_buckets,
            sum: (self.sum.iter())
                .map(|part| f64::from_bits(part.0.load(Ordering::Relaxed)))
                .sum(),
            classic,
            schema,
            zero_threshold: self.zero_threshold(),
            zero_count,
            positive,
            negative,
        }
    }

    /// Moves what observations that read an earlier layout counted where the current layout
    /// puts it (the caller holds `layout`): from a finer schema into the bucket that contains
    /// theirs, from a bucket now inside the zero bucket into it. What went to a coarser schema
    /// was observed before the last reset and goes, as Go drops what is in flight at a reset.
    pub(super) fn settle(&self) {
        let (schema, epoch) = self.layout();
        let current = self.layer(schema);
        let inside_zero = inside_zero_bucket(self.zero_threshold(), schema);
        let move_count = |key: i32, count: u64, buckets: &SparseBuckets| {
            if key <= inside_zero {
                self.rare.zero_count.fetch_add(count, Ordering::Relaxed);
            } else if buckets.add(key, epoch, count) {
                current.bucket_number.fetch_add(1, Ordering::Relaxed);
            }
        };
        for (index, layer) in self.layers.iter().enumerate() {
            let Some(layer) = layer.get() else { continue };
            let from = MIN_SCHEMA + index as i32;
            for (buckets, target) in layer.signs().into_iter().zip(current.signs()) {
                buckets.for_each(|key, _, count| {
                    if from == schema && key > inside_zero || count.load(Ordering::Relaxed) == 0 {
                        return;
                    }
                    let count = count.swap(0, Ordering::Acquire);
                    // A late observation created it again: it stays out of the next widening.
                    if from == schema && buckets.remove(key, epoch) {
                        current.bucket_number.fetch_sub(1, Ordering::Relaxed);
                    }
                    if from >= schema {
                        move_count(wider_key(key, from - schema), count, target);
                    }
                });
            }
        }
    }

    /// Back to no observations, at `schema` and `zero_threshold`, in a new epoch (the caller
    /// holds `layout`). Observations that race it may be kept, in part (e.g. in their bucket
    /// but not in the sum), or not.
    pub(super) fn reset(&self, schema: i32, zero_threshold: f64) {
        for part in &self.sum {
            part.0.store(0, Ordering::Relaxed);
        }
        self.rare.zero_count.store(0, Ordering::Relaxed);
        self.rare.nan_count.store(0, Ordering::Relaxed);
        for bucket in &self.classic {
            bucket.store(0, Ordering::Relaxed);
        }
        for layer in self.layers.iter().filter_map(OnceLock::get) {
            layer.bucket_number.store(0, Ordering::Relaxed);
            for buckets in layer.signs() {
                buckets.for_each(|_, _, count| count.store(0, Ordering::Relaxed));
            }
        }
        let (_, epoch) = self.layout();
        let epoch = epoch.wrapping_add(1).max(1);
        self.zero_threshold_bits
            .store(zero_threshold.to_bits(), Ordering::Relaxed);
        self.layout.store(layout(schema, epoch), Ordering::Relaxed);
    }

    /// Widens the zero bucket to `threshold`, taking bucket `key` of the current schema into
    /// it (the caller holds `layout`).
    pub(super) fn widen_zero_bucket(&self, threshold: f64, key: i32) {
        self.zero_threshold_bits
            .store(threshold.to_bits(), Ordering::Relaxed);
        let (schema, epoch) = self.layout();
        let layer = self.layer(schema);
        for buckets in layer.signs() {
            if buckets.remove(key, epoch) {
                layer.bucket_number.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.settle();
    }

    /// Halves the resolution: `schema - 1`, each bucket merged into the one that contains it,
    /// those that exist at zero included (Go's `doubleBucketWidth`; the caller holds `layout`
    /// and the schema is above `MIN_SCHEMA`).
    pub(super) fn halve_resolution(&self) {
        let (schema, epoch) = self.layout();
        let old = self.layer(schema);
        let new = self.layer(schema - 1);
        new.bucket_number.store(0, Ordering::Relaxed);
        self.layout
            .store(layout(schema - 1, epoch), Ordering::Relaxed);
        for (buckets, target) in old.signs().into_iter().zip(new.signs()) {
            buckets.for_each(|key, created, count| {
                if created == epoch || count.load(Ordering::Relaxed) != 0 {
                    let count = count.swap(0, Ordering::Acquire);
                    if target.add(wider_key(key, 1), epoch, count) {
                        new.bucket_number.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    }
}

fn layout(schema: i32, epoch: u32) -> u64 {
    (u64::from(epoch) << 32) | u64::from(schema as u32)
}

/// The bucket, `steps` schemas coarser, that contains bucket `key` (`ceil(key / 2^steps)`).
fn wider_key(key: i32, steps: i32) -> i32 {
    (key + (1 << steps) - 1) >> steps
}

/// The highest key at `schema` whose bucket lies inside a zero bucket of half-width
/// `threshold` (`i32::MIN` if none does).
fn inside_zero_bucket(threshold: f64, schema: i32) -> i32 {
    if threshold <= 0.0 {
        return i32::MIN;
    }
    let key = bucket_key(threshold, schema);
    if upper_bound(key, schema) <= threshold {
        key
    } else {
        key - 1
    }
}

/// The buckets of one sign with a count, sorted by index.
fn populated(buckets: &SparseBuckets) -> Vec<(i32, u64)> {
    let mut populated = Vec::new();
    buckets.for_each(|key, _, count| {
        let count = count.load(Ordering::Acquire);
        if count > 0 {
            populated.push((key, count));
        }
    });
    populated.sort_unstable_by_key(|(key, _)| *key);
    populated
}

/// Adds `value` to the float in `sum_bits` (a compare-and-swap loop: there is no atomic float
/// add), here so that it is inlined into `observe`.
#[inline]
fn add_to_sum(sum_bits: &AtomicU64, value: f64) {
    let mut current = sum_bits.load(Ordering::Relaxed);
    loop {
        let next = (f64::from_bits(current) + value).to_bits();
        match sum_bits.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}
