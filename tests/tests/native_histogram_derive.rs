//! `#[metric(native(...))]` on `NativeHistogram` fields and families: the options reach the
//! histogram, and text and OpenMetrics serve its classic part, which promtool and Python's
//! parser accept.

use promexport::{Family, Format, LabelSet, LabelValue, Metrics, NativeHistogram, Registry};
use promexport_tests::{promtool_check_metrics, python_parse, sample_value};
use std::sync::Arc;
use std::time::Duration;

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
#[metrics(prefix = "native", no_global)]
struct NativeMetrics {
    /// Request durations, native and classic.
    #[metric(
        unit = "seconds",
        buckets = [0.1, 1.0],
        native(
            factor = 1.5,
            zero_threshold = 1e-6,
            max_buckets = 50,
            min_reset = "1h30m",
            max_zero_threshold = 1e-3,
            max_exemplars = 3,
            exemplar_ttl = "90s",
        )
    )]
    request_duration: NativeHistogram,
    /// Payload sizes, native only, with the defaults.
    #[metric(unit = "bytes", native)]
    payload: NativeHistogram,
    /// Durations by method.
    #[metric(unit = "seconds", native(factor = 2, max_buckets = 0, min_reset = "0"))]
    handler_duration: Family<RequestLabels, NativeHistogram>,
}

#[test]
fn the_attribute_sets_every_option() {
    let metrics = NativeMetrics::new();
    let options = metrics.request_duration.options();
    assert_eq!(options.factor, 1.5);
    assert_eq!(options.zero_threshold, 1e-6);
    assert_eq!(options.max_buckets, 50);
    assert_eq!(options.min_reset, Duration::from_secs(5400));
    assert_eq!(options.max_zero_threshold, 1e-3);
    assert_eq!(options.max_exemplars, 3);
    assert_eq!(options.exemplar_ttl, Duration::from_secs(90));
    assert_eq!(options.classic_buckets, [0.1, 1.0]);
    assert_eq!(
        metrics.request_duration.snapshot().schema,
        1,
        "2^(1/2) <= 1.5"
    );
    assert_eq!(
        *metrics.payload.options(),
        promexport::NativeHistogramOptions::DEFAULT
    );
    let get = metrics.handler_duration.get(&RequestLabels {
        method: Method::Get,
    });
    assert_eq!(get.options().factor, 2.0);
    assert_eq!(get.options().max_buckets, 0);
    assert_eq!(get.options().min_reset, Duration::ZERO);
}

#[test]
fn text_serves_the_classic_part() {
    let registry = Registry::new();
    let metrics = Arc::new(NativeMetrics::new());
    registry.register(metrics.clone()).unwrap();
    for seconds in [0.05, 0.5, 5.0] {
        metrics.request_duration.observe(seconds);
    }
    metrics.payload.observe(1024.0);
    metrics
        .handler_duration
        .get(&RequestLabels {
            method: Method::Post,
        })
        .observe(0.2);
    let _ = Method::Get;
    let text = registry.render(Format::Text);
    let bucket = |le: &str| {
        sample_value(
            &text,
            "native_request_duration_seconds_bucket",
            &[("le", le)],
        )
    };
    assert_eq!(bucket("0.1"), Some(1.0), "{text}");
    assert_eq!(bucket("1.0"), Some(2.0));
    assert_eq!(bucket("+Inf"), Some(3.0));
    assert_eq!(
        sample_value(&text, "native_request_duration_seconds_sum", &[]),
        Some(5.55)
    );
    assert_eq!(
        sample_value(&text, "native_payload_bytes_bucket", &[("le", "+Inf")]),
        Some(1.0),
        "native only: +Inf, sum and count"
    );
    assert_eq!(
        sample_value(
            &text,
            "native_handler_duration_seconds_count",
            &[("method", "post")]
        ),
        Some(1.0)
    );
    assert_eq!(promtool_check_metrics(&text), "");
    let open_metrics = registry.render(Format::OpenMetrics);
    let families = python_parse(&open_metrics, true);
    let family = families
        .iter()
        .find(|family| family.name == "native_request_duration_seconds")
        .expect("the family parses");
    assert_eq!(family.kind, "histogram");
}
