//! `#[promexport::instrument]`: counts, errors, panics, cancellation, in-flight calls under
//! concurrency, caller labels across sync and async calls, methods and impl blocks.

use promexport::Format;
use promexport_tests::{promtool_check_metrics, sample_value, wait_for};
use std::time::Duration;

fn render() -> String {
    promexport::render(Format::Text)
}

/// `function_calls_total` of `function` called from `caller` ("" for none) with `result`.
fn calls(text: &str, function: &str, caller: &str, result: &str) -> f64 {
    let labels = [
        ("function", function),
        ("caller_function", caller),
        ("result", result),
    ];
    sample_value(text, "function_calls_total", &labels).unwrap_or(0.0)
}

fn in_flight(text: &str, function: &str, caller: &str) -> f64 {
    let labels = [("function", function), ("caller_function", caller)];
    sample_value(text, "function_calls_concurrent", &labels).unwrap_or(f64::NAN)
}

fn duration_count(text: &str, function: &str, caller: &str) -> f64 {
    let labels = [("function", function), ("caller_function", caller)];
    sample_value(text, "function_calls_duration_seconds_count", &labels).unwrap_or(0.0)
}

#[promexport::instrument]
fn never_called() {}

#[test]
fn functions_are_served_at_zero_before_their_first_call() {
    let text = render();
    assert_eq!(calls(&text, "never_called", "", "ok"), 0.0);
    assert_eq!(
        sample_value(
            &text,
            "function_calls_total",
            &[("function", "never_called")]
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(in_flight(&text, "never_called", ""), 0.0);
    assert!(text.contains("module=\"instrument\""), "{text}");
}

#[promexport::instrument]
fn parse_number(input: &str) -> Result<u32, std::num::ParseIntError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Ok(0); // early return is measured too
    }
    let value: u32 = trimmed.parse()?; // and `?`
    Ok(value)
}

#[promexport::instrument]
fn lookup(key: u8) -> Option<u8> {
    key.checked_sub(1)
}

#[test]
fn results_errors_early_returns_and_options() {
    let before = render();
    assert_eq!(parse_number("7"), Ok(7));
    assert_eq!(parse_number(" "), Ok(0));
    assert!(parse_number("x").is_err());
    assert_eq!(lookup(0), None);
    assert_eq!(lookup(3), Some(2));
    let after = render();
    let delta = |f, r| calls(&after, f, "", r) - calls(&before, f, "", r);
    assert_eq!(delta("parse_number", "ok"), 2.0);
    assert_eq!(delta("parse_number", "error"), 1.0);
    assert_eq!(delta("lookup", "ok"), 2.0, "None is not an error");
    assert_eq!(delta("lookup", "error"), 0.0);
    assert_eq!(
        duration_count(&after, "parse_number", "") - duration_count(&before, "parse_number", ""),
        3.0
    );
}

#[promexport::instrument]
fn explode(really: bool) -> u8 {
    assert!(!really, "boom");
    1
}

#[test]
fn a_panic_is_an_error_and_leaves_nothing_in_flight() {
    let before = render();
    let caught = std::panic::catch_unwind(|| explode(true));
    assert!(caught.is_err());
    assert_eq!(explode(false), 1);
    let after = render();
    assert_eq!(
        calls(&after, "explode", "", "error") - calls(&before, "explode", "", "error"),
        1.0
    );
    assert_eq!(
        calls(&after, "explode", "", "ok") - calls(&before, "explode", "", "ok"),
        1.0
    );
    assert_eq!(in_flight(&after, "explode", ""), 0.0);
}

#[promexport::instrument]
fn leaf() -> u32 {
    1
}

#[promexport::instrument]
fn branch() -> u32 {
    leaf() + leaf()
}

#[promexport::instrument]
fn factorial(n: u64) -> u64 {
    if n <= 1 { 1 } else { n * factorial(n - 1) }
}

#[test]
fn callers_are_labelled_and_recursion_works() {
    let before = render();
    assert_eq!(branch(), 2);
    assert_eq!(leaf(), 1);
    assert_eq!(factorial(5), 120);
    let after = render();
    let delta = |f, caller| calls(&after, f, caller, "ok") - calls(&before, f, caller, "ok");
    assert_eq!(delta("leaf", "branch"), 2.0);
    assert_eq!(delta("leaf", ""), 1.0);
    assert_eq!(delta("branch", ""), 1.0);
    assert_eq!(delta("factorial", ""), 1.0);
    assert_eq!(delta("factorial", "factorial"), 4.0);
    let labels = [
        ("function", "leaf"),
        ("caller_function", "branch"),
        ("caller_module", "instrument"),
    ];
    assert!(
        sample_value(&after, "function_calls_total", &labels).is_some(),
        "{after}"
    );
}

