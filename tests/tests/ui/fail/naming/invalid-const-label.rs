use promexport::{Counter, Metrics};

#[derive(Metrics)]
#[metrics(const_labels(__env = "prod"))]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
}

fn main() {}
