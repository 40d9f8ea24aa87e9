use promexport::{Family, LabelSet, LabelValue, Metrics, StateSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Health {
    Healthy,
    Degraded,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    app_disk: String,
}

#[derive(Metrics)]
#[metrics(prefix = "app", const_labels(app_health = "x"))]
struct AppMetrics {
    /// Health, labelled `app_health` like the const label.
    health: StateSet<Health>,
    /// Each disk's health, labelled `app_disk` like the family's own label.
    disk: Family<Labels, StateSet<Health>>,
}

fn main() {}
