use promexport::{Counter, Family, LabelSet, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    path: String,
}

#[derive(Metrics)]
struct AppMetrics {
    /// Requests.
    #[metric(max_series = 0)]
    requests: Family<Labels, Counter>,
}

fn main() {}
