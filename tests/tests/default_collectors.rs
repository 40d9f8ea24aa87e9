//! Switching a default collector off and on again (process-wide, hence a test binary of its own).

use promexport::{DefaultCollector, Format, Gauge, Metrics, Registry};

#[derive(Metrics)]
#[metrics(prefix = "process", no_global)]
struct ProcessLookalike {
    /// Taken by the process collector.
    open_fds: Gauge,
}

fn listed(registry: &Registry, name: &str) -> bool {
    registry.families().iter().any(|family| family.name == name)
}

#[test]
fn a_disabled_collector_is_neither_served_nor_listed_but_keeps_its_names() {
    let registry = promexport::registry();
    assert!(listed(registry, "process_open_fds"));
    DefaultCollector::Process.disable();
    assert!(
        !listed(registry, "process_open_fds"),
        "not on the landing page"
    );
    assert!(!promexport::render(Format::Text).contains("process_open_fds"));
    let clash = registry.register(ProcessLookalike::new());
    assert!(
        matches!(clash, Err(promexport::Error::DuplicateMetric { .. })),
        "{clash:?}"
    );
    DefaultCollector::Process.enable();
    assert!(listed(registry, "process_open_fds"));
    assert!(promexport::render(Format::Text).contains("process_open_fds "));
}
