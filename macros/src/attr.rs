//! Parses `#[metrics(...)]`, `#[metric(...)]` and `#[label(...)]` into typed settings, keeping
//! the tokens each came from so later errors can point at them.

use crate::ctxt::Ctxt;
use crate::duration::{WrittenDuration, Zero, duration};
use crate::summary::{self, SummarySettings};
use crate::symbol::*;
use std::time::Duration;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, ExprArray, Lit, LitStr, Path, UnOp};

/// A setting that may be given once; the second occurrence is an error at its own span.
pub(crate) struct Attr<'c, T> {
    cx: &'c Ctxt,
    name: &'static str,
    value: Option<T>,
}

impl<'c, T> Attr<'c, T> {
    pub(crate) fn none(cx: &'c Ctxt, name: &'static str) -> Self {
        Attr {
            cx,
            name,
            value: None,
        }
    }

    fn set(&mut self, span: impl quote::ToTokens, value: T) {
        if self.value.is_some() {
            let name = self.name;
            self.cx
                .error_spanned_by(span, format!("duplicate `{name}`: give it once"));
        } else {
            self.value = Some(value);
        }
    }

    pub(crate) fn get(self) -> Option<T> {
        self.value
    }
}

/// `#[metrics(...)]` on the struct.
pub(crate) struct Container {
    pub(crate) prefix: Option<LitStr>,
    pub(crate) const_labels: Vec<(syn::Ident, LitStr)>,
    pub(crate) krate: Option<Path>,
    /// Not served by itself (no `global()`, no inventory entry): filled by a `Collector`.
    pub(crate) no_global: bool,
}

/// `#[metric(...)]` and the doc comment of one field.
pub(crate) struct Field {
    pub(crate) name: Option<LitStr>,
    pub(crate) help: Option<String>,
    pub(crate) unit: Option<LitStr>,
    pub(crate) buckets: Option<Buckets>,
    pub(crate) max_series: Option<usize>,
    /// Every label combination of a closed `Family` created up front, served at zero.
    pub(crate) preinit: bool,
    pub(crate) native: Option<Native>,
    pub(crate) summary: SummarySettings,
    /// Series of an open `Family` unused for this long are dropped at a scrape.
    pub(crate) expire_after: Option<WrittenDuration>,
    pub(crate) skip: bool,
    /// `#[metric(...)]` did not parse: its error is reported, later checks of the field are moot.
    pub(crate) malformed: bool,
}

/// `native` or `native(...)`: the options of a native histogram, each left out at its default.
pub(crate) struct Native {
    /// The `native` keyword, where a type mismatch is reported.
    pub(crate) keyword: syn::Ident,
    pub(crate) factor: Option<f64>,
    pub(crate) zero_threshold: Option<f64>,
    pub(crate) max_buckets: Option<u32>,
    pub(crate) min_reset: Option<Duration>,
    pub(crate) max_zero_threshold: Option<f64>,
    pub(crate) max_exemplars: Option<usize>,
    pub(crate) exemplar_ttl: Option<Duration>,
}

pub(crate) struct Buckets {
    pub(crate) values: Vec<f64>,
    /// `buckets = LATENCY` or `buckets = exponential_buckets::<8>(0.001, 2.0)`: a constant
    /// expression, checked by a constant assertion instead of here.
    pub(crate) constant: Option<Expr>,
}

fn unknown_key(meta: &ParseNestedMeta, attribute: &str, accepted: &[&str]) -> syn::Error {
    let path = &meta.path;
    let key = quote::quote!(#path).to_string();
    meta.error(format!(
        "unknown `{attribute}` key `{key}`; expected one of: {}",
        accepted.join(", ")
    ))
}

fn for_each_nested(
    cx: &Ctxt,
    attrs: &[Attribute],
    attribute: &str,
    mut f: impl FnMut(&ParseNestedMeta) -> syn::Result<()>,
) -> bool {
    let mut malformed = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident(attribute)) {
        if let Err(error) = attr.parse_nested_meta(|meta| f(&meta)) {
            cx.syn_error(error);
            malformed = true;
        }
    }
    malformed
}

