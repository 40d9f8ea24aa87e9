//! Derive macros of [promexport](https://docs.rs/promexport). Use them through `promexport`:
//! `use promexport::{Metrics, LabelSet, LabelValue};`.

mod attr;
mod ctxt;
mod duration;
mod expand;
mod fallback;
mod instrument;
mod model;
mod naming;
mod summary;
mod symbol;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// See `promexport::Metrics`.
#[proc_macro_derive(Metrics, attributes(metrics, metric))]
pub fn derive_metrics(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::metrics(&input).into()
}

/// See `promexport::LabelSet`.
#[proc_macro_derive(LabelSet, attributes(label))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::label_set(&input).into()
}

/// See `promexport::LabelValue`.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::label_value(&input).into()
}

/// See `promexport::instrument`.
#[proc_macro_attribute]
pub fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument::instrument(args.into(), item.into()).into()
}

/// See `promexport::skip`.
#[proc_macro_attribute]
pub fn skip(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: proc_macro2::TokenStream = item.into();
    if !args.is_empty() {
        let error = syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[promexport::skip]` takes no arguments",
        );
        item.extend(error.to_compile_error());
    }
    item.into()
}
