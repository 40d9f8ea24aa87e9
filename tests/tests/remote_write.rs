//! Remote write against a loopback receiver the test scripts (tests/src/remote_write.rs): what
//! is retried, what is dropped and counted, what the queue holds, what a shutdown flushes, and
//! the 1.0 and 2.0 requests decoded by an independent decoder (`prost`, with messages written
//! after Prometheus' .proto files). No real 2.0 receiver is available here (Prometheus 2.42
//! takes 1.0 only), so 2.0 is checked field by field.

use promexport::remote_write::{Endpoint, Protocol, RemoteWriter, RemoteWriterHandle};
use promexport::{
    ClassicBucket, Collect, Counter, Created, Descriptor, Exemplar, FamilyDescription, Format,
    Gauge, Histogram, HistogramSample, LabelValue, Labels, MetricKind, Metrics,
    NativeHistogramParts, Registry, StateSet,
};
use promexport_tests::remote_write::{FakeReceiver, Received, Reply, RequestV2, WriteRequest};
use promexport_tests::{free_port, sample_value, wait_for};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const HOUR: Duration = Duration::from_secs(3600);
const GENEROUS: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
enum Phase {
    Idle,
    Busy,
}

#[derive(Metrics)]
#[metrics(prefix = "job", no_global)]
struct JobMetrics {
    /// Jobs done.
    done: Counter,
    /// Jobs waiting.
    waiting: Gauge,
    /// Time per job.
    #[metric(unit = "seconds", buckets = [0.5, 1])]
    duration: Histogram,
    /// What the worker does.
    phase: StateSet<Phase>,
}

fn job_registry() -> (Registry, Arc<JobMetrics>) {
    let registry = Registry::new();
    let metrics = Arc::new(JobMetrics::new());
    registry.register(metrics.clone()).unwrap();
    (registry, metrics)
}

/// A runtime for the writer; the test thread waits on the receiver meanwhile.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A writer of `registry` that collects once at start, then only when told (`collect_now`).
fn start(registry: &Registry, endpoint: Endpoint) -> RemoteWriterHandle {
    RemoteWriter::new()
        .registry(registry)
        .interval(HOUR)
        .external_label("instance", "test-1")
        .endpoint(endpoint)
        .start()
        .unwrap()
}

fn fast_retries(url: &str) -> Endpoint {
    Endpoint::new(url)
        .unwrap()
        .name("test")
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
}

fn stat(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = registry.render(Format::Text);
    let mut all = vec![("remote_name", "test")];
    all.extend_from_slice(labels);
    sample_value(&text, name, &all).unwrap_or_else(|| panic!("{name} {labels:?} in\n{text}"))
}

fn accepted(received: &[Received]) -> Vec<WriteRequest> {
    received
        .iter()
        .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
        .map(|r| WriteRequest::decode_body(&r.body))
        .collect()
}

/// The value of the series named `name` in `request`.
fn value_of(request: &WriteRequest, name: &str) -> Option<f64> {
    request
        .timeseries
        .iter()
        .find(|series| series.label("__name__") == Some(name))
        .map(|series| series.samples[0].value)
}

