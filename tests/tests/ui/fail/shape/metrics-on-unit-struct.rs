use promexport::Metrics;

#[derive(Metrics)]
struct AppMetrics;

fn main() {}
