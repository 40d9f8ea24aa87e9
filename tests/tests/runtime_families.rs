//! Families named at run time ([`ConstFamily`]) and registry operations (unregister, views),
//! checked against independent readers: a collector mirroring a target with hostile label
//! values round-trips through client_python's parsers (text 0.0.4 and OpenMetrics) and
//! client_golang's protobuf decoder; unregistering and prefix views are observed through
//! scrapes of a real server, and promtool checks what it serves.

use promexport::{
    ClassicBucket, Collector, ConstFamily, ConstMetrics, Counter, Error, FamilyError, Format,
    HistogramSample, Metrics, Quantile, Registry, Server, SummarySample,
};
use promexport_tests::{go_decode, http_get, promtool_check_metrics, python_parse};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What the mirrored target reports: label names of its rows and, per row, raw value bytes (a
/// target's bytes need not be UTF-8).
#[derive(Debug, Clone)]
struct Target {
    label_names: Vec<String>,
    rows: Vec<Vec<Vec<u8>>>,
}

/// The label values promexport serves for `bytes`: label values are text, so a collector reads
/// the target's bytes as UTF-8 with U+FFFD for invalid sequences, as `String::from_utf8_lossy`.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One collection of the target: each row is a series of a gauge, a counter, an info, a
/// histogram and a summary family, all named and labelled at run time.
fn mirror(target: &Target) -> Result<ConstMetrics, FamilyError> {
    let names: Vec<&str> = target.label_names.iter().map(String::as_str).collect();
    let mut rows = ConstFamily::gauge("mirror_rows", "Rows \"by\" key\\\nand more.", &names)?;
    let mut reads = ConstFamily::counter("mirror_reads_total", "Reads.", &names)?;
    let mut info = ConstFamily::info("mirror_row", "Row information.", &names)?;
    let mut latency =
        ConstFamily::histogram("mirror_latency", "Latency.", &names)?.with_unit("seconds")?;
    let mut sizes = ConstFamily::summary("mirror_size_bytes", "Sizes.", &names)?;
    for (index, row) in target.rows.iter().enumerate() {
        let values: Vec<String> = row.iter().map(|bytes| text(bytes)).collect();
        // The gauge takes its values in order, the counter as pairs in reverse order.
        rows.add(&values, index as i64)?;
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .copied()
            .zip(values.iter().map(String::as_str))
            .rev()
            .collect();
        reads.add(pairs, index as u64 * 10)?;
        info.add_info(&values)?;
        let buckets = [ClassicBucket {
            upper_bound: 0.5,
            cumulative_count: index as u64,
            exemplar: None,
        }];
        let histogram = HistogramSample {
            buckets: &buckets,
            sum: 1.5,
            created: None,
            native: None,
        };
        latency.add_histogram(&values, &histogram)?;
        let quantiles = [Quantile {
            quantile: 0.5,
            value: 2.0,
        }];
        let summary = SummarySample {
            quantiles: &quantiles,
            count: 3,
            sum: 6.0,
            created: None,
        };
        sizes.add_summary(&values, &summary)?;
    }
    let mut metrics = ConstMetrics::new();
    for family in [rows, reads, info, latency, sizes] {
        metrics.push(family)?;
    }
    Ok(metrics)
}

/// The label sets, sorted, that each row must be read back with.
fn expected(target: &Target) -> BTreeSet<Vec<(String, String)>> {
    target
        .rows
        .iter()
        .map(|row| {
            let mut labels: Vec<(String, String)> = target
                .label_names
                .iter()
                .cloned()
                .zip(row.iter().map(|bytes| text(bytes)))
                .collect();
            labels.sort();
            labels
        })
        .collect()
}

/// Serves one collection of `target` through a registered [`Collector`], in `format`.
fn collect_and_render(target: &Target, format: Format) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let registry = Registry::new();
        let target = Arc::new(target.clone());
        Collector::new("mirror", move || {
            let target = target.clone();
            async move { mirror(&target) }
        })
        .register_in(&registry)
        .unwrap();
        registry.collect(None).await;
        registry.render_bytes(format)
    })
}

/// Label names and values made of what breaks expositions: quotes, backslashes, newlines,
/// braces, commas, `=`, `#`, non-ASCII and bytes that are not UTF-8.
fn target() -> impl Strategy<Value = Target> {
    let byte = prop_oneof![
        4 => prop::sample::select(b"\"\\\n{},=# \t\r".to_vec()),
        2 => prop::sample::select(vec![0x80_u8, 0xC3, 0xFF, 0xE2, 0x82]),
        1 => any::<u8>(),
        2 => prop::sample::select(b"ab".to_vec()),
    ];
    let value = prop::collection::vec(byte, 0..12);
    let names = prop::collection::btree_set("[a-z_][a-z0-9_]{0,6}", 1..4).prop_map(|names| {
        let valid = |name: &String| !name.starts_with("__") && name != "le" && name != "quantile";
        names.into_iter().filter(valid).collect::<Vec<_>>()
    });
    names
        .prop_filter("at least one label", |names| !names.is_empty())
        .prop_flat_map(move |label_names| {
            let row = prop::collection::vec(value.clone(), label_names.len());
            (Just(label_names), prop::collection::vec(row, 1..5))
        })
        .prop_map(|(label_names, rows)| {
            // One series per label set: rows whose values read back the same are dropped.
            let mut seen = BTreeSet::new();
            let rows = rows
                .into_iter()
                .filter(|row| seen.insert(row.iter().map(|b| text(b)).collect::<Vec<_>>()))
                .collect();
            Target { label_names, rows }
        })
}

