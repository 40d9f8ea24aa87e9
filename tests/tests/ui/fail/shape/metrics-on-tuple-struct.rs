use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics(Counter);

fn main() {}
