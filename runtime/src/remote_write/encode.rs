//! Remote write request bodies: `prometheus.WriteRequest` (1.0) and
//! `io.prometheus.write.v2.Request` (2.0), snappy-compressed (block format).

use super::series::{Collection, FamilyMetadata, NativeHistogram, Point, Series};
use super::wire::{
    DOUBLE_FIELD_LEN, len_field_size, put_double, put_len_header, put_str, put_varint,
    put_varint_field, varint_field_size, varint_len,
};
use crate::MetricKind;
use std::collections::HashMap;

/// Which remote write protocol an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// Remote write 1.0: `prometheus.WriteRequest`, which every receiver accepts.
    #[default]
    V1,
    /// Remote write 2.0 (experimental): `io.prometheus.write.v2.Request`, with a symbols table
    /// and each series' metadata (type, help, unit). Prometheus 2.54+ and Mimir 2.17+ take it.
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

/// A double is always 8 bytes: only the timestamp's size varies.
fn sample_len(timestamp_ms: i64) -> usize {
    DOUBLE_FIELD_LEN + varint_field_size(timestamp_ms as u64)
}

fn put_sample(out: &mut Vec<u8>, field: u32, value: f64, timestamp_ms: i64) {
    put_len_header(out, field, sample_len(timestamp_ms));
    put_double(out, 1, value);
    put_varint_field(out, 2, timestamp_ms as u64);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn spans_len(spans: &[(i32, u32)]) -> usize {
    spans
        .iter()
        .map(|&(offset, length)| {
            len_field_size(
                varint_field_size(zigzag(i64::from(offset))) + varint_field_size(u64::from(length)),
            )
        })
        .sum()
}

fn put_spans(out: &mut Vec<u8>, field: u32, spans: &[(i32, u32)]) {
    for &(offset, length) in spans {
        let offset = zigzag(i64::from(offset));
        let len = varint_field_size(offset) + varint_field_size(u64::from(length));
        put_len_header(out, field, len);
        put_varint_field(out, 1, offset);
        put_varint_field(out, 2, u64::from(length));
    }
}

fn packed_deltas_len(deltas: &[i64]) -> usize {
    deltas.iter().map(|&d| varint_len(zigzag(d))).sum()
}

fn put_packed_deltas(out: &mut Vec<u8>, field: u32, deltas: &[i64]) {
    if deltas.is_empty() {
        return;
    }
    put_len_header(out, field, packed_deltas_len(deltas));
    for &delta in deltas {
        put_varint(out, zigzag(delta));
    }
}

/// `Histogram { count_int = 1; sum = 3; schema = 4; zero_threshold = 5; zero_count_int = 6;
/// negative_spans = 8; negative_deltas = 9; positive_spans = 11; positive_deltas = 12;
/// timestamp = 15; }`, the same message in 1.0 and 2.0.
fn histogram_len(histogram: &NativeHistogram, timestamp_ms: i64) -> usize {
    let packed = |deltas: &[i64]| {
        if deltas.is_empty() {
            0
        } else {
            len_field_size(packed_deltas_len(deltas))
        }
    };
    varint_field_size(histogram.count)
        + DOUBLE_FIELD_LEN
        + varint_field_size(zigzag(i64::from(histogram.schema)))
        + DOUBLE_FIELD_LEN
        + varint_field_size(histogram.zero_count)
        + spans_len(&histogram.negative_spans)
        + packed(&histogram.negative_deltas)
        + spans_len(&histogram.positive_spans)
        + packed(&histogram.positive_deltas)
        + varint_field_size(timestamp_ms as u64)
}

fn put_histogram(out: &mut Vec<u8>, field: u32, histogram: &NativeHistogram, timestamp_ms: i64) {
    put_len_header(out, field, histogram_len(histogram, timestamp_ms));
    put_varint_field(out, 1, histogram.count);
    put_double(out, 3, histogram.sum);
    put_varint_field(out, 4, zigzag(i64::from(histogram.schema)));
    put_double(out, 5, histogram.zero_threshold);
    put_varint_field(out, 6, histogram.zero_count);
    put_spans(out, 8, &histogram.negative_spans);
    put_packed_deltas(out, 9, &histogram.negative_deltas);
    put_spans(out, 11, &histogram.positive_spans);
    put_packed_deltas(out, 12, &histogram.positive_deltas);
    put_varint_field(out, 15, timestamp_ms as u64);
}

/// The size of a series' point: a `Sample` (in field `samples`) or a `Histogram` (in field
/// `histograms`), with its field header.
fn point_len(series: &Series) -> usize {
    match &series.point {
        Point::Float(_) => len_field_size(sample_len(series.timestamp_ms)),
        Point::Histogram(histogram) => {
            len_field_size(histogram_len(histogram, series.timestamp_ms))
        }
    }
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

/// `WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }`
fn encode_v1(families: &[FamilyMetadata], series: &[Series]) -> Vec<u8> {
    let mut out = Vec::with_capacity(series.len() * 96);
    let mut sent_families = Vec::new();
    for one in series {
        // TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
        let label_len = |(name, value): &(String, String)| {
            len_field_size(len_field_size(name.len()) + len_field_size(value.len()))
        };
        let len = one.labels.iter().map(label_len).sum::<usize>() + point_len(one);
        put_len_header(&mut out, 1, len);
        for (name, value) in &one.labels {
            put_len_header(
                &mut out,
                1,
                len_field_size(name.len()) + len_field_size(value.len()),
            );
            put_str(&mut out, 1, name);
            put_str(&mut out, 2, value);
        }
        // TimeSeries { samples = 2; histograms = 4; }
        put_point(&mut out, one, 2, 4);
        if sent_families.last() != Some(&one.family) {
            sent_families.push(one.family);
        }
    }
    sent_families.sort_unstable();
    sent_families.dedup();
    for family in sent_families.iter().filter_map(|&i| families.get(i)) {
        // MetricMetadata { type = 1; metric_family_name = 2; help = 4; unit = 5; }
        let len = varint_field_size(metric_type(family.kind))
            + len_field_size(family.name.len())
            + len_field_size(family.help.len())
            + len_field_size(family.unit.len());
        put_len_header(&mut out, 3, len);
        put_varint_field(&mut out, 1, metric_type(family.kind));
        put_str(&mut out, 2, &family.name);
        put_str(&mut out, 4, &family.help);
        put_str(&mut out, 5, &family.unit);
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
}

/// `Request { repeated string symbols = 4; repeated TimeSeries timeseries = 5; }`
fn encode_v2(families: &[FamilyMetadata], series: &[Series]) -> Vec<u8> {
    let mut symbols = Symbols::new();
    let mut refs: Vec<u32> = Vec::new();
    // Every series' label refs, then its family's help and unit refs, in one flat list.
    let mut per_series: Vec<(usize, usize)> = Vec::with_capacity(series.len());
    for one in series {
        let start = refs.len();
        for (name, value) in &one.labels {
            refs.push(symbols.intern(name));
            refs.push(symbols.intern(value));
        }
        let family = families.get(one.family);
        refs.push(symbols.intern(family.map_or("", |f| f.help.as_str())));
        refs.push(symbols.intern(family.map_or("", |f| f.unit.as_str())));
        per_series.push((start, refs.len()));
    }
    let mut out = Vec::with_capacity(series.len() * 48);
    for symbol in &symbols.table {
        put_str(&mut out, 4, symbol);
    }
    for (one, &(start, end)) in series.iter().zip(&per_series) {
        let (labels, metadata_refs) = refs[start..end].split_at(end - start - 2);
        let kind = families
            .get(one.family)
            .map_or(MetricKind::Unknown, |f| f.kind);
        // Metadata { type = 1; help_ref = 3; unit_ref = 4; }
        let metadata_len = varint_field_size(metric_type(kind))
            + varint_field_size(u64::from(metadata_refs[0]))
            + varint_field_size(u64::from(metadata_refs[1]));
        let packed_len: usize = labels.iter().map(|&r| varint_len(u64::from(r))).sum();
        // TimeSeries { labels_refs = 1 (packed); samples = 2 or histograms = 3; metadata = 5; }
        let len = len_field_size(packed_len) + point_len(one) + len_field_size(metadata_len);
        put_len_header(&mut out, 5, len);
        put_len_header(&mut out, 1, packed_len);
        for &label in labels {
            put_varint(&mut out, u64::from(label));
        }
        // TimeSeries { samples = 2; histograms = 3; }
        put_point(&mut out, one, 2, 3);
        put_len_header(&mut out, 5, metadata_len);
        put_varint_field(&mut out, 1, metric_type(kind));
        put_varint_field(&mut out, 3, u64::from(metadata_refs[0]));
        put_varint_field(&mut out, 4, u64::from(metadata_refs[1]));
    }
    out
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
