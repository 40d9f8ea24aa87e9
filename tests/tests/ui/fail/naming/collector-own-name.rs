use promexport::{Counter, Gauge, Metrics};

// Filled by `Collector::new("memcached", ..)`, which serves `memcached_up`,
// `memcached_collection_duration_seconds` and `memcached_collection_errors_total` itself.
#[derive(Metrics)]
#[metrics(prefix = "memcached", no_global)]
struct MemcachedMetrics {
    /// Whether memcached answered.
    up: Gauge,
    /// How long reading the stats took.
    #[metric(name = "collection_duration", unit = "seconds")]
    duration: Gauge<f64>,
    /// Failed reads.
    collection_errors: Counter,
    /// Served by the struct itself: a struct pushed to a Pushgateway has one of its own.
    last_success_timestamp_seconds: Gauge,
}

// Served by itself: `up` is not taken.
#[derive(Metrics)]
#[metrics(prefix = "memcached")]
struct ServedAlone {
    /// Whether something is up.
    up: Gauge,
}

fn main() {}
