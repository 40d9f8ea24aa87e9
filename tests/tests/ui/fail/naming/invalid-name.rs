use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    #[metric(name = "Bad-Name")]
    requests: Counter,
}

fn main() {}
