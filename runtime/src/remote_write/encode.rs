//! Remote write request bodies: `prometheus.WriteRequest` (1.0) and
//! `io.prometheus.write.v2.Request` (2.0), snappy-compressed (block format).

use super::series::{Collection, FamilyMetadata, NativeHistogram, Point, Series};
use crate::MetricKind;
use crate::protobuf_wire::{
    begin, double_field, end, int64_field, sint64_field, string_field, uint64_field, varint, zigzag,
};
use std::collections::HashMap;

/// Which remote write protocol an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// Remote write 1.0: `prometheus.WriteRequest`, which every receiver accepts.
    #[default]
    V1,
    /// Remote write 2.0 (experimental): `io.prometheus.write.v2.Request`, with a symbols table,
    /// each series' metadata (type, help, unit), the created timestamp of counters, histograms
    /// and summaries, and exemplars (a counter's, a bucket's, a native histogram's).
    /// Prometheus 2.54+ and Mimir 2.17+ take it.
    V2,
}

impl Protocol {
    /// The `Content-Type` of a request body.
    pub const fn content_type(self) -> &'static str {
        match self {
            Protocol::V1 => "application/x-protobuf",
            Protocol::V2 => "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        }
    }

    /// The `X-Prometheus-Remote-Write-Version` header.
    pub const fn version(self) -> &'static str {
        match self {
            Protocol::V1 => "0.1.0",
            Protocol::V2 => "2.0.0",
        }
    }
}

/// `MetricMetadata.MetricType` (1.0) and `Metadata.MetricType` (2.0) share their numbers.
fn metric_type(kind: MetricKind) -> u64 {
    match kind {
        MetricKind::Unknown => 0,
        MetricKind::Counter => 1,
        MetricKind::Gauge => 2,
        MetricKind::Histogram => 3,
        MetricKind::GaugeHistogram => 4,
        MetricKind::Summary => 5,
        MetricKind::Info => 6,
        MetricKind::StateSet => 7,
    }
}

/// The uncompressed body of one request with `series` (of `collection`'s families).
pub(crate) fn encode(protocol: Protocol, collection: &Collection, series: &[Series]) -> Vec<u8> {
    match protocol {
        Protocol::V1 => encode_v1(&collection.families, series),
        Protocol::V2 => encode_v2(&collection.families, series),
    }
}

/// Snappy's block format, as remote write's `Content-Encoding: snappy` means it.
pub(crate) fn compress(body: &[u8]) -> Vec<u8> {
    // Only fails for an input above ~4 GiB; a request of that size is a bug of the batching.
    snap::raw::Encoder::new()
        .compress_vec(body)
        .unwrap_or_default()
}

fn put_sample(out: &mut Vec<u8>, field: u32, value: f64, timestamp_ms: i64) {
    let sample = begin(out, field);
    double_field(out, 1, value);
    int64_field(out, 2, timestamp_ms);
    end(out, sample);
}

fn put_spans(out: &mut Vec<u8>, field: u32, spans: &[(i32, u32)]) {
    for &(offset, length) in spans {
        let span = begin(out, field);
        sint64_field(out, 1, i64::from(offset));
        uint64_field(out, 2, u64::from(length));
        end(out, span);
    }
}

fn put_packed_deltas(out: &mut Vec<u8>, field: u32, deltas: &[i64]) {
    if deltas.is_empty() {
        return;
    }
    let packed = begin(out, field);
    for &delta in deltas {
        varint(out, zigzag(delta));
    }
    end(out, packed);
}

/// `Histogram { count_int = 1; sum = 3; schema = 4; zero_threshold = 5; zero_count_int = 6;
/// negative_spans = 8; negative_deltas = 9; positive_spans = 11; positive_deltas = 12;
/// timestamp = 15; }`, the same message in 1.0 and 2.0.
fn put_histogram(out: &mut Vec<u8>, field: u32, histogram: &NativeHistogram, timestamp_ms: i64) {
    let message = begin(out, field);
    uint64_field(out, 1, histogram.count);
    double_field(out, 3, histogram.sum);
    sint64_field(out, 4, i64::from(histogram.schema));
    double_field(out, 5, histogram.zero_threshold);
    uint64_field(out, 6, histogram.zero_count);
    put_spans(out, 8, &histogram.negative_spans);
    put_packed_deltas(out, 9, &histogram.negative_deltas);
    put_spans(out, 11, &histogram.positive_spans);
    put_packed_deltas(out, 12, &histogram.positive_deltas);
    int64_field(out, 15, timestamp_ms);
    end(out, message);
}

