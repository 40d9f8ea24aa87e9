//! Exemplars: kept per histogram bucket, served in OpenMetrics only, read back by an independent
//! parser and stored by a real Prometheus with exemplar storage enabled.

use promexport::{Format, Histogram, Metrics, Registry, Server};
use promexport_tests::{Prometheus, TempDir, promtool_check_metrics, run_with_stdin, wait_for};
use std::sync::Arc;
use std::time::Duration;

#[derive(Metrics)]
#[metrics(no_global)]
struct Checkout {
    /// Time to check out.
    #[metric(unit = "seconds", buckets = [0.1, 0.5, 1.0])]
    checkout_duration: Histogram,
}

/// Each `_bucket` sample's `le`, exemplar labels and exemplar value, as Python's
/// prometheus_client reads them from OpenMetrics.
const EXEMPLARS: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        if s.name.endswith("_bucket") and s.exemplar:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.exemplar.labels.items()))
            print(s.labels["le"], labels, s.exemplar.value, s.exemplar.timestamp is not None)
"#;

fn checkout_registry() -> (Registry, Arc<Checkout>) {
    let registry = Registry::new();
    let checkout = Arc::new(Checkout::new());
    registry.register(checkout.clone()).unwrap();
    (registry, checkout)
}

#[test]
fn exemplars_are_served_in_openmetrics_only() {
    let (registry, checkout) = checkout_registry();
    let latency = &checkout.checkout_duration;
    latency.observe(0.05);
    latency
        .observe_with_exemplar(0.3, &[("trace_id", "aaa"), ("span", "\"quoted\"")])
        .unwrap();
    latency
        .observe_with_exemplar(0.4, &[("trace_id", "bbb")])
        .unwrap();
    latency
        .observe_with_exemplar(7.0, &[("trace_id", "ccc")])
        .unwrap();
    // Refused labels: the observation still counts, the exemplar does not replace the last one.
    let long = "x".repeat(200);
    assert!(
        latency
            .observe_with_exemplar(0.2, &[("trace_id", &long)])
            .is_err()
    );
    assert!(latency.observe_with_exemplar(0.2, &[("1st", "x")]).is_err());
    assert_eq!(latency.count(), 6);

    let text = registry.render(Format::Text);
    assert!(!text.contains(" # {"), "{text}");
    assert_eq!(promtool_check_metrics(&text), "");

    let open_metrics = registry.render(Format::OpenMetrics);
    let parsed = run_with_stdin("python3", &["-c", EXEMPLARS], &open_metrics);
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let parsed = String::from_utf8(parsed.stdout).unwrap();
    // The latest exemplar of each bucket that has one: 0.5 (bbb replaced aaa) and +Inf.
    assert_eq!(
        parsed, "0.5 trace_id=bbb 0.4 True\n+Inf trace_id=ccc 7.0 True\n",
        "{open_metrics}"
    );
}

#[test]
fn a_real_prometheus_stores_the_exemplars() {
    let (registry, checkout) = checkout_registry();
    checkout
        .checkout_duration
        .observe_with_exemplar(0.3, &[("trace_id", "4bf92f3577b34da6")])
        .unwrap();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    let dir = TempDir::new("prometheus-exemplars");
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: checkout\n    static_configs:\n      - targets: ['{}']\n",
        server.local_addr()
    );
    let mut prometheus =
        Prometheus::start_with_flags(&dir, &config, &["--enable-feature=exemplar-storage"]);
    let answer = wait_for(
        "Prometheus to store the exemplar",
        Duration::from_secs(60),
        || {
            let query = "/api/v1/query_exemplars?query=checkout_duration_seconds_bucket\
                         &start=0&end=9999999999";
            let body = prometheus.api(query)?;
            body.contains("4bf92f3577b34da6").then_some(body)
        },
    );
    assert!(answer.contains("\"value\":\"0.3\""), "{answer}");
}
