use promexport::{Metric, Metrics};

#[derive(Metrics)]
struct AppMetrics<M: Metric> {
    /// Requests served.
    requests: M,
}

fn main() {}