fn parsed_label_sets(
    families: &[promexport_tests::ParsedFamily],
    family: &str,
    sample: &str,
) -> BTreeSet<Vec<(String, String)>> {
    let family = families
        .iter()
        .find(|parsed| parsed.name == family)
        .unwrap_or_else(|| panic!("no family {family} in {families:?}"));
    family
        .samples
        .iter()
        .filter(|parsed| parsed.name == sample)
        .map(|parsed| parsed.labels.clone())
        .collect()
}

fn go_label_sets(families: &[Value], family: &str) -> BTreeSet<Vec<(String, String)>> {
    let family = families
        .iter()
        .find(|decoded| decoded["name"] == family)
        .unwrap_or_else(|| panic!("no family {family} in {families:?}"));
    family["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|metric| {
            let mut labels: Vec<(String, String)> = metric["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| {
                    let text = |i: usize| pair[i].as_str().unwrap().to_owned();
                    (text(0), text(1))
                })
                .collect();
            labels.sort();
            labels
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_mirrored_target_with_hostile_labels_round_trips_through_independent_readers(target in target()) {
        let want = expected(&target);
        let text = String::from_utf8(collect_and_render(&target, Format::Text)).unwrap();
        let families = python_parse(&text, false);
        prop_assert_eq!(&parsed_label_sets(&families, "mirror_rows", "mirror_rows"), &want);
        let help = &families.iter().find(|f| f.name == "mirror_rows").unwrap().help;
        prop_assert_eq!(help, "Rows \"by\" key\\\nand more.");
        prop_assert_eq!(&parsed_label_sets(&families, "mirror_reads", "mirror_reads_total"), &want);
        prop_assert_eq!(&parsed_label_sets(&families, "mirror_latency_seconds", "mirror_latency_seconds_count"), &want);
        prop_assert_eq!(&parsed_label_sets(&families, "mirror_size_bytes", "mirror_size_bytes_sum"), &want);

        let open_metrics = String::from_utf8(collect_and_render(&target, Format::OpenMetrics)).unwrap();
        let families = python_parse(&open_metrics, true);
        prop_assert_eq!(&parsed_label_sets(&families, "mirror_rows", "mirror_rows"), &want);
        prop_assert_eq!(&parsed_label_sets(&families, "mirror_reads", "mirror_reads_total"), &want);
        prop_assert_eq!(&parsed_label_sets(&families, "mirror_row", "mirror_row_info"), &want);
        prop_assert_eq!(&parsed_label_sets(&families, "mirror_latency_seconds", "mirror_latency_seconds_count"), &want);
        let unit = &families.iter().find(|f| f.name == "mirror_latency_seconds").unwrap().unit;
        prop_assert_eq!(unit, "seconds");

        let families = go_decode(&collect_and_render(&target, Format::Protobuf));
        for family in ["mirror_rows", "mirror_reads_total", "mirror_row_info", "mirror_latency_seconds", "mirror_size_bytes"] {
            prop_assert_eq!(&go_label_sets(&families, family), &want, "{}", family);
        }
    }
}

#[test]
fn invalid_names_are_typed_errors_and_a_collection_that_makes_one_fails_cleanly() {
    // Any UTF-8 is a name (Prometheus 3); empty names and `__` ones are not.
    assert!(ConstFamily::gauge("mirror rows", "", &["a\"b"]).is_ok());
    let error = ConstFamily::gauge("", "", &[]).unwrap_err();
    assert!(matches!(error, FamilyError::MetricName { .. }), "{error:?}");
    let error = ConstFamily::counter("ok", "", &["__ab"]).unwrap_err();
    assert!(
        matches!(&error, FamilyError::LabelName { label, .. } if label == "__ab"),
        "{error:?}"
    );
    let target = Target {
        label_names: vec!["__bad".into()],
        rows: vec![vec![b"x".to_vec()]],
    };
    assert!(matches!(
        mirror(&target),
        Err(FamilyError::LabelName { .. })
    ));
    // Served through a collector, the bad name is the collection's error: `_up` 0, the rest
    // of the scrape valid.
    let text = String::from_utf8(collect_and_render(&target, Format::Text)).unwrap();
    assert!(text.contains("mirror_up 0\n"), "{text}");
    assert!(
        text.contains("mirror_collection_errors_total{reason=\"error\"} 1\n"),
        "{text}"
    );
    promtool_check_metrics(&text);
}