struct Store {
    items: Vec<u32>,
}

#[promexport::instrument]
impl Store {
    fn get(&self, index: usize) -> Result<u32, String> {
        self.items
            .get(index)
            .copied()
            .ok_or_else(|| format!("no item {index}"))
    }

    fn push(&mut self, item: u32) {
        self.items.push(item);
    }

    #[promexport::skip]
    fn len(&self) -> usize {
        self.items.len()
    }

    fn largest<T: PartialOrd + Copy>(items: &[T]) -> Option<T> {
        items.iter().copied().fold(None, |max, x| match max {
            Some(m) if m >= x => Some(m),
            _ => Some(x),
        })
    }
}

#[test]
fn impl_blocks_instrument_every_method_but_skipped_ones() {
    let before = render();
    let mut store = Store { items: vec![] };
    store.push(4);
    assert_eq!(store.get(0), Ok(4));
    assert!(store.get(9).is_err());
    assert_eq!(store.len(), 1);
    assert_eq!(Store::largest(&[1.5, 3.0, 2.0]), Some(3.0));
    assert_eq!(Store::largest::<u8>(&[]), None);
    let after = render();
    let delta = |f, r| calls(&after, f, "", r) - calls(&before, f, "", r);
    assert_eq!(delta("Store::push", "ok"), 1.0);
    assert_eq!(delta("Store::get", "ok"), 1.0);
    assert_eq!(delta("Store::get", "error"), 1.0);
    assert_eq!(delta("Store::largest", "ok"), 2.0);
    assert!(!after.contains("function=\"Store::len\""), "skipped");
}

#[promexport::instrument]
async fn fetch(id: u32) -> Result<u32, String> {
    tokio::task::yield_now().await;
    if id == 0 {
        Err("no id 0".into())
    } else {
        Ok(id * 2)
    }
}

#[promexport::instrument]
async fn fetch_both(a: u32, b: u32) -> Result<u32, String> {
    Ok(fetch(a).await? + fetch(b).await?)
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn async_functions_carry_their_caller_across_awaits() {
    let before = render();
    let future = fetch_both(1, 2);
    assert_send(&future);
    assert_eq!(future.await, Ok(6));
    assert!(fetch_both(0, 1).await.is_err());
    assert_eq!(tokio::spawn(fetch(5)).await.unwrap(), Ok(10));
    let after = render();
    let delta = |f, caller, r| calls(&after, f, caller, r) - calls(&before, f, caller, r);
    assert_eq!(delta("fetch", "fetch_both", "ok"), 2.0);
    assert_eq!(delta("fetch", "fetch_both", "error"), 1.0);
    assert_eq!(delta("fetch_both", "", "ok"), 1.0);
    assert_eq!(delta("fetch_both", "", "error"), 1.0);
    assert_eq!(
        delta("fetch", "", "ok"),
        1.0,
        "a spawned task has no caller"
    );
}

#[promexport::instrument]
async fn wait_for_permit(semaphore: std::sync::Arc<tokio::sync::Semaphore>) -> u8 {
    let _permit = semaphore.acquire().await.expect("open semaphore");
    1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_calls_peak_and_return_to_zero() {
    const TASKS: usize = 1_000;
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| tokio::spawn(wait_for_permit(semaphore.clone())))
        .collect();
    let peak = wait_for("1,000 calls in flight", Duration::from_secs(20), || {
        let peak = in_flight(&render(), "wait_for_permit", "");
        (peak == TASKS as f64).then_some(peak)
    });
    assert_eq!(peak, 1000.0);
    semaphore.add_permits(TASKS);
    for task in tasks {
        assert_eq!(task.await.unwrap(), 1);
    }
    let text = render();
    assert_eq!(in_flight(&text, "wait_for_permit", ""), 0.0);
    assert_eq!(calls(&text, "wait_for_permit", "", "ok"), TASKS as f64);
}

#[promexport::instrument]
async fn never_finishes() {
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn a_dropped_future_is_cancelled_not_leaked() {
    let before = render();
    let timed_out = tokio::time::timeout(Duration::from_millis(10), never_finishes()).await;
    assert!(timed_out.is_err());
    tokio::select! {
        () = never_finishes() => unreachable!(),
        () = tokio::task::yield_now() => {}
    }
    let after = render();
    let cancelled = calls(&after, "never_finishes", "", "cancelled")
        - calls(&before, "never_finishes", "", "cancelled");
    assert_eq!(cancelled, 2.0);
    assert_eq!(in_flight(&after, "never_finishes", ""), 0.0);
}

#[promexport::instrument]
fn explode_later(really: bool) -> impl std::future::Future<Output = u8> {
    async move {
        tokio::task::yield_now().await;
        assert!(!really, "boom");
        1
    }
}

/// As `FutureExt::catch_unwind` (tower-http's `CatchPanicLayer`) polls: the panic is caught
/// around `poll`, and the future is dropped after the unwind has ended. (An `async fn` drops its
/// instrumented body during the unwind; a returned `impl Future` is the instrumented future.)
#[test]
fn a_panic_caught_around_poll_is_an_error_not_a_cancellation() {
    let before = render();
    let mut future = Box::pin(explode_later(true));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(future.as_mut().poll(&mut context).is_pending());
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        future.as_mut().poll(&mut context)
    }));
    assert!(polled.is_err());
    drop(future);
    let after = render();
    let count = |text: &str, result| calls(text, "explode_later", "", result);
    assert_eq!(count(&after, "error") - count(&before, "error"), 1.0);
    assert_eq!(
        count(&after, "cancelled") - count(&before, "cancelled"),
        0.0
    );
    assert_eq!(in_flight(&after, "explode_later", ""), 0.0);
}

