//! What a derive emits when its input is wrong: the errors plus a stub implementation, so code
//! that uses the type does not pile up follow-on errors.
//!
//! A generic input is itself one of those errors: its stubs keep the type's generics (so the
//! stub does not add a "missing generics" error of its own), and trait stubs are left out, since
//! the type's parameters may not meet the trait's bounds.

use proc_macro2::{Ident, TokenStream};
use quote::quote;
use syn::{Generics, Path};

pub(crate) fn metrics(
    krate: &Path,
    ident: &Ident,
    generics: &Generics,
    error: syn::Error,
) -> TokenStream {
    let error = error.to_compile_error();
    let private = quote!(#krate::__private);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    // `Default` too: without it, a `Collector` of the struct loses its methods and rustc advises a
    // `#[derive(Default)]` that the derive already provides.
    let traits = generics.params.is_empty().then(|| {
        quote! {
            impl #private::Default for #ident {
                fn default() -> Self { #private::unreachable!() }
            }
            impl #krate::Collect for #ident {
                fn describe(&self) -> #private::Vec<#krate::FamilyDescription> { #private::unreachable!() }
                fn encode(&self, _: &mut #krate::Encoder<'_>) { #private::unreachable!() }
            }
        }
    });
    quote! {
        #error
        #[allow(dead_code, unused_qualifications, clippy::all)]
        const _: () = {
            impl #impl_generics #ident #ty_generics #where_clause {
                pub fn new() -> Self { #private::unreachable!() }
                pub fn global() -> &'static Self { #private::unreachable!() }
            }
            #traits
        };
    }
}

pub(crate) fn label_set(
    krate: &Path,
    ident: &Ident,
    generics: &Generics,
    error: syn::Error,
) -> TokenStream {
    let error = error.to_compile_error();
    if !generics.params.is_empty() {
        return error;
    }
    let private = quote!(#krate::__private);
    quote! {
        #error
        #[allow(unused_qualifications, clippy::all)]
        impl #krate::LabelSet for #ident {
            const NAMES: &'static [&'static str] = &[];
            const CARDINALITY: #private::Option<usize> = #private::None;
            fn index(&self) -> usize { #private::unreachable!() }
            fn from_index(_: usize) -> #private::Option<Self> { #private::unreachable!() }
            fn encode(&self, _: &mut #krate::LabelSetEncoder<'_>) { #private::unreachable!() }
        }
    }
}

pub(crate) fn label_value(
    krate: &Path,
    ident: &Ident,
    generics: &Generics,
    error: syn::Error,
) -> TokenStream {
    let error = error.to_compile_error();
    if !generics.params.is_empty() {
        return error;
    }
    let private = quote!(#krate::__private);
    quote! {
        #error
        #[allow(unused_qualifications, clippy::all)]
        impl #krate::LabelValue for #ident {
            fn encode(&self, _: &mut #krate::LabelValueEncoder<'_>) { #private::unreachable!() }
        }
    }
}
