//! The axum example through a real HTTP client: route templates as labels, instrumented handlers,
//! and `/metrics` on the service's own port, checked by promtool.

use promexport_tests::{
    Process, TempDir, free_port, http_get, promtool_check_metrics, sample_value, wait_for,
};
use std::process::Command;
use std::time::Duration;

#[test]
fn handlers_and_routes_are_measured() {
    let dir = TempDir::new("axum-service");
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_axum_service"));
    command.args(["--web.listen-address", &format!("127.0.0.1:{port}")]);
    let service = Process::start(command, dir.path().join("service.log"));
    let base = format!("http://127.0.0.1:{port}");
    wait_for("the service to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });

    let status = |path: &str| http_get(&format!("{base}{path}"), &[]).0;
    for _ in 0..3 {
        assert_eq!(status("/hello"), 200);
    }
    assert_eq!(status("/fail"), 500);
    assert_eq!(status("/fail"), 500);
    assert_eq!(status("/items/1"), 200);
    assert_eq!(status("/items/2"), 200);
    assert_eq!(status("/items/0"), 500);
    assert_eq!(status("/nothing/here"), 404);

    let (code, _, body) = http_get(&format!("{base}/metrics"), &[]);
    assert_eq!(code, 200, "{}", service.log());
    let text = String::from_utf8(body).unwrap();
    let requests = |route: &str, status: &str| {
        let labels = [("method", "GET"), ("route", route), ("status", status)];
        sample_value(&text, "http_server_requests_total", &labels)
    };
    assert_eq!(requests("/hello", "200"), Some(3.0), "{text}");
    assert_eq!(requests("/fail", "500"), Some(2.0));
    assert_eq!(requests("/items/{id}", "200"), Some(2.0));
    assert_eq!(requests("/items/{id}", "500"), Some(1.0));
    assert_eq!(requests("unmatched", "404"), Some(1.0));
    assert!(
        !text.contains("route=\"/items/1\""),
        "raw paths never become labels"
    );
    let duration_count = sample_value(
        &text,
        "http_server_request_duration_seconds_count",
        &[("route", "/items/{id}"), ("status", "200")],
    );
    assert_eq!(duration_count, Some(2.0));

    let calls = |function: &str, result: &str| {
        let labels = [("function", function), ("result", result)];
        sample_value(&text, "function_calls_total", &labels)
    };
    assert_eq!(calls("hello", "ok"), Some(3.0));
    assert_eq!(calls("fail", "error"), Some(2.0));
    assert_eq!(calls("item", "ok"), Some(2.0));
    assert_eq!(calls("item", "error"), Some(1.0));
    assert_eq!(promtool_check_metrics(&text), "");
}
