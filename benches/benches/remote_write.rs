//! Remote write: one request of 10,000 series (a counter family of 10,000 label values), walked
//! from the registry, encoded as protobuf and snappy-compressed, in remote write 1.0 and 2.0;
//! `main` prints each body's size before measuring.
//!
//! Run with `cargo bench -p promexport-benches --bench remote_write`.

use criterion::{Criterion, criterion_group};
use promexport::remote_write::{Protocol, encode_request};
use promexport::{Counter, Family, LabelSet, Metrics, Registry};
use std::hint::black_box;
use std::sync::Arc;

const SERIES: usize = 10_000;
const TIMESTAMP_MS: i64 = 1_700_000_000_000;
const EXTERNAL: &[(&str, &str)] = &[("instance", "edge-17"), ("job", "bench")];

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Device {
    device: String,
    zone: String,
}

#[derive(Metrics)]
#[metrics(prefix = "fleet", no_global)]
struct FleetMetrics {
    /// Frames processed, by device.
    #[metric(max_series = 20000)]
    frames: Family<Device, Counter>,
}

fn registry() -> Registry {
    let registry = Registry::new();
    let metrics = Arc::new(FleetMetrics::new());
    registry.register(metrics.clone()).unwrap();
    for i in 0..SERIES {
        let device = Device {
            device: format!("device-{i:05}"),
            zone: format!("zone-{}", i % 16),
        };
        metrics.frames.get(&device).inc_by(i as u64 * 7);
    }
    registry
}

fn bench(c: &mut Criterion) {
    let registry = registry();
    let mut group = c.benchmark_group("remote_write_10k_series");
    for (name, protocol) in [("v1", Protocol::V1), ("v2", Protocol::V2)] {
        group.bench_function(name, |b| {
            b.iter(|| encode_request(black_box(&registry), protocol, TIMESTAMP_MS, EXTERNAL))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    let registry = registry();
    for (name, protocol) in [("v1", Protocol::V1), ("v2", Protocol::V2)] {
        let body = encode_request(&registry, protocol, TIMESTAMP_MS, EXTERNAL).unwrap();
        println!(
            "remote write {name}: {SERIES} series, {} bytes compressed",
            body.len()
        );
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
