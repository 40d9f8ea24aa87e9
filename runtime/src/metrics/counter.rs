use super::number::CounterValue;
use super::{MetricConfig, MetricKind, Series};
use crate::encoding::{Created, FamilyEncoder};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonic counter, exposed with the `_total` suffix.
///
/// `Counter` counts in `u64`; `Counter<f64>` accepts fractional increments (seconds, bytes
/// averaged, ...). Increments are one relaxed atomic add.
///
/// ```
/// use promexport::Counter;
/// let requests: Counter = Counter::default();
/// requests.inc();
/// requests.inc_by(2);
/// assert_eq!(requests.get(), 3);
///
/// let busy_seconds: Counter<f64> = Counter::default();
/// busy_seconds.inc_by(0.25);
/// busy_seconds.inc_by(-1.0); // ignored: counters never go down
/// assert_eq!(busy_seconds.get(), 0.25);
/// ```
pub struct Counter<N: CounterValue = u64> {
    bits: AtomicU64,
    /// Read once, at creation (served as the created timestamp).
    created: Created,
    number: PhantomData<N>,
}

impl<N: CounterValue> Counter<N> {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        N::add(&self.bits, N::ONE);
    }

    /// Adds `delta`; negative, NaN or infinite deltas of a `Counter<f64>` are ignored.
    #[inline]
    pub fn inc_by(&self, delta: N) {
        if delta.is_increment() {
            N::add(&self.bits, delta);
        }
    }

    /// The current value.
    pub fn get(&self) -> N {
        N::from_bits(self.bits.load(Ordering::Relaxed))
    }

    /// When the counter was created (served as its created timestamp).
    pub fn created(&self) -> Created {
        self.created
    }
}

impl<N: CounterValue> Default for Counter<N> {
    fn default() -> Self {
        Counter {
            // All-zero bits are 0 for u64 and 0.0 for f64.
            bits: AtomicU64::new(0),
            created: Created::now(),
            number: PhantomData,
        }
    }
}

impl<N: CounterValue + std::fmt::Debug> std::fmt::Debug for Counter<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Counter").field(&self.get()).finish()
    }
}

impl<N: CounterValue> Series for Counter<N> {
    const KIND: MetricKind = MetricKind::Counter;
    fn new(_: &MetricConfig) -> Self {
        Self::default()
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        family.counter(labels, self.get().value(), Some(self.created), None);
    }
}
