//! Which native bucket a value falls in, computed as client_golang does (`histogramCounts.observe`,
//! `pickSchema` and `getLe` in prometheus/histogram.go), so both put every value, powers of two,
//! subnormals and infinities included, in the same bucket.

use super::bounds::BOUNDS;

/// The finest resolution: buckets grow by `2^(2^-8)`, about 0.27 %.
pub const MAX_SCHEMA: i32 = 8;
/// The coarsest resolution: buckets grow by `2^16`.
pub const MIN_SCHEMA: i32 = -4;

/// The largest schema `n` in `-4..=8` whose bucket factor `2^(2^-n)` is not above `factor`
/// (`factor` above 1, as the caller checks).
pub(crate) fn schema_for_factor(factor: f64) -> i32 {
    let floor = factor.log2().log2().floor();
    if floor <= -8.0 {
        MAX_SCHEMA
    } else if floor >= 4.0 {
        MIN_SCHEMA
    } else {
        -(floor as i32)
    }
}

/// `value` as `fraction * 2^exponent` with `fraction` in `[0.5, 1)`: Go's `math.Frexp` (zero,
/// infinities and NaN come back unchanged with exponent 0; subnormals are normalised first).
pub(crate) fn frexp(value: f64) -> (f64, i32) {
    if value == 0.0 || !value.is_finite() {
        return (value, 0);
    }
    let (value, mut exponent) = if value.abs() < f64::MIN_POSITIVE {
        (value * (1u64 << 52) as f64, -52)
    } else {
        (value, 0)
    };
    let bits = value.to_bits();
    exponent += ((bits >> 52) & 0x7ff) as i32 - 1022;
    let fraction = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (fraction, exponent)
}

/// The index of the bucket `(base^(i-1), base^i]` that holds `|value|` at `schema`, with
/// `±Inf` one above the bucket of `f64::MAX`. `value` is not NaN.
///
/// A normal value's fraction and exponent are its bits, as `frexp` would return them: only
/// zero, subnormals and infinities take [`frexp`].
#[inline]
pub(crate) fn bucket_key(value: f64, schema: i32) -> i32 {
    const MANTISSA: u64 = (1 << 52) - 1;
    let bits = value.to_bits();
    let biased_exponent = ((bits >> 52) & 0x7ff) as i32;
    if biased_exponent == 0 || biased_exponent == 0x7ff {
        return unusual_bucket_key(value, schema);
    }
    let exponent = biased_exponent - 1022;
    if schema > 0 {
        // The top `schema + 1` bits of the mantissa pick an interval of fractions that holds
        // at most one bound (see `KEYS`): one comparison instead of a binary search.
        let mantissa = bits & MANTISSA;
        let schema = schema.min(MAX_SCHEMA);
        let intervals = 1 << (schema + 1);
        let interval = (mantissa >> (51 - schema)) as usize;
        let entry = KEYS[(intervals - 4 + interval) & 1023];
        let within = (entry & 0xfff) as i32 + i32::from(mantissa > entry >> 12);
        within + ((exponent - 1) << schema)
    } else {
        // A fraction of exactly 0.5 (a power of two) is the top of the bucket below.
        let key = exponent - i32::from(bits & MANTISSA == 0);
        let offset = (1 << -schema) - 1;
        (key + offset) >> -schema
    }
}

/// `KEYS[2^(schema + 1) - 4 + p]` (the intervals of schema 1, then of 2, …), for the fractions whose mantissa starts with the `schema + 1` bits of
/// `p`, `[0.5 + p / 2^(schema + 2), 0.5 + (p + 1) / 2^(schema + 2))`: how many of
/// `BOUNDS[schema]` lie below them (low 12 bits), and the mantissa of the next bound (the
/// rest; all ones, which no fraction exceeds, when there is none). Bounds are at least
/// `0.5 * (2^(2^-schema) - 1) > 0.34 / 2^schema` apart and such an interval is
/// `0.25 / 2^schema` wide, so it holds at most that next bound: a fraction's bucket is the
/// count below, plus one if it is above that bound.
static KEYS: [u64; 1024] = {
    let mut keys = [0; 1024];
    let mut schema = 1;
    while schema <= 8 {
        let bounds = BOUNDS[schema];
        let intervals = 1 << (schema + 1);
        let mut interval = 0;
        while interval < intervals {
            let start = 0.5 + interval as f64 / (2 * intervals) as f64;
            let mut below = 0;
            while below < bounds.len() && bounds[below] < start {
                below += 1;
            }
            let next = if below < bounds.len() {
                bounds[below].to_bits() & ((1 << 52) - 1)
            } else {
                (1 << 52) - 1
            };
            keys[intervals - 4 + interval] = (next << 12) | below as u64;
            interval += 1;
        }
        schema += 1;
    }
    keys
};

