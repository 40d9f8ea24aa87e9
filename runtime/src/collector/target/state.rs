//! A registered collector: one collection at a time (single-flight), each outcome applied once,
//! and the collector's own metrics.

use super::blocking::{BlockingThreads, Thread};
use super::report::{self, Health, StderrReport};
use super::{BoxError, Collector, Failure, Work, scrape};
use crate::encoding::{Encoder, FamilyEncoder, Labels, Value};
use crate::metrics::{Counter, Gauge, MetricKind, Series};
use crate::registry::{Collect, FamilyDescription};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, watch};
use tokio::task::{AbortHandle, JoinError};
use tokio::time::Instant;

/// How many intervals an interval collector may go without a collection ending (besides the
/// timeout one may take) before its series are taken as frozen: its loop died with its runtime,
/// or is starved.
pub(super) const MISSED_INTERVALS: u32 = 3;

/// How long the last scrape to give up on a collection waits for the cancelled collection to be
/// counted (its task does it as soon as it is told): within the part of Prometheus' timeout kept
/// for encoding and the network.
const CANCEL_GRACE: Duration = Duration::from_millis(250);

type Outcome<M> = Result<Arc<M>, Failure>;
type OutcomeReceiver<M> = watch::Receiver<Option<Outcome<M>>>;

/// Tells the collectors apart in what a scrape waited for.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A collector as registered.
pub(super) struct State<M> {
    id: u64,
    prefix: String,
    work: Work<M>,
    timeout: Duration,
    interval: Option<Duration>,
    flight: Mutex<Flight<M>>,
    served: RwLock<Served<M>>,
    /// The interval loop's task, finished when its runtime shut down.
    interval_loop: OnceLock<AbortHandle>,
    duration: Gauge<f64>,
    last_success: Gauge<f64>,
    threads: Arc<BlockingThreads>,
    errors: [Counter; 3],
    stderr: Mutex<StderrReport>,
    own: OwnDescriptors,
    families: Vec<FamilyDescription>,
}

struct OwnDescriptors {
    up: OwnFamily,
    duration: OwnFamily,
    errors: OwnFamily,
    last_success: OwnFamily,
    /// Blocking collectors only: async ones are cancelled, never left running.
    abandoned: Option<OwnFamily>,
}

/// One of a collector's own families: its name is the collector's prefix and a suffix, owned
/// (not leaked), so a registry dropped with its collectors frees them.
struct OwnFamily {
    name: String,
    help: &'static str,
    unit: Option<&'static str>,
    kind: MetricKind,
}

impl OwnFamily {
    fn start<'e>(&'e self, encoder: &'e mut Encoder<'_>) -> FamilyEncoder<'e> {
        encoder.family_parts(&self.name, self.help, self.unit, self.kind, "")
    }

    fn description(&self) -> FamilyDescription {
        FamilyDescription {
            name: Cow::Owned(self.name.clone()),
            kind: self.kind,
            help: Cow::Borrowed(self.help),
        }
    }
}

impl OwnDescriptors {
    /// In the order `describe` lists them, before the families of `M`.
    fn all(&self) -> impl Iterator<Item = &OwnFamily> {
        [&self.up, &self.duration, &self.errors, &self.last_success]
            .into_iter()
            .chain(self.abandoned.as_ref())
    }
}

/// What scrapes serve when they did not wait for a collection (interval collectors,
/// [`Registry::collect`](crate::Registry::collect) callers): the newest outcome applied.
struct Served<M> {
    generation: u64,
    metrics: Option<Arc<M>>,
    /// When the last collection ended, or the collector was registered.
    ended_at: std::time::Instant,
}

struct Flight<M> {
    /// Collections started so far: the generation of the newest.
    started: u64,
    current: Option<InFlight<M>>,
}

struct InFlight<M> {
    generation: u64,
    result: OutcomeReceiver<M>,
    /// Scrapes (or the interval loop) waiting for it; the last to give up cancels it.
    waiters: usize,
    everyone_gave_up: Arc<Notify>,
    /// Timed out (and counted) while its blocking thread runs on: no collection starts before
    /// that thread returns.
    abandoned: bool,
}

