//! Service-level objectives of instrumented functions, as the autometrics specification labels
//! them, so its Prometheus recording and alerting rules work unchanged.

/// A service-level objective (SLO) for one or more instrumented functions: a success rate, a
/// latency, or both.
///
/// `#[promexport::instrument(objective = API)]` adds `objective_name` and `objective_percentile`
/// to the function's `function_calls_total` (for the success rate), and `objective_name`,
/// `objective_percentile` and `objective_latency_threshold` to its
/// `function_calls_duration_seconds` (for the latency). Those labels switch on the
/// [autometrics rules](https://github.com/autometrics-dev/autometrics-shared#prometheus-recording--alerting-rules)
/// (load them with `rule_files` in Prometheus), which record error and latency rates and alert
/// when the objective's error budget burns too fast.
///
/// ```
/// use promexport::{Objective, ObjectiveLatency, ObjectivePercentile};
///
/// const API: Objective = Objective::new("api")
///     .success_rate(ObjectivePercentile::P99_9)
///     .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
///
/// #[promexport::instrument(objective = API)]
/// fn get_item(id: u32) -> Result<String, String> {
///     Ok(format!("item {id}"))
/// }
///
/// get_item(1).unwrap();
/// let text = promexport::render(promexport::Format::Text);
/// assert!(text.contains(r#"objective_name="api",objective_percentile="99.9",result="ok"} 1"#));
/// assert!(text.contains(
///     r#"objective_name="api",objective_percentile="99",objective_latency_threshold="0.25",le="0.25"}"#
/// ));
/// ```
///
/// The threshold must be one of the function's duration buckets (the default buckets hold every
/// [`ObjectiveLatency`]): the rules count the calls under it from that bucket. An objective
/// without a name, or with neither a success rate nor a latency, does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Objective {
    name: &'static str,
    success_rate: Option<ObjectivePercentile>,
    latency: Option<(ObjectiveLatency, ObjectivePercentile)>,
}

impl Objective {
    /// An objective named `name` (the `objective_name` label), with no target yet.
    pub const fn new(name: &'static str) -> Self {
        assert!(!name.is_empty(), "an objective needs a name");
        Objective {
            name,
            success_rate: None,
            latency: None,
        }
    }

    /// Calls that should not fail: at least `percentile` of them return `result="ok"`.
    pub const fn success_rate(mut self, percentile: ObjectivePercentile) -> Self {
        self.success_rate = Some(percentile);
        self
    }

    /// Calls that should be fast: at least `percentile` of them take `threshold` or less.
    pub const fn latency(
        mut self,
        threshold: ObjectiveLatency,
        percentile: ObjectivePercentile,
    ) -> Self {
        self.latency = Some((threshold, percentile));
        self
    }

    /// The `objective_name` label.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Checks, at compile time, an objective given to `#[promexport::instrument]` against the
    /// function's duration buckets.
    #[doc(hidden)]
    pub const fn check(&self, buckets: &[f64]) {
        assert!(
            self.success_rate.is_some() || self.latency.is_some(),
            "this objective has no target: give it `.success_rate(...)`, `.latency(...)` or both"
        );
        if let Some((threshold, _)) = self.latency {
            let threshold = threshold.seconds();
            let mut i = 0;
            while i < buckets.len() && buckets[i] != threshold {
                i += 1;
            }
            assert!(
                i < buckets.len(),
                "the objective's latency threshold is not one of this function's duration buckets: add it to `buckets = [...]`"
            );
        }
    }

    /// `objective_name="..",objective_percentile=".."` for the calls counter, if a success
    /// rate is set.
    pub(crate) fn calls_labels(&self) -> Option<String> {
        let percentile = self.success_rate?;
        let mut labels = String::new();
        let mut encoder = crate::labels::LabelSetEncoder::new(&mut labels);
        encoder.label("objective_name", &self.name);
        encoder.label("objective_percentile", &percentile.as_str());
        Some(labels)
    }

    /// `objective_name`, `objective_percentile` and `objective_latency_threshold` for the
    /// duration histogram, if a latency is set.
    pub(crate) fn duration_labels(&self) -> Option<String> {
        let (threshold, percentile) = self.latency?;
        let mut labels = String::new();
        let mut encoder = crate::labels::LabelSetEncoder::new(&mut labels);
        encoder.label("objective_name", &self.name);
        encoder.label("objective_percentile", &percentile.as_str());
        encoder.label("objective_latency_threshold", &threshold.as_str());
        Some(labels)
    }
}

