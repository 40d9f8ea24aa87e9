// One derive error (a missing HELP text) and nothing else: the derive still emits `new`,
// `Default` and `Collect`, so the code that uses the struct reports no follow-on errors.
use promexport::{Collector, Counter, Metrics, Registry};
use std::time::Duration;

#[derive(Metrics)]
#[metrics(prefix = "memcached", no_global)]
struct MemcachedMetrics {
    /// Items stored.
    items: Counter,
    items_evicted: Counter,
}

fn read() -> Result<MemcachedMetrics, String> {
    let metrics = MemcachedMetrics::default();
    metrics.items.inc();
    Ok(metrics)
}

fn main() {
    let registry = Registry::new();
    let _ = MemcachedMetrics::new();
    let _ = Collector::blocking("memcached", read)
        .timeout(Duration::from_secs(1))
        .register_in(&registry);
}