/// How a waiter takes part in a collection.
enum Joined<M: Collect + Default + Send + Sync + 'static> {
    Waiting(Waiter<M>),
    /// An abandoned blocking collection still runs.
    Abandoned,
    /// No collection could start.
    Refused,
}

/// One waiter of the collection in flight; leaving (or being dropped, when a scrape's client
/// goes away) lets the collection be cancelled once nobody waits.
struct Waiter<M: Collect + Default + Send + Sync + 'static> {
    state: Arc<State<M>>,
    generation: u64,
    result: OutcomeReceiver<M>,
    left: bool,
}

/// Why a collection was stopped before it ended.
enum Stopped {
    Deadline,
    EveryoneGaveUp,
}

impl<M: Collect + Default> State<M> {
    pub(super) fn new(collector: Collector<M>) -> Self {
        let prefix = collector.prefix;
        let name = |suffix: &str| format!("{prefix}_{suffix}");
        let gauge = |name, help, unit| OwnFamily {
            name,
            help,
            unit,
            kind: MetricKind::Gauge,
        };
        let own = OwnDescriptors {
            up: gauge(
                name("up"),
                "Whether the last collection from the target succeeded (1) or not (0).",
                None,
            ),
            duration: gauge(
                name("collection_duration_seconds"),
                "How long the last collection from the target took (waited for, if it timed out).",
                Some("seconds"),
            ),
            errors: OwnFamily {
                name: name("collection_errors"),
                help: "Collections from the target that produced nothing, by reason (error, timeout, panic).",
                unit: None,
                kind: MetricKind::Counter,
            },
            last_success: gauge(
                name("last_success_timestamp_seconds"),
                "When the last successful collection from the target ended, in Unix seconds (0: never).",
                Some("seconds"),
            ),
            abandoned: matches!(collector.work, Work::Blocking(_)).then(|| {
                gauge(
                    name("collections_abandoned"),
                    "Collections that timed out but whose blocking thread has not returned (at most 1).",
                    None,
                )
            }),
        };
        let mut families: Vec<FamilyDescription> = own.all().map(OwnFamily::description).collect();
        families.extend(M::default().describe());
        State {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            prefix,
            work: collector.work,
            timeout: collector.timeout,
            interval: collector.interval,
            flight: Mutex::new(Flight {
                started: 0,
                current: None,
            }),
            served: RwLock::new(Served {
                generation: 0,
                metrics: None,
                ended_at: std::time::Instant::now(),
            }),
            interval_loop: OnceLock::new(),
            duration: Gauge::default(),
            last_success: Gauge::default(),
            threads: Arc::default(),
            errors: Default::default(),
            stderr: Mutex::default(),
            own,
            families,
        }
    }
}

