//! Collectors: metrics read from a target at scrape time or on an interval (see [`Collector`]).

mod blocking;
mod report;
mod scrape;
mod state;

use crate::Error;
use crate::registry::{Collect, Registry};
use state::State;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use scrape::{collect_for_scrape, own_collections};
pub(crate) use state::Refresh;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type CollectFuture<M> = Pin<Box<dyn Future<Output = Result<M, BoxError>> + Send>>;
type CollectFn<M> = Arc<dyn Fn() -> CollectFuture<M> + Send + Sync>;
type BlockingFn<M> = Arc<dyn Fn() -> Result<M, BoxError> + Send + Sync>;

/// How a collector reads its target.
enum Work<M> {
    Async(CollectFn<M>),
    /// On tokio's blocking pool: a thread that hangs cannot be stopped, only waited out.
    Blocking(BlockingFn<M>),
}

/// How long a collection may take when Prometheus does not say (and the most it may take).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Kept from Prometheus' scrape timeout for encoding and the network (Go exporters' default).
const TIMEOUT_OFFSET: Duration = Duration::from_millis(500);

/// Why a collection produced nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Error,
    Timeout,
    Panic,
}

impl Failure {
    const ALL: [Failure; 3] = [Failure::Error, Failure::Timeout, Failure::Panic];

    fn reason(self) -> &'static str {
        match self {
            Failure::Error => "error",
            Failure::Timeout => "timeout",
            Failure::Panic => "panic",
        }
    }
}

/// Metrics read from a target (a third-party program's status page, a socket, a file) when
/// Prometheus scrapes, or on an interval, with `<prefix>_up` and failure accounting.
///
/// Each collection builds a fresh metrics struct (a `#[derive(Metrics)]` with
/// `#[metrics(no_global)]`, so that only the collector serves it): label sets that vanished from
/// the target vanish from the exposition too. When a collection fails, times out or panics, the
/// scrape still answers 200 with every other metric, the collector's own series are left out
/// (never served stale) and `<prefix>_up` is 0.
///
/// A target whose families are only known once read (names, label names and label values
/// from the target, as the json, sql and snmp exporters mirror theirs) returns a
/// [`ConstMetrics`](crate::ConstMetrics) of [`ConstFamily`](crate::ConstFamily)s instead;
/// [`Registry::unregister_collector`] removes a collector again.
///
/// Besides the target's metrics, a collector serves:
///
/// | metric | |
/// |---|---|
/// | `<prefix>_up` | 1 if the collection this scrape served succeeded, else 0 (also 0 while an [`interval`](Self::interval) loop is frozen) |
/// | `<prefix>_collection_duration_seconds` | how long the last collection took; for one that timed out, how long it was waited for |
/// | `<prefix>_collection_errors_total{reason}` | collections that produced nothing: `error`, `timeout`, `panic` (once per collection, however many scrapes waited for it) |
/// | `<prefix>_last_success_timestamp_seconds` | when the last successful collection ended, in Unix seconds; 0 before the first, so `time() - …` is large rather than absent |
/// | `<prefix>_collections_abandoned` | [`blocking`](Self::blocking) collectors only: collections that timed out but whose thread has not returned (0 or 1) |
///
/// At scrape time (the default), concurrent scrapes share one collection (single-flight). Each
/// scrape waits for it at most the timeout Prometheus announces in
/// `X-Prometheus-Scrape-Timeout-Seconds` less 0.5 s (the header is brought into 100 ms..1 h);
/// the collection itself is cancelled only at its own [`timeout`](Self::timeout) or when the
/// last scrape waiting for it gave up, so a client announcing a tiny timeout cannot cut the
/// collection another scrape waits for. Each scrape the server (or
/// [`handle_request`](crate::handle_request)) answers serves the collection it waited for;
/// [`Registry::collect`] followed by [`Registry::render`] serves the newest one.
///
/// # Where failures are told
///
/// Each failed collection is logged as a `tracing` warning (target `promexport::collect`) with
/// the collector's prefix and the reason; install a subscriber (such as `tracing-subscriber`'s
/// `fmt()`) to see them. When no `tracing` subscriber is installed, a collector prints to stderr
/// instead, once per change of state: its first failure, a failure of another kind, its recovery
/// (not at every scrape).
///
/// ```
/// use promexport::{Collector, Format, Gauge, Metrics, Registry};
///
/// #[derive(Metrics)]
/// #[metrics(prefix = "queue", no_global)]
/// struct QueueMetrics {
///     /// Messages waiting.
///     depth: Gauge,
/// }
///
/// async fn read_queue() -> Result<QueueMetrics, std::io::Error> {
///     let metrics = QueueMetrics::new();
///     metrics.depth.set(42); // what the target reports
///     Ok(metrics)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), promexport::Error> {
/// let registry = Registry::new();
/// Collector::new("queue", read_queue).register_in(&registry)?; // or `.register()`: process-wide
/// registry.collect(None).await; // what the server does before each scrape
/// let text = registry.render(Format::Text);
/// assert!(text.contains("queue_up 1\n"));
/// assert!(text.contains("queue_depth 42\n"));
/// # Ok(())
/// # }
/// ```
pub struct Collector<M> {
    prefix: String,
    work: Work<M>,
    timeout: Duration,
    interval: Option<Duration>,
}

