//! What a derive emits when its input is wrong: the errors plus a stub implementation, so code
//! that uses the type does not pile up follow-on errors.

use proc_macro2::{Ident, TokenStream};
use quote::quote;
use syn::Path;

pub(crate) fn metrics(krate: &Path, ident: &Ident, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    let private = quote!(#krate::__private);
    quote! {
        #error
        #[allow(dead_code, unused_qualifications, clippy::all)]
        const _: () = {
            impl #ident {
                pub fn new() -> Self { #private::unreachable!() }
                pub fn global() -> &'static Self { #private::unreachable!() }
            }
            impl #krate::Collect for #ident {
                fn describe(&self) -> #private::Vec<#krate::FamilyDescription> { #private::unreachable!() }
                fn encode(&self, _: &mut #krate::Encoder<'_>) { #private::unreachable!() }
            }
        };
    }
}

pub(crate) fn label_set(krate: &Path, ident: &Ident, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
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

pub(crate) fn label_value(krate: &Path, ident: &Ident, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    let private = quote!(#krate::__private);
    quote! {
        #error
        #[allow(unused_qualifications, clippy::all)]
        impl #krate::LabelValue for #ident {
            fn encode(&self, _: &mut #krate::LabelValueEncoder<'_>) { #private::unreachable!() }
        }
    }
}
