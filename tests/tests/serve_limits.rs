//! An endpoint you can expose: `name[]` filtering, a concurrency limit, slow and oversized
//! requests, and the server's own `promhttp_*` metrics.

use promexport::{Collector, Gauge, Metrics, Registry, Server};
use promexport_tests::{http_get, promtool_check_metrics, sample_value};
use std::io::{Read, Write};
use std::net::TcpStream;
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

#[test]
fn scrapes_over_the_limit_get_503_and_are_counted() {
    let registry = Registry::new();
    Collector::new("slow", || async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        Ok::<_, std::io::Error>(SlowTarget::new())
    })
    .register_in(&registry)
    .unwrap();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .max_concurrent_scrapes(1)
        .spawn()
        .unwrap();
    let url = server.url();
    let scrapes: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || http_get(&url, &[]).0)
        })
        .collect();
    let mut codes: Vec<u16> = scrapes.into_iter().map(|s| s.join().unwrap()).collect();
    codes.sort();
    assert_eq!(codes, [200, 503, 503], "one scrape at a time");
    let (_, _, body) = http_get(&url, &[]);
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