/// The share of calls an [`Objective`] expects to meet it: the percentiles the autometrics
/// rules are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectivePercentile {
    /// 90%.
    P90,
    /// 95%.
    P95,
    /// 99%.
    P99,
    /// 99.9%.
    P99_9,
}

impl ObjectivePercentile {
    /// The `objective_percentile` label value: `"90"`, `"95"`, `"99"` or `"99.9"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectivePercentile::P90 => "90",
            ObjectivePercentile::P95 => "95",
            ObjectivePercentile::P99 => "99",
            ObjectivePercentile::P99_9 => "99.9",
        }
    }
}

/// The latency threshold of an [`Objective`]: the buckets of the autometrics duration
/// histogram, each of which the autometrics rules know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectiveLatency {
    /// 5 ms.
    Ms5,
    /// 10 ms.
    Ms10,
    /// 25 ms.
    Ms25,
    /// 50 ms.
    Ms50,
    /// 75 ms.
    Ms75,
    /// 100 ms.
    Ms100,
    /// 250 ms.
    Ms250,
    /// 500 ms.
    Ms500,
    /// 750 ms.
    Ms750,
    /// 1 s.
    Ms1000,
    /// 2.5 s.
    Ms2500,
    /// 5 s.
    Ms5000,
    /// 7.5 s.
    Ms7500,
    /// 10 s.
    Ms10000,
}

impl ObjectiveLatency {
    /// The `objective_latency_threshold` label value, in seconds, spelled exactly as the `le` of
    /// its bucket (`"0.25"`, `"1.0"`), which is how Prometheus 3 stores `le` too: rules compare
    /// the two as text.
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectiveLatency::Ms5 => "0.005",
            ObjectiveLatency::Ms10 => "0.01",
            ObjectiveLatency::Ms25 => "0.025",
            ObjectiveLatency::Ms50 => "0.05",
            ObjectiveLatency::Ms75 => "0.075",
            ObjectiveLatency::Ms100 => "0.1",
            ObjectiveLatency::Ms250 => "0.25",
            ObjectiveLatency::Ms500 => "0.5",
            ObjectiveLatency::Ms750 => "0.75",
            ObjectiveLatency::Ms1000 => "1.0",
            ObjectiveLatency::Ms2500 => "2.5",
            ObjectiveLatency::Ms5000 => "5.0",
            ObjectiveLatency::Ms7500 => "7.5",
            ObjectiveLatency::Ms10000 => "10.0",
        }
    }

    /// The threshold in seconds.
    pub const fn seconds(self) -> f64 {
        match self {
            ObjectiveLatency::Ms5 => 0.005,
            ObjectiveLatency::Ms10 => 0.01,
            ObjectiveLatency::Ms25 => 0.025,
            ObjectiveLatency::Ms50 => 0.05,
            ObjectiveLatency::Ms75 => 0.075,
            ObjectiveLatency::Ms100 => 0.1,
            ObjectiveLatency::Ms250 => 0.25,
            ObjectiveLatency::Ms500 => 0.5,
            ObjectiveLatency::Ms750 => 0.75,
            ObjectiveLatency::Ms1000 => 1.0,
            ObjectiveLatency::Ms2500 => 2.5,
            ObjectiveLatency::Ms5000 => 5.0,
            ObjectiveLatency::Ms7500 => 7.5,
            ObjectiveLatency::Ms10000 => 10.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_spelled_as_their_buckets() {
        for latency in [
            ObjectiveLatency::Ms5,
            ObjectiveLatency::Ms10,
            ObjectiveLatency::Ms25,
            ObjectiveLatency::Ms50,
            ObjectiveLatency::Ms75,
            ObjectiveLatency::Ms100,
            ObjectiveLatency::Ms250,
            ObjectiveLatency::Ms500,
            ObjectiveLatency::Ms750,
            ObjectiveLatency::Ms1000,
            ObjectiveLatency::Ms2500,
            ObjectiveLatency::Ms5000,
            ObjectiveLatency::Ms7500,
            ObjectiveLatency::Ms10000,
        ] {
            assert!(crate::instrument::DEFAULT_DURATION_BUCKETS.contains(&latency.seconds()));
            let mut spelled = String::new();
            crate::encoding::text::write_f64(&mut spelled, latency.seconds());
            assert_eq!(spelled, latency.as_str());
        }
    }
}
