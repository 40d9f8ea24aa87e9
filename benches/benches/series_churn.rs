//! Series that come and go: removing a series and creating it again, promexport's `remove` +
//! `get` next to prometheus-client's `remove` + `get_or_create`, in a family of 1,000 series;
//! and an existing series found by borrowed `&str` labels (`BorrowedLabels`), next to the owned
//! lookup of `metrics.rs`' `labelled_string_inc`.
//!
//! Run with `cargo bench -p promexport-benches --bench series_churn`.

mod common;

use common::{PcFamily, StringLabels, distinct_label_sets};
use criterion::{Criterion, criterion_group};
use promexport::{BorrowedLabels, Counter, Family, MetricConfig};
use std::borrow::Cow;
use std::hint::black_box;

const SERIES: usize = 1_000;

/// `StringLabels` borrowed: hashes like it (`&str` hashes like `String`).
#[derive(Hash)]
struct StringLabelsRef<'a> {
    method: &'a str,
    path: &'a str,
}

impl BorrowedLabels<StringLabels> for StringLabelsRef<'_> {
    fn matches(&self, owned: &StringLabels) -> bool {
        self.method == owned.method && self.path == owned.path
    }
    fn to_label_set(&self) -> Cow<'_, StringLabels> {
        Cow::Owned(StringLabels {
            method: self.method.to_owned(),
            path: self.path.to_owned(),
        })
    }
}

fn filled() -> (Vec<StringLabels>, Family<StringLabels, Counter>, PcFamily) {
    let labels = distinct_label_sets(SERIES);
    let family: Family<StringLabels, Counter> = Family::new(&MetricConfig {
        max_series: Some(SERIES),
        ..MetricConfig::DEFAULT
    });
    let pc = PcFamily::default();
    for labels in &labels {
        family.get(labels).inc();
        pc.get_or_create(labels).inc();
    }
    (labels, family, pc)
}

/// One removal and one re-creation per iteration, cycling through the label sets.
fn series_remove_recreate(c: &mut Criterion) {
    let (labels, family, pc) = filled();
    let mut group = c.benchmark_group("series_remove_recreate");
    let mut next = labels.iter().cycle();
    group.bench_function("promexport", |b| {
        b.iter(|| {
            let labels = black_box(next.next().unwrap());
            family.remove(labels);
            family.get(labels).inc();
        })
    });
    let mut next = labels.iter().cycle();
    group.bench_function("prometheus_client", |b| {
        b.iter(|| {
            let labels = black_box(next.next().unwrap());
            pc.remove(labels);
            pc.get_or_create(labels).inc();
        })
    });
    group.finish();
}

/// An existing series: by owned labels, and by `&str` labels borrowed from elsewhere.
fn labelled_string_inc_borrowed(c: &mut Criterion) {
    let (labels, family, _) = filled();
    let labels = &labels[42];
    let mut group = c.benchmark_group("labelled_string_inc_borrowed");
    group.bench_function("promexport_owned", |b| {
        b.iter(|| family.get(black_box(labels)).inc())
    });
    group.bench_function("promexport_borrowed", |b| {
        b.iter(|| {
            let labels = black_box(labels);
            family
                .get(&StringLabelsRef {
                    method: &labels.method,
                    path: &labels.path,
                })
                .inc()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    series_remove_recreate,
    labelled_string_inc_borrowed
);

/// Every variant does what it says before anything is measured.
fn check() {
    let (labels, family, pc) = filled();
    assert!(family.remove(&labels[3]));
    assert!(pc.remove(&labels[3]));
    assert_eq!(family.len(), SERIES - 1);
    assert_eq!(family.get(&labels[3]).get(), 0, "re-created at zero");
    assert_eq!(pc.get_or_create(&labels[3]).get(), 0);
    let borrowed = StringLabelsRef {
        method: &labels[5].method,
        path: &labels[5].path,
    };
    family.get(&borrowed).inc();
    assert_eq!(
        family.get(&labels[5]).get(),
        2,
        "the same series by either form"
    );
    assert_eq!(family.len(), SERIES);
}

fn main() {
    check();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