#[test]
fn a_server_error_is_retried_and_nothing_is_lost_or_sent_twice() {
    let receiver = FakeReceiver::start();
    receiver.script([Reply::Status(500, None), Reply::Status(503, None)]);
    let (registry, metrics) = job_registry();
    metrics.done.inc_by(7);
    let runtime = runtime();
    let _entered = runtime.enter();
    let writer = start(&registry, fast_retries(&receiver.url()));
    // A second collection while the first is still being retried: queued behind it.
    wait_for("the first attempt", GENEROUS, || {
        (!receiver.received().is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_millis(5));
    metrics.done.inc();
    runtime.block_on(writer.collect_now());
    let received = receiver.wait_for_accepted(2, GENEROUS);
    let requests = accepted(&received);
    assert_eq!(received.len(), 4, "two failures, then each collection once");
    assert_eq!(received[0].body, received[1].body, "the same batch retried");
    assert_eq!(received[1].body, received[2].body);
    assert_eq!(
        requests
            .iter()
            .map(|r| value_of(r, "job_done_total"))
            .collect::<Vec<_>>(),
        [Some(7.0), Some(8.0)],
        "in collection order"
    );
    let mut seen = HashSet::new();
    for series in requests.iter().flat_map(|r| &r.timeseries) {
        let key = format!("{:?}{:?}", series.labels, series.samples);
        assert!(seen.insert(key), "sent twice: {series:?}");
    }
    let per_collection = requests[0].timeseries.len() as f64;
    assert_eq!(requests[1].timeseries.len() as f64, per_collection);
    let samples = stat(&registry, "prometheus_remote_storage_samples_total", &[]);
    let retried = stat(
        &registry,
        "prometheus_remote_storage_samples_retried_total",
        &[],
    );
    assert_eq!(
        (samples, retried),
        (2.0 * per_collection, 2.0 * per_collection)
    );
    assert_eq!(
        stat(&registry, "prometheus_remote_storage_samples_pending", &[]),
        0.0
    );
    let newest = stat(
        &registry,
        "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
        &[],
    );
    let sent_ms = requests[1].timeseries[0].samples[0].timestamp;
    assert_eq!((newest * 1000.0).round() as i64, sent_ms);
    runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
}

#[test]
fn a_429_waits_as_long_as_retry_after_says() {
    let receiver = FakeReceiver::start();
    receiver.script([Reply::Status(429, Some(1))]);
    let (registry, _metrics) = job_registry();
    let runtime = runtime();
    let _entered = runtime.enter();
    let writer = start(&registry, fast_retries(&receiver.url()));
    let received = receiver.wait_for_accepted(1, GENEROUS);
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    // The backoff alone would have retried within 50 ms.
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
    assert_eq!(received[0].body, received[1].body);
    runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
}

#[test]
fn a_400_is_dropped_counted_and_not_retried() {
    let receiver = FakeReceiver::start();
    receiver.script([Reply::Status(400, None)]);
    let (registry, metrics) = job_registry();
    let runtime = runtime();
    let _entered = runtime.enter();
    let writer = start(&registry, fast_retries(&receiver.url()));
    wait_for("the refused batch to be counted", GENEROUS, || {
        let failed = stat(
            &registry,
            "prometheus_remote_storage_samples_failed_total",
            &[],
        );
        (failed > 0.0).then_some(())
    });
    // Time for dozens of retries at this backoff, were there any.
    std::thread::sleep(Duration::from_millis(500));
    let received = receiver.received();
    assert_eq!(received.len(), 1, "not retried");
    let refused = WriteRequest::decode_body(&received[0].body)
        .timeseries
        .len() as f64;
    assert_eq!(
        stat(
            &registry,
            "prometheus_remote_storage_samples_failed_total",
            &[]
        ),
        refused
    );
    assert_eq!(
        stat(
            &registry,
            "prometheus_remote_storage_samples_retried_total",
            &[]
        ),
        0.0
    );
    assert_eq!(
        stat(&registry, "prometheus_remote_storage_samples_total", &[]),
        0.0
    );
    // The writer goes on with the next collection.
    metrics.done.inc_by(2);
    runtime.block_on(writer.collect_now());
    let received = receiver.wait_for_accepted(1, GENEROUS);
    assert_eq!(
        value_of(&accepted(&received)[0], "job_done_total"),
        Some(2.0)
    );
    runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
}

#[test]
fn a_receiver_that_hangs_times_out_and_the_batch_is_retried() {
    let receiver = FakeReceiver::start();
    receiver.script([Reply::Hang(Duration::from_secs(20))]);
    let (registry, _metrics) = job_registry();
    let runtime = runtime();
    let _entered = runtime.enter();
    let endpoint = fast_retries(&receiver.url()).timeout(Duration::from_millis(500));
    let writer = start(&registry, endpoint);
    let received = receiver.wait_for_accepted(1, GENEROUS);
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].answered, None);
    assert_eq!(received[0].body, received[1].body);
    assert!(received[1].at - received[0].at >= Duration::from_millis(450));
    let sent = accepted(&received)[0].timeseries.len() as f64;
    assert_eq!(
        stat(
            &registry,
            "prometheus_remote_storage_samples_retried_total",
            &[]
        ),
        sent
    );
    runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
}