fn is_success(status: &u16) -> bool {
    *status < 500
}

#[promexport::instrument(ok_if = is_success, function = "status_handler", buckets = [0.001, 0.1])]
fn handler(status: u16) -> u16 {
    status
}

#[test]
fn options_name_classify_and_bucket() {
    let before = render();
    handler(200);
    handler(503);
    let after = render();
    let delta =
        |r| calls(&after, "status_handler", "", r) - calls(&before, "status_handler", "", r);
    assert_eq!(delta("ok"), 1.0);
    assert_eq!(delta("error"), 1.0);
    assert!(after.contains("function_calls_duration_seconds_bucket{function=\"status_handler\""));
    assert!(after.contains(",le=\"0.001\"}"), "{after}");
}

#[promexport::instrument]
fn linted() -> Result<(), ()> {
    Err(())
}

#[test]
fn the_exposition_passes_promtool() {
    let _ = linted();
    let lint = promtool_check_metrics(&render());
    assert_eq!(lint, "");
}

#[promexport::instrument]
fn returns_impl_future(fail: bool) -> impl std::future::Future<Output = Result<u8, String>> + Send {
    async move {
        tokio::task::yield_now().await;
        if fail { Err("failed".into()) } else { Ok(1) }
    }
}

#[promexport::instrument]
fn returns_boxed_future(
    value: u8,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<u8>> + Send>> {
    Box::pin(async move { Some(value) })
}

#[promexport::instrument]
async fn awaits_returned_futures() -> u8 {
    returns_impl_future(false).await.unwrap_or(0) + returns_boxed_future(2).await.unwrap_or(0)
}

#[tokio::test]
async fn functions_returning_futures_are_timed_until_the_future_completes() {
    let before = render();
    assert_eq!(awaits_returned_futures().await, 3);
    assert!(returns_impl_future(true).await.is_err());
    let never_polled = returns_boxed_future(9);
    drop(never_polled);
    let after = render();
    let delta = |f, caller, r| calls(&after, f, caller, r) - calls(&before, f, caller, r);
    assert_eq!(
        delta("returns_impl_future", "awaits_returned_futures", "ok"),
        1.0
    );
    assert_eq!(delta("returns_impl_future", "", "error"), 1.0);
    assert_eq!(
        delta("returns_boxed_future", "awaits_returned_futures", "ok"),
        1.0
    );
    assert_eq!(
        delta("returns_boxed_future", "", "cancelled"),
        0.0,
        "a future never polled never started"
    );
    assert_eq!(in_flight(&after, "returns_impl_future", ""), 0.0);
}

#[promexport::instrument(prefix = "billing", labels(team = "payments"))]
fn charge(cents: u32) -> Result<u32, String> {
    if cents == 0 {
        Err("nothing to charge".into())
    } else {
        Ok(cents)
    }
}

#[promexport::instrument(name = "checkout", record = [calls])]
fn checkout() {}

#[test]
fn own_metric_names_labels_and_a_subset_of_metrics() {
    assert!(charge(5).is_ok());
    assert!(charge(0).is_err());
    checkout();
    let text = render();
    let labels = [
        ("function", "charge"),
        ("team", "payments"),
        ("result", "error"),
    ];
    assert_eq!(
        sample_value(&text, "billing_function_calls_total", &labels),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample_value(&text, "function_calls_total", &[("function", "charge")]),
        None
    );
    assert_eq!(
        sample_value(
            &text,
            "billing_function_calls_duration_seconds_count",
            &[("function", "charge")]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample_value(
            &text,
            "checkout_calls_total",
            &[("function", "checkout"), ("result", "ok")]
        ),
        Some(1.0)
    );
    assert!(text.contains("# TYPE checkout_duration_seconds histogram\n"));
    assert!(
        !text.contains("checkout_duration_seconds_count{"),
        "duration not recorded"
    );
    assert!(
        !text.contains("checkout_concurrent{"),
        "concurrency not recorded"
    );
    assert!(text.contains(
        "# HELP billing_function_calls_total Calls of instrumented functions, by result.\n"
    ));
}

const CHECKOUT: promexport::Objective = promexport::Objective::new("checkout")
    .success_rate(promexport::ObjectivePercentile::P99_9)
    .latency(
        promexport::ObjectiveLatency::Ms1000,
        promexport::ObjectivePercentile::P95,
    );

#[promexport::instrument(objective = CHECKOUT)]
fn pay(amount: u32) -> Result<u32, String> {
    if amount == 0 {
        return Err("nothing to pay".to_owned());
    }
    Ok(amount)
}

#[test]
fn an_objective_labels_the_calls_and_durations_it_covers() {
    pay(10).unwrap();
    pay(0).unwrap_err();
    let text = render();
    let success_rate = [
        ("function", "pay"),
        ("objective_name", "checkout"),
        ("objective_percentile", "99.9"),
    ];
    let with_result = |result| {
        let mut labels = success_rate.to_vec();
        labels.push(("result", result));
        sample_value(&text, "function_calls_total", &labels)
    };
    assert_eq!(with_result("ok"), Some(1.0), "{text}");
    assert_eq!(with_result("error"), Some(1.0));
    // The latency objective's bucket is found by its threshold, spelled as its `le`.
    let latency = [
        ("function", "pay"),
        ("objective_name", "checkout"),
        ("objective_percentile", "95"),
        ("objective_latency_threshold", "1.0"),
        ("le", "1.0"),
    ];
    let under_threshold = sample_value(&text, "function_calls_duration_seconds_bucket", &latency);
    assert_eq!(under_threshold, Some(2.0), "{text}");
    let gauge = text
        .lines()
        .find(|line| line.starts_with("function_calls_concurrent{function=\"pay\""))
        .unwrap();
    assert!(!gauge.contains("objective"), "{gauge}");
    assert_eq!(promtool_check_metrics(&text), "");
}

/// Impls that differ only in their trait's or their type's generic arguments.
mod impls {
    pub struct Celsius(pub f64);
    pub struct Reading<T>(pub T);
    pub trait Handler<M> {
        fn handle(&self, message: M) -> u8;
    }
    pub struct Ping;
    pub struct Pong;

    #[promexport::instrument]
    impl From<f64> for Celsius {
        fn from(value: f64) -> Self {
            Celsius(value)
        }
    }

    #[promexport::instrument]
    impl From<i32> for Celsius {
        fn from(value: i32) -> Self {
            Celsius(f64::from(value))
        }
    }

    #[promexport::instrument]
    impl Handler<Ping> for Celsius {
        fn handle(&self, _: Ping) -> u8 {
            1
        }
    }

    #[promexport::instrument]
    impl Handler<Pong> for Celsius {
        fn handle(&self, _: Pong) -> u8 {
            2
        }
    }

    #[promexport::instrument]
    impl Reading<u8> {
        pub fn value(&self) -> u64 {
            u64::from(self.0)
        }
    }

    #[promexport::instrument]
    impl Reading<u16> {
        pub fn value(&self) -> u64 {
            u64::from(self.0)
        }
    }
}

#[test]
fn impls_of_one_type_get_one_function_label_each() {
    use impls::{Celsius, Handler, Ping, Reading};
    let before = render();
    assert_eq!(Celsius::from(1.5).0, 1.5);
    assert_eq!(Celsius::from(2).0, 2.0);
    assert_eq!(Celsius::from(3).0, 3.0);
    assert_eq!(Celsius(0.0).handle(Ping), 1);
    assert_eq!(Reading(7_u16).value(), 7);
    let after = render();
    let delta = |f| calls(&after, f, "", "ok") - calls(&before, f, "", "ok");
    assert_eq!(delta("<Celsius as From<f64>>::from"), 1.0, "{after}");
    assert_eq!(delta("<Celsius as From<i32>>::from"), 2.0);
    assert_eq!(delta("<Celsius as Handler<Ping>>::handle"), 1.0);
    assert_eq!(delta("<Celsius as Handler<Pong>>::handle"), 0.0);
    assert_eq!(delta("Reading<u16>::value"), 1.0);
    assert_eq!(delta("Reading<u8>::value"), 0.0);
    // Every one is served, at zero before its first call, under a label of its own.
    for function in ["<Celsius as Handler<Pong>>::handle", "Reading<u8>::value"] {
        let labels = [("function", function), ("result", "ok")];
        assert_eq!(
            sample_value(&after, "function_calls_total", &labels),
            Some(0.0),
            "{function}"
        );
    }
    promexport::check().expect("no two functions serve one series");
    assert_eq!(promtool_check_metrics(&after), "");
}

/// tracing's own attribute, on methods of an instrumented impl block: both apply.
struct Traced;

#[promexport::instrument]
impl Traced {
    #[tracing::instrument(skip(self))]
    fn traced(&self, n: u32) -> Result<u32, String> {
        if n == 0 {
            return Err("zero".to_owned());
        }
        Ok(n)
    }

    #[tracing::instrument]
    async fn traced_async(n: u32) -> u32 {
        n + 1
    }

    #[promexport::skip]
    fn skipped(&self) {}
}

#[tokio::test(flavor = "current_thread")]
async fn tracing_attributes_keep_a_method_instrumented() {
    let before = render();
    assert_eq!(Traced.traced(3), Ok(3));
    assert!(Traced.traced(0).is_err());
    assert_eq!(Traced::traced_async(1).await, 2);
    Traced.skipped();
    let after = render();
    let delta = |f, r| calls(&after, f, "", r) - calls(&before, f, "", r);
    assert_eq!(delta("Traced::traced", "ok"), 1.0, "{after}");
    assert_eq!(delta("Traced::traced", "error"), 1.0);
    assert_eq!(delta("Traced::traced_async", "ok"), 1.0);
    assert!(!after.contains("function=\"Traced::skipped\""), "skipped");
}

/// Through a re-export, `crate = path` names promexport's attributes on the methods too.
use promexport as reexport;

struct ViaReexport;

#[reexport::instrument(crate = reexport)]
impl ViaReexport {
    fn counted(&self) {}

    #[reexport::skip]
    fn not_counted(&self) {}

    #[reexport::instrument(crate = reexport, function = "renamed_via_reexport")]
    fn renamed(&self) {}
}

#[test]
fn a_reexported_crate_path_names_skip_and_instrument_on_methods() {
    let before = render();
    ViaReexport.counted();
    ViaReexport.not_counted();
    ViaReexport.renamed();
    let after = render();
    let delta = |f| calls(&after, f, "", "ok") - calls(&before, f, "", "ok");
    assert_eq!(delta("ViaReexport::counted"), 1.0, "{after}");
    assert_eq!(delta("renamed_via_reexport"), 1.0);
    assert!(!after.contains("ViaReexport::not_counted"), "{after}");
    assert!(!after.contains("ViaReexport::renamed"), "{after}");
}

/// A method's own attribute, inside an instrumented impl block, keeps the `Type::method` label.
struct OwnOptions;

#[promexport::instrument]
impl OwnOptions {
    #[promexport::instrument(labels(tier = "gold"))]
    fn gold(&self) {}

    #[promexport::instrument]
    fn plain(&self) {}
}

#[test]
fn a_methods_own_attribute_keeps_the_type_in_its_label() {
    let before = render();
    OwnOptions.gold();
    OwnOptions.plain();
    let after = render();
    let delta = |f| calls(&after, f, "", "ok") - calls(&before, f, "", "ok");
    assert_eq!(delta("OwnOptions::gold"), 1.0, "{after}");
    assert_eq!(delta("OwnOptions::plain"), 1.0);
    let gold = [
        ("function", "OwnOptions::gold"),
        ("tier", "gold"),
        ("result", "ok"),
    ];
    assert!(
        sample_value(&after, "function_calls_total", &gold).is_some(),
        "{after}"
    );
}
