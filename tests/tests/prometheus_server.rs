//! End to end: the main example (`app_exporter`) scraped by a real Prometheus server (Debian's
//! binary, on loopback, temp storage, 1 s scrape interval), queried through its HTTP API.

use promexport_tests::{
    Process, Prometheus, TempDir, free_port, http_get, promtool_check_metrics, wait_for,
};
use std::process::Command;
use std::time::Duration;

fn start_exporter(dir: &TempDir, extra_args: &[&str]) -> (Process, String) {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_app_exporter"));
    command
        .args([
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
            "--interval",
            "1",
        ])
        .args(extra_args)
        .env_remove("EXPORTER_PORT")
        .env_remove("APP_PORT")
        .env_remove("POLLING_INTERVAL_SECONDS");
    let exporter = Process::start(command, dir.path().join("exporter.log"));
    let url = format!("http://127.0.0.1:{port}/metrics");
    wait_for("the exporter to serve", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    (exporter, url)
}

fn scrape(url: &str) -> String {
    let (status, _, body) = http_get(url, &[]);
    assert_eq!(status, 200);
    String::from_utf8(body).expect("utf-8 exposition")
}

#[test]
fn exporter_serves_the_seed_families_and_promtool_accepts_them() {
    let dir = TempDir::new("app-exporter");
    let (exporter, url) = start_exporter(&dir, &[]);
    let text = wait_for(
        "a successful poll of the demo app",
        Duration::from_secs(20),
        || {
            let text = scrape(&url);
            text.contains("app_up 1\n").then_some(text)
        },
    );
    for family in [
        "# TYPE app_requests_current gauge\napp_requests_current ",
        "# TYPE app_requests_pending gauge\napp_requests_pending ",
        "# TYPE app_uptime gauge\napp_uptime ",
        "# TYPE app_health gauge\napp_health{app_health=\"healthy\"} ",
        "app_health{app_health=\"unhealthy\"} ",
        "# TYPE process_cpu_seconds_total counter\n",
        "# TYPE app_exporter_build_info gauge\napp_exporter_build_info{version=",
    ] {
        assert!(
            text.contains(family),
            "missing {family:?} in\n{text}\n{}",
            exporter.log()
        );
    }
    let lint = promtool_check_metrics(&text);
    // The seed's `app_uptime` has no unit suffix; it is kept for compatibility with the seed.
    for line in lint.lines() {
        assert!(
            line.starts_with("app_uptime "),
            "unexpected promtool lint: {line}\n{text}"
        );
    }
}

#[test]
fn an_unreachable_app_is_reported_not_fatal() {
    let dir = TempDir::new("app-exporter-down");
    let closed = free_port();
    let app_url = format!("http://127.0.0.1:{closed}/status");
    let (mut exporter, url) = start_exporter(&dir, &["--app-url", &app_url]);
    let text = wait_for("app_up 0", Duration::from_secs(20), || {
        let text = scrape(&url);
        text.contains("app_up 0\n").then_some(text)
    });
    assert!(text.contains("process_cpu_seconds_total"), "{text}");
    wait_for("a log line naming the app", Duration::from_secs(10), || {
        exporter.log().contains(&app_url).then_some(())
    });
    assert!(
        exporter.is_running(),
        "the exporter keeps running:\n{}",
        exporter.log()
    );
}

#[test]
fn a_real_prometheus_scrapes_the_exporter() {
    let dir = TempDir::new("prometheus");
    // At each scrape, within the timeout Prometheus announces (1 s here).
    let (exporter, metrics_url) = start_exporter(&dir, &["--mode", "scrape"]);
    let target = metrics_url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    let mut prometheus = Prometheus::start(
        &dir,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    );

    let up = wait_for(
        "Prometheus to scrape the exporter (up == 1)",
        Duration::from_secs(60),
        || {
            let answer = prometheus.api("/api/v1/query?query=up%3D%3D1")?;
            answer.contains("\"job\":\"app\"").then_some(answer)
        },
    );
    assert!(up.contains("\"status\":\"success\""), "{up}");

    let health = wait_for(
        "app_health{app_health=\"healthy\"}",
        Duration::from_secs(30),
        || {
            let query = "/api/v1/query?query=app_health%7Bapp_health%3D%22healthy%22%7D";
            let answer = prometheus.api(query)?;
            answer
                .contains("\"app_health\":\"healthy\"")
                .then_some(answer)
        },
    );
    assert!(health.contains("\"job\":\"app\""), "{health}");

    // Prometheus asked for OpenMetrics and parsed it: the state set keeps its OpenMetrics type.
    let metadata = prometheus
        .api("/api/v1/metadata?metric=app_health")
        .expect("metadata");
    assert!(metadata.contains("\"type\":\"stateset\""), "{metadata}");
    let targets = prometheus.api("/api/v1/targets").expect("targets");
    assert!(
        targets.contains("\"health\":\"up\""),
        "{targets}\n{}",
        exporter.log()
    );
    assert!(targets.contains("\"lastError\":\"\""), "{targets}");
    let polls = "/api/v1/query?query=app_collection_errors_total";
    let errors = prometheus.api(polls).expect("collection errors");
    assert!(errors.contains("\"reason\":\"timeout\""), "{errors}");
    let failed = prometheus
        .api("/api/v1/query?query=sum(app_collection_errors_total)")
        .expect("failed collections");
    assert_eq!(
        only_value(&failed).as_deref(),
        Some("0"),
        "no failed collection: {failed}"
    );
}

/// The value of an instant-query answer that holds exactly one sample.
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
