//! Scrapes of large registries: one counter family of 100,000 and of 1,000,000 series (labels
//! `method` and `path`, 4 methods × N/4 paths, as `encode_10k` of `metrics.rs`), promexport
//! next to tikv's `prometheus`, `prometheus-client` 0.26 and `metrics-exporter-prometheus` 0.18,
//! each built in turn (one library's registry alive at a time) and measured in the same run.
//!
//! - `large_encode_{100k,1m}`: the text exposition into a new buffer (promexport
//!   `Registry::encode`; tikv `gather` + `TextEncoder::encode_utf8`; prometheus-client
//!   `encode`; `PrometheusHandle::render`); `promexport_server` is a scrape of promexport's
//!   server over loopback (streamed in chunks), read to its end by a raw TCP client;
//! - `large_encode_gzip_{100k,1m}`: the same plus gzip: promexport's server with
//!   `Accept-Encoding: gzip` (compressed as it is encoded) and `handle_request` (the whole body,
//!   then gzip: what the server did before); the peers' text then flate2 (zlib-rs backend) at
//!   level 1, promexport's level;
//! - `large_concurrent_scrapes_1m`: one scrape of promexport's server against two at once
//!   (plain and gzip); the time is that of the last to finish.
//!
//! Before criterion runs, `main` measures the peak extra memory of one scrape of each (the
//! highest live heap during the scrape less the live heap before it, counted by a
//! `#[global_allocator]`), and prints it as a table.
//!
//! ```sh
//! cargo bench -p promexport-benches --bench large_registry -- --warm-up-time 1 --measurement-time 3
//! cargo bench -p promexport-benches --bench large_registry -- --test    # smoke test
//! ```

mod common;

use common::{PcFamily, StringLabels, labelled_series, pc_text, series, tikv_text};
use criterion::Criterion;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use prometheus_client_latest as prometheus_client;
use promexport::{Counter, Family, Format, Metrics, Registry, Server, ServerHandle};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The counting allocator: live bytes and their peak.

struct CountingAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn grew(size: usize) {
    let live = LIVE_BYTES.fetch_add(size, Ordering::Relaxed) + size;
    PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments, and only updates counters.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `GlobalAlloc::alloc`.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `GlobalAlloc::alloc_zeroed`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `GlobalAlloc::dealloc`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `GlobalAlloc::realloc`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE_BYTES.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

/// The peak extra heap while `scrape` runs, and what it returned.
fn peak_extra<R>(scrape: impl FnOnce() -> R) -> (usize, R) {
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    PEAK_BYTES.store(before, Ordering::Relaxed);
    let result = scrape();
    (
        PEAK_BYTES.load(Ordering::Relaxed).saturating_sub(before),
        result,
    )
}

// ---------------------------------------------------------------------------------------------
// The registries.

const SIZES: [(&str, usize); 2] = [("100k", 100_000), ("1m", 1_000_000)];

#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct LargeMetrics {
    /// Requests served.
    #[metric(max_series = 2000000)]
    requests: Family<StringLabels, Counter>,
}

fn promexport_registry(n: usize) -> Registry {
    let metrics = Arc::new(LargeMetrics::new());
    let registry = Registry::new();
    registry.register(metrics.clone()).unwrap();
    for i in 0..n {
        let (labels, value) = labelled_series(i);
        metrics.requests.get(&labels).inc_by(value);
    }
    registry
}

fn tikv_registry(n: usize) -> prometheus::Registry {
    let vec = prometheus::IntCounterVec::new(
        prometheus::Opts::new("bench_requests_total", "Requests served."),
        &["method", "path"],
    )
    .unwrap();
    let registry = prometheus::Registry::new();
    registry.register(Box::new(vec.clone())).unwrap();
    for i in 0..n {
        let (method, path, value) = series(i);
        vec.with_label_values(&[method, &path]).inc_by(value);
    }
    registry
}

