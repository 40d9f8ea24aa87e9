//! The connection limits of `axum::WebConfigListener`, as promexport's own server has them: a
//! cap on open connections (TLS handshakes included) and a deadline for responses the client
//! stopped reading, counted in `promexport_server_*` of the listener's registry.

use axum::body::Bytes;
use promexport::axum::WebConfigListener;
use promexport::{Format, Registry, WebConfig};
use promexport_tests::{TempDir, make_pki, sample_value, wait_for};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Bigger than every socket buffer between the two ends (the kernel's largest receive buffer
/// here is 32 MiB).
const LARGE: usize = 64 << 20;

/// An axum app (`/hello`, and `/large`: [`LARGE`] bytes) served behind `listener` on a runtime
/// of its own until dropped.
struct AxumApp {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn serve_axum(
    config: &WebConfig,
    limits: impl FnOnce(WebConfigListener) -> WebConfigListener,
) -> AxumApp {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tcp = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = tcp.local_addr().unwrap();
    let large = Bytes::from(vec![b'x'; LARGE]);
    let app: axum::Router = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "hello" }))
        .route("/large", axum::routing::get(move || async move { large }));
    let listener = limits(WebConfigListener::new(tcp, config));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            let _ = serving.await;
        });
    });
    AxumApp { addr, _stop: stop }
}

/// The value of `name` (a sample without labels) in `registry`.
fn value(registry: &Registry, name: &str) -> Option<f64> {
    sample_value(&registry.render(Format::Text), name, &[])
}

/// Sends `GET /hello` on `stream` and reads the answer, leaving the connection open.
fn hello(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0; 1024];
    while !received.ends_with(b"hello") {
        let read = stream.read(&mut buffer).expect("an answer");
        assert!(read > 0, "closed before an answer: {received:?}");
        received.extend_from_slice(&buffer[..read]);
    }
    assert!(received.starts_with(b"HTTP/1.1 200"), "{received:?}");
}

/// Waits (up to `limit`) for the server to close `stream`; returns how long that took and how
/// much arrived before.
fn until_closed(stream: &mut TcpStream, limit: Duration) -> (Duration, usize) {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut received = 0;
    let mut buffer = vec![0; 1 << 16];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return (started.elapsed(), received),
            Ok(read) => received += read,
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                return (started.elapsed(), received);
            }
            Err(error) => panic!("still open after {:?}: {error}", started.elapsed()),
        }
    }
}

#[test]
fn plain_connections_beyond_the_limit_are_closed_at_once_and_counted() {
    let registry = Registry::new();
    let app = serve_axum(&WebConfig::default(), |listener| {
        listener.max_connections(2).registry(registry.clone())
    });
    // Two kept-alive connections, each served once: both places are taken.
    let mut open: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = TcpStream::connect(app.addr).unwrap();
            hello(&mut stream);
            stream
        })
        .collect();
    let mut third = TcpStream::connect(app.addr).unwrap();
    // axum sets no deadline for request heads: before the limit, this one stayed open.
    let (closed, _) = until_closed(&mut third, Duration::from_secs(10));
    assert!(closed < Duration::from_secs(10), "closed after {closed:?}");
    let rejected = "promexport_server_connections_rejected_total";
    assert!(value(&registry, rejected) >= Some(1.0));
    let connections_open = "promexport_server_connections_open";
    assert_eq!(value(&registry, connections_open), Some(2.0));
    // A place freed (once the server has seen the close): served again.
    drop(open.pop());
    wait_for(
        "a place for a new connection",
        Duration::from_secs(20),
        || (value(&registry, connections_open) == Some(1.0)).then_some(()),
    );
    let mut next = TcpStream::connect(app.addr).unwrap();
    hello(&mut next);
    assert_eq!(value(&registry, connections_open), Some(2.0));
    assert!(
        value(&registry, "promexport_server_write_timeouts_total") == Some(0.0),
        "no write timed out"
    );
}

