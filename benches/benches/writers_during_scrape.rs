//! Writers while a large scrape runs (issue 14, item 4): latency of incrementing an existing
//! series and of creating a new one, in a family of 1,000,000 series with two string labels,
//! while another thread renders the registry, against the same family idle.
//!
//! Two writer threads, one incrementing existing series and one creating new ones, each do one
//! operation every 100 µs, from the first scrape's start to the last one's end (3 scrapes), and
//! then for as long again with no scrape. An operation's latency is timed around the call; one
//! that took longer than the 100 µs interval also counts, as HdrHistogram's expected-interval
//! correction does, the operations its stall kept from starting (at its latency minus 100 µs,
//! minus 200 µs, and so on), so a writer stalled for a whole scrape shows as the thousands of
//! late operations it is, not as one slow sample.
//!
//! It uses only `Family::get` and `Registry::render`, so the same file builds against promexport
//! before the change: copy it onto an older checkout to compare the two in one run (see
//! `benches/README.md`). Run with `cargo bench -p promexport-benches --bench
//! writers_during_scrape` (arguments are ignored).

use promexport::{Counter, Family, Format, LabelSet, Metrics, Registry};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Series in the family before the measurement starts.
const SERIES: usize = 1_000_000;
/// Scrapes measured; the writers run from the first one's start to the last one's end.
const SCRAPES: usize = 3;
/// Each writer starts one operation per interval.
const INTERVAL: Duration = Duration::from_micros(100);
/// Existing series the incrementing writer cycles through (spread over the family).
const HOT_SERIES: usize = 4_096;
/// New label sets prepared for the creating writer of each phase (it wraps around to them,
/// then existing, should a phase outlast them: 20 s at one per interval).
const NEW_SERIES: usize = 200_000;
/// Bound on the time of the scrapes, should they be far slower than expected.
const PHASE_LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct StringLabels {
    method: String,
    path: String,
}

#[derive(Metrics)]
struct WriterMetrics {
    /// Requests served.
    #[metric(name = "bench_requests", max_series = 4_000_000)]
    requests: Family<StringLabels, Counter>,
}

fn labels(i: usize) -> StringLabels {
    StringLabels {
        method: ["get", "post", "put", "delete"][i % 4].to_owned(),
        path: format!("/api/v1/items/{}", i / 4),
    }
}

/// Latencies of one writer, in nanoseconds, corrected for the operations a stall held back.
struct Latencies(Vec<u64>);

impl Latencies {
    fn record(&mut self, took: Duration) {
        let interval = INTERVAL.as_nanos() as u64;
        let mut nanos = took.as_nanos() as u64;
        self.0.push(nanos);
        while nanos > interval {
            nanos -= interval;
            self.0.push(nanos);
        }
    }

    fn report(mut self, what: &str) {
        self.0.sort_unstable();
        let at = |quantile: f64| {
            let rank = ((self.0.len() as f64 * quantile).ceil() as usize).saturating_sub(1);
            format_nanos(self.0[rank.min(self.0.len() - 1)])
        };
        println!(
            "{what:<44} {:>8} samples  p50 {:>9}  p99 {:>9}  p99.9 {:>9}  max {:>9}",
            self.0.len(),
            at(0.5),
            at(0.99),
            at(0.999),
            format_nanos(*self.0.last().unwrap_or(&0)),
        );
    }
}

fn format_nanos(nanos: u64) -> String {
    match nanos {
        0..10_000 => format!("{nanos} ns"),
        10_000..10_000_000 => format!("{:.1} µs", nanos as f64 / 1e3),
        _ => format!("{:.1} ms", nanos as f64 / 1e6),
    }
}

/// Runs `operation(i)` once per `INTERVAL` until `running` is cleared.
fn paced(running: &AtomicBool, mut operation: impl FnMut(usize)) -> Latencies {
    let mut latencies = Latencies(Vec::new());
    let mut next = Instant::now();
    let mut i = 0;
    while running.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
        }
        let start = Instant::now();
        operation(i);
        latencies.record(start.elapsed());
        i += 1;
        // A stalled writer resumes at once; its missed operations were counted by `record`.
        next = (next + INTERVAL).max(Instant::now());
    }
    latencies
}

/// One phase: both writers run while `load` does (the scrapes, or a sleep as long as they took).
fn phase(
    metrics: &WriterMetrics,
    new_series_from: usize,
    name: &str,
    load: impl FnOnce() -> Duration,
) -> Duration {
    let hot: Vec<StringLabels> = (0..HOT_SERIES)
        .map(|i| labels(i * (SERIES / HOT_SERIES)))
        .collect();
    let new: Vec<StringLabels> = (0..NEW_SERIES)
        .map(|i| labels(new_series_from + i))
        .collect();
    let running = AtomicBool::new(true);
    let (took, increments, creations) = std::thread::scope(|scope| {
        let increments = scope.spawn(|| {
            paced(&running, |i| {
                metrics.requests.get(black_box(&hot[i % HOT_SERIES])).inc();
            })
        });
        let creations = scope.spawn(|| {
            paced(&running, |i| {
                metrics.requests.get(black_box(&new[i % new.len()])).inc();
            })
        });
        let took = load();
        running.store(false, Ordering::Relaxed);
        (took, increments.join().unwrap(), creations.join().unwrap())
    });
    increments.report(&format!("{name}: increment an existing series"));
    creations.report(&format!("{name}: create a new series"));
    took
}

fn main() {
    let metrics = Arc::new(WriterMetrics::new());
    let start = Instant::now();
    for i in 0..SERIES {
        metrics.requests.get(&labels(i)).inc();
    }
    println!(
        "{SERIES} series created in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let registry = Registry::new();
    registry.register(metrics.clone()).unwrap();

    let scraping = phase(&metrics, SERIES, "during scrapes", || {
        let start = Instant::now();
        for _ in 0..SCRAPES {
            let text = registry.render(Format::Text);
            assert!(text.len() > SERIES * 40, "every series served");
            if start.elapsed() > PHASE_LIMIT {
                break;
            }
        }
        start.elapsed()
    });
    println!(
        "{SCRAPES} scrapes of {} series: {:.2} s each",
        metrics.requests.len(),
        scraping.as_secs_f64() / SCRAPES as f64
    );
    phase(&metrics, 2 * SERIES, "idle", || {
        std::thread::sleep(scraping.min(PHASE_LIMIT));
        scraping
    });
}
