//! One observation into a native histogram: promexport's (lock-free, two atomic
//! read-modify-writes as its classic `Histogram`) against that classic `Histogram`,
//! prometheus-client's native histogram (behind a `Mutex`) and
//! metrics-exporter-prometheus' (whose handles queue observations for the scrape to bucket),
//! on one thread and on two threads observing the same histogram.
//!
//! All with factor 1.1 (schema 3) and at most 160 buckets, on the same eight values (a few
//! milliseconds to a few seconds), so every bucket exists after the warm-up.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};

const OBSERVATIONS: [f64; 8] = [0.003, 0.012, 0.027, 0.061, 0.14, 0.33, 0.9, 2.4];

fn options() -> promexport::NativeHistogramOptions {
    promexport::NativeHistogramOptions {
        factor: 1.1,
        max_buckets: 160,
        ..promexport::NativeHistogramOptions::DEFAULT
    }
}

/// Runs `observe` `iterations` times on each of `threads` threads at once; the time until the
/// last finishes.
fn on_threads(threads: usize, iterations: u64, observe: &(impl Fn(f64) + Sync)) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for thread in 0..threads {
            scope.spawn(move || {
                let mut i = thread;
                for _ in 0..iterations {
                    i = (i + 1) & 7;
                    observe(black_box(OBSERVATIONS[i]));
                }
            });
        }
    });
    start.elapsed()
}

fn bench_all(c: &mut Criterion, threads: usize) {
    let mut group = c.benchmark_group(format!("native_observe/{threads}_threads"));

    let native = promexport::NativeHistogram::new(options()).unwrap();
    group.bench_function("promexport_native", |b| {
        b.iter_custom(|iterations| on_threads(threads, iterations, &|v| native.observe(v)))
    });

    let classic = promexport::Histogram::default();
    group.bench_function("promexport_classic", |b| {
        b.iter_custom(|iterations| on_threads(threads, iterations, &|v| classic.observe(v)))
    });

    use prometheus_client_latest::metrics::histogram::{Histogram, NativeHistogramConfig};
    let pc = Histogram::new_native(NativeHistogramConfig::new(1.1).max_buckets(160));
    group.bench_function("prometheus_client_native", |b| {
        b.iter_custom(|iterations| on_threads(threads, iterations, &|v| pc.observe(v)))
    });

    let config = metrics_exporter_prometheus::NativeHistogramConfig::new(
        1.1,
        160,
        promexport::DEFAULT_ZERO_THRESHOLD,
    )
    .unwrap();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_native_histogram_for_metric(
            metrics_exporter_prometheus::Matcher::Full("bench_latency_seconds".to_owned()),
            config,
        )
        .build_recorder();
    let handle = recorder.handle();
    let histogram =
        metrics::with_local_recorder(&recorder, || metrics::histogram!("bench_latency_seconds"));
    group.bench_function("metrics_exporter_prometheus_native", |b| {
        b.iter_custom(|iterations| {
            let elapsed = on_threads(threads, iterations, &|v| histogram.record(v));
            // Its observations wait in a queue until a scrape buckets them: drain it outside
            // the timing so memory stays bounded.
            drop(black_box(handle.render()));
            elapsed
        })
    });
    group.finish();
}

fn native_observe(c: &mut Criterion) {
    bench_all(c, 1);
    bench_all(c, 2);
}

criterion_group!(benches, native_observe);
criterion_main!(benches);
