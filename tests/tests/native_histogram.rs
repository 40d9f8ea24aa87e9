//! Differential test: the same observations fed to client_golang's native histogram (the
//! reference, Debian's 1.14, built from tests/go/native_histogram) and to promexport's give the
//! same schema, zero bucket, count, sum and buckets: fixed values, edge values, seeded random
//! sequences, and sequences that force each step of the bucket limit.
//!
//! Where 1.14 and today's client_golang differ, promexport follows today's, and the comparison
//! leaves out what 1.14 gets wrong or lacks:
//! - at schemas of 0 and below, 1.14 divides bucket indexes rounding toward zero instead of down
//!   (`(key + div - 1) / div`; today's `(key + offset) >> -schema`), so a value below `2^-div`
//!   (`div = 2^-schema`) can land one bucket above the one that holds it. Sequences compared at
//!   such schemas keep to values above that ([`indexed_alike_by_1_14`]), and
//!   [`negative_schemas_index_as_todays_client_golang`] pins today's indexing by the bucket
//!   bounds themselves;
//! - today's schedules a reset `min_reset` after the last one when the limit is handled by
//!   widening or halving; 1.14 does not. [`a_scheduled_reset_follows_todays_client_golang`]
//!   compares with 1.14 fed the observations after that reset.

use promexport::{
    DEFAULT_ZERO_THRESHOLD, Format, Metrics, NativeHistogram, NativeHistogramOptions, Registry,
};
use serde_json::Value;
use std::fmt::Write;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Step {
    Observe(f64),
    Sleep(u64),
    /// A scrape in between: it moves late counts into the current layout, and must change nothing.
    Write,
}

/// What both print or snapshot, compared field by field (floats by their bits).
#[derive(Debug, PartialEq)]
struct Outcome {
    schema: i32,
    zero_threshold: u64,
    zero_count: u64,
    count: u64,
    sum: u64,
    positive: Vec<(i32, u64)>,
    negative: Vec<(i32, u64)>,
}

fn options(factor: f64, max_buckets: u32) -> NativeHistogramOptions {
    NativeHistogramOptions {
        factor,
        max_buckets,
        min_reset: Duration::ZERO,
        max_zero_threshold: 0.0,
        ..NativeHistogramOptions::DEFAULT
    }
}

