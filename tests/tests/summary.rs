//! Summaries and gauge histograms checked by the real tools: promtool and prometheus_client
//! (Python) read both text formats, and a real Prometheus scrapes a summary's quantiles.

use promexport::{Family, Format, GaugeHistogram, LabelSet, Metrics, Registry, Server, Summary};
use promexport_tests::{
    Prometheus, TempDir, go_decode, promtool_check_metrics, python_parse, wait_for,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct QueueLabels {
    queue: &'static str,
}

#[derive(Metrics)]
#[metrics(prefix = "jobs", no_global)]
struct JobMetrics {
    /// Time to run a job.
    #[metric(unit = "seconds", quantiles(0.5 = 0.05, 0.9 = 0.01, 0.99 = 0.001))]
    run: Summary,
    /// Time to run a job, by queue.
    #[metric(unit = "seconds", quantiles(0.5 = 0.05), max_age = "2m", age_buckets = 2)]
    queue_run: Family<QueueLabels, Summary>,
    /// Jobs waiting, by time waited.
    #[metric(unit = "seconds", buckets = [1, 10, 60])]
    waiting: Family<QueueLabels, GaugeHistogram>,
    /// Bytes per job: count and sum only.
    #[metric(unit = "bytes")]
    size: Summary,
}

fn filled() -> (Registry, Arc<JobMetrics>) {
    let registry = Registry::new();
    let metrics = Arc::new(JobMetrics::new());
    registry.register(metrics.clone()).unwrap();
    for millis in 1..=1000 {
        metrics.run.observe(f64::from(millis) / 1000.0);
    }
    let mail = QueueLabels { queue: "mail" };
    let print = QueueLabels { queue: "print" };
    metrics.queue_run.get(&mail).observe(0.25);
    metrics.queue_run.get(&print).observe(4.0);
    let waiting = metrics.waiting.get(&mail);
    waiting.observe(0.5);
    waiting.observe(30.0);
    waiting.observe(100.0);
    waiting.remove(100.0);
    metrics.waiting.get(&print).observe(5.0);
    metrics.size.observe(2048.0);
    (registry, metrics)
}

fn value(
    families: &[promexport_tests::ParsedFamily],
    sample: &str,
    labels: &[(&str, &str)],
) -> f64 {
    let found = families
        .iter()
        .flat_map(|family| &family.samples)
        .find(|parsed| {
            parsed.name == sample
                && labels.len() == parsed.labels.len()
                && labels
                    .iter()
                    .all(|(name, value)| parsed.labels.iter().any(|(n, v)| n == name && v == value))
        });
    match found {
        Some(parsed) => parsed.value,
        None => panic!("no {sample}{labels:?} in {families:#?}"),
    }
}

#[test]
fn promtool_and_prometheus_client_read_both_formats() {
    let (registry, _metrics) = filled();
    for format in [Format::Text, Format::OpenMetrics] {
        let exposition = registry.render(format);
        // promtool 2.42's `check metrics` reads text 0.0.4 only.
        if format == Format::Text {
            let lint = promtool_check_metrics(&exposition);
            assert!(
                !lint.contains("jobs_"),
                "promtool lints our families: {lint}\n{exposition}"
            );
        }
        let families = python_parse(&exposition, format == Format::OpenMetrics);
        let kind = |name: &str| {
            families
                .iter()
                .find(|family| family.name == name)
                .map(|family| family.kind.clone())
                .unwrap_or_else(|| panic!("no family {name}: {families:#?}"))
        };
        assert_eq!(kind("jobs_run_seconds"), "summary", "{format:?}");
        assert_eq!(kind("jobs_size_bytes"), "summary", "{format:?}");
        // The rank of 0.9 among 1..=1000 ms is 900 ± 10.
        let p90 = value(&families, "jobs_run_seconds", &[("quantile", "0.9")]);
        assert!((0.89..=0.91).contains(&p90), "{p90}");
        assert_eq!(value(&families, "jobs_run_seconds_count", &[]), 1000.0);
        assert_eq!(value(&families, "jobs_run_seconds_sum", &[]), 500.5);
        assert_eq!(
            value(
                &families,
                "jobs_queue_run_seconds",
                &[("queue", "print"), ("quantile", "0.5")]
            ),
            4.0
        );
        assert_eq!(value(&families, "jobs_size_bytes_sum", &[]), 2048.0);
        let mail = [("queue", "mail")];
        let bucket = |le| {
            value(
                &families,
                "jobs_waiting_seconds_bucket",
                &[("queue", "mail"), ("le", le)],
            )
        };
        assert_eq!(
            [
                bucket("1.0"),
                bucket("10.0"),
                bucket("60.0"),
                bucket("+Inf")
            ],
            [1.0, 1.0, 2.0, 2.0]
        );
        assert_eq!(value(&families, "jobs_waiting_seconds_gcount", &mail), 2.0);
        assert_eq!(value(&families, "jobs_waiting_seconds_gsum", &mail), 30.5);
        if format == Format::OpenMetrics {
            assert_eq!(kind("jobs_waiting_seconds"), "gaugehistogram");
        } else {
            // As prometheus_client writes it: a histogram of the buckets and two gauges.
            assert_eq!(kind("jobs_waiting_seconds"), "histogram");
            assert_eq!(kind("jobs_waiting_seconds_gcount"), "gauge");
            assert_eq!(kind("jobs_waiting_seconds_gsum"), "gauge");
        }
    }
}

#[test]
fn client_golang_decodes_the_protobuf_summaries_and_gauge_histograms() {
    let (registry, metrics) = filled();
    let families = go_decode(&registry.render_bytes(Format::Protobuf));
    let family = |name: &str| {
        families
            .iter()
            .find(|family| family["name"] == name)
            .unwrap_or_else(|| panic!("no family {name} in {families:#?}"))
    };
    for family in &families {
        assert_eq!(family["unknown"], json!([]), "{family}");
    }
    let run = family("jobs_run_seconds");
    assert_eq!(run["type"], "SUMMARY");
    let summary = &run["metrics"][0]["summary"];
    assert_eq!(summary["count"], 1000);
    assert_eq!(summary["sum"], "500.5");
    let quantiles = summary["quantiles"].as_array().expect("quantiles");
    let served: Vec<(f64, f64)> = quantiles
        .iter()
        .map(|q| {
            let number = |key: &str| q[key].as_str().unwrap().parse::<f64>().unwrap();
            (number("quantile"), number("value"))
        })
        .collect();
    assert_eq!(served.len(), 3, "{summary}");
    for ((quantile, value), allowed) in served.iter().zip([0.05, 0.01, 0.001]) {
        // Among 1..=1000 ms, the value at rank r is r ms: within max(0.001 n, 1) ranks.
        assert!(
            (value - quantile).abs() <= 0.001 + 1e-9,
            "{quantile}: {value} ({allowed})"
        );
    }
    let created = metrics
        .run
        .created()
        .time()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert_eq!(summary["created"]["seconds"], created.as_secs());
    let size = &family("jobs_size_bytes")["metrics"][0]["summary"];
    assert_eq!(size["quantiles"], json!([]));
    assert_eq!(size["sum"], "2048");

    let waiting = family("jobs_waiting_seconds");
    assert_eq!(waiting["type"], "GAUGE_HISTOGRAM");
    let mail = waiting["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|metric| metric["labels"] == json!([["queue", "mail"]]))
        .expect("the mail queue");
    let histogram = &mail["histogram"];
    assert_eq!(histogram["count"], 2);
    assert_eq!(histogram["sum"], "30.5");
    let counts: Vec<u64> = histogram["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|bucket| bucket["cumulative_count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 1, 2], "{histogram}");
}

#[test]
fn a_real_prometheus_queries_the_quantiles_it_scraped() {
    let (registry, metrics) = filled();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    let dir = TempDir::new("prometheus-summary");
    let mut prometheus = Prometheus::start(
        &dir,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: jobs\n    static_configs:\n      - targets: ['{}']\n",
            server.local_addr()
        ),
    );
    // `jobs_run_seconds{quantile="0.99"}`: rank 990 ± 1 of 1..=1000 ms.
    let query = "/api/v1/query?query=jobs_run_seconds%7Bquantile%3D%220.99%22%7D";
    let p99 = wait_for(
        "Prometheus to store the 0.99 quantile",
        Duration::from_secs(90),
        || {
            let answer = prometheus.api(query)?;
            only_value(&answer)?.parse::<f64>().ok()
        },
    );
    assert!((0.989..=0.991).contains(&p99), "{p99}");
    // New observations show in the next scrapes' quantiles.
    for _ in 0..10_000 {
        metrics
            .queue_run
            .get(&QueueLabels { queue: "mail" })
            .observe(8.0);
    }
    let query =
        "/api/v1/query?query=jobs_queue_run_seconds%7Bqueue%3D%22mail%22%2Cquantile%3D%220.5%22%7D";
    wait_for(
        "the mail queue's median to move to 8",
        Duration::from_secs(60),
        || {
            let answer = prometheus.api(query)?;
            (only_value(&answer)?.as_str() == "8").then_some(())
        },
    );
    let count = "/api/v1/query?query=jobs_queue_run_seconds_count%7Bqueue%3D%22mail%22%7D";
    wait_for("the mail queue's count", Duration::from_secs(60), || {
        let answer = prometheus.api(count)?;
        (only_value(&answer)?.as_str() == "10001").then_some(())
    });
    server.shutdown().unwrap();
}

/// The value of an instant-query answer that holds exactly one sample.
fn only_value(answer: &str) -> Option<String> {
    let (_, rest) = answer.split_once("\"result\":[{")?;
    if rest.contains("},{") {
        return None;
    }
    let (_, value) = rest.split_once("\"value\":[")?;
    let (_timestamp, value) = value.split_once(",\"")?;
    let (value, _) = value.split_once('"')?;
    Some(value.to_owned())
}
