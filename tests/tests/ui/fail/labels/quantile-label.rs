use promexport::{Counter, Family, LabelSet, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    quantile: String,
}

#[derive(Metrics)]
struct AppMetrics {
    /// Requests served.
    requests: Family<Labels, Counter>,
}

fn main() {}
