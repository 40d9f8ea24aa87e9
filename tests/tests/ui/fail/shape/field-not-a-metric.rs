use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    requests: Counter,
    /// Name of the application.
    name: String,
}

fn main() {}
