use promexport::{Histogram, Metrics};

const LIMIT: f64 = 1.0;

#[derive(Metrics)]
struct AppMetrics {
    /// Time spent on each request.
    #[metric(unit = "seconds", buckets = [0.1, "0.5", LIMIT])]
    request_duration: Histogram,
}

fn main() {}
