use promexport::{Metrics, StateSet};

#[derive(Metrics)]
struct AppMetrics {
    /// Current mode.
    mode: StateSet<String>,
}

fn main() {
    AppMetrics::global().mode.set("fast".to_owned());
}
