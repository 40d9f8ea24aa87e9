//! Cost of the metric operations an application performs on its hot path (a counter increment,
//! a labelled increment, a histogram observation) and of encoding a large family for a scrape,
//! promexport next to the other Rust Prometheus clients in one run: tikv's `prometheus`,
//! `prometheus-client`, `metrics` (with `metrics-exporter-prometheus` as its recorder) and
//! `measured` (with its `lasso` feature, for string labels).
//!
//! Run with `cargo bench -p promexport-benches --bench metrics`; see `benches/README.md`.
//!
//! `main` checks, before measuring, that every variant records and that every encoder writes
//! the 10,000 series of `encode_10k`, and prints the size of each exposition.

mod common;

use criterion::{Criterion, criterion_group};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use prometheus_client_latest as prometheus_client;
use promexport::{Counter, Family, Format, Histogram, LabelSet, LabelValue, Metrics};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Observations of `histogram_observe`, cycled through so that every library scans to different
/// buckets (and to `+Inf`) rather than always the same one.
const OBSERVATIONS: [f64; 8] = [0.003, 0.02, 0.07, 0.3, 0.8, 3.0, 7.0, 30.0];

/// The 11 default buckets of every client.
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const ENCODE_SERIES: usize = 10_000;

// ---------------------------------------------------------------------------------------------
// Label types.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Code {
    #[label(rename = "200")]
    Ok,
    #[label(rename = "404")]
    NotFound,
    #[label(rename = "500")]
    Error,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Delete => "delete",
        }
    }
}

impl Code {
    fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "200",
            Code::NotFound => "404",
            Code::Error => "500",
        }
    }
}

/// Two closed labels: promexport resolves the series by index, prometheus-client hashes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct EnumLabels {
    method: Method,
    code: Code,
}

/// Two open labels: every library hashes them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct StringLabels {
    method: String,
    path: String,
}

// prometheus-client's derives name `::prometheus_client`, which is its 0.22 release in this crate
// (autometrics' backend, for the `instrument` bench); these are what they generate, for 0.26.
impl prometheus_client::encoding::EncodeLabelValue for Method {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

impl prometheus_client::encoding::EncodeLabelValue for Code {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// One `key="value"` pair, as the derive of `EncodeLabelSet` writes each field.
fn encode_pc_label(
    encoder: &mut prometheus_client::encoding::LabelSetEncoder,
    key: &str,
    value: &impl prometheus_client::encoding::EncodeLabelValue,
) -> Result<(), std::fmt::Error> {
    use prometheus_client::encoding::{EncodeLabelKey, EncodeLabelValue};
    let mut label_encoder = encoder.encode_label();
    let mut key_encoder = label_encoder.encode_label_key()?;
    EncodeLabelKey::encode(&key, &mut key_encoder)?;
    let mut value_encoder = key_encoder.encode_label_value()?;
    EncodeLabelValue::encode(value, &mut value_encoder)?;
    value_encoder.finish()
}

impl prometheus_client::encoding::EncodeLabelSet for EnumLabels {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelSetEncoder,
    ) -> Result<(), std::fmt::Error> {
        encode_pc_label(encoder, "method", &self.method)?;
        encode_pc_label(encoder, "code", &self.code)
    }
}

impl prometheus_client::encoding::EncodeLabelSet for StringLabels {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelSetEncoder,
    ) -> Result<(), std::fmt::Error> {
        encode_pc_label(encoder, "method", &self.method)?;
        encode_pc_label(encoder, "path", &self.path)
    }
}

// measured's label derives need their own types.
#[derive(Clone, Copy, measured::FixedCardinalityLabel)]
enum MeasuredMethod {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Clone, Copy, measured::FixedCardinalityLabel)]
enum MeasuredCode {
    Ok = 200,
    NotFound = 404,
    Error = 500,
}

#[derive(measured::LabelGroup)]
#[label(set = MeasuredLabelsSet)]
struct MeasuredLabels {
    method: MeasuredMethod,
    code: MeasuredCode,
}

