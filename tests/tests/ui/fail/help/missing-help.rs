use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
    errors: Counter,
}

fn main() {}
