use promexport::{Metrics, Summary};

#[derive(Metrics)]
struct AppMetrics {
    /// Not a duration.
    #[metric(quantiles(0.5 = 0.05), max_age = "10 minutes")]
    latency: Summary,
    /// Zero buckets and a zero buffer.
    #[metric(quantiles(0.5 = 0.05), max_age = "0s", age_buckets = 0, buf_cap = 0)]
    size: Summary,
}

fn main() {}
