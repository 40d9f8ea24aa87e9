use promexport::{Objective, ObjectiveLatency, ObjectivePercentile};

const CHECKOUT: Objective =
    Objective::new("checkout").latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);

// 0.25 s is not one of the buckets: the rules could not count the calls under it.
#[promexport::instrument(objective = CHECKOUT, buckets = [0.1, 0.5, 1.0])]
fn checkout() {}

fn main() {
    checkout();
}
