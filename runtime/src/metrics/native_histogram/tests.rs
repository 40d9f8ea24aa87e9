use super::*;
use std::sync::atomic::Ordering;

fn histogram(options: NativeHistogramOptions) -> NativeHistogram {
    NativeHistogram::new(options).expect("valid options")
}

const POWERS_OF_TWO: NativeHistogramOptions = NativeHistogramOptions {
    factor: 2.0,
    max_buckets: 0,
    min_reset: Duration::ZERO,
    ..NativeHistogramOptions::DEFAULT
};

fn pass(histogram: &NativeHistogram, time: Duration) {
    histogram
        .skew
        .fetch_add(duration_nanos(time), Ordering::Relaxed);
}

#[test]
fn options_are_checked() {
    for (options, problem) in [
        (
            NativeHistogramOptions {
                factor: 1.0,
                ..POWERS_OF_TWO
            },
            "above 1",
        ),
        (
            NativeHistogramOptions {
                factor: f64::NAN,
                ..POWERS_OF_TWO
            },
            "above 1",
        ),
        (
            NativeHistogramOptions {
                zero_threshold: -1.0,
                ..POWERS_OF_TWO
            },
            "`zero_threshold`",
        ),
        (
            NativeHistogramOptions {
                max_zero_threshold: f64::INFINITY,
                ..POWERS_OF_TWO
            },
            "`max_zero_threshold`",
        ),
        (
            NativeHistogramOptions {
                classic_buckets: &[1.0, 0.5],
                ..POWERS_OF_TWO
            },
            "strictly increasing",
        ),
    ] {
        match NativeHistogram::new(options) {
            Err(Error::Config(message)) => assert!(message.contains(problem), "{message}"),
            other => panic!("{options:?} gave {other:?}"),
        }
    }
}

#[test]
fn nan_counts_but_has_no_bucket() {
    let histogram = histogram(POWERS_OF_TWO);
    histogram.observe(f64::NAN);
    histogram.observe(0.0);
    histogram.observe(-0.0);
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.count, 3);
    assert!(snapshot.sum.is_nan());
    assert_eq!(snapshot.zero_count, 2);
    assert!(snapshot.positive.is_empty() && snapshot.negative.is_empty());
}

#[test]
fn scrapes_keep_every_count() {
    let histogram = histogram(NativeHistogramOptions {
        classic_buckets: &[1.0, 10.0],
        ..POWERS_OF_TWO
    });
    for round in 1..=3 {
        histogram.observe(0.5);
        histogram.observe(5.0);
        histogram.observe(50.0);
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 3 * round);
        assert_eq!(snapshot.classic, [(1.0, round), (10.0, 2 * round)]);
        assert_eq!(snapshot.positive, [(-1, round), (3, round), (6, round)]);
    }
}

#[test]
fn the_limit_widens_the_zero_bucket_within_its_maximum() {
    let histogram = histogram(NativeHistogramOptions {
        max_buckets: 2,
        max_zero_threshold: 0.2,
        ..POWERS_OF_TWO
    });
    for value in [0.1, 0.3, 2.0] {
        histogram.observe(value);
    }
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.zero_threshold, 0.125, "bucket -3 is (1/16, 1/8]");
    assert_eq!(snapshot.zero_count, 1);
    assert_eq!(snapshot.positive, [(-1, 1), (1, 1)]);
    assert_eq!(snapshot.schema, 0);
    histogram.observe(4.0);
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.zero_threshold, 0.125, "0.5 is above the maximum");
    assert_eq!(snapshot.schema, -1, "so the resolution halves");
    assert_eq!(snapshot.positive, [(0, 1), (1, 2)]);
    assert_eq!(snapshot.count, 4);
}

#[test]
fn the_limit_halves_the_resolution_down_to_minus_4() {
    let histogram = histogram(NativeHistogramOptions {
        factor: 1.0001,
        max_buckets: 1,
        ..POWERS_OF_TWO
    });
    // One halving per observation over the limit, as in Go.
    for _ in 0..4 {
        for value in [1.0, 1e10, 1e100, 1e300, 1e-300] {
            histogram.observe(value);
        }
    }
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.schema, MIN_SCHEMA);
    assert_eq!(snapshot.count, 20);
    let buckets: u64 = snapshot.positive.iter().map(|(_, count)| count).sum();
    assert_eq!(snapshot.zero_count, 4, "1e-300 is within 2^-128");
    assert_eq!(buckets, 16, "{:?}", snapshot.positive);
    assert!(snapshot.positive.len() > 1, "the limit is best effort");
}

#[test]
fn the_limit_resets_once_min_reset_has_passed() {
    let histogram = histogram(NativeHistogramOptions {
        max_buckets: 2,
        min_reset: Duration::from_secs(3600),
        ..POWERS_OF_TWO
    });
    histogram.observe(1.0);
    histogram.observe(4.0);
    pass(&histogram, Duration::from_secs(3601));
    histogram.observe(16.0);
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.count, 1, "only the observation that hit the limit");
    assert_eq!(snapshot.positive, [(4, 1)]);
    assert_eq!(snapshot.schema, 0);
}

