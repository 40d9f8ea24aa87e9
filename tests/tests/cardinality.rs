//! The cardinality guard: past its series limit a family creates no new label sets, counts the
//! refusals, and its memory stays bounded. Closed label sets serve only the combinations
//! touched, unless `#[metric(preinit)]` asks for all of them.

use promexport::{Counter, Family, Format, Histogram, LabelSet, LabelValue, Metrics, Registry};
use promexport_tests::{promtool_check_metrics, sample_value};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct PathLabels {
    path: String,
}

#[derive(Metrics)]
#[metrics(prefix = "guarded")]
struct Guarded {
    /// Requests by raw path: a label explosion waiting to happen.
    #[metric(max_series = 3)]
    requests: Family<PathLabels, Counter>,
    /// Limited by the process-wide default instead.
    by_default: Family<PathLabels, Counter>,
}

#[test]
fn families_stop_at_their_limit_and_count_refusals() {
    promexport::set_default_max_series(5);
    let metrics = Guarded::global();
    for i in 0..1_000 {
        let labels = PathLabels {
            path: format!("/item/{i}"),
        };
        metrics.requests.get(&labels).inc();
        metrics.by_default.get(&labels).inc();
    }
    assert_eq!(metrics.requests.len(), 3, "memory bounded by the limit");
    assert_eq!(metrics.by_default.len(), 5);
    // Existing label sets keep counting.
    metrics
        .requests
        .get(&PathLabels {
            path: "/item/0".into(),
        })
        .inc();

    let text = promexport::render(Format::Text);
    assert_eq!(
        sample_value(&text, "guarded_requests_total", &[("path", "/item/0")]),
        Some(2.0)
    );
    assert_eq!(
        sample_value(&text, "guarded_requests_total", &[("path", "/item/3")]),
        None
    );
    let rejected = |family| {
        sample_value(
            &text,
            "promexport_series_rejected_total",
            &[("family", family)],
        )
    };
    assert_eq!(rejected("guarded_requests"), Some(997.0), "{text}");
    assert_eq!(rejected("guarded_by_default"), Some(995.0));
    assert_eq!(promtool_check_metrics(&text), "");
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    Post,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Status {
    Ok,
    NotFound,
    Unavailable,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct RouteLabels {
    method: Method,
    status: Status,
    cached: bool,
}

#[derive(Metrics)]
#[metrics(prefix = "closed", no_global)]
struct Closed {
    /// Requests by route, served once touched.
    requests: Family<RouteLabels, Counter>,
    /// Latency by route, served once touched.
    #[metric(unit = "seconds", buckets = [0.1, 1.0])]
    latency: Family<RouteLabels, Histogram>,
    /// Requests by route, every combination served from the start.
    #[metric(preinit)]
    expected: Family<RouteLabels, Counter>,
}

fn samples_of(text: &str, family: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.starts_with(family))
        .map(str::to_owned)
        .collect()
}

#[test]
fn closed_label_sets_serve_only_touched_combinations_unless_preinit() {
    let registry = Registry::new();
    let metrics = Arc::new(Closed::new());
    registry.register(metrics.clone()).unwrap();

    let before = registry.render(Format::Text);
    assert_eq!(
        samples_of(&before, "closed_requests_total"),
        [] as [String; 0]
    );
    assert_eq!(
        samples_of(&before, "closed_latency_seconds_"),
        [] as [String; 0]
    );
    assert_eq!(
        samples_of(&before, "closed_expected_total").len(),
        18,
        "3 methods x 3 statuses x 2 booleans, at zero:\n{before}"
    );
    assert!(
        samples_of(&before, "closed_expected_total")
            .iter()
            .all(|line| line.ends_with(" 0"))
    );

    let route = RouteLabels {
        method: Method::Post,
        status: Status::NotFound,
        cached: false,
    };
    metrics.requests.get(&route).inc();
    metrics.requests.get(&route.clone()).inc();
    metrics.latency.get(&route).observe(0.5);
    let after = registry.render(Format::Text);
    assert_eq!(
        samples_of(&after, "closed_requests_total"),
        [r#"closed_requests_total{method="post",status="not_found",cached="false"} 2"#]
    );
    assert_eq!(
        samples_of(&after, "closed_latency_seconds_"),
        [
            r#"closed_latency_seconds_bucket{method="post",status="not_found",cached="false",le="0.1"} 0"#,
            r#"closed_latency_seconds_bucket{method="post",status="not_found",cached="false",le="1.0"} 1"#,
            r#"closed_latency_seconds_bucket{method="post",status="not_found",cached="false",le="+Inf"} 1"#,
            r#"closed_latency_seconds_sum{method="post",status="not_found",cached="false"} 0.5"#,
            r#"closed_latency_seconds_count{method="post",status="not_found",cached="false"} 1"#,
        ]
    );
    assert_eq!(metrics.requests.len(), 1);
    assert_eq!(metrics.expected.len(), 18);
    assert_eq!(promtool_check_metrics(&after), "");
}

#[test]
fn more_full_families_than_the_default_limit_are_all_counted() {
    const NAMES: [&str; 12] = [
        "full_0", "full_1", "full_2", "full_3", "full_4", "full_5", "full_6", "full_7", "full_8",
        "full_9", "full_10", "full_11",
    ];
    // As in the test above: the rejection counters, one per family, are more than this.
    promexport::set_default_max_series(5);
    let families: Vec<Family<PathLabels, Counter>> = NAMES
        .iter()
        .map(|name| {
            Family::new(&promexport::MetricConfig {
                max_series: Some(1),
                name,
                ..promexport::MetricConfig::DEFAULT
            })
        })
        .collect();
    for family in &families {
        for i in 0..3 {
            family
                .get(&PathLabels {
                    path: format!("/{i}"),
                })
                .inc();
        }
    }
    let text = promexport::render(Format::Text);
    for name in NAMES {
        assert_eq!(
            sample_value(
                &text,
                "promexport_series_rejected_total",
                &[("family", name)]
            ),
            Some(2.0),
            "{name}"
        );
    }
}
