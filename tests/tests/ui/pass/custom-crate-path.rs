//! `#[metrics(crate = ...)]` and `#[label(crate = ...)]`: the generated code names promexport
//! through a re-export.

use promexport as my_reexport;

mod instrumented {
    use crate::my_reexport::{Counter, Metrics};

    #[derive(Metrics)]
    #[metrics(crate = crate::my_reexport, prefix = "reexported")]
    pub struct AppMetrics {
        /// Requests served.
        pub requests: Counter,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, my_reexport::LabelValue)]
#[label(crate = my_reexport)]
enum Queue {
    Fast,
    Slow,
}

#[derive(Clone, PartialEq, Eq, Hash, my_reexport::LabelSet)]
#[label(crate = my_reexport)]
struct QueueLabels {
    queue: Queue,
}

#[derive(my_reexport::Metrics)]
#[metrics(crate = my_reexport)]
struct RootMetrics {
    /// Jobs run.
    jobs: my_reexport::Counter,
    /// Jobs by queue.
    queued: my_reexport::Family<QueueLabels, my_reexport::Counter>,
}

fn main() {
    instrumented::AppMetrics::global().requests.inc();
    RootMetrics::global().jobs.inc_by(2);
    RootMetrics::global().queued.get(&QueueLabels { queue: Queue::Slow }).inc();
    let text = my_reexport::render(my_reexport::Format::Text);
    assert!(text.contains("reexported_requests_total 1\n"), "{text}");
    assert!(text.contains("jobs_total 2\n"), "{text}");
    assert!(text.contains("queued_total{queue=\"slow\"} 1\n"), "{text}");
}
