//! Cost of gzip on a scrape: encode only against encode + gzip, through
//! `promexport::handle_request` as a server answers, for a body the size of the seed's exporter
//! (`examples/app_exporter`, about 3.7 KB) and for 1,000 series (about 50 KB), next to the way
//! promexport compressed before (a new flate2 `GzEncoder` per response) and to the compressors it
//! could use (miniz_oxide, flate2's default backend, and zlib-rs; built per response or reused;
//! levels 1 and 6) on the same text, in one run.
//!
//! Run with `cargo bench -p promexport-benches --bench gzip`; see `benches/README.md`.
//!
//! `main` checks, before measuring, that every variant's output decodes to the exposition, and
//! prints each body's size, plain and compressed.

use criterion::{Criterion, criterion_group};
use promexport::{
    Counter, Family, Gauge, Histogram, LabelSet, LabelValue, Metrics, ProcessCollector, Registry,
    StateSet,
};
use std::future::Future;
use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Health {
    Healthy,
    Unhealthy,
}

/// The families `app_exporter` serves for the seed's application.
#[derive(Metrics)]
#[metrics(prefix = "app", no_global)]
struct AppMetrics {
    /// Current requests
    requests_current: Gauge,
    /// Pending requests
    requests_pending: Gauge,
    /// Uptime
    uptime: Gauge<f64>,
    /// Health
    health: StateSet<Health>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
enum Reason {
    Timeout,
    Error,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct ReasonLabels {
    reason: Reason,
}

/// What promexport's `Collector` serves next to them: the same types and buckets (the names
/// differ a little: a `no_global` struct may not take a collector's own).
#[derive(Metrics)]
#[metrics(prefix = "app", no_global)]
struct CollectorMetrics {
    /// Whether the last collection succeeded (1) or failed (0).
    collector_up: Gauge,
    /// Duration of the collections.
    #[metric(unit = "seconds")]
    collector_duration: Histogram,
    /// Failed collections, by reason.
    #[metric(preinit)]
    collector_errors: Family<ReasonLabels, Counter>,
    /// When the last collection succeeded, in seconds since the Unix epoch.
    #[metric(unit = "seconds")]
    last_success_timestamp: Gauge<f64>,
    /// Blocking collections abandoned by their timeout and still running.
    collector_abandoned: Gauge,
}

/// The `tokio_*` families of the runtime the server runs on.
#[derive(Metrics)]
#[metrics(prefix = "tokio", no_global)]
struct RuntimeMetrics {
    /// Number of worker threads of the runtime.
    workers: Gauge,
    /// Number of alive tasks of the runtime.
    alive_tasks: Gauge,
    /// Number of tasks in the runtime's global queue.
    global_queue_depth: Gauge,
}

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct PathLabels {
    path: String,
}

/// The family of `benches/http/target.rs`.
#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct SeriesMetrics {
    /// Requests by path.
    requests: Family<PathLabels, Counter>,
}

/// The seed exporter's registry: its families, the collector's, `tokio_*` and the real
/// `process_*` (read from `/proc` at each scrape, as `app_exporter` does).
fn seed_registry() -> Registry {
    let registry = Registry::new();
    let app = Arc::new(AppMetrics::new());
    app.requests_current.set(12);
    app.requests_pending.set(3);
    app.uptime.set(81_234.5);
    app.health.set(Health::Healthy);
    let collector = Arc::new(CollectorMetrics::new());
    collector.collector_up.set(1);
    for duration in [0.0007, 0.0012, 0.0031, 0.02] {
        collector.collector_duration.observe(duration);
    }
    collector.last_success_timestamp.set(1_795_000_000.25);
    let runtime = Arc::new(RuntimeMetrics::new());
    runtime.workers.set(1);
    runtime.alive_tasks.set(4);
    registry.register(app).unwrap();
    registry.register(collector).unwrap();
    registry.register(runtime).unwrap();
    registry.register(ProcessCollector::new()).unwrap();
    registry
}

fn series_registry(series: u64) -> Registry {
    let registry = Registry::new();
    let metrics = Arc::new(SeriesMetrics::new());
    for i in 0..series {
        let labels = PathLabels {
            path: format!("/api/v1/items/{i}"),
        };
        metrics.requests.get(&labels).inc_by(i * 7);
    }
    registry.register(metrics).unwrap();
    registry
}

/// A scrape as the server answers it: `handle_request` polled to completion (a registry without
/// async collectors is ready at its first poll), the body's bytes returned.
fn scrape(registry: &Registry, gzip: bool) -> hyper::body::Bytes {
    use http_body_util::BodyExt;
    let mut request = hyper::Request::get("/metrics").header("accept", "text/plain");
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let request = request.body(()).unwrap();
    let mut future = std::pin::pin!(promexport::handle_request(registry, &request));
    let Poll::Ready(response) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    else {
        unreachable!("no collector to wait for");
    };
    let mut body = std::pin::pin!(response.into_body().collect());
    match body.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(collected)) => collected.to_bytes(),
        _ => unreachable!("a full body"),
    }
}

