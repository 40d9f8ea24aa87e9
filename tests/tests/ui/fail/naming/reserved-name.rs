use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    #[metric(name = "__x")]
    requests: Counter,
}

fn main() {}
