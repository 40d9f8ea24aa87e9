//! The protobuf exposition, decoded by the reference implementation (client_golang's `expfmt`,
//! tests/go/decode) and compared field by field with what was observed: every metric type,
//! hostile label values, exemplars, created timestamps and native parts given by hand.

use promexport::{
    ClassicBucket, Collect, Counter, Created, Encoder, Exemplar, Family, FamilyDescription, Format,
    Gauge, Histogram, HistogramSample, Info, LabelSet, LabelValue, MetricKind, Metrics,
    NativeHistogramParts, Quantile, Registry, Server, ShardedCounter, StateSet, SummarySample,
};
use promexport_tests::{
    Prometheus, TempDir, go_decode, header, http_get, promtool_check_metrics, wait_for,
};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Health {
    Healthy,
    Unhealthy,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct PathLabels {
    path: String,
    code: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct VersionLabels {
    version: &'static str,
}

#[derive(Metrics)]
#[metrics(prefix = "shop", const_labels(region = "eu"))]
struct ShopMetrics {
    /// Orders placed.
    orders: Counter,
    /// Revenue in euros.
    #[metric(unit = "euros")]
    revenue: Counter<f64>,
    /// Open carts.
    carts: Gauge,
    /// Checkout latency.
    #[metric(unit = "seconds", buckets = [0.1, 1])]
    checkout: Histogram,
    /// Requests by path.
    requests: Family<PathLabels, Counter>,
    /// Health of the shop.
    health: StateSet<Health>,
    /// Version of the shop.
    version: Info<VersionLabels>,
    /// Cache hits.
    hits: ShardedCounter,
}

const HOSTILE: &str = "/a\"b\\c\nd é\t🦀{},=";

fn filled() -> (Registry, Arc<ShopMetrics>) {
    let registry = Registry::new();
    let metrics = Arc::new(ShopMetrics::new());
    registry.register(metrics.clone()).unwrap();
    metrics.orders.inc_by(3);
    metrics.revenue.inc_by(12.5);
    metrics.carts.set(-2);
    metrics.checkout.observe(0.05);
    metrics
        .checkout
        .observe_with_exemplar(0.5, &[("trace_id", "4bf9\"2f")])
        .unwrap();
    metrics
        .checkout
        .observe_with_exemplar(2.0, &[("trace_id", "ffff")])
        .unwrap();
    let hostile = PathLabels {
        path: HOSTILE.into(),
        code: 404,
    };
    metrics.requests.get(&hostile).inc_by(7);
    metrics.health.set(Health::Healthy);
    metrics.version.set(VersionLabels { version: "1.2.3" });
    metrics.hits.inc_by(5);
    (registry, metrics)
}

fn created(created: Created) -> Value {
    let since = created.time().duration_since(UNIX_EPOCH).unwrap();
    json!({"seconds": since.as_secs(), "nanos": since.subsec_nanos()})
}

fn family<'a>(families: &'a [Value], name: &str) -> &'a Value {
    families
        .iter()
        .find(|family| family["name"] == name)
        .unwrap_or_else(|| panic!("no family {name} in {families:#?}"))
}

fn labels(pairs: &[(&str, &str)]) -> Value {
    Value::Array(pairs.iter().map(|(n, v)| json!([n, v])).collect())
}

/// The exemplar as Go decoded it, its timestamp checked against the exemplar's own.
fn exemplar(decoded: &Value, kept: &Exemplar, pairs: &[(&str, &str)]) {
    assert_eq!(decoded["labels"], labels(pairs), "{decoded}");
    assert_eq!(
        decoded["value"].as_str().unwrap().parse::<f64>().unwrap(),
        kept.value()
    );
    let seconds = decoded["timestamp"]["seconds"].as_f64().unwrap()
        + decoded["timestamp"]["nanos"].as_f64().unwrap() / 1e9;
    assert!(
        (seconds - kept.timestamp()).abs() < 1e-6,
        "{decoded} vs {}",
        kept.timestamp()
    );
}

