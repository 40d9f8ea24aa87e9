use super::*;
use crate::encoding::{Encoder, Format};
use crate::metrics::Descriptor;

fn summary(objectives: &'static [(f64, f64)], buf_cap: u32) -> Summary {
    Summary::new(&SummaryOptions {
        objectives,
        buf_cap,
        ..SummaryOptions::DEFAULT
    })
    .expect("valid options")
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Asserts that each reported value sits at a rank within `max(εn, 1)` of `φn` in `observed`.
fn assert_within_bound(observed: &[f64], reported: &[(f64, f64)], epsilon: f64, case: &str) {
    let mut sorted: Vec<f64> = observed.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let allowance = (epsilon * n).max(1.0);
    for &(quantile, value) in reported {
        let first_rank = sorted.partition_point(|v| *v < value) + 1;
        let last_rank = sorted.partition_point(|v| *v <= value);
        assert!(
            last_rank >= first_rank,
            "{case}: {value} was never observed"
        );
        let target = quantile * n;
        assert!(
            first_rank as f64 <= target + allowance && last_rank as f64 >= target - allowance,
            "{case}: quantile {quantile} = {value} has ranks {first_rank}..={last_rank}, \
             target {target} ± {allowance} of {n}"
        );
    }
}

const OBJECTIVES: &[(f64, f64)] = &[(0.01, 0.001), (0.5, 0.05), (0.9, 0.01), (0.99, 0.001)];

fn streams() -> Vec<(&'static str, Vec<f64>)> {
    let n = 20_000;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let random: Vec<f64> = (0..n).map(|_| rng.unit()).collect();
    let heavy_tail: Vec<f64> = (0..n).map(|_| (1.0 - rng.unit()).powf(-3.0)).collect();
    let ascending: Vec<f64> = (0..n).map(f64::from).collect();
    let descending: Vec<f64> = ascending.iter().rev().copied().collect();
    // Each new value lands between the two previous extremes: the middle is filled last.
    let zigzag: Vec<f64> = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                f64::from(i)
            } else {
                -f64::from(i)
            }
        })
        .collect();
    let few_values: Vec<f64> = (0..n).map(|_| (rng.next() % 4) as f64).collect();
    let sawtooth: Vec<f64> = (0..n).map(|i| f64::from(i % 1000)).collect();
    let with_specials: Vec<f64> = (0..n)
        .map(|i| match i % 7 {
            0 => f64::INFINITY,
            1 => f64::NEG_INFINITY,
            2 => f64::NAN,
            3 => f64::MIN_POSITIVE / 4.0,
            4 => -0.0,
            _ => rng.unit() * 1e300,
        })
        .collect();
    vec![
        ("random", random),
        ("heavy tail", heavy_tail),
        ("ascending", ascending),
        ("descending", descending),
        ("zigzag", zigzag),
        ("few values", few_values),
        ("sawtooth", sawtooth),
        ("specials", with_specials),
    ]
}

#[test]
fn every_quantile_is_within_the_tightest_objectives_rank_error() {
    for (case, values) in streams() {
        for buf_cap in [1, 500] {
            let summary = summary(OBJECTIVES, buf_cap);
            for (index, value) in values.iter().enumerate() {
                summary.observe(*value);
                // Queries in between: answers must hold at any point, not only at the end.
                if index % 6_999 == 0 {
                    let seen = &values[..=index];
                    assert_within_bound(seen, &summary.quantiles(), 0.001, case);
                }
            }
            assert_within_bound(&values, &summary.quantiles(), 0.001, case);
            assert_eq!(summary.count(), values.len() as u64);
        }
    }
}

#[test]
fn memory_stays_far_below_the_observation_count() {
    let summary = summary(&[(0.5, 0.01)], 500);
    let mut rng = Rng(7);
    for _ in 0..200_000 {
        summary.observe(rng.unit());
    }
    let quantiles = summary.quantiles.as_deref().expect("objectives");
    let kept = quantiles.lock().window.kept();
    assert!(kept < 2_000, "{kept} values kept for 200000 observations");
}

#[test]
fn small_windows_are_exact() {
    let summary = summary(&[(0.0, 0.01), (0.5, 0.01), (1.0, 0.01)], 500);
    for value in [3.0, 1.0, 2.0] {
        summary.observe(value);
    }
    assert_eq!(summary.quantiles(), [(0.0, 1.0), (0.5, 2.0), (1.0, 3.0)]);
}

#[test]
fn an_empty_window_serves_nan_and_nan_has_no_rank() {
    let summary = summary(&[(0.5, 0.05)], 500);
    assert!(summary.quantiles()[0].1.is_nan());
    summary.observe(f64::NAN);
    assert!(summary.quantiles()[0].1.is_nan());
    summary.observe(2.0);
    assert_eq!(summary.quantiles(), [(0.5, 2.0)]);
    assert_eq!(summary.count(), 2);
    assert!(summary.sum().is_nan());
}

