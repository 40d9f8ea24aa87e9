use promexport::{Counter, Metrics};

// Any non-empty UTF-8 is a metric name (`http.server.duration`); the empty string is not.
#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    #[metric(name = "")]
    requests: Counter,
}

fn main() {}
