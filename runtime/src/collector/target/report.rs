//! Where a collector's failures are told: `tracing` at each one, and stderr (once per change
//! of state) when no `tracing` subscriber is installed, so that a new exporter says why its
//! `<prefix>_up` is 0.

use super::Failure;

/// The state last told on stderr.
#[derive(Debug, Default)]
pub(super) struct StderrReport {
    told: Option<Health>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Health {
    Up,
    Failing(Failure),
}

impl StderrReport {
    /// The line to print for a collection that ended `now`, if the state changed since the last
    /// line printed: the first failure, a new kind of failure, the recovery. Nothing for the
    /// first success or a repeat.
    pub(super) fn line(&mut self, prefix: &str, now: Health, detail: &str) -> Option<String> {
        let before = self.told.replace(now);
        if before == Some(now) || (before.is_none() && now == Health::Up) {
            return None;
        }
        Some(match now {
            Health::Up => format!("promexport: collector `{prefix}` recovered: {prefix}_up is 1"),
            Health::Failing(failure) => format!(
                "promexport: collector `{prefix}`: collection failed ({}): {detail}; {prefix}_up is 0 \
                 (told once until that changes: install a `tracing` subscriber to log every failure)",
                failure.reason()
            ),
        })
    }
}

/// Logs a failed collection through `tracing`.
pub(super) fn warn(prefix: &str, failure: Failure, detail: &str) {
    tracing::warn!(target: "promexport::collect", collector = %prefix, reason = failure.reason(), %detail, "collection failed");
}

/// Whether nothing would show `tracing` events (no global subscriber was ever set).
pub(super) fn tracing_is_silent() -> bool {
    !tracing::dispatcher::has_been_set()
}

#[cfg(test)]
mod tests {
    use super::{Failure, Health, StderrReport};

    #[test]
    fn stderr_hears_of_each_change_of_state_once() {
        let mut report = StderrReport::default();
        let mut told = |health| report.line("memcached", health, "connection refused");
        assert_eq!(told(Health::Up), None, "a first success is no news");
        let first = told(Health::Failing(Failure::Error)).expect("the first failure is told");
        assert!(first.contains("collector `memcached`"), "{first}");
        assert!(first.contains("(error): connection refused"), "{first}");
        assert!(first.contains("memcached_up is 0"), "{first}");
        for _ in 0..3 {
            assert_eq!(
                told(Health::Failing(Failure::Error)),
                None,
                "not at every scrape"
            );
        }
        let timeout = told(Health::Failing(Failure::Timeout)).expect("a new reason is told");
        assert!(timeout.contains("(timeout)"), "{timeout}");
        assert_eq!(told(Health::Failing(Failure::Timeout)), None);
        let recovered = told(Health::Up).expect("the recovery is told");
        assert!(recovered.contains("recovered"), "{recovered}");
        assert_eq!(told(Health::Up), None);
        assert!(
            told(Health::Failing(Failure::Panic)).is_some(),
            "failing again is told"
        );
    }

    #[test]
    fn a_first_failure_is_told_even_without_a_success_before() {
        let mut report = StderrReport::default();
        assert!(
            report
                .line("x", Health::Failing(Failure::Timeout), "")
                .is_some()
        );
    }
}
