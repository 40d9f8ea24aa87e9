use super::number::GaugeValue;
use super::{MetricConfig, MetricKind, Series};
use crate::encoding::FamilyEncoder;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// A value that goes up and down: `Gauge` holds an `i64`, `Gauge<u64>` an unsigned integer
/// (for unsigned stats such as byte counts: served exactly, also above `i64::MAX`; it wraps
/// around below zero), `Gauge<f64>` a float.
///
/// ```
/// use promexport::Gauge;
/// let in_flight: Gauge = Gauge::default();
/// in_flight.inc();
/// in_flight.inc();
/// in_flight.dec();
/// assert_eq!(in_flight.get(), 1);
///
/// let uptime: Gauge<f64> = Gauge::default();
/// uptime.set(104.9);
/// assert_eq!(uptime.get(), 104.9);
///
/// let memory_limit: Gauge<u64> = Gauge::default();
/// memory_limit.set(u64::MAX);
/// assert_eq!(memory_limit.get(), u64::MAX);
/// ```
pub struct Gauge<N: GaugeValue = i64> {
    bits: AtomicU64,
    number: PhantomData<N>,
}

impl<N: GaugeValue> Gauge<N> {
    /// Sets the value.
    #[inline]
    pub fn set(&self, value: N) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        N::add(&self.bits, N::ONE);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        N::sub(&self.bits, N::ONE);
    }

    /// Adds `delta` (which may be negative, for signed gauges).
    #[inline]
    pub fn add(&self, delta: N) {
        N::add(&self.bits, delta);
    }

    /// Subtracts `delta`.
    #[inline]
    pub fn sub(&self, delta: N) {
        N::sub(&self.bits, delta);
    }

    /// The current value.
    pub fn get(&self) -> N {
        N::from_bits(self.bits.load(Ordering::Relaxed))
    }

    /// Adds one now and subtracts it when the returned guard is dropped: work in progress,
    /// counted right on every exit (`?`, early return, panic).
    ///
    /// ```
    /// use promexport::Gauge;
    /// let jobs_running: Gauge = Gauge::default();
    /// {
    ///     let _running = jobs_running.track_in_progress();
    ///     assert_eq!(jobs_running.get(), 1);
    /// }
    /// assert_eq!(jobs_running.get(), 0);
    /// ```
    #[must_use = "the gauge goes back down when the guard is dropped; bind it to a variable"]
    pub fn track_in_progress(&self) -> InProgress<'_, N> {
        self.inc();
        InProgress { gauge: self }
    }
}

impl Gauge<f64> {
    /// Sets the value to the current Unix time in seconds, for `*_timestamp_seconds` gauges
    /// (the last successful run of a job).
    ///
    /// ```
    /// use promexport::Gauge;
    /// let last_success: Gauge<f64> = Gauge::default();
    /// last_success.set_to_current_time();
    /// assert!(last_success.get() > 1.7e9);
    /// ```
    pub fn set_to_current_time(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        self.set(now);
    }
}

/// Work in progress on a [`Gauge`]: subtracts one when dropped.
#[derive(Debug)]
pub struct InProgress<'a, N: GaugeValue = i64> {
    gauge: &'a Gauge<N>,
}

impl<N: GaugeValue> Drop for InProgress<'_, N> {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

impl<N: GaugeValue> Default for Gauge<N> {
    fn default() -> Self {
        Gauge {
            // All-zero bits are 0 for the integers and 0.0 for f64.
            bits: AtomicU64::new(0),
            number: PhantomData,
        }
    }
}

impl<N: GaugeValue + std::fmt::Debug> std::fmt::Debug for Gauge<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Gauge").field(&self.get()).finish()
    }
}

impl<N: GaugeValue> Series for Gauge<N> {
    const KIND: MetricKind = MetricKind::Gauge;
    fn new(_: &MetricConfig) -> Self {
        Self::default()
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        family.gauge(labels, self.get().value());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Encoder, Format};
    use crate::metrics::{Descriptor, Metric};

    fn exposition<N: GaugeValue>(gauge: &Gauge<N>) -> String {
        const DESC: Descriptor = Descriptor {
            name: "memory_bytes",
            help: "Memory.",
            unit: None,
            kind: MetricKind::Gauge,
        };
        let mut out = Vec::new();
        Metric::encode(
            gauge,
            &mut Encoder::new(&mut out, Format::Text).family(&DESC, ""),
        );
        String::from_utf8(out).expect("text is UTF-8")
    }

    #[test]
    fn unsigned_gauges_serve_values_above_i64_max_exactly() {
        let gauge: Gauge<u64> = Gauge::default();
        gauge.set(u64::MAX - 1);
        gauge.inc();
        assert_eq!(gauge.get(), u64::MAX);
        assert!(exposition(&gauge).ends_with("\nmemory_bytes 18446744073709551615\n"));
        gauge.set(i64::MAX as u64 + 2);
        gauge.dec();
        gauge.sub(2);
        gauge.add(3);
        assert_eq!(gauge.get(), 9_223_372_036_854_775_809);
        assert!(exposition(&gauge).ends_with("\nmemory_bytes 9223372036854775809\n"));
    }

    #[test]
    fn unsigned_gauges_wrap_so_unordered_incs_and_decs_stay_exact() {
        let gauge: Gauge<u64> = Gauge::default();
        gauge.dec();
        assert_eq!(gauge.get(), u64::MAX);
        gauge.inc();
        assert_eq!(gauge.get(), 0);
    }

    #[test]
    fn signed_gauges_subtract_the_most_negative_value() {
        let gauge: Gauge = Gauge::default();
        gauge.sub(i64::MIN);
        assert_eq!(
            gauge.get(),
            i64::MIN,
            "wraps as two's complement, no overflow panic"
        );
        let float: Gauge<f64> = Gauge::default();
        float.sub(1.5);
        float.dec();
        assert_eq!(float.get(), -2.5);
    }
}