pub(crate) fn container(cx: &Ctxt, attrs: &[Attribute]) -> Container {
    let mut prefix = Attr::none(cx, PREFIX);
    let mut krate = Attr::none(cx, CRATE);
    let mut no_global = Attr::none(cx, NO_GLOBAL);
    let mut const_labels = Vec::new();
    for_each_nested(cx, attrs, METRICS, |meta| {
        if meta.path.is_ident(PREFIX) {
            let value: LitStr = meta.value()?.parse()?;
            prefix.set(&meta.path, value);
        } else if meta.path.is_ident(CRATE) {
            let value: Path = meta.value()?.parse()?;
            krate.set(&meta.path, value);
        } else if meta.path.is_ident(NO_GLOBAL) {
            no_global.set(&meta.path, ());
        } else if meta.path.is_ident(CONST_LABELS) {
            meta.parse_nested_meta(|label| {
                let Some(name) = label.path.get_ident().cloned() else {
                    return Err(label.error("expected `label_name = \"value\"`"));
                };
                let value: LitStr = label.value()?.parse()?;
                const_labels.push((name, value));
                Ok(())
            })?;
        } else {
            return Err(unknown_key(meta, METRICS, CONTAINER_KEYS));
        }
        Ok(())
    });
    Container {
        prefix: prefix.get(),
        const_labels,
        krate: krate.get(),
        no_global: no_global.get().is_some(),
    }
}

pub(crate) fn field(cx: &Ctxt, attrs: &[Attribute]) -> Field {
    let mut name = Attr::none(cx, NAME);
    let mut help = Attr::none(cx, HELP);
    let mut unit = Attr::none(cx, UNIT);
    let mut buckets = Attr::none(cx, BUCKETS);
    let mut skip = Attr::none(cx, SKIP);
    let mut max_series = Attr::none(cx, MAX_SERIES);
    let mut preinit = Attr::none(cx, PREINIT);
    let mut native = Attr::none(cx, NATIVE);
    let mut quantiles = Attr::none(cx, QUANTILES);
    let mut max_age = Attr::none(cx, MAX_AGE);
    let mut age_buckets = Attr::none(cx, AGE_BUCKETS);
    let mut buf_cap = Attr::none(cx, BUF_CAP);
    let mut summary_span = None;
    let mut expire_after = Attr::none(cx, EXPIRE_AFTER);
    let malformed = for_each_nested(cx, attrs, METRIC, |meta| {
        if meta.path.is_ident(NAME) {
            name.set(&meta.path, meta.value()?.parse::<LitStr>()?);
        } else if meta.path.is_ident(HELP) {
            help.set(&meta.path, meta.value()?.parse::<LitStr>()?.value());
        } else if meta.path.is_ident(UNIT) {
            unit.set(&meta.path, meta.value()?.parse::<LitStr>()?);
        } else if meta.path.is_ident(BUCKETS) {
            let value: Expr = meta.value()?.parse()?;
            let parsed = match value {
                Expr::Array(array) => Buckets {
                    values: bucket_values(cx, &array),
                    constant: None,
                },
                constant => Buckets {
                    values: Vec::new(),
                    constant: Some(constant),
                },
            };
            buckets.set(&meta.path, parsed);
        } else if meta.path.is_ident(MAX_SERIES) {
            let limit: syn::LitInt = meta.value()?.parse()?;
            match limit.base10_parse::<usize>() {
                Ok(value) if value > 0 => max_series.set(&meta.path, value),
                _ => cx.error_spanned_by(
                    &limit,
                    "`max_series` must be a positive number of label sets",
                ),
            }
        } else if meta.path.is_ident(EXPIRE_AFTER) {
            let zero = Zero::Rejected("to keep series until removed, remove `expire_after`");
            if let Some(idle) = duration(cx, meta, EXPIRE_AFTER, zero)? {
                expire_after.set(&meta.path, idle);
            }
        } else if meta.path.is_ident(PREINIT) {
            preinit.set(&meta.path, ());
        } else if meta.path.is_ident(NATIVE) {
            native.set(&meta.path, native_options(cx, meta)?);
        } else if meta.path.is_ident(SKIP) {
            skip.set(&meta.path, ());
        } else if [QUANTILES, MAX_AGE, AGE_BUCKETS, BUF_CAP]
            .iter()
            .any(|key| meta.path.is_ident(key))
        {
            summary_span.get_or_insert_with(|| syn::spanned::Spanned::span(&meta.path));
            if meta.path.is_ident(QUANTILES) {
                quantiles.set(&meta.path, summary::objectives(cx, meta)?);
            } else if meta.path.is_ident(MAX_AGE) {
                let zero = Zero::Rejected(
                    "a summary's quantiles are over the last `max_age` of observations, e.g. `max_age = \"10m\"`",
                );
                if let Some(window) = duration(cx, meta, MAX_AGE, zero)? {
                    max_age.set(&meta.path, window.value);
                }
            } else if meta.path.is_ident(AGE_BUCKETS) {
                age_buckets.set(&meta.path, summary::positive(cx, meta, AGE_BUCKETS, 5)?);
            } else {
                buf_cap.set(&meta.path, summary::positive(cx, meta, BUF_CAP, 500)?);
            }
        } else {
            return Err(unknown_key(meta, METRIC, FIELD_KEYS));
        }
        Ok(())
    });
    Field {
        name: name.get(),
        help: help.get().or_else(|| doc_comment(attrs)),
        unit: unit.get(),
        buckets: buckets.get(),
        max_series: max_series.get(),
        preinit: preinit.get().is_some(),
        native: native.get(),
        summary: SummarySettings {
            span: summary_span,
            objectives: quantiles.get(),
            max_age: max_age.get(),
            age_buckets: age_buckets.get(),
            buf_cap: buf_cap.get(),
        },
        expire_after: expire_after.get(),
        skip: skip.get().is_some(),
        malformed,
    }
}

