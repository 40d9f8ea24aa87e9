use std::fmt;

/// Everything that can go wrong in promexport, as a value: nothing on the scrape path panics.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Two metric families claim the same name (or one's samples collide with another's).
    DuplicateMetric {
        /// The sample or family name both claim.
        name: String,
        /// Who registered it first, in words: ``field `jobs` of `my_crate::AppMetrics` ``,
        /// ``the collector `memcached`'s own `memcached_up` ``, or a type in backticks.
        first: String,
        /// Who tried to register it again, in the same words.
        second: String,
    },
    /// Two `#[promexport::instrument]`ed functions would serve series with the same labels.
    DuplicateSeries {
        /// The calls family both record into (`function_calls`).
        family: String,
        /// The labels both series would have, less the caller's.
        labels: String,
        /// The function served: ``fn `new` at src/a.rs:10``.
        first: String,
        /// The function left out.
        second: String,
    },
    /// More than one clash (of names or of series), each as its own error, in a stable order.
    Clashes(Vec<Error>),
    /// A collector of another metrics library was refused by that library (with the
    /// `prometheus-interop` feature: a `prometheus::Error` from
    /// `Registry::register_prometheus`). Boxed, so that the enum is the same with any set of
    /// features and no other library's type is part of promexport's API.
    Foreign(Box<dyn std::error::Error + Send + Sync>),
    /// The server could not bind, accept or start its runtime.
    Io(std::io::Error),
    /// A name given at runtime (a collector's prefix) is not a valid metric name.
    InvalidName(String),
    /// A label of a registry view ([`Registry::with_const_labels`](crate::Registry::with_const_labels))
    /// is one a family registered through it already has, or one the view already adds.
    LabelConflict {
        /// The label.
        label: String,
        /// The family that has it (`None`: the view already adds it).
        family: Option<String>,
    },
    /// The web config file is wrong: `file:line: what`.
    WebConfig(String),
    /// An exemplar's labels are not valid (a name, or more than 128 characters in all).
    Exemplar(String),
    /// A push to a Pushgateway failed: it could not be reached, did not answer in time, or
    /// refused the push.
    Push {
        /// The HTTP status the Pushgateway answered, if it answered.
        status: Option<u16>,
        /// What went wrong, with the start of the Pushgateway's answer if it gave one.
        message: String,
    },
    /// A remote writer could not send everything it had queued before its shutdown deadline.
    RemoteWrite(String),
    /// A setting given at run time is out of range or needs what is missing (a collector's
    /// timeout or interval, a tokio runtime).
    Config(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DuplicateMetric {
                name,
                first,
                second,
            } => write!(
                f,
                "metric name `{name}` is declared by both {first} and {second}; \
                 rename one (`#[metric(name = \"...\")]`) or give the struct another \
                 `#[metrics(prefix = \"...\")]`"
            ),
            Error::DuplicateSeries {
                family,
                labels,
                first,
                second,
            } => write!(
                f,
                "instrumented functions {first} and {second} would both serve `{family}{{{labels}}}`; \
                 only the first is served: give one `#[promexport::instrument(function = \"...\")]`"
            ),
            Error::Clashes(errors) => {
                write!(f, "{} clashes:", errors.len())?;
                for error in errors {
                    write!(f, "\n- {error}")?;
                }
                Ok(())
            }
            Error::Foreign(error) => write!(f, "foreign collector refused: {error}"),
            Error::Io(error) => write!(f, "metrics server: {error}"),
            Error::InvalidName(problem) => f.write_str(problem),
            Error::LabelConflict {
                label,
                family: Some(family),
            } => write!(
                f,
                "the registry view adds the label `{label}`, which the family `{family}` already has"
            ),
            Error::LabelConflict {
                label,
                family: None,
            } => write!(f, "the registry view already adds the label `{label}`"),
            Error::WebConfig(problem) => write!(f, "web config: {problem}"),
            Error::Exemplar(problem) => write!(f, "exemplar: {problem}"),
            Error::Push { message, .. } => write!(f, "push: {message}"),
            Error::RemoteWrite(problem) => write!(f, "remote write: {problem}"),
            Error::Config(problem) => f.write_str(problem),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Foreign(error) => Some(&**error),
            Error::Io(error) => Some(error),
            Error::DuplicateMetric { .. }
            | Error::DuplicateSeries { .. }
            | Error::Clashes(_)
            | Error::InvalidName(_)
            | Error::LabelConflict { .. }
            | Error::WebConfig(_)
            | Error::Exemplar(_)
            | Error::Push { .. }
            | Error::RemoteWrite(_)
            | Error::Config(_) => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::Io(error)
    }
}
