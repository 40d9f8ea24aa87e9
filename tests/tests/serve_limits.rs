//! An endpoint you can expose: `name[]` filtering, a concurrency limit, slow and oversized
//! requests, and the server's own `promhttp_*` metrics.

use promexport::{Collector, Gauge, Metrics, Registry, Server};
use promexport_tests::{http_get, promtool_check_metrics, sample_value, wait_for};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Metrics)]
#[metrics(no_global)]
struct Pair {
    /// First.
    first: Gauge,
    /// Second.
    second: promexport::Counter,
}

#[test]
fn name_parameters_select_families() {
    let registry = Registry::new();
    registry.register(Pair::new()).unwrap();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    let url = server.url();
    let (_, _, body) = http_get(&format!("{url}?name[]=first"), &[]);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(text, "# HELP first First.\n# TYPE first gauge\nfirst 0\n");
    let (_, _, body) = http_get(&format!("{url}?name%5B%5D=second_total&name[]=first"), &[]);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("first 0\n") && text.contains("second_total 0\n"),
        "{text}"
    );
    assert!(!text.contains("promhttp"), "{text}");
    promtool_check_metrics(&text);
}

#[derive(Metrics)]
#[metrics(prefix = "slow", no_global)]
struct SlowTarget {
    /// Read slowly.
    value: Gauge,
}

/// A collector that blocks each collection until the test releases it, and says when one has
/// started: the outcome of racing scrapes is then decided by the test, not by the scheduler.
struct Gate {
    started: std::sync::mpsc::Receiver<()>,
    release: std::sync::mpsc::Sender<()>,
}

impl Gate {
    fn register_in(registry: &Registry) -> Gate {
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, release_rx) = (Mutex::new(started_tx), Mutex::new(release_rx));
        Collector::blocking("slow", move || {
            started_tx.lock().unwrap().send(()).unwrap();
            release_rx.lock().unwrap().recv().unwrap();
            Ok::<_, std::io::Error>(SlowTarget::new())
        })
        .timeout(Duration::from_secs(600))
        .register_in(registry)
        .unwrap();
        Gate { started, release }
    }

    /// Waits until a collection has started and blocks in the collector.
    fn wait_started(&self) {
        self.started
            .recv_timeout(Duration::from_secs(30))
            .expect("a collection starts");
    }
}

#[test]
fn scrapes_over_the_limit_get_503_and_are_counted() {
    let registry = Registry::new();
    let gate = Gate::register_in(&registry);
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .max_concurrent_scrapes(1)
        .spawn()
        .unwrap();
    let url = server.url();
    let first = {
        let url = url.clone();
        std::thread::spawn(move || http_get(&url, &[]).0)
    };
    gate.wait_started();
    // The one permit is held by the blocked scrape: the others are refused, whatever the timing.
    let refused: Vec<u16> = (0..2).map(|_| http_get(&url, &[]).0).collect();
    assert_eq!(refused, [503, 503], "one scrape at a time");
    gate.release.send(()).unwrap();
    assert_eq!(first.join().unwrap(), 200);
    let next = {
        let url = url.clone();
        std::thread::spawn(move || http_get(&url, &[]))
    };
    gate.wait_started();
    gate.release.send(()).unwrap();
    let (_, _, body) = next.join().unwrap();
    let text = String::from_utf8(body).unwrap();
    let count = |code| {
        sample_value(
            &text,
            "promhttp_metric_handler_requests_total",
            &[("code", code)],
        )
    };
    assert_eq!(count("503"), Some(2.0), "{text}");
    assert_eq!(
        count("200"),
        Some(1.0),
        "the scrape being served is counted when it ends"
    );
    assert_eq!(
        sample_value(&text, "promhttp_metric_handler_requests_in_flight", &[]),
        Some(1.0)
    );
    promtool_check_metrics(&text);
}

