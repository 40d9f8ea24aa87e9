//! The axum example through a real HTTP client: route templates as labels, instrumented handlers,
//! and `/metrics` on the service's own port, checked by promtool; with `--web.config.file`, TLS
//! and basic auth on every route.

use promexport_tests::{
    Process, TempDir, basic_auth, free_port, header, http_get, https_get, make_pki,
    promtool_check_metrics, sample_value, tls_and_basic_auth, try_http_get, wait_for,
};
use std::process::Command;
use std::time::Duration;

/// Starts `axum_service` on a free port with `args`; returns it and its port once it listens.
fn start_service(dir: &TempDir, args: &[&str]) -> (Process, u16) {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_axum_service"));
    command.args(["--web.listen-address", &format!("127.0.0.1:{port}")]);
    command.args(args);
    let service = Process::start(command, dir.path().join("service.log"));
    wait_for("the service to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    (service, port)
}

#[test]
fn handlers_and_routes_are_measured() {
    let dir = TempDir::new("axum-service");
    let (service, port) = start_service(&dir, &[]);
    let base = format!("http://127.0.0.1:{port}");

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
    // Native durations (the example's choice) keep their classic buckets in text.
    let classic_bucket = sample_value(
        &text,
        "http_server_request_duration_seconds_bucket",
        &[("route", "/items/{id}"), ("status", "200"), ("le", "10.0")],
    );
    assert_eq!(classic_bucket, Some(2.0), "{text}");
    let item_bucket = sample_value(
        &text,
        "function_calls_duration_seconds_bucket",
        &[("function", "item"), ("le", "10.0")],
    );
    assert_eq!(
        item_bucket,
        Some(3.0),
        "`item`'s native durations keep their classic buckets too"
    );

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

#[test]
fn web_config_file_secures_every_route() {
    let dir = TempDir::new("axum-service-tls");
    let pki = make_pki(dir.path());
    let config = dir.path().join("web.yml");
    std::fs::write(&config, tls_and_basic_auth()).unwrap();
    let (service, port) = start_service(&dir, &["--web.config.file", config.to_str().unwrap()]);
    let get = |path: &str, credentials: Option<(&str, &str)>| {
        let url = format!("https://127.0.0.1:{port}{path}");
        let authorization = credentials.map(|(user, password)| basic_auth(user, password));
        let headers: Vec<_> = authorization
            .iter()
            .map(|a| ("Authorization", a.as_str()))
            .collect();
        https_get(&url, &pki.ca, None, &headers).unwrap()
    };

    let (status, _, body) = get("/hello", Some(("prometheus", "s3cret")));
    assert_eq!(
        (status, body.as_slice()),
        (200, &b"hello\n"[..]),
        "{}",
        service.log()
    );
    for (path, credentials) in [
        ("/hello", None),
        ("/hello", Some(("prometheus", "wrong"))),
        ("/metrics", Some(("root", "s3cret"))),
        ("/nothing/here", None),
    ] {
        let (status, headers, body) = get(path, credentials);
        assert_eq!(status, 401, "{path} with {credentials:?}");
        assert_eq!(
            header(&headers, "www-authenticate"),
            Some("Basic realm=\"promexport\"")
        );
        assert!(!String::from_utf8(body).unwrap().contains("function_calls"));
    }
    let (status, _, body) = get("/metrics", Some(("prometheus", "s3cret")));
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    let hello = [("function", "hello"), ("result", "ok")];
    assert_eq!(
        sample_value(&text, "function_calls_total", &hello),
        Some(1.0),
        "only the authorized call ran the handler: {text}"
    );
    // Plain HTTP on the TLS port gets nothing.
    let plain = format!("http://127.0.0.1:{port}/hello");
    assert!(try_http_get(&plain).is_none_or(|(status, _, _)| status != 200));
}

#[test]
fn a_wrong_web_config_file_stops_the_service_naming_its_line() {
    let dir = TempDir::new("axum-service-bad-config");
    let config = dir.path().join("web.yml");
    std::fs::write(&config, "basic_auth_users:\n  prometheus: plain-text\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_axum_service"))
        .args(["--web.listen-address", "127.0.0.1:0"])
        .args(["--web.config.file", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("web.yml:2: the password of `prometheus` is not a bcrypt hash"),
        "{stderr}"
    );
}
