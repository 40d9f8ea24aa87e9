use promexport::{Counter, Metrics};

#[derive(Metrics)]
#[metrics(namespace = "app")]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
}

fn main() {}
