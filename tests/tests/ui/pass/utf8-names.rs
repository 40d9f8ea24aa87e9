// Metric and label names may be any non-empty UTF-8 (Prometheus 3), renamed with `name = "..."`.
use promexport::{Counter, Family, Histogram, LabelSet, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct ErrorLabels {
    #[label(name = "error.message")]
    message: String,
    #[label(name = "http.response.status_code")]
    status: u16,
}

#[derive(Metrics)]
#[metrics(prefix = "otel.http", no_global)]
struct HttpMetrics {
    /// Requests served.
    #[metric(name = "server.requests")]
    requests: Counter,
    /// Time to serve a request.
    #[metric(name = "server.duration", unit = "seconds")]
    duration: Family<ErrorLabels, Histogram>,
    /// Temperature in degrees.
    #[metric(name = "température")]
    temperature: Counter,
}

fn main() {
    let metrics = HttpMetrics::new();
    metrics.requests.inc();
    metrics
        .duration
        .get(&ErrorLabels {
            message: "timeout".into(),
            status: 504,
        })
        .observe(0.5);
    metrics.temperature.inc();
}