/// measured's open labels (its `lasso` feature): each value is interned in a
/// `lasso::ThreadedRodeo`, and the series is keyed by the two interned ids.
#[derive(Clone, Copy, measured::LabelGroup)]
#[label(set = MeasuredStringLabelsSet)]
struct MeasuredStringLabels<'a> {
    #[label(dynamic_with = lasso::ThreadedRodeo, default)]
    method: &'a str,
    #[label(dynamic_with = lasso::ThreadedRodeo, default)]
    path: &'a str,
}

/// `lasso::ThreadedRodeo` hashes with SipHash by default; this one with foldhash, the hasher
/// of promexport's families (measured's own benches give their interners ahash).
type FoldhashRodeo = lasso::ThreadedRodeo<lasso::Spur, foldhash::fast::RandomState>;

/// `MeasuredStringLabels` interned with `FoldhashRodeo`.
#[derive(Clone, Copy, measured::LabelGroup)]
#[label(set = MeasuredFoldhashLabelsSet)]
struct MeasuredFoldhashLabels<'a> {
    #[label(dynamic_with = FoldhashRodeo)]
    method: &'a str,
    #[label(dynamic_with = FoldhashRodeo)]
    path: &'a str,
}

fn measured_foldhash_vec() -> measured::CounterVec<MeasuredFoldhashLabelsSet> {
    let rodeo = || FoldhashRodeo::with_hasher(foldhash::fast::RandomState::default());
    measured::CounterVec::with_label_set(MeasuredFoldhashLabelsSet::new(rodeo(), rodeo()))
}

/// The family of `encode_10k`, as measured names and documents it.
#[derive(measured::MetricGroup)]
struct MeasuredEncodeMetrics {
    /// Requests served.
    #[metric(rename = "bench_requests_total")]
    requests: measured::CounterVec<MeasuredStringLabelsSet>,
}

/// The same, interned with `FoldhashRodeo`.
#[derive(measured::MetricGroup)]
struct MeasuredFoldhashEncodeMetrics {
    /// Requests served.
    #[metric(rename = "bench_requests_total")]
    requests: measured::CounterVec<MeasuredFoldhashLabelsSet>,
}

// ---------------------------------------------------------------------------------------------
// promexport's metrics.

#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct OpMetrics {
    /// Operations.
    ops: Counter,
    /// Requests, by closed labels.
    enum_requests: Family<EnumLabels, Counter>,
    /// Requests, by open labels.
    string_requests: Family<StringLabels, Counter>,
    /// Latency.
    #[metric(unit = "seconds")]
    latency: Histogram,
}

#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct EncodeMetrics {
    /// Requests served.
    #[metric(max_series = 20000)]
    requests: Family<StringLabels, Counter>,
}

/// The family of `encode_10k_histograms`: the labels of `encode_10k`, the 11 default buckets.
#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct HistogramEncodeMetrics {
    /// Request latency.
    #[metric(max_series = 20000)]
    latency_seconds: Family<StringLabels, Histogram>,
}

