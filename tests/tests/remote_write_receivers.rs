//! Remote write into real receivers, read back by their query APIs: Prometheus 2.42 (Debian's,
//! `--web.enable-remote-write-receiver`) through PromQL, and single-node VictoriaMetrics 1.79
//! (Debian's `victoria-metrics`) through its Prometheus-compatible `/api/v1/query`. Both on
//! loopback with temp storage, from `target/test-tools` (scripts/test-deps.sh).

use promexport::remote_write::{Endpoint, RemoteWriter};
use promexport::{Counter, Gauge, Histogram, LabelValue, Metrics, Registry, StateSet};
use promexport_tests::{Process, Prometheus, TempDir, free_port, tool, try_http_get, wait_for};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Hash, LabelValue)]
enum Phase {
    Idle,
    Busy,
}

#[derive(Metrics)]
#[metrics(prefix = "edge", no_global)]
struct EdgeMetrics {
    /// Frames processed.
    frames: Counter,
    /// Frames waiting.
    backlog: Gauge,
    /// Time per frame.
    #[metric(unit = "seconds", buckets = [0.25, 1])]
    frame_duration: Histogram,
    /// What the device does.
    phase: StateSet<Phase>,
}

/// Sends one collection of known values (and the writer's own metrics) to `url`, flushed.
fn write_known_values(url: &str, instance: &str) {
    let registry = Registry::new();
    let metrics = Arc::new(EdgeMetrics::new());
    registry.register(metrics.clone()).unwrap();
    metrics.frames.inc_by(42);
    metrics.backlog.set(-3);
    metrics.frame_duration.observe(0.5);
    metrics.frame_duration.observe(0.1);
    metrics.phase.set(Phase::Busy);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let writer = RemoteWriter::new()
            .registry(&registry)
            .interval(Duration::from_secs(3600))
            .external_label("instance", instance)
            .endpoint(
                Endpoint::new(url)
                    .unwrap()
                    .name("store")
                    .backoff(Duration::from_millis(50), Duration::from_millis(500)),
            )
            .start()
            .unwrap();
        // Receivers that are still starting answer with errors, and are retried.
        writer.shutdown(Duration::from_secs(60)).await.unwrap();
    });
}

/// The single value of a Prometheus-API instant query answer, `None` unless exactly one.
fn only_value(answer: &str) -> Option<String> {
    let (_, rest) = answer.split_once("\"result\":[{")?;
    if rest.contains("},{") {
        return None;
    }
    let (_, value) = rest.split_once("\"value\":[")?;
    let (_timestamp, value) = value.split_once(",\"")?;
    let (value, _) = value.split_once('"')?;
    Some(value.to_owned())
}

/// `query` percent-encoded for a URL.
fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// What the tests read back, in PromQL, and the value each must have.
fn expected(instance: &str) -> Vec<(String, &'static str)> {
    let i = format!("instance=\"{instance}\"");
    vec![
        (format!("edge_frames_total{{{i}}}"), "42"),
        (format!("edge_backlog{{{i}}}"), "-3"),
        (
            format!("edge_frame_duration_seconds_bucket{{{i},le=\"0.25\"}}"),
            "1",
        ),
        (
            format!("edge_frame_duration_seconds_bucket{{{i},le=\"1.0\"}}"),
            "2",
        ),
        (
            format!("edge_frame_duration_seconds_bucket{{{i},le=\"+Inf\"}}"),
            "2",
        ),
        (format!("edge_frame_duration_seconds_sum{{{i}}}"), "0.6"),
        (format!("edge_frame_duration_seconds_count{{{i}}}"), "2"),
        (format!("edge_phase{{{i},edge_phase=\"busy\"}}"), "1"),
        (format!("edge_phase{{{i},edge_phase=\"idle\"}}"), "0"),
        (
            format!("prometheus_remote_storage_samples_pending{{{i},remote_name=\"store\"}}"),
            "0",
        ),
        // Labels sorted and `__name__` among them: PromQL finds the series by name and label.
        (format!("count({{__name__=~\"edge_.*\",{i}}})"), "9"),
    ]
}

