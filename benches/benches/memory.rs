//! Memory each library keeps per labelled series: one counter family with two string labels
//! (`method`, `path`), 10,000 label sets each incremented once, promexport next to tikv's
//! `prometheus`, `prometheus-client`, `metrics` (with `metrics-exporter-prometheus` as its
//! recorder) and `measured` (string labels interned in `lasso::ThreadedRodeo`s).
//!
//! A counting `#[global_allocator]` (the system allocator, plus atomic counters) gives the bytes
//! requested and not yet freed, the live blocks, every allocation call and the peak. For each
//! library, after a warm-up run of the same case (so one-time global initialisation is not
//! counted):
//!
//! 1. the label strings of the 10,000 series are built first, by the bench, and kept alive until
//!    the end: they are in the baseline, so only what a library allocates itself (its own copies
//!    of the label values, its maps, its series) is counted;
//! 2. "fixed" is what creating the registry and the empty family allocates;
//! 3. "per series" is what creating and incrementing the 10,000 series allocates and keeps,
//!    divided by 10,000 (allocation calls include the transient ones: map growth, keys built
//!    for a lookup and dropped);
//! 4. the family is then rendered, and the bench checks that it has the 10,000 samples, each at 1;
//! 5. everything is dropped, and the bench checks that the live bytes are back to the baseline.
//!
//! Bytes are the sizes requested from the allocator. What the heap really gives them is more:
//! glibc's malloc rounds each block up to a multiple of 16 (at least 24 usable bytes) and keeps
//! an 8-byte header in front of it. On Linux with glibc the bench also reports that "malloc
//! footprint": `malloc_usable_size` of each live block, plus its header.
//!
//! Run with `cargo bench -p promexport-benches --bench memory` (arguments are ignored, so
//! `-- --test` works and measures the same); see `benches/README.md`.

mod common;

use common::{HTTP_METHODS, PcFamily, StringLabels};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use prometheus_client_latest as prometheus_client;
use promexport::{Counter, Family, Format, Metrics};
use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------------
// The counting allocator.

/// The system allocator, counting what goes through it.
struct CountingAllocator;

/// Bytes requested and not yet freed.
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
/// The highest `LIVE_BYTES` since the last `reset_peak`.
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Blocks allocated and not yet freed.
static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);
/// Calls to `alloc`, `alloc_zeroed` and `realloc`.
static ALLOCATION_CALLS: AtomicUsize = AtomicUsize::new(0);
/// What glibc's malloc actually hands out for the live blocks (`malloc_usable_size`: the request
/// rounded up to its chunk size); 0 where that is not known.
static LIVE_USABLE: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Bytes glibc's malloc reserved for the block at `ptr`, one the system allocator returned.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn usable_size(ptr: *mut u8) -> usize {
    unsafe extern "C" {
        fn malloc_usable_size(ptr: *mut std::ffi::c_void) -> usize;
    }
    // SAFETY: on Linux with glibc, `System` allocates every block with `malloc`, `calloc`,
    // `posix_memalign` or `realloc`, and `ptr` is such a block, not yet freed.
    unsafe { malloc_usable_size(ptr.cast()) }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn usable_size(_ptr: *mut u8) -> usize {
    0
}

/// Whether `LIVE_USABLE` is counted on this platform.
const COUNTS_USABLE: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

