use promexport::{Counter, Family, Gauge, LabelSet, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Labels {
    service: String,
    path: String,
}

#[derive(Metrics)]
#[metrics(const_labels(service = "api"))]
struct AppMetrics {
    /// Requests served.
    requests: Family<Labels, Counter>,
    /// No labels of its own: no clash.
    connections: Gauge,
}

fn main() {}
