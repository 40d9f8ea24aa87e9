//! Generates an instrumented function. The body is moved, untouched, into a closure (sync) or an
//! `async move` block (async), so `return`, `?` and type errors behave and point as in the
//! user's code; the signature is emitted unchanged.

use super::Args;
use super::args::MetricNames;
use crate::model::default_crate;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{AttrStyle, ItemFn, ReturnType, Type};

/// A Rust name as users see it (`r#type` is `type`).
pub(super) fn unraw(ident: &syn::Ident) -> String {
    let text = ident.to_string();
    text.strip_prefix("r#").map_or(text.clone(), str::to_owned)
}

/// Whether `ty` mentions `impl Trait`, which cannot be written inside a body.
fn mentions_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// How a non-`async` function returns a future, if it does.
enum ReturnedFuture<'a> {
    /// `-> impl Future<Output = X>`.
    Impl(&'a Type),
    /// `-> Pin<Box<dyn Future<Output = X> ...>>` (what async-trait generates).
    Boxed(&'a Type),
}

/// The `X` of a `Future<Output = X>` bound among `bounds`.
fn future_output<'a>(
    bounds: impl IntoIterator<Item = &'a syn::TypeParamBound>,
) -> Option<&'a Type> {
    bounds.into_iter().find_map(|bound| {
        let syn::TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let segment = bound.path.segments.last()?;
        let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
            return None;
        };
        (segment.ident == "Future").then_some(())?;
        args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// The only type argument of the last segment of `ty` if that segment is called `name`.
fn single_argument<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let segment = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    (segment.ident == name).then_some(())?;
    match args.args.first()? {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    }
}

fn returned_future(output: &ReturnType) -> Option<ReturnedFuture<'_>> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    if let Type::ImplTrait(impl_trait) = &**ty {
        return future_output(&impl_trait.bounds).map(ReturnedFuture::Impl);
    }
    let boxed = single_argument(single_argument(ty, "Pin")?, "Box")?;
    let Type::TraitObject(object) = boxed else {
        return None;
    };
    future_output(&object.bounds).map(ReturnedFuture::Boxed)
}