fn read_back(what: &str, mut query: impl FnMut(&str) -> Option<String>, instance: &str) {
    for (promql, value) in expected(instance) {
        let path = format!("/api/v1/query?query={}", encode(&promql));
        let answer = wait_for(
            &format!("{what} to answer {promql} = {value}"),
            Duration::from_secs(60),
            || {
                let answer = query(&path)?;
                (only_value(&answer).as_deref() == Some(value)).then_some(answer)
            },
        );
        assert!(answer.contains("\"status\":\"success\""), "{answer}");
    }
}

#[test]
fn prometheus_reads_back_what_was_written() {
    let dir = TempDir::new("remote-write-prometheus");
    let mut prometheus = Prometheus::start_with_flags(
        &dir,
        "global:\n  scrape_interval: 1m\n",
        &["--web.enable-remote-write-receiver"],
    );
    wait_for("Prometheus to be ready", Duration::from_secs(60), || {
        prometheus.api("/-/ready")
    });
    let url = format!("http://{}/api/v1/write", prometheus.listen);
    write_known_values(&url, "edge-prometheus");
    read_back("Prometheus", |path| prometheus.api(path), "edge-prometheus");
    // (Prometheus 2.42's receiver ignores the 1.0 `metadata` it is sent: its metadata API
    // lists scraped targets' only, so the tests of tests/remote_write.rs check it.)
}

#[test]
fn victoria_metrics_reads_back_what_was_written() {
    let dir = TempDir::new("remote-write-victoria-metrics");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut command = Command::new(tool("victoria-metrics"));
    command.args([
        &format!("-storageDataPath={}", dir.path().join("data").display()),
        &format!("-httpListenAddr={listen}"),
        // Samples are visible to queries at once, not 30 s later.
        "-search.latencyOffset=0s",
        "-search.disableCache",
        "-loggerLevel=WARN",
    ]);
    let mut victoria = Process::start(command, dir.path().join("victoria-metrics.log"));
    wait_for("VictoriaMetrics to serve", Duration::from_secs(60), || {
        assert!(
            victoria.is_running(),
            "victoria-metrics exited:\n{}",
            victoria.log()
        );
        try_http_get(&format!("http://{listen}/health")).filter(|(status, _, _)| *status == 200)
    });
    write_known_values(&format!("http://{listen}/api/v1/write"), "edge-vm");
    read_back(
        "VictoriaMetrics",
        |path| {
            let (status, _, body) = try_http_get(&format!("http://{listen}{path}"))?;
            (status == 200).then(|| String::from_utf8_lossy(&body).into_owned())
        },
        "edge-vm",
    );
}

#[test]
fn prometheus_reads_back_a_native_histogram() {
    use promexport_tests::remote_write::NativeLatency;
    let dir = TempDir::new("remote-write-native");
    let mut prometheus = Prometheus::start_with_flags(
        &dir,
        "global:\n  scrape_interval: 1m\n",
        &[
            "--web.enable-remote-write-receiver",
            "--enable-feature=native-histograms",
        ],
    );
    wait_for("Prometheus to be ready", Duration::from_secs(60), || {
        prometheus.api("/-/ready")
    });
    let registry = Registry::new();
    registry.register(NativeLatency).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = format!("http://{}/api/v1/write", prometheus.listen);
    runtime.block_on(async {
        let writer = RemoteWriter::new()
            .registry(&registry)
            .interval(Duration::from_secs(3600))
            .external_label("instance", "edge-native")
            .endpoint(Endpoint::new(&url).unwrap())
            .start()
            .unwrap();
        writer.shutdown(Duration::from_secs(60)).await.unwrap();
    });
    let selector = "latency_seconds{instance=\"edge-native\"}";
    for (promql, value) in [
        (format!("histogram_count({selector})"), "3"),
        (format!("histogram_sum({selector})"), "1.8005"),
        // Two of the three observations at or below 0.5 s: the zero bucket and (0.25, 0.5].
        (
            format!("histogram_fraction(0, 0.5, {selector})"),
            "0.6666666666666666",
        ),
        // The classic series beside it.
        (
            "latency_seconds_count{instance=\"edge-native\"}".to_owned(),
            "3",
        ),
    ] {
        let path = format!("/api/v1/query?query={}", encode(&promql));
        wait_for(
            &format!("Prometheus to answer {promql} = {value}"),
            Duration::from_secs(60),
            || {
                let answer = prometheus.api(&path)?;
                (only_value(&answer).as_deref() == Some(value)).then_some(())
            },
        );
    }
}