/// `native` alone, or `native(factor = 1.1, max_buckets = 160, min_reset = "1h", ...)`.
pub(crate) fn native_options(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<Native> {
    let mut factor = Attr::none(cx, FACTOR);
    let mut zero_threshold = Attr::none(cx, ZERO_THRESHOLD);
    let mut max_buckets = Attr::none(cx, MAX_BUCKETS);
    let mut min_reset = Attr::none(cx, MIN_RESET);
    let mut max_zero_threshold = Attr::none(cx, MAX_ZERO_THRESHOLD);
    let mut max_exemplars = Attr::none(cx, MAX_EXEMPLARS);
    let mut exemplar_ttl = Attr::none(cx, EXEMPLAR_TTL);
    if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|option| {
            let key = &option.path;
            if key.is_ident(FACTOR) {
                let expr: Expr = option.value()?.parse()?;
                match number(&expr) {
                    Some(value) if value > 1.0 && value.is_finite() => factor.set(key, value),
                    _ => cx.error_spanned_by(
                        &expr,
                        "`factor` is how much a bucket may grow, a number above 1, e.g. `factor = 1.1`",
                    ),
                }
            } else if key.is_ident(ZERO_THRESHOLD) || key.is_ident(MAX_ZERO_THRESHOLD) {
                let name = if key.is_ident(ZERO_THRESHOLD) { ZERO_THRESHOLD } else { MAX_ZERO_THRESHOLD };
                let expr: Expr = option.value()?.parse()?;
                match number(&expr) {
                    Some(value) if value >= 0.0 && value.is_finite() => {
                        if name == ZERO_THRESHOLD {
                            zero_threshold.set(key, value);
                        } else {
                            max_zero_threshold.set(key, value);
                        }
                    }
                    _ => cx.error_spanned_by(
                        &expr,
                        format!("`{name}` is a half-width around zero, a number not below 0, e.g. `{name} = 1e-9`"),
                    ),
                }
            } else if key.is_ident(MAX_BUCKETS) {
                let limit: syn::LitInt = option.value()?.parse()?;
                match limit.base10_parse::<u32>() {
                    Ok(value) => max_buckets.set(key, value),
                    Err(_) => cx.error_spanned_by(
                        &limit,
                        "`max_buckets` is a number of buckets up to 4294967295, or 0 for no limit, e.g. `max_buckets = 160`",
                    ),
                }
            } else if key.is_ident(MAX_EXEMPLARS) {
                let limit: syn::LitInt = option.value()?.parse()?;
                match limit.base10_parse::<usize>() {
                    Ok(value) => max_exemplars.set(key, value),
                    Err(_) => cx.error_spanned_by(
                        &limit,
                        "`max_exemplars` is a number of exemplars, 0 for none, e.g. `max_exemplars = 10`",
                    ),
                }
            } else if key.is_ident(MIN_RESET) {
                let zero = Zero::Allowed("or `\"0\"` to never reset");
                if let Some(written) = duration(cx, &option, MIN_RESET, zero)? {
                    min_reset.set(key, written.value);
                }
            } else if key.is_ident(EXEMPLAR_TTL) {
                let zero = Zero::Allowed("or `\"0\"` to always replace the oldest exemplar");
                if let Some(written) = duration(cx, &option, EXEMPLAR_TTL, zero)? {
                    exemplar_ttl.set(key, written.value);
                }
            } else {
                return Err(unknown_key(&option, NATIVE, NATIVE_KEYS));
            }
            Ok(())
        })?;
    }
    Ok(Native {
        keyword: meta.path.segments[0].ident.clone(),
        factor: factor.get(),
        zero_threshold: zero_threshold.get(),
        max_buckets: max_buckets.get(),
        min_reset: min_reset.get(),
        max_zero_threshold: max_zero_threshold.get(),
        max_exemplars: max_exemplars.get(),
        exemplar_ttl: exemplar_ttl.get(),
    })
}

