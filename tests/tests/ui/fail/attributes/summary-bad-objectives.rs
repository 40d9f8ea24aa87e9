use promexport::{Metrics, Summary};

#[derive(Metrics)]
struct AppMetrics {
    /// Every objective is wrong in its own way; each is reported at its own token.
    #[metric(quantiles(1.5 = 0.01, 0.5 = 0.0, 0.9 = 0.01, 0.9 = 0.001, high = 0.1))]
    latency: Summary,
    /// No objective at all.
    #[metric(quantiles())]
    size: Summary,
}

fn main() {}
