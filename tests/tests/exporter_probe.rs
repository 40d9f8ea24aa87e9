//! The multi-target pattern of `promexport::exporter` on the `toolkit_exporter` example: a real
//! Prometheus probing two targets through the documented relabelling, the modules file and its
//! reload, the 400s, `debug=true`, and the web config applying to `/probe`.

use promexport_tests::{
    Process, Prometheus, TempDir, basic_auth, free_port, http_get, http_request,
    promtool_check_metrics, sample_value, try_http_get, wait_for,
};
use std::process::Command;
use std::time::Duration;

struct Exporter {
    process: Process,
    port: u16,
}

fn start(dir: &TempDir, args: &[&str]) -> Exporter {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_toolkit_exporter"));
    command
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(args);
    let mut process = Process::start(command, dir.path().join("exporter.log"));
    wait_for("the exporter to serve", Duration::from_secs(30), || {
        assert!(process.is_running(), "exited:\n{}", process.log());
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    Exporter { process, port }
}

impl Exporter {
    fn get(&self, path_and_query: &str) -> (u16, String) {
        let (status, _, body) = http_get(
            &format!("http://127.0.0.1:{}{path_and_query}", self.port),
            &[],
        );
        (status, String::from_utf8(body).unwrap())
    }
}

const MODULES: &str = "modules:\n  tcp_connect:\n    timeout_seconds: 2\n";

#[test]
fn prometheus_probes_two_targets_through_the_documented_relabelling() {
    let dir = TempDir::new("toolkit-probe-prometheus");
    let modules = dir.path().join("modules.yml");
    std::fs::write(&modules, MODULES).unwrap();
    let exporter = start(&dir, &[&format!("--config.file={}", modules.display())]);
    let up = format!("127.0.0.1:{}", exporter.port);
    let down = format!("127.0.0.1:{}", free_port());
    let config = format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tcp
    metrics_path: /probe
    params:
      module: [tcp_connect]
    static_configs:
      - targets: ["{up}", "{down}"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:{exporter}
"#,
        exporter = exporter.port
    );
    let mut prometheus = Prometheus::start(&dir, &config);
    for (instance, expected) in [(&up, "1"), (&down, "0")] {
        let query = format!("/api/v1/query?query=probe_success%7Binstance%3D%22{instance}%22%7D");
        let answer = wait_for(
            &format!("probe_success of {instance} in Prometheus"),
            Duration::from_secs(60),
            || {
                let body = prometheus.api(&query)?;
                body.contains("\"value\":[").then_some(body)
            },
        );
        assert!(
            answer.contains(&format!("\"instance\":\"{instance}\""))
                && answer.contains(&format!(",\"{expected}\"]")),
            "{instance}: {answer}\n{}",
            exporter.process.log()
        );
        // The probe of a target that is down is still a successful scrape.
        let query = format!("/api/v1/query?query=up%7Binstance%3D%22{instance}%22%7D");
        let answer = wait_for("up", Duration::from_secs(30), || prometheus.api(&query));
        assert!(answer.contains(",\"1\"]"), "{instance}: {answer}");
    }
    let query = "/api/v1/query?query=probe_duration_seconds";
    let answer = wait_for("probe_duration_seconds", Duration::from_secs(30), || {
        let body = prometheus.api(query)?;
        (body.matches("\"instance\"").count() == 2).then_some(body)
    });
    assert!(answer.contains("\"job\":\"tcp\""), "{answer}");
}

#[test]
fn probes_answer_400s_debug_and_pass_promtool() {
    let dir = TempDir::new("toolkit-probe-answers");
    let exporter = start(&dir, &[]);
    let itself = format!("127.0.0.1:{}", exporter.port);
    let (status, text) = exporter.get(&format!("/probe?target={itself}"));
    assert_eq!(status, 200);
    assert!(text.contains("probe_success 1\n"), "{text}");
    assert!(
        text.contains("probe_tcp_connect_duration_seconds "),
        "{text}"
    );
    assert!(text.contains("probe_duration_seconds "), "{text}");
    let lint = promtool_check_metrics(&text);
    assert!(lint.trim().is_empty(), "{lint}");

    let closed = format!("127.0.0.1:{}", free_port());
    let (status, text) = exporter.get(&format!("/probe?target={closed}&module=default"));
    assert_eq!(status, 200);
    assert!(text.contains("probe_success 0\n"), "{text}");
    assert!(
        !text.contains("probe_tcp_connect_duration_seconds"),
        "{text}"
    );

    assert_eq!(exporter.get("/probe").0, 400);
    assert_eq!(exporter.get("/probe?target=").0, 400);
    let (status, text) = exporter.get(&format!("/probe?target={itself}&module=nope"));
    assert_eq!(status, 400);
    assert!(text.contains("Unknown module \"nope\""), "{text}");

    let (status, text) = exporter.get(&format!("/probe?target={closed}&debug=true"));
    assert_eq!(status, 200);
    for part in [
        "Logs for the probe:",
        "Probe failed: ",
        "Metrics that would have been returned:",
        "probe_success 0",
        "Module configuration:",
        "TcpModule",
    ] {
        assert!(text.contains(part), "no {part:?} in\n{text}");
    }
    let (status, page) = exporter.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("<form action=\"probe\">"), "{page}");
    assert!(page.contains("name=\"target\""), "{page}");

    let (status, metrics) = exporter.get("/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("toolkit_load1 "), "{metrics}");
    let lint = promtool_check_metrics(&metrics);
    assert!(lint.trim().is_empty(), "{lint}");
}

#[test]
fn the_modules_file_is_reloaded_by_post_and_by_sighup() {
    let dir = TempDir::new("toolkit-probe-reload");
    let modules = dir.path().join("modules.yml");
    std::fs::write(&modules, MODULES).unwrap();
    let exporter = start(&dir, &[&format!("--config.file={}", modules.display())]);
    let itself = format!("127.0.0.1:{}", exporter.port);
    let probe = |module: &str| {
        exporter
            .get(&format!("/probe?target={itself}&module={module}"))
            .0
    };
    let reload_url = format!("http://127.0.0.1:{}/-/reload", exporter.port);
    assert_eq!(probe("tcp_connect"), 200);
    assert_eq!(probe("quick"), 400);

    std::fs::write(
        &modules,
        format!("{MODULES}  quick:\n    timeout_seconds: 0.5\n"),
    )
    .unwrap();
    let (status, _, body) = http_request("POST", &reload_url, &[]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(probe("quick"), 200);
    assert_eq!(http_request("GET", &reload_url, &[]).0, 405);

    // A broken file is refused and the modules in force stay.
    std::fs::write(&modules, "modules:\n  quick:\n    timeout: [\n").unwrap();
    let (status, _, body) = http_request("POST", &reload_url, &[]);
    assert_eq!(status, 500);
    assert!(String::from_utf8_lossy(&body).contains("failed to reload config"));
    std::fs::write(&modules, "modules:\n  quick:\n    timeout_secs: 1\n").unwrap();
    assert_eq!(
        http_request("POST", &reload_url, &[]).0,
        500,
        "an unknown field"
    );
    assert_eq!(probe("quick"), 200);

    std::fs::write(&modules, "modules:\n  after_hangup: {}\n").unwrap();
    let hangup = Command::new("kill")
        .args(["-HUP", &exporter.process.id().to_string()])
        .status()
        .unwrap();
    assert!(hangup.success());
    wait_for("the reload on SIGHUP", Duration::from_secs(20), || {
        (probe("after_hangup") == 200).then_some(())
    });
    assert_eq!(probe("tcp_connect"), 400);
    assert!(
        exporter
            .process
            .log()
            .contains("msg=\"Reloaded the modules file\"")
    );
}

#[test]
fn the_web_config_applies_to_probes() {
    let dir = TempDir::new("toolkit-probe-auth");
    let hash = bcrypt::hash("secret", 4).unwrap();
    let web_config = dir.path().join("web.yml");
    std::fs::write(
        &web_config,
        format!("basic_auth_users:\n  prometheus: {hash}\n"),
    )
    .unwrap();
    let exporter = start(
        &dir,
        &[&format!("--web.config.file={}", web_config.display())],
    );
    let url = format!(
        "http://127.0.0.1:{}/probe?target=127.0.0.1:{}",
        exporter.port, exporter.port
    );
    assert_eq!(http_get(&url, &[]).0, 401);
    let authorization = basic_auth("prometheus", "secret");
    let (status, _, body) = http_get(&url, &[("authorization", &authorization)]);
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        sample_value(&text, "probe_success", &[]),
        Some(1.0),
        "{text}"
    );
    assert!(
        try_http_get(&format!("http://127.0.0.1:{}/metrics", exporter.port))
            .is_some_and(|(status, _, _)| status == 401)
    );
}