fn metrics_recorder() -> (PrometheusRecorder, PrometheusHandle) {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

// ---------------------------------------------------------------------------------------------
// Benchmarks: one group per case, its variants side by side.

fn counter_inc(c: &mut Criterion) {
    let mut group = c.benchmark_group("counter_inc");

    let floor = AtomicU64::new(0);
    group.bench_function("atomic_u64_floor", |b| {
        b.iter(|| black_box(&floor).fetch_add(1, Ordering::Relaxed))
    });

    let promexport = OpMetrics::new();
    group.bench_function("promexport", |b| {
        b.iter(|| black_box(&promexport).ops.inc())
    });

    let tikv = prometheus::IntCounter::new("bench_ops_total", "Operations.").unwrap();
    group.bench_function("prometheus", |b| b.iter(|| black_box(&tikv).inc()));

    let pc: prometheus_client::metrics::counter::Counter = Default::default();
    group.bench_function("prometheus_client", |b| b.iter(|| black_box(&pc).inc()));

    let (recorder, _handle) = metrics_recorder();
    let metrics_counter =
        metrics::with_local_recorder(&recorder, || metrics::counter!("bench_ops_total"));
    group.bench_function("metrics", |b| {
        b.iter(|| black_box(&metrics_counter).increment(1))
    });

    let measured_counter = measured::Counter::new();
    group.bench_function("measured", |b| {
        b.iter(|| black_box(&measured_counter).get_metric().inc())
    });
    group.finish();
}

fn labelled_enum_inc(c: &mut Criterion) {
    let mut group = c.benchmark_group("labelled_enum_inc");
    let labels = EnumLabels {
        method: Method::Get,
        code: Code::Ok,
    };

    let promexport = OpMetrics::new();
    group.bench_function("promexport", |b| {
        b.iter(|| promexport.enum_requests.get(black_box(&labels)).inc())
    });

    let tikv = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_enum_requests_total", "Requests."),
        &["method", "code"],
    )
    .unwrap();
    group.bench_function("prometheus", |b| {
        b.iter(|| {
            let labels = black_box(&labels);
            tikv.with_label_values(&[labels.method.as_str(), labels.code.as_str()])
                .inc()
        })
    });

    let pc = prometheus_client::metrics::family::Family::<
        EnumLabels,
        prometheus_client::metrics::counter::Counter,
    >::default();
    group.bench_function("prometheus_client", |b| {
        b.iter(|| pc.get_or_create(black_box(&labels)).inc())
    });

    let (recorder, _handle) = metrics_recorder();
    metrics::with_local_recorder(&recorder, || {
        group.bench_function("metrics", |b| {
            b.iter(|| {
                let labels = black_box(&labels);
                metrics::counter!(
                    "bench_enum_requests_total",
                    "method" => labels.method.as_str(),
                    "code" => labels.code.as_str()
                )
                .increment(1)
            })
        });
    });

    let measured_vec = measured::CounterVec::with_label_set(MeasuredLabelsSet::new());
    let measured_labels = (MeasuredMethod::Get, MeasuredCode::Ok);
    group.bench_function("measured", |b| {
        b.iter(|| {
            let (method, code) = *black_box(&measured_labels);
            measured_vec.inc(MeasuredLabels { method, code })
        })
    });
    group.finish();
}

fn labelled_string_inc(c: &mut Criterion) {
    let mut group = c.benchmark_group("labelled_string_inc");
    let labels = StringLabels {
        method: "get".to_owned(),
        path: "/api/v1/items/42".to_owned(),
    };

    let promexport = OpMetrics::new();
    group.bench_function("promexport", |b| {
        b.iter(|| promexport.string_requests.get(black_box(&labels)).inc())
    });
    group.bench_function("promexport_with", |b| {
        b.iter(|| {
            promexport
                .string_requests
                .with(black_box(&labels), Counter::inc)
        })
    });

    let tikv = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_string_requests_total", "Requests."),
        &["method", "path"],
    )
    .unwrap();
    group.bench_function("prometheus", |b| {
        b.iter(|| {
            let labels = black_box(&labels);
            tikv.with_label_values(&[labels.method.as_str(), labels.path.as_str()])
                .inc()
        })
    });

    let pc = prometheus_client::metrics::family::Family::<
        StringLabels,
        prometheus_client::metrics::counter::Counter,
    >::default();
    group.bench_function("prometheus_client", |b| {
        b.iter(|| pc.get_or_create(black_box(&labels)).inc())
    });

    let measured_vec = measured::CounterVec::with_label_set(MeasuredStringLabelsSet::default());
    group.bench_function("measured", |b| {
        b.iter(|| {
            let labels = black_box(&labels);
            measured_vec.inc(MeasuredStringLabels {
                method: &labels.method,
                path: &labels.path,
            })
        })
    });

    let measured_foldhash = measured_foldhash_vec();
    group.bench_function("measured_foldhash", |b| {
        b.iter(|| {
            let labels = black_box(&labels);
            measured_foldhash.inc(MeasuredFoldhashLabels {
                method: &labels.method,
                path: &labels.path,
            })
        })
    });
    group.finish();
}

