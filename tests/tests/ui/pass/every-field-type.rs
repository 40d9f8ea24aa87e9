//! A struct using every field type and every attribute, exercised and rendered.

use promexport::{
    Counter, Family, Format, Gauge, Histogram, Info, LabelSet, LabelValue, Metrics, StateSet,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Outcome {
    #[label(rename = "success")]
    Ok,
    HttpError,
}

/// Closed: every field is an enum, so every series exists from the start.
#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct RequestLabels {
    method: Method,
    outcome: Outcome,
}

/// Open: one series per label set seen.
#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct PeerLabels {
    host: String,
    #[label(name = "zone")]
    region: &'static str,
    port: u16,
    tls: bool,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Version {
    version: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Health {
    Healthy,
    Degraded,
}

#[derive(Metrics)]
#[metrics(prefix = "app", const_labels(env = "test"))]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
    /// Bytes sent.
    #[metric(unit = "bytes")]
    sent: Counter<f64>,
    /// Connections open.
    connections: Gauge,
    /// Temperature of the machine room.
    #[metric(name = "room_temperature", unit = "celsius")]
    temperature: Gauge<f64>,
    /// Memory the cache may use.
    #[metric(unit = "bytes")]
    cache_limit: Gauge<u64>,
    /// Time spent on each request.
    #[metric(unit = "seconds", buckets = [0.1, 1.0])]
    request_duration: Histogram,
    /// Requests by method and outcome.
    #[metric(name = "requests_by_outcome", preinit)]
    outcomes: Family<RequestLabels, Counter>,
    /// Connections open to each peer.
    #[metric(help = "Connections open to each peer.", expire_after = "1h30m")]
    peer_connections: Family<PeerLabels, Gauge>,
    /// Health of the application.
    health: StateSet<Health>,
    /// Version of the application.
    version: Info<Version>,
    /// Not a metric: ignored by the derive, built with `Default`.
    #[metric(skip)]
    started: Option<std::time::Instant>,
}

fn main() {
    let metrics = AppMetrics::global();
    assert!(metrics.started.is_none());
    metrics.requests.inc();
    metrics.sent.inc_by(1.5);
    metrics.connections.set(3);
    metrics.temperature.set(21.5);
    metrics.cache_limit.set(u64::MAX);
    metrics.request_duration.observe(0.5);
    metrics
        .outcomes
        .get(&RequestLabels {
            method: Method::Post,
            outcome: Outcome::HttpError,
        })
        .inc();
    metrics
        .peer_connections
        .get(&PeerLabels {
            host: "db".to_owned(),
            region: "eu",
            port: 5432,
            tls: true,
        })
        .inc();
    metrics.health.set(Health::Degraded);
    metrics.version.set(Version { version: "1.2.3" });

    let text = promexport::render(Format::Text);
    let expected = [
        "# HELP app_requests_total Requests served.\n",
        "# TYPE app_requests_total counter\n",
        "app_requests_total{env=\"test\"} 1\n",
        "app_sent_bytes_total{env=\"test\"} 1.5\n",
        "app_connections{env=\"test\"} 3\n",
        "app_room_temperature_celsius{env=\"test\"} 21.5\n",
        "app_cache_limit_bytes{env=\"test\"} 18446744073709551615\n",
        "app_request_duration_seconds_bucket{env=\"test\",le=\"0.1\"} 0\n",
        "app_request_duration_seconds_bucket{env=\"test\",le=\"1.0\"} 1\n",
        "app_request_duration_seconds_bucket{env=\"test\",le=\"+Inf\"} 1\n",
        "app_request_duration_seconds_count{env=\"test\"} 1\n",
        "app_requests_by_outcome_total{env=\"test\",method=\"get\",outcome=\"success\"} 0\n",
        "app_requests_by_outcome_total{env=\"test\",method=\"post\",outcome=\"http_error\"} 1\n",
        "app_peer_connections{env=\"test\",host=\"db\",zone=\"eu\",port=\"5432\",tls=\"true\"} 1\n",
        "app_health{env=\"test\",app_health=\"degraded\"} 1\n",
        "app_version_info{env=\"test\",version=\"1.2.3\"} 1\n",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    promexport::check().expect("no name collides");
}