/// promexport's gzip before this bench: miniz_oxide at level 1 with a compressor built for the
/// response (what flate2's `GzEncoder::new` did on its default backend; its 32 KB staging buffer
/// left out) and crc32fast's CRC without runtime detection, as promexport was built.
fn old_gzip(text: &[u8]) -> Vec<u8> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(text);
    let mut out = miniz_new(text, 1);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out
}

/// A new `GzEncoder` per response, on the backend flate2 is built with.
fn flate2_new_encoder(text: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(text.len() / 4),
        flate2::Compression::new(level),
    );
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

/// A raw deflate stream compressed with `compress` after a reset, into a buffer sized from the
/// input (as promexport's handler does, minus the gzip framing).
fn flate2_reused(compress: &mut flate2::Compress, text: &[u8]) -> Vec<u8> {
    compress.reset();
    let mut out = Vec::with_capacity(text.len() / 3 + 64);
    loop {
        let rest = &text[compress.total_in() as usize..];
        if out.len() == out.capacity() {
            out.reserve(out.len());
        }
        match compress
            .compress_vec(rest, &mut out, flate2::FlushCompress::Finish)
            .unwrap()
        {
            flate2::Status::StreamEnd => return out,
            _ => out.reserve(out.len()),
        }
    }
}

fn miniz_new(text: &[u8], level: u8) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(text, level)
}

fn miniz_reused(
    compressor: &mut miniz_oxide::deflate::core::CompressorOxide,
    text: &[u8],
) -> Vec<u8> {
    use miniz_oxide::deflate::core::{TDEFLFlush, TDEFLStatus, compress};
    compressor.reset();
    let mut out = vec![0; text.len() + text.len() / 2 + 128];
    let (status, _, written) = compress(compressor, text, &mut out, TDEFLFlush::Finish);
    assert_eq!(status, TDEFLStatus::Done);
    out.truncate(written);
    out
}

fn zlib_rs_new(text: &[u8], level: i32) -> Vec<u8> {
    zlib_rs_reused(&mut zlib_rs::Deflate::new(level, false, 15), text)
}

fn zlib_rs_reused(deflate: &mut zlib_rs::Deflate, text: &[u8]) -> Vec<u8> {
    deflate.reset();
    let mut out = vec![0; text.len() + text.len() / 2 + 128];
    let status = deflate
        .compress(text, &mut out, zlib_rs::DeflateFlush::Finish)
        .unwrap();
    assert_eq!(status, zlib_rs::Status::StreamEnd);
    out.truncate(deflate.total_out() as usize);
    out
}

