//! Push, push-add and delete against a real Pushgateway (Debian's `prometheus-pushgateway`) on
//! loopback, with grouping labels that need encoding.

use promexport::push::Pusher;
use promexport::{Counter, Gauge, Metrics, Registry};
use promexport_tests::{
    Process, TempDir, basic_auth, free_port, http_get, https_get, make_pki, sample_value,
    tls_and_basic_auth, wait_for,
};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

#[derive(Metrics)]
#[metrics(prefix = "batch", no_global)]
struct BatchMetrics {
    /// Records processed.
    records: Counter,
}

#[derive(Metrics)]
#[metrics(prefix = "batch", no_global)]
struct BatchTiming {
    /// When the last run finished.
    last_success_timestamp_seconds: Gauge,
}

/// Starts the Pushgateway on a free port, with `args`; returns it and its port once it listens.
fn start_gateway(dir: &TempDir, args: &[&str]) -> (Process, u16) {
    let port = free_port();
    let mut command = Command::new(promexport_tests::tool("prometheus-pushgateway"));
    command.args([
        &format!("--web.listen-address=127.0.0.1:{port}"),
        "--log.level=warn",
    ]);
    command.args(args);
    let gateway = Process::start(command, dir.path().join("pushgateway.log"));
    wait_for("the pushgateway to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    (gateway, port)
}

#[tokio::test(flavor = "current_thread")]
async fn push_push_add_and_delete() {
    let dir = TempDir::new("pushgateway");
    let (_gateway, port) = start_gateway(&dir, &[]);
    let gateway_metrics = move || {
        let (status, _, body) = http_get(&format!("http://127.0.0.1:{port}/metrics"), &[]);
        assert_eq!(status, 200);
        String::from_utf8(body).unwrap()
    };

    let registry = Registry::new();
    let batch = Arc::new(BatchMetrics::new());
    registry.register(batch.clone()).unwrap();
    batch.records.inc_by(3);
    let pusher = Pusher::new(&format!("http://127.0.0.1:{port}"), "nightly")
        .unwrap()
        .grouping("instance", "db/1");
    pusher.push(&registry).await.unwrap();
    let text = tokio::task::spawn_blocking(gateway_metrics).await.unwrap();
    let group = [("job", "nightly"), ("instance", "db/1")];
    assert_eq!(
        sample_value(&text, "batch_records_total", &group),
        Some(3.0),
        "{text}"
    );

    // push-add keeps the other families of the group; push replaces the group.
    let timing_registry = Registry::new();
    let timing = Arc::new(BatchTiming::new());
    timing_registry.register(timing.clone()).unwrap();
    timing.last_success_timestamp_seconds.set(1_700_000_000);
    pusher.push_add(&timing_registry).await.unwrap();
    let text = tokio::task::spawn_blocking(gateway_metrics).await.unwrap();
    assert_eq!(
        sample_value(&text, "batch_records_total", &group),
        Some(3.0)
    );
    assert_eq!(
        sample_value(&text, "batch_last_success_timestamp_seconds", &group),
        Some(1.7e9)
    );
    pusher.push(&timing_registry).await.unwrap();
    let text = tokio::task::spawn_blocking(gateway_metrics).await.unwrap();
    assert_eq!(
        sample_value(&text, "batch_records_total", &group),
        None,
        "replaced by push"
    );

    pusher.delete().await.unwrap();
    // The Pushgateway keeps connections alive; the pusher's connection ends with its push.
    for _ in 0..100 {
        if tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
            == 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        0,
        "no connection task outlives its push"
    );
    let text = tokio::task::spawn_blocking(gateway_metrics).await.unwrap();
    assert_eq!(
        sample_value(&text, "batch_last_success_timestamp_seconds", &group),
        None
    );

    // A refused push is an error, not a panic.
    let wrong = Pusher::new(&format!("http://127.0.0.1:{}", free_port()), "nightly").unwrap();
    let error = wrong.push(&registry).await.unwrap_err();
    assert!(
        matches!(error, promexport::Error::Push { status: None, .. }),
        "{error:?}"
    );
}

/// Whatever answers in place of a Pushgateway, the pusher reads at most 64 KiB of it.
#[tokio::test(flavor = "current_thread")]
async fn an_endless_answer_is_cut_short() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let gateway = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0; 4096];
        let _ = stream.read(&mut request).await;
        let head = "HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 1 << 16, "x".repeat(1 << 16));
        // Bounded: 64 MiB at most, far past the limit; the pusher hangs up long before.
        for _ in 0..1024 {
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                return true;
            }
        }
        false
    });
    let pusher = Pusher::new(&format!("http://127.0.0.1:{port}"), "job").unwrap();
    let error = pusher.delete().await.unwrap_err().to_string();
    assert!(
        error.contains("reading the pushgateway's answer"),
        "{error}"
    );
    assert!(gateway.await.unwrap(), "the pusher stopped reading");
}

