use super::*;
use crate::{Created, Format, HistogramSample, MetricKind, Quantile, Registry, SummarySample};
use std::time::{Duration, UNIX_EPOCH};

fn render(collect: impl Collect, format: Format) -> String {
    let registry = Registry::new();
    registry.register(collect).unwrap();
    registry.render(format)
}

#[test]
fn names_are_checked_with_typed_errors() {
    // Prometheus 3 takes any UTF-8 name; those that are not legacy-valid are escaped or quoted
    // as each scrape asks.
    for good in ["9lives", "a-b", "a b", "é", "http.server.duration"] {
        assert!(
            ConstFamily::gauge(good, "", &["error.message"]).is_ok(),
            "{good}"
        );
    }
    for bad in ["", "__x"] {
        let error = ConstFamily::gauge(bad, "", &[]).unwrap_err();
        assert!(
            matches!(&error, FamilyError::MetricName { name, .. } if name == bad),
            "{bad}: {error:?}"
        );
    }
    let label = |kind, name: &str, labels: &[&str]| ConstFamily::new(kind, name, "", labels);
    for (kind, labels) in [
        (MetricKind::Gauge, &[""][..]),
        (MetricKind::Gauge, &["__name__"]),
        (MetricKind::Gauge, &["x", "x"]),
        (MetricKind::Histogram, &["le"]),
        (MetricKind::Summary, &["quantile"]),
        (MetricKind::StateSet, &["role"]),
    ] {
        let error = label(kind, "role", labels).unwrap_err();
        assert!(matches!(error, FamilyError::LabelName { .. }), "{error:?}");
    }
    // The same labels are fine where the type does not write them.
    assert!(label(MetricKind::Gauge, "role", &["le", "quantile", "role"]).is_ok());
    let unit = ConstFamily::gauge("x", "", &[]).unwrap().with_unit("");
    assert!(matches!(unit, Err(FamilyError::MetricName { .. })));
}

#[test]
fn samples_must_match_the_declared_labels() {
    let mut family = ConstFamily::gauge("g", "", &["a", "b"]).unwrap();
    for error in [
        family.add(["1"], 1).unwrap_err(),
        family.add(["1", "2", "3"], 1).unwrap_err(),
        family.add([("a", "1"), ("c", "2")], 1).unwrap_err(),
        family.add([("a", "1"), ("a", "2")], 1).unwrap_err(),
        family.add((), 1).unwrap_err(),
    ] {
        assert!(matches!(error, FamilyError::Labels { .. }), "{error:?}");
    }
    assert!(family.is_empty(), "a refused sample adds nothing");
    family.add(vec![String::from("x"), "y".into()], 1).unwrap();
    let pairs: &[(&str, &str)] = &[("b", "y2"), ("a", "x2")];
    family.add(pairs, 2.5).unwrap();
    assert_eq!(family.len(), 2);
    let error = family.add_info(["x", "y"]).unwrap_err();
    assert!(matches!(
        error,
        FamilyError::Kind {
            method: "add_info",
            ..
        }
    ));
    assert_eq!(
        render(family, Format::Text),
        "# HELP g \n# TYPE g gauge\ng{a=\"x\",b=\"y\"} 1\ng{a=\"x2\",b=\"y2\"} 2.5\n"
    );
}

#[test]
fn every_kind_is_written_in_both_text_formats() {
    let mut metrics = ConstMetrics::new();
    let mut counter = ConstFamily::counter("c_total", "Counted.", &["k"]).unwrap();
    let created = Created::at(UNIX_EPOCH + Duration::from_secs(10));
    counter.add_with_created(["v"], 3_u64, created).unwrap();
    metrics.push(counter).unwrap();
    let mut unknown = ConstFamily::unknown("u", "Untyped.", &[]).unwrap();
    unknown.add((), -1.5).unwrap();
    metrics.push(unknown).unwrap();
    let mut info = ConstFamily::info("build_info", "Build.", &["version"]).unwrap();
    info.add_info(["1.0"]).unwrap();
    metrics.push(info).unwrap();
    let mut states = ConstFamily::state_set("role", "Role.", &[]).unwrap();
    states.add_states((), &[("a", true), ("b", false)]).unwrap();
    metrics.push(states).unwrap();
    let mut summary = ConstFamily::summary("s_seconds", "Summary.", &[]).unwrap();
    let quantiles = [Quantile {
        quantile: 0.5,
        value: 0.25,
    }];
    let sample = SummarySample {
        quantiles: &quantiles,
        count: 4,
        sum: 1.0,
        created: None,
    };
    summary.add_summary((), &sample).unwrap();
    metrics.push(summary).unwrap();
    let text = render(metrics.clone(), Format::Text);
    for line in [
        "# TYPE c_total counter\nc_total{k=\"v\"} 3\n",
        "# TYPE u untyped\nu -1.5\n",
        "# TYPE build_info gauge\nbuild_info{version=\"1.0\"} 1\n",
        "role{role=\"a\"} 1\nrole{role=\"b\"} 0\n",
        "s_seconds{quantile=\"0.5\"} 0.25\ns_seconds_sum 1.0\ns_seconds_count 4\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    let open_metrics = render(metrics, Format::OpenMetrics);
    for line in [
        "# TYPE c counter\n",
        "# TYPE u unknown\n",
        "# TYPE build info\n",
        "# TYPE role stateset\n",
    ] {
        assert!(
            open_metrics.contains(line),
            "no {line:?} in\n{open_metrics}"
        );
    }
}

#[test]
fn histogram_buckets_are_checked_and_completed() {
    use crate::ClassicBucket;
    let bucket = |upper_bound, cumulative_count| ClassicBucket {
        upper_bound,
        cumulative_count,
        exemplar: None,
    };
    let mut family = ConstFamily::histogram("h", "", &[]).unwrap();
    for buckets in [
        vec![bucket(1.0, 2), bucket(0.5, 3)],
        vec![bucket(1.0, 2), bucket(2.0, 1)],
        vec![bucket(f64::NAN, 1)],
    ] {
        let sample = HistogramSample {
            buckets: &buckets,
            sum: 0.0,
            created: None,
            native: None,
        };
        let error = family.add_histogram((), &sample).unwrap_err();
        assert!(matches!(error, FamilyError::Sample { .. }), "{error:?}");
    }
    let buckets = [bucket(1.0, 2)];
    let sample = HistogramSample {
        buckets: &buckets,
        sum: 1.5,
        created: None,
        native: None,
    };
    family.add_histogram((), &sample).unwrap();
    let text = render(family, Format::Text);
    assert!(
        text.ends_with("h_bucket{le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\n"),
        "{text}"
    );
}

#[test]
fn a_name_used_twice_in_one_collection_is_refused() {
    let mut metrics = ConstMetrics::new();
    metrics
        .push(ConstFamily::histogram("x", "", &[]).unwrap())
        .unwrap();
    let error = metrics
        .push(ConstFamily::gauge("x_count", "", &[]).unwrap())
        .unwrap_err();
    assert_eq!(
        error,
        FamilyError::Duplicate {
            name: "x_count".into()
        }
    );
    assert_eq!(metrics.families().len(), 1);
}
