//! What a family's series cost the allocator, counted by a `#[global_allocator]` of this test
//! binary on the test's own thread only (the harness's thread allocates now and then):
//! `clear()` gives every byte back, and finding an existing series by borrowed `&str` labels
//! allocates nothing.

use promexport::{Counter, Family, LabelSet, MetricConfig};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

struct Counting;

thread_local! {
    /// Whether this thread's allocations are counted (const-initialized: reading it allocates
    /// nothing).
    static COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn counted() -> bool {
    COUNTED.try_with(std::cell::Cell::get).unwrap_or(false)
}

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
#[label(borrowed = UpstreamLabelsRef)]
struct UpstreamLabels {
    upstream: String,
    zone: String,
}

const SERIES: usize = 10_000;

#[test]
fn clear_returns_memory_to_baseline_and_borrowed_lookups_do_not_allocate() {
    // Everything below runs on this thread: the family takes no lock that makes another thread
    // allocate or free for it.
    COUNTED.with(|counted| counted.set(true));
    let family: Family<UpstreamLabels, Counter> = Family::new(&MetricConfig {
        max_series: Some(SERIES),
        ..MetricConfig::DEFAULT
    });
    let names: Vec<String> = (0..SERIES)
        .map(|i| format!("10.0.{}.{}:8080", i / 256, i % 256))
        .collect();
    for round in 0..3 {
        let baseline = LIVE_BYTES.load(Ordering::Relaxed);
        for name in &names {
            family
                .get(&UpstreamLabels {
                    upstream: name.clone(),
                    zone: "eu-west-1a".to_owned(),
                })
                .inc();
        }
        assert_eq!(family.len(), SERIES);
        let filled = LIVE_BYTES.load(Ordering::Relaxed);
        assert!(filled > baseline, "round {round}");
        let per_series = (filled - baseline) / SERIES as isize;

        let allocations = ALLOCATIONS.load(Ordering::Relaxed);
        for name in &names {
            family
                .get(&UpstreamLabelsRef {
                    upstream: name,
                    zone: "eu-west-1a",
                })
                .inc();
        }
        assert_eq!(
            ALLOCATIONS.load(Ordering::Relaxed),
            allocations,
            "existing series found by `&str` labels without allocating"
        );
        assert_eq!(
            family
                .get(&UpstreamLabelsRef {
                    upstream: &names[7],
                    zone: "eu-west-1a"
                })
                .get(),
            2
        );

        family.clear();
        assert!(family.is_empty());
        assert_eq!(
            LIVE_BYTES.load(Ordering::Relaxed),
            baseline,
            "round {round}: every byte of the series and the table given back"
        );
        // Printed only now: the first print allocates stdout's buffer.
        println!("round {round}: {per_series} bytes per series, labels included");
    }
}
