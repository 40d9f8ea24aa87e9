//! Builds the validated description of each derive's input; every rule that needs only the
//! tokens of the input is checked here, each error at the token that breaks it.

use crate::attr::{self, Buckets, Native};
use crate::ctxt::Ctxt;
use crate::naming::{
    ident_label_name_problem, label_name_problem, metric_name_problem, snake_case, unit_problem,
};
use crate::summary::SummarySettings;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Path, Type};

pub(crate) struct MetricsStruct<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) krate: Path,
    /// Pre-escaped `name="value",...` text.
    pub(crate) const_labels: String,
    /// The names in `const_labels`, checked against each field's own labels.
    pub(crate) const_label_names: Vec<String>,
    pub(crate) fields: Vec<MetricField<'a>>,
    pub(crate) skipped: Vec<&'a Ident>,
    pub(crate) no_global: bool,
}

pub(crate) struct MetricField<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    /// Full family name: prefix, field name, unit.
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) unit: Option<LitStr>,
    pub(crate) buckets: Option<Buckets>,
    pub(crate) max_series: Option<usize>,
    pub(crate) preinit: bool,
    pub(crate) native: Option<Native>,
    pub(crate) summary: SummarySettings,
    pub(crate) expire_after: Option<crate::duration::WrittenDuration>,
}

pub(crate) fn default_crate() -> Path {
    syn::parse_quote!(::promexport)
}

fn named_fields<'a>(
    cx: &Ctxt,
    input: &'a DeriveInput,
    derive: &str,
) -> Option<&'a syn::FieldsNamed> {
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            format!("`#[derive({derive})]` does not support generic structs; use concrete types"),
        );
    }
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => Some(fields),
            Fields::Unit => {
                cx.error_spanned_by(
                    &input.ident,
                    format!("`#[derive({derive})]` needs a struct with named fields, e.g. `struct S {{ requests: Counter }}`"),
                );
                None
            }
            other => {
                cx.error_spanned_by(
                    other,
                    format!("`#[derive({derive})]` needs a struct with named fields, e.g. `struct S {{ requests: Counter }}`"),
                );
                None
            }
        },
        _ => {
            cx.error_spanned_by(
                &input.ident,
                format!("`#[derive({derive})]` only works on structs"),
            );
            None
        }
    }
}

/// A Rust field name as Prometheus sees it (`r#type` is `type`).
pub(crate) fn unraw(ident: &Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map_or(text.clone(), str::to_owned)
}

pub(crate) fn metrics_struct<'a>(cx: &Ctxt, input: &'a DeriveInput) -> MetricsStruct<'a> {
    let container = attr::container(cx, &input.attrs);
    // A bad prefix is reported once, not again in the name of every field.
    let mut prefix_ok = true;
    let prefix = container.prefix.as_ref().map(|prefix| {
        let value = prefix.value();
        if let Some(problem) = metric_name_problem(&value) {
            cx.error_spanned_by(prefix, format!("invalid prefix: {problem}"));
            prefix_ok = false;
        }
        value
    });
    let mut const_labels = String::new();
    let mut const_label_names: Vec<String> = Vec::new();
    for (name, value) in &container.const_labels {
        let text = unraw(name);
        if let Some(problem) = ident_label_name_problem(&text) {
            cx.error_spanned_by(name, problem);
        } else if let Some(problem) = reserved_const_label(&text) {
            cx.error_spanned_by(name, problem);
        }
        if const_label_names.contains(&text) {
            cx.error_spanned_by(
                name,
                format!("duplicate const label `{text}`: give each label once"),
            );
        }
        const_label_names.push(text);
        if !const_labels.is_empty() {
            const_labels.push(',');
        }
        const_labels.push_str(&format!(
            "{}=\"{}\"",
            unraw(name),
            escape_label_value(&value.value())
        ));
    }
    let mut fields = Vec::new();
    let mut skipped = Vec::new();
    for field in named_fields(cx, input, "Metrics")
        .map(|f| &f.named)
        .into_iter()
        .flatten()
    {
        let ident = field.ident.as_ref().expect("named field");
        let attrs = attr::field(cx, &field.attrs);
        if attrs.skip {
            skipped.push(ident);
            continue;
        }
        let (base, name_span) = match &attrs.name {
            Some(name) => (name.value(), name.span()),
            None => (unraw(ident), ident.span()),
        };
        let mut name = match &prefix {
            Some(prefix) => format!("{prefix}_{base}"),
            None => base,
        };
        if let Some(unit) = &attrs.unit {
            let suffix = format!("_{}", unit.value());
            if let Some(problem) = unit_problem(&unit.value()) {
                cx.error_spanned_by(unit, problem);
            } else if !name.ends_with(&suffix) {
                name.push_str(&suffix);
            }
        }
        if !prefix_ok || attrs.malformed {
            continue;
        }
        if let Some(problem) = metric_name_problem(&name) {
            cx.syn_error(syn::Error::new(name_span, problem));
        }
        if container.no_global {
            if let Some(problem) = prefix
                .as_deref()
                .and_then(|prefix| collector_clash(prefix, &name))
            {
                cx.syn_error(syn::Error::new(name_span, problem));
            }
        }
        if let Some(first) = fields.iter().find(|f: &&MetricField| f.name == name) {
            cx.syn_error(syn::Error::new(
                name_span,
                format!(
                    "duplicate metric name `{name}`: field `{}` already uses it; rename one with `#[metric(name = \"...\")]`",
                    first.ident
                ),
            ));
        }
        let Some(help) = attrs.help else {
            cx.error_spanned_by(
                ident,
                format!(
                    "metric `{name}` has no HELP text: add a doc comment (`/// What it measures.`) or `#[metric(help = \"...\")]`"
                ),
            );
            continue;
        };
        fields.push(MetricField {
            ident,
            ty: &field.ty,
            name,
            help,
            unit: attrs.unit,
            buckets: attrs.buckets,
            max_series: attrs.max_series,
            preinit: attrs.preinit,
            native: attrs.native,
            summary: attrs.summary,
            expire_after: attrs.expire_after,
        });
    }
    MetricsStruct {
        ident: &input.ident,
        krate: container.krate.unwrap_or_else(default_crate),
        const_labels,
        const_label_names,
        fields,
        skipped,
        no_global: container.no_global,
    }
}