fn pc_registry(n: usize) -> prometheus_client::registry::Registry {
    let family = PcFamily::default();
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register("bench_requests", "Requests served.", family.clone());
    for i in 0..n {
        let (labels, value) = labelled_series(i);
        family.get_or_create(&labels).inc_by(value);
    }
    registry
}

fn metrics_handle(n: usize) -> PrometheusHandle {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("bench_requests_total", "Requests served.");
        for i in 0..n {
            let (method, path, value) = series(i);
            metrics::counter!("bench_requests_total", "method" => method, "path" => path)
                .increment(value);
        }
    });
    handle
}

// ---------------------------------------------------------------------------------------------
// Encodings and scrapes.

fn promexport_text(registry: &Registry) -> Vec<u8> {
    let mut out = Vec::new();
    registry.encode(Format::Text, &mut out);
    out
}

/// gzip at promexport's level (1), on flate2's zlib-rs backend, as a peer would add it.
fn gzip(text: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(text.len() / 4),
        flate2::Compression::new(1),
    );
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

fn server(registry: Registry) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(registry)
        .spawn()
        .unwrap()
}

/// One scrape of `addr` over a new connection, read to its end into a reused buffer: the bytes
/// of the response (head and body, chunk sizes included).
fn scrape(addr: SocketAddr, gzip: bool) -> usize {
    let mut stream = TcpStream::connect(addr).unwrap();
    let encoding = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: bench\r\n{encoding}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut buffer = [0; 64 * 1024];
    let mut total = 0;
    let mut head = [0; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return total + head.len(),
            Ok(read) => total += read,
            Err(error) => panic!("{error}"),
        }
    }
}

/// `count` scrapes at once, each on a thread of its own; the time until the last ends.
fn concurrent_scrapes(addr: SocketAddr, count: usize, gzip: bool) -> Duration {
    let start = Instant::now();
    let scrapes: Vec<_> = (0..count)
        .map(|_| std::thread::spawn(move || scrape(addr, gzip)))
        .collect();
    for scrape in scrapes {
        black_box(scrape.join().unwrap());
    }
    start.elapsed()
}

// ---------------------------------------------------------------------------------------------
// Peak memory.

