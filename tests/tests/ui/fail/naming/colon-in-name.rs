use promexport::{Gauge, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Request rate over five minutes.
    #[metric(name = "app:requests:rate5m")]
    request_rate: Gauge,
}

fn main() {}
