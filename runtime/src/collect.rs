//! Collectors: metrics read from a target at scrape time or on an interval (see [`Collector`]).

use crate::Error;
use crate::encoding::{Encoder, Value};
use crate::metrics::{Counter, Descriptor, Gauge, MetricKind, Series};
use crate::registry::{Collect, FamilyDescription, Registry};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::Instant;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type CollectFuture<M> = Pin<Box<dyn Future<Output = Result<M, BoxError>> + Send>>;
type CollectFn<M> = Arc<dyn Fn() -> CollectFuture<M> + Send + Sync>;

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

type Outcome<M> = Result<Arc<M>, Failure>;

/// Metrics read from a target (a third-party program's status page, a socket, a file) when
/// Prometheus scrapes, or on an interval, with `<prefix>_up` and failure accounting.
///
/// Each collection builds a fresh metrics struct (a `#[derive(Metrics)]` with
/// `#[metrics(no_global)]`, so that only the collector serves it): label sets that vanished from
/// the target vanish from the exposition too. When a collection fails, times out or panics, the
/// scrape still answers 200 with every other metric, the collector's own series are left out
/// (never served stale), `<prefix>_up` is 0, `<prefix>_collection_errors_total{reason}` counts
/// it (`error`, `timeout`, `panic`) and a `tracing` warning says why.
///
/// At scrape time (the default), concurrent scrapes share one collection (single-flight), which
/// gets the timeout Prometheus announces in `X-Prometheus-Scrape-Timeout-Seconds` less 0.5 s, or
/// [`timeout`](Self::timeout) if shorter. A hung collection is abandoned at its deadline.
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
    collect: CollectFn<M>,
    timeout: Duration,
    interval: Option<Duration>,
}

impl<M> std::fmt::Debug for Collector<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("interval", &self.interval)
            .finish()
    }
}

