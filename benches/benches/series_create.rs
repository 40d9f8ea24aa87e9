//! Creating new series: 1,000 label sets with two string labels, each new to its family,
//! promexport next to prometheus-client (`get_or_create`). It uses only `Family::get`, so the
//! same file builds against promexport before series could be removed: copy it onto an older
//! checkout to compare the two in one run (see `benches/README.md`).
//!
//! Run with `cargo bench -p promexport-benches --bench series_create`.

use criterion::{BatchSize, Criterion, criterion_group};
use prometheus_client_latest as prometheus_client;
use promexport::{Counter, Family, LabelSet, MetricConfig};
use std::hint::black_box;

const NEW_SERIES: usize = 1_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct StringLabels {
    method: String,
    path: String,
}

impl prometheus_client::encoding::EncodeLabelSet for StringLabels {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelSetEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::{EncodeLabelKey, EncodeLabelValue};
        for (key, value) in [("method", &self.method), ("path", &self.path)] {
            let mut label = encoder.encode_label();
            let mut key_encoder = label.encode_label_key()?;
            EncodeLabelKey::encode(&key, &mut key_encoder)?;
            let mut value_encoder = key_encoder.encode_label_value()?;
            EncodeLabelValue::encode(&value.as_str(), &mut value_encoder)?;
            value_encoder.finish()?;
        }
        Ok(())
    }
}

fn label_sets() -> Vec<StringLabels> {
    (0..NEW_SERIES)
        .map(|i| StringLabels {
            method: ["get", "post"][i % 2].to_owned(),
            path: format!("/api/v1/items/{i}"),
        })
        .collect()
}

fn promexport_family() -> Family<StringLabels, Counter> {
    Family::new(&MetricConfig {
        max_series: Some(NEW_SERIES),
        ..MetricConfig::DEFAULT
    })
}

type PcFamily = prometheus_client::metrics::family::Family<
    StringLabels,
    prometheus_client::metrics::counter::Counter,
>;

/// Time per new series: each iteration creates `NEW_SERIES` in an empty family (built, and
/// dropped, outside the measurement).
fn series_create(c: &mut Criterion) {
    let labels = label_sets();
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
    let labels = label_sets();
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
