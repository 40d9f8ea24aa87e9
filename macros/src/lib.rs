//! Derive macros of [promexport](https://docs.rs/promexport). Use them through `promexport`:
//! `use promexport::{Metrics, LabelSet, LabelValue};`.

mod attr;
mod ctxt;
mod expand;
mod fallback;
mod model;
mod naming;
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