/// A Pushgateway behind its own web config file (TLS and basic auth), as in production.
#[tokio::test(flavor = "current_thread")]
async fn push_over_tls_with_basic_auth() {
    let dir = TempDir::new("pushgateway-tls");
    let pki = make_pki(dir.path());
    let config = dir.path().join("web.yml");
    std::fs::write(&config, tls_and_basic_auth()).unwrap();
    let flag = format!("--web.config.file={}", config.display());
    let (gateway, port) = start_gateway(&dir, &[&flag]);

    let registry = Registry::new();
    let batch = Arc::new(BatchMetrics::new());
    registry.register(batch.clone()).unwrap();
    batch.records.inc_by(42);
    let url = format!("https://localhost:{port}");
    let pusher = Pusher::new(&url, "secured")
        .unwrap()
        .ca_certificate(&pki.ca)
        .unwrap();
    let refused = pusher.push(&registry).await.unwrap_err();
    assert!(
        matches!(
            refused,
            promexport::Error::Push {
                status: Some(401),
                ..
            }
        ),
        "no credentials: {refused:?}"
    );
    assert!(
        refused.to_string().contains("401 Unauthorized"),
        "{refused}"
    );
    let wrong = pusher.clone().basic_auth("prometheus", "wrong");
    let refused = wrong.push(&registry).await.unwrap_err();
    assert!(
        matches!(
            refused,
            promexport::Error::Push {
                status: Some(401),
                ..
            }
        ),
        "wrong password: {refused:?}"
    );
    let untrusted = Pusher::new(&url, "secured")
        .unwrap()
        .basic_auth("prometheus", "s3cret");
    assert!(untrusted.push(&registry).await.is_err(), "no CA given");

    pusher
        .clone()
        .basic_auth("prometheus", "s3cret")
        .push(&registry)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", gateway.log()));
    let authorization = basic_auth("prometheus", "s3cret");
    let metrics = format!("https://localhost:{port}/metrics");
    let text = tokio::task::spawn_blocking(move || {
        let (status, _, body) = https_get(
            &metrics,
            &pki.ca,
            None,
            &[("Authorization", &authorization)],
        )
        .unwrap();
        assert_eq!(status, 200);
        String::from_utf8(body).unwrap()
    })
    .await
    .unwrap();
    let group = [("job", "secured")];
    assert_eq!(
        sample_value(&text, "batch_records_total", &group),
        Some(42.0),
        "{text}"
    );
}

/// A Pushgateway that accepts the connection and never answers: the push gives up at its timeout.
#[tokio::test(flavor = "current_thread")]
async fn a_silent_gateway_fails_the_push_at_its_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let _silent = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        drop(stream);
    });
    let pusher = Pusher::new(&format!("http://127.0.0.1:{port}"), "job")
        .unwrap()
        .timeout(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let error = pusher.delete().await.unwrap_err();
    assert!(
        matches!(&error, promexport::Error::Push { status: None, message } if message.contains("did not answer within 300ms")),
        "{error:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