/// Today's client_golang (not 1.14): a limit handled by widening or halving schedules a
/// reset for `min_reset` after the last one.
#[test]
fn halving_schedules_a_reset() {
    let histogram = histogram(NativeHistogramOptions {
        max_buckets: 2,
        min_reset: Duration::from_secs(3600),
        ..POWERS_OF_TWO
    });
    for value in [1.0, 4.0, 16.0] {
        histogram.observe(value);
    }
    assert_eq!(histogram.snapshot().schema, -1);
    pass(&histogram, Duration::from_secs(1800));
    histogram.observe(64.0);
    assert_eq!(histogram.snapshot().count, 4, "not due yet");
    pass(&histogram, Duration::from_secs(1801));
    histogram.observe(2.0);
    let snapshot = histogram.snapshot();
    assert_eq!((snapshot.count, snapshot.schema), (1, 0));
    assert_eq!(snapshot.positive, [(1, 1)]);
    assert_eq!(histogram.reset_due.load(Ordering::Relaxed), 0);
    pass(&histogram, Duration::from_secs(7200));
    assert_eq!(
        histogram.snapshot().count,
        1,
        "a scrape does not reset again"
    );
}

#[test]
fn a_due_reset_happens_at_the_scrape_too() {
    let histogram = histogram(NativeHistogramOptions {
        max_buckets: 1,
        min_reset: Duration::from_secs(60),
        ..POWERS_OF_TWO
    });
    histogram.observe(1.0);
    histogram.observe(4.0);
    pass(&histogram, Duration::from_secs(61));
    let snapshot = histogram.snapshot();
    assert_eq!((snapshot.count, snapshot.sum), (0, 0.0));
    assert!(snapshot.positive.is_empty());
}

#[test]
fn native_exemplars_carry_timestamps() {
    let histogram = histogram(NativeHistogramOptions {
        max_exemplars: 2,
        classic_buckets: &[1.0],
        ..POWERS_OF_TWO
    });
    for value in [0.5, 5.0, 50.0] {
        histogram
            .observe_with_exemplar(value, &[("trace_id", "abc")])
            .expect("valid labels");
    }
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.exemplars.len(), 2);
    assert!(snapshot.exemplars.iter().all(|e| e.timestamp() > 1e9));
    assert!(
        histogram
            .observe_with_exemplar(1.0, &[("bad name", "x")])
            .is_err()
    );
    assert_eq!(histogram.snapshot().count, 4, "recorded even so");
}

/// What an observation does after it read the layout, done by hand once the layout changed
/// under it: it counts `value` in the bucket that layout gave it.
fn observe_late(histogram: &NativeHistogram, layout: (i32, u32), value: f64) {
    let (schema, epoch) = layout;
    let layer = histogram.counts.layer(schema);
    let (count, _) = layer
        .positive
        .bucket(schema::bucket_key(value, schema), epoch);
    count.fetch_add(1, Ordering::Release);
}

/// An observation that read the schema before a halving adds to a bucket of the finer schema;
/// the next scrape finds it in the wider bucket that contains it.
#[test]
fn an_observation_late_for_a_halving_is_counted_in_the_wider_bucket() {
    let histogram = histogram(NativeHistogramOptions {
        max_buckets: 2,
        ..POWERS_OF_TWO
    });
    histogram.observe(1.0);
    histogram.observe(4.0);
    let before = histogram.counts.layout();
    histogram.observe(16.0);
    assert_eq!(histogram.snapshot().schema, -1, "halved");
    observe_late(&histogram, before, 8.0);
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.count, 4);
    assert_eq!(
        snapshot.positive,
        [(0, 1), (1, 1), (2, 2)],
        "8 is in (4, 16]"
    );
    observe_late(&histogram, before, 0.75);
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.positive, [(0, 2), (1, 1), (2, 2)]);
}

/// An observation that read the zero threshold before the limit widened it adds to a bucket
/// now inside the zero bucket; the next scrape counts it there.
#[test]
fn an_observation_late_for_a_wider_zero_bucket_is_counted_in_it() {
    let histogram = histogram(NativeHistogramOptions {
        max_buckets: 2,
        max_zero_threshold: 0.2,
        ..POWERS_OF_TWO
    });
    let before = histogram.counts.layout();
    for value in [0.1, 0.3, 2.0] {
        histogram.observe(value);
    }
    observe_late(&histogram, before, 0.11);
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.zero_threshold, 0.125);
    assert_eq!((snapshot.count, snapshot.zero_count), (4, 2));
    assert_eq!(snapshot.positive, [(-1, 1), (1, 1)]);
}