fn mib(bytes: usize) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn memory_table() {
    println!(
        "peak extra heap during one scrape (one counter family; live bytes, less those before):"
    );
    println!("| series | library | scrape | plain | gzip |");
    println!("|---:|---|---|---:|---:|");
    for (name, n) in SIZES {
        let row = |library: &str, scrape: &str, plain: usize, gzip: usize| {
            println!(
                "| {name} | {library} | {scrape} | {} | {} |",
                mib(plain),
                mib(gzip)
            );
        };
        {
            let registry = promexport_registry(n);
            // Warm: the first encoding sizes its buffer from nothing; a scrape's from the last.
            let text = promexport_text(&registry);
            let (plain, _) = peak_extra(|| black_box(promexport_text(&registry)).len());
            let (gzip, _) =
                peak_extra(|| black_box(common::scrape_body(&registry, None, true)).len());
            row(
                "promexport",
                "`Registry::encode`; `handle_request` (whole, then gzip)",
                plain,
                gzip,
            );
            let handle = server(registry);
            let addr = handle.local_addr();
            // The first scrape learns the size, and each blocking thread builds its compressor.
            for gzip in [false, true, true] {
                scrape(addr, gzip);
            }
            let (plain, plain_bytes) = peak_extra(|| scrape(addr, false));
            let (gzip, gzip_bytes) = peak_extra(|| scrape(addr, true));
            assert!(plain_bytes > text.len() && gzip_bytes * 3 < text.len());
            row("promexport", "server over loopback (streamed)", plain, gzip);
            handle.shutdown().unwrap();
        }
        {
            let registry = tikv_registry(n);
            black_box(tikv_text(&registry));
            let (plain, _) = peak_extra(|| black_box(tikv_text(&registry)).len());
            let (gzip, _) = peak_extra(|| black_box(gzip(tikv_text(&registry).as_bytes())).len());
            row("prometheus (tikv)", "`gather` + `encode_utf8`", plain, gzip);
        }
        {
            let registry = pc_registry(n);
            black_box(pc_text(&registry));
            let (plain, _) = peak_extra(|| black_box(pc_text(&registry)).len());
            let (gzip, _) = peak_extra(|| black_box(gzip(pc_text(&registry).as_bytes())).len());
            row("prometheus-client", "`encode`", plain, gzip);
        }
        {
            let handle = metrics_handle(n);
            black_box(handle.render());
            let (plain, _) = peak_extra(|| black_box(handle.render()).len());
            let (gzip, _) = peak_extra(|| black_box(gzip(handle.render().as_bytes())).len());
            row("metrics-exporter-prometheus", "`render`", plain, gzip);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Timings.

/// One library's variants, in the plain group and the gzip group of their size.
fn bench_library(
    c: &mut Criterion,
    size: &str,
    plain: Vec<(&str, &dyn Fn() -> usize)>,
    gzip: Vec<(&str, &dyn Fn() -> usize)>,
) {
    for (group, variants) in [("large_encode", plain), ("large_encode_gzip", gzip)] {
        let mut group = c.benchmark_group(format!("{group}_{size}"));
        group.sample_size(10);
        for (variant, run) in variants {
            group.bench_function(variant, |b| b.iter(run));
        }
        group.finish();
    }
}

fn encode_groups(c: &mut Criterion) {
    for (size, n) in SIZES {
        {
            let registry = promexport_registry(n);
            let handle = server(registry.clone());
            let addr = handle.local_addr();
            for gzip in [false, true, true] {
                scrape(addr, gzip);
            }
            let encode = || promexport_text(&registry).len();
            let served_plain = || scrape(addr, false);
            let served_gzip = || scrape(addr, true);
            let whole_gzip = || common::scrape_body(&registry, None, true).len();
            bench_library(
                c,
                size,
                vec![
                    ("promexport", &encode),
                    ("promexport_server", &served_plain),
                ],
                vec![
                    ("promexport_server", &served_gzip),
                    ("promexport_handle_request", &whole_gzip),
                ],
            );
            if n == 1_000_000 {
                concurrent_group(c, addr);
            }
            handle.shutdown().unwrap();
        }
        {
            let registry = tikv_registry(n);
            let encode = || tikv_text(&registry).len();
            let gzipped = || gzip(tikv_text(&registry).as_bytes()).len();
            bench_library(c, size, vec![("tikv", &encode)], vec![("tikv", &gzipped)]);
        }
        {
            let registry = pc_registry(n);
            let encode = || pc_text(&registry).len();
            let gzipped = || gzip(pc_text(&registry).as_bytes()).len();
            let plain: Vec<(&str, &dyn Fn() -> usize)> = vec![("prometheus_client", &encode)];
            bench_library(c, size, plain, vec![("prometheus_client", &gzipped)]);
        }
        {
            let handle = metrics_handle(n);
            let encode = || handle.render().len();
            let gzipped = || gzip(handle.render().as_bytes()).len();
            let plain: Vec<(&str, &dyn Fn() -> usize)> =
                vec![("metrics_exporter_prometheus", &encode)];
            bench_library(
                c,
                size,
                plain,
                vec![("metrics_exporter_prometheus", &gzipped)],
            );
        }
    }
}

/// One scrape of 1,000,000 series against two at once, plain and gzip.
fn concurrent_group(c: &mut Criterion, addr: SocketAddr) {
    let mut group = c.benchmark_group("large_concurrent_scrapes_1m");
    group.sample_size(10);
    for (variant, count, gzip) in [
        ("one_plain", 1, false),
        ("two_plain", 2, false),
        ("one_gzip", 1, true),
        ("two_gzip", 2, true),
    ] {
        group.bench_function(variant, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| concurrent_scrapes(addr, count, gzip))
                    .sum()
            });
        });
    }
    group.finish();
}

fn main() {
    memory_table();
    let mut c = Criterion::default().configure_from_args();
    encode_groups(&mut c);
    c.final_summary();
}
