//! Collectors read at scrape time or on an interval: timeouts from Prometheus' header,
//! single-flight, failures that leave the scrape answering, and label sets that vanish.

use http_body_util::BodyExt;
use promexport::{Collector, Counter, Family, Format, Gauge, LabelSet, Metrics, Registry, Server};
use promexport_tests::{http_get, promtool_check_metrics, sample_value, wait_for};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct UpstreamLabels {
    upstream: String,
}

#[derive(Metrics)]
#[metrics(prefix = "target", no_global)]
struct TargetMetrics {
    /// Requests the target served.
    requests: Counter,
    /// Connections per upstream, as the target reported them.
    upstream_connections: Family<UpstreamLabels, Gauge>,
}

/// A registry served on an ephemeral port; scrape it with `scrape`.
struct Served {
    server: promexport::ServerHandle,
}

impl Served {
    fn new(registry: &Registry) -> Self {
        let server = Server::bind("127.0.0.1:0")
            .unwrap()
            .registry(registry.clone())
            .spawn()
            .unwrap();
        Served { server }
    }

    /// A scrape as Prometheus sends it, announcing `timeout_seconds`.
    fn scrape(&self, timeout_seconds: &str) -> String {
        let url = self.server.url();
        let (status, _, body) = http_get(
            &url,
            &[("X-Prometheus-Scrape-Timeout-Seconds", timeout_seconds)],
        );
        assert_eq!(status, 200, "a failed collector never fails the scrape");
        let text = String::from_utf8(body).unwrap();
        promtool_check_metrics(&text);
        text
    }
}

fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    sample_value(text, name, labels)
}

fn target_with(requests: u64, upstreams: &[(&str, i64)]) -> TargetMetrics {
    let metrics = TargetMetrics::new();
    metrics.requests.inc_by(requests);
    for (upstream, connections) in upstreams {
        let labels = UpstreamLabels {
            upstream: (*upstream).to_owned(),
        };
        metrics.upstream_connections.get(&labels).set(*connections);
    }
    metrics
}

/// A gauge the registry serves besides the collector, to show the rest of a scrape survives.
#[derive(Metrics)]
#[metrics(no_global)]
struct Bystander {
    /// Always served.
    bystander: Gauge,
}

fn registry_with_bystander() -> Registry {
    let registry = Registry::new();
    registry.register(Bystander::new()).unwrap();
    registry
}

#[test]
fn a_slow_target_is_cut_at_prometheus_timeout() {
    let registry = registry_with_bystander();
    Collector::new("slow", || async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<_, std::io::Error>(target_with(1, &[]))
    })
    .register_in(&registry)
    .unwrap();
    let served = Served::new(&registry);
    let started = Instant::now();
    let text = served.scrape("1");
    let took = started.elapsed();
    // The header announced 1 s: the collection gets 0.5 s of it, not the collector's 10 s.
    assert!(took < Duration::from_secs(5), "scrape took {took:?}");
    assert_eq!(value(&text, "slow_up", &[]), Some(0.0));
    assert_eq!(
        value(
            &text,
            "slow_collection_errors_total",
            &[("reason", "timeout")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&text, "bystander", &[]), Some(0.0));
    assert!(
        !text.contains("target_requests_total"),
        "no stale or partial series:\n{text}"
    );
    let never = value(&text, "slow_last_success_timestamp_seconds", &[]);
    assert_eq!(never, Some(0.0), "no success yet:\n{text}");
}

/// A scrape through the server's handler (no socket), announcing `timeout_seconds`.
fn handler_scrape(
    registry: &Registry,
    timeout_seconds: &str,
) -> impl Future<Output = String> + Send + 'static {
    let request = hyper::Request::get("/metrics")
        .header("accept", "text/plain")
        .header("x-prometheus-scrape-timeout-seconds", timeout_seconds)
        .body(())
        .unwrap();
    let registry = registry.clone();
    async move {
        let response = promexport::handle_request(&registry, &request).await;
        assert_eq!(
            response.status(),
            200,
            "a failed collector never fails the scrape"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }
}

