use promexport::{Family, Histogram, LabelSet, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    le: String,
}

#[derive(Metrics)]
struct AppMetrics {
    /// Time spent on each request.
    #[metric(unit = "seconds")]
    request_duration: Family<Labels, Histogram>,
}

fn main() {}
