use promexport::{Gauge, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    ///
    connections: Gauge,
}

fn main() {}