#[derive(Metrics)]
#[metrics(prefix = "tenant", no_global)]
struct TenantMetrics {
    /// Requests of the tenant.
    requests: Counter,
}

fn scrape(server: &promexport::ServerHandle) -> String {
    let url = format!("http://{}/metrics", server.local_addr());
    let (status, _, body) = http_get(&url, &[]);
    assert_eq!(status, 200);
    String::from_utf8(body).unwrap()
}

#[test]
fn an_unregistered_struct_and_collector_are_gone_from_the_next_scrape_and_registrable_again() {
    let registry = Registry::new();
    let metrics = Arc::new(TenantMetrics::new());
    registry.register(metrics.clone()).unwrap();
    metrics.requests.inc_by(3);
    let rows = || async {
        let mut metrics = ConstMetrics::new();
        let mut rows = ConstFamily::gauge("db_rows", "Rows.", &["table"])?;
        rows.add(["users"], 10)?;
        metrics.push(rows)?;
        Ok::<_, FamilyError>(metrics)
    };
    Collector::new("db", rows).register_in(&registry).unwrap();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry.clone())
        .spawn()
        .unwrap();
    let before = scrape(&server);
    assert!(before.contains("tenant_requests_total 3\n"), "{before}");
    assert!(before.contains("db_rows{table=\"users\"} 10\n"), "{before}");
    assert!(before.contains("db_up 1\n"), "{before}");

    assert!(registry.unregister(&*metrics));
    assert!(registry.unregister_collector("db"));
    assert!(!registry.unregister(&*metrics), "unregistered twice");
    assert!(!registry.unregister_collector("db"), "unregistered twice");
    let after = scrape(&server);
    for gone in ["tenant_requests", "db_rows", "db_up"] {
        assert!(!after.contains(gone), "{gone} in\n{after}");
    }
    promtool_check_metrics(&after);

    // Their names are free: the same instance and a new collector of the same prefix.
    registry.register(metrics.clone()).unwrap();
    Collector::new("db", rows).register_in(&registry).unwrap();
    let again = scrape(&server);
    assert!(again.contains("tenant_requests_total 3\n"), "{again}");
    assert!(again.contains("db_rows{table=\"users\"} 10\n"), "{again}");
    promtool_check_metrics(&again);
    server.shutdown().unwrap();
}

#[test]
fn a_prefix_view_is_served_with_its_prefix_and_labels_and_passes_promtool() {
    let registry = Registry::new();
    let view = registry
        .with_prefix("shop_")
        .and_then(|view| view.with_const_labels(&[("region", "eu \"west\"\n")]))
        .unwrap();
    let metrics = Arc::new(TenantMetrics::new());
    view.register(metrics.clone()).unwrap();
    metrics.requests.inc();
    // The same struct outside the view: no clash, since the view's names have the prefix.
    registry.register(TenantMetrics::new()).unwrap();
    let rows = || async {
        let mut metrics = ConstMetrics::new();
        let mut rows = ConstFamily::gauge("db_rows", "Rows.", &["table"])?;
        rows.add(["users"], 10)?;
        metrics.push(rows)?;
        Ok::<_, FamilyError>(metrics)
    };
    Collector::new("db", rows).register_in(&view).unwrap();
    // A const label the family already has is refused at registration.
    let clashing = registry.with_const_labels(&[("table", "t")]).unwrap();
    let mut own = ConstFamily::gauge("own_rows", "Rows.", &["table"]).unwrap();
    own.add(["x"], 1).unwrap();
    assert!(matches!(
        clashing.register(own),
        Err(Error::LabelConflict { .. })
    ));

    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry.clone())
        .spawn()
        .unwrap();
    let text = scrape(&server);
    let region = r#"region="eu \"west\"\n""#;
    for line in [
        format!("shop_tenant_requests_total{{{region}}} 1\n"),
        "\ntenant_requests_total 0\n".to_owned(),
        format!("shop_db_up{{{region}}} 1\n"),
        format!("shop_db_collection_errors_total{{{region},reason=\"error\"}} 0\n"),
        format!("shop_db_rows{{{region},table=\"users\"}} 10\n"),
    ] {
        assert!(text.contains(&line), "no {line:?} in\n{text}");
    }
    assert!(!text.contains("own_rows"), "{text}");
    promtool_check_metrics(&text);
    let parsed = python_parse(&text, false);
    let rows = parsed.iter().find(|f| f.name == "shop_db_rows").unwrap();
    let mut labels = rows.samples[0].labels.clone();
    labels.sort();
    assert_eq!(
        labels,
        [
            ("region".to_owned(), "eu \"west\"\n".to_owned()),
            ("table".to_owned(), "users".to_owned())
        ]
    );
    // Unregistered through the view, by the same names.
    assert!(view.unregister(&*metrics));
    assert!(view.unregister_collector("db"));
    let after = scrape(&server);
    assert!(!after.contains("shop_"), "{after}");
    assert!(after.contains("\ntenant_requests_total 0\n"), "{after}");
    server.shutdown().unwrap();
}