#[test]
fn slow_clients_cannot_hold_the_server() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(Registry::new())
        .header_read_timeout(Duration::from_secs(1))
        .spawn()
        .unwrap();
    let addr = server.local_addr();
    // Slowloris: many connections that start a request and never finish its head.
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    let started = Instant::now();
    let (status, _, _) = http_get(&server.url(), &[]);
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a normal scrape is served at once"
    );
    // The idle ones are dropped once the header timeout passes.
    for mut stream in idle {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buffer = [0; 512];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                // hyper may answer `408 Request Timeout` before it closes.
                Ok(_) => continue,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(error) => panic!("an idle client is still connected after 5 s: {error}"),
            }
        }
    }
}

#[test]
fn oversized_request_heads_are_refused() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(Registry::new())
        .max_header_bytes(8192)
        .spawn()
        .unwrap();
    let big = "x".repeat(20_000);
    let (status, _, _) = http_get(&server.url(), &[("X-Big", &big)]);
    assert_eq!(status, 431);
    let (status, _, _) = http_get(&server.url(), &[]);
    assert_eq!(status, 200, "the server is still serving");
}

#[test]
fn request_bodies_are_never_read() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(Registry::new())
        .spawn()
        .unwrap();
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // A gigabyte announced, a kilobyte sent: the answer comes without waiting for the rest.
    let head = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&[b'x'; 1024]).unwrap();
    let mut answer = [0; 64];
    let read = stream.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
}

/// Reads one HTTP/1.1 response with a `Content-Length` (what the server always sends) off
/// `stream`, leaving the connection open; returns its head.
fn read_one_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        let read = stream.read(&mut buffer).expect("the response");
        assert!(read > 0, "closed before a whole response: {received:?}");
        received.extend_from_slice(&buffer[..read]);
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .expect("a content-length");
        if received.len() >= end + 4 + length {
            return head;
        }
    }
}

/// Waits (up to `limit`) for the server to close `stream`; returns how long that took.
fn time_until_closed(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return started.elapsed(),
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                return started.elapsed();
            }
            Err(error) => panic!("still open after {:?}: {error}", started.elapsed()),
        }
    }
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(Registry::new())
        .header_read_timeout(Duration::from_secs(1))
        .spawn()
        .unwrap();
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    for _ in 0..2 {
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let head = read_one_response(&mut stream);
        assert!(head.starts_with("http/1.1 200"), "{head}");
    }
    // Kept alive after two requests, then idle: closed like a slow request head.
    let idle = time_until_closed(&mut stream, Duration::from_secs(20));
    assert!(idle < Duration::from_secs(15), "closed after {idle:?}");
}

/// The value of `name` (a sample without labels) as `url` serves it, scraping only its family.
fn served_value(url: &str, name: &str) -> Option<f64> {
    let (_, _, body) = http_get(&format!("{url}?name[]={name}"), &[]);
    sample_value(&String::from_utf8(body).unwrap(), name, &[])
}

#[test]
fn connections_beyond_the_limit_are_closed_at_once_and_counted() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(Registry::new())
        .max_connections(2)
        .header_read_timeout(Duration::from_secs(60))
        .spawn()
        .unwrap();
    let addr = server.local_addr();
    // Two idle connections take both places (accepted in order, before the third).
    let mut idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut third = TcpStream::connect(addr).unwrap();
    let closed = time_until_closed(&mut third, Duration::from_secs(10));
    assert!(closed < Duration::from_secs(10), "closed after {closed:?}");
    // One place freed: served again (once the server has seen the close).
    drop(idle.pop());
    let url = server.url();
    // Both values from one scrape: its connection is one of the two places.
    let query = "name[]=promexport_server_connections_rejected_total\
                 &name[]=promexport_server_connections_open";
    let text = wait_for("a place for a scrape", Duration::from_secs(20), || {
        promexport_tests::try_http_get(&format!("{url}?{query}"))
            .filter(|(status, ..)| *status == 200)
            .map(|(_, _, body)| String::from_utf8(body).unwrap())
    });
    let rejected = sample_value(&text, "promexport_server_connections_rejected_total", &[]);
    assert!(rejected >= Some(1.0), "{text}");
    assert_eq!(
        sample_value(&text, "promexport_server_connections_open", &[]),
        Some(2.0),
        "the idle connection left and the scrape's own: {text}"
    );
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, promexport::LabelSet)]
struct Padding {
    padding: String,
}

