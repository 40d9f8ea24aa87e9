//! [`FamilyError`]: why a family named at run time, or one of its samples, was refused.

use crate::metrics::MetricKind;
use std::fmt;

/// Why a [`ConstFamily`](crate::ConstFamily) or one of its samples was refused: returned, never
/// panicked, so that a collector mirroring a target reports it as a failed collection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FamilyError {
    /// The family's name (with its unit) is not a valid metric name, or the unit is not a
    /// valid name suffix.
    MetricName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A declared label name is not valid, is declared twice, or is one the family's type
    /// writes itself (`le` in a histogram, `quantile` in a summary, the family's name in a
    /// state set).
    LabelName {
        /// The family.
        family: String,
        /// The label name as given.
        label: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A sample's labels are not the family's declared ones (too many or too few values, a
    /// name that is not declared, one left out or given twice).
    Labels {
        /// The family.
        family: String,
        /// What does not match.
        problem: String,
    },
    /// A sample of another type than the family's (a histogram added to a counter family).
    Kind {
        /// The family.
        family: String,
        /// The family's type.
        kind: MetricKind,
        /// The method called: `add`, `add_histogram`, ...
        method: &'static str,
    },
    /// A sample's numbers cannot be served: histogram buckets out of order or decreasing,
    /// quantiles outside 0..=1.
    Sample {
        /// The family.
        family: String,
        /// What is wrong.
        problem: String,
    },
    /// Two families of one [`ConstMetrics`](crate::ConstMetrics) share a name (or one's
    /// samples would share another's name: `x` as a histogram and `x_count` as a gauge).
    Duplicate {
        /// The name both use.
        name: String,
    },
}

impl fmt::Display for FamilyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FamilyError::MetricName { problem, .. } => f.write_str(problem),
            FamilyError::LabelName {
                family, problem, ..
            } => write!(f, "family `{family}`: {problem}"),
            FamilyError::Labels { family, problem } => write!(f, "family `{family}`: {problem}"),
            FamilyError::Kind {
                family,
                kind,
                method,
            } => write!(
                f,
                "family `{family}` is a {} family: `{method}` adds no sample to it",
                kind.as_str()
            ),
            FamilyError::Sample { family, problem } => write!(f, "family `{family}`: {problem}"),
            FamilyError::Duplicate { name } => {
                write!(f, "two families of one ConstMetrics use the name `{name}`")
            }
        }
    }
}

impl std::error::Error for FamilyError {}
