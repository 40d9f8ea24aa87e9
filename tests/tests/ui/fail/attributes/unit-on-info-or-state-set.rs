use promexport::{Info, LabelSet, LabelValue, Metrics, StateSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Health {
    Healthy,
    Degraded,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Version {
    version: &'static str,
}

#[derive(Metrics)]
struct AppMetrics {
    /// Health.
    #[metric(unit = "seconds")]
    health: StateSet<Health>,
    /// Build.
    #[metric(unit = "bytes")]
    build: Info<Version>,
}

fn main() {}
