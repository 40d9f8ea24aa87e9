//! Two structs (as if from two crates) declaring one metric name: a typed error from `check()` and
//! at server startup, never a silent overwrite or a panic while scraping.

use promexport::{Counter, Error, Format, Gauge, Metrics, Server};

mod billing {
    use super::*;
    #[derive(Metrics)]
    #[metrics(prefix = "shared")]
    pub struct BillingMetrics {
        /// Jobs run by billing.
        pub jobs: Counter,
    }
}

mod reports {
    use super::*;
    #[derive(Metrics)]
    pub struct ReportMetrics {
        /// Collides with billing's `shared_jobs_total` samples.
        #[metric(name = "shared_jobs_total")]
        pub jobs: Gauge,
    }
}

#[test]
fn a_clash_is_a_typed_error_everywhere_but_the_scrape() {
    let error = promexport::check().expect_err("the clash is found");
    let Error::DuplicateMetric {
        name,
        first,
        second,
    } = &error
    else {
        panic!("unexpected error {error:?}");
    };
    assert_eq!(name, "shared_jobs_total");
    let mut owners = [first.as_str(), second.as_str()];
    owners.sort();
    assert_eq!(
        owners,
        [
            "duplicate_names::billing::BillingMetrics",
            "duplicate_names::reports::ReportMetrics"
        ]
    );
    assert!(error.to_string().contains("rename one"), "{error}");

    let refused = Server::bind("127.0.0.1:0").unwrap().spawn();
    assert!(matches!(refused, Err(Error::DuplicateMetric { .. })));
    assert!(matches!(
        promexport::serve("127.0.0.1:0"),
        Err(Error::DuplicateMetric { .. })
    ));

    // Scraping still works and serves the first declaration only.
    billing::BillingMetrics::global().jobs.inc();
    reports::ReportMetrics::global().jobs.set(5);
    let text = promexport::render(Format::Text);
    assert_eq!(
        text.matches("# TYPE shared_jobs_total").count(),
        1,
        "{text}"
    );
}