impl<M> std::fmt::Debug for Collector<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("interval", &self.interval)
            .field("blocking", &matches!(self.work, Work::Blocking(_)))
            .finish()
    }
}

impl<M: Collect + Default> Collector<M> {
    /// A collector whose async `collect` returns the metrics of one collection.
    ///
    /// `prefix` names its own metrics: `<prefix>_up`, `<prefix>_collection_duration_seconds`,
    /// `<prefix>_collection_errors_total{reason}` and `<prefix>_last_success_timestamp_seconds`.
    /// A collection that times out is cancelled (its future dropped).
    pub fn new<F, Fut, E>(prefix: &str, collect: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<M, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let collect: CollectFn<M> = Arc::new(move || {
            let future = collect();
            Box::pin(async move { future.await.map_err(Into::into) })
        });
        Self::with_work(prefix, Work::Async(collect))
    }

    fn with_work(prefix: &str, work: Work<M>) -> Self {
        Collector {
            prefix: prefix.to_owned(),
            work,
            timeout: DEFAULT_TIMEOUT,
            interval: None,
        }
    }

    /// A collector whose `collect` blocks (file or socket reads): it runs on tokio's blocking
    /// thread pool.
    ///
    /// A thread cannot be stopped: a collection that times out is *abandoned*. Its timeout is
    /// counted once, `<prefix>_collections_abandoned` is 1 until its thread returns, and no
    /// other collection of this collector starts meanwhile (scrapes and interval ticks report
    /// `<prefix>_up 0` at once, without counting another timeout), so a hung target holds one
    /// thread, not one per scrape. What it returns late is dropped. Give the closure its own
    /// I/O timeouts (`TcpStream::set_read_timeout`, `connect_timeout`), shorter than the
    /// collector's, so that it returns.
    pub fn blocking<F, E>(prefix: &str, collect: F) -> Self
    where
        F: Fn() -> Result<M, E> + Send + Sync + 'static,
        E: Into<BoxError> + Send + 'static,
        M: Send + 'static,
    {
        let collect: BlockingFn<M> = Arc::new(move || collect().map_err(Into::into));
        Self::with_work(prefix, Work::Blocking(collect))
    }

    /// The longest a collection may take (default 10 s). At scrape time Prometheus' own timeout
    /// (`X-Prometheus-Scrape-Timeout-Seconds`, less 0.5 s) applies when it is shorter.
    ///
    /// Registration refuses a zero timeout or one above [`MAX_TIMEOUT`](Self::MAX_TIMEOUT)
    /// (1 h) with [`Error::Config`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Collects every `interval` in the background instead of at each scrape; scrapes serve the
    /// last successful collection (nothing while the last one failed). Register it from a tokio
    /// runtime, which runs the collections; registration refuses a zero interval with
    /// [`Error::Config`].
    ///
    /// If no collection ends for three intervals plus the [`timeout`](Self::timeout) (the
    /// runtime it was registered on shut down, or is starved), or the loop's runtime is gone,
    /// the collector stops serving its last series and `<prefix>_up` is 0;
    /// `<prefix>_last_success_timestamp_seconds` still tells how old they were. Register it on
    /// a runtime that lives as long as the server (not a `#[tokio::test]`'s or a temporary one).
    ///
    /// ```
    /// use promexport::{Collector, Counter, Format, Metrics, Registry};
    /// use std::time::Duration;
    ///
    /// #[derive(Metrics)]
    /// #[metrics(prefix = "disk", no_global)]
    /// struct DiskMetrics {
    ///     /// Bytes read.
    ///     #[metric(unit = "bytes")]
    ///     read: Counter,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), promexport::Error> {
    /// let registry = Registry::new();
    /// Collector::blocking("disk", || {
    ///     let metrics = DiskMetrics::new();
    ///     metrics.read.inc_by(4096); // e.g. parsed from /proc/diskstats
    ///     Ok::<_, std::io::Error>(metrics)
    /// })
    /// .interval(Duration::from_millis(50))
    /// .register_in(&registry)?;
    /// tokio::time::sleep(Duration::from_millis(200)).await; // a collection or more
    /// let text = registry.render(Format::Text);
    /// assert!(text.contains("disk_up 1\n"));
    /// assert!(text.contains("disk_read_bytes_total 4096\n"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Registers the collector in the process-wide [`registry()`](crate::registry).
    ///
    /// Interval collectors start on the current tokio runtime.
    pub fn register(self) -> Result<(), Error> {
        self.register_in(crate::registry())
    }

