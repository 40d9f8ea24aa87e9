use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
    /// Requests served, again.
    #[metric(name = "requests")]
    handled: Counter,
}

fn main() {}
