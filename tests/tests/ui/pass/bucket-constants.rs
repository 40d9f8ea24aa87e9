//! Bucket bounds from constants and `const fn` helpers, on histograms and gauge histograms.

use promexport::{
    Format, GaugeHistogram, Histogram, Metrics, exponential_buckets, linear_buckets,
};

const LATENCY: [f64; 4] = exponential_buckets(0.001, 10.0);

#[derive(Metrics)]
#[metrics(prefix = "bounds")]
struct BoundMetrics {
    /// Latency, from a constant.
    #[metric(unit = "seconds", buckets = LATENCY)]
    latency: Histogram,
    /// Sizes, from a `const fn` call.
    #[metric(unit = "bytes", buckets = exponential_buckets::<3>(100.0, 10.0))]
    size: Histogram,
    /// Jobs waiting, by time waited.
    #[metric(unit = "seconds", buckets = linear_buckets::<2>(30.0, 30.0))]
    waiting: GaugeHistogram,
}

fn main() {
    let metrics = BoundMetrics::global();
    metrics.latency.observe(0.05);
    metrics.size.observe(5000.0);
    metrics.waiting.observe(45.0);
    let text = promexport::render(Format::Text);
    for line in [
        "bounds_latency_seconds_bucket{le=\"0.001\"} 0\n",
        "bounds_latency_seconds_bucket{le=\"0.1\"} 1\n",
        "bounds_size_bytes_bucket{le=\"10000.0\"} 1\n",
        "# TYPE bounds_waiting_seconds histogram\n",
        "bounds_waiting_seconds_bucket{le=\"30.0\"} 0\n",
        "bounds_waiting_seconds_bucket{le=\"60.0\"} 1\n",
        "bounds_waiting_seconds_gcount 1\n",
        "bounds_waiting_seconds_gsum 45.0\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}
