//! Summary observe: promexport's against client_golang's (benches/go/summary, run back to back
//! by `benches/summary/run.sh`), with the same objectives and values, on 1 and 2 threads.
//!
//! Run with `benches/summary/run.sh`, or `cargo bench -p promexport-benches --bench summary`
//! for the Rust side alone; see `benches/README.md`.

use criterion::{Criterion, criterion_group, criterion_main};
use promexport::{Summary, SummaryOptions};
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The objectives of the Go bench.
const OBJECTIVES: &[(f64, f64)] = &[(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)];

/// Observations cycle through 1024 values in [0, 1), as in the Go bench.
fn value(i: u64) -> f64 {
    ((i * 7919) % 1024) as f64 / 1024.0
}

fn summary(objectives: &'static [(f64, f64)]) -> Summary {
    Summary::new(&SummaryOptions {
        objectives,
        ..SummaryOptions::DEFAULT
    })
    .expect("valid objectives")
}

/// `iterations` observations on each of `threads` threads; the time per observation.
fn observe_on_threads(summary: &Summary, threads: u64, iterations: u64) -> Duration {
    let start = Barrier::new(threads as usize + 1);
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let (summary, start) = (summary, &start);
            scope.spawn(move || {
                start.wait();
                let first = thread << 32;
                for i in first..first + iterations {
                    summary.observe(black_box(value(i)));
                }
            });
        }
        start.wait();
        // Read once the scope has waited for every thread.
        Instant::now()
    })
    .elapsed()
        / threads as u32
}

fn observe(c: &mut Criterion) {
    let mut group = c.benchmark_group("summary_observe");
    let with_objectives = summary(OBJECTIVES);
    let mut i = 0;
    group.bench_function("promexport/1_thread", |b| {
        b.iter(|| {
            i += 1;
            with_objectives.observe(black_box(value(i)));
        })
    });
    let count_and_sum = summary(&[]);
    group.bench_function("promexport/no_objectives", |b| {
        b.iter(|| {
            i += 1;
            count_and_sum.observe(black_box(value(i)));
        })
    });
    group.bench_function("promexport/2_threads", |b| {
        b.iter_custom(|iterations| observe_on_threads(&with_objectives, 2, iterations))
    });
    group.finish();
}

criterion_group!(benches, observe);
criterion_main!(benches);
