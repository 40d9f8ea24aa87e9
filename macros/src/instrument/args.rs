//! The arguments of `#[promexport::instrument(...)]`.

use crate::attr;
use crate::ctxt::Ctxt;
use crate::naming;
use crate::symbol::{BUCKETS, CRATE, NAME, NATIVE};
use syn::meta::ParseNestedMeta;
use syn::{ExprArray, LitStr, Path};

const FUNCTION: &str = "function";
const PREFIX: &str = "prefix";
const RECORD: &str = "record";
const LABELS: &str = "labels";
const OK_IF: &str = "ok_if";
const ERROR_IF: &str = "error_if";
const OBJECTIVE: &str = "objective";
const ACCEPTED: &[&str] = &[
    FUNCTION, NAME, PREFIX, RECORD, BUCKETS, NATIVE, LABELS, OK_IF, ERROR_IF, OBJECTIVE, CRATE,
];
const RECORDABLE: &[&str] = &["calls", "duration", "concurrency"];
/// Labels every series already has.
const RESERVED_LABELS: &[&str] = &[
    "function",
    "module",
    "service_name",
    "caller_function",
    "caller_module",
    "result",
    "le",
    "objective_name",
    "objective_percentile",
    "objective_latency_threshold",
];

/// The families a function records into, when not the autometrics ones.
pub(crate) enum MetricNames {
    /// `prefix = "p"`: `p_function_calls_total`, ...
    Prefixed(String),
    /// `name = "n"`: `n_calls_total`, `n_duration_seconds`, `n_concurrent`.
    Named(String),
}

#[derive(Default)]
pub(crate) struct Args {
    /// The `function` label instead of the function's name.
    pub(crate) function: Option<LitStr>,
    pub(crate) names: Option<MetricNames>,
    /// Which of calls, duration, concurrency to record (all when `None`).
    pub(crate) record: Option<[bool; 3]>,
    /// Pre-escaped `name="value",...`.
    pub(crate) labels: String,
    /// The names in `labels`, to refuse one given twice.
    label_names: Vec<String>,
    pub(crate) buckets: Option<Vec<f64>>,
    /// `native` or `native(...)`: a native duration histogram.
    pub(crate) native: Option<attr::Native>,
    /// `ok_if = path` (`true`) or `error_if = path` (`false`): `path(&value) -> bool`.
    pub(crate) classify: Option<(Path, bool)>,
    /// `objective = PATH` to a `const Objective`.
    pub(crate) objective: Option<Path>,
    pub(crate) krate: Option<Path>,
}

