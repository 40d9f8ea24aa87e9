//! Cost of one call of an empty function, bare and instrumented by `#[promexport::instrument]`,
//! autometrics' `#[autometrics]` and metered's `#[measure]`, next to the cost of the clock
//! reads that every one of them needs.
//!
//! Run with `cargo bench -p promexport-benches --bench instrument`; see `benches/README.md`.
//!
//! Every instrumented function records what promexport records: the call (a counter), its
//! duration (a histogram) and the calls in flight (a gauge). `main` checks, before measuring,
//! that each of them did record a call.

use criterion::{Criterion, criterion_group};
use metered::{HitCount, InFlight, ResponseTime};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// The functions measured: the same body (`black_box(1)`), never inlined into the benchmark loop.

#[inline(never)]
fn bare_sync() -> u64 {
    black_box(1)
}

#[inline(never)]
#[promexport::instrument]
fn promexport_sync() -> u64 {
    black_box(1)
}

#[inline(never)]
#[autometrics::autometrics]
fn autometrics_sync() -> u64 {
    black_box(1)
}

#[inline(never)]
async fn bare_async() -> u64 {
    black_box(1)
}

#[inline(never)]
#[promexport::instrument]
async fn promexport_async() -> u64 {
    black_box(1)
}

#[inline(never)]
#[autometrics::autometrics]
async fn autometrics_async() -> u64 {
    black_box(1)
}

/// metered keeps its metrics in a registry struct that the annotated impl block generates
/// (`MeteredMetrics`, one sub-registry per method) and reaches through `self.metrics`.
/// `ErrorCount` is left out: it only applies to functions returning a `Result`.
#[derive(Default, Debug)]
struct Metered {
    metrics: MeteredMetrics,
}

#[metered::metered(registry = MeteredMetrics)]
impl Metered {
    #[inline(never)]
    #[measure([HitCount, ResponseTime, InFlight])]
    fn metered_sync(&self) -> u64 {
        black_box(1)
    }

    #[inline(never)]
    #[measure([HitCount, ResponseTime, InFlight])]
    async fn metered_async(&self) -> u64 {
        black_box(1)
    }
}

/// Runs a future that completes on its first poll: one poll with a no-op waker, so the
/// "executor" costs a `Context` on the stack and nothing else.
#[inline(always)]
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the benchmarked futures never wait"),
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmarks: one group per case, its variants side by side.

/// Two reads of each clock and their difference: the floor under any duration measurement.
fn clock(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock_pair");
    group.bench_function("std_instant", |b| {
        b.iter(|| {
            let start = Instant::now();
            black_box(start.elapsed())
        });
    });
    let clock = quanta::Clock::new();
    group.bench_function("quanta_clock_now", |b| {
        b.iter(|| {
            let start = clock.now();
            black_box(clock.now() - start)
        });
    });
    group.bench_function("quanta_instant", |b| {
        b.iter(|| {
            let start = quanta::Instant::now();
            black_box(start.elapsed())
        });
    });
    // Raw counter reads, scaled to nanoseconds once: what a recorder that converts only when
    // it observes would pay.
    group.bench_function("quanta_clock_raw", |b| {
        b.iter(|| {
            let start = clock.raw();
            black_box(clock.delta_as_nanos(start, clock.raw()))
        });
    });
    group.finish();
}

fn sync(c: &mut Criterion) {
    let metered = Metered::default();
    let mut group = c.benchmark_group("sync_fn");
    group.bench_function("bare", |b| b.iter(bare_sync));
    group.bench_function("promexport", |b| b.iter(promexport_sync));
    group.bench_function("autometrics", |b| b.iter(autometrics_sync));
    group.bench_function("metered", |b| b.iter(|| metered.metered_sync()));
    group.finish();
}

fn async_(c: &mut Criterion) {
    let metered = Metered::default();
    let mut group = c.benchmark_group("async_fn");
    group.bench_function("bare", |b| b.iter(|| poll_once(bare_async())));
    group.bench_function("promexport", |b| b.iter(|| poll_once(promexport_async())));
    group.bench_function("autometrics", |b| b.iter(|| poll_once(autometrics_async())));
    group.bench_function("metered", |b| b.iter(|| poll_once(metered.metered_async())));
    group.finish();
}

criterion_group!(benches, clock, sync, async_);

// ---------------------------------------------------------------------------------------------
// Before measuring: every instrumented function records its calls.

/// The value of the sample of `text` whose line starts with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

fn check_recording() {
    let autometrics = autometrics::settings::AutometricsSettings::builder().init();
    let metered = Metered::default();

    assert_eq!(promexport_sync(), 1);
    assert_eq!(poll_once(promexport_async()), 1);
    assert_eq!(autometrics_sync(), 1);
    assert_eq!(poll_once(autometrics_async()), 1);
    assert_eq!(metered.metered_sync(), 1);
    assert_eq!(poll_once(metered.metered_async()), 1);

    let text = promexport::render(promexport::Format::Text);
    for function in ["promexport_sync", "promexport_async"] {
        let labels = format!(r#"{{function="{function}","#);
        for metric in [
            "function_calls_total",
            "function_calls_duration_seconds_count",
        ] {
            let value = sample(&text, &format!("{metric}{labels}"));
            assert_eq!(value, Some(1.0), "promexport: {metric} of {function}");
        }
        let value = sample(&text, &format!("function_calls_concurrent{labels}"));
        assert_eq!(value, Some(0.0), "promexport: in flight of {function}");
    }

    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, autometrics.prometheus_client_registry())
        .expect("autometrics' registry encodes");
    for function in ["autometrics_sync", "autometrics_async"] {
        for metric in [
            "function_calls_total",
            "function_calls_duration_seconds_count",
        ] {
            let value = text
                .lines()
                .filter(|line| {
                    line.starts_with(&format!("{metric}{{"))
                        && line.contains(&format!(r#"function="{function}""#))
                })
                .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>();
            assert_eq!(value, 1.0, "autometrics: {metric} of {function}\n{text}");
        }
    }

    let registry = &metered.metrics;
    assert_eq!(registry.metered_sync.hit_count.get(), 1);
    assert_eq!(registry.metered_sync.response_time.histogram().len(), 1);
    assert_eq!(registry.metered_sync.in_flight.get(), 0);
    assert_eq!(registry.metered_async.hit_count.get(), 1);
    assert_eq!(registry.metered_async.response_time.histogram().len(), 1);
    assert_eq!(registry.metered_async.in_flight.get(), 0);
}

fn main() {
    check_recording();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