impl<M: Collect + Default + Send + Sync + 'static> State<M> {
    fn flight(&self) -> MutexGuard<'_, Flight<M>> {
        self.flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Joins the collection in flight, or starts one (single-flight: concurrent scrapes read the
    /// target once).
    fn join(self: &Arc<Self>) -> Joined<M> {
        let mut flight = self.flight();
        // A collection whose task is gone (its runtime shut down) never ends: start afresh.
        let alive = |f: &InFlight<M>| f.result.has_changed().is_ok();
        if let Some(in_flight) = flight.current.as_mut().filter(|f| alive(f)) {
            if in_flight.abandoned {
                return Joined::Abandoned;
            }
            in_flight.waiters += 1;
            return Joined::Waiting(Waiter {
                state: Arc::clone(self),
                generation: in_flight.generation,
                result: in_flight.result.clone(),
                left: false,
            });
        }
        // Even when the task that gave up on it is gone: a thread is never started twice.
        if self.threads.any_running() {
            return Joined::Abandoned;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            drop(flight);
            report::warn(
                &self.prefix,
                Failure::Error,
                "collected outside a tokio runtime",
            );
            return Joined::Refused;
        };
        flight.started += 1;
        let generation = flight.started;
        let (sender, result) = watch::channel(None);
        let everyone_gave_up = Arc::new(Notify::new());
        flight.current = Some(InFlight {
            generation,
            result: result.clone(),
            waiters: 1,
            everyone_gave_up: Arc::clone(&everyone_gave_up),
            abandoned: false,
        });
        drop(flight);
        // Its own task, which alone applies the outcome: waiters may give up, it never does.
        let started = Instant::now();
        runtime.spawn(Arc::clone(self).run(generation, sender, everyone_gave_up, started));
        Joined::Waiting(Waiter {
            state: Arc::clone(self),
            generation,
            result,
            left: false,
        })
    }

    /// Waits for the collection joined, until `deadline` if any, and returns its outcome.
    async fn wait(joined: Joined<M>, deadline: Option<Instant>) -> Outcome<M> {
        let mut waiter = match joined {
            Joined::Waiting(waiter) => waiter,
            Joined::Abandoned => return Err(Failure::Timeout),
            Joined::Refused => return Err(Failure::Error),
        };
        let mut result = waiter.result.clone();
        let ended = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, outcome_of(&mut result))
                .await
                .ok(),
            None => Some(outcome_of(&mut result).await),
        };
        match ended {
            Some(outcome) => outcome,
            None if waiter.leave() => {
                // This scrape cancelled it: its outcome, counted, is this scrape's too.
                tokio::time::timeout(CANCEL_GRACE, outcome_of(&mut result))
                    .await
                    .unwrap_or(Err(Failure::Timeout))
            }
            None => Err(Failure::Timeout),
        }
    }

    /// Runs collection `generation`, stops it at the collector's timeout or when every waiter
    /// gave up, and applies its outcome.
    async fn run(
        self: Arc<Self>,
        generation: u64,
        sender: watch::Sender<Option<Outcome<M>>>,
        everyone_gave_up: Arc<Notify>,
        started: Instant,
    ) {
        let stop = self.until_stopped(generation, &everyone_gave_up, started + self.timeout);
        match &self.work {
            Work::Async(collect) => {
                // Its own task: a panic becomes a `JoinError`.
                let mut task = tokio::spawn(collect());
                tokio::select! {
                    joined = &mut task => self.end(generation, ended(joined), started, &sender),
                    stopped = stop => {
                        task.abort();
                        let detail = self.stopped_detail(&stopped, started, "");
                        self.end(generation, (Err(Failure::Timeout), detail), started, &sender);
                    }
                }
            }
            Work::Blocking(collect) => {
                let (collect, threads) = (Arc::clone(collect), Arc::clone(&self.threads));
                let thread = Arc::new(Thread::default());
                let its_thread = Arc::clone(&thread);
                let mut task =
                    tokio::task::spawn_blocking(move || threads.run(&its_thread, || collect()));
                tokio::select! {
                    joined = &mut task => self.end(generation, ended(joined), started, &sender),
                    stopped = stop => {
                        // Cancels a thread that has not started; one that runs runs on.
                        task.abort();
                        self.threads.abandon(&thread);
                        let detail = self.stopped_detail(
                            &stopped,
                            started,
                            "; its thread runs on, and no collection starts before it returns \
                             (give the closure its own I/O timeouts)",
                        );
                        let timed_out = (Err(Failure::Timeout), detail);
                        self.end_abandoned(generation, timed_out, started, &sender);
                        let late = task.await;
                        self.clear(generation);
                        let late = match late {
                            Ok(Ok(_)) => "succeeded".to_owned(),
                            Ok(Err(error)) => format!("failed: {error}"),
                            Err(error) => format!("ended: {error}"),
                        };
                        tracing::info!(
                            target: "promexport::collect",
                            collector = %self.prefix,
                            after = ?started.elapsed(),
                            "an abandoned collection returned (unused): {late}"
                        );
                    }
                }
            }
        }
    }

    /// Ends when collection `generation` is past `deadline` or nobody waits for it any more.
    async fn until_stopped(
        &self,
        generation: u64,
        everyone_gave_up: &Notify,
        deadline: Instant,
    ) -> Stopped {
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return Stopped::Deadline,
                () = everyone_gave_up.notified() => {
                    // A scrape may have joined since the last one left.
                    let waiters = self.flight().current.as_ref()
                        .filter(|f| f.generation == generation)
                        .map_or(0, |f| f.waiters);
                    if waiters == 0 {
                        return Stopped::EveryoneGaveUp;
                    }
                }
            }
        }
    }

    fn stopped_detail(&self, stopped: &Stopped, started: Instant, more: &str) -> String {
        match stopped {
            Stopped::Deadline => format!(
                "no answer within the collector's timeout ({} ms){more}",
                self.timeout.as_millis()
            ),
            Stopped::EveryoneGaveUp => format!(
                "no answer within {} ms, when the scrapes waiting for it gave up{more}",
                started.elapsed().as_millis()
            ),
        }
    }

    /// Applies the outcome of collection `generation`, then hands it to its waiters; the next
    /// scrape starts a new collection.
    fn end(
        &self,
        generation: u64,
        (outcome, detail): (Outcome<M>, String),
        started: Instant,
        sender: &watch::Sender<Option<Outcome<M>>>,
    ) {
        self.apply(generation, &outcome, started.elapsed(), &detail);
        let flight = self.flight();
        sender.send_replace(Some(outcome));
        self.clear_locked(flight, generation);
    }

    /// As [`end`](Self::end), for a blocking collection whose thread runs on: it stays in
    /// flight, and scrapes meanwhile report a timeout at once.
    fn end_abandoned(
        &self,
        generation: u64,
        (outcome, detail): (Outcome<M>, String),
        started: Instant,
        sender: &watch::Sender<Option<Outcome<M>>>,
    ) {
        self.apply(generation, &outcome, started.elapsed(), &detail);
        let mut flight = self.flight();
        sender.send_replace(Some(outcome));
        if let Some(in_flight) = flight
            .current
            .as_mut()
            .filter(|f| f.generation == generation)
        {
            in_flight.abandoned = true;
        }
    }

    /// Forgets collection `generation` once its thread returned, so that the next one starts.
    fn clear(&self, generation: u64) {
        self.clear_locked(self.flight(), generation);
    }

    fn clear_locked(&self, mut flight: MutexGuard<'_, Flight<M>>, generation: u64) {
        if flight
            .current
            .as_ref()
            .is_some_and(|f| f.generation == generation)
        {
            flight.current = None;
        }
    }

    fn apply(&self, generation: u64, outcome: &Outcome<M>, took: Duration, detail: &str) {
        let mut served = self.served.write().unwrap_or_else(PoisonError::into_inner);
        // Collections run one at a time, so outcomes come in order; an older one never wins.
        if generation < served.generation {
            return;
        }
        served.generation = generation;
        served.metrics = outcome.as_ref().ok().cloned();
        served.ended_at = std::time::Instant::now();
        self.duration.set(took.as_secs_f64());
        let health = match outcome {
            Ok(_) => {
                self.last_success.set(unix_seconds());
                Health::Up
            }
            Err(failure) => {
                self.errors[*failure as usize].inc();
                Health::Failing(*failure)
            }
        };
        drop(served);
        if let Health::Failing(failure) = health {
            report::warn(&self.prefix, failure, detail);
        }
        let mut stderr = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(line) = stderr.line(&self.prefix, health, detail) {
            if report::tracing_is_silent() {
                eprintln!("{line}");
            }
        }
    }

    /// Collects every `interval`, on the runtime it is spawned on.
    pub(super) async fn run_every(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let _outcome_applied = Self::wait(self.join(), None).await;
        }
    }

    /// Unregistered: the interval loop ends (a scrape-time collector has none).
    pub(super) fn stop(&self) {
        if let Some(task) = self.interval_loop.get() {
            task.abort();
        }
    }

    pub(super) fn set_interval_loop(&self, task: AbortHandle) {
        let _set_once_at_registration = self.interval_loop.set(task);
    }

    /// What a scrape that did not wait for a collection serves: nothing from a frozen interval
    /// loop.
    fn served(&self) -> Option<Arc<M>> {
        let served = self.served.read().unwrap_or_else(PoisonError::into_inner);
        let Some(interval) = self.interval else {
            return served.metrics.clone();
        };
        let dead = self
            .interval_loop
            .get()
            .is_some_and(AbortHandle::is_finished);
        let frozen = served.ended_at.elapsed() > frozen_after(interval, self.timeout);
        if dead || frozen {
            return None;
        }
        served.metrics.clone()
    }
}