#[derive(Metrics)]
#[metrics(no_global)]
struct Large {
    /// Series with long labels: a response larger than the socket buffers.
    large: promexport::Family<Padding, Gauge>,
}

#[test]
fn clients_that_stop_reading_are_dropped_after_the_write_timeout() {
    let large = Large::new();
    for i in 0..10_000 {
        let padding = format!("{i:05}{}", "x".repeat(4_000));
        large.large.get(&Padding { padding }).set(1);
    }
    let registry = Registry::new();
    registry.register(large).unwrap();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .write_timeout(Duration::from_secs(1))
        .spawn()
        .unwrap();
    let mut stalled = TcpStream::connect(server.local_addr()).unwrap();
    stalled
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Not reading: the server gives up on the 40 MB response once it has waited 1 s.
    wait_for("a write timeout", Duration::from_secs(60), || {
        (served_value(&server.url(), "promexport_server_write_timeouts_total") == Some(1.0))
            .then_some(())
    });
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut received = 0;
    let mut buffer = vec![0; 1 << 16];
    loop {
        match stalled.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => received += read,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) => panic!("still open after the write timeout: {error}"),
        }
    }
    assert!(
        received < 40_000_000,
        "only what the socket buffers held arrives, not the whole response: {received}"
    );
}

#[test]
fn accept_errors_are_counted_and_survived() {
    // Using up every file descriptor would break the tests running beside it.
    if !promexport_tests::in_a_process_of_its_own("accept_errors_are_counted_and_survived") {
        return;
    }
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(Registry::new())
        .spawn()
        .unwrap();
    // One descriptor for the client; none is left for the server to accept it with.
    let files = promexport_tests::use_up_file_descriptors_but_one();
    let mut client = TcpStream::connect(server.local_addr()).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    drop(files);
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    client
        .write_all(
            b"GET /metrics?name[]=promexport_server_accept_errors_total HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).ok();
    let errors = answer
        .lines()
        .find_map(|line| line.strip_prefix("promexport_server_accept_errors_total "))
        .and_then(|value| value.parse::<f64>().ok());
    assert!(
        errors >= Some(1.0),
        "served after the failed accepts: {answer}"
    );
    assert!(server.is_running());
}

#[tokio::test]
async fn the_callers_runtime_is_reported_in_the_served_registry() {
    let served = Registry::new();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(served.clone())
        .spawn()
        .unwrap();
    let url = server.url();
    let text = tokio::task::spawn_blocking(move || http_get(&url, &[]).2)
        .await
        .unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("\ntokio_workers 1\n"), "{text}");
    let global = promexport::render(promexport::Format::Text);
    assert!(!global.contains("tokio_workers"), "{global}");
}

#[test]
fn handler_metrics_keep_counting_across_a_restart() {
    let registry = Registry::new();
    let scrape_count = |server: &promexport::ServerHandle| {
        let (_, _, body) = http_get(&server.url(), &[]);
        let text = String::from_utf8(body).unwrap();
        sample_value(
            &text,
            "promhttp_metric_handler_requests_total",
            &[("code", "200")],
        )
    };
    let first = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry.clone())
        .spawn()
        .unwrap();
    scrape_count(&first);
    assert_eq!(scrape_count(&first), Some(1.0));
    first.shutdown().unwrap();
    let second = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    assert_eq!(scrape_count(&second), Some(2.0));
    assert_eq!(
        scrape_count(&second),
        Some(3.0),
        "the restarted server counts"
    );
}
