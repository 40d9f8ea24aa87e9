use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    #[metric(buckets = [0.1, 1.0])]
    requests: Counter,
}

fn main() {}
