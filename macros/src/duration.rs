//! The duration keys of the attributes (`native(min_reset = "1h", exemplar_ttl = "5m")`,
//! `max_age = "10m"`, `expire_after = "1h30m"`): one syntax, one parser and one set of error
//! messages, each naming the key it is about.

use crate::ctxt::Ctxt;
use std::time::Duration;
use syn::meta::ParseNestedMeta;
use syn::{Lit, LitStr};

/// How to write a duration, the end of every error about one.
const FORMAT: &str =
    "write a whole number and a unit (`ms`, `s`, `m`, `h`, `d`), e.g. `\"10m\"` or `\"1h30m\"`";

/// What a key makes of a zero duration.
#[derive(Clone, Copy)]
pub(crate) enum Zero {
    /// Zero is a setting of its own; the text, appended to the syntax in errors, says how to
    /// write it, e.g. ``or `"0"` to never reset``.
    Allowed(&'static str),
    /// Zero is an error; the text says what to do instead.
    Rejected(&'static str),
}

/// A duration as written, with its literal for errors found later.
pub(crate) struct WrittenDuration {
    pub(crate) value: Duration,
    pub(crate) literal: LitStr,
}

/// The value of `key = "..."`: a duration, or `None` once its error is reported at the value.
pub(crate) fn duration(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    key: &str,
    zero: Zero,
) -> syn::Result<Option<WrittenDuration>> {
    let literal = match meta.value()?.parse::<Lit>()? {
        Lit::Str(literal) => literal,
        other => {
            cx.error_spanned_by(
                &other,
                format!("`{key}` takes a duration in a string, e.g. `{key} = \"10m\"`"),
            );
            return Ok(None);
        }
    };
    let text = literal.value();
    let syntax = match zero {
        Zero::Allowed(how) => format!("{FORMAT}, {how}"),
        Zero::Rejected(_) => FORMAT.to_owned(),
    };
    let message = match parse(&text) {
        Ok(value) if !value.is_zero() => return Ok(Some(WrittenDuration { value, literal })),
        Ok(value) => match zero {
            Zero::Allowed(_) => return Ok(Some(WrittenDuration { value, literal })),
            Zero::Rejected(instead) => format!("`{key}` must be longer than zero; {instead}"),
        },
        Err(Invalid::Empty) => format!("`{key}` needs a duration: {syntax}"),
        Err(Invalid::NotADuration) => format!("`{key} = \"{text}\"` is not a duration: {syntax}"),
        Err(Invalid::NoUnit) => {
            format!("`{key} = \"{text}\"` has a number without a unit: {syntax}")
        }
        Err(Invalid::UnknownUnit(unit)) => {
            format!("`{key}` does not know the unit `{unit}`: {syntax}")
        }
        Err(Invalid::TooLong) => {
            format!("`{key} = \"{text}\"` is too long; use at most a few years")
        }
    };
    cx.error_spanned_by(&literal, message);
    Ok(None)
}

/// Why a text is not a duration.
#[derive(Debug, PartialEq)]
enum Invalid {
    Empty,
    NotADuration,
    NoUnit,
    UnknownUnit(String),
    TooLong,
}

/// `"90s"`, `"10m"`, `"1h30m"`, `"250ms"`, `"2d"`: whole numbers, each with a unit of `ms`, `s`,
/// `m`, `h` or `d`, around white space; or `"0"`. At most what a `Duration` holds.
fn parse(text: &str) -> Result<Duration, Invalid> {
    const NANOS_PER_SECOND: u128 = 1_000_000_000;
    let text = text.trim();
    if text.is_empty() {
        return Err(Invalid::Empty);
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut nanos: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, after) = rest.split_at(digits);
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        if number.is_empty() {
            return Err(Invalid::NotADuration);
        }
        let scale: u128 = match unit {
            "ms" => 1_000_000,
            "s" => NANOS_PER_SECOND,
            "m" => 60 * NANOS_PER_SECOND,
            "h" => 3_600 * NANOS_PER_SECOND,
            "d" => 86_400 * NANOS_PER_SECOND,
            "" if after.is_empty() => return Err(Invalid::NoUnit),
            "" => return Err(Invalid::NotADuration),
            other => return Err(Invalid::UnknownUnit(other.to_owned())),
        };
        // Only digits: the one way to fail is a number too large.
        let number: u128 = number.parse().map_err(|_| Invalid::TooLong)?;
        nanos = number
            .checked_mul(scale)
            .and_then(|part| nanos.checked_add(part))
            .ok_or(Invalid::TooLong)?;
        rest = after;
    }
    let seconds = u64::try_from(nanos / NANOS_PER_SECOND).map_err(|_| Invalid::TooLong)?;
    // Below one second's nanoseconds, so it fits.
    let subsecond = (nanos % NANOS_PER_SECOND) as u32;
    Ok(Duration::new(seconds, subsecond))
}

#[cfg(test)]
mod tests {
    use super::{Invalid, parse};
    use std::time::Duration;

    #[test]
    fn durations_are_whole_numbers_with_units() {
        assert_eq!(parse("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1s500ms"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse(" 10m "), Ok(Duration::from_secs(600)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn each_mistake_has_its_reason() {
        assert_eq!(parse(""), Err(Invalid::Empty));
        assert_eq!(parse("  "), Err(Invalid::Empty));
        assert_eq!(parse("10"), Err(Invalid::NoUnit));
        assert_eq!(parse("1h30"), Err(Invalid::NoUnit));
        assert_eq!(parse("10min"), Err(Invalid::UnknownUnit("min".to_owned())));
        for garbage in ["soon", "m", "1.5h", "10 m", "-1m", "1 hour", "5µs"] {
            assert_eq!(parse(garbage), Err(Invalid::NotADuration), "{garbage:?}");
        }
        for huge in [
            "99999999999999999999999999999999999999999d",
            "18446744073709551616s",
            "213503982334602d",
        ] {
            assert_eq!(parse(huge), Err(Invalid::TooLong), "{huge:?}");
        }
        assert_eq!(
            parse("18446744073709551615s"),
            Ok(Duration::from_secs(u64::MAX)),
            "as long as a `Duration` holds"
        );
    }
}
