//! The series several benches build alike: a family over two string labels, `method` and `path`,
//! as promexport and prometheus-client 0.26 take them, and the label values of its series.
//!
//! Each bench includes this file with `mod common;` and uses part of it. It uses only the
//! `LabelSet` derive of promexport, so a bench that includes it still builds against an older
//! checkout when copied there together with it.

// Each bench is its own crate and leaves unused what only the others need.
#![allow(dead_code)]

use prometheus_client_latest as prometheus_client;
use promexport::LabelSet;

/// The `method` of series `i` is `HTTP_METHODS[i % 4]` in the 4-methods shape of [`series`].
pub const HTTP_METHODS: [&str; 4] = ["get", "post", "put", "delete"];

/// Two open labels, as promexport and prometheus-client look them up.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
pub struct StringLabels {
    pub method: String,
    pub path: String,
}

// prometheus-client's derive names `::prometheus_client`, which is its 0.22 release in this crate;
// this is what it generates, for 0.26.
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

/// prometheus-client's counter family over [`StringLabels`].
pub type PcFamily = prometheus_client::metrics::family::Family<
    StringLabels,
    prometheus_client::metrics::counter::Counter,
>;

/// `n` label sets, each its own series: `method` alternately `get` and `post`, `path`
/// `/api/v1/items/{i}`.
pub fn distinct_label_sets(n: usize) -> Vec<StringLabels> {
    (0..n)
        .map(|i| StringLabels {
            method: ["get", "post"][i % 2].to_owned(),
            path: format!("/api/v1/items/{i}"),
        })
        .collect()
}

/// The labels and value of series `i` of a family of 4 methods × N/4 paths (`method` one of
/// [`HTTP_METHODS`], `path` `/api/v1/items/{i / 4}`), at `7 i`.
pub fn series(i: usize) -> (&'static str, String, u64) {
    (
        HTTP_METHODS[i % HTTP_METHODS.len()],
        format!("/api/v1/items/{}", i / HTTP_METHODS.len()),
        i as u64 * 7,
    )
}

/// Series `i` of [`series`] as the label struct, and its value.
pub fn labelled_series(i: usize) -> (StringLabels, u64) {
    let (method, path, value) = series(i);
    let labels = StringLabels {
        method: method.to_owned(),
        path,
    };
    (labels, value)
}

/// The body `handle_request` answers a `GET /metrics` with, polled to completion (a registry
/// without collectors is ready at its first poll): encoded whole, then gzipped when `gzip`, as
/// the server does for a scrape it does not stream. `accept` is the request's `Accept`.
pub fn scrape_body(
    registry: &promexport::Registry,
    accept: Option<&str>,
    gzip: bool,
) -> hyper::body::Bytes {
    use std::future::Future as _;
    let mut request = hyper::Request::get("/metrics");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let request = request.body(()).unwrap();
    let mut future = std::pin::pin!(promexport::handle_request(registry, &request));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(response) => {
            let body = response.into_body();
            let mut body = std::pin::pin!(body);
            match hyper::body::Body::poll_frame(body.as_mut(), &mut context) {
                std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap(),
                _ => panic!("a whole body"),
            }
        }
        std::task::Poll::Pending => panic!("a registry without collectors answers at once"),
    }
}

/// What Prometheus 3.14 sends (protobuf first when a scrape config allows it).
pub const PROMETHEUS_3_ACCEPT: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
/// What Prometheus 2 sends without protobuf scraping.
pub const OPENMETRICS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// tikv's text exposition of `registry`, as its users serve it.
pub fn tikv_text(registry: &prometheus::Registry) -> String {
    let mut out = String::new();
    prometheus::TextEncoder::new()
        .encode_utf8(&registry.gather(), &mut out)
        .unwrap();
    out
}

/// prometheus-client's exposition of `registry` (OpenMetrics text).
pub fn pc_text(registry: &prometheus_client::registry::Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
    out
}