impl<M: Collect + Default> Collector<M> {
    /// A collector whose async `collect` returns the metrics of one collection.
    ///
    /// `prefix` names its own metrics: `<prefix>_up`, `<prefix>_collection_duration_seconds`
    /// and `<prefix>_collection_errors_total{reason}`.
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
        Collector {
            prefix: prefix.to_owned(),
            collect,
            timeout: DEFAULT_TIMEOUT,
            interval: None,
        }
    }

    /// A collector whose `collect` blocks (file or socket reads): it runs on tokio's blocking
    /// thread pool.
    pub fn blocking<F, E>(prefix: &str, collect: F) -> Self
    where
        F: Fn() -> Result<M, E> + Send + Sync + 'static,
        E: Into<BoxError> + Send + 'static,
        M: Send + 'static,
    {
        let collect = Arc::new(collect);
        Self::new(prefix, move || {
            let collect = collect.clone();
            async move {
                match tokio::task::spawn_blocking(move || collect()).await {
                    Ok(result) => result.map_err(Into::into),
                    // A panic must surface as one: re-raise it in this task.
                    Err(error) => std::panic::resume_unwind(error.into_panic()),
                }
            }
        })
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
        registry.register(state.clone())?;
        match interval {
            Some(interval) => {
                tokio::spawn(state.run_every(interval));
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

/// A collector as registered: its last outcome and its own metrics.
struct State<M> {
    prefix: String,
    collect: CollectFn<M>,
    timeout: Duration,
    /// What scrapes serve: the last collection, if it succeeded.
    current: RwLock<Option<Arc<M>>>,
    in_flight: Mutex<Option<InFlight<M>>>,
    up: Gauge,
    duration: Gauge<f64>,
    errors: [Counter; 3],
    /// `_up`, `_collection_duration_seconds`, `_collection_errors`.
    own: [Descriptor; 3],
    families: Vec<FamilyDescription>,
}

struct InFlight<M> {
    result: watch::Receiver<Option<Outcome<M>>>,
    task: AbortHandle,
}

impl<M: Collect + Default> State<M> {
    fn new(collector: Collector<M>) -> Self {
        let prefix = collector.prefix;
        // Leaked once per collector, which lives as long as the process.
        let name = |suffix: &str| -> &'static str {
            Box::leak(format!("{prefix}_{suffix}").into_boxed_str())
        };
        let own = [
            Descriptor {
                name: name("up"),
                help: "Whether the last collection from the target succeeded (1) or not (0).",
                unit: None,
                kind: MetricKind::Gauge,
            },
            Descriptor {
                name: name("collection_duration_seconds"),
                help: "How long the last collection from the target took.",
                unit: Some("seconds"),
                kind: MetricKind::Gauge,
            },
            Descriptor {
                name: name("collection_errors"),
                help: "Collections from the target that produced nothing, by reason (error, timeout, panic).",
                unit: None,
                kind: MetricKind::Counter,
            },
        ];
        let mut families: Vec<FamilyDescription> =
            own.iter().map(FamilyDescription::from).collect();
        families.extend(M::default().describe());
        State {
            prefix,
            collect: collector.collect,
            timeout: collector.timeout,
            current: RwLock::new(None),
            in_flight: Mutex::new(None),
            up: Gauge::default(),
            duration: Gauge::default(),
            errors: Default::default(),
            own,
            families,
        }
    }
}

impl<M: Collect + Default + Send + Sync + 'static> State<M> {
    /// Starts a collection, or joins the one in flight (single-flight: concurrent scrapes read
    /// the target once).
    fn start(self: &Arc<Self>) -> watch::Receiver<Option<Outcome<M>>> {
        let mut slot = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(in_flight) = slot.as_ref().filter(|f| f.result.borrow().is_none()) {
            return in_flight.result.clone();
        }
        let (sender, receiver) = watch::channel(None);
        // Its own task: a panic becomes a `JoinError`, and a timeout can abort it.
        let collection = tokio::spawn((self.collect)());
        let task = collection.abort_handle();
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let started = Instant::now();
            let outcome = match collection.await {
                Ok(Ok(metrics)) => Ok(Arc::new(metrics)),
                Ok(Err(error)) => {
                    tracing::warn!(collector = %this.prefix, %error, "collection failed");
                    Err(Failure::Error)
                }
                Err(error) if error.is_panic() => {
                    tracing::warn!(collector = %this.prefix, "collection panicked");
                    Err(Failure::Panic)
                }
                // Aborted after a timeout, which the waiting scrape reports.
                Err(_) => Err(Failure::Timeout),
            };
            this.duration.set(started.elapsed().as_secs_f64());
            let _ = sender.send(Some(outcome));
        });
        *slot = Some(InFlight {
            result: receiver.clone(),
            task,
        });
        receiver
    }

    /// Waits for a collection until `deadline` and applies its outcome.
    async fn finish(
        self: Arc<Self>,
        mut result: watch::Receiver<Option<Outcome<M>>>,
        deadline: Instant,
    ) {
        let waited = tokio::time::timeout_at(deadline, result.wait_for(Option::is_some)).await;
        let waited = waited.map(|outcome| outcome.map(|outcome| outcome.clone()));
        let outcome = match waited {
            Ok(Ok(outcome)) => outcome.unwrap_or(Err(Failure::Error)),
            Ok(Err(_closed)) => Err(Failure::Error),
            Err(_elapsed) => {
                self.abandon(&result);
                tracing::warn!(collector = %self.prefix, "collection timed out");
                Err(Failure::Timeout)
            }
        };
        self.apply(outcome);
    }

    /// Aborts the collection behind `result` if it is still the one in flight, so the next
    /// scrape starts afresh instead of joining a hung one.
    fn abandon(&self, result: &watch::Receiver<Option<Outcome<M>>>) {
        let mut slot = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|f| f.result.same_channel(result)) {
            if let Some(in_flight) = slot.take() {
                in_flight.task.abort();
            }
        }
    }

    fn apply(&self, outcome: Outcome<M>) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        match outcome {
            Ok(metrics) => {
                *current = Some(metrics);
                self.up.set(1);
            }
            Err(failure) => {
                *current = None;
                self.up.set(0);
                self.errors[failure as usize].inc();
            }
        }
    }

    async fn run_every(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let result = self.start();
            Arc::clone(&self)
                .finish(result, Instant::now() + self.timeout)
                .await;
        }
    }
}

/// A collector that reads its target when scraped.
pub(crate) trait Refresh: Send + Sync {
    /// Starts (or joins) a collection now; the future waits for it, at most `scrape_timeout`.
    fn refresh(
        self: Arc<Self>,
        scrape_timeout: Option<Duration>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

impl<M: Collect + Default + Send + Sync + 'static> Refresh for State<M> {
    fn refresh(
        self: Arc<Self>,
        scrape_timeout: Option<Duration>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let timeout = scrape_timeout.map_or(self.timeout, |t| t.min(self.timeout));
        let result = self.start();
        Box::pin(self.finish(result, Instant::now() + timeout))
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

impl<M: Collect + Default + Send + Sync + 'static> Collect for State<M> {
    fn describe(&self) -> Vec<FamilyDescription> {
        self.families.clone()
    }

    fn declared_by(&self, index: usize) -> Option<String> {
        if let Some(own) = self.own.get(index) {
            return Some(format!(
                "the collector `{}`'s own `{}`",
                self.prefix, own.name
            ));
        }
        // Only asked when naming a clash, so a fresh `M` is cheap enough.
        M::default()
            .declared_by(index - self.own.len())
            .or_else(|| Some(format!("`{}`", std::any::type_name::<M>())))
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        let [up, duration, errors] = &self.own;
        self.up.encode(&mut encoder.family(up, ""), "");
        self.duration.encode(&mut encoder.family(duration, ""), "");
        let mut family = encoder.family(errors, "");
        for failure in Failure::ALL {
            let value = Value::U64(self.errors[failure as usize].get());
            family.sample("_total", "", Some(("reason", failure.reason())), value);
        }
        let current = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(metrics) = current {
            metrics.encode(encoder);
        }
    }
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
