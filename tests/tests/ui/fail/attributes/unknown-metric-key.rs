use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    #[metric(rename = "served")]
    requests: Counter,
}

fn main() {}