fn histogram_observe(c: &mut Criterion) {
    let mut group = c.benchmark_group("histogram_observe");
    let mut i = 0;
    let mut next = move || {
        i = (i + 1) & 7;
        black_box(OBSERVATIONS[i])
    };

    let promexport = OpMetrics::new();
    group.bench_function("promexport", |b| {
        b.iter(|| promexport.latency.observe(next()))
    });

    let tikv = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new(
        "bench_latency_seconds",
        "Latency.",
    ))
    .unwrap();
    group.bench_function("prometheus", |b| b.iter(|| tikv.observe(next())));

    let pc = prometheus_client::metrics::histogram::Histogram::new(DEFAULT_BUCKETS);
    group.bench_function("prometheus_client", |b| b.iter(|| pc.observe(next())));
    group.finish();
}

/// The five families of 10,000 series, filled with the same labels and values.
struct EncodeFixtures {
    promexport: promexport::Registry,
    tikv: prometheus::Registry,
    pc: prometheus_client::registry::Registry,
    metrics: PrometheusHandle,
    measured: MeasuredEncodeMetrics,
    measured_foldhash: MeasuredFoldhashEncodeMetrics,
}

impl EncodeFixtures {
    fn new() -> Self {
        let promexport_metrics = Arc::new(EncodeMetrics::new());
        let promexport = promexport::Registry::new();
        promexport.register(promexport_metrics.clone()).unwrap();

        let tikv_vec = prometheus::IntCounterVec::new(
            prometheus::Opts::new("bench_requests_total", "Requests served."),
            &["method", "path"],
        )
        .unwrap();
        let tikv = prometheus::Registry::new();
        tikv.register(Box::new(tikv_vec.clone())).unwrap();

        let pc_family = prometheus_client::metrics::family::Family::<
            StringLabels,
            prometheus_client::metrics::counter::Counter,
        >::default();
        let mut pc = prometheus_client::registry::Registry::default();
        pc.register("bench_requests", "Requests served.", pc_family.clone());

        let measured = MeasuredEncodeMetrics {
            requests: measured::CounterVec::with_label_set(MeasuredStringLabelsSet::default()),
        };
        let measured_foldhash = MeasuredFoldhashEncodeMetrics {
            requests: measured_foldhash_vec(),
        };

        let (recorder, metrics) = metrics_recorder();
        metrics::with_local_recorder(&recorder, || {
            metrics::describe_counter!("bench_requests_total", "Requests served.");
            for i in 0..ENCODE_SERIES {
                let (method, path, value) = common::series(i);
                promexport_metrics
                    .requests
                    .get(&StringLabels {
                        method: method.to_owned(),
                        path: path.clone(),
                    })
                    .inc_by(value);
                tikv_vec.with_label_values(&[method, &path]).inc_by(value);
                pc_family
                    .get_or_create(&StringLabels {
                        method: method.to_owned(),
                        path: path.clone(),
                    })
                    .inc_by(value);
                measured.requests.inc_by(
                    MeasuredStringLabels {
                        method,
                        path: &path,
                    },
                    value,
                );
                measured_foldhash.requests.inc_by(
                    MeasuredFoldhashLabels {
                        method,
                        path: &path,
                    },
                    value,
                );
                metrics::counter!("bench_requests_total", "method" => method, "path" => path)
                    .increment(value);
            }
        });
        EncodeFixtures {
            promexport,
            tikv,
            pc,
            metrics,
            measured,
            measured_foldhash,
        }
    }
}

/// measured's exposition of `group`, by a new encoder (`finish` hands over its buffer; an encoder
/// kept across scrapes, as measured advises, made no measurable difference in a trial run).
fn measured_text<G>(group: &G) -> impl AsRef<[u8]> + use<G>
where
    G: measured::MetricGroup<measured::text::BufferedTextEncoder>,
{
    let mut encoder = measured::text::BufferedTextEncoder::new();
    match group.collect_group_into(&mut encoder) {
        Ok(()) => encoder.finish(),
        Err(never) => match never {},
    }
}