/// Families a `Collector` serves itself next to the struct it fills, by their name less the
/// prefix. `last_success_timestamp_seconds` is not among them: a `no_global` struct pushed to a
/// Pushgateway rightly serves one of its own, so a clash with a collector's is left to
/// registration, which names both sides.
const COLLECTOR_OWN_NAMES: &[&str] = &[
    "up",
    "collection_duration_seconds",
    "collection_errors",
    "collection_errors_total",
    "collections_abandoned",
];

/// Why a family `name` of a `no_global` struct with `prefix` would clash with the own families
/// of a `Collector::new(prefix, ..)` serving it.
fn collector_clash(prefix: &str, name: &str) -> Option<String> {
    let own = name.strip_prefix(prefix)?.strip_prefix('_')?;
    COLLECTOR_OWN_NAMES.contains(&own).then(|| {
        format!(
            "metric `{name}` is already served by the `Collector::new(\"{prefix}\", ..)` that fills this `no_global` struct (its own `{own}`); rename the field or give it `#[metric(name = \"...\")]`"
        )
    })
}

/// Why a const label cannot be named `name`: Prometheus gives these names a meaning of its own.
fn reserved_const_label(name: &str) -> Option<String> {
    match name {
        "le" => Some(
            "const label `le` is reserved by Prometheus for histogram bucket bounds; choose another name"
                .to_owned(),
        ),
        "quantile" => Some(
            "const label `quantile` is reserved by Prometheus for summary quantiles; choose another name"
                .to_owned(),
        ),
        _ => None,
    }
}

/// The escaping both text formats apply to label values, done at compile time for const labels.
pub(crate) fn escape_label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) struct LabelSetStruct<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) krate: Path,
    pub(crate) fields: Vec<(&'a Ident, &'a Type, String)>,
    /// `#[label(borrowed = NameRef)]`: the borrowed form to generate.
    pub(crate) borrowed: Option<Ident>,
    pub(crate) vis: &'a syn::Visibility,
}

pub(crate) fn label_set<'a>(cx: &Ctxt, input: &'a DeriveInput) -> LabelSetStruct<'a> {
    let mut fields: Vec<(&Ident, &Type, String)> = Vec::new();
    for field in named_fields(cx, input, "LabelSet")
        .map(|f| &f.named)
        .into_iter()
        .flatten()
    {
        let ident = field.ident.as_ref().expect("named field");
        let renamed = attr::label_field(cx, &field.attrs);
        let (name, span) = match &renamed {
            Some(name) => (name.value(), name.span()),
            None => (unraw(ident), ident.span()),
        };
        if let Some(problem) = label_name_problem(&name) {
            cx.syn_error(syn::Error::new(span, problem));
        }
        if fields.iter().any(|(_, _, n)| *n == name) {
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "duplicate label name `{name}`: rename one with `#[label(name = \"...\")]`"
                ),
            ));
        }
        fields.push((ident, &field.ty, name));
    }
    let (krate, borrowed) = attr::label_set_container(cx, &input.attrs);
    LabelSetStruct {
        ident: &input.ident,
        krate: krate.unwrap_or_else(default_crate),
        fields,
        borrowed,
        vis: &input.vis,
    }
}

pub(crate) struct LabelValueEnum<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) krate: Path,
    pub(crate) variants: Vec<(&'a Ident, String)>,
}

pub(crate) fn label_value<'a>(cx: &Ctxt, input: &'a DeriveInput) -> LabelValueEnum<'a> {
    let mut variants: Vec<(&Ident, String)> = Vec::new();
    let krate = attr::label_container(cx, &input.attrs).unwrap_or_else(default_crate);
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "`#[derive(LabelValue)]` does not support generic enums",
        );
    }
    let Data::Enum(data) = &input.data else {
        cx.error_spanned_by(
            &input.ident,
            "`#[derive(LabelValue)]` only works on fieldless enums; for a struct of labels use `#[derive(LabelSet)]`",
        );
        return LabelValueEnum {
            ident: &input.ident,
            krate,
            variants,
        };
    };
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            cx.error_spanned_by(
                &variant.fields,
                format!(
                    "variant `{}` has fields; a label value enum must be fieldless",
                    variant.ident
                ),
            );
        }
        let rename: Option<LitStr> = attr::label_variant(cx, &variant.attrs);
        let value = rename
            .as_ref()
            .map_or_else(|| snake_case(&unraw(&variant.ident)), LitStr::value);
        if let Some((first, _)) = variants.iter().find(|(_, v)| *v == value) {
            let span = rename.as_ref().map_or(variant.ident.span(), |r| r.span());
            cx.syn_error(syn::Error::new(
                span,
                format!("label value `{value}` is also the value of `{first}`; give one `#[label(rename = \"...\")]`"),
            ));
        }
        variants.push((&variant.ident, value));
    }
    LabelValueEnum {
        ident: &input.ident,
        krate,
        variants,
    }
}