/// Waits (at most 10 s, polling) until `check` holds.
async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A collector that reads `reads` up by one, then waits for a permit of `gate` before it
/// answers `answer(read)`.
fn gated<F>(
    prefix: &str,
    gate: &Arc<Semaphore>,
    reads: &Arc<AtomicU64>,
    answer: F,
) -> Collector<TargetMetrics>
where
    F: Fn(u64) -> Result<TargetMetrics, std::io::Error> + Send + Sync + Copy + 'static,
{
    let (gate, reads) = (gate.clone(), reads.clone());
    Collector::new(prefix, move || {
        let (gate, reads) = (gate.clone(), reads.clone());
        async move {
            let read = reads.fetch_add(1, Ordering::SeqCst) + 1;
            gate.acquire().await.expect("the gate stays open").forget();
            answer(read)
        }
    })
}

/// Spawns `scrapes` handler scrapes of `registry` and lets each of them start or join a
/// collection (on a current-thread runtime the spawned tasks run before the sleep ends).
async fn spawn_scrapes(
    registry: &Registry,
    timeout_seconds: &str,
    scrapes: usize,
) -> Vec<tokio::task::JoinHandle<String>> {
    let scrapes: Vec<_> = (0..scrapes)
        .map(|_| tokio::spawn(handler_scrape(registry, timeout_seconds)))
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    scrapes
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_scrapes_read_the_target_once() {
    let registry = Registry::new();
    let (gate, reads) = (Arc::new(Semaphore::new(0)), Arc::new(AtomicU64::new(0)));
    gated("shared", &gate, &reads, |read| Ok(target_with(read, &[])))
        .register_in(&registry)
        .unwrap();
    let scrapes = spawn_scrapes(&registry, "10", 4).await;
    gate.add_permits(1);
    for scrape in scrapes {
        let text = scrape.await.unwrap();
        assert_eq!(
            value(&text, "target_requests_total", &[]),
            Some(1.0),
            "{text}"
        );
        assert_eq!(value(&text, "shared_up", &[]), Some(1.0));
    }
    assert_eq!(
        reads.load(Ordering::SeqCst),
        1,
        "four scrapes, one read of the target"
    );
    // The next scrape reads again: nothing is cached between scrapes.
    gate.add_permits(1);
    let text = handler_scrape(&registry, "10").await;
    assert_eq!(value(&text, "target_requests_total", &[]), Some(2.0));
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_collection_is_counted_once_however_many_scrapes_wait_for_it() {
    let registry = Registry::new();
    let (gate, reads) = (Arc::new(Semaphore::new(0)), Arc::new(AtomicU64::new(0)));
    gated("refused", &gate, &reads, |_| {
        Err(std::io::Error::other("connection refused"))
    })
    .register_in(&registry)
    .unwrap();
    let scrapes = spawn_scrapes(&registry, "10", 4).await;
    gate.add_permits(1);
    for scrape in scrapes {
        let text = scrape.await.unwrap();
        assert_eq!(value(&text, "refused_up", &[]), Some(0.0), "{text}");
        let errors = value(
            &text,
            "refused_collection_errors_total",
            &[("reason", "error")],
        );
        assert_eq!(
            errors,
            Some(1.0),
            "one collection failed, whoever waited for it:\n{text}"
        );
    }
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_tiny_announced_timeout_cannot_abort_a_collection_another_scrape_waits_for() {
    let registry = Registry::new();
    let (gate, reads) = (Arc::new(Semaphore::new(0)), Arc::new(AtomicU64::new(0)));
    gated("shared", &gate, &reads, |read| Ok(target_with(read, &[])))
        .register_in(&registry)
        .unwrap();
    let patient = tokio::spawn(handler_scrape(&registry, "10"));
    until("the patient scrape's collection", || {
        reads.load(Ordering::SeqCst) == 1
    })
    .await;
    // Announces 1 µs: brought to 100 ms, of which the collection gets 50.
    let hasty = handler_scrape(&registry, "0.000001").await;
    assert_eq!(value(&hasty, "shared_up", &[]), Some(0.0), "{hasty}");
    assert!(!hasty.contains("target_requests_total"), "{hasty}");
    let timeouts = value(
        &hasty,
        "shared_collection_errors_total",
        &[("reason", "timeout")],
    );
    assert_eq!(timeouts, Some(0.0), "the collection goes on:\n{hasty}");
    gate.add_permits(1);
    let patient = patient.await.unwrap();
    assert_eq!(value(&patient, "shared_up", &[]), Some(1.0), "{patient}");
    assert_eq!(value(&patient, "target_requests_total", &[]), Some(1.0));
    let timeouts = value(
        &patient,
        "shared_collection_errors_total",
        &[("reason", "timeout")],
    );
    assert_eq!(timeouts, Some(0.0), "{patient}");
    assert_eq!(
        reads.load(Ordering::SeqCst),
        1,
        "the hasty scrape joined the collection"
    );
}

#[test]
fn errors_and_panics_are_counted_by_reason_and_leave_nothing_stale() {
    let registry = registry_with_bystander();
    let calls = Arc::new(AtomicU64::new(0));
    let counted = calls.clone();
    Collector::new("flaky", move || {
        let call = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            match call {
                0 => Ok(target_with(7, &[])),
                1 => Err(std::io::Error::other("connection refused")),
                _ => panic!("the collector's own bug"),
            }
        }
    })
    .register_in(&registry)
    .unwrap();
    let served = Served::new(&registry);
    let first = served.scrape("5");
    assert_eq!(value(&first, "flaky_up", &[]), Some(1.0));
    assert_eq!(value(&first, "target_requests_total", &[]), Some(7.0));
    let second = served.scrape("5");
    assert_eq!(value(&second, "flaky_up", &[]), Some(0.0));
    assert_eq!(
        value(
            &second,
            "flaky_collection_errors_total",
            &[("reason", "error")]
        ),
        Some(1.0)
    );
    assert!(
        !second.contains("target_requests_total"),
        "the last good values are not served"
    );
    let third = served.scrape("5");
    assert_eq!(value(&third, "flaky_up", &[]), Some(0.0));
    assert_eq!(
        value(
            &third,
            "flaky_collection_errors_total",
            &[("reason", "panic")]
        ),
        Some(1.0)
    );
    assert_eq!(value(&third, "bystander", &[]), Some(0.0));
}

#[test]
fn label_sets_that_vanish_from_the_target_vanish_from_the_scrape() {
    let registry = Registry::new();
    let calls = Arc::new(AtomicU64::new(0));
    let counted = calls.clone();
    Collector::new("proxy", move || {
        let call = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            let upstreams: &[(&str, i64)] = if call == 0 {
                &[("a", 1), ("b", 2)]
            } else {
                &[("a", 3)]
            };
            Ok::<_, std::io::Error>(target_with(0, upstreams))
        }
    })
    .register_in(&registry)
    .unwrap();
    let served = Served::new(&registry);
    let first = served.scrape("5");
    assert_eq!(
        value(&first, "target_upstream_connections", &[("upstream", "b")]),
        Some(2.0)
    );
    let second = served.scrape("5");
    assert_eq!(
        value(&second, "target_upstream_connections", &[("upstream", "a")]),
        Some(3.0)
    );
    assert_eq!(
        value(&second, "target_upstream_connections", &[("upstream", "b")]),
        None,
        "{second}"
    );
}

/// A blocking collector of `prefix` every `interval` on `runtime`, whose `n`-th read reports
/// `target_requests_total n`; returns the count of reads.
fn counting_interval_collector(
    runtime: &tokio::runtime::Runtime,
    registry: &Registry,
    prefix: &str,
    interval: Duration,
) -> Arc<AtomicU64> {
    let reads = Arc::new(AtomicU64::new(0));
    let counted = reads.clone();
    let _entered = runtime.enter();
    Collector::blocking(prefix, move || {
        let read = counted.fetch_add(1, Ordering::SeqCst) + 1;
        Ok::<_, std::io::Error>(target_with(read, &[]))
    })
    .interval(interval)
    .register_in(registry)
    .unwrap();
    reads
}

fn one_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn interval_collectors_serve_their_last_collection() {
    let runtime = one_worker_runtime();
    let registry = Registry::new();
    counting_interval_collector(&runtime, &registry, "polled", Duration::from_millis(100));
    let fresh = |at_least: f64| {
        wait_for("a newer collection", Duration::from_secs(10), || {
            let value = value(&registry.render(Format::Text), "target_requests_total", &[])?;
            (value >= at_least).then_some(value)
        })
    };
    let first = fresh(1.0);
    let later = fresh(first + 2.0);
    assert!(later >= first + 2.0);
}

#[test]
fn scrapes_never_run_an_interval_collection() {
    let runtime = one_worker_runtime();
    let registry = Registry::new();
    // The first tick is at once, the second in an hour: one read for the whole test.
    let hour = Duration::from_secs(3600);
    let reads = counting_interval_collector(&runtime, &registry, "hourly", hour);
    wait_for("the first collection", Duration::from_secs(10), || {
        let text = registry.render(Format::Text);
        (value(&text, "hourly_up", &[]) == Some(1.0)).then_some(())
    });
    let served = Served::new(&registry);
    for _ in 0..3 {
        let text = served.scrape("5");
        assert_eq!(value(&text, "hourly_up", &[]), Some(1.0));
        assert_eq!(value(&text, "target_requests_total", &[]), Some(1.0));
    }
    assert_eq!(
        reads.load(Ordering::SeqCst),
        1,
        "scrapes did not trigger collections"
    );
}

#[test]
fn a_huge_announced_timeout_is_a_long_scrape_not_a_crash() {
    let registry = registry_with_bystander();
    Collector::new("target", || async {
        Ok::<_, std::io::Error>(target_with(7, &[]))
    })
    .register_in(&registry)
    .unwrap();
    let served = Served::new(&registry);
    for header in ["1e300", "18446744073709551616", "inf", "1e-300"] {
        let text = served.scrape(header);
        assert_eq!(value(&text, "target_up", &[]), Some(1.0), "{header}");
        assert_eq!(
            value(&text, "target_requests_total", &[]),
            Some(7.0),
            "{header}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn out_of_range_timeouts_and_intervals_are_refused_at_registration() {
    let collector = || {
        Collector::new("target", || async {
            Ok::<_, std::io::Error>(target_with(0, &[]))
        })
    };
    let registry = Registry::new();
    for refused in [
        collector().timeout(Duration::MAX),
        collector().timeout(Duration::ZERO),
        collector().interval(Duration::ZERO),
    ] {
        let error = refused.register_in(&registry).unwrap_err();
        assert!(matches!(error, promexport::Error::Config(_)), "{error:?}");
        assert!(error.to_string().contains("collector `target`"), "{error}");
    }
    collector()
        .timeout(Collector::<TargetMetrics>::MAX_TIMEOUT)
        .register_in(&registry)
        .unwrap();
}

/// A gate blocking threads until it opens; opens when dropped, so a failing test frees them.
#[derive(Default)]
struct ThreadGate {
    open: std::sync::Mutex<bool>,
    opened: std::sync::Condvar,
}

impl ThreadGate {
    fn wait(&self) {
        let open = self.open.lock().unwrap();
        drop(self.opened.wait_while(open, |open| !*open).unwrap());
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

struct OpenOnDrop(Arc<ThreadGate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

#[test]
fn a_hung_blocking_collection_is_never_started_twice() {
    let registry = Registry::new();
    let gate = Arc::new(ThreadGate::default());
    let entered = Arc::new(AtomicU64::new(0));
    let (waiting, counted) = (gate.clone(), entered.clone());
    Collector::blocking("hung", move || {
        counted.fetch_add(1, Ordering::SeqCst);
        waiting.wait(); // a read without its own timeout
        Ok::<_, std::io::Error>(target_with(1, &[]))
    })
    .timeout(Duration::from_millis(500))
    .register_in(&registry)
    .unwrap();
    let served = Served::new(&registry);
    // Dropped before `served`, whose runtime waits for its blocking threads when it stops.
    let _open_at_the_end = OpenOnDrop(gate.clone());
    let text = wait_for(
        "a thread in the hung collection",
        Duration::from_secs(20),
        || {
            let text = served.scrape("10");
            (entered.load(Ordering::SeqCst) == 1).then_some(text)
        },
    );
    assert_eq!(value(&text, "hung_up", &[]), Some(0.0), "{text}");
    for _ in 0..5 {
        let started = Instant::now();
        let text = served.scrape("10");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no wait for the hung thread"
        );
        assert_eq!(value(&text, "hung_up", &[]), Some(0.0), "{text}");
        assert_eq!(
            value(&text, "hung_collections_abandoned", &[]),
            Some(1.0),
            "{text}"
        );
        assert!(!text.contains("target_requests_total"), "{text}");
    }
    let timeouts = value(
        &served.scrape("10"),
        "hung_collection_errors_total",
        &[("reason", "timeout")],
    );
    assert!(
        timeouts >= Some(1.0),
        "the abandoned collection timed out: {timeouts:?}"
    );
    assert_eq!(
        entered.load(Ordering::SeqCst),
        1,
        "one thread entered the closure"
    );
    gate.open();
    let text = wait_for(
        "a collection after the thread returned",
        Duration::from_secs(20),
        || {
            let text = served.scrape("10");
            (value(&text, "hung_up", &[]) == Some(1.0)).then_some(text)
        },
    );
    assert_eq!(
        value(&text, "hung_collections_abandoned", &[]),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "target_requests_total", &[]),
        Some(1.0),
        "{text}"
    );
    assert!(entered.load(Ordering::SeqCst) >= 2);
}

#[test]
fn a_timeout_shows_the_time_waited_as_the_duration() {
    let registry = Registry::new();
    let calls = Arc::new(AtomicU64::new(0));
    let counted = calls.clone();
    Collector::new("slowing", move || {
        let call = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            if call > 0 {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Ok::<_, std::io::Error>(target_with(1, &[]))
        }
    })
    .register_in(&registry)
    .unwrap();
    let served = Served::new(&registry);
    let quick = served.scrape("5");
    assert_eq!(value(&quick, "slowing_up", &[]), Some(1.0), "{quick}");
    // 1 s announced: waited for 0.5 s, shown by the scrape that waited.
    let cut = served.scrape("1");
    let waited = value(&cut, "slowing_collection_duration_seconds", &[]).unwrap();
    assert!((0.45..5.0).contains(&waited), "{waited}\n{cut}");
}

/// An interval collector registered on `runtime`, collecting every 100 ms (within 200 ms each);
/// the counter holds how many collections started.
fn interval_collector(registry: &Registry, runtime: &tokio::runtime::Runtime) -> Arc<AtomicU64> {
    let reads = Arc::new(AtomicU64::new(0));
    let counted = reads.clone();
    let _entered = runtime.enter();
    Collector::new("polled", move || {
        let read = counted.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok::<_, std::io::Error>(target_with(read, &[])) }
    })
    .interval(Duration::from_millis(100))
    .timeout(Duration::from_millis(200))
    .register_in(registry)
    .unwrap();
    reads
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn an_interval_collector_whose_runtime_is_gone_stops_serving() {
    let runtime = one_worker_runtime();
    let registry = Registry::new();
    let started = unix_now();
    interval_collector(&registry, &runtime);
    let text = wait_for("a collection", Duration::from_secs(10), || {
        let text = registry.render(Format::Text);
        (value(&text, "polled_up", &[]) == Some(1.0)).then_some(text)
    });
    assert!(text.contains("target_requests_total"), "{text}");
    let success = value(&text, "polled_last_success_timestamp_seconds", &[]).unwrap();
    assert!(
        success >= started.floor() && success <= unix_now() + 1.0,
        "{success}"
    );
    drop(runtime);
    let text = wait_for("the frozen series to go", Duration::from_secs(20), || {
        let text = registry.render(Format::Text);
        (value(&text, "polled_up", &[]) == Some(0.0)).then_some(text)
    });
    assert!(!text.contains("target_requests_total"), "{text}");
    let last = value(&text, "polled_last_success_timestamp_seconds", &[]).unwrap();
    assert!(last >= success, "the last success stays visible: {last}");
    let scraped = Served::new(&registry).scrape("5");
    assert_eq!(value(&scraped, "polled_up", &[]), Some(0.0), "{scraped}");
    assert!(!scraped.contains("target_requests_total"), "{scraped}");
}

#[test]
fn a_stalled_interval_collector_stops_serving_and_recovers() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let registry = Registry::new();
    let reads = interval_collector(&registry, &runtime);
    let up = |registry: &Registry| value(&registry.render(Format::Text), "polled_up", &[]);
    // A current-thread runtime runs its tasks only inside `block_on`: outside, the loop stalls.
    runtime.block_on(until("a collection", || up(&registry) == Some(1.0)));
    let stalled_at = reads.load(Ordering::SeqCst);
    let text = wait_for("the stalled series to go", Duration::from_secs(20), || {
        let text = registry.render(Format::Text);
        (value(&text, "polled_up", &[]) == Some(0.0)).then_some(text)
    });
    assert!(!text.contains("target_requests_total"), "{text}");
    assert_eq!(
        reads.load(Ordering::SeqCst),
        stalled_at,
        "no collection while stalled"
    );
    runtime.block_on(until("a collection after the stall", || {
        up(&registry) == Some(1.0)
    }));
    assert!(reads.load(Ordering::SeqCst) > stalled_at);
}

#[test]
fn a_hung_thread_is_not_started_twice_when_the_runtime_that_waited_for_it_is_gone() {
    let registry = Registry::new();
    let gate = Arc::new(ThreadGate::default());
    let _open_at_the_end = OpenOnDrop(gate.clone());
    let entered = Arc::new(AtomicU64::new(0));
    let (waiting, counted) = (gate.clone(), entered.clone());
    Collector::blocking("hung", move || {
        counted.fetch_add(1, Ordering::SeqCst);
        waiting.wait();
        Ok::<_, std::io::Error>(target_with(1, &[]))
    })
    .timeout(Duration::from_millis(500))
    .register_in(&registry)
    .unwrap();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = runtime();
    first.block_on(async {
        let scrape = tokio::spawn(handler_scrape(&registry, "10"));
        until("a thread in the hung collection", || {
            entered.load(Ordering::SeqCst) == 1
        })
        .await;
        scrape.await.unwrap()
    });
    // Gone with the task that waited for the thread; the thread runs on.
    first.shutdown_timeout(Duration::ZERO);
    let second = runtime();
    let text = second.block_on(handler_scrape(&registry, "10"));
    // Not dropped: that would wait for a thread it had started.
    second.shutdown_timeout(Duration::ZERO);
    assert_eq!(value(&text, "hung_up", &[]), Some(0.0), "{text}");
    assert_eq!(
        value(&text, "hung_collections_abandoned", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        entered.load(Ordering::SeqCst),
        1,
        "one thread entered the closure"
    );
}
