//! The messages checked field by field with a small wire reader (Go's `expfmt` reads them too:
//! tests/tests/protobuf.rs).

use super::*;
use crate::encoding::{ClassicBucket, Encoder, FamilyEncoder, Format, Quantile};
use crate::protobuf_wire::TIMESTAMP_SECONDS;

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Varint(u64),
    Fixed64(u64),
    Bytes(Vec<u8>),
}

/// The fields of one message, in order.
fn fields(mut bytes: &[u8]) -> Vec<(u32, Field)> {
    fn read_varint(bytes: &mut &[u8]) -> u64 {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let byte = bytes[0];
            *bytes = &bytes[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        value
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = read_varint(&mut bytes);
        let field = match key & 7 {
            0 => Field::Varint(read_varint(&mut bytes)),
            1 => {
                let (value, rest) = bytes.split_at(8);
                bytes = rest;
                Field::Fixed64(u64::from_le_bytes(value.try_into().unwrap()))
            }
            2 => {
                let len = read_varint(&mut bytes) as usize;
                let (value, rest) = bytes.split_at(len);
                bytes = rest;
                Field::Bytes(value.to_vec())
            }
            other => panic!("wire type {other}"),
        };
        fields.push(((key >> 3) as u32, field));
    }
    fields
}

fn bytes_of(fields: &[(u32, Field)], number: u32) -> Vec<Vec<u8>> {
    fields
        .iter()
        .filter(|(n, _)| *n == number)
        .map(|(_, f)| match f {
            Field::Bytes(b) => b.clone(),
            other => panic!("field {number} is {other:?}"),
        })
        .collect()
}

fn only(fields: &[(u32, Field)], number: u32) -> Field {
    let found: Vec<_> = fields.iter().filter(|(n, _)| *n == number).collect();
    assert_eq!(found.len(), 1, "field {number} in {fields:?}");
    found[0].1.clone()
}

/// The families of a delimited stream.
fn families(mut stream: &[u8]) -> Vec<Vec<(u32, Field)>> {
    let mut families = Vec::new();
    while !stream.is_empty() {
        let mut len = 0_usize;
        let mut shift = 0;
        loop {
            let byte = stream[0];
            stream = &stream[1..];
            len |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte < 0x80 {
                break;
            }
        }
        let (family, rest) = stream.split_at(len);
        families.push(fields(family));
        stream = rest;
    }
    families
}

fn label_pairs(metric: &[(u32, Field)]) -> Vec<(String, String)> {
    bytes_of(metric, METRIC_LABEL)
        .iter()
        .map(|pair| {
            let pair = fields(pair);
            let text = |n| String::from_utf8(bytes_of(&pair, n).remove(0)).unwrap();
            (text(LABEL_NAME), text(LABEL_VALUE))
        })
        .collect()
}

fn encode(write: impl FnOnce(&mut Encoder<'_>)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, Format::Protobuf);
    write(&mut encoder);
    encoder.finish();
    out
}

#[test]
fn a_counter_family_is_named_with_total_and_its_labels_are_unescaped() {
    let out = encode(|encoder| {
        let mut family = encoder.family_parts(
            "jobs",
            "Jobs \"run\".\n",
            None,
            MetricKind::Counter,
            r#"region="eu\\1""#,
        );
        let labels = Labels::from(r#"path="/a\"b\\c\nd",user="é""#).with("result", "o\"k");
        family.counter(labels, Value::U64(7), None, None);
    });
    let [family] = families(&out).try_into().unwrap();
    assert_eq!(bytes_of(&family, FAMILY_NAME), [b"jobs_total".to_vec()]);
    assert_eq!(
        bytes_of(&family, FAMILY_HELP),
        [b"Jobs \"run\".\n".to_vec()]
    );
    assert_eq!(only(&family, FAMILY_TYPE), Field::Varint(0));
    let [metric] = bytes_of(&family, FAMILY_METRIC).try_into().unwrap();
    let metric = fields(&metric);
    let pairs = label_pairs(&metric);
    let expected = [
        ("region", "eu\\1"),
        ("path", "/a\"b\\c\nd"),
        ("user", "é"),
        ("result", "o\"k"),
    ];
    assert_eq!(pairs, expected.map(|(n, v)| (n.to_owned(), v.to_owned())));
    let [counter] = bytes_of(&metric, METRIC_COUNTER).try_into().unwrap();
    assert_eq!(
        fields(&counter),
        [(VALUE, Field::Fixed64(7.0_f64.to_bits()))]
    );
}

#[test]
fn a_family_without_series_is_left_out() {
    let out = encode(|encoder| {
        drop(encoder.family_parts("empty", "", None, MetricKind::Gauge, ""));
        encoder
            .family_parts("one", "", None, MetricKind::Gauge, "")
            .gauge("", Value::I64(-2));
    });
    let [family] = families(&out).try_into().unwrap();
    assert_eq!(bytes_of(&family, FAMILY_NAME), [b"one".to_vec()]);
}

#[test]
fn a_histogram_leaves_out_its_inf_bucket_unless_it_has_an_exemplar() {
    let exemplar = Exemplar::new(&[("trace_id", "abc")], 12.0).unwrap();
    for inf_exemplar in [None, Some(&exemplar)] {
        let buckets = [
            ClassicBucket {
                upper_bound: 1.0,
                cumulative_count: 2,
                exemplar: None,
            },
            ClassicBucket {
                upper_bound: f64::INFINITY,
                cumulative_count: 3,
                exemplar: inf_exemplar,
            },
        ];
        let created =
            Created::at(std::time::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 5_000_000));
        let sample = HistogramSample {
            buckets: &buckets,
            sum: 14.5,
            created: Some(created),
            native: None,
        };
        let out = encode(|encoder| {
            encoder
                .family_parts("wait_seconds", "", None, MetricKind::Histogram, "")
                .histogram("", &sample);
        });
        let [family] = families(&out).try_into().unwrap();
        assert_eq!(only(&family, FAMILY_TYPE), Field::Varint(4));
        let [metric] = bytes_of(&family, FAMILY_METRIC).try_into().unwrap();
        let [histogram] = bytes_of(&fields(&metric), METRIC_HISTOGRAM)
            .try_into()
            .unwrap();
        let histogram = fields(&histogram);
        assert_eq!(only(&histogram, HISTOGRAM_COUNT), Field::Varint(3));
        assert_eq!(
            only(&histogram, HISTOGRAM_SUM),
            Field::Fixed64(14.5_f64.to_bits())
        );
        let buckets = bytes_of(&histogram, HISTOGRAM_BUCKET);
        assert_eq!(buckets.len(), 1 + usize::from(inf_exemplar.is_some()));
        let created = fields(&bytes_of(&histogram, HISTOGRAM_CREATED).remove(0));
        assert_eq!(
            created,
            [
                (1, Field::Varint(1_700_000_000)),
                (2, Field::Varint(5_000_000))
            ]
        );
        assert!(
            bytes_of(&histogram, HISTOGRAM_POSITIVE_SPAN).is_empty(),
            "classic only"
        );
    }
}

/// The spans and deltas of `positive` buckets, as (offset, length) and counts.
fn native(positive: &[(i32, u64)], zero_threshold: f64) -> (Vec<(i64, u64)>, Vec<i64>) {
    let parts = NativeHistogramParts {
        schema: 3,
        zero_threshold,
        zero_count: 0,
        positive,
        negative: &[],
        exemplars: &[],
    };
    let sample = HistogramSample {
        buckets: &[] as &[ClassicBucket<'_>; 0],
        sum: 0.0,
        created: None,
        native: Some(parts),
    };
    let out = encode(|encoder| {
        encoder
            .family_parts("native", "", None, MetricKind::Histogram, "")
            .histogram("", &sample);
    });
    let [family] = families(&out).try_into().unwrap();
    let [metric] = bytes_of(&family, FAMILY_METRIC).try_into().unwrap();
    let [histogram] = bytes_of(&fields(&metric), METRIC_HISTOGRAM)
        .try_into()
        .unwrap();
    let histogram = fields(&histogram);
    assert_eq!(only(&histogram, HISTOGRAM_SCHEMA), Field::Varint(6));
    let spans = bytes_of(&histogram, HISTOGRAM_POSITIVE_SPAN)
        .iter()
        .map(|span| {
            let span = fields(span);
            let Field::Varint(offset) = only(&span, SPAN_OFFSET) else {
                panic!()
            };
            let Field::Varint(length) = only(&span, SPAN_LENGTH) else {
                panic!()
            };
            ((offset >> 1) as i64 ^ -((offset & 1) as i64), length)
        })
        .collect();
    let deltas = bytes_of(&histogram, HISTOGRAM_POSITIVE_DELTA)
        .first()
        .map(|packed| {
            let mut deltas = Vec::new();
            let mut value = 0_u64;
            let mut shift = 0;
            for &byte in packed {
                value |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte < 0x80 {
                    deltas.push((value >> 1) as i64 ^ -((value & 1) as i64));
                    value = 0;
                    shift = 0;
                }
            }
            deltas
        })
        .unwrap_or_default();
    (spans, deltas)
}

#[test]
fn gaps_of_up_to_two_buckets_stay_in_their_span() {
    // Expected values worked out from client_golang's makeBuckets.
    assert_eq!(
        native(&[(-2, 3), (-1, 5)], 1e-128),
        (vec![(-2, 2)], vec![3, 2])
    );
    assert_eq!(
        native(&[(1, 3), (3, 1)], 1e-128),
        (vec![(1, 3)], vec![3, -3, 1])
    );
    assert_eq!(
        native(&[(1, 3), (4, 1)], 1e-128),
        (vec![(1, 4)], vec![3, -3, 0, 1])
    );
    assert_eq!(
        native(&[(1, 3), (5, 1)], 1e-128),
        (vec![(1, 1), (3, 1)], vec![3, -2])
    );
    assert_eq!(
        native(&[(0, u64::MAX)], 1e-128),
        (vec![(0, 1)], vec![i64::MAX])
    );
}

#[test]
fn an_empty_native_histogram_without_threshold_has_a_no_op_span() {
    assert_eq!(native(&[], 0.0), (vec![(0, 0)], vec![]));
    assert_eq!(native(&[], 1e-128), (vec![], vec![]));
}

#[test]
fn a_summary_carries_its_quantiles_and_created_time() {
    let quantiles = [
        Quantile {
            quantile: 0.5,
            value: 2.0,
        },
        Quantile {
            quantile: 0.99,
            value: 9.0,
        },
    ];
    let created = Created::at(std::time::UNIX_EPOCH + std::time::Duration::from_secs(10));
    let sample = SummarySample {
        quantiles: &quantiles,
        count: 4,
        sum: 20.0,
        created: Some(created),
    };
    let out = encode(|encoder| {
        encoder
            .family_parts("rpc_seconds", "", None, MetricKind::Summary, "")
            .summary("", &sample);
    });
    let [family] = families(&out).try_into().unwrap();
    assert_eq!(only(&family, FAMILY_TYPE), Field::Varint(2));
    let [metric] = bytes_of(&family, FAMILY_METRIC).try_into().unwrap();
    let [summary] = bytes_of(&fields(&metric), METRIC_SUMMARY)
        .try_into()
        .unwrap();
    let summary = fields(&summary);
    assert_eq!(only(&summary, SUMMARY_COUNT), Field::Varint(4));
    assert_eq!(bytes_of(&summary, SUMMARY_QUANTILE).len(), 2);
    let created = fields(&bytes_of(&summary, SUMMARY_CREATED).remove(0));
    assert_eq!(created, [(TIMESTAMP_SECONDS, Field::Varint(10))]);
}

#[test]
fn malformed_label_lists_give_pairs_not_panics() {
    for list in [
        "",
        "x",
        "x=",
        "x=\"",
        "x=\"\\",
        "x=\"a\",",
        ",,",
        "a=\"1\"b=\"2\"",
        "é=\"\\é\"",
    ] {
        let mut out = Vec::new();
        escaped_label_pairs(&mut out, METRIC_LABEL, list.as_bytes());
        for pair in bytes_of(&fields(&out), METRIC_LABEL) {
            let pair = fields(&pair);
            for text in [bytes_of(&pair, LABEL_NAME), bytes_of(&pair, LABEL_VALUE)] {
                assert!(std::str::from_utf8(&text[0]).is_ok(), "{list:?}");
            }
        }
    }
}

#[test]
fn live_gauge_histograms_and_summaries_map_to_their_protobuf_types() {
    use crate::metrics::{GaugeHistogram, Series, Summary, SummaryOptions};
    let waiting = GaugeHistogram::with_buckets(&[1.0, 10.0]).unwrap();
    waiting.observe(0.5);
    waiting.observe(5.0);
    waiting.observe(50.0);
    waiting.remove(50.0);
    let latency = Summary::new(&SummaryOptions {
        objectives: &[(0.5, 0.05), (0.9, 0.01)],
        ..SummaryOptions::DEFAULT
    })
    .unwrap();
    for value in [1.0, 2.0, 3.0, 4.0] {
        latency.observe(value);
    }
    let out = encode(|encoder| {
        let mut family =
            encoder.family_parts("waiting_seconds", "", None, MetricKind::GaugeHistogram, "");
        Series::encode(&waiting, &mut family, "queue=\"mail\"");
        drop(family);
        let mut family = encoder.family_parts("rpc_seconds", "", None, MetricKind::Summary, "");
        Series::encode(&latency, &mut family, "");
    });
    let [gauge_histogram, summary] = families(&out).try_into().unwrap();
    assert_eq!(only(&gauge_histogram, FAMILY_TYPE), Field::Varint(5));
    let [metric] = bytes_of(&gauge_histogram, FAMILY_METRIC)
        .try_into()
        .unwrap();
    let metric = fields(&metric);
    assert_eq!(
        label_pairs(&metric),
        [("queue".to_owned(), "mail".to_owned())]
    );
    let [histogram] = bytes_of(&metric, METRIC_HISTOGRAM).try_into().unwrap();
    let histogram = fields(&histogram);
    assert_eq!(only(&histogram, HISTOGRAM_COUNT), Field::Varint(2));
    assert_eq!(
        only(&histogram, HISTOGRAM_SUM),
        Field::Fixed64(5.5_f64.to_bits())
    );
    let counts: Vec<Field> = bytes_of(&histogram, HISTOGRAM_BUCKET)
        .iter()
        .map(|bucket| only(&fields(bucket), BUCKET_CUMULATIVE_COUNT))
        .collect();
    assert_eq!(counts, [Field::Varint(1), Field::Varint(2)]);

    assert_eq!(only(&summary, FAMILY_TYPE), Field::Varint(2));
    let [metric] = bytes_of(&summary, FAMILY_METRIC).try_into().unwrap();
    let [message] = bytes_of(&fields(&metric), METRIC_SUMMARY)
        .try_into()
        .unwrap();
    let message = fields(&message);
    assert_eq!(only(&message, SUMMARY_COUNT), Field::Varint(4));
    assert_eq!(
        only(&message, SUMMARY_SUM),
        Field::Fixed64(10.0_f64.to_bits())
    );
    let quantiles: Vec<(Field, Field)> = bytes_of(&message, SUMMARY_QUANTILE)
        .iter()
        .map(|quantile| {
            let quantile = fields(quantile);
            (
                only(&quantile, QUANTILE_QUANTILE),
                only(&quantile, QUANTILE_VALUE),
            )
        })
        .collect();
    let double = |v: f64| Field::Fixed64(v.to_bits());
    assert_eq!(
        quantiles,
        [(double(0.5), double(2.0)), (double(0.9), double(4.0))]
    );
    let created = fields(&bytes_of(&message, SUMMARY_CREATED).remove(0));
    let (seconds, _) = latency.created().seconds_and_nanos();
    assert_eq!(
        created[0],
        (TIMESTAMP_SECONDS, Field::Varint(seconds as u64))
    );
}

/// A family's own series, written from the layouts of their lists, give the bytes any series
/// with the same lists gives: whole or in part, short or long, with escapes or not.
#[test]
fn series_written_from_their_layout_are_written_as_any_series() {
    let long = "v".repeat(60);
    let lists = [
        String::new(),
        r#"a="1""#.to_owned(),
        r#"method="GET",path="/api/v1/items/12""#.to_owned(),
        r#"a="1",b="2",c="3",d="4""#.to_owned(),
        r#"a="1",b="2",c="3",d="4",e="5""#.to_owned(),
        r#"a="1",b="x\"y",c="3""#.to_owned(),
        format!(r#"a="{long}""#),
        format!(r#"a="1",b="{}",c="3",d="4""#, &long[..30]),
        format!(r#"a="{}""#, &long[..50]),
        // More than the room made at once for a small metric.
        format!(r#"a="{long}",b="{long}",c="{long}""#),
    ];
    let created = Some(Created::at(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123),
    ));
    for list in &lists {
        let layout = PairLayout::of(list);
        let write = |known: bool| {
            encode(|encoder| {
                for kind in [MetricKind::Counter, MetricKind::Gauge] {
                    let mut family = encoder.family_parts("jobs", "Jobs.", None, kind, "");
                    // As a family of legacy label names has it: the layout, or else the
                    // template, is then used.
                    family.text.plain_labels = true;
                    let series = |family: &mut FamilyEncoder<'_>| match kind {
                        MetricKind::Counter => {
                            family.counter(list.as_str(), Value::U64(7), created, None)
                        }
                        _ => family.gauge(list.as_str(), Value::F64(-1.5)),
                    };
                    if known {
                        family.with_pair_layout(list, layout, series);
                    } else {
                        series(&mut family);
                    }
                }
            })
        };
        assert_eq!(write(true), write(false), "{list}");
    }
}

/// The created times of a family's series, each in, after, before or far from the second of
/// the one before it (where the second is remembered, and where it cannot be).
#[test]
fn each_series_has_its_own_created_time_in_the_seconds_of_the_others() {
    let second = 1_700_000_000_000;
    let millis = [
        second + 500,
        second + 999,
        second + 1_000,
        second - 1,
        second + 200,
        second,
        10_000,
        second + 1,
        0,
        34_359_738_368_000 + 7,
        second + 3,
    ];
    let created =
        |millis| Created::at(std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis));
    let out = encode(|encoder| {
        for kind in [
            MetricKind::Counter,
            MetricKind::Summary,
            MetricKind::Histogram,
        ] {
            let mut family = encoder.family_parts("jobs", "Jobs.", None, kind, "");
            for (i, &millis) in millis.iter().enumerate() {
                let labels = format!(r#"i="{i}""#);
                let created = Some(created(millis));
                match kind {
                    MetricKind::Counter => {
                        family.counter(labels.as_str(), Value::U64(1), created, None)
                    }
                    MetricKind::Summary => family.summary(
                        labels.as_str(),
                        &SummarySample {
                            count: 1,
                            sum: 1.0,
                            quantiles: &[],
                            created,
                        },
                    ),
                    _ => family.histogram(
                        labels.as_str(),
                        &HistogramSample {
                            buckets: &[],
                            sum: 1.0,
                            created,
                            native: None,
                        },
                    ),
                }
            }
        }
    });
    let families = families(&out);
    assert_eq!(families.len(), 3);
    for (family, (message, created_field)) in families.iter().zip([
        (METRIC_COUNTER, COUNTER_CREATED),
        (METRIC_SUMMARY, SUMMARY_CREATED),
        (METRIC_HISTOGRAM, HISTOGRAM_CREATED),
    ]) {
        let metrics = bytes_of(family, FAMILY_METRIC);
        assert_eq!(metrics.len(), millis.len());
        for (metric, &millis) in metrics.iter().zip(&millis) {
            let message = fields(&bytes_of(&fields(metric), message).remove(0));
            let timestamp = fields(&bytes_of(&message, created_field).remove(0));
            let (seconds, nanos) = created(millis).seconds_and_nanos();
            let expected: Vec<_> = [(1, seconds as u64), (2, nanos as u64)]
                .into_iter()
                .filter(|&(_, value)| value != 0)
                .map(|(field, value)| (field, Field::Varint(value)))
                .collect();
            assert_eq!(timestamp, expected, "{millis} ms");
        }
    }
}
