use promexport::{Counter, Metrics};

#[derive(Metrics)]
struct AppMetrics {
    #[metric(help = requests)]
    requests: Counter,
}

fn main() {}
