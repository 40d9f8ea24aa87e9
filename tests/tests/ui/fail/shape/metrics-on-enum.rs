use promexport::Metrics;

#[derive(Metrics)]
enum AppMetrics {
    Requests,
}

fn main() {}