/// measured's exposition of one family named `name`.
fn measured_family_text<F>(family: &F, name: &'static str) -> String
where
    F: measured::metric::MetricFamilyEncoding<measured::text::BufferedTextEncoder>,
{
    let mut encoder = measured::text::BufferedTextEncoder::new();
    let name = measured::metric::name::MetricName::from_str(name);
    match family.collect_family_into(name, &mut encoder) {
        Ok(()) => String::from_utf8(encoder.finish().to_vec()).unwrap_or_default(),
        Err(never) => match never {},
    }
}

fn encode_10k(c: &mut Criterion) {
    let fixtures = EncodeFixtures::new();
    let mut group = c.benchmark_group("encode_10k");
    group.sample_size(20);
    // `render_bytes`: a new buffer each time, as `render` made one before it checked UTF-8.
    group.bench_function("promexport_text", |b| {
        b.iter(|| fixtures.promexport.render_bytes(Format::Text))
    });
    group.bench_function("promexport_openmetrics", |b| {
        b.iter(|| fixtures.promexport.render_bytes(Format::OpenMetrics))
    });
    group.bench_function("prometheus", |b| {
        b.iter(|| common::tikv_text(&fixtures.tikv))
    });
    group.bench_function("prometheus_client", |b| {
        b.iter(|| common::pc_text(&fixtures.pc))
    });
    group.bench_function("metrics_exporter_prometheus", |b| {
        b.iter(|| fixtures.metrics.render())
    });
    group.bench_function("measured", |b| b.iter(|| measured_text(&fixtures.measured)));
    group.bench_function("measured_foldhash", |b| {
        b.iter(|| measured_text(&fixtures.measured_foldhash))
    });
    group.finish();
}

type PcHistogram = prometheus_client::metrics::histogram::Histogram;

fn pc_histogram() -> PcHistogram {
    PcHistogram::new(DEFAULT_BUCKETS)
}

/// 10,000 histogram series (the labels of `encode_10k`, the 11 default buckets), one
/// observation each, in each library that serves classic histograms in text.
struct HistogramFixtures {
    promexport: promexport::Registry,
    tikv: prometheus::Registry,
    pc: prometheus_client::registry::Registry,
}

impl HistogramFixtures {
    fn new() -> Self {
        let promexport_metrics = Arc::new(HistogramEncodeMetrics::new());
        let promexport = promexport::Registry::new();
        promexport.register(promexport_metrics.clone()).unwrap();
        let tikv_vec = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new("bench_latency_seconds", "Request latency.")
                .buckets(DEFAULT_BUCKETS.to_vec()),
            &["method", "path"],
        )
        .unwrap();
        let tikv = prometheus::Registry::new();
        tikv.register(Box::new(tikv_vec.clone())).unwrap();
        let pc_family = prometheus_client::metrics::family::Family::<
            StringLabels,
            PcHistogram,
            fn() -> PcHistogram,
        >::new_with_constructor(pc_histogram);
        let mut pc = prometheus_client::registry::Registry::default();
        pc.register(
            "bench_latency_seconds",
            "Request latency.",
            pc_family.clone(),
        );
        for i in 0..ENCODE_SERIES {
            let (method, path, value) = common::series(i);
            // 0 to 70 s: every bucket and `+Inf` hold some series.
            let seconds = value as f64 / 1000.0;
            let labels = StringLabels {
                method: method.to_owned(),
                path: path.clone(),
            };
            promexport_metrics
                .latency_seconds
                .get(&labels)
                .observe(seconds);
            tikv_vec
                .with_label_values(&[method, &path])
                .observe(seconds);
            pc_family.get_or_create(&labels).observe(seconds);
        }
        HistogramFixtures {
            promexport,
            tikv,
            pc,
        }
    }
}