/// A receiver behind its own web config file (TLS and basic auth), as a hosted store is.
#[test]
fn prometheus_behind_tls_and_basic_auth_takes_writes_with_the_ca_and_credentials() {
    use promexport_tests::{basic_auth, https_get, make_pki, tls_and_basic_auth};
    let dir = TempDir::new("remote-write-tls");
    let pki = make_pki(dir.path());
    let config = dir.path().join("web.yml");
    std::fs::write(&config, tls_and_basic_auth()).unwrap();
    let mut prometheus = Prometheus::start_with_flags(
        &dir,
        "global:\n  scrape_interval: 1m\n",
        &[
            "--web.enable-remote-write-receiver",
            &format!("--web.config.file={}", config.display()),
        ],
    );
    let port = prometheus.listen.rsplit_once(':').unwrap().1.to_owned();
    let authorization = basic_auth("prometheus", "s3cret");
    let get = |path: &str| {
        let url = format!("https://localhost:{port}{path}");
        let answer = https_get(&url, &pki.ca, None, &[("Authorization", &authorization)]);
        answer
            .ok()
            .filter(|(status, _, _)| *status == 200)
            .map(|(_, _, body)| String::from_utf8_lossy(&body).into_owned())
    };
    wait_for(
        "Prometheus to be ready over TLS",
        Duration::from_secs(60),
        || {
            assert!(prometheus.api("/-/ready").is_none(), "answers plain HTTP");
            get("/-/ready")
        },
    );
    let url = format!("https://localhost:{port}/api/v1/write");
    let registry = Registry::new();
    let metrics = Arc::new(EdgeMetrics::new());
    registry.register(metrics.clone()).unwrap();
    metrics.frames.inc_by(9);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let endpoint = Endpoint::new(&url)
            .unwrap()
            .name("tls")
            .ca_certificate(&pki.ca)
            .unwrap();
        // Without credentials: 401, refused for good and counted, not retried.
        let writer = RemoteWriter::new()
            .registry(&registry)
            .interval(Duration::from_secs(3600))
            .external_label("instance", "edge-tls")
            .endpoint(endpoint.clone())
            .start()
            .unwrap();
        writer.shutdown(Duration::from_secs(60)).await.unwrap();
        let text = registry.render(promexport::Format::Text);
        let failed = promexport_tests::sample_value(
            &text,
            "prometheus_remote_storage_samples_failed_total",
            &[("remote_name", "tls")],
        );
        assert!(failed.is_some_and(|failed| failed > 0.0), "{text}");
        // With them, in a registry of its own (the first writer's metrics stay registered).
        let second = Registry::new();
        second.register(metrics.clone()).unwrap();
        let writer = RemoteWriter::new()
            .registry(&second)
            .interval(Duration::from_secs(3600))
            .external_label("instance", "edge-tls")
            .endpoint(endpoint.basic_auth("prometheus", "s3cret"))
            .start()
            .unwrap();
        writer.shutdown(Duration::from_secs(60)).await.unwrap();
    });
    let path = format!(
        "/api/v1/query?query={}",
        encode("edge_frames_total{instance=\"edge-tls\"}")
    );
    wait_for(
        "edge_frames_total over TLS",
        Duration::from_secs(60),
        || {
            let answer = get(&path)?;
            (only_value(&answer).as_deref() == Some("9")).then_some(())
        },
    );
}
