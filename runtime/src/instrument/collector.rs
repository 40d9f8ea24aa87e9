use super::function::{Function, FunctionRegistration, MetricNames, warm_up_clock};
use super::outcome::Outcome;
use crate::Error;
use crate::encoding::{Encoder, Labels, Value};
use crate::metrics::{Descriptor, MetricKind, Series};
use crate::registry::{Collect, FamilyDescription};
use std::sync::OnceLock;

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

/// What makes the series of a function distinct from another's: the families, and the labels
/// that do not depend on the caller.
fn identity(function: &Function) -> (&'static str, &'static str, &'static str) {
    let options = &function.options;
    (options.name, options.module, options.const_labels)
}

/// Whether two functions with one identity would write the same family.
fn share_a_family(a: &Function, b: &Function) -> bool {
    let (a, b) = (a.options.record, b.options.record);
    (a.calls && b.calls) || (a.duration && b.duration) || (a.concurrency && b.concurrency)
}

/// The instrumented functions, grouped by the metric names they record into, in a stable order
/// (by module, function and location, not by link order); of two whose series would be the
/// same, only the first is served (the clash is reported by `check()`).
fn by_metric_names() -> &'static [(MetricNames, Vec<&'static Function>)] {
    static GROUPS: OnceLock<Vec<(MetricNames, Vec<&'static Function>)>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let mut groups: Vec<(MetricNames, Vec<&'static Function>)> = Vec::new();
        for (function, clash) in sorted_functions() {
            if clash.is_some() {
                continue;
            }
            let names = function.options.metrics;
            match groups.iter_mut().find(|(n, _)| *n == names) {
                Some((_, functions)) => functions.push(function),
                None => groups.push((names, vec![function])),
            }
        }
        groups
    })
}

/// Every instrumented function in a stable order, each with the earlier one whose series its
/// own would duplicate, if any.
fn sorted_functions() -> Vec<(&'static Function, Option<&'static Function>)> {
    let mut functions: Vec<&'static Function> = inventory::iter::<FunctionRegistration>
        .into_iter()
        .map(|registration| registration.0)
        .collect();
    functions.sort_by_key(|f| (f.options.module, f.options.name, f.options.location));
    let mut sorted: Vec<(&'static Function, Option<&'static Function>)> = Vec::new();
    for function in functions {
        let clash = sorted
            .iter()
            .filter(|(served, clash)| {
                clash.is_none() && served.options.metrics == function.options.metrics
            })
            .map(|(served, _)| *served)
            .find(|served| {
                identity(served) == identity(function) && share_a_family(served, function)
            });
        sorted.push((function, clash));
    }
    sorted
}

/// Each pair of instrumented functions whose series would be the same, as errors naming both.
pub(crate) fn series_clashes() -> Vec<Error> {
    let describe = |function: &Function| {
        format!(
            "fn `{}` at {}",
            function.options.name, function.options.location
        )
    };
    sorted_functions()
        .into_iter()
        .filter_map(|(function, clash)| {
            let first = clash?;
            let options = &function.options;
            let mut labels = format!(
                "function=\"{}\",module=\"{}\"",
                options.name, options.module
            );
            if !options.const_labels.is_empty() {
                labels.push(',');
                labels.push_str(options.const_labels);
            }
            Some(Error::DuplicateSeries {
                family: options.metrics.calls.to_owned(),
                labels,
                first: describe(first),
                second: describe(function),
            })
        })
        .collect()
}

impl Collect for FunctionsCollector {
    fn describe(&self) -> Vec<FamilyDescription> {
        by_metric_names()
            .iter()
            .flat_map(|(names, _)| descriptors(*names))
            .map(|desc| FamilyDescription::from(&desc))
            .collect()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        warm_up_clock();
        for (names, functions) in by_metric_names() {
            let names = *names;
            // Served at zero before the first call: the series of calls without a caller.
            for function in functions {
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
                    let calls = &series.calls[outcome as usize];
                    let labels =
                        Labels::from(&*series.calls_labels).with("result", outcome.as_str());
                    family.counter(labels, Value::U64(calls.get()), Some(calls.created()), None);
                }
            }
            drop(family);
            let mut family = encoder.family(&duration, "");
            for series in series_of(|f| f.options.record.duration) {
                series.duration.encode(&mut family, &series.duration_labels);
            }
            drop(family);
            let mut family = encoder.family(&concurrent, "");
            for series in series_of(|f| f.options.record.concurrency) {
                series.concurrent.encode(&mut family, &series.labels);
            }
        }
    }
}
