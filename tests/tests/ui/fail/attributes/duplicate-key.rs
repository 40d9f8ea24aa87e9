use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    #[metric(name = "a", name = "b")]
    requests: Counter,
}

fn main() {}