#[test]
fn every_metric_type_reads_back_in_go_as_it_was_observed() {
    let (registry, metrics) = filled();
    let families = go_decode(&registry.render_bytes(Format::Protobuf));
    for family in &families {
        assert_eq!(family["unknown"], json!([]), "{family}");
    }
    let region = ("region", "eu");
    assert_eq!(
        *family(&families, "shop_orders_total"),
        json!({"name": "shop_orders_total", "help": "Orders placed.", "type": "COUNTER",
               "unknown": [], "metrics": [{"labels": labels(&[region]),
               "counter": {"value": "3", "created": created(metrics.orders.created())}}]})
    );
    assert_eq!(
        family(&families, "shop_revenue_euros_total")["metrics"][0]["counter"],
        json!({"value": "12.5", "created": created(metrics.revenue.created())})
    );
    assert_eq!(
        *family(&families, "shop_carts"),
        json!({"name": "shop_carts", "help": "Open carts.", "type": "GAUGE", "unknown": [],
               "metrics": [{"labels": labels(&[region]), "gauge": "-2"}]})
    );
    let requests = family(&families, "shop_requests_total");
    assert_eq!(requests["type"], "COUNTER");
    assert_eq!(
        requests["metrics"][0]["labels"],
        labels(&[region, ("path", HOSTILE), ("code", "404")])
    );
    assert_eq!(requests["metrics"][0]["counter"]["value"], "7");
    let health = family(&families, "shop_health");
    assert_eq!(health["type"], "GAUGE");
    assert_eq!(
        health["metrics"],
        json!([
            {"labels": labels(&[region, ("shop_health", "healthy")]), "gauge": "1"},
            {"labels": labels(&[region, ("shop_health", "unhealthy")]), "gauge": "0"},
        ])
    );
    assert_eq!(
        *family(&families, "shop_version_info"),
        json!({"name": "shop_version_info", "help": "Version of the shop.", "type": "GAUGE",
               "unknown": [], "metrics": [{"labels": labels(&[region, ("version", "1.2.3")]),
               "gauge": "1"}]})
    );
    assert_eq!(
        family(&families, "shop_hits_total")["metrics"][0]["counter"],
        json!({"value": "5", "created": created(metrics.hits.created())})
    );

    let checkout = family(&families, "shop_checkout_seconds");
    assert_eq!(checkout["type"], "HISTOGRAM");
    let histogram = &checkout["metrics"][0]["histogram"];
    assert_eq!(histogram["count"], 3);
    assert_eq!(histogram["sum"], "2.55");
    assert_eq!(histogram["created"], created(metrics.checkout.created()));
    assert_eq!(histogram.get("schema"), None, "classic only: {histogram}");
    let buckets = histogram["buckets"].as_array().unwrap();
    // The +Inf bucket is there only because it has an exemplar (client_golang's rule).
    let bounds: Vec<_> = buckets
        .iter()
        .map(|b| (b["upper_bound"].clone(), b["cumulative_count"].clone()))
        .collect();
    assert_eq!(
        bounds,
        [
            (json!("0.1"), json!(1)),
            (json!("1"), json!(2)),
            (json!("+Inf"), json!(3))
        ]
    );
    assert_eq!(buckets[0].get("exemplar"), None);
    let kept = metrics.checkout.exemplar(1).unwrap();
    exemplar(&buckets[1]["exemplar"], &kept, &[("trace_id", "4bf9\"2f")]);
    let kept = metrics.checkout.exemplar(2).unwrap();
    exemplar(&buckets[2]["exemplar"], &kept, &[("trace_id", "ffff")]);
}

#[test]
fn name_selection_and_gzip_apply_to_protobuf_as_to_text() {
    let (registry, _metrics) = filled();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    let accept = (
        "Accept",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    );
    let url = format!(
        "{}?name[]=shop_orders_total&name[]=shop_checkout_seconds_bucket",
        server.url()
    );
    let (status, headers, body) = http_get(&url, &[accept]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some(
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores"
        )
    );
    let names: Vec<_> = go_decode(&body).iter().map(|f| f["name"].clone()).collect();
    assert_eq!(names, ["shop_orders_total", "shop_checkout_seconds"]);
    let (status, headers, gzipped) = http_get(&url, &[accept, ("Accept-Encoding", "gzip")]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut plain)
        .unwrap();
    assert_eq!(go_decode(&plain), go_decode(&body));
    server.shutdown().unwrap();
}

