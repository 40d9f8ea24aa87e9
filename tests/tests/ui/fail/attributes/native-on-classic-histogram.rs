use promexport::{Counter, Histogram, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// A classic histogram has fixed buckets.
    #[metric(unit = "seconds", native(factor = 1.1))]
    request_duration: Histogram,
    /// Not a histogram at all.
    #[metric(native)]
    requests: Counter,
}

fn main() {}