fn client_golang(options: &NativeHistogramOptions, steps: &[Step]) -> Outcome {
    // Go's 0 means its default threshold; its "exactly zero" is -1.
    let zero_threshold = if options.zero_threshold == 0.0 {
        -1.0
    } else {
        options.zero_threshold
    };
    let mut input = format!(
        "options {:016x} {:016x} {} {} {:016x}\n",
        options.factor.to_bits(),
        f64::to_bits(zero_threshold),
        options.max_buckets,
        options.min_reset.as_millis(),
        options.max_zero_threshold.to_bits()
    );
    for step in steps {
        match step {
            Step::Observe(value) => writeln!(input, "observe {:016x}", value.to_bits()),
            Step::Sleep(millis) => writeln!(input, "sleep {millis}"),
            Step::Write => writeln!(input, "write"),
        }
        .expect("write to a String");
    }
    let mut child = Command::new(promexport_tests::go_program("native_histogram"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Go program");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("feed the Go program");
    let output = child.wait_with_output().expect("wait for the Go program");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "Go program failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = |name: &str| -> &str {
        stdout
            .lines()
            .find_map(|line| {
                let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
                (key == name).then_some(rest)
            })
            .unwrap_or_else(|| panic!("no `{name}` in {stdout}"))
    };
    let number = |name: &str| line(name).parse::<u64>().expect("a count");
    let bits = |name: &str| u64::from_str_radix(line(name), 16).expect("float bits");
    let buckets = |name: &str| {
        line(name)
            .split_whitespace()
            .map(|pair| {
                let (index, count) = pair.split_once(':').expect("index:count");
                (
                    index.parse().expect("an index"),
                    count.parse().expect("a count"),
                )
            })
            .collect()
    };
    Outcome {
        schema: line("schema").parse().expect("a schema"),
        zero_threshold: bits("zero_threshold"),
        zero_count: number("zero_count"),
        count: number("count"),
        sum: bits("sum"),
        positive: buckets("positive"),
        negative: buckets("negative"),
    }
}

fn promexport(options: &NativeHistogramOptions, steps: &[Step]) -> Outcome {
    let histogram = NativeHistogram::new(*options).expect("valid options");
    for step in steps {
        match step {
            Step::Observe(value) => histogram.observe(*value),
            Step::Sleep(millis) => std::thread::sleep(Duration::from_millis(*millis)),
            Step::Write => drop(histogram.snapshot()),
        }
    }
    let snapshot = histogram.snapshot();
    Outcome {
        schema: snapshot.schema,
        zero_threshold: snapshot.zero_threshold.to_bits(),
        zero_count: snapshot.zero_count,
        count: snapshot.count,
        sum: snapshot.sum.to_bits(),
        positive: snapshot.positive,
        negative: snapshot.negative,
    }
}

fn observations(values: &[f64]) -> Vec<Step> {
    values.iter().copied().map(Step::Observe).collect()
}

#[track_caller]
fn assert_same(case: &str, options: &NativeHistogramOptions, steps: &[Step]) -> Outcome {
    let reference = client_golang(options, steps);
    let ours = promexport(options, steps);
    let nan_sums = f64::from_bits(reference.sum).is_nan() && f64::from_bits(ours.sum).is_nan();
    let ours_compared = Outcome {
        sum: if nan_sums { reference.sum } else { ours.sum },
        ..ours
    };
    assert_eq!(
        ours_compared, reference,
        "{case}: promexport (left) vs client_golang (right)"
    );
    reference
}

/// The factor that picks `schema`, a hair above `2^(2^-schema)` so rounding cannot pick the next.
fn factor_of(schema: i32) -> f64 {
    2f64.powf(2f64.powi(-schema)) * (1.0 + 1e-9)
}

/// A seeded splitmix64: the same sequences on every run, with no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-uniform magnitudes over `10^low..10^high`, negative one time in `negative_one_in`.
    fn values(&mut self, count: usize, low: f64, high: f64, negative_one_in: u64) -> Vec<f64> {
        (0..count)
            .map(|_| {
                let magnitude = 10f64.powf(low + (high - low) * self.unit());
                if self.next().is_multiple_of(negative_one_in) {
                    -magnitude
                } else {
                    magnitude
                }
            })
            .collect()
    }
}

/// Whether client_golang 1.14 puts `value` in the same bucket as today's at every schema from
/// `lowest_schema` up (see the module docs).
fn indexed_alike_by_1_14(value: f64, lowest_schema: i32) -> bool {
    lowest_schema > 0
        || !value.is_finite()
        || value == 0.0
        || value.abs() > 2f64.powi(-(1 << -lowest_schema))
}

fn alike_by_1_14(values: &[f64], lowest_schema: i32) -> Vec<f64> {
    values
        .iter()
        .copied()
        .filter(|value| indexed_alike_by_1_14(*value, lowest_schema))
        .collect()
}

fn edge_values() -> Vec<f64> {
    let mut values = vec![
        0.0,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        -f64::MAX,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::MIN_POSITIVE / 2.0,
        5e-324,
        -5e-324,
        1e-310,
        DEFAULT_ZERO_THRESHOLD,
        -DEFAULT_ZERO_THRESHOLD,
        DEFAULT_ZERO_THRESHOLD.next_up(),
        DEFAULT_ZERO_THRESHOLD.next_down(),
        1.0,
        -1.0,
        0.1,
        1e300,
        1.5,
    ];
    for exponent in (-1074..=1023).step_by(7) {
        let power = 2f64.powi(exponent);
        values.extend([power, power.next_up(), power.next_down(), -power]);
    }
    values
}

#[test]
fn fixed_values_match_at_every_schema() {
    let values = [
        1.0, 2.0, 3.0, 0.5, 0.001, 100.0, 1.1, 1.2, 1.3, 7.0, 0.25, 1e6, 42.0,
    ];
    for schema in -4..=8 {
        let options = options(factor_of(schema), 0);
        let values = alike_by_1_14(&values, schema);
        let outcome = assert_same(
            &format!("schema {schema}"),
            &options,
            &observations(&values),
        );
        assert_eq!(outcome.schema, schema, "factor {}", options.factor);
    }
    for factor in [1.1, 1.5, 2.0, 1.0001, 1e9] {
        let values = alike_by_1_14(&values, -4);
        assert_same(
            &format!("factor {factor}"),
            &options(factor, 0),
            &observations(&values),
        );
    }
}

