//! Histogram bucket bounds: client_golang's helpers as `const fn`s, and validated bounds chosen
//! at run time.

use crate::Error;

/// `N` bounds `start, start·factor, start·factor², ...`: client_golang's `ExponentialBuckets`,
/// as a `const fn`, so the bounds can be a constant (and a `#[metric(buckets = ...)]`).
///
/// # Panics
///
/// When `N` is 0, `start` is not positive and finite, `factor` is not above 1, or the last
/// bound is not finite. In a constant that is a compile error, not a run-time panic;
/// [`Buckets::exponential`] reports the same problems as an [`Error`].
///
/// ```
/// use promexport::{Histogram, exponential_buckets};
/// const LATENCY: [f64; 4] = exponential_buckets(0.001, 10.0);
/// assert_eq!(LATENCY, [0.001, 0.01, 0.1, 1.0]);
/// let histogram = Histogram::with_buckets(&LATENCY)?;
/// # Ok::<(), promexport::Error>(())
/// ```
///
/// ```compile_fail
/// const NONE: [f64; 0] = promexport::exponential_buckets(1.0, 2.0); // no bucket
/// ```
pub const fn exponential_buckets<const N: usize>(start: f64, factor: f64) -> [f64; N] {
    assert!(N > 0, "exponential_buckets needs at least one bucket");
    assert!(
        start > 0.0 && start.is_finite(),
        "exponential_buckets needs a positive, finite start"
    );
    assert!(factor > 1.0, "exponential_buckets needs a factor above 1");
    let mut bounds = [0.0; N];
    let mut bound = start;
    let mut index = 0;
    while index < N {
        bounds[index] = bound;
        bound *= factor;
        index += 1;
    }
    assert!(
        bounds[N - 1].is_finite(),
        "exponential_buckets' last bound overflows to infinity; use fewer buckets or a smaller factor"
    );
    bounds
}

/// `N` bounds `start, start + width, start + 2·width, ...`: client_golang's `LinearBuckets`,
/// as a `const fn`.
///
/// # Panics
///
/// When `N` is 0, `start` is not finite, `width` is not positive, or the last bound is not
/// finite (a compile error in a constant); [`Buckets::linear`] reports them as an [`Error`].
///
/// ```
/// use promexport::linear_buckets;
/// const QUEUE_DEPTH: [f64; 5] = linear_buckets(0.0, 25.0);
/// assert_eq!(QUEUE_DEPTH, [0.0, 25.0, 50.0, 75.0, 100.0]);
/// ```
///
/// ```compile_fail
/// const BACKWARDS: [f64; 3] = promexport::linear_buckets(10.0, -1.0); // not increasing
/// ```
pub const fn linear_buckets<const N: usize>(start: f64, width: f64) -> [f64; N] {
    assert!(N > 0, "linear_buckets needs at least one bucket");
    assert!(start.is_finite(), "linear_buckets needs a finite start");
    assert!(
        width > 0.0 && width.is_finite(),
        "linear_buckets needs a positive, finite width"
    );
    let mut bounds = [0.0; N];
    let mut index = 0;
    while index < N {
        // `start + index·width`, not repeated additions: no error builds up.
        bounds[index] = start + index as f64 * width;
        index += 1;
    }
    assert!(
        bounds[N - 1].is_finite(),
        "linear_buckets' last bound overflows to infinity; use fewer buckets or a smaller width"
    );
    bounds
}

/// Whether `bounds` are valid histogram bounds: at least one, finite, strictly increasing.
/// A `const fn`, for the compile-time check of `#[metric(buckets = CONSTANT)]`.
pub const fn valid_buckets(bounds: &[f64]) -> bool {
    if bounds.is_empty() {
        return false;
    }
    let mut index = 0;
    while index < bounds.len() {
        if !bounds[index].is_finite() || (index > 0 && bounds[index] <= bounds[index - 1]) {
            return false;
        }
        index += 1;
    }
    true
}

/// Histogram bucket bounds chosen at run time (from configuration, say): validated once, owned,
/// and freed with the histograms using them, where `&'static` bounds would need `Box::leak`.
///
/// ```
/// use promexport::{Buckets, Histogram};
/// let from_config = vec![0.05, 0.2, 1.0];
/// let histogram = Histogram::from_buckets(Buckets::new(from_config)?);
/// histogram.observe(0.1);
/// let sizes = Buckets::exponential(100.0, 4.0, 5)?;
/// assert_eq!(sizes.as_slice(), [100.0, 400.0, 1600.0, 6400.0, 25600.0]);
/// assert!(Buckets::linear(1.0, 0.0, 3).is_err());
/// # Ok::<(), promexport::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets(Vec<f64>);

impl Buckets {
    /// `bounds` as they are: at least one, finite, strictly increasing (`+Inf` is added).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first bound that breaks these rules.
    pub fn new(bounds: Vec<f64>) -> Result<Self, Error> {
        match super::histogram::bucket_problem(&bounds) {
            Some(problem) => Err(Error::Config(problem)),
            None => Ok(Buckets(bounds)),
        }
    }