fn inflate_raw(deflated: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(deflated)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gunzip(gzipped: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gzipped)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn bench_body(c: &mut Criterion, name: &str, registry: &Registry) {
    let text = scrape(registry, false).to_vec();
    let mut group = c.benchmark_group(name);
    group.bench_function("scrape_plain", |b| {
        b.iter(|| scrape(black_box(registry), false))
    });
    group.bench_function("scrape_gzip", |b| {
        b.iter(|| scrape(black_box(registry), true))
    });
    group.bench_function("scrape_gzip_old", |b| {
        b.iter(|| old_gzip(scrape(black_box(registry), false).as_ref()))
    });
    group.bench_function("scrape_gzip_new_encoder", |b| {
        b.iter(|| flate2_new_encoder(scrape(black_box(registry), false).as_ref(), 1))
    });
    group.bench_function("crc32_flate2", |b| {
        b.iter(|| {
            let mut crc = flate2::Crc::new();
            crc.update(black_box(&text));
            crc.sum()
        })
    });
    group.bench_function("crc32_old", |b| {
        b.iter(|| {
            let mut crc = crc32fast::Hasher::new();
            crc.update(black_box(&text));
            crc.finalize()
        })
    });
    // The compression alone, on the plain exposition.
    group.bench_function("flate2_new_encoder_l1", |b| {
        b.iter(|| flate2_new_encoder(black_box(&text), 1))
    });
    for level in [1, 6] {
        let mut compress = flate2::Compress::new(flate2::Compression::new(level), false);
        group.bench_function(format!("flate2_reused_l{level}"), |b| {
            b.iter(|| flate2_reused(&mut compress, black_box(&text)))
        });
    }
    group.bench_function("miniz_new_l1", |b| {
        b.iter(|| miniz_new(black_box(&text), 1))
    });
    for level in [1, 6] {
        let mut compressor = miniz_compressor(level);
        group.bench_function(format!("miniz_reused_l{level}"), |b| {
            b.iter(|| miniz_reused(&mut compressor, black_box(&text)))
        });
    }
    group.bench_function("zlib_rs_new_l1", |b| {
        b.iter(|| zlib_rs_new(black_box(&text), 1))
    });
    for level in [1, 2, 6] {
        let mut deflate = zlib_rs::Deflate::new(level, false, 15);
        group.bench_function(format!("zlib_rs_reused_l{level}"), |b| {
            b.iter(|| zlib_rs_reused(&mut deflate, black_box(&text)))
        });
    }
    group.finish();
}

fn miniz_compressor(level: u8) -> miniz_oxide::deflate::core::CompressorOxide {
    use miniz_oxide::deflate::core::{CompressorOxide, create_comp_flags_from_zip_params};
    // Negative window bits: a raw deflate stream.
    CompressorOxide::new(create_comp_flags_from_zip_params(level.into(), -15, 0))
}

fn gzip_seed(c: &mut Criterion) {
    bench_body(c, "gzip_seed", &seed_registry());
}

fn gzip_1k(c: &mut Criterion) {
    bench_body(c, "gzip_1k", &series_registry(1_000));
}

criterion_group!(benches, gzip_seed, gzip_1k);

/// Every variant decodes to the exposition; prints the sizes.
fn check() {
    for (name, registry) in [("seed", seed_registry()), ("1k", series_registry(1_000))] {
        let text = scrape(&registry, false).to_vec();
        let served = scrape(&registry, true);
        // The process' CPU time moves between scrapes: compare everything but `process_*`.
        let stable = |text: &[u8]| -> String {
            String::from_utf8(text.to_vec())
                .unwrap()
                .lines()
                .filter(|line| !line.starts_with("process_"))
                .collect()
        };
        assert_eq!(
            stable(&gunzip(&served)),
            stable(&text),
            "{name}: served gzip"
        );
        let mut sizes = format!(
            "{name}: plain {} B, served gzip {} B",
            text.len(),
            served.len()
        );
        for level in [1, 2, 6] {
            let old = flate2_new_encoder(&text, level);
            assert_eq!(gunzip(&old), text);
            let mut compress = flate2::Compress::new(flate2::Compression::new(level), false);
            let reused = flate2_reused(&mut compress, &text);
            assert_eq!(inflate_raw(&reused), text);
            let miniz = miniz_reused(&mut miniz_compressor(level as u8), &text);
            assert_eq!(inflate_raw(&miniz), text);
            let zlib = zlib_rs_reused(&mut zlib_rs::Deflate::new(level as i32, false, 15), &text);
            assert_eq!(inflate_raw(&zlib), text);
            sizes += &format!(
                "; level {level}: flate2 {} B, miniz_oxide {} B, zlib-rs {} B (deflate only), old {} B",
                reused.len(),
                miniz.len(),
                zlib.len(),
                old_gzip(&text).len()
            );
        }
        eprintln!("{sizes}");
    }
}

fn main() {
    check();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
