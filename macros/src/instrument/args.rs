//! The arguments of `#[promexport::instrument(...)]`.

use crate::attr;
use crate::ctxt::Ctxt;
use crate::symbol::{BUCKETS, CRATE, NAME};
use syn::meta::ParseNestedMeta;
use syn::{ExprArray, LitStr, Path};

const OK_IF: &str = "ok_if";
const ERROR_IF: &str = "error_if";
const ACCEPTED: &[&str] = &[NAME, BUCKETS, OK_IF, ERROR_IF, CRATE];

#[derive(Default)]
pub(crate) struct Args {
    /// The `function` label instead of the function's name.
    pub(crate) name: Option<LitStr>,
    pub(crate) buckets: Option<Vec<f64>>,
    /// `ok_if = path` (`true`) or `error_if = path` (`false`): `path(&value) -> bool`.
    pub(crate) classify: Option<(Path, bool)>,
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

fn parse_key(args: &mut Args, meta: &ParseNestedMeta) -> syn::Result<()> {
    let path = &meta.path;
    if path.is_ident(NAME) {
        let name: LitStr = meta.value()?.parse()?;
        if args.name.replace(name).is_some() {
            return Err(duplicate(meta, NAME));
        }
    } else if path.is_ident(BUCKETS) {
        let array: ExprArray = meta.value()?.parse()?;
        let buckets = buckets(&array)?;
        if args.buckets.replace(buckets).is_some() {
            return Err(duplicate(meta, BUCKETS));
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
