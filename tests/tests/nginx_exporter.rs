//! The nginx exporter against a real nginx (Debian's binary) on loopback: the numbers it serves
//! match the requests sent, and when nginx stops, `nginx_up 0` with the scrape still 200.

use promexport_tests::{
    Process, TempDir, free_port, http_get, promtool_check_metrics, sample_value, tool, wait_for,
};
use std::process::Command;
use std::time::Duration;

fn start_nginx(dir: &TempDir, port: u16) -> Process {
    let root = dir.path().display();
    let config = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {root}/nginx.pid;\n\
         error_log {root}/error.log warn;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {root}/body;\n  proxy_temp_path {root}/proxy;\n\
           fastcgi_temp_path {root}/fastcgi;\n  uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n\
           server {{\n    listen 127.0.0.1:{port};\n    location = /stub_status {{ stub_status; }}\n\
             location / {{ return 200 \"ok\\n\"; }}\n  }}\n}}\n"
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(tool("nginx"));
    // `-e`: nginx opens its error log before it reads the config; keep it out of /var/log.
    let error_log = format!("{root}/error.log");
    command.args([
        "-p",
        &root.to_string(),
        "-e",
        &error_log,
        "-c",
        &path.display().to_string(),
    ]);
    let nginx = Process::start(command, dir.path().join("nginx.out"));
    wait_for("nginx to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    nginx
}

#[test]
fn exports_what_nginx_counted_and_reports_it_down() {
    let dir = TempDir::new("nginx");
    let nginx_port = free_port();
    let nginx = start_nginx(&dir, nginx_port);

    const REQUESTS: u64 = 25;
    for _ in 0..REQUESTS {
        // A new connection each time (the harness uses a fresh client per request).
        let (status, _, body) = http_get(&format!("http://127.0.0.1:{nginx_port}/"), &[]);
        assert_eq!((status, body.as_slice()), (200, &b"ok\n"[..]));
    }

    let exporter_port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_nginx_exporter"));
    command.args([
        &format!("--nginx.scrape-uri=http://127.0.0.1:{nginx_port}/stub_status"),
        &format!("--web.listen-address=127.0.0.1:{exporter_port}"),
    ]);
    let exporter = Process::start(command, dir.path().join("exporter.log"));
    wait_for("the exporter to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", exporter_port)).ok()
    });
    let metrics_url = format!("http://127.0.0.1:{exporter_port}/metrics");
    let scrape = || {
        let (status, _, body) = http_get(
            &metrics_url,
            &[("X-Prometheus-Scrape-Timeout-Seconds", "5")],
        );
        assert_eq!(status, 200);
        String::from_utf8(body).unwrap()
    };

    let text = scrape();
    let value = |name: &str| sample_value(&text, name, &[]);
    assert_eq!(value("nginx_up"), Some(1.0), "{text}\n{}", exporter.log());
    // Our requests, plus the exporter's own read of /stub_status, which nginx counts too.
    assert_eq!(
        value("nginx_http_requests_total"),
        Some((REQUESTS + 1) as f64),
        "{text}"
    );
    // Connections: those plus the readiness probe of `start_nginx`, which sent no request.
    assert_eq!(
        value("nginx_connections_accepted_total"),
        Some((REQUESTS + 2) as f64)
    );
    assert_eq!(
        value("nginx_connections_handled_total"),
        Some((REQUESTS + 2) as f64)
    );
    assert_eq!(
        value("nginx_connections_active"),
        Some(1.0),
        "only the exporter's read is open"
    );
    assert_eq!(value("nginx_connections_writing"), Some(1.0));
    assert_eq!(value("nginx_connections_reading"), Some(0.0));
    assert_eq!(value("nginx_connections_waiting"), Some(0.0));
    assert_eq!(promtool_check_metrics(&text), "");

    // The next scrape reads nginx again: one more request.
    let text = scrape();
    assert_eq!(
        sample_value(&text, "nginx_http_requests_total", &[]),
        Some((REQUESTS + 2) as f64)
    );

    drop(nginx);
    let text = scrape();
    let value = |name: &str| sample_value(&text, name, &[]);
    assert_eq!(value("nginx_up"), Some(0.0), "{text}");
    assert_eq!(
        value("nginx_http_requests_total"),
        None,
        "nothing stale is served"
    );
    assert_eq!(
        sample_value(
            &text,
            "nginx_collection_errors_total",
            &[("reason", "error")]
        ),
        Some(1.0)
    );
    assert!(
        text.contains("process_cpu_seconds_total"),
        "the rest of the scrape is served"
    );
    assert_eq!(promtool_check_metrics(&text), "");
    wait_for("a log line saying why", Duration::from_secs(5), || {
        exporter
            .log()
            .contains("reading http://127.0.0.1")
            .then_some(())
    });
}