/// Writes a series' point: floats in field `samples`, native histograms in `histograms`.
fn put_point(out: &mut Vec<u8>, series: &Series, samples: u32, histograms: u32) {
    match &series.point {
        Point::Float(value) => put_sample(out, samples, *value, series.timestamp_ms),
        Point::Histogram(histogram) => {
            put_histogram(out, histograms, histogram, series.timestamp_ms);
        }
    }
}

fn put_str(out: &mut Vec<u8>, field: u32, text: &str) {
    string_field(out, field, &[text]);
}

/// `WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }`
fn encode_v1(families: &[FamilyMetadata], series: &[Series]) -> Vec<u8> {
    let mut out = Vec::with_capacity(series.len() * 96);
    let mut sent_families = Vec::new();
    for one in series {
        // TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
        let time_series = begin(&mut out, 1);
        for (name, value) in &one.labels {
            let label = begin(&mut out, 1);
            put_str(&mut out, 1, name);
            put_str(&mut out, 2, value);
            end(&mut out, label);
        }
        // TimeSeries { samples = 2; histograms = 4; }
        put_point(&mut out, one, 2, 4);
        end(&mut out, time_series);
        if sent_families.last() != Some(&one.family) {
            sent_families.push(one.family);
        }
    }
    sent_families.sort_unstable();
    sent_families.dedup();
    for family in sent_families.iter().filter_map(|&i| families.get(i)) {
        // MetricMetadata { type = 1; metric_family_name = 2; help = 4; unit = 5; }
        let metadata = begin(&mut out, 3);
        uint64_field(&mut out, 1, metric_type(family.kind));
        put_str(&mut out, 2, &family.name);
        put_str(&mut out, 4, &family.help);
        put_str(&mut out, 5, &family.unit);
        end(&mut out, metadata);
    }
    out
}

/// Interns the strings of a 2.0 request; the table starts with `""`, as the spec requires.
struct Symbols<'a> {
    table: Vec<&'a str>,
    index: HashMap<&'a str, u32>,
}

impl<'a> Symbols<'a> {
    fn new() -> Self {
        Symbols {
            table: vec![""],
            index: HashMap::from([("", 0)]),
        }
    }

    fn intern(&mut self, text: &'a str) -> u32 {
        *self.index.entry(text).or_insert_with(|| {
            self.table.push(text);
            (self.table.len() - 1) as u32
        })
    }

    /// Appends the refs of each name and value.
    fn intern_labels(&mut self, labels: &'a [(String, String)], refs: &mut Vec<u32>) {
        for (name, value) in labels {
            refs.push(self.intern(name));
            refs.push(self.intern(value));
        }
    }
}

/// `Request { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }`
fn encode_v2(families: &[FamilyMetadata], series: &[Series]) -> Vec<u8> {
    let mut symbols = Symbols::new();
    // Every series' label refs, its exemplars' label refs, then its family's help and unit
    // refs, in one flat list: each series' part starts where the previous one's ends.
    let mut refs: Vec<u32> = Vec::new();
    for one in series {
        symbols.intern_labels(&one.labels, &mut refs);
        for exemplar in &one.exemplars {
            symbols.intern_labels(&exemplar.labels, &mut refs);
        }
        let family = families.get(one.family);
        refs.push(symbols.intern(family.map_or("", |f| f.help.as_str())));
        refs.push(symbols.intern(family.map_or("", |f| f.unit.as_str())));
    }
    let mut out = Vec::with_capacity(series.len() * 48);
    for symbol in &symbols.table {
        put_str(&mut out, 4, symbol);
    }
    let mut rest = refs.as_slice();
    let mut take = |count: usize| {
        let (taken, after) = rest.split_at(count);
        rest = after;
        taken
    };
    for one in series {
        // TimeSeries { labels_refs = 1 (packed); samples = 2 or histograms = 3; exemplars = 4;
        // metadata = 5; created_timestamp = 6; }
        let time_series = begin(&mut out, 5);
        put_packed_refs(&mut out, 1, take(2 * one.labels.len()));
        put_point(&mut out, one, 2, 3);
        for exemplar in &one.exemplars {
            // Exemplar { labels_refs = 1 (packed); value = 2; timestamp = 3; }
            let message = begin(&mut out, 4);
            put_packed_refs(&mut out, 1, take(2 * exemplar.labels.len()));
            double_field(&mut out, 2, exemplar.value);
            int64_field(&mut out, 3, exemplar.timestamp_ms);
            end(&mut out, message);
        }
        let kind = families
            .get(one.family)
            .map_or(MetricKind::Unknown, |f| f.kind);
        let help_and_unit = take(2);
        // Metadata { type = 1; help_ref = 3; unit_ref = 4; }
        let metadata = begin(&mut out, 5);
        uint64_field(&mut out, 1, metric_type(kind));
        uint64_field(&mut out, 3, u64::from(help_and_unit[0]));
        uint64_field(&mut out, 4, u64::from(help_and_unit[1]));
        end(&mut out, metadata);
        if let Some(created_ms) = one.created_ms {
            int64_field(&mut out, 6, created_ms);
        }
        end(&mut out, time_series);
    }
    out
}

