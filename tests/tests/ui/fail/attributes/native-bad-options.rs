use promexport::{Metrics, NativeHistogram};

#[derive(Metrics)]
struct AppMetrics {
    /// A factor of 1 would make every bucket empty.
    #[metric(native(factor = 1.0))]
    flat: NativeHistogram,
    /// Thresholds are half-widths.
    #[metric(native(zero_threshold = -0.5, max_zero_threshold = "wide"))]
    negative_zero: NativeHistogram,
    /// Durations are strings with units.
    #[metric(native(min_reset = "1 hour", exemplar_ttl = "5"))]
    unitless: NativeHistogram,
    /// Bucket limits are whole numbers.
    #[metric(native(max_buckets = 99999999999))]
    too_many: NativeHistogram,
    /// Given twice.
    #[metric(native(factor = 1.1, factor = 1.2))]
    twice: NativeHistogram,
}

fn main() {}
