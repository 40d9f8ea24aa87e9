use promexport::{Histogram, Metrics};

const BACKWARDS: [f64; 2] = [2.0, 1.0];

#[derive(Metrics)]
struct AppMetrics {
    /// Time spent.
    #[metric(unit = "seconds", buckets = BACKWARDS)]
    latency: Histogram,
}

fn main() {}
