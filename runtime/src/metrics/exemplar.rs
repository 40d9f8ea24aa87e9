//! Exemplars: one observation of a histogram bucket kept with its labels (a trace id), served
//! in OpenMetrics so a dashboard can jump from a latency bucket to a trace.

use crate::Error;
use std::time::{SystemTime, UNIX_EPOCH};

/// The most characters an exemplar's label names and values may hold together (OpenMetrics).
pub const MAX_EXEMPLAR_LABEL_CHARS: usize = 128;

/// One observation with its labels and time, attached to the bucket it fell in.
///
/// ```
/// use promexport::{Exemplar, Format, Histogram, Registry};
///
/// let latency = Histogram::with_buckets(&[0.1, 1.0])?;
/// latency.observe_with_exemplar(0.05, &[("trace_id", "4bf92f3577b34da6")])?;
/// let exemplar = latency.exemplar(0).expect("the first bucket has one");
/// assert_eq!(exemplar.value(), 0.05);
/// assert_eq!(exemplar.labels(), r#"trace_id="4bf92f3577b34da6""#);
/// assert!(Exemplar::new(&[("trace id", "x")], 1.0).is_err(), "not a label name");
/// # Ok::<(), promexport::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Pre-escaped `name="value",...`.
    labels: Box<str>,
    value: f64,
    /// Seconds since the Unix epoch.
    timestamp: f64,
}

impl Exemplar {
    /// An exemplar of `value` observed now. Label names must be valid (`[a-zA-Z_][a-zA-Z0-9_]*`),
    /// and names and values together hold at most 128 characters, as OpenMetrics requires.
    pub fn new(labels: &[(&str, &str)], value: f64) -> Result<Self, Error> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        Exemplar::at(labels, value, timestamp)
    }

    /// An exemplar of `value` observed at `timestamp` (seconds since the Unix epoch).
    pub(crate) fn at(labels: &[(&str, &str)], value: f64, timestamp: f64) -> Result<Self, Error> {
        let mut characters = 0;
        let mut text = String::new();
        for (name, label_value) in labels {
            if !is_label_name(name) {
                return Err(Error::Exemplar(format!(
                    "`{name}` is not a label name: use letters, digits and `_`, not starting with a digit"
                )));
            }
            characters += name.chars().count() + label_value.chars().count();
            if !text.is_empty() {
                text.push(',');
            }
            text.push_str(name);
            text.push_str("=\"");
            crate::encoding::escape_label_value_into(&mut text, label_value);
            text.push('"');
        }
        if characters > MAX_EXEMPLAR_LABEL_CHARS {
            return Err(Error::Exemplar(format!(
                "exemplar labels hold {characters} characters; OpenMetrics allows {MAX_EXEMPLAR_LABEL_CHARS}"
            )));
        }
        Ok(Exemplar {
            labels: text.into_boxed_str(),
            value,
            timestamp,
        })
    }

    /// The labels, pre-escaped: `trace_id="..."`.
    pub fn labels(&self) -> &str {
        &self.labels
    }

    /// The observed value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// When it was observed, in seconds since the Unix epoch.
    pub fn timestamp(&self) -> f64 {
        self.timestamp
    }
}

fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}
