//! The protobuf exposition: a stream of length-delimited `io.prometheus.client.MetricFamily`
//! messages (client_model's `metrics.proto`), written straight from the live handles as the
//! text formats are, into the same reused buffer.
//!
//! Types map as client_golang maps them: a counter family is named with its `_total` (Prometheus
//! takes the family name as the series name), an info family with its `_info`, both info and
//! state sets are gauges, unknown is `UNTYPED`. Label lists, kept pre-escaped for the text
//! formats, are unescaped into label pairs while writing.

mod labels;

use super::family::{ClassicBucket, HistogramSample, Labels, NativeHistogramParts, SummarySample};
use super::names::{self, Escaping};
use super::{Created, Value};
use crate::Exemplar;
use crate::metrics::MetricKind;
use crate::protobuf_wire::{
    Bytes, FiveByteSeconds, LENGTH_DELIMITED, append, begin, begin_delimited, double_field, end,
    end_delimited, five_byte_seconds, int64_field, sint64_field, string_field, timestamp_field,
    uint64_field, varint, write_at_start, zigzag,
};
pub(super) use labels::PairTemplate;
pub(crate) use labels::{PairLayout, PairLayoutBuilder};
use labels::{escaped_label_pairs, label_pair};

// Field numbers of metrics.proto.
const FAMILY_NAME: u32 = 1;
const FAMILY_HELP: u32 = 2;
const FAMILY_TYPE: u32 = 3;
const FAMILY_METRIC: u32 = 4;
const METRIC_LABEL: u32 = 1;
const METRIC_GAUGE: u32 = 2;
const METRIC_COUNTER: u32 = 3;
const METRIC_SUMMARY: u32 = 4;
const METRIC_UNTYPED: u32 = 5;
const METRIC_HISTOGRAM: u32 = 7;
const LABEL_NAME: u32 = 1;
const LABEL_VALUE: u32 = 2;
/// `value` of Gauge, Counter and Untyped.
const VALUE: u32 = 1;
const COUNTER_EXEMPLAR: u32 = 2;
const COUNTER_CREATED: u32 = 3;
const SUMMARY_COUNT: u32 = 1;
const SUMMARY_SUM: u32 = 2;
const SUMMARY_QUANTILE: u32 = 3;
const SUMMARY_CREATED: u32 = 4;
const QUANTILE_QUANTILE: u32 = 1;
const QUANTILE_VALUE: u32 = 2;
const HISTOGRAM_COUNT: u32 = 1;
const HISTOGRAM_SUM: u32 = 2;
const HISTOGRAM_BUCKET: u32 = 3;
const HISTOGRAM_SCHEMA: u32 = 5;
const HISTOGRAM_ZERO_THRESHOLD: u32 = 6;
const HISTOGRAM_ZERO_COUNT: u32 = 7;
const HISTOGRAM_NEGATIVE_SPAN: u32 = 9;
const HISTOGRAM_NEGATIVE_DELTA: u32 = 10;
const HISTOGRAM_POSITIVE_SPAN: u32 = 12;
const HISTOGRAM_POSITIVE_DELTA: u32 = 13;
const HISTOGRAM_CREATED: u32 = 15;
const HISTOGRAM_EXEMPLARS: u32 = 16;
const BUCKET_CUMULATIVE_COUNT: u32 = 1;
const BUCKET_UPPER_BOUND: u32 = 2;
const BUCKET_EXEMPLAR: u32 = 3;
const SPAN_OFFSET: u32 = 1;
const SPAN_LENGTH: u32 = 2;
const EXEMPLAR_LABEL: u32 = 1;
const EXEMPLAR_VALUE: u32 = 2;
const EXEMPLAR_TIMESTAMP: u32 = 3;

/// `MetricType` of metrics.proto.
fn metric_type(kind: MetricKind) -> i64 {
    match kind {
        MetricKind::Counter => 0,
        MetricKind::Gauge | MetricKind::Info | MetricKind::StateSet => 1,
        MetricKind::Summary => 2,
        MetricKind::Unknown => 3,
        MetricKind::Histogram => 4,
        MetricKind::GaugeHistogram => 5,
    }
}

/// The family name as the series name Prometheus makes of it.
pub(super) fn family_suffix(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Counter => "_total",
        MetricKind::Info => "_info",
        _ => "",
    }
}

