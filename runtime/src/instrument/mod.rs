//! Instrumented functions: what `#[promexport::instrument]` records, with the metric names and
//! labels of the autometrics specification so its dashboards and alerts work unchanged:
//!
//! - `function_calls_total{function, module, service_name, caller_function, caller_module, result}`
//! - `function_calls_duration_seconds{function, module, service_name, caller_function, caller_module}`
//! - `function_calls_concurrent{function, module, service_name, caller_function, caller_module}`
//!
//! `result` is `ok`, `error` (an `Err` return or a panic) or `cancelled` (a future dropped before
//! it completed). An [`Objective`] adds the `objective_*` labels of the specification.

mod call;
mod collector;
mod function;
mod objective;
mod outcome;
// Polls `InstrumentedFuture`s (run under Miri by scripts/miri.sh: the pin projections).
#[cfg(test)]
mod future_tests;

pub use call::{CallGuard, InstrumentedFuture, call, enter, instrument_future};
pub(crate) use collector::{FunctionsCollector, series_clashes};
pub use function::{
    DEFAULT_DURATION_BUCKETS, Function, FunctionOptions, FunctionRegistration, MetricNames, Record,
};
pub use objective::{Objective, ObjectiveLatency, ObjectivePercentile};
pub use outcome::{AnyOutcome, Outcome, ResultOutcome};
