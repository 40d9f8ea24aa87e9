use promexport::{Counter, Metrics};

#[derive(Metrics)]
#[metrics(const_labels(env = "prod", service = "api", env = "test"))]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
}

fn main() {}