pub(crate) fn parser(input: syn::parse::ParseStream) -> syn::Result<Args> {
    let mut args = Args::default();
    let mut errors: Option<syn::Error> = None;
    let parse = syn::meta::parser(|meta| {
        if let Err(error) = parse_key(&mut args, &meta) {
            match &mut errors {
                Some(errors) => errors.combine(error),
                None => errors = Some(error),
            }
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parse, input.parse()?)?;
    match errors {
        Some(errors) => Err(errors),
        None => Ok(args),
    }
}

fn duplicate(meta: &ParseNestedMeta, key: &str) -> syn::Error {
    meta.error(format!("duplicate `{key}`: give it once"))
}

fn metric_name(meta: &ParseNestedMeta) -> syn::Result<String> {
    let name: LitStr = meta.value()?.parse()?;
    match naming::metric_name_problem(&name.value()) {
        Some(problem) => Err(syn::Error::new(name.span(), problem)),
        None => Ok(name.value()),
    }
}

fn parse_key(args: &mut Args, meta: &ParseNestedMeta) -> syn::Result<()> {
    let path = &meta.path;
    if path.is_ident(FUNCTION) {
        let function: LitStr = meta.value()?.parse()?;
        if args.function.replace(function).is_some() {
            return Err(duplicate(meta, FUNCTION));
        }
    } else if path.is_ident(NAME) || path.is_ident(PREFIX) {
        let value = metric_name(meta)?;
        let names = match path.is_ident(NAME) {
            true => MetricNames::Named(value),
            false => MetricNames::Prefixed(value),
        };
        if args.names.replace(names).is_some() {
            return Err(meta.error("give one of `name` and `prefix`, once"));
        }
    } else if path.is_ident(RECORD) {
        let array: ExprArray = meta.value()?.parse()?;
        let mut record = [false; 3];
        for elem in &array.elems {
            let position = match elem {
                syn::Expr::Path(p) => p
                    .path
                    .get_ident()
                    .and_then(|i| RECORDABLE.iter().position(|r| i == r)),
                _ => None,
            };
            let Some(position) = position else {
                return Err(syn::Error::new_spanned(
                    elem,
                    format!("`record` takes some of: {}", RECORDABLE.join(", ")),
                ));
            };
            record[position] = true;
        }
        if !record.contains(&true) {
            return Err(syn::Error::new_spanned(
                &array,
                "`record` needs at least one of calls, duration, concurrency; remove the attribute to record nothing",
            ));
        }
        if args.record.replace(record).is_some() {
            return Err(duplicate(meta, RECORD));
        }
    } else if path.is_ident(LABELS) {
        meta.parse_nested_meta(|label| {
            let Some(name) = label.path.get_ident().map(ToString::to_string) else {
                return Err(label.error("expected `label_name = \"value\"`"));
            };
            // The value first: an error below must not leave it unparsed.
            let value: LitStr = label.value()?.parse()?;
            if let Some(problem) = naming::ident_label_name_problem(&name) {
                return Err(syn::Error::new_spanned(&label.path, problem));
            }
            if RESERVED_LABELS.contains(&name.as_str()) {
                return Err(syn::Error::new_spanned(
                    &label.path,
                    format!(
                        "label `{name}` is already set on every series of an instrumented function; choose another name"
                    ),
                ));
            }
            if args.label_names.contains(&name) {
                return Err(syn::Error::new_spanned(
                    &label.path,
                    format!("duplicate label `{name}`: give each label once"),
                ));
            }
            args.label_names.push(name.clone());
            if !args.labels.is_empty() {
                args.labels.push(',');
            }
            let escaped = crate::model::escape_label_value(&value.value());
            args.labels.push_str(&format!("{name}=\"{escaped}\""));
            Ok(())
        })?;
    } else if path.is_ident(BUCKETS) {
        let array: ExprArray = meta.value()?.parse()?;
        let buckets = buckets(&array)?;
        if args.buckets.replace(buckets).is_some() {
            return Err(duplicate(meta, BUCKETS));
        }
    } else if path.is_ident(NATIVE) {
        let cx = Ctxt::new();
        let native = attr::native_options(&cx, meta);
        cx.check()?;
        if args.native.replace(native?).is_some() {
            return Err(duplicate(meta, NATIVE));
        }
    } else if path.is_ident(OK_IF) || path.is_ident(ERROR_IF) {
        let predicate: Path = meta.value()?.parse()?;
        if args
            .classify
            .replace((predicate, path.is_ident(OK_IF)))
            .is_some()
        {
            return Err(meta.error("give one of `ok_if` and `error_if`, once"));
        }
    } else if path.is_ident(OBJECTIVE) {
        let objective = match meta.value()?.parse()? {
            syn::Expr::Path(objective) if objective.qself.is_none() => objective.path,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "`objective` takes the path of a `const Objective`: `objective = API_SLO`",
                ));
            }
        };
        if args.objective.replace(objective).is_some() {
            return Err(duplicate(meta, OBJECTIVE));
        }
    } else if path.is_ident(CRATE) {
        let krate: Path = meta.value()?.parse()?;
        if args.krate.replace(krate).is_some() {
            return Err(duplicate(meta, CRATE));
        }
    } else {
        let key = quote::quote!(#path).to_string().replace(' ', "");
        // Consume the value, so the next key still parses and is checked too.
        if meta.input.peek(syn::Token![=]) {
            meta.value()?.parse::<syn::Expr>()?;
        } else if meta.input.peek(syn::token::Paren) {
            meta.parse_nested_meta(|_| Ok(()))?;
        }
        return Err(meta.error(format!(
            "unknown `instrument` option `{key}`; expected one of: {}",
            ACCEPTED.join(", ")
        )));
    }
    Ok(())
}

fn buckets(array: &ExprArray) -> syn::Result<Vec<f64>> {
    let cx = Ctxt::new();
    let values = attr::bucket_values(&cx, array);
    cx.check().map(|()| values)
}
