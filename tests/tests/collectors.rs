//! Collectors read at scrape time or on an interval: timeouts from Prometheus' header,
//! single-flight, failures that leave the scrape answering, and label sets that vanish.

use promexport::{Collector, Counter, Family, Format, Gauge, LabelSet, Metrics, Registry, Server};
use promexport_tests::{http_get, promtool_check_metrics, sample_value, wait_for};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
}

#[test]
fn concurrent_scrapes_read_the_target_once() {
    let registry = Registry::new();
    let reads = Arc::new(AtomicU64::new(0));
    let counted = reads.clone();
    Collector::new("shared", move || {
        let reads = counted.clone();
        async move {
            let read = reads.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok::<_, std::io::Error>(target_with(read, &[]))
        }
    })
    .register_in(&registry)
    .unwrap();
    let served = Arc::new(Served::new(&registry));
    let scrapes: Vec<_> = (0..4)
        .map(|_| {
            let served = served.clone();
            std::thread::spawn(move || served.scrape("10"))
        })
        .collect();
    for scrape in scrapes {
        let text = scrape.join().unwrap();
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
    let text = served.scrape("10");
    assert_eq!(value(&text, "target_requests_total", &[]), Some(2.0));
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

#[test]
fn interval_collectors_serve_their_last_collection() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let registry = Registry::new();
    let reads = Arc::new(AtomicU64::new(0));
    let counted = reads.clone();
    {
        let _entered = runtime.enter();
        Collector::blocking("polled", move || {
            let read = counted.fetch_add(1, Ordering::SeqCst) + 1;
            Ok::<_, std::io::Error>(target_with(read, &[]))
        })
        .interval(Duration::from_millis(100))
        .register_in(&registry)
        .unwrap();
    }
    let fresh = |at_least: f64| {
        wait_for("a newer collection", Duration::from_secs(10), || {
            let value = value(&registry.render(Format::Text), "target_requests_total", &[])?;
            (value >= at_least).then_some(value)
        })
    };
    let first = fresh(1.0);
    let later = fresh(first + 2.0);
    assert!(later >= first + 2.0);
    // Scrapes do not collect: only the interval does.
    let served = Served::new(&registry);
    let before = reads.load(Ordering::SeqCst);
    for _ in 0..3 {
        let text = served.scrape("5");
        assert_eq!(value(&text, "polled_up", &[]), Some(1.0));
    }
    assert!(
        reads.load(Ordering::SeqCst) - before < 10,
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