/// An observation that read the layout before a reset and adds to a bucket of a schema the
/// reset left is dropped, as Go drops what is in flight at a reset; one that adds to the
/// schema the histogram is back at is counted (it ran into the new epoch).
#[test]
fn an_observation_late_for_a_reset_is_dropped_or_counted_whole() {
    let histogram = histogram(NativeHistogramOptions {
        max_buckets: 2,
        min_reset: Duration::from_secs(60),
        ..POWERS_OF_TWO
    });
    let initial = histogram.counts.layout();
    for value in [1.0, 4.0, 16.0] {
        histogram.observe(value);
    }
    let halved = histogram.counts.layout();
    assert_eq!(halved.0, -1);
    pass(&histogram, Duration::from_secs(61));
    assert_eq!(histogram.snapshot().count, 0, "reset");
    observe_late(&histogram, halved, 4.0);
    observe_late(&histogram, initial, 4.0);
    let snapshot = histogram.snapshot();
    assert_eq!((snapshot.count, snapshot.schema), (1, 0));
    assert_eq!(snapshot.positive, [(2, 1)]);
}

/// Threads observe the same values while another scrapes; the limit halves the resolution
/// under them. Whatever the interleaving, the resolution ends where the distinct buckets first
/// fit the limit, and count, sum and every bucket are exact.
#[test]
fn concurrent_observations_are_all_counted() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = if cfg!(miri) { 3 } else { 2_000 };
    let values: Vec<f64> = (1..=40).map(|step| f64::from(step) * 0.75).collect();
    let options = NativeHistogramOptions {
        factor: 1.0001,
        max_buckets: 12,
        classic_buckets: &[1.0, 10.0],
        ..POWERS_OF_TWO
    };
    let histogram = histogram(options);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let snapshot = histogram.snapshot();
                let in_buckets: u64 =
                    snapshot.zero_count + snapshot.positive.iter().map(|(_, c)| c).sum::<u64>();
                assert_eq!(
                    in_buckets, snapshot.count,
                    "a scrape sees whole observations"
                );
                std::thread::yield_now();
            }
        });
        let observers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..ROUNDS {
                        for value in &values {
                            histogram.observe(*value);
                        }
                    }
                })
            })
            .collect();
        for observer in observers {
            observer.join().expect("observer");
        }
        done.store(true, Ordering::Relaxed);
    });
    let mut schema = MAX_SCHEMA;
    let distinct = |schema| {
        let mut keys: Vec<i32> = values
            .iter()
            .map(|v| schema::bucket_key(*v, schema))
            .collect();
        keys.dedup();
        keys
    };
    while distinct(schema).len() > 12 {
        schema -= 1;
    }
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.schema, schema);
    let observations = THREADS * ROUNDS;
    assert_eq!(snapshot.count, observations * values.len() as u64);
    assert_eq!(
        snapshot.sum,
        values.iter().sum::<f64>() * observations as f64
    );
    let mut expected: Vec<(i32, u64)> = Vec::new();
    for key in values.iter().map(|v| schema::bucket_key(*v, schema)) {
        match expected.last_mut() {
            Some((last, count)) if *last == key => *count += observations,
            _ => expected.push((key, observations)),
        }
    }
    assert_eq!(snapshot.positive, expected);
    assert_eq!(
        snapshot.classic,
        [(1.0, observations), (10.0, 13 * observations)]
    );
}

/// Threads observe while the limit widens the zero bucket under them and another thread scrapes: nothing is lost or counted twice, whichever bucket
/// or layout each observation met.
#[test]
fn concurrent_observations_survive_a_widening_zero_bucket() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = if cfg!(miri) { 3 } else { 2_000 };
    // Multiples of 2^-10: their sum is exact in any order.
    let values: Vec<f64> = (1..=24)
        .map(|step| f64::from(step * step) / 1024.0)
        .collect();
    let histogram = histogram(NativeHistogramOptions {
        max_buckets: 6,
        max_zero_threshold: 0.1,
        ..POWERS_OF_TWO
    });
    let done = std::sync::atomic::AtomicBool::new(false);
    // All at once, so that the widenings (in the first observations) race them.
    let start = std::sync::Barrier::new(THREADS as usize);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let snapshot = histogram.snapshot();
                let in_buckets: u64 =
                    snapshot.zero_count + snapshot.positive.iter().map(|(_, c)| c).sum::<u64>();
                assert_eq!(in_buckets, snapshot.count);
                std::thread::yield_now();
            }
        });
        let observers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    for _ in 0..ROUNDS {
                        for value in &values {
                            histogram.observe(*value);
                        }
                    }
                })
            })
            .collect();
        for observer in observers {
            observer.join().expect("observer");
        }
        done.store(true, Ordering::Relaxed);
    });
    let snapshot = histogram.snapshot();
    let observations = THREADS * ROUNDS;
    assert_eq!(snapshot.count, observations * values.len() as u64);
    assert_eq!(
        snapshot.sum,
        values.iter().sum::<f64>() * observations as f64
    );
    // Keys -10..=0 at schema 0: widened five times, until 6 buckets are left.
    assert_eq!((snapshot.zero_threshold, snapshot.schema), (1.0 / 64.0, 0));
    let in_buckets: u64 = snapshot.positive.iter().map(|(_, c)| c).sum();
    assert_eq!(snapshot.zero_count + in_buckets, snapshot.count);
    let zero = values
        .iter()
        .filter(|v| **v <= snapshot.zero_threshold)
        .count() as u64;
    assert_eq!(
        snapshot.zero_count,
        zero * observations,
        "what the zero bucket holds"
    );
}
