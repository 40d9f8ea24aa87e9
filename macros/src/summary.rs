//! The summary keys of `#[metric(...)]`: `quantiles(0.5 = 0.05, ...)`, `max_age = "10m"`,
//! `age_buckets = 5`, `buf_cap = 500`, each checked where it is written.

use crate::attr::number;
use crate::ctxt::Ctxt;
use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, LitInt, LitStr, Token};

/// The summary settings of one field; `span` is the first key, for "not a summary" errors.
#[derive(Default)]
pub(crate) struct SummarySettings {
    pub(crate) span: Option<Span>,
    pub(crate) objectives: Option<Vec<(f64, f64)>>,
    /// Whole seconds and the nanoseconds beyond them.
    pub(crate) max_age: Option<(u64, u32)>,
    pub(crate) age_buckets: Option<u32>,
    pub(crate) buf_cap: Option<u32>,
}

struct Objective {
    quantile: Expr,
    error: Expr,
}

impl Parse for Objective {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let quantile = operand(input)?;
        input.parse::<Token![=]>()?;
        let error = operand(input)?;
        Ok(Objective { quantile, error })
    }
}

/// A number literal, negated or not; any other token is kept for an error at its span (an
/// `Expr` would swallow `quantile = error` as an assignment).
fn operand(input: ParseStream) -> syn::Result<Expr> {
    if input.peek(Token![-]) {
        Ok(Expr::Unary(input.parse()?))
    } else if input.peek(syn::Lit) {
        Ok(Expr::Lit(input.parse()?))
    } else {
        let token: proc_macro2::TokenTree = input.parse()?;
        Ok(Expr::Verbatim(token.into()))
    }
}

/// `quantiles(0.5 = 0.05, 0.99 = 0.001)`: quantile in `[0, 1]` = allowed error in `(0, 1)`.
pub(crate) fn objectives(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<Vec<(f64, f64)>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let list = Punctuated::<Objective, Token![,]>::parse_terminated(&content)?;
    if list.is_empty() {
        cx.error_spanned_by(
            &meta.path,
            "`quantiles` needs at least one `quantile = allowed error`, e.g. `quantiles(0.5 = 0.05, 0.99 = 0.001)`",
        );
    }
    let mut objectives: Vec<(f64, f64)> = Vec::new();
    for objective in &list {
        let (Some(quantile), Some(error)) = (number(&objective.quantile), number(&objective.error))
        else {
            let wrong = if number(&objective.quantile).is_none() {
                &objective.quantile
            } else {
                &objective.error
            };
            cx.error_spanned_by(
                wrong,
                "summary objectives are number literals, `quantile = allowed error`, e.g. `0.99 = 0.001`",
            );
            continue;
        };
        if !(0.0..=1.0).contains(&quantile) {
            cx.error_spanned_by(
                &objective.quantile,
                format!(
                    "summary quantiles are between 0 and 1, not `{quantile}`; e.g. `0.99 = 0.001`"
                ),
            );
        } else if !(error > 0.0 && error < 1.0) {
            cx.error_spanned_by(
                &objective.error,
                format!(
                    "the allowed error of quantile `{quantile}` must be above 0 and below 1, not `{error}`; e.g. `0.99 = 0.001`"
                ),
            );
        } else if objectives.iter().any(|(known, _)| *known == quantile) {
            cx.error_spanned_by(
                &objective.quantile,
                format!("summary quantile `{quantile}` is given twice; give each quantile once"),
            );
        }
        objectives.push((quantile, error));
    }
    Ok(objectives)
}

/// `max_age = "1h30m"`: a positive duration in `h`, `m`, `s` and `ms` parts.
pub(crate) fn max_age(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<(u64, u32)> {
    let text: LitStr = meta.value()?.parse()?;
    match parse_duration(&text.value()) {
        Some(nanos) if nanos > 0 => Ok((
            (nanos / 1_000_000_000) as u64,
            (nanos % 1_000_000_000) as u32,
        )),
        _ => {
            cx.error_spanned_by(
                &text,
                "`max_age` is a positive duration in `h`, `m`, `s` and `ms`, e.g. `\"10m\"` or `\"1h30m\"`",
            );
            Ok((0, 0))
        }
    }
}

/// Nanoseconds of `"1h30m"`, `"90s"`, `"250ms"`; `None` for anything else.
fn parse_duration(text: &str) -> Option<u128> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let amount: u128 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = [
            ("ms", 1_000_000),
            ("h", 3_600_000_000_000),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
        ]
        .into_iter()
        .find(|(unit, _)| rest.starts_with(unit))
        .map(|(unit, nanos)| (nanos, unit.len()))?;
        total = total.checked_add(amount.checked_mul(unit)?)?;
        rest = &rest[len..];
    }
    u64::try_from(total / 1_000_000_000).ok()?;
    Some(total)
}

/// `age_buckets = 5` or `buf_cap = 500`: a positive integer.
pub(crate) fn positive(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    key: &str,
    example: u32,
) -> syn::Result<u32> {
    let value: LitInt = meta.value()?.parse()?;
    match value.base10_parse::<u32>() {
        Ok(count) if count > 0 => Ok(count),
        _ => {
            cx.error_spanned_by(
                &value,
                format!("`{key}` must be a positive integer, e.g. `{key} = {example}`"),
            );
            Ok(example)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_parse_as_go_writes_them() {
        assert_eq!(parse_duration("10m"), Some(600_000_000_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        for wrong in ["", "10", "m", "10 m", "1.5h", "-1m", "10d"] {
            assert_eq!(parse_duration(wrong), None, "{wrong}");
        }
    }
}