    /// `count` bounds from `start`, each `factor` times the previous
    /// ([`exponential_buckets`] at run time).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `count` is 0, `start` is not positive and finite, `factor` is
    /// not above 1, or the last bound is not finite.
    pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Self, Error> {
        let problem = if count == 0 {
            Some("exponential buckets need a count of at least 1".to_owned())
        } else if !(start > 0.0 && start.is_finite()) {
            Some(format!(
                "exponential buckets need a positive, finite start, not `{start}`"
            ))
        } else if factor.is_nan() || factor <= 1.0 {
            Some(format!(
                "exponential buckets need a factor above 1, not `{factor}`"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::Config(problem));
        }
        let exponent = i32::try_from(count - 1).unwrap_or(i32::MAX);
        if !(start * factor.powi(exponent)).is_finite() {
            return Err(Error::Config(format!(
                "exponential buckets from `{start}` by `{factor}` overflow to infinity before {count} buckets"
            )));
        }
        let mut bound = start;
        let bounds = (0..count)
            .map(|_| {
                let current = bound;
                bound *= factor;
                current
            })
            .collect();
        Buckets::new(bounds)
    }

    /// `count` bounds from `start`, `width` apart ([`linear_buckets`] at run time).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `count` is 0, `start` is not finite, `width` is not positive
    /// and finite, or the last bound is not finite.
    pub fn linear(start: f64, width: f64, count: usize) -> Result<Self, Error> {
        let problem = if count == 0 {
            Some("linear buckets need a count of at least 1".to_owned())
        } else if !start.is_finite() {
            Some(format!("linear buckets need a finite start, not `{start}`"))
        } else if !(width > 0.0 && width.is_finite()) {
            Some(format!(
                "linear buckets need a positive, finite width, not `{width}`"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::Config(problem));
        }
        Buckets::new((0..count).map(|i| start + i as f64 * width).collect())
    }

    /// The bounds, without `+Inf`.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }

    pub(crate) fn into_vec(self) -> Vec<f64> {
        self.0
    }
}

impl TryFrom<Vec<f64>> for Buckets {
    type Error = Error;
    fn try_from(bounds: Vec<f64>) -> Result<Self, Error> {
        Buckets::new(bounds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_and_run_time_forms_agree() {
        const EXPONENTIAL: [f64; 6] = exponential_buckets(0.5, 3.0);
        const LINEAR: [f64; 4] = linear_buckets(-1.0, 0.5);
        assert_eq!(EXPONENTIAL, [0.5, 1.5, 4.5, 13.5, 40.5, 121.5]);
        assert_eq!(LINEAR, [-1.0, -0.5, 0.0, 0.5]);
        assert_eq!(
            Buckets::exponential(0.5, 3.0, 6).unwrap().as_slice(),
            EXPONENTIAL
        );
        assert_eq!(Buckets::linear(-1.0, 0.5, 4).unwrap().as_slice(), LINEAR);
        assert!(valid_buckets(&EXPONENTIAL) && valid_buckets(&LINEAR));
        // Many small steps stay exact multiples: no drift from repeated additions.
        let many: [f64; 1000] = linear_buckets(0.0, 0.1);
        assert_eq!(many[999], 999.0 * 0.1);
    }

    #[test]
    fn every_problem_is_a_typed_error() {
        for (result, problem) in [
            (Buckets::exponential(1.0, 2.0, 0), "count of at least 1"),
            (
                Buckets::exponential(0.0, 2.0, 3),
                "positive, finite start, not `0`",
            ),
            (Buckets::exponential(-1.0, 2.0, 3), "not `-1`"),
            (Buckets::exponential(f64::NAN, 2.0, 3), "not `NaN`"),
            (Buckets::exponential(1.0, 1.0, 3), "factor above 1, not `1`"),
            (Buckets::exponential(1.0, f64::NAN, 3), "not `NaN`"),
            (Buckets::exponential(1.0, 10.0, 400), "overflow to infinity"),
            (Buckets::linear(0.0, 1.0, 0), "count of at least 1"),
            (Buckets::linear(f64::INFINITY, 1.0, 2), "finite start"),
            (
                Buckets::linear(0.0, 0.0, 2),
                "positive, finite width, not `0`",
            ),
            (Buckets::linear(0.0, -2.0, 2), "not `-2`"),
            (Buckets::linear(0.0, f64::MAX, 3), "must be finite"),
            (Buckets::new(vec![]), "at least one upper bound"),
            (Buckets::new(vec![1.0, f64::NAN]), "not `NaN`"),
            (Buckets::new(vec![2.0, 1.0]), "`1` comes after `2`"),
            (Buckets::new(vec![1.0, 1.0]), "`1` comes after `1`"),
        ] {
            match result {
                Err(Error::Config(message)) => assert!(message.contains(problem), "{message}"),
                other => panic!("expected {problem:?}, got {other:?}"),
            }
        }
        for invalid in [
            &[][..],
            &[1.0, 1.0],
            &[f64::NAN],
            &[0.0, f64::INFINITY],
            &[2.0, 1.0],
        ] {
            assert!(!valid_buckets(invalid), "{invalid:?}");
        }
    }
}
