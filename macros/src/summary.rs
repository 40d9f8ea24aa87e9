//! The summary keys of `#[metric(...)]`: `quantiles(0.5 = 0.05, ...)`, `max_age = "10m"`,
//! `age_buckets = 5`, `buf_cap = 500`, each checked where it is written.

use crate::attr::number;
use crate::ctxt::Ctxt;
use proc_macro2::Span;
use std::time::Duration;
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, LitInt, Token};

/// The summary settings of one field; `span` is the first key, for "not a summary" errors.
#[derive(Default)]
pub(crate) struct SummarySettings {
    pub(crate) span: Option<Span>,
    pub(crate) objectives: Option<Vec<(f64, f64)>>,
    pub(crate) max_age: Option<Duration>,
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
