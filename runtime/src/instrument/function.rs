use crate::labels::LabelSetEncoder;
use crate::metrics::{Counter, Gauge, Histogram};
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Buckets of `function_calls_duration_seconds`, the autometrics defaults (seconds).
pub const DEFAULT_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// One instrumented function: a `static` the attribute generates in the function's body.
///
/// Its series are kept per caller in a lock-free list that only grows (one node per
/// caller of this function in the program), so a call finds its series with a pointer
/// comparison or two: no lock, no hashing, no allocation after the first call from a caller.
#[derive(Debug)]
pub struct Function {
    pub(crate) name: &'static str,
    pub(crate) module: &'static str,
    /// The crate's name: the `service_name` unless the environment gives one.
    crate_name: &'static str,
    buckets: &'static [f64],
    /// Newest first; nodes are leaked, so they live as long as the function.
    head: AtomicPtr<CallSeries>,
}

/// The series of one (function, caller) pair.
#[derive(Debug)]
pub(crate) struct CallSeries {
    caller: *const Function,
    next: *const CallSeries,
    /// Pre-escaped `function`, `module`, `service_name`, `caller_function`, `caller_module`.
    pub(crate) labels: Box<str>,
    /// By [`Outcome`](super::Outcome) order: ok, error, cancelled.
    pub(crate) calls: [Counter; 3],
    pub(crate) duration: Histogram,
    pub(crate) concurrent: Gauge,
}

// SAFETY: the raw pointers are only compared (`caller`) or point to leaked, immutable-after-
// publication nodes (`next`); every other field is itself `Send + Sync`.
unsafe impl Send for CallSeries {}
// SAFETY: as above.
unsafe impl Sync for CallSeries {}

impl Function {
    /// Describes a function; `buckets` are the upper bounds of its duration histogram.
    pub const fn new(
        name: &'static str,
        module: &'static str,
        crate_name: &'static str,
        buckets: &'static [f64],
    ) -> Self {
        Function {
            name,
            module,
            crate_name,
            buckets,
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The function's name, as in the `function` label.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The series of calls from `caller` (null: no instrumented caller).
    #[inline]
    pub(crate) fn series(&'static self, caller: *const Function) -> &'static CallSeries {
        let head = self.head.load(Ordering::Acquire);
        match find(head, caller) {
            Some(series) => series,
            None => self.insert(caller, head),
        }
    }

    #[cold]
    fn insert(
        &'static self,
        caller: *const Function,
        mut head: *mut CallSeries,
    ) -> &'static CallSeries {
        let node = Box::leak(Box::new(CallSeries {
            caller,
            next: head,
            labels: self.labels(caller),
            calls: Default::default(),
            duration: Histogram::with_buckets(self.buckets),
            concurrent: Gauge::default(),
        }));
        loop {
            match self
                .head
                .compare_exchange(head, node, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return node,
                Err(newer) => {
                    // Another thread added callers meanwhile: one of them may be ours.
                    if let Some(series) = find_until(newer, head, caller) {
                        // Our node was never published: nothing else can hold it. Reclaim it.
                        // SAFETY: `node` came from `Box::leak` above and was not shared.
                        drop(unsafe { Box::from_raw(node) });
                        return series;
                    }
                    node.next = newer;
                    head = newer;
                }
            }
        }
    }

    fn labels(&self, caller: *const Function) -> Box<str> {
        // SAFETY: callers are `&'static Function`s (or null).
        let caller = unsafe { caller.as_ref() };
        let mut labels = String::new();
        let mut encoder = LabelSetEncoder::new(&mut labels);
        encoder.label("function", &self.name);
        encoder.label("module", &self.module);
        encoder.label("service_name", &service_name(self.crate_name));
        encoder.label("caller_function", &caller.map_or("", |c| c.name));
        encoder.label("caller_module", &caller.map_or("", |c| c.module));
        labels.into_boxed_str()
    }

    /// Every series of this function, newest caller first.
    pub(crate) fn all_series(&'static self) -> impl Iterator<Item = &'static CallSeries> {
        let mut node = self.head.load(Ordering::Acquire).cast_const();
        std::iter::from_fn(move || {
            // SAFETY: nodes are leaked and published with release ordering before being reachable.
            let series = unsafe { node.as_ref()? };
            node = series.next;
            Some(series)
        })
    }
}

/// Calibrates quanta's clock (once per process) before a call can be timed with it, so the
/// calibration never lands inside a measured call. Every call finds its series through
/// `insert` or through the collector, which both call this first.
pub(crate) fn warm_up_clock() {
    let _ = quanta::Instant::now();
}

fn find(head: *mut CallSeries, caller: *const Function) -> Option<&'static CallSeries> {
    find_until(head, ptr::null_mut(), caller)
}

/// Looks for `caller` in the nodes from `from` up to (not including) `until`.
fn find_until(
    from: *mut CallSeries,
    until: *mut CallSeries,
    caller: *const Function,
) -> Option<&'static CallSeries> {
    let mut node = from.cast_const();
    while node != until.cast_const() {
        // SAFETY: as in `all_series`.
        let series = unsafe { node.as_ref()? };
        if ptr::eq(series.caller, caller) {
            return Some(series);
        }
        node = series.next;
    }
    None
}

/// `AUTOMETRICS_SERVICE_NAME`, else `OTEL_SERVICE_NAME`, else the crate's name.
fn service_name(crate_name: &'static str) -> &'static str {
    static FROM_ENV: OnceLock<Option<String>> = OnceLock::new();
    let from_env = FROM_ENV.get_or_init(|| {
        ["AUTOMETRICS_SERVICE_NAME", "OTEL_SERVICE_NAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    });
    from_env.as_deref().unwrap_or(crate_name)
}

/// An instrumented function, submitted to `inventory` by the attribute so it is served at zero
/// before its first call.
///
/// Not public API: built only by generated code.
#[doc(hidden)]
#[derive(Debug)]
pub struct FunctionRegistration(pub &'static Function);

inventory::collect!(FunctionRegistration);
