//! Creating new series: 1,000 label sets with two string labels, each new to its family,
//! promexport next to prometheus-client (`get_or_create`). It uses only `Family::get`, so the
//! same file builds against promexport before series could be removed: copy it and `common/`
//! onto an older checkout to compare the two in one run (see `benches/README.md`).
//!
//! Run with `cargo bench -p promexport-benches --bench series_create`.

mod common;

use common::{PcFamily, StringLabels, distinct_label_sets};
use criterion::{BatchSize, Criterion, criterion_group};
use promexport::{Counter, Family, MetricConfig};
use std::hint::black_box;

const NEW_SERIES: usize = 1_000;

fn promexport_family() -> Family<StringLabels, Counter> {
    Family::new(&MetricConfig {
        max_series: Some(NEW_SERIES),
        ..MetricConfig::DEFAULT
    })
}

/// Time per new series: each iteration creates `NEW_SERIES` in an empty family (built, and
/// dropped, outside the measurement).
fn series_create(c: &mut Criterion) {
    let labels = distinct_label_sets(NEW_SERIES);
    let mut group = c.benchmark_group("series_create");
    group.throughput(criterion::Throughput::Elements(NEW_SERIES as u64));
    group.bench_function("promexport", |b| {
        b.iter_batched(
            promexport_family,
            |family| {
                for labels in &labels {
                    family.get(black_box(labels)).inc();
                }
                family
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("prometheus_client", |b| {
        b.iter_batched(
            PcFamily::default,
            |family| {
                for labels in &labels {
                    family.get_or_create(black_box(labels)).inc();
                }
                family
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, series_create);

/// Every variant creates what it should before anything is measured.
fn check() {
    let labels = distinct_label_sets(NEW_SERIES);
    let family = promexport_family();
    let pc = PcFamily::default();
    for labels in &labels {
        family.get(labels).inc();
        pc.get_or_create(labels).inc();
    }
    assert_eq!(family.len(), NEW_SERIES);
    assert_eq!(pc.get_or_create(&labels[7]).get(), 1);
    assert_eq!(family.get(&labels[7]).get(), 1);
}

fn main() {
    check();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
