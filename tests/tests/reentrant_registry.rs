//! A `#[metric(skip)]` field whose `Default` uses the process-wide registry (to register a
//! collector of its own, say) gets it, instead of the registry's first use waiting on itself.

use promexport::{Counter, Format, Metrics};
use std::sync::mpsc;
use std::time::Duration;

/// Touches the process-wide registry when created, as a field that registers something would.
struct UsesRegistry;

impl Default for UsesRegistry {
    fn default() -> Self {
        let _ = promexport::registry().families();
        UsesRegistry
    }
}

#[derive(Metrics)]
#[metrics(prefix = "reentrant")]
struct ReentrantMetrics {
    /// Jobs.
    jobs: Counter,
    #[metric(skip)]
    _uses_registry: UsesRegistry,
}

#[test]
fn a_skipped_field_may_use_the_registry_while_it_is_built() {
    let (done, finished) = mpsc::channel();
    // On a thread of its own, so that a regression fails here instead of hanging the run.
    std::thread::spawn(move || {
        let text = promexport::render(Format::Text);
        ReentrantMetrics::global().jobs.inc();
        let after = promexport::render(Format::Text);
        let _ = done.send((text, after));
    });
    let (text, after) = finished
        .recv_timeout(Duration::from_secs(30))
        .expect("the registry's first use waited on itself");
    assert!(text.contains("reentrant_jobs_total 0\n"), "{text}");
    assert!(after.contains("reentrant_jobs_total 1\n"), "{after}");
}
