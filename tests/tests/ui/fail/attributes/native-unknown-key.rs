use promexport::{Metrics, NativeHistogram};

#[derive(Metrics)]
struct AppMetrics {
    /// `buckets` goes beside `native(...)`, not inside.
    #[metric(native(factor = 1.1, buckets = [0.1, 1.0]))]
    latency: NativeHistogram,
}

fn main() {}