/// A packed list of symbol refs (always written, as Prometheus writes an empty one).
fn put_packed_refs(out: &mut Vec<u8>, field: u32, refs: &[u32]) {
    let packed = begin(out, field);
    for &symbol in refs {
        varint(out, u64::from(symbol));
    }
    end(out, packed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_counter() -> Collection {
        Collection {
            families: vec![FamilyMetadata {
                name: "jobs".to_owned(),
                kind: MetricKind::Counter,
                help: "Jobs.".to_owned(),
                unit: String::new(),
            }],
            series: vec![Series {
                labels: vec![("__name__".to_owned(), "jobs_total".to_owned())],
                point: Point::Float(2.0),
                timestamp_ms: 5,
                created_ms: None,
                exemplars: Vec::new(),
                family: 0,
            }],
        }
    }

    #[test]
    fn a_1_0_request_is_its_series_then_their_metadata() {
        let collection = one_counter();
        let body = encode(Protocol::V1, &collection, &collection.series);
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0x0a, 37,                                   // timeseries
              0x0a, 22,                                 //   label
                0x0a, 8, b'_', b'_', b'n', b'a', b'm', b'e', b'_', b'_',
                0x12, 10, b'j', b'o', b'b', b's', b'_', b't', b'o', b't', b'a', b'l',
              0x12, 11,                                 //   sample
                0x09, 0, 0, 0, 0, 0, 0, 0, 0x40,        //     value 2.0
                0x10, 5,                                //     timestamp
            0x1a, 17,                                   // metadata
              0x08, 1,                                  //   COUNTER
              0x12, 4, b'j', b'o', b'b', b's',
              0x22, 5, b'J', b'o', b'b', b's', b'.',
              0x2a, 0,                                  //   no unit
        ];
        assert_eq!(body, expected);
    }

    #[test]
    fn a_2_0_request_refers_to_its_symbols() {
        let collection = one_counter();
        let body = encode(Protocol::V2, &collection, &collection.series);
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0x22, 0,                                    // symbols[0] = ""
            0x22, 8, b'_', b'_', b'n', b'a', b'm', b'e', b'_', b'_',
            0x22, 10, b'j', b'o', b'b', b's', b'_', b't', b'o', b't', b'a', b'l',
            0x22, 5, b'J', b'o', b'b', b's', b'.',
            0x2a, 25,                                   // timeseries
              0x0a, 2, 1, 2,                            //   labels_refs
              0x12, 11,                                 //   sample
                0x09, 0, 0, 0, 0, 0, 0, 0, 0x40,
                0x10, 5,
              0x2a, 6, 0x08, 1, 0x18, 3, 0x20, 0,       //   metadata: COUNTER, help, no unit
        ];
        assert_eq!(body, expected);
    }

    #[test]
    fn compression_is_snappy_block_format() {
        let body = vec![7_u8; 1000];
        let compressed = compress(&body);
        assert!(compressed.len() < 100);
        assert_eq!(
            snap::raw::Decoder::new()
                .decompress_vec(&compressed)
                .unwrap(),
            body
        );
    }
}