    /// Registers the collector in `registry`.
    pub fn register_in(self, registry: &Registry) -> Result<(), Error>
    where
        M: Send + Sync + 'static,
    {
        if let Some(problem) = crate::naming::metric_name_problem(&self.prefix) {
            return Err(Error::InvalidName(problem));
        }
        self.check_durations()?;
        let interval = self.interval;
        if interval.is_some() && tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Config(format!(
                "collector `{}`: an interval collector needs a tokio runtime; register it from async code",
                self.prefix
            )));
        }
        let state = Arc::new(State::new(self));
        let stopped = Arc::clone(&state);
        registry.register_stoppable(state.clone(), Box::new(move || stopped.stop()))?;
        match interval {
            Some(interval) => {
                let task = tokio::spawn(Arc::clone(&state).run_every(interval));
                state.set_interval_loop(task.abort_handle());
            }
            None => registry.add_refresh(state),
        }
        Ok(())
    }
}

impl<M> Collector<M> {
    /// The longest [`timeout`](Self::timeout) a collector takes.
    pub const MAX_TIMEOUT: Duration = ANNOUNCED_TIMEOUT_RANGE.1;

    fn check_durations(&self) -> Result<(), Error> {
        let prefix = &self.prefix;
        if self.timeout.is_zero() || self.timeout > Self::MAX_TIMEOUT {
            return Err(Error::Config(format!(
                "collector `{prefix}`: timeout {:?} is not between 0 and {:?}",
                self.timeout,
                Self::MAX_TIMEOUT
            )));
        }
        if self.interval.is_some_and(|interval| interval.is_zero()) {
            return Err(Error::Config(format!(
                "collector `{prefix}`: the interval must be longer than zero"
            )));
        }
        Ok(())
    }
}

/// The shortest and longest scrape timeout taken from `X-Prometheus-Scrape-Timeout-Seconds`:
/// the header comes from whoever reaches the port, so any other value is brought into this range.
const ANNOUNCED_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(3600));

/// The time a collection may take within a scrape whose timeout Prometheus announced, or `None`
/// for a header that is not a positive number of seconds.
pub(crate) fn collection_timeout(header: &str) -> Option<Duration> {
    let seconds: f64 = header.trim().parse().ok().filter(|s: &f64| *s > 0.0)?;
    let (shortest, longest) = ANNOUNCED_TIMEOUT_RANGE;
    // `try_from`: a value past `Duration::MAX` (`1e300`, `inf`) is an error there, not a panic.
    let announced =
        Duration::try_from_secs_f64(seconds).map_or(longest, |d| d.clamp(shortest, longest));
    // Less the offset, but never less than half of it on very short timeouts.
    Some(announced.saturating_sub(TIMEOUT_OFFSET).max(announced / 2))
}

#[cfg(test)]
mod tests {
    use super::collection_timeout;
    use std::time::Duration;

    #[test]
    fn prometheus_timeouts_keep_an_offset() {
        assert_eq!(collection_timeout("10"), Some(Duration::from_millis(9500)));
        assert_eq!(collection_timeout("0.5"), Some(Duration::from_millis(250)));
        assert_eq!(collection_timeout("nope"), None);
        assert_eq!(collection_timeout("-1"), None);
    }

    #[test]
    fn any_announced_timeout_is_brought_into_range() {
        let (shortest, longest) = (Duration::from_millis(50), Duration::from_millis(3_599_500));
        for header in [
            "1e300",
            "1e20",
            "18446744073709551616",
            "inf",
            "+Infinity",
            "3601",
        ] {
            assert_eq!(collection_timeout(header), Some(longest), "{header}");
        }
        for header in ["1e-300", "0.000001", "5e-324", "0.1"] {
            assert_eq!(collection_timeout(header), Some(shortest), "{header}");
        }
        for header in ["0", "-0", "NaN", "-inf", "", " "] {
            assert_eq!(collection_timeout(header), None, "{header}");
        }
    }
}
