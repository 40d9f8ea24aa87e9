use promexport::{Counter, Metrics};

// Const labels are Rust identifiers, copied into every series as they are: legacy names only.
#[derive(Metrics)]
#[metrics(const_labels(région = "eu"))]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
}

fn main() {}
