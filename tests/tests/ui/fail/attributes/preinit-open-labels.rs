use promexport::{Counter, Family, LabelSet, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    path: String,
}

#[derive(Metrics)]
struct AppMetrics {
    /// Requests.
    #[metric(preinit)]
    requests: Family<Labels, Counter>,
    /// Errors.
    #[metric(preinit)]
    errors: Counter,
}

fn main() {}