#[test]
fn edge_values_match() {
    for schema in [-4, -1, 0, 1, 3, 8] {
        let values = observations(&alike_by_1_14(&edge_values(), schema));
        let default = options(factor_of(schema), 0);
        assert_same(&format!("edges at schema {schema}"), &default, &values);
        let exact_zero = NativeHistogramOptions {
            zero_threshold: 0.0,
            ..default
        };
        assert_same(
            &format!("edges at schema {schema}, zero threshold 0"),
            &exact_zero,
            &values,
        );
        let wide_zero = NativeHistogramOptions {
            zero_threshold: 0.5,
            ..default
        };
        assert_same(
            &format!("edges at schema {schema}, zero threshold 0.5"),
            &wide_zero,
            &values,
        );
    }
}

#[test]
fn random_sequences_match() {
    for seed in 1..=6 {
        let mut random = Random(seed);
        let schema = (seed as i32 * 3) % 13 - 4;
        let values = alike_by_1_14(&random.values(3_000, -12.0, 12.0, 4), schema);
        let mut steps = observations(&values);
        // Scrapes in between must not change anything.
        for at in [steps.len() / 30, steps.len() / 3, steps.len() * 2 / 3] {
            steps.insert(at, Step::Write);
        }
        assert_same(
            &format!("seed {seed}"),
            &options(factor_of(schema), 0),
            &steps,
        );
    }
}

#[test]
fn the_limit_halves_the_resolution_as_client_golang() {
    for seed in 10..=13 {
        let mut random = Random(seed);
        // Above 10^-0.45, indexed alike by 1.14 down to schema -4.
        let mut steps = observations(&random.values(2_000, -0.45, 3.0, 5));
        steps.insert(500, Step::Write);
        let options = options(1.005, 20);
        let outcome = assert_same(&format!("halving, seed {seed}"), &options, &steps);
        assert!(
            outcome.schema < 6,
            "the limit halved the resolution: {outcome:?}"
        );
    }
    let huge_range = observations(&alike_by_1_14(&edge_values(), -4));
    let outcome = assert_same("halving to -4", &options(1.0001, 5), &huge_range);
    assert_eq!(outcome.schema, -4);
}

#[test]
fn the_limit_widens_the_zero_bucket_as_client_golang() {
    for seed in 20..=23 {
        let mut random = Random(seed);
        let mut steps = observations(&random.values(2_000, -6.0, 2.0, 3));
        steps.insert(700, Step::Write);
        let options = NativeHistogramOptions {
            max_zero_threshold: 1e-3,
            ..options(1.1, 40)
        };
        let outcome = assert_same(&format!("widening, seed {seed}"), &options, &steps);
        let zero_threshold = f64::from_bits(outcome.zero_threshold);
        assert!(
            zero_threshold > DEFAULT_ZERO_THRESHOLD && zero_threshold <= 1e-3,
            "the limit widened the zero bucket: {outcome:?}"
        );
    }
}

#[test]
fn the_limit_resets_as_client_golang_once_min_reset_has_passed() {
    let mut random = Random(30);
    let options = NativeHistogramOptions {
        min_reset: Duration::from_millis(50),
        ..options(1.1, 30)
    };
    // Under the limit until well after `min_reset`, then over it: a reset keeping the
    // observation that went over, in 1.14 and today's alike.
    let mut steps = observations(&[1.0, 2.0, 4.0]);
    steps.push(Step::Sleep(200));
    steps.extend(observations(&random.values(500, -0.45, 3.0, 2)));
    let outcome = assert_same("reset", &options, &steps);
    assert!(
        outcome.count < 503,
        "the limit reset the histogram: {outcome:?}"
    );
}

