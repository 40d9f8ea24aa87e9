//! The cardinality guard: past its series limit a family creates no new label sets, counts the
//! refusals, and its memory stays bounded.

use promexport::{Counter, Family, Format, LabelSet, Metrics};
use promexport_tests::{promtool_check_metrics, sample_value};

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