/// Histograms and summaries written by hand, as the native-histogram and summary types will.
struct ByHand;

const NATIVE: &str = "native_seconds";
const SUMMARY: &str = "rpc_seconds";

/// One native histogram, labelled `case`.
struct NativeCase {
    case: &'static str,
    positive: &'static [(i32, u64)],
    negative: &'static [(i32, u64)],
    zero_threshold: f64,
    zero_count: u64,
}

const fn case(
    case: &'static str,
    positive: &'static [(i32, u64)],
    negative: &'static [(i32, u64)],
    zero_threshold: f64,
    zero_count: u64,
) -> NativeCase {
    NativeCase {
        case,
        positive,
        negative,
        zero_threshold,
        zero_count,
    }
}

const CASES: &[NativeCase] = &[
    case("gap_1", &[(0, 1), (2, 4)], &[], 1e-128, 0),
    case("gap_2", &[(-3, 2), (0, 1)], &[], 1e-128, 0),
    case("gap_3", &[(5, 1), (9, 2), (10, 3)], &[], 1e-128, 0),
    case("negative", &[(1, 2)], &[(-1, 3), (0, 1), (7, 5)], 1e-128, 0),
    case("zero_only", &[], &[], 0.001, 6),
    case("empty_t0", &[], &[], 0.0, 0),
];

impl Collect for ByHand {
    fn describe(&self) -> Vec<FamilyDescription> {
        [
            (NATIVE, MetricKind::Histogram),
            (SUMMARY, MetricKind::Summary),
        ]
        .map(|(name, kind)| FamilyDescription {
            name: Cow::Borrowed(name),
            kind,
            help: Cow::Borrowed("By hand."),
        })
        .into()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        let exemplar = Exemplar::new(&[("trace_id", "native")], 0.75).unwrap();
        let exemplars = [&exemplar];
        let desc = promexport::Descriptor {
            name: NATIVE,
            help: "By hand.",
            unit: None,
            kind: MetricKind::Histogram,
        };
        let mut family = encoder.family(&desc, "");
        let mut case_labels = String::new();
        for &NativeCase {
            case,
            positive,
            negative,
            zero_threshold,
            zero_count,
        } in CASES
        {
            let count = zero_count + positive.iter().chain(negative).map(|(_, c)| c).sum::<u64>();
            let inf = [ClassicBucket {
                upper_bound: f64::INFINITY,
                cumulative_count: count,
                exemplar: None,
            }];
            let native = NativeHistogramParts {
                schema: if case == "negative" { -2 } else { 3 },
                zero_threshold,
                zero_count,
                positive,
                negative,
                exemplars: if case == "gap_1" { &exemplars } else { &[] },
            };
            let created =
                Created::at(UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 250_000_000));
            let sample = HistogramSample {
                buckets: &inf,
                sum: 1.5,
                created: Some(created),
                native: Some(native),
            };
            case_labels.clear();
            case_labels.push_str(&format!("case=\"{case}\""));
            family.histogram(case_labels.as_str(), &sample);
        }
        drop(family);
        let desc = promexport::Descriptor {
            name: SUMMARY,
            help: "By hand.",
            unit: None,
            kind: MetricKind::Summary,
        };
        let quantiles = [
            Quantile {
                quantile: 0.5,
                value: 0.25,
            },
            Quantile {
                quantile: 0.99,
                value: f64::NAN,
            },
        ];
        let created = Created::at(UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000));
        let sample = SummarySample {
            quantiles: &quantiles,
            count: 9,
            sum: 3.0,
            created: Some(created),
        };
        encoder
            .family(&desc, "")
            .summary(r#"method="Get""#, &sample);
    }
}