/// Waits until the first batch is in flight, and failed once.
fn wait_for_first_retry(registry: &Registry) {
    wait_for("a first failed attempt", GENEROUS, || {
        let retried = stat(
            registry,
            "prometheus_remote_storage_samples_retried_total",
            &[],
        );
        (retried > 0.0).then_some(())
    });
}

/// The compressed size of one collection of a job registry (with a writer's metrics).
fn one_batch_bytes(runtime: &tokio::runtime::Runtime) -> f64 {
    let (registry, _metrics) = job_registry();
    let _entered = runtime.enter();
    let nowhere = format!("http://127.0.0.1:{}/api/v1/write", free_port());
    let writer = start(&registry, fast_retries(&nowhere));
    wait_for_first_retry(&registry);
    // The first batch is in flight, the second waits: its bytes are the pending ones.
    runtime.block_on(writer.collect_now());
    stat(&registry, "prometheus_remote_storage_pending_bytes", &[])
}

#[test]
fn a_receiver_down_longer_than_the_queue_holds_costs_the_oldest_batches_and_no_more_memory() {
    let runtime = runtime();
    let batch_bytes = one_batch_bytes(&runtime);
    assert!(batch_bytes > 100.0, "{batch_bytes}");
    // Room for two batches (a batch grows by a few bytes as the counters do).
    let capacity = (batch_bytes * 2.5) as usize;
    let port = free_port();
    let (registry, metrics) = job_registry();
    let _entered = runtime.enter();
    let endpoint = fast_retries(&format!("http://127.0.0.1:{port}/api/v1/write"))
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
        .queue_capacity_bytes(capacity);
    let writer = start(&registry, endpoint);
    wait_for_first_retry(&registry);
    let collections = 8;
    for _ in 1..collections {
        std::thread::sleep(Duration::from_millis(3));
        metrics.done.inc();
        runtime.block_on(writer.collect_now());
        let pending = stat(&registry, "prometheus_remote_storage_pending_bytes", &[]);
        assert!(pending <= capacity as f64, "{pending} > {capacity}");
    }
    let dropped = stat(
        &registry,
        "prometheus_remote_storage_samples_dropped_total",
        &[("reason", "queue_full")],
    );
    assert!(dropped > 0.0);
    // The receiver comes up on the port the writer kept trying.
    let receiver = FakeReceiver::start_on_port(port);
    wait_for("the queue to empty", GENEROUS, || {
        (writer.pending_samples() == 0).then_some(())
    });
    let requests = accepted(&receiver.received());
    let values: Vec<f64> = requests
        .iter()
        .filter_map(|r| value_of(r, "job_done_total"))
        .collect();
    // The batch in flight (the first collection) and the two newest; those between dropped.
    assert_eq!(values, [0.0, 6.0, 7.0]);
    let per_collection = requests[0].timeseries.len() as f64;
    assert_eq!(dropped, (collections - 3) as f64 * per_collection);
    assert_eq!(
        stat(&registry, "prometheus_remote_storage_samples_total", &[]),
        3.0 * per_collection
    );
    runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
}

#[test]
fn shutdown_sends_a_last_collection_and_everything_queued() {
    let receiver = FakeReceiver::start();
    let (registry, metrics) = job_registry();
    let runtime = runtime();
    let _entered = runtime.enter();
    let writer = start(&registry, fast_retries(&receiver.url()));
    metrics.done.inc_by(3);
    runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
    let requests = accepted(&receiver.received());
    let last = requests.last().expect("requests");
    assert_eq!(value_of(last, "job_done_total"), Some(3.0));
}