/// Today's client_golang schedules a reset for `min_reset` after the last one when the limit
/// was handled by halving (or widening); 1.14 does not and resets only at the next observation
/// over the limit. promexport follows today's: after the scheduled reset it holds what 1.14
/// holds for the observations after it alone.
#[test]
fn a_scheduled_reset_follows_todays_client_golang() {
    let options = NativeHistogramOptions {
        min_reset: Duration::from_millis(1_000),
        ..options(2.0, 3)
    };
    // Buckets 0, 2, 4, then 1 is one too many: halved to 0, 1, 1, 2, under the limit again.
    let over_the_limit = observations(&[1.0, 4.0, 16.0, 2.0]);
    // In buckets that exist at schema -1 (so 1.14 stays under the limit and never resets).
    let after = observations(&[3.0, 5.0]);
    let mut steps = over_the_limit.clone();
    steps.push(Step::Sleep(1_500));
    steps.extend(&after);
    let ours = promexport(&options, &steps);
    assert_eq!(
        ours,
        client_golang(&options, &after),
        "the reset was due before `after`"
    );
    let go_1_14 = client_golang(&options, &steps);
    assert_eq!(
        (go_1_14.count, go_1_14.schema),
        (6, -1),
        "client_golang 1.14 keeps what came before (if this fails, the reference was upgraded: compare with it directly)"
    );
}

/// `2^exponent`, exactly (`powi` of a negative exponent goes through a reciprocal that
/// overflows below `2^-1023`).
fn power_of_two(exponent: i32) -> f64 {
    match exponent {
        ..-1074 => 0.0,
        -1074..-1022 => f64::from_bits(1 << (exponent + 1074)),
        -1022..1024 => f64::from_bits(((exponent + 1023) as u64) << 52),
        _ => f64::INFINITY,
    }
}

/// At schemas of 0 and below, every value lands in the bucket whose bounds hold it (bucket `i`
/// is `(2^((i-1)·div), 2^(i·div)]`, exact in floating point), which 1.14 misses for values below
/// `2^-div`.
#[test]
fn negative_schemas_index_as_todays_client_golang() {
    let zero_only = |schema| NativeHistogramOptions {
        zero_threshold: 0.0,
        ..options(factor_of(schema), 0)
    };
    for schema in -4..=0 {
        let div = 1 << -schema;
        for value in edge_values() {
            if !value.is_finite() || value == 0.0 {
                continue;
            }
            let outcome = promexport(&zero_only(schema), &[Step::Observe(value)]);
            let (buckets, magnitude) = if value > 0.0 {
                (&outcome.positive, value)
            } else {
                (&outcome.negative, -value)
            };
            let [(key, 1)] = buckets[..] else {
                panic!("{value} at schema {schema}: {outcome:?}");
            };
            let bound = |key: i32| power_of_two(key * div);
            // Keys whose bounds are beyond the floats' range are checked at the other end only.
            assert!(
                magnitude <= bound(key) || key * div >= 1024,
                "{value} at {schema}: {key}"
            );
            assert!(magnitude > bound(key - 1), "{value} at {schema}: {key}");
        }
    }
    // 2^-2.5 is in (2^-4, 2^-2], bucket -1 at schema -1; 1.14 says 0, (2^-2, 1].
    let value = 2f64.powf(-2.5);
    let ours = promexport(&zero_only(-1), &[Step::Observe(value)]);
    assert_eq!(ours.positive, [(-1, 1)]);
    let go_1_14 = client_golang(&zero_only(-1), &[Step::Observe(value)]);
    assert_eq!(
        go_1_14.positive,
        [(0, 1)],
        "client_golang 1.14 rounds toward zero (if this fails, the reference was upgraded: compare with it directly)"
    );
}

#[test]
fn concurrent_observations_are_exact() {
    const THREADS: usize = 4;
    const EACH: usize = 25_000;
    let histogram = NativeHistogram::new(options(1.1, 0)).expect("valid options");
    let mut random = Random(40);
    let values = random.values(THREADS * EACH, -4.0, 4.0, 3);
    // Multiples of 2^-20 within a range where their sum stays exact in any order.
    let values: Vec<f64> = values
        .iter()
        .map(|v| (v * 1_048_576.0).round() / 1_048_576.0)
        .collect();
    std::thread::scope(|scope| {
        for chunk in values.chunks(EACH) {
            let histogram = &histogram;
            scope.spawn(move || chunk.iter().for_each(|v| histogram.observe(*v)));
        }
        scope.spawn(|| {
            for _ in 0..200 {
                let snapshot = histogram.snapshot();
                let in_buckets = snapshot.zero_count
                    + snapshot.positive.iter().map(|(_, c)| c).sum::<u64>()
                    + snapshot.negative.iter().map(|(_, c)| c).sum::<u64>();
                assert_eq!(
                    in_buckets, snapshot.count,
                    "a scrape sees whole observations"
                );
            }
        });
    });
    let concurrent = histogram.snapshot();
    let sequential = promexport(&options(1.1, 0), &observations(&values));
    assert_eq!(concurrent.count, (THREADS * EACH) as u64);
    assert_eq!(concurrent.sum.to_bits(), sequential.sum, "the sum is exact");
    assert_eq!(concurrent.positive, sequential.positive);
    assert_eq!(concurrent.negative, sequential.negative);
    assert_eq!(concurrent.zero_count, sequential.zero_count);
    let reference = client_golang(&options(1.1, 0), &observations(&values));
    assert_eq!(
        concurrent.positive, reference.positive,
        "and they are client_golang's"
    );
}