#[test]
fn native_parts_given_by_hand_read_back_as_client_golang_would_write_them() {
    let registry = Registry::new();
    registry.register(ByHand).unwrap();
    let families = go_decode(&registry.render_bytes(Format::Protobuf));
    let native = family(&families, NATIVE);
    assert_eq!(native["unknown"], json!([]), "{native}");
    let histogram = |case: &str| {
        native["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["labels"] == labels(&[("case", case)]))
            .map(|m| m["histogram"].clone())
            .unwrap_or_else(|| panic!("no case {case}"))
    };
    let spans = |pairs: &[(i32, u32)]| {
        Value::Array(
            pairs
                .iter()
                .map(|(o, l)| json!({"offset": o, "length": l}))
                .collect(),
        )
    };
    // (case, positive spans, positive deltas, negative spans, negative deltas): client_golang's
    // makeBuckets fills gaps of one or two empty buckets and starts a span after three.
    let expected: &[(&str, Value, Value, Value, Value)] = &[
        (
            "gap_1",
            spans(&[(0, 3)]),
            json!([1, -1, 4]),
            spans(&[]),
            json!([]),
        ),
        (
            "gap_2",
            spans(&[(-3, 4)]),
            json!([2, -2, 0, 1]),
            spans(&[]),
            json!([]),
        ),
        (
            "gap_3",
            spans(&[(5, 1), (3, 2)]),
            json!([1, 1, 1]),
            spans(&[]),
            json!([]),
        ),
        (
            "negative",
            spans(&[(1, 1)]),
            json!([2]),
            spans(&[(-1, 2), (6, 1)]),
            json!([3, -2, 4]),
        ),
        ("zero_only", spans(&[]), json!([]), spans(&[]), json!([])),
        (
            "empty_t0",
            spans(&[(0, 0)]),
            json!([]),
            spans(&[]),
            json!([]),
        ),
    ];
    for (case, positive_spans, positive_deltas, negative_spans, negative_deltas) in expected {
        let got = histogram(case);
        assert_eq!(got["positive_spans"], *positive_spans, "{case}: {got}");
        assert_eq!(got["positive_deltas"], *positive_deltas, "{case}: {got}");
        assert_eq!(got["negative_spans"], *negative_spans, "{case}: {got}");
        assert_eq!(got["negative_deltas"], *negative_deltas, "{case}: {got}");
        assert_eq!(
            got["buckets"],
            json!([]),
            "native only: no classic bucket, {case}"
        );
        assert_eq!(
            got["created"],
            json!({"seconds": 1_700_000_000, "nanos": 250_000_000}),
            "{case}"
        );
        assert_eq!(got["sum"], "1.5");
    }
    assert_eq!(histogram("gap_1")["schema"], 3);
    assert_eq!(histogram("negative")["schema"], -2);
    assert_eq!(histogram("gap_3")["count"], 6);
    assert_eq!(histogram("zero_only")["zero_threshold"], "0.001");
    assert_eq!(histogram("zero_only")["zero_count"], 6);
    assert_eq!(histogram("zero_only")["count"], 6);
    assert_eq!(histogram("empty_t0")["zero_threshold"], "0");
    let exemplars = histogram("gap_1")["exemplars"].clone();
    assert_eq!(exemplars.as_array().map(Vec::len), Some(1), "{exemplars}");
    assert_eq!(exemplars[0]["labels"], labels(&[("trace_id", "native")]));
    assert_eq!(exemplars[0]["value"], "0.75");
    assert!(exemplars[0]["timestamp"]["seconds"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(histogram("gap_2")["exemplars"], json!([]));

    assert_eq!(
        *family(&families, SUMMARY),
        json!({"name": SUMMARY, "help": "By hand.", "type": "SUMMARY", "unknown": [],
               "metrics": [{"labels": labels(&[("method", "Get")]), "summary": {
                   "count": 9, "sum": "3", "created": {"seconds": 1_600_000_000, "nanos": 0},
                   "quantiles": [{"quantile": "0.5", "value": "0.25"}, {"quantile": "0.99", "value": "NaN"}]}}]})
    );
}

#[test]
fn foreign_collectors_are_served_in_protobuf_too() {
    let registry = Registry::new();
    let counter = prometheus::Counter::new("legacy_jobs_total", "Foreign jobs.").unwrap();
    counter.inc_by(4.0);
    let untyped =
        prometheus::Counter::new("legacy_odd", "Foreign counter without _total.").unwrap();
    untyped.inc();
    let opts = prometheus::HistogramOpts::new("legacy_wait_seconds", "Foreign wait.")
        .buckets(vec![0.5, 2.0]);
    let histogram = prometheus::Histogram::with_opts(opts).unwrap();
    histogram.observe(1.0);
    let gauge = prometheus::GaugeVec::new(
        prometheus::Opts::new("legacy_temp", "Foreign gauge."),
        &["room"],
    )
    .unwrap();
    gauge.with_label_values(&[HOSTILE]).set(-1.5);
    for collector in [
        Box::new(counter) as Box<dyn prometheus::core::Collector>,
        Box::new(untyped),
        Box::new(histogram),
        Box::new(gauge),
    ] {
        registry.register_prometheus(collector).unwrap();
    }
    let families = go_decode(&registry.render_bytes(Format::Protobuf));
    assert_eq!(
        family(&families, "legacy_jobs_total")["metrics"][0]["counter"],
        json!({"value": "4"})
    );
    let odd = family(&families, "legacy_odd");
    assert_eq!(
        (odd["type"].clone(), odd["metrics"][0]["untyped"].clone()),
        (json!("UNTYPED"), json!("1"))
    );
    let wait = &family(&families, "legacy_wait_seconds")["metrics"][0]["histogram"];
    assert_eq!(wait["count"], 1);
    assert_eq!(
        wait["buckets"],
        json!([{"upper_bound": "0.5", "cumulative_count": 0}, {"upper_bound": "2", "cumulative_count": 1}])
    );
    let temp = &family(&families, "legacy_temp")["metrics"][0];
    assert_eq!(temp["labels"], labels(&[("room", HOSTILE)]));
    assert_eq!(temp["gauge"], "-1.5");
}

#[test]
fn created_lines_are_off_in_open_metrics_unless_asked_for_and_never_in_text() {
    let (registry, metrics) = filled();
    let render = |format, created| {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, format).open_metrics_created(created);
        Collect::encode(&*metrics, &mut encoder);
        encoder.finish();
        String::from_utf8(out).unwrap()
    };
    drop(registry);
    assert!(!render(Format::OpenMetrics, false).contains("_created"));
    assert!(!render(Format::Text, true).contains("_created"));
    let open_metrics = render(Format::OpenMetrics, true);
    let seconds = metrics.orders.created().as_secs_f64();
    let line = format!("shop_orders_created{{region=\"eu\"}} {seconds:?}\n");
    assert!(open_metrics.contains(&line), "{line} in\n{open_metrics}");
    let checkout = metrics.checkout.created().as_secs_f64();
    let line = format!("shop_checkout_seconds_created{{region=\"eu\"}} {checkout:?}\n");
    assert!(open_metrics.contains(&line), "{line} in\n{open_metrics}");
    // The Python reference parser reads them as the counter's and histogram's created samples.
    let parsed = promexport_tests::python_parse(&open_metrics, true);
    let created_of = |family: &str, sample: &str| {
        let family = parsed.iter().find(|f| f.name == family).expect(family);
        family
            .samples
            .iter()
            .find(|s| s.name == sample)
            .map(|s| s.value)
    };
    assert_eq!(
        created_of("shop_orders", "shop_orders_created"),
        Some(seconds)
    );
    assert_eq!(
        created_of("shop_checkout_seconds", "shop_checkout_seconds_created"),
        Some(checkout)
    );
}

/// `text` as a URL query value.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of an instant query that gives exactly one sample.
fn only_value(prometheus: &mut Prometheus, query: &str) -> Option<f64> {
    let answer = prometheus.api(&format!("/api/v1/query?query={}", query_value(query)))?;
    let answer: Value = serde_json::from_str(&answer).ok()?;
    let [sample] = answer["data"]["result"].as_array()?.as_slice() else {
        return None;
    };
    sample["value"][1].as_str()?.parse().ok()
}

#[test]
fn a_real_prometheus_scrapes_protobuf_and_stores_the_native_histograms() {
    let (registry, _metrics) = filled();
    registry.register(ByHand).unwrap();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    let dir = TempDir::new("prometheus-protobuf");
    let target = server.local_addr();
    let mut prometheus = Prometheus::start_with_flags(
        &dir,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: ['{target}']\n"
        ),
        &["--enable-feature=native-histograms"],
    );
    // Native histograms arrive only over protobuf: their count is the proof of the format.
    let count = wait_for(
        "Prometheus to store the native histogram",
        Duration::from_secs(60),
        || {
            only_value(
                &mut prometheus,
                r#"histogram_count(native_seconds{case="gap_1"})"#,
            )
        },
    );
    assert_eq!(count, 5.0);
    let targets = prometheus.api("/api/v1/targets").expect("targets");
    assert!(targets.contains("\"health\":\"up\""), "{targets}");
    assert!(targets.contains("\"lastError\":\"\""), "{targets}");
    let value = |prometheus: &mut Prometheus, query: &str| {
        only_value(prometheus, query).unwrap_or_else(|| panic!("no single sample for {query}"))
    };
    assert_eq!(
        value(
            &mut prometheus,
            r#"histogram_sum(native_seconds{case="gap_1"})"#
        ),
        1.5
    );
    assert_eq!(
        value(
            &mut prometheus,
            r#"histogram_count(native_seconds{case="negative"})"#
        ),
        11.0
    );
    assert_eq!(
        value(
            &mut prometheus,
            r#"histogram_count(native_seconds{case="zero_only"})"#
        ),
        6.0
    );
    assert_eq!(
        value(
            &mut prometheus,
            r#"histogram_count(native_seconds{case="empty_t0"})"#
        ),
        0.0
    );
    // gap_1 at schema 3: one observation in bucket 0 (just below 1), four in bucket 2 (up to
    // 2^(2/8) = 1.19); the median is in bucket 2, interpolated between 2^(1/8) and 2^(2/8).
    let median = value(
        &mut prometheus,
        r#"histogram_quantile(0.5, native_seconds{case="gap_1"})"#,
    );
    assert!(
        (2_f64.powf(0.125)..=2_f64.powf(0.25)).contains(&median),
        "{median}"
    );
    assert_eq!(
        value(&mut prometheus, r#"shop_orders_total{region="eu"}"#),
        3.0
    );
    assert_eq!(value(&mut prometheus, r#"shop_revenue_euros_total"#), 12.5);
    assert_eq!(value(&mut prometheus, r#"shop_carts"#), -2.0);
    assert_eq!(
        value(&mut prometheus, r#"shop_checkout_seconds_bucket{le="1.0"}"#),
        2.0
    );
    assert_eq!(
        value(&mut prometheus, r#"shop_checkout_seconds_count"#),
        3.0
    );
    assert_eq!(
        value(&mut prometheus, r#"shop_version_info{version="1.2.3"}"#),
        1.0
    );
    assert_eq!(
        value(&mut prometheus, r#"shop_health{shop_health="healthy"}"#),
        1.0
    );
    let hostile = format!("shop_requests_total{{path={HOSTILE:?}}}");
    assert_eq!(value(&mut prometheus, &hostile), 7.0);
    assert_eq!(
        value(&mut prometheus, r#"rpc_seconds{quantile="0.5"}"#),
        0.25
    );
    assert_eq!(value(&mut prometheus, r#"rpc_seconds_count"#), 9.0);

    // The same server still serves text that promtool accepts.
    let (status, _, text) = http_get(&server.url(), &[]);
    assert_eq!(status, 200);
    let text = String::from_utf8(text).unwrap();
    let lint = promtool_check_metrics(&text);
    assert!(lint.trim().is_empty(), "promtool: {lint}\n{text}");
    server.shutdown().unwrap();
}