/// Starts a family's message; returns where it starts, for [`end_family`].
pub(super) fn begin_family(out: &mut Vec<u8>, name: &str, help: &str, kind: MetricKind) -> usize {
    let start = begin_delimited(out);
    string_field(out, FAMILY_NAME, &[name, family_suffix(kind)]);
    string_field(out, FAMILY_HELP, &[help]);
    int64_field(out, FAMILY_TYPE, metric_type(kind));
    start
}

/// Ends the family started at `start`: a family without series is left out, as client_golang
/// leaves it out (Prometheus' parser has nothing to read in it).
pub(super) fn end_family(out: &mut Vec<u8>, start: usize, metrics: usize) {
    if metrics == 0 {
        out.truncate(start);
    } else {
        end_delimited(out, start);
    }
}

/// What every `Metric` of a family carries.
#[derive(Debug, Clone, Copy)]
pub(super) struct ProtoSeries<'a> {
    pub(super) const_labels: &'a str,
    /// Borrowed, not copied: a copy of its `extra` when `None` reads 16 bytes at a time what was
    /// just written 8 at a time, and waits for those stores to retire (perf).
    pub(super) labels: &'a Labels<'a>,
    /// The layout of `labels`' list, if it is known.
    pub(super) pair_layout: PairLayout,
    /// How label names that are not legacy-valid are written.
    pub(super) escaping: Escaping,
    /// Every label name is known to be legacy-valid.
    pub(super) plain_labels: bool,
}

/// What the series of one family share while it is written.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ProtoFamily {
    /// The pairs its series start with, learnt from its first one.
    pub(super) pairs: PairTemplate,
    created_second: CreatedSecond,
}

/// The second the last created time written fell in, and that second as a timestamp's
/// `seconds` field: a family's series are mostly created together, within a second, and theirs
/// are then written without a division or a varint of seconds (75 instructions a counter
/// became 40, callgrind).
#[derive(Debug, Clone, Copy, Default)]
struct CreatedSecond(Option<(u64, FiveByteSeconds)>);

impl CreatedSecond {
    const NANOS_PER_SECOND: u64 = 1_000_000_000;

    /// Writes `created` as a `google.protobuf.Timestamp` in `field`.
    #[inline]
    fn write<const N: usize>(&mut self, bytes: &mut Bytes<'_, N>, field: u32, created: Created) {
        let nanos = created.nanos();
        if let Some((second_start, seconds)) = self.0 {
            let past = nanos.wrapping_sub(second_start);
            if past < Self::NANOS_PER_SECOND {
                return bytes.timestamp_of_parts(field, seconds, past as u32);
            }
        }
        let (seconds, past) = created.seconds_and_nanos();
        if let Some(seconds_field) = five_byte_seconds(seconds) {
            self.0 = Some((nanos - past as u64, seconds_field));
        }
        bytes.timestamp_field(field, seconds, past);
    }
}

/// The pairs `list` starts with that follow `template`; returns where the others start.
#[inline(never)]
fn template_pairs(out: &mut Vec<u8>, template: &PairTemplate, list: &[u8]) -> usize {
    template.write(out, list)
}

/// Makes room for `N` bytes at the end of `out`; returns where it starts.
fn with_room<const N: usize>(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; N]);
    start
}

/// The pairs of `list` from `rest` on, neither in its layout nor in the template.
#[inline(never)]
fn other_pairs(out: &mut Vec<u8>, list: &[u8], rest: usize) {
    escaped_label_pairs(out, METRIC_LABEL, list.get(rest..).unwrap_or_default());
}