fn encode_10k_histograms(c: &mut Criterion) {
    let fixtures = HistogramFixtures::new();
    let mut group = c.benchmark_group("encode_10k_histograms");
    group.sample_size(20);
    for (name, format) in [
        ("promexport_text", Format::Text),
        ("promexport_openmetrics", Format::OpenMetrics),
        ("promexport_protobuf", Format::Protobuf),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| fixtures.promexport.render_bytes(format))
        });
    }
    group.bench_function("prometheus", |b| {
        b.iter(|| common::tikv_text(&fixtures.tikv))
    });
    group.bench_function("prometheus_client", |b| {
        b.iter(|| common::pc_text(&fixtures.pc))
    });
    group.finish();
}

/// Time per increment when two threads increment the same counter at once: `iters` increments
/// on each thread, the wall time of both divided by `iters`.
fn two_threads(iters: u64, inc: &(dyn Fn() + Sync)) -> std::time::Duration {
    let start = std::sync::Barrier::new(2);
    let times: Vec<std::time::Duration> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let began = std::time::Instant::now();
                    for _ in 0..iters {
                        inc();
                    }
                    began.elapsed()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    times.into_iter().max().unwrap_or_default()
}

fn counter_inc_2_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("counter_inc_2_threads");
    let floor = AtomicU64::new(0);
    group.bench_function("atomic_u64", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, &|| {
                black_box(&floor).fetch_add(1, Ordering::Relaxed);
            })
        })
    });
    let promexport = OpMetrics::new();
    group.bench_function("promexport_counter", |b| {
        b.iter_custom(|iters| two_threads(iters, &|| black_box(&promexport).ops.inc()))
    });
    let sharded = promexport::ShardedCounter::default();
    group.bench_function("promexport_sharded", |b| {
        b.iter_custom(|iters| two_threads(iters, &|| black_box(&sharded).inc()))
    });
    let tikv = prometheus::IntCounter::new("bench_ops_total", "Operations.").unwrap();
    group.bench_function("prometheus", |b| {
        b.iter_custom(|iters| two_threads(iters, &|| black_box(&tikv).inc()))
    });
    let pc: prometheus_client::metrics::counter::Counter = Default::default();
    group.bench_function("prometheus_client", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, &|| {
                black_box(&pc).inc();
            })
        })
    });
    group.finish();
    assert_eq!(
        sharded.get() % 2,
        0,
        "both threads' increments are all counted"
    );
}

criterion_group!(
    benches,
    counter_inc,
    counter_inc_2_threads,
    labelled_enum_inc,
    labelled_string_inc,
    histogram_observe,
    encode_10k,
    encode_10k_histograms
);

// ---------------------------------------------------------------------------------------------
// Before measuring: every variant records, and every encoder writes every series.

/// Number of lines of `text` that are samples of `bench_requests_total`.
fn samples(text: &str) -> usize {
    text.lines()
        .filter(|line| line.starts_with("bench_requests_total{"))
        .count()
}

/// The text expositions of promexport (text, OpenMetrics), tikv and prometheus-client, by the
/// names of their benches.
fn texts_of(
    promexport: &promexport::Registry,
    tikv: &prometheus::Registry,
    pc: &prometheus_client::registry::Registry,
) -> Vec<(&'static str, String)> {
    vec![
        ("promexport_text", promexport.render(Format::Text)),
        (
            "promexport_openmetrics",
            promexport.render(Format::OpenMetrics),
        ),
        ("prometheus", common::tikv_text(tikv)),
        ("prometheus_client", common::pc_text(pc)),
    ]
}

