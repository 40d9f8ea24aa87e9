use promexport::{Counter, Family, LabelSet, LabelValue, Metrics};

#[derive(Clone, PartialEq, Eq, Hash, LabelValue)]
enum Outcome {
    Ok,
    Error,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct OutcomeLabels {
    outcome: Outcome,
}

#[derive(Metrics)]
struct CallMetrics {
    /// Calls by outcome: a closed label set, whose series never expire.
    #[metric(expire_after = "10m")]
    calls: Family<OutcomeLabels, Counter>,
    /// A plain counter has no series to drop.
    #[metric(expire_after = "10m")]
    retries: Counter,
}

fn main() {}
