//! Two structs (as if from two crates) declaring one metric name, two instrumented functions
//! that would serve the same series, and a struct clashing with its collector's own names:
//! typed errors from `check()`, at server startup and at registration, each naming both sides
//! in user terms, never a silent overwrite or a panic while scraping.

use promexport::{Collector, Counter, Error, Format, Gauge, Metrics, Registry, Server};

mod billing {
    use super::*;
    #[derive(Metrics)]
    #[metrics(prefix = "shared")]
    pub struct BillingMetrics {
        /// Jobs run by billing.
        pub jobs: Counter,
    }
}

// After `billing` in the source, so first in link order: which of the two is served must not
// depend on that.
mod reports {
    use super::*;
    #[derive(Metrics)]
    pub struct ReportMetrics {
        /// Collides with billing's `shared_jobs_total` samples.
        #[metric(name = "shared_jobs_total")]
        pub jobs: Gauge,
        /// Collides with billing's too, as a second, separate clash.
        #[metric(name = "shared_jobs")]
        pub more_jobs: Gauge,
    }
}

/// Per-method attributes cannot know `Self`: both are `function="new"` of one module.
mod handlers {
    pub struct Alpha;
    pub struct Beta;

    impl Alpha {
        #[promexport::instrument]
        pub fn new() -> Self {
            Alpha
        }
    }

    impl Beta {
        #[promexport::instrument]
        pub fn new() -> Self {
            Beta
        }
    }
}

fn name_clash(error: &Error) -> (&str, [&str; 2]) {
    let Error::DuplicateMetric {
        name,
        first,
        second,
    } = error
    else {
        panic!("not a name clash: {error:?}");
    };
    let mut owners = [first.as_str(), second.as_str()];
    owners.sort();
    (name, owners)
}

#[test]
fn every_clash_is_a_typed_error_everywhere_but_the_scrape() {
    let error = promexport::check().expect_err("the clashes are found");
    let Error::Clashes(clashes) = &error else {
        panic!("unexpected error {error:?}");
    };
    assert_eq!(clashes.len(), 3, "{error}");
    let billing = "field `jobs` of `duplicate_names::billing::BillingMetrics`";
    let mut names: Vec<_> = clashes[..2].iter().map(name_clash).collect();
    names.sort();
    assert_eq!(
        names,
        [
            (
                "shared_jobs",
                [
                    billing,
                    "field `more_jobs` of `duplicate_names::reports::ReportMetrics`"
                ]
            ),
            (
                "shared_jobs_total",
                [
                    billing,
                    "field `jobs` of `duplicate_names::reports::ReportMetrics`"
                ]
            ),
        ]
    );
    let Error::DuplicateSeries {
        family,
        labels,
        first,
        second,
    } = &clashes[2]
    else {
        panic!("not a series clash: {:?}", clashes[2]);
    };
    assert_eq!(family, "function_calls");
    assert_eq!(
        labels,
        r#"function="new",module="duplicate_names::handlers""#
    );
    // Both named by where their attributes are.
    let at = |line| format!("fn `new` at tests/tests/duplicate_names.rs:{line}");
    let mut functions = [first.clone(), second.clone()];
    functions.sort();
    assert_eq!(functions, [at(39), at(46)]);
    let message = error.to_string();
    assert!(message.starts_with("3 clashes:\n- "), "{message}");
    assert!(message.contains("rename one"), "{message}");
    assert!(message.contains("function = "), "{message}");

    let refused = Server::bind("127.0.0.1:0").unwrap().spawn();
    assert!(matches!(refused, Err(Error::Clashes(ref all)) if all.len() == 3));
    assert!(matches!(
        promexport::serve("127.0.0.1:0"),
        Err(Error::Clashes(_))
    ));

    // Scraping still works and serves one declaration of each: the struct whose path sorts
    // first, and one of the two functions.
    billing::BillingMetrics::global().jobs.inc();
    reports::ReportMetrics::global().jobs.set(5);
    let _ = (handlers::Alpha::new(), handlers::Beta::new());
    let text = promexport::render(Format::Text);
    assert!(
        text.contains("# TYPE shared_jobs_total counter\nshared_jobs_total 1\n"),
        "{text}"
    );
    assert_eq!(text.matches("# TYPE shared_jobs").count(), 1, "{text}");
    let new_calls: Vec<_> = text
        .lines()
        .filter(|line| line.starts_with(r#"function_calls_total{function="new","#))
        .filter(|line| line.contains(r#"result="ok""#))
        .collect();
    assert_eq!(new_calls.len(), 1, "{text}");
    assert_eq!(promexport_tests::promtool_check_metrics(&text), "");
}

/// Not prefixed, so the derive cannot see that `Collector::new("memcached", ..)` serves a
/// `memcached_up` of its own.
#[derive(Metrics)]
#[metrics(no_global)]
struct MemcachedMetrics {
    /// Whether memcached answered, as the collector already says.
    memcached_up: Gauge,
}

#[test]
fn a_clash_with_a_collectors_own_names_names_both_sides() {
    let registry = Registry::new();
    let error = Collector::new("memcached", || async {
        Ok::<_, String>(MemcachedMetrics::new())
    })
    .register_in(&registry)
    .expect_err("`memcached_up` is the collector's");
    let (name, owners) = name_clash(&error);
    assert_eq!(name, "memcached_up");
    assert_eq!(
        owners,
        [
            "field `memcached_up` of `duplicate_names::MemcachedMetrics`",
            "the collector `memcached`'s own `memcached_up`",
        ]
    );
    let message = error.to_string();
    assert!(
        message.starts_with(
            "metric name `memcached_up` is declared by both the collector `memcached`'s own `memcached_up` and field `memcached_up` of `duplicate_names::MemcachedMetrics`"
        ),
        "{message}"
    );
}