#[test]
fn a_shutdown_that_cannot_flush_in_time_says_what_it_dropped() {
    let (registry, _metrics) = job_registry();
    let runtime = runtime();
    let _entered = runtime.enter();
    let nowhere = format!("http://127.0.0.1:{}/api/v1/write", free_port());
    let writer = start(&registry, fast_retries(&nowhere));
    let error = runtime
        .block_on(writer.shutdown(Duration::from_millis(300)))
        .unwrap_err();
    assert!(
        matches!(&error, promexport::Error::RemoteWrite(m) if m.contains("not sent")),
        "{error}"
    );
    let dropped = stat(
        &registry,
        "prometheus_remote_storage_samples_dropped_total",
        &[("reason", "shutdown")],
    );
    assert!(dropped > 0.0);
    assert_eq!(
        stat(&registry, "prometheus_remote_storage_samples_pending", &[]),
        0.0
    );
}

#[test]
fn a_1_0_request_carries_the_protocol_headers_sorted_labels_and_metadata() {
    let receiver = FakeReceiver::start();
    let (registry, metrics) = job_registry();
    metrics.done.inc_by(4);
    metrics.waiting.set(-2);
    metrics.duration.observe(0.7);
    metrics.phase.set(Phase::Busy);
    let runtime = runtime();
    let _entered = runtime.enter();
    let endpoint = fast_retries(&receiver.url())
        .bearer_token("s3cret")
        .max_series_per_request(4);
    let writer = start(&registry, endpoint);
    runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
    let received = receiver.received();
    let first = &received[0];
    assert_eq!(first.path, "/api/v1/write");
    assert_eq!(first.header("content-encoding"), Some("snappy"));
    assert_eq!(first.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(
        first.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
    assert!(
        first
            .header("user-agent")
            .unwrap()
            .starts_with("promexport/")
    );
    assert_eq!(first.header("authorization"), Some("Bearer s3cret"));
    // The shutdown's collection, in requests of at most 4 series.
    let requests = accepted(&received);
    let timestamp = requests.last().unwrap().timeseries[0].samples[0].timestamp;
    let last: Vec<_> = requests
        .iter()
        .filter(|r| r.timeseries[0].samples[0].timestamp == timestamp)
        .collect();
    assert!(last.len() > 1 && last.iter().all(|r| r.timeseries.len() <= 4));
    let series: Vec<_> = last.iter().flat_map(|r| &r.timeseries).collect();
    for one in &series {
        let names: Vec<&str> = one.labels.iter().map(|l| l.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "sorted labels");
        assert_eq!(one.label("instance"), Some("test-1"), "external label");
        assert_eq!(one.samples.len(), 1);
    }
    let find = |name: &str, extra: Option<(&str, &str)>| {
        series
            .iter()
            .find(|s| {
                s.label("__name__") == Some(name)
                    && extra.is_none_or(|(label, value)| s.label(label) == Some(value))
            })
            .map(|s| s.samples[0].value)
    };
    assert_eq!(find("job_done_total", None), Some(4.0));
    assert_eq!(find("job_waiting", None), Some(-2.0));
    assert_eq!(
        find("job_duration_seconds_bucket", Some(("le", "0.5"))),
        Some(0.0)
    );
    assert_eq!(
        find("job_duration_seconds_bucket", Some(("le", "1.0"))),
        Some(1.0)
    );
    assert_eq!(
        find("job_duration_seconds_bucket", Some(("le", "+Inf"))),
        Some(1.0)
    );
    assert_eq!(find("job_duration_seconds_sum", None), Some(0.7));
    assert_eq!(find("job_duration_seconds_count", None), Some(1.0));
    assert_eq!(find("job_phase", Some(("job_phase", "busy"))), Some(1.0));
    assert_eq!(find("job_phase", Some(("job_phase", "idle"))), Some(0.0));
    // Each request describes the families of its series.
    let metadata: Vec<_> = last.iter().flat_map(|r| &r.metadata).collect();
    let done = metadata
        .iter()
        .find(|m| m.metric_family_name == "job_done")
        .expect("job_done metadata");
    assert_eq!((done.r#type, done.help.as_str()), (1, "Jobs done."));
    let duration = metadata
        .iter()
        .find(|m| m.metric_family_name == "job_duration_seconds")
        .expect("histogram metadata");
    assert_eq!((duration.r#type, duration.unit.as_str()), (3, "seconds"));
    let phase = metadata
        .iter()
        .find(|m| m.metric_family_name == "job_phase");
    assert_eq!(phase.map(|m| m.r#type), Some(7));
}

#[test]
fn a_2_0_request_decodes_field_by_field() {
    let receiver = FakeReceiver::start();
    let (registry, metrics) = job_registry();
    metrics.done.inc_by(5);
    metrics.duration.observe(0.2);
    let runtime = runtime();
    let _entered = runtime.enter();
    let endpoint = fast_retries(&receiver.url())
        .protocol(Protocol::V2)
        .basic_auth("writer", "pw");
    let writer = start(&registry, endpoint);
    let received = receiver.wait_for_accepted(1, GENEROUS);
    runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
    let first = &received[0];
    assert_eq!(
        first.header("content-type"),
        Some("application/x-protobuf;proto=io.prometheus.write.v2.Request")
    );
    assert_eq!(
        first.header("x-prometheus-remote-write-version"),
        Some("2.0.0")
    );
    assert_eq!(
        first.header("authorization"),
        Some(promexport_tests::basic_auth("writer", "pw").as_str())
    );
    let request = RequestV2::decode_body(&first.body);
    assert_eq!(
        request.symbols[0], "",
        "the table starts with the empty string"
    );
    let distinct: HashSet<&String> = request.symbols.iter().collect();
    assert_eq!(distinct.len(), request.symbols.len(), "each symbol once");
    let symbol = |index: u32| request.symbols[index as usize].as_str();
    let mut found = 0;
    for series in &request.timeseries {
        assert_eq!(series.labels_refs.len() % 2, 0);
        let labels: Vec<(&str, &str)> = series
            .labels_refs
            .chunks(2)
            .map(|pair| (symbol(pair[0]), symbol(pair[1])))
            .collect();
        let mut sorted = labels.clone();
        sorted.sort_unstable();
        assert_eq!(labels, sorted);
        assert!(labels.contains(&("instance", "test-1")));
        let name = labels.iter().find(|(n, _)| *n == "__name__").unwrap().1;
        let metadata = series.metadata.as_ref().expect("metadata");
        assert_eq!(series.samples.len(), 1);
        assert!(series.samples[0].timestamp > 1_600_000_000_000);
        match name {
            "job_done_total" => {
                assert_eq!(series.samples[0].value, 5.0);
                assert_eq!(metadata.r#type, 1);
                assert_eq!(symbol(metadata.help_ref), "Jobs done.");
                assert_eq!(symbol(metadata.unit_ref), "");
                found += 1;
            }
            "job_duration_seconds_sum" => {
                assert_eq!(series.samples[0].value, 0.2);
                assert_eq!(metadata.r#type, 3);
                assert_eq!(symbol(metadata.help_ref), "Time per job.");
                assert_eq!(symbol(metadata.unit_ref), "seconds");
                found += 1;
            }
            "job_waiting" => {
                assert_eq!(metadata.r#type, 2);
                found += 1;
            }
            _ => {}
        }
    }
    assert_eq!(found, 3);
}

/// A counter and a native histogram with fixed created times and exemplars, written through
/// the typed family API (the derive's counters carry no exemplar).
struct Traced {
    exemplar: Exemplar,
    native_exemplar: Exemplar,
}

const TRACED_CREATED_MS: u64 = 1_700_000_000_123;

impl Collect for Traced {
    fn describe(&self) -> Vec<FamilyDescription> {
        Vec::new()
    }

    fn encode(&self, encoder: &mut promexport::Encoder<'_>) {
        let created = Some(Created::at(
            UNIX_EPOCH + Duration::from_millis(TRACED_CREATED_MS),
        ));
        const REQUESTS: Descriptor = Descriptor {
            name: "traced_requests",
            help: "Requests.",
            unit: None,
            kind: MetricKind::Counter,
        };
        encoder.family(&REQUESTS, "").counter(
            Labels::NONE,
            promexport::Value::U64(3),
            created,
            Some(&self.exemplar),
        );
        const LATENCY: Descriptor = Descriptor {
            name: "traced_seconds",
            help: "Latency.",
            unit: None,
            kind: MetricKind::Histogram,
        };
        let buckets = [ClassicBucket {
            upper_bound: f64::INFINITY,
            cumulative_count: 1,
            exemplar: None,
        }];
        let native = NativeHistogramParts {
            schema: 0,
            zero_threshold: 0.0,
            zero_count: 0,
            positive: &[(1, 1)],
            negative: &[],
            exemplars: &[&self.native_exemplar],
        };
        encoder.family(&LATENCY, "").histogram(
            Labels::NONE,
            &HistogramSample {
                buckets: &buckets,
                sum: 1.5,
                created,
                native: Some(native),
            },
        );
    }
}

fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn a_2_0_request_carries_created_timestamps_and_exemplars_field_by_field() {
    let receiver = FakeReceiver::start();
    let (registry, metrics) = job_registry();
    let before = millis(SystemTime::now());
    metrics.done.inc();
    metrics
        .duration
        .observe_with_exemplar(0.2, &[("trace_id", "abc")])
        .unwrap();
    registry
        .register(Traced {
            // Out of order on purpose: 2.0 wants an exemplar's labels sorted.
            exemplar: Exemplar::new(&[("trace_id", "t-1"), ("span_id", "s-9")], 1.0).unwrap(),
            native_exemplar: Exemplar::new(&[("trace_id", "t-2")], 1.5).unwrap(),
        })
        .unwrap();
    // Exemplar times are seconds, rounded to the nearest millisecond when sent.
    let after = millis(SystemTime::now()) + 1;
    let runtime = runtime();
    let _entered = runtime.enter();
    let writer = start(
        &registry,
        fast_retries(&receiver.url()).protocol(Protocol::V2),
    );
    let received = receiver.wait_for_accepted(1, GENEROUS);
    runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
    let request = RequestV2::decode_body(&received[0].body);
    let symbol = |index: u32| request.symbols[index as usize].as_str();
    let labels = |refs: &[u32]| -> Vec<(&str, &str)> {
        assert_eq!(refs.len() % 2, 0);
        refs.chunks(2)
            .map(|pair| (symbol(pair[0]), symbol(pair[1])))
            .collect()
    };
    let series = |name: &str, le: Option<&str>| {
        request
            .timeseries
            .iter()
            .find(|series| {
                let labels = labels(&series.labels_refs);
                labels.contains(&("__name__", name))
                    && le.is_none_or(|le| labels.contains(&("le", le)))
            })
            .unwrap_or_else(|| panic!("{name} {le:?}"))
    };
    let done_created = millis(metrics.done.created().time());
    let duration_created = millis(metrics.duration.created().time());
    let done = series("job_done_total", None);
    assert_eq!(done.created_timestamp, done_created);
    assert!(done.exemplars.is_empty());
    let bucket = series("job_duration_seconds_bucket", Some("0.5"));
    assert_eq!(bucket.created_timestamp, duration_created);
    assert_eq!(bucket.exemplars.len(), 1);
    let exemplar = &bucket.exemplars[0];
    assert_eq!(labels(&exemplar.labels_refs), [("trace_id", "abc")]);
    assert_eq!(exemplar.value, 0.2);
    assert!(
        (before..=after).contains(&exemplar.timestamp),
        "{exemplar:?}"
    );
    let empty_bucket = series("job_duration_seconds_bucket", Some("+Inf"));
    assert!(empty_bucket.exemplars.is_empty());
    for name in ["job_duration_seconds_sum", "job_duration_seconds_count"] {
        let one = series(name, None);
        assert_eq!(one.created_timestamp, duration_created, "{name}");
        assert!(one.exemplars.is_empty(), "{name}");
    }
    let gauge = series("job_waiting", None);
    assert_eq!(gauge.created_timestamp, 0, "a gauge has no created time");
    assert!(gauge.exemplars.is_empty());

    let requests = series("traced_requests_total", None);
    assert_eq!(requests.created_timestamp, TRACED_CREATED_MS as i64);
    assert_eq!(requests.samples[0].value, 3.0);
    let exemplar = &requests.exemplars[0];
    assert_eq!(
        labels(&exemplar.labels_refs),
        [("span_id", "s-9"), ("trace_id", "t-1")]
    );
    assert_eq!(exemplar.value, 1.0);
    assert!(
        (before..=after).contains(&exemplar.timestamp),
        "{exemplar:?}"
    );
    let native = request
        .timeseries
        .iter()
        .find(|s| !s.histograms.is_empty())
        .expect("the native series");
    assert_eq!(native.created_timestamp, TRACED_CREATED_MS as i64);
    assert_eq!(native.exemplars.len(), 1);
    assert_eq!(
        labels(&native.exemplars[0].labels_refs),
        [("trace_id", "t-2")]
    );
    assert_eq!(native.exemplars[0].value, 1.5);
}

#[test]
fn wrong_settings_are_refused_at_start() {
    let runtime = runtime();
    let _entered = runtime.enter();
    let endpoint = || Endpoint::new("http://127.0.0.1:1/api/v1/write").unwrap();
    let refused = |writer: RemoteWriter| writer.start().map(|_| ()).unwrap_err().to_string();
    assert!(refused(RemoteWriter::new()).contains("needs an endpoint"));
    assert!(
        refused(
            RemoteWriter::new()
                .endpoint(endpoint())
                .external_label("__a", "x")
        )
        .contains("external label")
    );
    assert!(
        refused(RemoteWriter::new().endpoint(endpoint().max_series_per_request(0)))
            .contains("max_series_per_request")
    );
    assert!(
        refused(RemoteWriter::new().endpoint(endpoint().bearer_token("a\nb")))
            .contains("credentials")
    );
    assert!(Endpoint::new("udp://x").is_err());
    // A second writer of one registry would serve its metrics under the same names.
    let registry = Registry::new();
    let _first = RemoteWriter::new()
        .registry(&registry)
        .endpoint(endpoint())
        .start()
        .unwrap();
    let second = RemoteWriter::new()
        .registry(&registry)
        .endpoint(endpoint())
        .start();
    assert!(matches!(
        second,
        Err(promexport::Error::DuplicateMetric { .. } | promexport::Error::Clashes(_))
    ));
    drop(_entered);
    let outside = RemoteWriter::new()
        .registry(&Registry::new())
        .endpoint(endpoint())
        .start();
    assert!(
        outside
            .map(|_| ())
            .unwrap_err()
            .to_string()
            .contains("tokio runtime")
    );
}

#[test]
fn the_agent_example_sends_the_demo_applications_metrics() {
    let receiver = FakeReceiver::start();
    let dir = promexport_tests::TempDir::new("remote-write-agent");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_remote_write_agent"));
    command.args([
        "--remote-write.url",
        &receiver.url(),
        "--interval",
        "0.2",
        "--external-label",
        "instance=edge-1",
    ]);
    let agent = promexport_tests::Process::start(command, dir.path().join("agent.log"));
    let up = wait_for("app_up 1 from the agent", GENEROUS, || {
        accepted(&receiver.received())
            .into_iter()
            .find_map(|request| {
                let up = request
                    .timeseries
                    .iter()
                    .find(|s| s.label("__name__") == Some("app_up"))?;
                (up.samples[0].value == 1.0).then(|| up.clone())
            })
    });
    assert_eq!(up.label("instance"), Some("edge-1"), "{}", agent.log());
    let requests = accepted(&receiver.received());
    let health = requests.iter().flat_map(|r| &r.timeseries).find(|s| {
        s.label("__name__") == Some("app_health") && s.label("app_health") == Some("healthy")
    });
    assert!(health.is_some(), "{}", agent.log());
    assert!(requests.iter().any(|r| value_of(r, "app_uptime").is_some()));
}

#[test]
fn a_native_histogram_is_sent_as_one_in_1_0_and_2_0_beside_its_classic_series() {
    use promexport_tests::remote_write::{NATIVE_POSITIVE, NativeHistogram, NativeLatency};
    let check = |histogram: &NativeHistogram| {
        assert_eq!((histogram.count_int, histogram.sum), (3, 1.8005));
        assert_eq!((histogram.schema, histogram.zero_threshold), (0, 0.001));
        assert_eq!(histogram.zero_count_int, 1);
        // Indexes -1 and 1: one span over -1..=1, the empty bucket 0 filled in.
        assert_eq!(histogram.positive_spans.len(), 1);
        let span = &histogram.positive_spans[0];
        assert_eq!((span.offset, span.length), (NATIVE_POSITIVE[0].0, 3));
        assert_eq!(histogram.positive_deltas, [1, -1, 1]);
        assert!(histogram.negative_spans.is_empty() && histogram.negative_deltas.is_empty());
        assert!(histogram.timestamp > 1_600_000_000_000);
    };
    for protocol in [Protocol::V1, Protocol::V2] {
        let receiver = FakeReceiver::start();
        let registry = Registry::new();
        registry.register(NativeLatency).unwrap();
        let runtime = runtime();
        let _entered = runtime.enter();
        let writer = start(&registry, fast_retries(&receiver.url()).protocol(protocol));
        let received = receiver.wait_for_accepted(1, GENEROUS);
        runtime.block_on(writer.shutdown(GENEROUS)).unwrap();
        let body = &received[0].body;
        match protocol {
            Protocol::V1 => {
                let request = WriteRequest::decode_body(body);
                let native = request
                    .timeseries
                    .iter()
                    .find(|s| s.label("__name__") == Some("latency_seconds"))
                    .expect("the native series");
                assert!(native.samples.is_empty());
                check(&native.histograms[0]);
                let count = value_of(&request, "latency_seconds_count");
                assert_eq!(count, Some(3.0), "the classic series too");
            }
            _ => {
                let request = RequestV2::decode_body(body);
                let native = request
                    .timeseries
                    .iter()
                    .find(|s| !s.histograms.is_empty())
                    .expect("the native series");
                let name = native.labels_refs.chunks(2).find_map(|pair| {
                    (request.symbols[pair[0] as usize] == "__name__")
                        .then(|| request.symbols[pair[1] as usize].as_str())
                });
                assert_eq!(name, Some("latency_seconds"));
                assert!(native.samples.is_empty());
                assert_eq!(native.metadata.as_ref().map(|m| m.r#type), Some(3));
                check(&native.histograms[0]);
            }
        }
    }
}

#[test]
fn each_endpoint_has_its_own_queue_so_one_down_does_not_hold_back_the_other() {
    let up = FakeReceiver::start();
    let (registry, metrics) = job_registry();
    metrics.done.inc_by(11);
    let runtime = runtime();
    let _entered = runtime.enter();
    let nowhere = format!("http://127.0.0.1:{}/api/v1/write", free_port());
    let writer = RemoteWriter::new()
        .registry(&registry)
        .interval(HOUR)
        .endpoint(fast_retries(&up.url()).name("up"))
        .endpoint(fast_retries(&nowhere).name("down"))
        .start()
        .unwrap();
    let received = up.wait_for_accepted(1, GENEROUS);
    assert_eq!(
        value_of(&accepted(&received)[0], "job_done_total"),
        Some(11.0)
    );
    let text = registry.render(Format::Text);
    let sent = |name: &str| {
        sample_value(
            &text,
            "prometheus_remote_storage_samples_total",
            &[("remote_name", name)],
        )
    };
    assert!(sent("up").is_some_and(|n| n > 0.0), "{text}");
    assert_eq!(sent("down"), Some(0.0));
    let _ = runtime.block_on(writer.shutdown(Duration::from_millis(200)));
}

#[test]
fn a_batch_older_than_its_maximum_age_is_dropped_and_counted() {
    let (registry, _metrics) = job_registry();
    let runtime = runtime();
    let _entered = runtime.enter();
    let nowhere = format!("http://127.0.0.1:{}/api/v1/write", free_port());
    let endpoint = fast_retries(&nowhere).max_batch_age(Duration::from_millis(300));
    let writer = start(&registry, endpoint);
    wait_for("the batch to grow too old", GENEROUS, || {
        let dropped = stat(
            &registry,
            "prometheus_remote_storage_samples_dropped_total",
            &[("reason", "too_old")],
        );
        (dropped > 0.0 && writer.pending_samples() == 0).then_some(())
    });
    assert_eq!(
        stat(&registry, "prometheus_remote_storage_samples_total", &[]),
        0.0
    );
    drop(writer);
}
