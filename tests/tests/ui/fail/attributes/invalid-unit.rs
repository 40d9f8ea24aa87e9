use promexport::{Gauge, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    /// Memory in use.
    #[metric(unit = "Bytes")]
    memory: Gauge,
}

fn main() {}