#[test]
fn observations_leave_the_window_after_max_age() {
    let start = Instant::now();
    let minute = Duration::from_secs(60);
    let options = SummaryOptions {
        objectives: &[(0.5, 0.01)],
        max_age: 10 * minute,
        age_buckets: 5,
        ..SummaryOptions::DEFAULT
    };
    let summary = Summary::with_valid_objectives(&options, start);
    for _ in 0..100 {
        summary.observe(1.0);
    }
    assert_eq!(summary.quantiles_at(start + minute), [(0.5, 1.0)]);
    // At 4 minutes the old ones are still the majority of the window.
    for _ in 0..50 {
        summary.observe(5.0);
    }
    assert_eq!(summary.quantiles_at(start + 4 * minute), [(0.5, 1.0)]);
    let window_count =
        |summary: &Summary| summary.quantiles.as_deref().unwrap().lock().window.count();
    assert_eq!(window_count(&summary), 150);
    // The bucket of minutes 0-2 leaves when the window moves past 10 minutes.
    assert_eq!(summary.quantiles_at(start + 10 * minute), [(0.5, 5.0)]);
    assert_eq!(window_count(&summary), 50);
    // After a whole max age without a scrape nothing is left; count and sum are all time.
    assert!(summary.quantiles_at(start + 30 * minute)[0].1.is_nan());
    assert_eq!(summary.count(), 150);
    assert_eq!(summary.sum(), 350.0);
}

#[test]
fn concurrent_observes_keep_exact_count_and_sum() {
    let summary = summary(&[(0.5, 0.05), (0.99, 0.001)], 64);
    let (threads, per_thread) = (8_u32, 20_000_u32);
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let summary = &summary;
            scope.spawn(move || {
                for i in 0..per_thread {
                    summary.observe(f64::from((i + thread) % 100));
                    if i % 5_000 == 0 {
                        let _ = summary.quantiles();
                    }
                }
            });
        }
    });
    let n = u64::from(threads) * u64::from(per_thread);
    assert_eq!(summary.count(), n);
    let expected: f64 = (0..threads)
        .flat_map(|thread| (0..per_thread).map(move |i| f64::from((i + thread) % 100)))
        .sum();
    assert_eq!(summary.sum(), expected);
    let quantiles = summary.quantiles();
    let window = summary.quantiles.as_deref().unwrap().lock().window.count();
    assert_eq!(window, n, "every observation reached the window");
    assert!((quantiles[0].1 - 49.5).abs() <= 6.0, "{quantiles:?}");
}

#[test]
fn no_objectives_serve_count_and_sum_only() {
    let summary = Summary::default();
    summary.observe(1.5);
    summary.observe(2.0);
    assert!(summary.quantiles().is_empty());
    assert_eq!(
        render(&summary, Format::Text),
        "\
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds_sum 3.5
rpc_seconds_count 2
"
    );
}

#[test]
fn both_text_formats_serve_quantile_samples() {
    let summary = summary(&[(0.5, 0.05), (0.9, 0.01)], 500);
    for value in [1.0, 2.0, 3.0, 4.0] {
        summary.observe(value);
    }
    assert_eq!(
        render(&summary, Format::Text),
        "\
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{quantile=\"0.5\"} 2.0
rpc_seconds{quantile=\"0.9\"} 4.0
rpc_seconds_sum 10.0
rpc_seconds_count 4
"
    );
    assert_eq!(
        render(&summary, Format::OpenMetrics),
        "\
# TYPE rpc_seconds summary
# UNIT rpc_seconds seconds
# HELP rpc_seconds RPC latency.
rpc_seconds{quantile=\"0.5\"} 2.0
rpc_seconds{quantile=\"0.9\"} 4.0
rpc_seconds_sum 10.0
rpc_seconds_count 4
# EOF
"
    );
}

#[test]
fn invalid_configured_objectives_are_left_out() {
    let config = MetricConfig {
        summary: SummaryOptions {
            objectives: &[
                (0.5, 0.05),
                (2.0, 0.1),
                (0.9, f64::NAN),
                (0.5, 0.5),
                (0.1, 0.01),
            ],
            ..SummaryOptions::DEFAULT
        },
        ..MetricConfig::DEFAULT
    };
    let summary = <Summary as Series>::new(&config);
    assert_eq!(
        &*summary.quantiles.as_deref().unwrap().quantiles,
        [0.1, 0.5]
    );
    assert_eq!(summary.quantiles.as_deref().unwrap().epsilon, 0.01);
}

fn render(summary: &Summary, format: Format) -> String {
    let descriptor = Descriptor {
        name: "rpc_seconds",
        help: "RPC latency.",
        unit: Some("seconds"),
        kind: MetricKind::Summary,
    };
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, format);
    Series::encode(summary, &mut encoder.family(&descriptor, ""), "");
    encoder.finish();
    String::from_utf8(out).expect("text")
}