/// Upper bounds of `buckets = [...]`: numbers, strictly increasing, finite.
pub(crate) fn bucket_values(cx: &Ctxt, array: &ExprArray) -> Vec<f64> {
    let mut values = Vec::new();
    if array.elems.is_empty() {
        cx.error_spanned_by(
            array,
            "`buckets` needs at least one upper bound, e.g. `buckets = [0.1, 0.5, 1.0]`",
        );
    }
    for elem in &array.elems {
        let Some(value) = number(elem) else {
            cx.error_spanned_by(
                elem,
                "bucket bounds must be number literals, e.g. `0.25` or `10`",
            );
            continue;
        };
        if !value.is_finite() {
            cx.error_spanned_by(
                elem,
                "bucket bounds must be finite; `+Inf` is always added for you",
            );
        } else if values.last().is_some_and(|last| *last >= value) {
            cx.error_spanned_by(
                elem,
                format!(
                    "bucket bounds must be strictly increasing: `{value}` comes after `{}`",
                    values.last().copied().unwrap_or_default()
                ),
            );
        }
        values.push(value);
    }
    values
}

pub(crate) fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Float(f) => f.base10_parse().ok(),
            Lit::Int(i) => i.base10_parse::<i64>().ok().map(|i| i as f64),
            _ => None,
        },
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => number(&unary.expr).map(|v| -v),
        _ => None,
    }
}

/// The doc comment as one line of HELP text, or `None` if there is none.
fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .filter(|line| !line.is_empty())
        .collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}

/// The one key `#[label(...)]` accepts where it is: `name` on a `LabelSet` field, `rename` on a
/// `LabelValue` variant, `crate` on either container.
fn label_key<T: syn::parse::Parse>(
    cx: &Ctxt,
    attrs: &[Attribute],
    key: &'static str,
    accepted: &[&str],
) -> Option<T> {
    let mut value = Attr::none(cx, key);
    for_each_nested(cx, attrs, LABEL, |meta| {
        if meta.path.is_ident(key) {
            value.set(&meta.path, meta.value()?.parse::<T>()?);
            Ok(())
        } else {
            Err(unknown_key(meta, LABEL, accepted))
        }
    });
    value.get()
}

/// `#[label(name = "...")]` on a `LabelSet` field.
pub(crate) fn label_field(cx: &Ctxt, attrs: &[Attribute]) -> Option<LitStr> {
    label_key(cx, attrs, NAME, LABEL_FIELD_KEYS)
}

/// `#[label(rename = "...")]` on a `LabelValue` variant.
pub(crate) fn label_variant(cx: &Ctxt, attrs: &[Attribute]) -> Option<LitStr> {
    label_key(cx, attrs, RENAME, LABEL_VARIANT_KEYS)
}

/// `#[label(crate = path, borrowed = NameRef)]` on a `LabelSet` struct.
pub(crate) fn label_set_container(
    cx: &Ctxt,
    attrs: &[Attribute],
) -> (Option<Path>, Option<syn::Ident>) {
    let mut krate = Attr::none(cx, CRATE);
    let mut borrowed = Attr::none(cx, BORROWED);
    for_each_nested(cx, attrs, LABEL, |meta| {
        if meta.path.is_ident(CRATE) {
            krate.set(&meta.path, meta.value()?.parse::<Path>()?);
        } else if meta.path.is_ident(BORROWED) {
            let value = meta.value()?;
            match value.parse::<syn::Ident>() {
                Ok(name) => borrowed.set(&meta.path, name),
                Err(error) => {
                    return Err(syn::Error::new(
                        error.span(),
                        "`borrowed` names the struct to generate, e.g. `#[label(borrowed = PathLabelsRef)]`",
                    ));
                }
            }
        } else {
            return Err(unknown_key(meta, LABEL, LABEL_SET_CONTAINER_KEYS));
        }
        Ok(())
    });
    (krate.get(), borrowed.get())
}

/// `#[label(crate = path)]` on a `LabelValue` enum.
pub(crate) fn label_container(cx: &Ctxt, attrs: &[Attribute]) -> Option<Path> {
    label_key(cx, attrs, CRATE, LABEL_CONTAINER_KEYS)
}
