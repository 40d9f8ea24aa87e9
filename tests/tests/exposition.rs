//! Exact exposition of every field type in both formats, checked by promtool and by an
//! independent parser (Python's prometheus_client).

use promexport::{
    Counter, Family, Format, Gauge, Histogram, Info, LabelSet, LabelValue, Metrics, Registry,
    StateSet,
};
use promexport_tests::{ParsedSample, promtool_check_metrics, python_parse};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    #[label(rename = "POST")]
    Post,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Health {
    Healthy,
    Unhealthy,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct RouteLabels {
    method: Method,
    cached: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct PathLabels {
    path: String,
    code: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct VersionLabels {
    version: &'static str,
}

#[derive(Metrics)]
#[metrics(prefix = "shop", const_labels(region = "eu"))]
struct ShopMetrics {
    /// Orders placed.
    orders: Counter,
    /// Revenue in euros.
    #[metric(unit = "euros")]
    revenue: Counter<f64>,
    /// Open carts.
    carts: Gauge,
    /// Temperature of the warehouse.
    #[metric(name = "warehouse_temperature", unit = "celsius")]
    temperature: Gauge<f64>,
    /// Checkout latency.
    #[metric(unit = "seconds", buckets = [0.1, 1])]
    checkout: Histogram,
    /// Requests by route.
    #[metric(preinit)]
    requests: Family<RouteLabels, Counter>,
    /// Responses by path.
    responses: Family<PathLabels, Gauge>,
    /// Health of the shop.
    health: StateSet<Health>,
    /// Version of the shop.
    version: Info<VersionLabels>,
}

fn filled() -> (Registry, Arc<ShopMetrics>) {
    let registry = Registry::new();
    let metrics = Arc::new(ShopMetrics::new());
    registry.register(metrics.clone()).unwrap();
    metrics.orders.inc_by(3);
    metrics.revenue.inc_by(12.5);
    metrics.carts.set(-2);
    metrics.temperature.set(21.25);
    metrics.checkout.observe(0.05);
    metrics.checkout.observe(0.5);
    metrics.checkout.observe(2.0);
    let get = RouteLabels {
        method: Method::Get,
        cached: true,
    };
    metrics.requests.get(&get).inc();
    metrics
        .responses
        .get(&PathLabels {
            path: "/a\"b\\c\nd é".into(),
            code: 404,
        })
        .set(7);
    metrics.health.set(Health::Healthy);
    metrics.version.set(VersionLabels { version: "1.2.3" });
    (registry, metrics)
}

const TEXT: &str = r#"# HELP shop_orders_total Orders placed.
# TYPE shop_orders_total counter
shop_orders_total{region="eu"} 3
# HELP shop_revenue_euros_total Revenue in euros.
# TYPE shop_revenue_euros_total counter
shop_revenue_euros_total{region="eu"} 12.5
# HELP shop_carts Open carts.
# TYPE shop_carts gauge
shop_carts{region="eu"} -2
# HELP shop_warehouse_temperature_celsius Temperature of the warehouse.
# TYPE shop_warehouse_temperature_celsius gauge
shop_warehouse_temperature_celsius{region="eu"} 21.25
# HELP shop_checkout_seconds Checkout latency.
# TYPE shop_checkout_seconds histogram
shop_checkout_seconds_bucket{region="eu",le="0.1"} 1
shop_checkout_seconds_bucket{region="eu",le="1.0"} 2
shop_checkout_seconds_bucket{region="eu",le="+Inf"} 3
shop_checkout_seconds_sum{region="eu"} 2.55
shop_checkout_seconds_count{region="eu"} 3
# HELP shop_requests_total Requests by route.
# TYPE shop_requests_total counter
shop_requests_total{region="eu",method="get",cached="false"} 0
shop_requests_total{region="eu",method="get",cached="true"} 1
shop_requests_total{region="eu",method="POST",cached="false"} 0
shop_requests_total{region="eu",method="POST",cached="true"} 0
# HELP shop_responses Responses by path.
# TYPE shop_responses gauge
shop_responses{region="eu",path="/a\"b\\c\nd é",code="404"} 7
# HELP shop_health Health of the shop.
# TYPE shop_health gauge
shop_health{region="eu",shop_health="healthy"} 1
shop_health{region="eu",shop_health="unhealthy"} 0
# HELP shop_version_info Version of the shop.
# TYPE shop_version_info gauge
shop_version_info{region="eu",version="1.2.3"} 1
"#;

const OPEN_METRICS: &str = r#"# TYPE shop_orders counter
# HELP shop_orders Orders placed.
shop_orders_total{region="eu"} 3
# TYPE shop_revenue_euros counter
# UNIT shop_revenue_euros euros
# HELP shop_revenue_euros Revenue in euros.
shop_revenue_euros_total{region="eu"} 12.5
# TYPE shop_carts gauge
# HELP shop_carts Open carts.
shop_carts{region="eu"} -2
# TYPE shop_warehouse_temperature_celsius gauge
# UNIT shop_warehouse_temperature_celsius celsius
# HELP shop_warehouse_temperature_celsius Temperature of the warehouse.
shop_warehouse_temperature_celsius{region="eu"} 21.25
# TYPE shop_checkout_seconds histogram
# UNIT shop_checkout_seconds seconds
# HELP shop_checkout_seconds Checkout latency.
shop_checkout_seconds_bucket{region="eu",le="0.1"} 1
shop_checkout_seconds_bucket{region="eu",le="1.0"} 2
shop_checkout_seconds_bucket{region="eu",le="+Inf"} 3
shop_checkout_seconds_sum{region="eu"} 2.55
shop_checkout_seconds_count{region="eu"} 3
# TYPE shop_requests counter
# HELP shop_requests Requests by route.
shop_requests_total{region="eu",method="get",cached="false"} 0
shop_requests_total{region="eu",method="get",cached="true"} 1
shop_requests_total{region="eu",method="POST",cached="false"} 0
shop_requests_total{region="eu",method="POST",cached="true"} 0
# TYPE shop_responses gauge
# HELP shop_responses Responses by path.
shop_responses{region="eu",path="/a\"b\\c\nd é",code="404"} 7
# TYPE shop_health stateset
# HELP shop_health Health of the shop.
shop_health{region="eu",shop_health="healthy"} 1
shop_health{region="eu",shop_health="unhealthy"} 0
# TYPE shop_version info
# HELP shop_version Version of the shop.
shop_version_info{region="eu",version="1.2.3"} 1
# EOF
"#;

#[test]
fn text_format_is_exact() {
    let (registry, _metrics) = filled();
    assert_eq!(registry.render(Format::Text), TEXT);
}

#[test]
fn open_metrics_format_is_exact() {
    let (registry, _metrics) = filled();
    assert_eq!(registry.render(Format::OpenMetrics), OPEN_METRICS);
}

// promtool 2.42 (Debian bookworm) parses text 0.0.4 only; the OpenMetrics output is checked by
// prometheus_client's strict OpenMetrics parser here and by a real Prometheus scrape in
// `prometheus_server.rs`.
#[test]
fn promtool_accepts_the_text_format() {
    let (registry, _metrics) = filled();
    let lint = promtool_check_metrics(&registry.render(Format::Text));
    assert_eq!(lint, "", "no lint warnings expected");
}

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> ParsedSample {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    ParsedSample {
        name: name.into(),
        labels,
        value,
    }
}

fn format_of(open_metrics: bool) -> Format {
    if open_metrics {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

#[test]
fn independent_parser_reads_the_same_values() {
    let (registry, _metrics) = filled();
    for open_metrics in [false, true] {
        let format = format_of(open_metrics);
        let families = python_parse(&registry.render(format), open_metrics);
        let by_name = |name: &str| {
            families
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("{name} in {families:#?}"))
        };

        let responses = by_name("shop_responses");
        assert_eq!(
            responses.samples,
            [sample(
                "shop_responses",
                &[("region", "eu"), ("path", "/a\"b\\c\nd é"), ("code", "404")],
                7.0
            )]
        );
        assert_eq!(
            by_name("shop_orders").samples,
            [sample("shop_orders_total", &[("region", "eu")], 3.0)]
        );
        let health = by_name("shop_health");
        assert_eq!(health.kind, if open_metrics { "stateset" } else { "gauge" });
        assert_eq!(
            health.samples[0],
            sample(
                "shop_health",
                &[("region", "eu"), ("shop_health", "healthy")],
                1.0
            )
        );
        let checkout = by_name("shop_checkout_seconds");
        assert_eq!(checkout.kind, "histogram");
        assert_eq!(checkout.samples.len(), 5);
        if open_metrics {
            assert_eq!(checkout.unit, "seconds");
            assert_eq!(by_name("shop_version").kind, "info");
        }
    }
}

#[test]
fn label_values_of_any_text_round_trip() {
    let registry = Registry::new();
    let metrics = Arc::new(ShopMetrics::new());
    registry.register(metrics.clone()).unwrap();
    let nasty = [
        "",
        "\\",
        "\"",
        "\n",
        "\\n",
        "\"\\\"",
        "tab\there",
        "ünïcödé ✓ 日本語 🦀",
        "{a=\"b\"}, c",
        "\r\u{7f}\u{1}",
    ];
    for (code, path) in nasty.iter().enumerate() {
        metrics
            .responses
            .get(&PathLabels {
                path: (*path).to_owned(),
                code: code as u16,
            })
            .set(code as i64);
    }
    for open_metrics in [false, true] {
        let format = format_of(open_metrics);
        let text = registry.render(format);
        if !open_metrics {
            promtool_check_metrics(&text);
        }
        let families = python_parse(&text, open_metrics);
        let responses = families
            .iter()
            .find(|f| f.name == "shop_responses")
            .unwrap();
        // Series of an open label set are served in no particular order.
        let mut parsed: Vec<(String, f64)> = responses
            .samples
            .iter()
            .map(|s| {
                (
                    s.labels
                        .iter()
                        .find(|(k, _)| k == "path")
                        .unwrap()
                        .1
                        .clone(),
                    s.value,
                )
            })
            .collect();
        let mut expected: Vec<(String, f64)> = nasty
            .iter()
            .enumerate()
            .map(|(i, p)| (p.to_string(), i as f64))
            .collect();
        parsed.sort_by(|a, b| a.0.cmp(&b.0));
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(parsed, expected, "{format:?}");
    }
}

#[test]
fn preinit_label_sets_are_created_up_front_and_open_ones_on_use() {
    let metrics = ShopMetrics::new();
    assert_eq!(metrics.requests.len(), 4, "2 methods x 2 booleans");
    assert!(metrics.responses.is_empty());
    let labels = PathLabels {
        path: "/".into(),
        code: 200,
    };
    metrics.responses.get(&labels).inc();
    metrics.responses.get(&labels.clone()).inc();
    assert_eq!(metrics.responses.len(), 1);
    assert_eq!(metrics.responses.get(&labels).get(), 2);
}

#[test]
fn help_text_is_escaped() {
    #[derive(Metrics)]
    struct Odd {
        /// Back\slash and "quotes".
        odd: Gauge,
    }
    let registry = Registry::new();
    registry.register(Odd::new()).unwrap();
    let text = registry.render(Format::Text);
    assert!(
        text.contains("# HELP odd Back\\\\slash and \"quotes\".\n"),
        "{text}"
    );
    let open_metrics = registry.render(Format::OpenMetrics);
    assert!(
        open_metrics.contains("# HELP odd Back\\\\slash and \\\"quotes\\\".\n"),
        "{open_metrics}"
    );
    for open_metrics in [false, true] {
        let format = format_of(open_metrics);
        let families = python_parse(&registry.render(format), open_metrics);
        assert_eq!(families[0].help, "Back\\slash and \"quotes\".");
    }
}

#[test]
fn foreign_prometheus_collectors_are_served_too() {
    let registry = Registry::new();
    let counter = prometheus::IntCounterVec::new(
        prometheus::Opts::new("legacy_jobs_total", "Jobs of the legacy code."),
        &["queue"],
    )
    .unwrap();
    counter.with_label_values(&["a\"b"]).inc_by(4);
    let histogram = prometheus::Histogram::with_opts(
        prometheus::HistogramOpts::new("legacy_wait_seconds", "Wait.").buckets(vec![0.5]),
    )
    .unwrap();
    histogram.observe(0.25);
    registry.register_prometheus(Box::new(counter)).unwrap();
    registry.register_prometheus(Box::new(histogram)).unwrap();
    let text = registry.render(Format::Text);
    assert!(
        text.contains(
            "# TYPE legacy_jobs_total counter\nlegacy_jobs_total{queue=\"a\\\"b\"} 4.0\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "legacy_wait_seconds_bucket{le=\"0.5\"} 1\nlegacy_wait_seconds_bucket{le=\"+Inf\"} 1\n"
        ),
        "{text}"
    );
    promtool_check_metrics(&text);
    let open_metrics = registry.render(Format::OpenMetrics);
    assert!(
        open_metrics.contains("# TYPE legacy_jobs counter\n"),
        "{open_metrics}"
    );
    python_parse(&open_metrics, true);
    // A foreign collector cannot take a name promexport already serves.
    let clash = prometheus::IntGauge::new("legacy_jobs_total", "again").unwrap();
    assert!(registry.register_prometheus(Box::new(clash)).is_err());
}
