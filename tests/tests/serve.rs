//! The HTTP endpoint, scraped with a real HTTP client: the process-wide registry (derived structs
//! found through inventory, default collectors), negotiation, gzip, HEAD, 404/405, landing page.

use promexport::{Counter, Format, Gauge, LabelValue, Metrics, Server, StateSet};
use promexport_tests::{header, http_get, http_request, promtool_check_metrics, python_parse};
use std::io::Read;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Health {
    Healthy,
    Unhealthy,
}

/// Never touched by the tests: must still be served, at zero.
#[derive(Metrics)]
#[metrics(prefix = "untouched")]
struct Untouched {
    /// Things that never happened.
    events: Counter,
}

#[derive(Metrics)]
#[metrics(prefix = "web")]
struct WebMetrics {
    /// Pages served.
    pages: Counter,
    /// Sessions open.
    sessions: Gauge,
    /// Health.
    health: StateSet<Health>,
}

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[test]
fn serves_every_declared_struct_with_defaults() {
    promexport::check().expect("no name clashes");
    WebMetrics::global().pages.inc();
    WebMetrics::global().health.set(Health::Unhealthy);
    let server = Server::bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let base = format!("http://{}", server.local_addr());

    let (status, headers, body) = http_get(&format!("{base}/metrics"), &[]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some(Format::Text.content_type())
    );
    let text = String::from_utf8(body).unwrap();
    for expected in [
        "untouched_events_total 0\n",
        "web_pages_total 1\n",
        "web_sessions 0\n",
        "web_health{web_health=\"healthy\"} 0\nweb_health{web_health=\"unhealthy\"} 1\n",
        "# TYPE process_cpu_seconds_total counter\n",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_start_time_seconds ",
        "_build_info{version=\"unknown\",revision=\"unknown\",rustc_version=\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    let lint = promtool_check_metrics(&text);
    assert_eq!(lint, "", "promtool lint must be clean");
    python_parse(&text, false);

    // What Prometheus sends gets OpenMetrics.
    let (status, headers, body) =
        http_get(&format!("{base}/metrics"), &[("Accept", PROMETHEUS_ACCEPT)]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some(Format::OpenMetrics.content_type())
    );
    let open_metrics = String::from_utf8(body).unwrap();
    assert!(open_metrics.ends_with("# EOF\n"));
    assert!(open_metrics.contains("# TYPE web_health stateset\n"));
    let families = python_parse(&open_metrics, true);
    assert!(
        families
            .iter()
            .any(|f| f.name == "untouched_events" && f.kind == "counter")
    );
    server.shutdown().unwrap();
}

#[test]
fn compresses_when_asked() {
    let server = Server::bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let url = format!("http://{}/metrics", server.local_addr());
    let (status, headers, body) = http_get(&url, &[("Accept-Encoding", "gzip")]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        text.contains("# TYPE untouched_events_total counter\n"),
        "{text}"
    );

    let (_, headers, body) = http_get(&url, &[("Accept-Encoding", "gzip;q=0, identity")]);
    assert_eq!(header(&headers, "content-encoding"), None);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("untouched_events_total")
    );
}

#[test]
fn routes_methods_and_paths() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .path("/custom")
        .spawn()
        .unwrap();
    let base = format!("http://{}", server.local_addr());

    let (status, headers, body) = http_request("HEAD", &format!("{base}/custom"), &[]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some(Format::Text.content_type())
    );
    assert!(body.is_empty());

    let (status, headers, _) = http_request("POST", &format!("{base}/custom"), &[]);
    assert_eq!(status, 405);
    assert_eq!(header(&headers, "allow"), Some("GET, HEAD"));

    let (status, _, _) = http_get(&format!("{base}/metrics"), &[]);
    assert_eq!(status, 404, "only the configured path serves metrics");

    let (status, headers, body) = http_get(&format!("{base}/"), &[]);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("<a href=\"/custom\">"), "{page}");
    assert!(
        page.contains("<code>untouched_events_total</code>"),
        "{page}"
    );
    assert!(
        page.contains("<code>process_cpu_seconds_total</code>"),
        "{page}"
    );
}

#[test]
fn shutdown_releases_the_port() {
    let server = Server::bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let addr = server.local_addr();
    let (status, _, _) = http_get(&format!("http://{addr}/metrics"), &[]);
    assert_eq!(status, 200);
    server.shutdown().unwrap();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nothing listens after shutdown"
    );
    std::net::TcpListener::bind(addr).expect("the port is free again");
}

#[tokio::test]
async fn the_handler_works_inside_another_service() {
    use http_body_util::BodyExt;
    let request = hyper::Request::get("/anything")
        .header("accept", PROMETHEUS_ACCEPT)
        .body(())
        .unwrap();
    let response = promexport::handle_request(promexport::registry(), &request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        Format::OpenMetrics.content_type()
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(std::str::from_utf8(&body).unwrap().ends_with("# EOF\n"));
}

#[tokio::test]
async fn a_server_spawned_from_tokio_reports_that_runtime() {
    let server = Server::bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let url = format!("http://{}/metrics", server.local_addr());
    let text = tokio::task::spawn_blocking(move || http_get(&url, &[]).2)
        .await
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("# TYPE tokio_workers gauge\ntokio_workers 1\n"),
        "{text}"
    );
    assert!(text.contains("tokio_alive_tasks "), "{text}");
    assert!(text.contains("tokio_global_queue_depth "), "{text}");
}