impl CountingAllocator {
    fn allocated(ptr: *mut u8, size: usize) {
        let live = LIVE_BYTES.fetch_add(size, Ordering::Relaxed) + size;
        PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        ALLOCATION_CALLS.fetch_add(1, Ordering::Relaxed);
        LIVE_USABLE.fetch_add(usable_size(ptr), Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments, and only updates counters.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `GlobalAlloc::alloc`.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::allocated(ptr, layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `GlobalAlloc::alloc_zeroed`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::allocated(ptr, layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_USABLE.fetch_sub(usable_size(ptr), Ordering::Relaxed);
        // SAFETY: the caller's contract for `GlobalAlloc::dealloc`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_usable = usable_size(ptr);
        // SAFETY: the caller's contract for `GlobalAlloc::realloc`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            ALLOCATION_CALLS.fetch_add(1, Ordering::Relaxed);
            LIVE_USABLE.fetch_sub(old_usable, Ordering::Relaxed);
            LIVE_USABLE.fetch_add(usable_size(new), Ordering::Relaxed);
            if new_size >= layout.size() {
                let grown = new_size - layout.size();
                let live = LIVE_BYTES.fetch_add(grown, Ordering::Relaxed) + grown;
                PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE_BYTES.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[derive(Clone, Copy)]
struct Snapshot {
    bytes: usize,
    blocks: usize,
    calls: usize,
    usable: usize,
}

fn snapshot() -> Snapshot {
    Snapshot {
        bytes: LIVE_BYTES.load(Ordering::Relaxed),
        blocks: LIVE_BLOCKS.load(Ordering::Relaxed),
        calls: ALLOCATION_CALLS.load(Ordering::Relaxed),
        usable: LIVE_USABLE.load(Ordering::Relaxed),
    }
}

fn reset_peak() {
    PEAK_BYTES.store(LIVE_BYTES.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// `after - before`, for counters that only grow over the region measured.
fn grown(after: usize, before: usize) -> usize {
    after
        .checked_sub(before)
        .expect("the library freed memory it had not allocated in the region measured")
}

// ---------------------------------------------------------------------------------------------
// The series.

const SERIES: usize = 10_000;

/// Which label sets make up the 10,000 series.
#[derive(Clone, Copy)]
enum Shape {
    /// Series `i`: method `i % 4`, path `/api/v1/items/{i / 4}`: 2,500 paths, each with the 4
    /// methods (the series of `encode_10k` in the `metrics` bench).
    SharedPaths,
    /// Series `i`: method `i % 4`, path `/api/v1/items/{i}`: no two series share a path.
    DistinctPaths,
}

impl Shape {
    fn describe(self) -> &'static str {
        match self {
            Shape::SharedPaths => {
                "4 methods × 2,500 paths (`method` = one of 4, `path` = `/api/v1/items/{i / 4}`)"
            }
            Shape::DistinctPaths => {
                "10,000 distinct paths (`method` = one of 4, `path` = `/api/v1/items/{i}`)"
            }
        }
    }

    fn path(self, i: usize) -> String {
        match self {
            Shape::SharedPaths => format!("/api/v1/items/{}", i / HTTP_METHODS.len()),
            Shape::DistinctPaths => format!("/api/v1/items/{i}"),
        }
    }
}

/// The label values of every series, built before anything is measured and kept until the end,
/// in the form each library takes them.
struct Inputs {
    shape: Shape,
    /// `(method, path)`: for tikv, `metrics` and measured.
    pairs: Vec<(&'static str, String)>,
    /// The same, as the label struct promexport and prometheus-client look up.
    structs: Vec<StringLabels>,
}

impl Inputs {
    fn new(shape: Shape) -> Self {
        let pairs: Vec<(&'static str, String)> = (0..SERIES)
            .map(|i| (HTTP_METHODS[i % HTTP_METHODS.len()], shape.path(i)))
            .collect();
        let structs = pairs
            .iter()
            .map(|(method, path)| StringLabels {
                method: (*method).to_owned(),
                path: path.clone(),
            })
            .collect();
        Inputs {
            shape,
            pairs,
            structs,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One case per library: a registry holding one counter family, filled from `Inputs`.

trait Case {
    const NAME: &'static str;
    /// The registry and the empty family.
    fn new() -> Self;
    /// Creates the series of `inputs`, each incremented once.
    fn fill(&self, inputs: &Inputs);
    /// The text exposition.
    fn render(&self) -> String;
    /// The number of series the library says it holds, where it says.
    fn len(&self) -> Option<usize> {
        None
    }
}

#[derive(Metrics)]
#[metrics(prefix = "bench", no_global)]
struct PromexportMetrics {
    /// Requests served.
    #[metric(max_series = 20000)]
    requests: Family<StringLabels, Counter>,
}

struct PromexportCase {
    registry: promexport::Registry,
    metrics: Arc<PromexportMetrics>,
}

impl Case for PromexportCase {
    const NAME: &'static str = "promexport";
    fn new() -> Self {
        let metrics = Arc::new(PromexportMetrics::new());
        let registry = promexport::Registry::new();
        registry.register(metrics.clone()).unwrap();
        PromexportCase { registry, metrics }
    }
    fn fill(&self, inputs: &Inputs) {
        for labels in &inputs.structs {
            self.metrics.requests.get(labels).inc();
        }
    }
    fn render(&self) -> String {
        self.registry.render(Format::Text)
    }
    fn len(&self) -> Option<usize> {
        Some(self.metrics.requests.len())
    }
}

struct TikvCase {
    registry: prometheus::Registry,
    requests: prometheus::IntCounterVec,
}

impl Case for TikvCase {
    const NAME: &'static str = "prometheus (tikv)";
    fn new() -> Self {
        let requests = prometheus::IntCounterVec::new(
            prometheus::Opts::new("bench_requests_total", "Requests served."),
            &["method", "path"],
        )
        .unwrap();
        let registry = prometheus::Registry::new();
        registry.register(Box::new(requests.clone())).unwrap();
        TikvCase { registry, requests }
    }
    fn fill(&self, inputs: &Inputs) {
        for (method, path) in &inputs.pairs {
            self.requests
                .with_label_values(&[*method, path.as_str()])
                .inc();
        }
    }
    fn render(&self) -> String {
        let mut out = String::new();
        prometheus::TextEncoder::new()
            .encode_utf8(&self.registry.gather(), &mut out)
            .unwrap();
        out
    }
}

struct PcCase {
    registry: prometheus_client::registry::Registry,
    requests: PcFamily,
}

impl Case for PcCase {
    const NAME: &'static str = "prometheus-client";
    fn new() -> Self {
        let requests = PcFamily::default();
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("bench_requests", "Requests served.", requests.clone());
        PcCase { registry, requests }
    }
    fn fill(&self, inputs: &Inputs) {
        for labels in &inputs.structs {
            self.requests.get_or_create(labels).inc();
        }
    }
    fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).unwrap();
        out
    }
}

struct MetricsCase {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Case for MetricsCase {
    const NAME: &'static str = "metrics + metrics-exporter-prometheus";
    fn new() -> Self {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::describe_counter!("bench_requests_total", "Requests served.");
        });
        MetricsCase { recorder, handle }
    }
    fn fill(&self, inputs: &Inputs) {
        metrics::with_local_recorder(&self.recorder, || {
            for (method, path) in &inputs.pairs {
                // `metrics` takes `&'static str` or an owned `String` as a label value: the
                // copy of the path is the one its registry keeps.
                metrics::counter!(
                    "bench_requests_total",
                    "method" => *method,
                    "path" => path.clone()
                )
                .increment(1);
            }
        });
    }
    fn render(&self) -> String {
        self.handle.render()
    }
}

/// The two labels, each interned in its own `lasso::ThreadedRodeo`: a series is keyed by the two
/// interned ids.
#[derive(Clone, Copy, measured::LabelGroup)]
#[label(set = MeasuredLabelsSet)]
struct MeasuredLabels<'a> {
    #[label(dynamic_with = lasso::ThreadedRodeo, default)]
    method: &'a str,
    #[label(dynamic_with = lasso::ThreadedRodeo, default)]
    path: &'a str,
}

#[derive(measured::MetricGroup)]
struct MeasuredMetrics {
    /// Requests served.
    #[metric(rename = "bench_requests_total")]
    requests: measured::CounterVec<MeasuredLabelsSet>,
}

struct MeasuredCase {
    metrics: MeasuredMetrics,
}

impl Case for MeasuredCase {
    const NAME: &'static str = "measured";
    fn new() -> Self {
        MeasuredCase {
            metrics: MeasuredMetrics {
                requests: measured::CounterVec::with_label_set(MeasuredLabelsSet::default()),
            },
        }
    }
    fn fill(&self, inputs: &Inputs) {
        for (method, path) in &inputs.pairs {
            self.metrics.requests.inc(MeasuredLabels { method, path });
        }
    }
    fn render(&self) -> String {
        use measured::MetricGroup as _;
        let mut encoder = measured::text::BufferedTextEncoder::new();
        self.metrics.collect_group_into(&mut encoder).unwrap();
        String::from_utf8(encoder.finish().to_vec()).unwrap()
    }
    fn len(&self) -> Option<usize> {
        Some(self.metrics.requests.get_cardinality().0)
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

struct Usage {
    name: &'static str,
    fixed_bytes: usize,
    fixed_blocks: usize,
    series_bytes: usize,
    series_blocks: usize,
    series_calls: usize,
    /// glibc's chunks for the series: `malloc_usable_size` plus the 8-byte header of each block.
    series_footprint: usize,
    peak_bytes: usize,
}

/// Checks that `text` holds the 10,000 series of `inputs`, each at 1.
fn check_exposition(name: &str, inputs: &Inputs, text: &str) {
    let samples = text
        .lines()
        .filter(|line| line.starts_with("bench_requests_total{"))
        .count();
    assert_eq!(samples, SERIES, "{name}: samples in the exposition");
    let at_one = text
        .lines()
        .filter(|line| line.starts_with("bench_requests_total{") && line.ends_with("} 1"))
        .count();
    assert_eq!(at_one, SERIES, "{name}: samples at 1");
    for i in [0, 1, SERIES / 2 + 3, SERIES - 1] {
        let (method, path) = &inputs.pairs[i];
        let line = format!("bench_requests_total{{method=\"{method}\",path=\"{path}\"}} 1\n");
        assert!(text.contains(&line), "{name}: no {line:?}");
    }
}

fn run<C: Case>(inputs: &Inputs) -> Usage {
    let before = snapshot();
    let case = C::new();
    let created = snapshot();
    reset_peak();
    case.fill(inputs);
    let filled = snapshot();
    let peak = PEAK_BYTES.load(Ordering::Relaxed);

    if let Some(len) = case.len() {
        assert_eq!(len, SERIES, "{}: series held", C::NAME);
    }
    let text = case.render();
    check_exposition(C::NAME, inputs, &text);
    drop(text);
    drop(case);
    let dropped = snapshot();
    assert_eq!(
        dropped.bytes,
        before.bytes,
        "{}: live bytes after dropping everything",
        C::NAME
    );

    Usage {
        name: C::NAME,
        fixed_bytes: grown(created.bytes, before.bytes),
        fixed_blocks: grown(created.blocks, before.blocks),
        series_bytes: grown(filled.bytes, created.bytes),
        series_blocks: grown(filled.blocks, created.blocks),
        series_calls: grown(filled.calls, created.calls),
        series_footprint: grown(filled.usable, created.usable)
            + MALLOC_HEADER * grown(filled.blocks, created.blocks),
        peak_bytes: grown(peak, created.bytes),
    }
}

/// A warm-up run (one-time global initialisation, thread-locals), then the run reported.
fn measure<C: Case>(inputs: &Inputs) -> Usage {
    run::<C>(inputs);
    run::<C>(inputs)
}

/// The size field glibc's malloc keeps in front of each block (its `prev_size` field overlaps
/// the previous block, and `malloc_usable_size` counts it).
const MALLOC_HEADER: usize = 8;

fn per_series(n: usize) -> f64 {
    n as f64 / SERIES as f64
}

fn table(inputs: &Inputs, usages: &[Usage]) -> String {
    let smallest = usages
        .iter()
        .map(|u| u.series_bytes)
        .min()
        .unwrap_or(1)
        .max(1);
    let mut out = String::new();
    let _ = writeln!(out, "Series: {}", inputs.shape.describe());
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| library | bytes/series | ÷ smallest | malloc footprint/series | live blocks/series | allocation calls/series | peak bytes/series | fixed bytes (blocks) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for u in usages {
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.2} | {} | {:.2} | {:.2} | {:.1} | {} ({}) |",
            u.name,
            per_series(u.series_bytes),
            u.series_bytes as f64 / smallest as f64,
            if COUNTS_USABLE {
                format!("{:.1}", per_series(u.series_footprint))
            } else {
                "n/a".to_owned()
            },
            per_series(u.series_blocks),
            per_series(u.series_calls),
            per_series(u.peak_bytes),
            u.fixed_bytes,
            u.fixed_blocks,
        );
    }
    out
}

fn main() {
    // `cargo bench` passes `--bench`, and `-- --test` or a filter may follow: nothing here needs
    // them, the whole run takes well under a second.
    for shape in [Shape::SharedPaths, Shape::DistinctPaths] {
        let inputs = Inputs::new(shape);
        let usages = [
            measure::<PromexportCase>(&inputs),
            measure::<TikvCase>(&inputs),
            measure::<PcCase>(&inputs),
            measure::<MetricsCase>(&inputs),
            measure::<MeasuredCase>(&inputs),
        ];
        println!("{}", table(&inputs, &usages));
    }
    println!(
        "bytes/series: requested from the allocator and still live once the 10,000 series are \
         created and incremented (the bench's own label strings excluded), ÷ 10,000; malloc \
         footprint: the same blocks as glibc sizes them (usable size + 8-byte header); \
         allocation calls: alloc + realloc, transient ones included (map growth, lookup keys); \
         peak: the highest live bytes while creating them; fixed: the registry and the empty \
         family."
    );
}
