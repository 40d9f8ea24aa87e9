use promexport::{Counter, Histogram, Metrics};

#[derive(Metrics)]
#[metrics(const_labels(le = "1", quantile = "0.5"))]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
    /// Request latency.
    latency: Histogram,
}

fn main() {}
