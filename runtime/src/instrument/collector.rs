use super::function::FunctionRegistration;
use super::outcome::Outcome;
use crate::encoding::{Encoder, Value};
use crate::metrics::{Descriptor, MetricKind, Series};
use crate::registry::{Collect, FamilyDescription};

const CALLS: Descriptor = Descriptor {
    name: "function_calls",
    help: "Autometrics counter for tracking function calls",
    unit: None,
    kind: MetricKind::Counter,
};
const DURATION: Descriptor = Descriptor {
    name: "function_calls_duration_seconds",
    help: "Autometrics histogram for tracking function call duration",
    unit: Some("seconds"),
    kind: MetricKind::Histogram,
};
const CONCURRENT: Descriptor = Descriptor {
    name: "function_calls_concurrent",
    help: "Autometrics gauge for tracking function calls concurrency",
    unit: None,
    kind: MetricKind::Gauge,
};

/// Serves the series of every `#[promexport::instrument]`ed function of the binary.
#[derive(Debug, Default)]
pub(crate) struct FunctionsCollector;

impl FunctionsCollector {
    /// Whether any function of the binary is instrumented.
    pub(crate) fn any() -> bool {
        inventory::iter::<FunctionRegistration>
            .into_iter()
            .next()
            .is_some()
    }
}

impl Collect for FunctionsCollector {
    fn describe(&self) -> Vec<FamilyDescription> {
        [CALLS, DURATION, CONCURRENT]
            .iter()
            .map(FamilyDescription::from)
            .collect()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        let functions = || {
            inventory::iter::<FunctionRegistration>
                .into_iter()
                .map(|r| r.0)
        };
        // Served at zero before the first call: the series of calls without a caller.
        super::function::warm_up_clock();
        for function in functions() {
            function.series(std::ptr::null());
        }
        let mut calls = encoder.family(&CALLS, "");
        for series in functions().flat_map(|f| f.all_series()) {
            for outcome in Outcome::ALL {
                let value = Value::U64(series.calls[outcome as usize].get());
                calls.sample(
                    "_total",
                    &series.labels,
                    Some(("result", outcome.as_str())),
                    value,
                );
            }
        }
        let mut duration = encoder.family(&DURATION, "");
        for series in functions().flat_map(|f| f.all_series()) {
            series.duration.encode(&mut duration, &series.labels);
        }
        let mut concurrent = encoder.family(&CONCURRENT, "");
        for series in functions().flat_map(|f| f.all_series()) {
            series.concurrent.encode(&mut concurrent, &series.labels);
        }
    }
}