fn check() {
    let promexport = OpMetrics::new();
    promexport.ops.inc();
    promexport
        .enum_requests
        .get(&EnumLabels {
            method: Method::Get,
            code: Code::Ok,
        })
        .inc();
    promexport.latency.observe(0.3);
    let registry = promexport::Registry::new();
    let promexport = Arc::new(promexport);
    registry.register(promexport.clone()).unwrap();
    let text = registry.render(Format::Text);
    for line in [
        "bench_ops_total 1\n",
        "bench_enum_requests_total{method=\"get\",code=\"200\"} 1\n",
        "bench_latency_seconds_bucket{le=\"0.5\"} 1\n",
    ] {
        assert!(text.contains(line), "promexport: no {line:?} in\n{text}");
    }

    let (recorder, handle) = metrics_recorder();
    let counter = metrics::with_local_recorder(&recorder, || metrics::counter!("bench_ops_total"));
    counter.increment(1);
    assert!(handle.render().contains("bench_ops_total 1\n"));

    let measured_vec = measured::CounterVec::with_label_set(MeasuredLabelsSet::new());
    measured_vec.inc(MeasuredLabels {
        method: MeasuredMethod::Get,
        code: MeasuredCode::Ok,
    });
    let text = measured_family_text(&measured_vec, "bench_enum_requests_total");
    assert!(
        text.contains("bench_enum_requests_total{method=\"get\",code=\"200\"} 1\n"),
        "measured: {text}"
    );

    let measured_vec = measured::CounterVec::with_label_set(MeasuredStringLabelsSet::default());
    for _ in 0..2 {
        measured_vec.inc(MeasuredStringLabels {
            method: "get",
            path: "/api/v1/items/42",
        });
    }
    let text = measured_family_text(&measured_vec, "bench_string_requests_total");
    assert!(
        text.contains("bench_string_requests_total{method=\"get\",path=\"/api/v1/items/42\"} 2\n"),
        "measured: {text}"
    );
    assert_eq!(measured_vec.get_cardinality().0, 1, "measured: one series");

    let fixtures = EncodeFixtures::new();
    let mut sizes = String::new();
    let mut texts = texts_of(&fixtures.promexport, &fixtures.tikv, &fixtures.pc);
    texts.extend([
        ("metrics_exporter_prometheus", fixtures.metrics.render()),
        (
            "measured",
            String::from_utf8(measured_text(&fixtures.measured).as_ref().to_vec()).unwrap(),
        ),
        (
            "measured_foldhash",
            String::from_utf8(measured_text(&fixtures.measured_foldhash).as_ref().to_vec())
                .unwrap(),
        ),
    ]);
    for (name, text) in texts {
        assert_eq!(samples(&text), ENCODE_SERIES, "{name}");
        assert!(
            text.contains("bench_requests_total{method=\"post\",path=\"/api/v1/items/7\"} 203"),
            "{name}"
        );
        let _ = write!(sizes, " {name}={}", text.len());
    }
    eprintln!("encode_10k output bytes:{sizes}");

    let fixtures = HistogramFixtures::new();
    let mut sizes = String::new();
    for (name, text) in texts_of(&fixtures.promexport, &fixtures.tikv, &fixtures.pc) {
        let counts = text
            .lines()
            .filter(|line| line.starts_with("bench_latency_seconds_count{"))
            .count();
        assert_eq!(counts, ENCODE_SERIES, "{name}");
        // Series 1,001 (`post`, path 250) observed 7.007 s: above the 5 s bucket, in the 10 s one.
        for (le, count) in [("5", 0), ("10", 1)] {
            let found = text.lines().any(|line| {
                line.starts_with("bench_latency_seconds_bucket{")
                    && line.contains("path=\"/api/v1/items/250\"")
                    && line.contains("method=\"post\"")
                    && (line.contains(&format!("le=\"{le}\""))
                        || line.contains(&format!("le=\"{le}.0\"")))
                    && line.split_whitespace().nth(1) == Some(&count.to_string())
            });
            assert!(
                found,
                "{name}: no bucket le={le} of {count} for series 1,001"
            );
        }
        let _ = write!(sizes, " {name}={}", text.len());
    }
    let protobuf = fixtures.promexport.render_bytes(Format::Protobuf);
    let _ = write!(sizes, " promexport_protobuf={}", protobuf.len());
    eprintln!("encode_10k_histograms output bytes:{sizes}");
}

fn main() {
    check();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
