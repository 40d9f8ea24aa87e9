//! [`Created`]: when a counter, histogram or summary started counting.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall-clock time a counter, histogram or summary was created (or last reset), read once
/// then, never on the hot path, to the millisecond.
///
/// Milliseconds are what Prometheus keeps of it (it stores every timestamp in milliseconds); a
/// finer time would only add bytes that no two series share, which gzip cannot compress: a
/// gzipped protobuf scrape of 10,000 counters created within a few milliseconds shrank by a
/// quarter without them (168,960 to 126,095 bytes).
///
/// Protobuf carries it as `created_timestamp` (Prometheus uses it to place the start of a rate);
/// OpenMetrics as a `_created` line only when the encoder is asked to
/// ([`Encoder::open_metrics_created`](crate::Encoder::open_metrics_created)), because Prometheus
/// stores those lines as series of their own; text 0.0.4 never has it.
///
/// ```
/// use promexport::Created;
/// use std::time::{Duration, UNIX_EPOCH};
/// let created = Created::at(UNIX_EPOCH + Duration::from_millis(1_500));
/// assert_eq!(created.as_secs_f64(), 1.5);
/// assert!(Created::now().as_secs_f64() > 1.7e9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Created {
    /// Since the Unix epoch: 8 bytes per series, where a `SystemTime` takes 16.
    nanos: u64,
}

impl Created {
    /// Now.
    pub fn now() -> Self {
        Created::at(SystemTime::now())
    }

    /// The given time, to the millisecond below (the epoch for one before it, the year 2554
    /// for one past it).
    ///
    /// ```
    /// use promexport::Created;
    /// use std::time::{Duration, UNIX_EPOCH};
    /// let created = Created::at(UNIX_EPOCH + Duration::from_micros(1_500_999));
    /// assert_eq!(created.time(), UNIX_EPOCH + Duration::from_millis(1_500));
    /// ```
    pub fn at(time: SystemTime) -> Self {
        const NANOS_PER_MILLI: u64 = 1_000_000;
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let millis = u64::try_from(since.as_millis()).unwrap_or(u64::MAX / NANOS_PER_MILLI);
        Created {
            nanos: millis.saturating_mul(NANOS_PER_MILLI),
        }
    }

    /// The time.
    pub fn time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos)
    }

    /// Seconds since the Unix epoch, as OpenMetrics writes it.
    pub fn as_secs_f64(self) -> f64 {
        self.nanos as f64 / 1e9
    }

    /// Nanoseconds since the Unix epoch.
    pub(crate) fn nanos(self) -> u64 {
        self.nanos
    }

    /// Whole seconds and the nanoseconds past them, as `google.protobuf.Timestamp` holds it.
    pub(crate) fn seconds_and_nanos(self) -> (i64, i32) {
        // Both fit: u64 nanoseconds are under 2^35 seconds, and the rest under 10^9.
        (
            (self.nanos / 1_000_000_000) as i64,
            (self.nanos % 1_000_000_000) as i32,
        )
    }
}