/// The outcome handed to the waiters of a collection, once there.
async fn outcome_of<M>(result: &mut OutcomeReceiver<M>) -> Outcome<M> {
    match result.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or(Err(Failure::Timeout)),
        // Closed: the collection's task was dropped with its runtime.
        Err(_closed) => Err(Failure::Timeout),
    }
}

/// How long an interval loop may go without a collection ending before its series are frozen.
pub(super) fn frozen_after(interval: Duration, timeout: Duration) -> Duration {
    interval
        .saturating_mul(MISSED_INTERVALS)
        .saturating_add(timeout)
}

fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// The outcome of a collection that ended, and what to log when it failed.
fn ended<M>(joined: Result<Result<M, BoxError>, JoinError>) -> (Outcome<M>, String) {
    match joined {
        Ok(Ok(metrics)) => (Ok(Arc::new(metrics)), String::new()),
        Ok(Err(error)) => (Err(Failure::Error), error.to_string()),
        Err(error) if error.is_panic() => {
            let panic = error.into_panic();
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("a panic without a message");
            (Err(Failure::Panic), format!("panicked: {message}"))
        }
        // Cancelled: its runtime is shutting down.
        Err(error) => (Err(Failure::Timeout), error.to_string()),
    }
}

impl<M: Collect + Default + Send + Sync + 'static> Waiter<M> {
    /// Stops waiting; true if this was the last waiter, which cancels the collection.
    fn leave(&mut self) -> bool {
        if std::mem::replace(&mut self.left, true) {
            return false;
        }
        let mut flight = self.state.flight();
        let Some(in_flight) = flight
            .current
            .as_mut()
            .filter(|f| f.generation == self.generation && !f.abandoned)
        else {
            return false;
        };
        in_flight.waiters -= 1;
        let last = in_flight.waiters == 0;
        if last {
            in_flight.everyone_gave_up.notify_one();
        }
        last
    }
}

