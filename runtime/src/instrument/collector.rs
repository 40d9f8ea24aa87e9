use super::function::{Function, FunctionRegistration, MetricNames, warm_up_clock};
use super::outcome::Outcome;
use crate::encoding::{Encoder, Value};
use crate::metrics::{Descriptor, MetricKind, Series};
use crate::registry::{Collect, FamilyDescription};

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

/// The three families of one set of metric names.
fn descriptors(names: MetricNames) -> [Descriptor; 3] {
    // The autometrics HELP texts for its names, so nothing differs from what it serves.
    let autometrics = names == MetricNames::AUTOMETRICS;
    let help = |autometrics_help, own_help| {
        if autometrics {
            autometrics_help
        } else {
            own_help
        }
    };
    [
        Descriptor {
            name: names.calls,
            help: help(
                "Autometrics counter for tracking function calls",
                "Calls of instrumented functions, by result.",
            ),
            unit: None,
            kind: MetricKind::Counter,
        },
        Descriptor {
            name: names.duration,
            help: help(
                "Autometrics histogram for tracking function call duration",
                "Duration of calls of instrumented functions.",
            ),
            unit: Some("seconds"),
            kind: MetricKind::Histogram,
        },
        Descriptor {
            name: names.concurrent,
            help: help(
                "Autometrics gauge for tracking function calls concurrency",
                "Calls of instrumented functions in flight.",
            ),
            unit: None,
            kind: MetricKind::Gauge,
        },
    ]
}

/// The instrumented functions grouped by the metric names they record into, in a stable order.
fn by_metric_names() -> Vec<(MetricNames, Vec<&'static Function>)> {
    let mut groups: Vec<(MetricNames, Vec<&'static Function>)> = Vec::new();
    for registration in inventory::iter::<FunctionRegistration> {
        let function = registration.0;
        let names = function.options.metrics;
        match groups.iter_mut().find(|(n, _)| *n == names) {
            Some((_, functions)) => functions.push(function),
            None => groups.push((names, vec![function])),
        }
    }
    groups
}

impl Collect for FunctionsCollector {
    fn describe(&self) -> Vec<FamilyDescription> {
        by_metric_names()
            .into_iter()
            .flat_map(|(names, _)| descriptors(names))
            .map(|desc| FamilyDescription::from(&desc))
            .collect()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        warm_up_clock();
        for (names, functions) in by_metric_names() {
            // Served at zero before the first call: the series of calls without a caller.
            for function in &functions {
                function.series(std::ptr::null());
            }
            let [calls, duration, concurrent] = descriptors(names);
            let series_of = |record: fn(&Function) -> bool| {
                functions
                    .iter()
                    .filter(move |f| record(f))
                    .flat_map(|f| f.all_series())
            };
            let mut family = encoder.family(&calls, "");
            for series in series_of(|f| f.options.record.calls) {
                for outcome in Outcome::ALL {
                    let value = Value::U64(series.calls[outcome as usize].get());
                    family.sample(
                        "_total",
                        &series.calls_labels,
                        Some(("result", outcome.as_str())),
                        value,
                    );
                }
            }
            let mut family = encoder.family(&duration, "");
            for series in series_of(|f| f.options.record.duration) {
                series.duration.encode(&mut family, &series.duration_labels);
            }
            let mut family = encoder.family(&concurrent, "");
            for series in series_of(|f| f.options.record.concurrency) {
                series.concurrent.encode(&mut family, &series.labels);
            }
        }
    }
}
