use promexport::{Family, LabelSet, LabelValue, Metrics, NativeHistogram};

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct RequestLabels {
    method: Method,
}

#[derive(Metrics)]
#[metrics(no_global)]
struct AppMetrics {
    /// Every option, and classic buckets beside the native ones.
    #[metric(
        unit = "seconds",
        buckets = [0.1, 1.0],
        native(
            factor = 1.1,
            zero_threshold = 1e-9,
            max_buckets = 160,
            min_reset = "1h30m",
            max_zero_threshold = 0.001,
            max_exemplars = 4,
            exemplar_ttl = "90s",
        )
    )]
    request_duration: NativeHistogram,
    /// The defaults.
    #[metric(native)]
    payload_bytes: NativeHistogram,
    /// No attribute: the defaults too.
    response_bytes: NativeHistogram,
    /// In a family.
    #[metric(unit = "seconds", native(factor = 2, max_buckets = 0, min_reset = "0"))]
    handler_duration: Family<RequestLabels, NativeHistogram>,
}

fn main() {
    let metrics = AppMetrics::new();
    metrics.request_duration.observe(0.5);
    metrics.payload_bytes.observe(512.0);
    metrics.response_bytes.observe(1024.0);
    metrics
        .handler_duration
        .get(&RequestLabels { method: Method::Get })
        .observe(0.25);
    let _ = Method::Post;
}

#[promexport::instrument(native)]
pub fn native_defaults() {}

#[promexport::instrument(buckets = [0.1, 1.0], native(factor = 1.5, max_buckets = 40))]
pub async fn native_with_buckets() {}