impl ProtoSeries<'_> {
    /// Whether the series' labels are only its own list of legacy-valid names, the labels of
    /// a derived family's series: no const labels, no extra label, and no `extra` (a state's).
    #[inline(always)]
    fn only_own_plain_labels(&self, extra: Option<(&str, &str)>) -> bool {
        self.plain_labels
            && self.const_labels.is_empty()
            && self.labels.extra().is_none()
            && extra.is_none()
    }

    /// Starts a `Metric` with its label pairs (and `extra`, for a state); returns its start.
    ///
    /// Inlined for the pairs of a family's own series, written from their layout; the other
    /// ways are calls.
    #[inline(always)]
    fn begin(&self, out: &mut Vec<u8>, pairs: &PairTemplate, extra: Option<(&str, &str)>) -> usize {
        let start = begin(out, FAMILY_METRIC);
        if self.only_own_plain_labels(extra) {
            let list = self.labels.escaped_list().as_bytes();
            let rest = match self.pair_layout.is_known() {
                true => self.pair_layout.write(out, list),
                false => template_pairs(out, pairs, list),
            };
            if rest < list.len() {
                other_pairs(out, list, rest);
            }
            return start;
        }
        self.begin_general(out, extra);
        start
    }

    /// A `Metric` of the series' labels (and `extra`) and a typed part that `body` writes in
    /// at most `N - 8` bytes (a counter's, a gauge's). When every pair is in the series' layout
    /// the whole message is written into room made once: no room made, checked or cut back for
    /// the pairs and the typed part each, and no call.
    #[inline(always)]
    fn small_metric<const N: usize>(
        &self,
        out: &mut Vec<u8>,
        family: &mut ProtoFamily,
        extra: Option<(&str, &str)>,
        body: impl FnOnce(&mut Bytes<'_, N>, &mut ProtoFamily),
    ) {
        const ROOM: usize = 128;
        const METRIC_KEY: u8 = ((FAMILY_METRIC << 3) | LENGTH_DELIMITED) as u8;
        // Where the metric's length goes, and where its typed part starts, with room after:
        // `body` is called from one place, so that it is inlined.
        let (metric, body_start) =
            if self.pair_layout.is_known() && self.only_own_plain_labels(extra) {
                let list = self.labels.escaped_list().as_bytes();
                let start = out.len();
                // The metric's key and length, its pairs, its typed part.
                let room = 2 + PairLayout::room(list) + N;
                if room <= ROOM {
                    out.extend_from_slice(&[0; ROOM]);
                } else {
                    out.resize(start + room, 0);
                }
                let (pairs_len, rest) = match out.get_mut(start..) {
                    Some([key, _, room @ ..]) => {
                        *key = METRIC_KEY;
                        self.pair_layout.write_in(room, list)
                    }
                    _ => (0, 0),
                };
                let pairs_end = start + 2 + pairs_len;
                if rest < list.len() {
                    out.truncate(pairs_end);
                    other_pairs(out, list, rest);
                    (start + 1, with_room::<N>(out))
                } else {
                    (start + 1, pairs_end)
                }
            } else {
                let metric = self.begin(out, &family.pairs, extra);
                (metric, with_room::<N>(out))
            };
        let body_len = match out.get_mut(body_start..) {
            Some(room) => write_at_start(room, |bytes| body(bytes, family)),
            None => 0,
        };
        out.truncate(body_start + body_len);
        end(out, metric);
    }

    /// [`begin`](Self::begin) after the `Metric`'s tag: every label of the series.
    #[inline(never)]
    fn begin_general(&self, out: &mut Vec<u8>, extra: Option<(&str, &str)>) {
        for list in [self.const_labels, self.labels.escaped_list()] {
            if list.is_empty() {
                continue;
            }
            if self.plain_labels || !names::may_hold_quoted_names(list) {
                escaped_label_pairs(out, METRIC_LABEL, list.as_bytes());
            } else {
                utf8_label_pairs(out, list, self.escaping);
            }
        }
        for (name, value) in [self.labels.extra(), extra].into_iter().flatten() {
            let name = match self.plain_labels {
                true => std::borrow::Cow::Borrowed(name),
                false => names::escape_label_name(name, self.escaping),
            };
            label_pair(out, METRIC_LABEL, name.as_bytes(), value.as_bytes());
        }
    }

    pub(super) fn counter(
        &self,
        out: &mut Vec<u8>,
        family: &mut ProtoFamily,
        value: Value,
        created: Option<Created>,
        exemplar: Option<&Exemplar>,
    ) {
        if let Some(exemplar) = exemplar {
            let metric = self.begin(out, &family.pairs, None);
            let counter = begin(out, METRIC_COUNTER);
            double_field(out, VALUE, as_f64(value));
            exemplar_field(out, COUNTER_EXEMPLAR, exemplar);
            created_field(out, family, COUNTER_CREATED, created);
            end(out, counter);
            return end(out, metric);
        }
        // Small enough to be written in words (at most 25 bytes).
        self.small_metric::<48>(out, family, None, |counter, family| {
            let message = counter.begin(METRIC_COUNTER);
            counter.double_field(VALUE, as_f64(value));
            if let Some(created) = created {
                family
                    .created_second
                    .write(counter, COUNTER_CREATED, created);
            }
            counter.end(message);
        });
    }

    /// A gauge (also info and state set) or, with `untyped`, an unknown series.
    pub(super) fn gauge(
        &self,
        out: &mut Vec<u8>,
        family: &mut ProtoFamily,
        value: Value,
        extra: Option<(&str, &str)>,
        untyped: bool,
    ) {
        let field = if untyped {
            METRIC_UNTYPED
        } else {
            METRIC_GAUGE
        };
        self.small_metric::<24>(out, family, extra, |gauge, _| {
            let message = gauge.begin(field);
            gauge.double_field(VALUE, as_f64(value));
            gauge.end(message);
        });
    }

    pub(super) fn summary(
        &self,
        out: &mut Vec<u8>,
        family: &mut ProtoFamily,
        sample: &SummarySample<'_>,
    ) {
        let metric = self.begin(out, &family.pairs, None);
        let summary = begin(out, METRIC_SUMMARY);
        uint64_field(out, SUMMARY_COUNT, sample.count);
        double_field(out, SUMMARY_SUM, sample.sum);
        for quantile in sample.quantiles {
            let message = begin(out, SUMMARY_QUANTILE);
            double_field(out, QUANTILE_QUANTILE, quantile.quantile);
            double_field(out, QUANTILE_VALUE, quantile.value);
            end(out, message);
        }
        created_field(out, family, SUMMARY_CREATED, sample.created);
        end(out, summary);
        end(out, metric);
    }

    pub(super) fn histogram(
        &self,
        out: &mut Vec<u8>,
        family: &mut ProtoFamily,
        sample: &HistogramSample<'_>,
    ) {
        let metric = self.begin(out, &family.pairs, None);
        let histogram = begin(out, METRIC_HISTOGRAM);
        let mut count = 0;
        sample
            .buckets
            .for_each_bucket(&mut |bucket: ClassicBucket<'_>| {
                count = bucket.cumulative_count;
                // The `+Inf` bucket is the sample count; client_golang writes it only to carry
                // an exemplar.
                if bucket.upper_bound != f64::INFINITY || bucket.exemplar.is_some() {
                    let message = begin(out, HISTOGRAM_BUCKET);
                    uint64_field(out, BUCKET_CUMULATIVE_COUNT, bucket.cumulative_count);
                    double_field(out, BUCKET_UPPER_BOUND, bucket.upper_bound);
                    if let Some(exemplar) = bucket.exemplar {
                        exemplar_field(out, BUCKET_EXEMPLAR, exemplar);
                    }
                    end(out, message);
                }
            });
        uint64_field(out, HISTOGRAM_COUNT, count);
        double_field(out, HISTOGRAM_SUM, sample.sum);
        created_field(out, family, HISTOGRAM_CREATED, sample.created);
        if let Some(native) = &sample.native {
            native_fields(out, native);
        }
        end(out, histogram);
        end(out, metric);
    }
}

