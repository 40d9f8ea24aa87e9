use promexport::{Counter, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "__app")]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
}

fn main() {}