pub(super) fn function(args: &Args, function: ItemFn, label: Option<String>) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        modifiers,
        sig,
        block,
    } = function;
    // `default fn` (specialization, unstable) inside an impl block.
    let defaultness = modifiers.defaultness;
    if let Some(constness) = &sig.constness {
        let error = syn::Error::new_spanned(
            constness,
            "`#[promexport::instrument]` cannot time a `const fn`; remove `const` or the attribute",
        )
        .to_compile_error();
        return quote!(#(#attrs)* #vis #defaultness #sig #block #error);
    }
    let krate = args.krate.as_ref().map_or_else(
        || default_crate().into_token_stream(),
        ToTokens::to_token_stream,
    );
    let private = quote!(#krate::__private);
    let label = match (&args.function, label) {
        (Some(name), _) => name.value(),
        (None, Some(label)) => label,
        (None, None) => unraw(&sig.ident),
    };
    let buckets = match &args.buckets {
        Some(values) => quote!(&[#(#values),*]),
        None => quote!(#private::DEFAULT_DURATION_BUCKETS),
    };
    let native = match &args.native {
        Some(native) => {
            let options = crate::expand::native_options_with(&krate, Some(native), buckets.clone());
            quote!(#private::Some(#options))
        }
        None => quote!(#private::None),
    };
    let (outer_attrs, inner_attrs): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|attr| matches!(attr.style, AttrStyle::Outer));
    let nameable_output = match &sig.output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if !mentions_impl_trait(ty) => Some(ty.to_token_stream()),
        ReturnType::Type(..) => None,
    };
    let output_span = match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let classify_body = match &args.classify {
        Some((predicate, true)) => quote!(if #predicate(__promexport_value) {
            #private::Outcome::Ok
        } else {
            #private::Outcome::Error
        }),
        Some((predicate, false)) => quote!(if #predicate(__promexport_value) {
            #private::Outcome::Error
        } else {
            #private::Outcome::Ok
        }),
        None => quote!({
            #[allow(unused_imports)]
            use #private::{AnyOutcome as _, ResultOutcome as _};
            __promexport_value.__promexport_outcome()
        }),
    };
    // A return of the declared type checked before the body, so the body is type-checked
    // against it and a mismatch is reported in the user's code, not at the attribute.
    let fake_return_edge = nameable_output.as_ref().map(|output| {
        quote_spanned! {output_span=>
            #[allow(
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::unreachable
            )]
            if false {
                let __promexport_fake_return: #output = loop {};
                return __promexport_fake_return;
            }
        }
    });
    let classify_output = |output: Option<&TokenStream>| match output {
        Some(output) => quote!(|__promexport_value: &#output| #classify_body),
        // `impl Trait` outputs cannot be named here: every completed call is `ok`.
        None => quote!(|_| #private::Outcome::Ok),
    };
    let body = if sig.asyncness.is_some() {
        let turbofish = nameable_output
            .as_ref()
            .map(|output| quote!(::<#output, _, _>));
        let classify = classify_output(nameable_output.as_ref());
        quote! {
            #private::instrument_future #turbofish(
                &__PROMEXPORT_FUNCTION,
                async move {
                    #fake_return_edge
                    #block
                },
                #classify,
            )
            .await
        }
    } else if let Some(returned) = returned_future(&sig.output) {
        // The call is the returned future: timed from its first poll to its completion.
        let (ReturnedFuture::Impl(output) | ReturnedFuture::Boxed(output)) = returned;
        let output = (!mentions_impl_trait(output)).then(|| output.to_token_stream());
        let classify = classify_output(output.as_ref());
        let instrumented = quote! {
            #private::instrument_future(
                &__PROMEXPORT_FUNCTION,
                (move || {
                    #fake_return_edge
                    #block
                })(),
                #classify,
            )
        };
        match returned {
            ReturnedFuture::Impl(_) => instrumented,
            ReturnedFuture::Boxed(_) => quote!(#private::Box::pin(#instrumented)),
        }
    } else {
        quote! {
            #private::call(
                &__PROMEXPORT_FUNCTION,
                move || {
                    #fake_return_edge
                    #block
                },
                |__promexport_value| #classify_body,
            )
        }
    };
    let metric_names = match &args.names {
        None => quote!(#private::MetricNames::AUTOMETRICS),
        Some(names) => {
            let (calls, duration, concurrent) = match names {
                MetricNames::Prefixed(prefix) => (
                    format!("{prefix}_function_calls"),
                    format!("{prefix}_function_calls_duration_seconds"),
                    format!("{prefix}_function_calls_concurrent"),
                ),
                MetricNames::Named(name) => (
                    format!("{name}_calls"),
                    format!("{name}_duration_seconds"),
                    format!("{name}_concurrent"),
                ),
            };
            quote!(#private::MetricNames { calls: #calls, duration: #duration, concurrent: #concurrent })
        }
    };
    let [calls, duration, concurrency] = args.record.unwrap_or([true; 3]);
    let const_labels = &args.labels;
    let (objective, objective_check) = match &args.objective {
        // Spanned at the path, so a wrong type or a failed check points at it. The check runs at
        // compile time: an objective without target or with a threshold missing from the
        // buckets is an error.
        Some(objective) => (
            quote!(#private::Some(__PROMEXPORT_OBJECTIVE)),
            quote_spanned! {objective.span()=>
                const __PROMEXPORT_OBJECTIVE: &#private::Objective = &#objective;
                const _: () = __PROMEXPORT_OBJECTIVE.check(#buckets);
            },
        ),
        None => (quote!(#private::None), quote!()),
    };
    let declaration = quote! {
        static __PROMEXPORT_FUNCTION: #private::Function = #private::Function::new(
            #private::FunctionOptions {
                name: #label,
                module: #private::module_path!(),
                crate_name: #private::env!("CARGO_PKG_NAME"),
                buckets: #buckets,
                native: #native,
                metrics: #metric_names,
                record: #private::Record { calls: #calls, duration: #duration, concurrency: #concurrency },
                const_labels: #const_labels,
                objective: #objective,
                location: #private::concat!(#private::file!(), ":", #private::line!()),
            }
        );
        #objective_check
        #private::inventory::submit! {
            #private::FunctionRegistration(&__PROMEXPORT_FUNCTION)
        }
    };
    quote! {
        #(#outer_attrs)*
        #vis #defaultness #sig {
            #(#inner_attrs)*
            #declaration
            #body
        }
    }
}