#[derive(Metrics)]
#[metrics(no_global)]
struct Served {
    /// Request latency, native beside classic buckets.
    #[metric(unit = "seconds", buckets = [0.5, 5.0], native(factor = 1.1, max_buckets = 40))]
    latency: NativeHistogram,
}

/// Absolute `(index, count)` pairs of decoded spans and deltas, zero counts left out.
fn absolute_buckets(spans: &Value, deltas: &Value) -> Vec<(i32, u64)> {
    let mut deltas = deltas.as_array().expect("deltas").iter();
    let (mut index, mut count) = (0i64, 0i64);
    let mut buckets = Vec::new();
    for span in spans.as_array().expect("spans") {
        index += span["offset"].as_i64().expect("offset");
        for _ in 0..span["length"].as_u64().expect("length") {
            count += deltas
                .next()
                .and_then(Value::as_i64)
                .expect("a delta per bucket");
            if count != 0 {
                buckets.push((index as i32, count as u64));
            }
            index += 1;
        }
    }
    buckets
}

fn float(value: &Value) -> f64 {
    value
        .as_str()
        .expect("a float as a string")
        .parse()
        .expect("a float")
}

/// The protobuf exposition of a derived `NativeHistogram`, decoded by client_golang's `expfmt`,
/// holds what client_golang's own native histogram holds after the same observations (with the
/// limit halving the resolution), and the classic buckets beside.
#[test]
fn protobuf_serves_what_client_golang_holds() {
    let registry = Registry::new();
    let metrics = Arc::new(Served::new());
    registry.register(metrics.clone()).unwrap();
    // Above 10^-0.45, indexed alike by 1.14 down to schema -4.
    let values = Random(50).values(800, -0.45, 3.0, 4);
    for value in &values {
        metrics.latency.observe(*value);
    }
    let families = promexport_tests::go_decode(&registry.render_bytes(Format::Protobuf));
    let family = families
        .iter()
        .find(|family| family["name"] == "latency_seconds")
        .expect("the family is served");
    let histogram = &family["metrics"][0]["histogram"];
    let served = Outcome {
        schema: histogram["schema"].as_i64().expect("a schema") as i32,
        zero_threshold: float(&histogram["zero_threshold"]).to_bits(),
        zero_count: histogram["zero_count"].as_u64().expect("a zero count"),
        count: histogram["count"].as_u64().expect("a count"),
        sum: float(&histogram["sum"]).to_bits(),
        positive: absolute_buckets(&histogram["positive_spans"], &histogram["positive_deltas"]),
        negative: absolute_buckets(&histogram["negative_spans"], &histogram["negative_deltas"]),
    };
    let reference = client_golang(metrics.latency.options(), &observations(&values));
    assert!(
        reference.schema < 3,
        "the limit halved the resolution: {reference:?}"
    );
    // The sum goes through decimal text in the decoder: compare it as a number.
    assert_eq!(
        f64::from_bits(served.sum),
        f64::from_bits(reference.sum),
        "{histogram}"
    );
    assert_eq!(
        Outcome {
            sum: reference.sum,
            ..served
        },
        reference,
        "{histogram}"
    );
    let classic: Vec<(f64, u64)> = histogram["buckets"]
        .as_array()
        .expect("classic buckets")
        .iter()
        .map(|bucket| {
            (
                float(&bucket["upper_bound"]),
                bucket["cumulative_count"].as_u64().expect("a count"),
            )
        })
        .collect();
    let up_to = |bound: f64| values.iter().filter(|v| **v <= bound).count() as u64;
    assert_eq!(classic, [(0.5, up_to(0.5)), (5.0, up_to(5.0))]);
}
