//! `InstrumentedFuture` polled by hand: ready at once, pending then ready, dropped while
//! pending, panicking. Under Miri (scripts/miri.sh) these run the unsafe pin projections of
//! `poll` and the drop of the wrapped future in place.

use super::{
    DEFAULT_DURATION_BUCKETS, Function, FunctionOptions, MetricNames, Outcome, Record, call,
    instrument_future,
};
use std::cell::Cell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

const fn function(name: &'static str) -> Function {
    Function::new(FunctionOptions {
        name,
        module: "future_tests",
        crate_name: "promexport",
        buckets: DEFAULT_DURATION_BUCKETS,
        native: None,
        metrics: MetricNames::AUTOMETRICS,
        record: Record {
            calls: true,
            duration: true,
            concurrency: true,
        },
        const_labels: "",
        objective: None,
        location: "future_tests.rs",
    })
}

/// Pending at its first `pending_polls` polls, then ready with its value; marks `dropped`
/// when dropped, so a test sees it was dropped where it was pinned.
struct Steps {
    pending_polls: usize,
    value: String,
    dropped: Rc<Cell<bool>>,
    /// Called at each poll: runs an instrumented function "inside" the future.
    on_poll: fn(),
    _pinned: std::marker::PhantomPinned,
}

impl Steps {
    fn new(pending_polls: usize, on_poll: fn()) -> (Self, Rc<Cell<bool>>) {
        let dropped = Rc::new(Cell::new(false));
        let steps = Steps {
            pending_polls,
            value: "done".to_owned(),
            dropped: dropped.clone(),
            on_poll,
            _pinned: std::marker::PhantomPinned,
        };
        (steps, dropped)
    }
}

impl Future for Steps {
    type Output = String;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<String> {
        // SAFETY: no field is structurally pinned; nothing is moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        (this.on_poll)();
        if this.pending_polls == 0 {
            return Poll::Ready(std::mem::take(&mut this.value));
        }
        this.pending_polls -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Steps {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

fn poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// (ok, error, cancelled, in flight) of the calls of `function` from no instrumented caller.
fn counts(function: &'static Function) -> (u64, u64, u64, i64) {
    let series = function.series(std::ptr::null());
    let calls = |outcome: Outcome| series.calls[outcome as usize].get();
    (
        calls(Outcome::Ok),
        calls(Outcome::Error),
        calls(Outcome::Cancelled),
        series.concurrent.get(),
    )
}

fn nothing() {}

/// Runs `test` on a stopped clock, advanced by hand.
fn on_mock_clock(test: impl FnOnce(&dyn Fn(std::time::Duration))) {
    crate::clock::mock::with_mock_clock(|| test(&crate::clock::mock::advance));
}

#[test]
fn a_ready_future_is_one_ok_call() {
    on_mock_clock(|_| {
        static READY: Function = function("ready");
        let (steps, dropped) = Steps::new(0, nothing);
        {
            let future = pin!(instrument_future(&READY, steps, |_| Outcome::Ok));
            assert_eq!(poll(future), Poll::Ready("done".to_owned()));
            assert_eq!(counts(&READY), (1, 0, 0, 0));
        }
        assert!(dropped.get(), "dropped where it was pinned");
    });
}

#[test]
fn a_pending_future_is_in_flight_until_ready_and_is_the_caller_while_polled() {
    on_mock_clock(|mock| {
        static OUTER: Function = function("outer");
        static INNER: Function = function("inner");
        fn inner_call() {
            call(&INNER, || (), |_| Outcome::Ok);
        }
        let (steps, dropped) = Steps::new(2, inner_call);
        let mut future = pin!(instrument_future(&OUTER, steps, |value: &String| {
            if value == "done" {
                Outcome::Ok
            } else {
                Outcome::Error
            }
        }));
        for _ in 0..2 {
            assert_eq!(poll(future.as_mut()), Poll::Pending);
            assert_eq!(counts(&OUTER), (0, 0, 0, 1), "in flight while pending");
            // Between polls the future is not running: a call here has no instrumented caller.
            inner_call();
            mock(std::time::Duration::from_millis(250));
        }
        assert_eq!(poll(future.as_mut()), Poll::Ready("done".to_owned()));
        assert_eq!(counts(&OUTER), (1, 0, 0, 0));
        let duration = &OUTER.series(std::ptr::null()).duration;
        assert_eq!(duration.count_and_sum(), (1, 0.5), "from the first poll");
        assert!(!dropped.get(), "still pinned in `future`");
        let from_outer = INNER.series(&OUTER);
        assert_eq!(
            from_outer.calls[Outcome::Ok as usize].get(),
            3,
            "one call per poll"
        );
        assert_eq!(counts(&INNER), (2, 0, 0, 0), "the calls between polls");
    });
}

#[test]
fn a_future_dropped_while_pending_is_cancelled_and_drops_what_it_wraps() {
    on_mock_clock(|_| {
        static DROPPED: Function = function("dropped");
        let (steps, dropped) = Steps::new(1, nothing);
        let mut future = Box::pin(instrument_future(&DROPPED, steps, |_| Outcome::Ok));
        assert_eq!(poll(future.as_mut()), Poll::Pending);
        assert_eq!(counts(&DROPPED), (0, 0, 0, 1));
        drop(future);
        assert!(dropped.get());
        assert_eq!(counts(&DROPPED), (0, 0, 1, 0));
    });
}

#[test]
fn a_future_never_polled_is_no_call() {
    on_mock_clock(|_| {
        static UNPOLLED: Function = function("unpolled");
        let (steps, dropped) = Steps::new(0, nothing);
        drop(instrument_future(&UNPOLLED, steps, |_| Outcome::Ok));
        assert!(dropped.get());
        assert_eq!(counts(&UNPOLLED), (0, 0, 0, 0));
    });
}

#[test]
fn a_panicking_future_is_an_error_and_restores_the_caller() {
    on_mock_clock(|_| {
        static PANICKING: Function = function("panicking");
        static AFTER: Function = function("after_panic");
        fn explode() {
            panic!("the body of an instrumented future panicked");
        }
        let (steps, dropped) = Steps::new(0, explode);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // Dropped by the unwinding, as an executor's task is.
            let future = pin!(instrument_future(&PANICKING, steps, |_| Outcome::Ok));
            poll(future)
        }));
        assert!(unwound.is_err());
        assert!(dropped.get());
        assert_eq!(counts(&PANICKING), (0, 1, 0, 0));
        // The panicking future is no longer the current function.
        call(&AFTER, || (), |_| Outcome::Ok);
        assert_eq!(counts(&AFTER), (1, 0, 0, 0));
    });
}
