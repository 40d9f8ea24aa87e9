//! The HTTP endpoint, scraped with a real HTTP client: the process-wide registry (derived structs
//! found through inventory, default collectors), negotiation, gzip, HEAD, 404/405, landing page.

use promexport::{
    Counter, Family, Gauge, LabelSet, LabelValue, Metrics, Registry, Server, StateSet,
};
use promexport_tests::{header, http_get, http_request, promtool_check_metrics, python_parse};
use std::io::Read;
use std::sync::Arc;

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
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
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
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores")
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

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct PathLabels {
    path: String,
}

#[derive(Metrics)]
#[metrics(prefix = "growing", no_global)]
struct Growing {
    /// A single series.
    small: Counter,
    /// Requests by path.
    requests: Family<PathLabels, Counter>,
}

fn gunzip(body: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut text)
        .expect("a valid gzip body");
    text
}

/// The server keeps one compressor per thread across responses: small, large, small and large
/// again (`name[]` selects the small family), each gzip body decodes to exactly the plain body.
#[test]
fn consecutive_gzip_scrapes_of_different_sizes_decode_to_the_plain_body() {
    let registry = Registry::new();
    let metrics = Arc::new(Growing::new());
    registry.register(metrics.clone()).unwrap();
    metrics.small.inc();
    for i in 0..5_000 {
        let labels = PathLabels {
            path: format!("/api/v1/items/{i}"),
        };
        metrics.requests.get(&labels).inc_by(i * 7 + 1);
    }
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    let base = format!("http://{}/metrics", server.local_addr());
    let small = format!("{base}?name[]=growing_small_total");
    let mut sizes = Vec::new();
    for url in [&small, &base, &small, &base] {
        let (status, headers, gzipped) = http_get(url, &[("Accept-Encoding", "gzip")]);
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
        let (_, _, plain) = http_get(url, &[]);
        // Less the server's own scrape counter, which the second request moved.
        let unmoved = |text: &str| -> String {
            let lines = text
                .lines()
                .filter(|l| !l.starts_with("promhttp_metric_handler"));
            lines.collect::<Vec<_>>().join("\n")
        };
        let (decoded, plain) = (gunzip(&gzipped), String::from_utf8(plain).unwrap());
        let (decoded, plain) = (unmoved(&decoded), unmoved(&plain));
        // Not assert_eq: a failure would print 200 KB.
        assert!(
            decoded == plain,
            "{url}: {} B decoded, {} B plain",
            decoded.len(),
            plain.len()
        );
        sizes.push(plain.len());
    }
    assert!(sizes[0] < 1_000 && sizes[1] > 200_000, "{sizes:?}");
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
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
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
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
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

/// Stands in for `promexport::Server` in the README's code, so it runs token for token: the
/// README's address becomes a free loopback port and its `web.yml` a file of the test; every
/// call goes on to the real server.
mod readme {
    use promexport::{Error, ServerHandle};
    use std::net::SocketAddr;
    use std::sync::mpsc::Sender;
    use std::sync::{Mutex, OnceLock};

    /// Where the server is bound, and the web config file to read.
    pub static STAND_IN: OnceLock<(Mutex<Sender<SocketAddr>>, std::path::PathBuf)> =
        OnceLock::new();

    pub struct Server(promexport::Server);

    impl Server {
        pub fn bind(addr: &str) -> Result<Self, Error> {
            assert_eq!(addr, ":9100", "the README's address");
            let server = promexport::Server::bind("127.0.0.1:0")?;
            let (bound, _) = STAND_IN.get().expect("set up");
            bound.lock().unwrap().send(server.local_addr()?).unwrap();
            Ok(Server(server))
        }

        pub fn web_config_file(self, path: &str) -> Result<Self, Error> {
            assert_eq!(path, "web.yml", "the README's file");
            let (_, file) = STAND_IN.get().expect("set up");
            Ok(Server(self.0.web_config_file(file)?))
        }

        pub fn serve_forever(self) -> Result<(), Error> {
            self.0.serve_forever()
        }

        #[allow(dead_code)] // for a README that spawns instead
        pub fn spawn(self) -> Result<ServerHandle, Error> {
            self.0.spawn()
        }
    }
}

/// The README's code as tokens to run, and as text to compare with the README.
macro_rules! readme_code {
    ($($code:tt)*) => {
        (stringify!($($code)*), || -> Result<(), promexport::Error> {
            use readme::Server;
            $($code)*
            Ok(())
        })
    };
}

/// Without comments and white space, which `stringify!` does not keep.
fn tokens_of(code: &str) -> String {
    code.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[test]
fn the_readme_server_example_serves_as_written() {
    let (code, run) = readme_code! {
        Server::bind(":9100")?.web_config_file("web.yml")?.serve_forever()?;
    };
    let readme = include_str!("../../README.md");
    let block = readme
        .split("```rust\n")
        .filter_map(|rest| rest.split_once("\n```").map(|(block, _)| block))
        .find(|block| block.contains("web_config_file(\"web.yml\")"))
        .expect("the README's server example");
    assert_eq!(
        tokens_of(block),
        tokens_of(code),
        "README.md's server example changed: update this test's copy"
    );

    let dir = promexport_tests::TempDir::new("readme");
    let file = dir.path().join("web.yml");
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    std::fs::write(&file, format!("basic_auth_users:\n  prometheus: {hash}\n")).unwrap();
    let (bound, address) = std::sync::mpsc::channel();
    readme::STAND_IN
        .set((std::sync::Mutex::new(bound), file))
        .unwrap();
    // It serves until the process ends: the thread is left running.
    std::thread::spawn(move || run().expect("served"));
    let addr = address
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("bound");
    let url = format!("http://{addr}/metrics");
    let authorization = promexport_tests::basic_auth("prometheus", "s3cret");
    let (status, _, _) = http_get(&url, &[("Authorization", &authorization)]);
    assert_eq!(status, 200, "still serving after the statement ran");
    let (status, _, _) = http_get(&url, &[]);
    assert_eq!(status, 401, "with the web config");
}

#[test]
fn serve_forever_blocks_and_serves() {
    let server = Server::bind("127.0.0.1:0").unwrap().path("/forever");
    let url = format!("http://{}/forever", server.local_addr().unwrap());
    let serving = std::thread::spawn(move || server.serve_forever());
    let (status, _, _) = http_get(&url, &[]);
    assert_eq!(status, 200);
    assert!(
        !serving.is_finished(),
        "serve_forever returns only on failure"
    );
}

#[tokio::test]
async fn blocking_entry_points_inside_a_runtime_are_errors_not_panics() {
    let error = promexport::serve("127.0.0.1:0").unwrap_err();
    assert!(
        matches!(&error, promexport::Error::Config(message) if message.contains("Server::spawn")),
        "{error}"
    );
    let server = Server::bind("127.0.0.1:0").unwrap();
    let error = server.serve_forever().unwrap_err();
    assert!(matches!(error, promexport::Error::Config(_)), "{error}");
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_a_handle_inside_a_runtime_does_not_block_it() {
    let registry = promexport::Registry::new();
    let (started, started_rx) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let (started, release_rx) = (
        std::sync::Mutex::new(started),
        std::sync::Mutex::new(release_rx),
    );
    promexport::Collector::blocking("held", move || {
        started.lock().unwrap().send(()).unwrap();
        release_rx.lock().unwrap().recv().unwrap();
        Ok::<_, std::io::Error>(Untouched::new())
    })
    .timeout(std::time::Duration::from_secs(600))
    .register_in(&registry)
    .unwrap();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    let url = server.url();
    let scrape = std::thread::spawn(move || http_get(&url, &[]).0);
    started_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    // A drop that waits for the scrape would wait for ever: release it later all the same.
    let failsafe = release.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(10));
        let _ = failsafe.send(());
    });
    // A scrape is in flight, so a graceful stop waits for it: the drop must not.
    let dropped = std::time::Instant::now();
    drop(server);
    let took = dropped.elapsed();
    release.send(()).unwrap();
    assert!(
        took < std::time::Duration::from_secs(2),
        "the drop blocked the runtime for {took:?}"
    );
    assert_eq!(scrape.join().unwrap(), 200, "the in-flight scrape finishes");
}

#[test]
fn bind_errors_name_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = Server::bind(addr).unwrap_err().to_string();
    assert!(
        error.contains(&format!("cannot listen on {addr}")),
        "{error}"
    );
    let error = Server::bind("127.0.0.1:port").unwrap_err().to_string();
    assert!(error.contains("\"127.0.0.1:port\""), "{error}");
}

#[test]
fn a_detached_server_serves_on() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(promexport::Registry::new())
        .spawn()
        .unwrap();
    let url = server.url();
    server.detach();
    for _ in 0..3 {
        let (status, _, _) = http_get(&url, &[]);
        assert_eq!(status, 200, "serving without a handle");
    }
}
