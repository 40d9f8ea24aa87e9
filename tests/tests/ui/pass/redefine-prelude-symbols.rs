//! Hygiene: the generated code must name everything through `::promexport`, whatever the user
//! has in scope — prelude names redefined, `std`/`core`/`promexport` shadowed by local modules,
//! or no prelude at all.

#![allow(dead_code, unused_imports, unused_macros)]

mod redefined {
    // Empty modules standing in for the crates the generated code might name relatively.
    mod empty {}
    use empty as std;
    use empty as core;
    use empty as promexport;
    use empty as inventory;

    // Prelude types, traits, variants and macros, redefined.
    struct Result;
    struct Option;
    struct Vec;
    struct String;
    struct Box;
    struct Default;
    struct Iterator;
    struct From;
    struct Into;
    struct Clone;
    struct Send;
    struct Sync;
    struct Sized;
    enum Redefined {
        Some,
        None,
        Ok,
        Err,
    }
    use Redefined::{Err, None, Ok, Some};
    macro_rules! assert {
        ($($t:tt)*) => {
            compile_error!("the derive used the caller's `assert!`")
        };
    }
    macro_rules! matches {
        ($($t:tt)*) => {
            compile_error!("the derive used the caller's `matches!`")
        };
    }
    macro_rules! unreachable {
        ($($t:tt)*) => {
            compile_error!("the derive used the caller's `unreachable!`")
        };
    }
    macro_rules! concat {
        ($($t:tt)*) => {
            compile_error!("the derive used the caller's `concat!`")
        };
    }
    macro_rules! module_path {
        ($($t:tt)*) => {
            compile_error!("the derive used the caller's `module_path!`")
        };
    }

    // Variants named like prelude items must still be found through `Self::`.
    #[derive(
        ::core::clone::Clone,
        ::core::cmp::PartialEq,
        ::core::cmp::Eq,
        ::core::hash::Hash,
        ::promexport::LabelValue,
    )]
    enum Outcome {
        Some,
        None,
        Ok,
        Err,
    }

    #[derive(
        ::core::clone::Clone,
        ::core::cmp::PartialEq,
        ::core::cmp::Eq,
        ::core::hash::Hash,
        ::promexport::LabelSet,
    )]
    struct Labels {
        outcome: Outcome,
        // Fields named like the generated code's locals.
        index: bool,
        rest: bool,
        out: bool,
    }

    #[derive(
        ::core::clone::Clone,
        ::core::cmp::PartialEq,
        ::core::cmp::Eq,
        ::core::hash::Hash,
        ::promexport::LabelSet,
    )]
    struct OpenLabels {
        name: ::std::string::String,
    }

    #[derive(::promexport::Metrics)]
    #[metrics(prefix = "redefined", const_labels(env = "test"))]
    struct Metrics {
        /// Calls by outcome.
        calls: ::promexport::Family<Labels, ::promexport::Counter>,
        /// Calls by name.
        named: ::promexport::Family<OpenLabels, ::promexport::Gauge>,
        /// Call duration.
        #[metric(unit = "seconds", buckets = [0.5, 1.0])]
        duration: ::promexport::Histogram,
        /// Last outcome.
        last: ::promexport::StateSet<Outcome>,
        /// Version.
        version: ::promexport::Info<OpenLabels>,
        #[metric(skip)]
        skipped: ::core::primitive::u8,
    }

    pub(crate) fn record() {
        let labels = Labels {
            outcome: Outcome::None,
            index: true,
            rest: false,
            out: true,
        };
        Metrics::global().calls.get(&labels).inc();
        Metrics::global().last.set(Outcome::Err);
    }
}

mod no_prelude {
    #![no_implicit_prelude]

    #[derive(
        ::core::clone::Clone,
        ::core::cmp::PartialEq,
        ::core::cmp::Eq,
        ::core::hash::Hash,
        ::promexport::LabelValue,
    )]
    enum Mode {
        Fast,
        Slow,
    }

    #[derive(
        ::core::clone::Clone,
        ::core::cmp::PartialEq,
        ::core::cmp::Eq,
        ::core::hash::Hash,
        ::promexport::LabelSet,
    )]
    struct Labels {
        mode: Mode,
        shard: ::core::primitive::u32,
    }

    #[derive(::promexport::Metrics)]
    #[metrics(prefix = "no_prelude")]
    struct Metrics {
        /// Jobs by mode.
        jobs: ::promexport::Family<Labels, ::promexport::Counter>,
        /// Current mode.
        mode: ::promexport::StateSet<Mode>,
        /// Load.
        #[metric(unit = "ratio")]
        load: ::promexport::Gauge<::core::primitive::f64>,
    }

    pub(crate) fn record() {
        let labels = Labels {
            mode: Mode::Slow,
            shard: 7,
        };
        Metrics::global().jobs.get(&labels).inc();
        Metrics::global().mode.set(Mode::Fast);
    }
}

fn main() {
    redefined::record();
    no_prelude::record();
    let text = promexport::render(promexport::Format::Text);
    assert!(
        text.contains(
            "redefined_calls_total{env=\"test\",outcome=\"none\",index=\"true\",rest=\"false\",out=\"true\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("redefined_last{env=\"test\",redefined_last=\"err\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("no_prelude_jobs_total{mode=\"slow\",shard=\"7\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("no_prelude_mode{no_prelude_mode=\"fast\"} 1\n"),
        "{text}"
    );
}
