use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    requests_total: Counter,
}

fn main() {}
