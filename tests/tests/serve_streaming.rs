//! Scrapes of a large registry: streamed in chunks (HTTP/1.1 chunked transfer coding, gzip
//! compressed as it goes) from a thread of their own, so that they decode to the same
//! exposition as a whole body, keep the connection alive, and do not hold up other scrapes.

use promexport::{Collect, Counter, Encoder, Family, FamilyDescription, LabelSet, Metrics};
use promexport::{Registry, Server};
use promexport_tests::{header, http_get, http_request, python_parse};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct PathLabels {
    path: String,
}

#[derive(Metrics)]
#[metrics(prefix = "large", no_global)]
struct Large {
    /// Requests by path.
    #[metric(max_series = 100000)]
    requests: Family<PathLabels, Counter>,
}

/// A registry of `series` series of about 65 bytes each, far beyond the 256 KiB from which
/// scrapes are streamed once an exposition was that large.
fn large_registry(series: u64) -> (Registry, Arc<Large>) {
    let registry = Registry::new();
    let large = Arc::new(Large::new());
    registry.register(large.clone()).unwrap();
    for i in 0..series {
        let labels = PathLabels {
            path: format!("/api/v1/items/{i}/details"),
        };
        large.requests.get(&labels).inc_by(i * 7 + 1);
    }
    (registry, large)
}

fn gunzip(body: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut text)
        .expect("a valid gzip body");
    text
}

/// The exposition less the server's own metrics, which every scrape moves.
fn unmoved(text: &str) -> String {
    let lines = text.lines().filter(|line| {
        !line.contains("promhttp_metric_handler") && !line.contains("promexport_server_")
    });
    lines.collect::<Vec<_>>().join("\n")
}

#[test]
fn a_streamed_scrape_is_the_whole_exposition_plain_gzip_and_open_metrics() {
    let (registry, _large) = large_registry(20_000);
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry.clone())
        .spawn()
        .unwrap();
    let expected = unmoved(&registry.render(promexport::Format::Text));
    let url = format!("http://{}/metrics", server.local_addr());

    // `render` above told the registry the size of its exposition: the first scrape streams.
    let (status, headers, body) = http_get(&url, &[]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));
    assert_eq!(header(&headers, "content-length"), None);
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    );
    let plain = String::from_utf8(body).unwrap();
    // Not assert_eq: a failure would print megabytes.
    assert!(unmoved(&plain) == expected, "{} B streamed", plain.len());
    let parsed = python_parse(&plain, false);
    let requests = parsed.iter().find(|f| f.name == "large_requests").unwrap();
    assert_eq!(requests.samples.len(), 20_000);

    let (status, headers, body) = http_get(&url, &[("Accept-Encoding", "gzip")]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));
    assert!(body.len() * 3 < plain.len(), "{} B compressed", body.len());
    assert!(unmoved(&gunzip(&body)) == expected);

    let accept = [(
        "Accept",
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
    )];
    let (_, headers, body) = http_get(&url, &accept);
    assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));
    let open_metrics = String::from_utf8(body).unwrap();
    assert!(open_metrics.ends_with("# EOF\n"));
    assert_eq!(
        python_parse(&open_metrics, true)
            .iter()
            .find(|f| f.name == "large_requests")
            .unwrap()
            .samples
            .len(),
        20_000
    );

    // HEAD: the headers of the scrape, no body.
    let (status, headers, body) = http_request("HEAD", &url, &[("Accept-Encoding", "gzip")]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    assert!(body.is_empty());
    server.shutdown().unwrap();
}

/// Reads one chunked response from `stream`: its head and its decoded body.
fn read_chunked(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut reader = std::io::BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        std::io::BufRead::read_line(&mut reader, &mut size).unwrap();
        let size = usize::from_str_radix(size.trim_end(), 16).unwrap();
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).unwrap();
        assert_eq!(&chunk[size..], b"\r\n");
        if size == 0 {
            return (head, body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

#[test]
fn a_kept_alive_connection_serves_streamed_scrapes_one_after_another() {
    let (registry, _large) = large_registry(20_000);
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry.clone())
        .spawn()
        .unwrap();
    let url = format!("http://{}/metrics", server.local_addr());
    http_get(&url, &[]);
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sizes = Vec::new();
    for _ in 0..3 {
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip\r\n\r\n")
            .unwrap();
        let (head, body) = read_chunked(&mut stream);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("transfer-encoding: chunked")
        );
        let text = gunzip(&body);
        assert!(text.contains("large_requests_total{path=\"/api/v1/items/19999/details\"}"));
        sizes.push(text.len());
    }
    assert!(sizes[0] > 1_000_000, "{sizes:?}");
    server.shutdown().unwrap();
}

/// A collector that takes `SLOW` to encode, as a registry of millions of series would, and
/// notes when each of its encodings ran.
#[derive(Default)]
struct Slow {
    encodings: Mutex<Vec<(Instant, Instant)>>,
}

const SLOW: Duration = Duration::from_millis(400);

impl Collect for Slow {
    fn describe(&self) -> Vec<FamilyDescription> {
        Vec::new()
    }
    fn encode(&self, _: &mut Encoder<'_>) {
        let start = Instant::now();
        std::thread::sleep(SLOW);
        self.encodings.lock().unwrap().push((start, Instant::now()));
    }
}

#[test]
fn two_large_scrapes_are_encoded_at_the_same_time() {
    let (registry, _large) = large_registry(5_000);
    let slow = Arc::new(Slow::default());
    registry.register(slow.clone()).unwrap();
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap();
    let url = format!("http://{}/metrics", server.local_addr());
    http_get(&url, &[]);
    let scrapes: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || http_get(&url, &[("Accept-Encoding", "gzip")]))
        })
        .collect();
    for scrape in scrapes {
        let (status, headers, _) = scrape.join().unwrap();
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));
    }
    let mut encodings = slow.encodings.lock().unwrap().split_off(1);
    encodings.sort();
    // One after the other, the second would start after the first ended.
    assert!(
        encodings[1].0 < encodings[0].1,
        "the second encoding started {:?} after the first ended",
        encodings[1].0 - encodings[0].1
    );
    server.shutdown().unwrap();
}