#[test]
fn tls_handshakes_take_places_among_the_connections() {
    let dir = TempDir::new("axum-limits-tls");
    make_pki(dir.path());
    let path = dir.path().join("web.yml");
    let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    std::fs::write(&path, tls).unwrap();
    let config = WebConfig::load(&path).unwrap();
    let registry = Registry::new();
    let app = serve_axum(&config, |listener| {
        listener
            .max_connections(1)
            .handshake_timeout(Duration::from_secs(120))
            .registry(registry.clone())
    });
    // A client that never starts its handshake holds the only place...
    let _handshaking = TcpStream::connect(app.addr).unwrap();
    let connections_open = "promexport_server_connections_open";
    wait_for(
        "the handshaking connection",
        Duration::from_secs(20),
        || (value(&registry, connections_open) == Some(1.0)).then_some(()),
    );
    // ...so the next one is closed at once, not left to its own handshake deadline.
    let mut next = TcpStream::connect(app.addr).unwrap();
    let (closed, _) = until_closed(&mut next, Duration::from_secs(5));
    assert!(closed < Duration::from_secs(5), "closed after {closed:?}");
    let rejected = "promexport_server_connections_rejected_total";
    assert!(value(&registry, rejected) >= Some(1.0));
    assert_eq!(value(&registry, connections_open), Some(1.0));
}

#[test]
fn clients_that_stop_reading_are_dropped_after_the_write_timeout() {
    let registry = Registry::new();
    let app = serve_axum(&WebConfig::default(), |listener| {
        listener
            .write_timeout(Duration::from_secs(1))
            .registry(registry.clone())
    });
    let mut stalled = TcpStream::connect(app.addr).unwrap();
    stalled
        .write_all(b"GET /large HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Not reading: the listener's stream gives up on the response once it waited 1 s.
    let write_timeouts = "promexport_server_write_timeouts_total";
    wait_for("a write timeout", Duration::from_secs(60), || {
        (value(&registry, write_timeouts) == Some(1.0)).then_some(())
    });
    let (_, received) = until_closed(&mut stalled, Duration::from_secs(20));
    assert!(
        received < LARGE,
        "only what the socket buffers held arrives, not the whole response: {received}"
    );
    wait_for(
        "the stalled connection's place",
        Duration::from_secs(20),
        || (value(&registry, "promexport_server_connections_open") == Some(0.0)).then_some(()),
    );
}

#[test]
fn accept_errors_are_counted_and_survived() {
    // Using up every file descriptor would break the tests running beside it.
    if !promexport_tests::in_a_process_of_its_own("accept_errors_are_counted_and_survived") {
        return;
    }
    let registry = Registry::new();
    let app = serve_axum(&WebConfig::default(), |listener| {
        listener.registry(registry.clone())
    });
    // One descriptor for the client; none is left for the listener to accept it with.
    let files = promexport_tests::use_up_file_descriptors_but_one();
    let mut client = TcpStream::connect(app.addr).unwrap();
    let accept_errors = "promexport_server_accept_errors_total";
    wait_for("a failed accept", Duration::from_secs(20), || {
        (value(&registry, accept_errors) >= Some(1.0)).then_some(())
    });
    drop(files);
    // Accepted once descriptors are free again, after a pause of at most 1 s.
    hello(&mut client);
}

#[test]
fn a_server_and_a_listener_of_one_registry_count_together() {
    let registry = Registry::new();
    let server = promexport::Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry.clone())
        .spawn()
        .unwrap();
    let app = serve_axum(&WebConfig::default(), |listener| {
        listener.max_connections(1).registry(registry.clone())
    });
    let mut kept = TcpStream::connect(app.addr).unwrap();
    hello(&mut kept);
    let mut refused = TcpStream::connect(app.addr).unwrap();
    until_closed(&mut refused, Duration::from_secs(10));
    let query = "name[]=promexport_server_connections_rejected_total\
                 &name[]=promexport_server_connections_open";
    let (_, _, body) = promexport_tests::http_get(&format!("{}?{query}", server.url()), &[]);
    let text = String::from_utf8(body).unwrap();
    let served = |name| sample_value(&text, name, &[]);
    assert_eq!(
        served("promexport_server_connections_rejected_total"),
        Some(1.0),
        "the listener's refusal, served by the server: {text}"
    );
    assert_eq!(
        served("promexport_server_connections_open"),
        Some(2.0),
        "the listener's connection and the scrape's own: {text}"
    );
}
