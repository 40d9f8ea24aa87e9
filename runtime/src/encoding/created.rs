//! [`Created`]: when a counter, histogram or summary started counting.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall-clock time a counter, histogram or summary was created (or last reset), read once
/// then, never on the hot path.
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

    /// The given time (the epoch for one before it, the year 2554 for one past it).
    pub fn at(time: SystemTime) -> Self {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        Created {
            nanos: u64::try_from(since.as_nanos()).unwrap_or(u64::MAX),
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

    /// Whole seconds and the nanoseconds past them, as `google.protobuf.Timestamp` holds it.
    pub(crate) fn seconds_and_nanos(self) -> (i64, i32) {
        // Both fit: u64 nanoseconds are under 2^35 seconds, and the rest under 10^9.
        (
            (self.nanos / 1_000_000_000) as i64,
            (self.nanos % 1_000_000_000) as i32,
        )
    }
}