fn as_f64(value: Value) -> f64 {
    match value {
        Value::U64(v) => v as f64,
        Value::I64(v) => v as f64,
        Value::F64(v) => v,
    }
}

fn native_fields(out: &mut Vec<u8>, native: &NativeHistogramParts<'_>) {
    sint64_field(out, HISTOGRAM_SCHEMA, i64::from(native.schema));
    double_field(out, HISTOGRAM_ZERO_THRESHOLD, native.zero_threshold);
    uint64_field(out, HISTOGRAM_ZERO_COUNT, native.zero_count);
    let negative = (HISTOGRAM_NEGATIVE_SPAN, HISTOGRAM_NEGATIVE_DELTA);
    spans_and_deltas(out, negative, native.negative);
    spans_and_deltas(
        out,
        (HISTOGRAM_POSITIVE_SPAN, HISTOGRAM_POSITIVE_DELTA),
        native.positive,
    );
    let empty = native.positive.is_empty() && native.negative.is_empty();
    if empty && native.zero_threshold == 0.0 && native.zero_count == 0 {
        // Without buckets, zero bucket or threshold, Prometheus would take the histogram for a
        // classic one: a span of no buckets says it is native (client_golang does the same).
        span_field(out, HISTOGRAM_POSITIVE_SPAN, 0, 0);
    }
    for exemplar in native.exemplars {
        exemplar_field(out, HISTOGRAM_EXEMPLARS, exemplar);
    }
}

