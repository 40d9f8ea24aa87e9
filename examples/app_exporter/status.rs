//! The application's status (`GET /status`, JSON) and the seed's metrics made of it, shared by
//! `app_exporter` (scraped) and `remote_write_agent` (sent by remote write).

use promexport::{Gauge, LabelValue, Metrics, StateSet};
use serde::Deserialize;
use std::time::Duration;

/// Health the application reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Health {
    Healthy,
    Unhealthy,
}

/// The fields of the application's status that are served.
#[derive(Debug, Deserialize)]
pub(crate) struct Status {
    pub(crate) requests_current: i64,
    pub(crate) requests_pending: i64,
    pub(crate) uptime_seconds: f64,
    pub(crate) health: Health,
}

#[derive(Metrics)]
#[metrics(prefix = "app", no_global)]
pub(crate) struct AppMetrics {
    /// Current requests
    requests_current: Gauge,
    /// Pending requests
    requests_pending: Gauge,
    /// Uptime
    // No `unit = "seconds"`: the seed's dashboards query `app_uptime`.
    uptime: Gauge<f64>,
    /// Health
    health: StateSet<Health>,
}

impl From<Status> for AppMetrics {
    fn from(status: Status) -> Self {
        let metrics = AppMetrics::new();
        metrics.requests_current.set(status.requests_current);
        metrics.requests_pending.set(status.requests_pending);
        metrics.uptime.set(status.uptime_seconds);
        metrics.health.set(status.health);
        metrics
    }
}

/// Time allowed for one poll (connect, request and response).
pub(crate) const POLL_TIMEOUT: Duration = Duration::from_secs(2);

/// One poll of `url` per call: the application's metrics, or why there are none.
pub(crate) fn poller(
    program: &'static str,
    url: String,
) -> impl Fn() -> Result<AppMetrics, String> + Send + Sync + 'static {
    let config = ureq::Agent::config_builder().timeout_global(Some(POLL_TIMEOUT));
    let agent: ureq::Agent = config.build().into();
    move || {
        let status = agent
            .get(&url)
            .call()
            .and_then(|mut answer| answer.body_mut().read_json::<Status>());
        let status = status.map_err(|error| format!("polling {url}: {error}"));
        if let Err(message) = &status {
            // Every failure, not only the changes promexport reports: the seed logs each poll.
            eprintln!("{program}: {message}");
        }
        status.map(AppMetrics::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_and_ignores_other_fields() {
        let text = r#"{"requests_current": 4, "requests_pending": 0, "uptime_seconds": 104.9,
                       "health": "unhealthy", "build": {"tags": ["a", "\uD83D\uDE00"]}, "x": null}"#;
        let status: Status = serde_json::from_str(text).unwrap();
        assert_eq!(
            (status.requests_current, status.health),
            (4, Health::Unhealthy)
        );
        for bad in [
            &text.replace("4,", "4.5,"),
            &text.replace("\"unhealthy\"", "2"),
            "{}",
            "<html>",
        ] {
            assert!(serde_json::from_str::<Status>(bad).is_err(), "{bad}");
        }
    }
}