impl<M: Collect + Default + Send + Sync + 'static> Drop for Waiter<M> {
    fn drop(&mut self) {
        self.leave();
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
        let deadline = Instant::now() + timeout;
        let joined = self.join();
        Box::pin(async move {
            let outcome = Self::wait(joined, Some(deadline)).await;
            scrape::record(self.id, outcome.ok());
        })
    }
}

impl<M: Collect + Default + Send + Sync + 'static> Collect for State<M> {
    fn describe(&self) -> Vec<FamilyDescription> {
        self.families.clone()
    }

    fn declared_by(&self, index: usize) -> Option<String> {
        let own = self.own.all().count();
        if let Some(descriptor) = self.own.all().nth(index) {
            return Some(format!(
                "the collector `{}`'s own `{}`",
                self.prefix, descriptor.name
            ));
        }
        // Only asked when naming a clash, so a fresh `M` is cheap enough.
        M::default()
            .declared_by(index - own)
            .or_else(|| Some(format!("`{}`", std::any::type_name::<M>())))
    }

    fn label_names(&self, index: usize) -> Option<Vec<Cow<'static, str>>> {
        let own = self.own.all().count();
        match self.own.all().nth(index) {
            Some(family) if family.name == self.own.errors.name => {
                Some(vec![Cow::Borrowed("reason")])
            }
            Some(_) => Some(Vec::new()),
            None => M::default().label_names(index - own),
        }
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        let metrics = scrape::recorded::<M>(self.id).unwrap_or_else(|| self.served());
        let own = &self.own;
        let up = Value::I64(i64::from(metrics.is_some()));
        own.up.start(encoder).gauge("", up);
        self.duration.encode(&mut own.duration.start(encoder), "");
        let mut family = own.errors.start(encoder);
        for failure in Failure::ALL {
            let errors = &self.errors[failure as usize];
            let labels = Labels::NONE.with("reason", failure.reason());
            family.counter(
                labels,
                Value::U64(errors.get()),
                Some(errors.created()),
                None,
            );
        }
        drop(family);
        self.last_success
            .encode(&mut own.last_success.start(encoder), "");
        if let Some(abandoned) = &own.abandoned {
            self.threads
                .abandoned
                .encode(&mut abandoned.start(encoder), "");
        }
        if let Some(metrics) = metrics {
            metrics.encode(encoder);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::frozen_after;
    use crate::collector::own_collections;
    use crate::{Collector, Counter, Format, Registry};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    #[derive(crate::Metrics)]
    #[metrics(crate = crate, prefix = "target", no_global)]
    struct TargetMetrics {
        /// Requests the target served.
        requests: Counter,
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_scrape_serves_the_collection_it_waited_for() {
        let registry = Registry::new();
        let calls = Arc::new(AtomicU64::new(0));
        Collector::new("flip", move || {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if call > 0 {
                    return Err(std::io::Error::other("down"));
                }
                let metrics = TargetMetrics::new();
                metrics.requests.inc_by(7);
                Ok(metrics)
            }
        })
        .register_in(&registry)
        .unwrap();
        let text = own_collections(async {
            registry.collect(None).await;
            // Another scrape's collection fails before this one encodes.
            let other = registry.clone();
            tokio::spawn(async move { other.collect(None).await })
                .await
                .unwrap();
            registry.render(Format::Text)
        })
        .await;
        assert!(text.contains("flip_up 1\n"), "{text}");
        assert!(text.contains("target_requests_total 7\n"), "{text}");
        assert!(
            text.contains("flip_collection_errors_total{reason=\"error\"} 1\n"),
            "{text}"
        );
        // Outside a scrape: the newest outcome.
        let newest = registry.render(Format::Text);
        assert!(newest.contains("flip_up 0\n"), "{newest}");
        assert!(!newest.contains("target_requests_total"), "{newest}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_unregistered_collector_is_collected_no_more_and_its_prefix_is_free() {
        let registry = Registry::new();
        let calls = Arc::new(AtomicU64::new(0));
        let collector = || {
            let calls = calls.clone();
            Collector::new("gone", move || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, std::io::Error>(TargetMetrics::new()) }
            })
        };
        let interval = Duration::from_millis(10);
        collector()
            .interval(interval)
            .register_in(&registry)
            .unwrap();
        // Until the loop has run (a loaded machine or Miri can take much longer than 10 ms).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while calls.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(interval).await;
        }
        assert!(calls.load(Ordering::SeqCst) > 0);
        assert!(registry.unregister_collector("gone"));
        let after = calls.load(Ordering::SeqCst);
        tokio::time::sleep(interval * 5).await;
        assert_eq!(calls.load(Ordering::SeqCst), after, "the loop stopped");
        assert!(!registry.render(Format::Text).contains("gone_up"));
        assert!(!registry.unregister_collector("gone"));

        collector().register_in(&registry).unwrap();
        registry.collect(None).await;
        assert_eq!(calls.load(Ordering::SeqCst), after + 1);
        assert!(registry.unregister_collector("gone"));
        registry.collect(None).await;
        assert_eq!(calls.load(Ordering::SeqCst), after + 1, "not refreshed");
        assert!(registry.families().is_empty());
    }

    #[test]
    fn an_interval_loop_is_frozen_after_three_missed_intervals_and_a_timeout() {
        let (interval, timeout) = (Duration::from_millis(100), Duration::from_millis(200));
        assert_eq!(frozen_after(interval, timeout), Duration::from_millis(500));
        assert_eq!(frozen_after(Duration::MAX, timeout), Duration::MAX);
    }
}