/// [`bucket_key`] of zero, subnormals and infinities, step by step as client_golang computes it.
#[cold]
#[inline(never)]
fn unusual_bucket_key(value: f64, schema: i32) -> i32 {
    let infinite = value.is_infinite();
    let magnitude = if infinite { f64::MAX } else { value.abs() };
    let (fraction, exponent) = frexp(magnitude);
    let key = if schema > 0 {
        let bounds = BOUNDS[schema as usize];
        bounds.partition_point(|bound| *bound < fraction) as i32
            + (exponent - 1) * bounds.len() as i32
    } else {
        let key = if fraction == 0.5 {
            exponent - 1
        } else {
            exponent
        };
        let offset = (1 << -schema) - 1;
        (key + offset) >> -schema
    };
    key + i32::from(infinite)
}

/// The upper bound of bucket `key` at `schema`: the zero threshold that takes that bucket into
/// the zero bucket (Go's `getLe`, with its special case: the bucket of `f64::MAX` ends at
/// `f64::MAX`, not at the `+Inf` its formula gives).
pub(crate) fn upper_bound(key: i32, schema: i32) -> f64 {
    if schema < 0 {
        let exponent = key << -schema;
        if exponent == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exponent);
    }
    let bounds = BOUNDS[schema as usize];
    let fraction = bounds[(key & ((1 << schema) - 1)) as usize];
    let exponent = (key >> schema) + 1;
    if fraction == 0.5 && exponent == 1025 {
        return f64::MAX;
    }
    ldexp(fraction, exponent)
}

/// `fraction * 2^exponent`, exact where the result is representable (powers of two are exact
/// factors, applied in steps so that neither overflows early nor underflows twice).
fn ldexp(fraction: f64, exponent: i32) -> f64 {
    let mut result = fraction;
    let mut remaining = exponent;
    while remaining > 1000 {
        result *= 2f64.powi(1000);
        remaining -= 1000;
    }
    while remaining < -1000 {
        result *= 2f64.powi(-1000);
        remaining += 1000;
    }
    result * 2f64.powi(remaining)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_the_largest_whose_factor_fits() {
        assert_eq!(schema_for_factor(1.1), 3, "2^(1/8) = 1.09");
        assert_eq!(schema_for_factor(2.0), 0);
        assert_eq!(schema_for_factor(1.0001), MAX_SCHEMA);
        assert_eq!(schema_for_factor(1e300), MIN_SCHEMA);
        assert_eq!(schema_for_factor(4.0), -1);
        assert_eq!(schema_for_factor(2f64.sqrt()), 1);
    }

    #[test]
    fn frexp_matches_go() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(-8.0), (-0.5, 4));
        assert_eq!(
            frexp(f64::MAX),
            (f64::from_bits(0x3fef_ffff_ffff_ffff), 1024)
        );
        assert_eq!(frexp(5e-324), (0.5, -1073));
        assert_eq!(frexp(f64::MIN_POSITIVE), (0.5, -1021));
        assert_eq!(frexp(0.0), (0.0, 0));
    }

    /// The bits of a normal value give what `frexp` gives, for every schema.
    #[test]
    fn the_fast_path_agrees_with_frexp() {
        let mut value = 1e-300_f64;
        let mut values = vec![f64::MIN_POSITIVE, f64::MAX, 0.5, 1.0, 2.0, 3.0];
        while value < 1e300 {
            values.extend([value, value.next_up(), value.next_down(), -value]);
            value *= 1.37;
        }
        for schema in 1..=MAX_SCHEMA {
            for bound in BOUNDS[schema as usize] {
                for exponent in [-1000, -1, 0, 1, 7, 1000] {
                    let at = ldexp(*bound, exponent);
                    values.extend([at, at.next_up(), at.next_down()]);
                }
            }
        }
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            for &value in &values {
                assert_eq!(
                    bucket_key(value, schema),
                    unusual_bucket_key(value, schema),
                    "{value:e} at {schema}"
                );
            }
        }
    }

    #[test]
    fn powers_of_two_are_upper_bounds() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            for exponent in [-1074, -1022, -128, -1, 0, 1, 10, 1023] {
                let value = ldexp(1.0, exponent);
                let key = bucket_key(value, schema);
                assert!(value <= upper_bound(key, schema), "{value} at {schema}");
                // Below 2^-1073 the lower bound rounds to the smallest subnormal itself.
                if exponent > -1074 {
                    assert!(value > upper_bound(key - 1, schema), "{value} at {schema}");
                }
            }
            assert_eq!(
                bucket_key(f64::INFINITY, schema),
                bucket_key(f64::MAX, schema) + 1
            );
            assert_eq!(upper_bound(bucket_key(f64::MAX, schema), schema), f64::MAX);
        }
        assert_eq!(bucket_key(1.0, 0), 0);
        assert_eq!(bucket_key(2.0, 0), 1);
        assert_eq!(bucket_key(2.5, 0), 2);
        assert_eq!(bucket_key(1.0, 3), 0);
        assert_eq!(bucket_key(-1.0, 3), 0);
    }
}
