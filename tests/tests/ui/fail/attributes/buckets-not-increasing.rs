use promexport::{Histogram, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Time spent on each request.
    #[metric(unit = "seconds", buckets = [0.1, 0.5, 0.5, 0.25, 1.0])]
    request_duration: Histogram,
}

fn main() {}
