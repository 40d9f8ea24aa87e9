use promexport::{Histogram, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Time spent on each request.
    #[metric(unit = "milliseconds")]
    request_duration: Histogram,
}

fn main() {}
