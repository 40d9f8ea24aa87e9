//! Scrapes of the `protobuf` bench's 10,000 counter series in a loop, for callgrind's
//! instruction counts (stable where criterion's times are not): `encode_loop <scrapes>
//! [text|openmetrics|protobuf] [gzip]`; run it with 1 and with N + 1 scrapes and divide the
//! difference by 10,000 N for the instructions a series (see `benches/README.md`). With `gzip`
//! each scrape is a whole `handle_request`, negotiated from the `Accept` Prometheus sends for
//! that format, encoded and gzipped.

mod common;

use common::{StringLabels, labelled_series};
use promexport::{Counter, Family, Format, Metrics, Registry};
use std::hint::black_box;
use std::sync::Arc;

#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct EncodeMetrics {
    /// Requests served.
    requests: Family<StringLabels, Counter>,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let scrapes: usize = args.next().and_then(|arg| arg.parse().ok()).unwrap_or(1);
    let (format, accept) = match args.next().as_deref() {
        Some("protobuf") => (Format::Protobuf, common::PROMETHEUS_3_ACCEPT),
        Some("openmetrics") => (Format::OpenMetrics, common::OPENMETRICS_ACCEPT),
        _ => (Format::Text, "text/plain;version=0.0.4"),
    };
    let gzip = args.next().as_deref() == Some("gzip");
    let metrics = Arc::new(EncodeMetrics::new());
    let registry = Registry::new();
    registry.register(metrics.clone()).unwrap();
    for i in 0..10_000 {
        let (labels, value) = labelled_series(i);
        metrics.requests.get(&labels).inc_by(value);
    }
    let mut out = Vec::new();
    for _ in 0..scrapes {
        if gzip {
            let body = common::scrape_body(black_box(&registry), Some(accept), true);
            out.clear();
            out.extend_from_slice(&body);
        } else {
            out.clear();
            registry.encode(format, black_box(&mut out));
        }
    }
    println!("{} bytes", out.len());
}