/// Where a bucket of index `index` goes after the bucket before `next`: into the current span
/// (padded with up to two empty buckets), or a new span `gap` after it. Unsorted indexes
/// (against the contract) start new spans, so nothing overflows.
fn continues_span(position: usize, gap: i64) -> bool {
    position > 0 && (0..=2).contains(&gap)
}

/// The spans and delta-encoded counts of `buckets` (`(index, count)`, sorted), as client_golang's
/// `makeBuckets` makes them.
fn spans_and_deltas(out: &mut Vec<u8>, (spans, delta_field): (u32, u32), buckets: &[(i32, u64)]) {
    if buckets.is_empty() {
        return;
    }
    let mut span: Option<(i64, i64)> = None;
    let mut next = 0_i64;
    for (position, &(index, _)) in buckets.iter().enumerate() {
        let gap = i64::from(index) - next;
        match &mut span {
            Some((_, length)) if continues_span(position, gap) => *length += gap + 1,
            _ => {
                if let Some((offset, length)) = span {
                    span_field(out, spans, offset, length);
                }
                span = Some((gap, 1));
            }
        }
        next = i64::from(index) + 1;
    }
    if let Some((offset, length)) = span {
        span_field(out, spans, offset, length);
    }
    let deltas = begin(out, delta_field);
    let mut previous = 0_i64;
    let mut next = 0_i64;
    for (position, &(index, count)) in buckets.iter().enumerate() {
        let gap = i64::from(index) - next;
        if continues_span(position, gap) {
            for _ in 0..gap {
                varint(out, zigzag(-previous));
                previous = 0;
            }
        }
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        varint(out, zigzag(count.wrapping_sub(previous)));
        previous = count;
        next = i64::from(index) + 1;
    }
    end(out, deltas);
}

fn span_field(out: &mut Vec<u8>, field: u32, offset: i64, length: i64) {
    let span = begin(out, field);
    // sint32 and uint32 on the wire: offsets of i32 indexes, lengths of at most 2^32 buckets.
    sint64_field(
        out,
        SPAN_OFFSET,
        offset.clamp(i32::MIN.into(), i32::MAX.into()),
    );
    uint64_field(out, SPAN_LENGTH, length.clamp(0, u32::MAX.into()) as u64);
    end(out, span);
}

fn exemplar_field(out: &mut Vec<u8>, field: u32, exemplar: &Exemplar) {
    let message = begin(out, field);
    escaped_label_pairs(out, EXEMPLAR_LABEL, exemplar.labels().as_bytes());
    double_field(out, EXEMPLAR_VALUE, exemplar.value());
    let seconds = exemplar.timestamp();
    let whole = seconds.floor();
    let nanos = ((seconds - whole) * 1e9).round().min(999_999_999.0);
    timestamp_field(out, EXEMPLAR_TIMESTAMP, whole as i64, nanos as i32);
    end(out, message);
}

fn created_field(
    out: &mut Vec<u8>,
    family: &mut ProtoFamily,
    field: u32,
    created: Option<Created>,
) {
    if let Some(created) = created {
        append::<32>(out, |bytes| {
            family.created_second.write(bytes, field, created)
        });
    }
}

/// [`escaped_label_pairs`] of a list that holds quoted names: each name unquoted, and escaped
/// by `scheme` when it is not legacy-valid.
fn utf8_label_pairs(out: &mut Vec<u8>, list: &str, scheme: Escaping) {
    for label in names::list_labels(list).map_while(|label| label) {
        let pair = begin(out, METRIC_LABEL);
        string_field(
            out,
            LABEL_NAME,
            &[&names::escape_label_name(&label.name, scheme)],
        );
        string_field(out, LABEL_VALUE, &[&names::unescape(label.escaped_value)]);
        end(out, pair);
    }
}

#[cfg(test)]
mod tests;
