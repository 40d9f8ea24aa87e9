use promexport::{Histogram, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Time spent.
    #[metric(unit = "seconds", max_age = "5m", quantiles(0.5 = 0.05))]
    latency: Histogram,
}

fn main() {}
