//! Protobuf encoding of 10,000 labelled counter series (the `encode_10k` series of the `metrics`
//! bench): promexport's protobuf against prometheus-client's (`prometheus_protobuf`, prost), and
//! promexport's text 0.0.4 of the same series beside them, in one run.
//!
//! Run with `cargo bench -p promexport-benches --bench protobuf`; see `benches/README.md`.
//!
//! tikv's `prometheus::ProtobufEncoder` is not here: its `protobuf` feature, enabled for this
//! crate, would be unified into the `prometheus` that promexport's `prometheus-interop` builds
//! with, replacing the plain data model that promexport's foreign collectors read.
//!
//! `*_gzip`: a whole scrape as `handle_request` answers it, negotiated from what Prometheus
//! sends, encoded and gzipped (what a user pays per scrape).
//!
//! `main` checks, before measuring, that both protobuf outputs decode (with prost) to the same
//! 10,000 series, and prints each body's size.

mod common;

use common::{StringLabels, series};
use criterion::{Criterion, criterion_group};
use prometheus_client_latest::encoding::prometheus_protobuf::{
    encode_to_vec, prometheus_data_model::MetricFamily,
};
use promexport::{Counter, Family, Format, Metrics, Registry};
use prost::Message;
use std::io::Read as _;
use std::sync::Arc;

const SERIES: usize = 10_000;

#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct EncodeMetrics {
    /// Requests served.
    requests: Family<StringLabels, Counter>,
}

type PcFamily = prometheus_client_latest::metrics::family::Family<
    Vec<(String, String)>,
    prometheus_client_latest::metrics::counter::Counter,
>;

struct Fixtures {
    promexport: Registry,
    pc: prometheus_client_latest::registry::Registry,
}

impl Fixtures {
    fn new() -> Self {
        let metrics = Arc::new(EncodeMetrics::new());
        let promexport = Registry::new();
        promexport.register(metrics.clone()).unwrap();
        let pc_family = PcFamily::default();
        let mut pc = prometheus_client_latest::registry::Registry::default();
        pc.register("bench_requests", "Requests served.", pc_family.clone());
        for i in 0..SERIES {
            let (method, path, value) = series(i);
            let labels = StringLabels {
                method: method.to_owned(),
                path: path.clone(),
            };
            metrics.requests.get(&labels).inc_by(value);
            let labels = vec![
                ("method".to_owned(), method.to_owned()),
                ("path".to_owned(), path),
            ];
            pc_family.get_or_create(&labels).inc_by(value);
        }
        Fixtures { promexport, pc }
    }

    fn pc_protobuf(&self) -> Vec<u8> {
        encode_to_vec(&self.pc).unwrap_or_default()
    }
}

/// The series of `bench_requests_total` in a delimited protobuf exposition, as
/// `(method, path, value)`, sorted.
fn decoded_series(mut exposition: &[u8]) -> Vec<(String, String, u64)> {
    let mut series = Vec::new();
    while !exposition.is_empty() {
        let family =
            MetricFamily::decode_length_delimited(&mut exposition).expect("delimited MetricFamily");
        if family.name != "bench_requests_total" {
            continue;
        }
        for metric in family.metric {
            let label = |name: &str| {
                metric
                    .label
                    .iter()
                    .find(|pair| pair.name == name)
                    .map(|pair| pair.value.clone())
                    .unwrap_or_default()
            };
            let value = metric.counter.as_ref().map_or(f64::NAN, |c| c.value);
            series.push((label("method"), label("path"), value as u64));
        }
    }
    series.sort();
    series
}

fn check(fixtures: &Fixtures) {
    let promexport = fixtures.promexport.render_bytes(Format::Protobuf);
    let pc = fixtures.pc_protobuf();
    let ours = decoded_series(&promexport);
    assert_eq!(ours.len(), SERIES, "promexport's protobuf has every series");
    assert_eq!(
        ours,
        decoded_series(&pc),
        "both protobuf expositions hold the same series"
    );
    let text = fixtures.promexport.render_bytes(Format::Text);
    println!(
        "10,000 series: promexport protobuf {} B, prometheus-client protobuf {} B, promexport text {} B",
        promexport.len(),
        pc.len(),
        text.len()
    );
    let gzipped = |accept| common::scrape_body(&fixtures.promexport, Some(accept), true).len();
    let mut gunzipped = Vec::new();
    let body = common::scrape_body(
        &fixtures.promexport,
        Some(common::PROMETHEUS_3_ACCEPT),
        true,
    );
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut gunzipped)
        .expect("a gzip body");
    assert_eq!(gunzipped, promexport, "Prometheus 3's Accept gets protobuf");
    println!(
        "gzipped: protobuf {} B, OpenMetrics {} B, text {} B",
        gzipped(common::PROMETHEUS_3_ACCEPT),
        gzipped(common::OPENMETRICS_ACCEPT),
        gzipped("text/plain;version=0.0.4")
    );
}

fn encode_10k_protobuf(c: &mut Criterion) {
    let fixtures = Fixtures::new();
    check(&fixtures);
    let mut group = c.benchmark_group("encode_10k_protobuf");
    group.sample_size(20);
    // Into a buffer kept across scrapes, as the server does (its size is reserved once).
    let mut buffer = Vec::new();
    group.bench_function("promexport_protobuf", |b| {
        b.iter(|| {
            buffer.clear();
            fixtures.promexport.encode(Format::Protobuf, &mut buffer);
            buffer.len()
        })
    });
    group.bench_function("promexport_text", |b| {
        b.iter(|| {
            buffer.clear();
            fixtures.promexport.encode(Format::Text, &mut buffer);
            buffer.len()
        })
    });
    group.bench_function("prometheus_client_protobuf", |b| {
        b.iter(|| fixtures.pc_protobuf())
    });
    // What a scrape costs as Prometheus asks for it: negotiated, encoded and gzipped by
    // `handle_request`. Prometheus 3 asks for protobuf first; without native histograms it is
    // OpenMetrics; text 0.0.4 is what older scrapers take.
    for (case, accept) in [
        ("promexport_protobuf_gzip", common::PROMETHEUS_3_ACCEPT),
        ("promexport_openmetrics_gzip", common::OPENMETRICS_ACCEPT),
        ("promexport_text_gzip", "text/plain;version=0.0.4"),
    ] {
        group.bench_function(case, |b| {
            b.iter(|| common::scrape_body(&fixtures.promexport, Some(accept), true).len())
        });
    }
    group.finish();
}

criterion_group!(benches, encode_10k_protobuf);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
