//! `#[metric(native(...))]` on `NativeHistogram` fields and families: the options reach the
//! histogram, text and OpenMetrics serve its classic part, which promtool and Python's parser
//! accept, and a real Prometheus scraping protobuf stores its native part.

use promexport::{
    Family, Format, LabelSet, LabelValue, Metrics, NativeHistogram, Registry, Server,
};
use promexport_tests::{
    Prometheus, TempDir, http_get, promtool_check_metrics, python_parse, sample_value, wait_for,
};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct RequestLabels {
    method: Method,
}

#[derive(Metrics)]
#[metrics(prefix = "native", no_global)]
struct NativeMetrics {
    /// Request durations, native and classic.
    #[metric(
        unit = "seconds",
        buckets = [0.1, 1.0],
        native(
            factor = 1.5,
            zero_threshold = 1e-6,
            max_buckets = 50,
            min_reset = "1h30m",
            max_zero_threshold = 1e-3,
            max_exemplars = 3,
            exemplar_ttl = "90s",
        )
    )]
    request_duration: NativeHistogram,
    /// Payload sizes, native only, with the defaults.
    #[metric(unit = "bytes", native)]
    payload: NativeHistogram,
    /// Durations by method.
    #[metric(unit = "seconds", native(factor = 2, max_buckets = 0, min_reset = "0"))]
    handler_duration: Family<RequestLabels, NativeHistogram>,
}

#[test]
fn the_attribute_sets_every_option() {
    let metrics = NativeMetrics::new();
    let options = metrics.request_duration.options();
    assert_eq!(options.factor, 1.5);
    assert_eq!(options.zero_threshold, 1e-6);
    assert_eq!(options.max_buckets, 50);
    assert_eq!(options.min_reset, Duration::from_secs(5400));
    assert_eq!(options.max_zero_threshold, 1e-3);
    assert_eq!(options.max_exemplars, 3);
    assert_eq!(options.exemplar_ttl, Duration::from_secs(90));
    assert_eq!(options.classic_buckets, [0.1, 1.0]);
    assert_eq!(
        metrics.request_duration.snapshot().schema,
        1,
        "2^(1/2) <= 1.5"
    );
    assert_eq!(
        *metrics.payload.options(),
        promexport::NativeHistogramOptions::DEFAULT
    );
    let get = metrics.handler_duration.get(&RequestLabels {
        method: Method::Get,
    });
    assert_eq!(get.options().factor, 2.0);
    assert_eq!(get.options().max_buckets, 0);
    assert_eq!(get.options().min_reset, Duration::ZERO);
}

#[test]
fn text_serves_the_classic_part() {
    let registry = Registry::new();
    let metrics = Arc::new(NativeMetrics::new());
    registry.register(metrics.clone()).unwrap();
    for seconds in [0.05, 0.5, 5.0] {
        metrics.request_duration.observe(seconds);
    }
    metrics.payload.observe(1024.0);
    metrics
        .handler_duration
        .get(&RequestLabels {
            method: Method::Post,
        })
        .observe(0.2);
    let _ = Method::Get;
    let text = registry.render(Format::Text);
    let bucket = |le: &str| {
        sample_value(
            &text,
            "native_request_duration_seconds_bucket",
            &[("le", le)],
        )
    };
    assert_eq!(bucket("0.1"), Some(1.0), "{text}");
    assert_eq!(bucket("1.0"), Some(2.0));
    assert_eq!(bucket("+Inf"), Some(3.0));
    assert_eq!(
        sample_value(&text, "native_request_duration_seconds_sum", &[]),
        Some(5.55)
    );
    assert_eq!(
        sample_value(&text, "native_payload_bytes_bucket", &[("le", "+Inf")]),
        Some(1.0),
        "native only: +Inf, sum and count"
    );
    assert_eq!(
        sample_value(
            &text,
            "native_handler_duration_seconds_count",
            &[("method", "post")]
        ),
        Some(1.0)
    );
    assert_eq!(promtool_check_metrics(&text), "");
    let open_metrics = registry.render(Format::OpenMetrics);
    let families = python_parse(&open_metrics, true);
    let family = families
        .iter()
        .find(|family| family.name == "native_request_duration_seconds")
        .expect("the family parses");
    assert_eq!(family.kind, "histogram");
}

/// `text` as a URL query value.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of an instant query that gives exactly one sample.
fn only_value(prometheus: &mut Prometheus, query: &str) -> Option<f64> {
    let answer = prometheus.api(&format!("/api/v1/query?query={}", query_value(query)))?;
    let answer: serde_json::Value = serde_json::from_str(&answer).ok()?;
    let [sample] = answer["data"]["result"].as_array()?.as_slice() else {
        return None;
    };
    sample["value"][1].as_str()?.parse().ok()
}

#[test]
fn a_real_prometheus_stores_the_native_histogram() {
    let registry = Registry::new();
    let metrics = Arc::new(NativeMetrics::new());
    registry.register(metrics.clone()).unwrap();
    for seconds in [0.05, 0.5, 5.0] {
        metrics.request_duration.observe(seconds);
    }
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    let dir = TempDir::new("prometheus-native");
    let target = server.local_addr();
    let mut prometheus = Prometheus::start_with_flags(
        &dir,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: native\n    static_configs:\n      - targets: ['{target}']\n"
        ),
        &["--enable-feature=native-histograms"],
    );
    let query = |prometheus: &mut Prometheus, query: &str| only_value(prometheus, query);
    // Prometheus keeps only the native part of a histogram that has both: a count from
    // `histogram_count` is the native histogram.
    let count = wait_for(
        "Prometheus to store the native histogram",
        Duration::from_secs(60),
        || {
            query(
                &mut prometheus,
                "histogram_count(native_request_duration_seconds)",
            )
        },
    );
    assert_eq!(count, 3.0);
    let sum = query(
        &mut prometheus,
        "histogram_sum(native_request_duration_seconds)",
    );
    assert_eq!(sum, Some(5.55));
    // Schema 1: 0.5 = 2^-1 ends its bucket (2^-1.5, 2^-1], where the median falls.
    let median = query(
        &mut prometheus,
        "histogram_quantile(0.5, native_request_duration_seconds)",
    )
    .expect("a median");
    assert!((2f64.powf(-1.5)..=0.5).contains(&median), "{median}");
    let (status, _, text) = http_get(&server.url(), &[]);
    assert_eq!(status, 200);
    let text = String::from_utf8(text).unwrap();
    assert_eq!(promtool_check_metrics(&text), "", "the same server's text");
    server.shutdown().unwrap();
}
