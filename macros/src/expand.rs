//! Generates the code of each derive. The only module that calls `quote!`.

use crate::attr::{Buckets, Native};
use crate::ctxt::Ctxt;
use crate::fallback;
use crate::model::{self, LabelSetStruct, LabelValueEnum, MetricField, MetricsStruct, unraw};
use crate::summary::SummarySettings;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

pub(crate) fn metrics(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let model = model::metrics_struct(&cx, input);
    match cx.check() {
        Ok(()) => metrics_impl(&model),
        Err(error) => fallback::metrics(&model.krate, &input.ident, &input.generics, error),
    }
}

fn metrics_impl(model: &MetricsStruct) -> TokenStream {
    let MetricsStruct {
        ident,
        krate,
        const_labels,
        fields,
        skipped,
        no_global,
        ..
    } = model;
    let private = quote!(#krate::__private);
    let descriptors = fields.iter().map(|field| {
        let MetricField {
            ty,
            name,
            help,
            unit,
            ..
        } = field;
        let unit = match unit {
            Some(unit) => {
                let unit = unit.value();
                quote!(#private::Some(#unit))
            }
            None => quote!(#private::None),
        };
        quote! {
            #krate::Descriptor {
                name: #name,
                help: #help,
                unit: #unit,
                kind: <#ty as #krate::Metric>::KIND,
            }
        }
    });
    let constructors = fields.iter().map(|field| {
        let (field_ident, ty) = (field.ident, field.ty);
        let buckets = match &field.buckets {
            Some(Buckets {
                constant: Some(constant),
                ..
            }) => quote!({
                const __BUCKETS: &[f64] = &#constant;
                __BUCKETS
            }),
            Some(buckets) => {
                let values = &buckets.values;
                quote!(&[#(#values),*])
            }
            None => quote!(#krate::DEFAULT_BUCKETS),
        };
        let name = &field.name;
        let max_series = match field.max_series {
            Some(limit) => quote!(#private::Some(#limit)),
            None => quote!(#private::None),
        };
        let preinit = field.preinit;
        let native = native_options(krate, field);
        let summary = summary_options(krate, &field.summary);
        let expire_after = match &field.expire_after {
            Some(expire_after) => {
                let idle = duration(&quote!(#private::Duration), expire_after.value);
                quote!(#private::Some(#idle))
            }
            None => quote!(#private::None),
        };
        quote! {
            #field_ident: <#ty as #krate::Metric>::new(&#krate::MetricConfig {
                buckets: #buckets,
                max_series: #max_series,
                name: #name,
                preinit: #preinit,
                native: #native,
                summary: #summary,
                expire_after: #expire_after,
                ..#krate::MetricConfig::DEFAULT
            })
        }
    });
    let encodes = fields.iter().enumerate().map(|(index, field)| {
        let (field_ident, ty) = (field.ident, field.ty);
        quote! {
            #private::encode_metric::<#ty>(encoder, &__DESCRIPTORS[#index], __CONST_LABELS, &self.#field_ident);
        }
    });
    let field_names = fields.iter().map(|field| unraw(field.ident));
    let field_labels = fields.iter().map(|field| {
        let ty = field.ty;
        quote!(<#ty as #krate::Metric>::LABEL_NAMES)
    });
    let const_label_names = &model.const_label_names;
    let type_name = ident.to_string();
    let checks = fields
        .iter()
        .map(|field| kind_checks(krate, field, &model.const_label_names));
    // Served by the process-wide registry unless a `Collector` (or a `Registry`) serves it.
    let (global_static, global_fn, submission) = if *no_global {
        (quote!(), quote!(), quote!())
    } else {
        (
            quote!(static __GLOBAL: #private::OnceLock<#ident> = #private::OnceLock::new();),
            quote! {
                /// The process-wide instance, created on first use and served by
                /// `promexport::registry()`.
                pub fn global() -> &'static Self {
                    __GLOBAL.get_or_init(Self::new)
                }
            },
            quote! {
                fn __instance() -> &'static dyn #krate::Collect {
                    #ident::global()
                }

                #private::inventory::submit! {
                    #private::Registration {
                        type_name: #private::concat!(#private::module_path!(), "::", #type_name),
                        descriptors: __DESCRIPTORS,
                        declared_by: __declared_by,
                        instance: __instance,
                    }
                }
            },
        )
    };
    quote! {
        #[allow(unused_qualifications, non_upper_case_globals, clippy::all)]
        const _: () = {
            const __DESCRIPTORS: &[#krate::Descriptor] = &[#(#descriptors),*];
            const __CONST_LABELS: &str = #const_labels;
            #global_static

            fn __declared_by(index: usize) -> #private::Option<#private::String> {
                #private::field_declaring(
                    &[#(#field_names),*],
                    #private::concat!(#private::module_path!(), "::", #type_name),
                    index,
                )
            }

            #(#checks)*

            #[automatically_derived]
            #[allow(dead_code)]
            impl #ident {
                /// Creates every metric of the struct at zero, for an explicit `Registry`.
                pub fn new() -> Self {
                    Self {
                        #(#constructors,)*
                        #(#skipped: #private::Default::default(),)*
                    }
                }

                #global_fn
            }

            #[automatically_derived]
            impl #private::Default for #ident {
                fn default() -> Self {
                    Self::new()
                }
            }

            #[automatically_derived]
            impl #krate::Collect for #ident {
                fn describe(&self) -> #private::Vec<#krate::FamilyDescription> {
                    // Trait methods through paths, so the caller's scope needs no prelude.
                    #private::Iterator::collect(#private::Iterator::map(
                        __DESCRIPTORS.iter(),
                        <#krate::FamilyDescription as #private::From<&#krate::Descriptor>>::from,
                    ))
                }

                fn encode(&self, encoder: &mut #krate::Encoder<'_>) {
                    #(#encodes)*
                }

                fn declared_by(&self, index: usize) -> #private::Option<#private::String> {
                    __declared_by(index)
                }

                fn label_names(
                    &self,
                    index: usize,
                ) -> #private::Option<#private::Vec<#private::Cow<'static, str>>> {
                    #private::field_label_names(
                        &[#(#field_labels),*],
                        &[#(#const_label_names),*],
                        index,
                    )
                }
            }

            #submission
        };
    }
}

/// The `NativeHistogramOptions` of a field: its `native(...)` settings, and its `buckets` as
/// the classic buckets beside the native ones.
fn native_options(krate: &syn::Path, field: &MetricField) -> TokenStream {
    let classic = match &field.buckets {
        Some(buckets) => {
            let values = &buckets.values;
            quote!(&[#(#values),*])
        }
        None => quote!(&[]),
    };
    native_options_with(krate, field.native.as_ref(), classic)
}

/// `NativeHistogramOptions` with the settings of `native` and `classic` buckets.
pub(crate) fn native_options_with(
    krate: &impl quote::ToTokens,
    native: Option<&Native>,
    classic: TokenStream,
) -> TokenStream {
    let options = quote!(#krate::NativeHistogramOptions);
    let mut settings = Vec::new();
    if let Some(native) = native {
        if let Some(factor) = native.factor {
            settings.push(quote!(factor: #factor,));
        }
        if let Some(threshold) = native.zero_threshold {
            settings.push(quote!(zero_threshold: #threshold,));
        }
        if let Some(limit) = native.max_buckets {
            settings.push(quote!(max_buckets: #limit,));
        }
        let duration_type = quote!(::core::time::Duration);
        if let Some(value) = native.min_reset {
            let min_reset = duration(&duration_type, value);
            settings.push(quote!(min_reset: #min_reset,));
        }
        if let Some(threshold) = native.max_zero_threshold {
            settings.push(quote!(max_zero_threshold: #threshold,));
        }
        if let Some(limit) = native.max_exemplars {
            settings.push(quote!(max_exemplars: #limit,));
        }
        if let Some(value) = native.exemplar_ttl {
            let ttl = duration(&duration_type, value);
            settings.push(quote!(exemplar_ttl: #ttl,));
        }
    }
    quote!(#options {
        #(#settings)*
        classic_buckets: #classic,
        ..#options::DEFAULT
    })
}

/// Rules that depend on the metric's type, which only the compiler knows: checked in constants,
/// so a violation is a compile error at the offending token — the field's name for a suffix the
/// metric type adds, the field's type for labels and buckets.
fn kind_checks(krate: &syn::Path, field: &MetricField, const_labels: &[String]) -> TokenStream {
    let private = quote!(#krate::__private);
    let ty = field.ty;
    let name = &field.name;
    let kind = quote!(<#ty as #krate::Metric>::KIND);
    let labels = quote!(<#ty as #krate::Metric>::LABEL_NAMES);
    let (name_span, type_span) = (field.ident.span(), field.ty.span());
    let mut checks = Vec::new();
    if name.ends_with("_total") {
        let message = format!(
            "counter `{name}` would be exposed as `{name}_total`: promexport appends `_total` to counters, so drop `_total` from the name"
        );
        checks.push((
            name_span,
            quote!(!#private::matches!(#kind, #krate::MetricKind::Counter)),
            message,
        ));
    }
    if name.ends_with("_info") {
        let message = format!(
            "info metric `{name}` would be exposed as `{name}_info`: promexport appends `_info`, so drop `_info` from the name"
        );
        checks.push((
            name_span,
            quote!(!#private::matches!(#kind, #krate::MetricKind::Info)),
            message,
        ));
    }
    let le_message = format!(
        "histogram `{name}` has a label named `le`, which Prometheus reserves for bucket bounds; rename the label (`#[label(name = \"...\")]`)"
    );
    checks.push((
        type_span,
        quote!(
            !(#private::matches!(
                #kind,
                #krate::MetricKind::Histogram | #krate::MetricKind::GaugeHistogram
            ) && #private::contains(#labels, "le"))
        ),
        le_message,
    ));
    let quantile_message = format!(
        "metric `{name}` has a label named `quantile`, which Prometheus reserves for summary quantiles; rename the label (`#[label(name = \"...\")]`)"
    );
    checks.push((
        type_span,
        quote!(!#private::contains(#labels, "quantile")),
        quantile_message,
    ));
    for label in const_labels {
        let message = format!(
            "metric `{name}` has a label `{label}` and the struct a const label `{label}`, so its samples would carry `{label}` twice; rename one (`#[label(name = \"...\")]`)"
        );
        checks.push((
            type_span,
            quote!(!#private::contains(#labels, #label)),
            message,
        ));
        // A state set's own label is named after the family.
        if *label == *name {
            let message = format!(
                "state set `{name}` labels its states `{name}`, which is also a const label of the struct; rename the field or the const label"
            );
            checks.push((
                name_span,
                quote!(!#private::matches!(#kind, #krate::MetricKind::StateSet)),
                message,
            ));
        }
    }
    let state_label_message = format!(
        "state set `{name}` labels its states `{name}`, which is also a label of its family; rename the label (`#[label(name = \"...\")]`)"
    );
    checks.push((
        type_span,
        quote!(
            !(#private::matches!(#kind, #krate::MetricKind::StateSet)
                && #private::contains(#labels, #name))
        ),
        state_label_message,
    ));
    if let Some(unit) = &field.unit {
        let message = format!(
            "info and state set metrics have no unit (OpenMetrics parsers reject one), and `{name}` is one; remove `unit`"
        );
        checks.push((
            unit.span(),
            quote!(
                !#private::matches!(
                    #kind,
                    #krate::MetricKind::Info | #krate::MetricKind::StateSet
                )
            ),
            message,
        ));
    }
    if let Some(Buckets {
        constant: Some(constant),
        ..
    }) = &field.buckets
    {
        checks.push((
            constant.span(),
            quote!(#krate::valid_buckets(&#constant)),
            "bucket bounds must be at least one, finite and strictly increasing; `exponential_buckets` and `linear_buckets` give such bounds".to_owned(),
        ));
    }
    if field.buckets.is_some() {
        let message = format!(
            "`buckets` only applies to histograms, and `{name}` is not one; remove `buckets`"
        );
        checks.push((
            type_span,
            quote!(#private::matches!(
                #kind,
                #krate::MetricKind::Histogram | #krate::MetricKind::GaugeHistogram
            )),
            message,
        ));
    }
    if let Some(span) = field.summary.span {
        let message = format!(
            "`quantiles`, `max_age`, `age_buckets` and `buf_cap` only apply to summaries, and `{name}` is not one; remove them or make it a `Summary`"
        );
        checks.push((
            span,
            quote!(#private::matches!(#kind, #krate::MetricKind::Summary)),
            message,
        ));
    }
    if let Some(native) = &field.native {
        let message = format!(
            "`native` configures native histograms, and `{name}` is not one: make its type `NativeHistogram` (or `Family<L, NativeHistogram>`), or remove `native`"
        );
        checks.push((
            native.keyword.span(),
            quote!(<#ty as #krate::Metric>::NATIVE),
            message,
        ));
    }
    if field.preinit {
        let message = format!(
            "`preinit` creates every label combination up front, so it needs a `Family` whose labels are all closed (enums, `bool`), and `{name}` is not one; remove `preinit`"
        );
        checks.push((
            type_span,
            quote!(<#ty as #krate::Metric>::CLOSED_LABEL_SETS.is_some()),
            message,
        ));
    }
    if let Some(expire_after) = &field.expire_after {
        let message = format!(
            "`expire_after` drops idle series of a `Family` over open labels (strings, integers), and `{name}` is not one; remove `expire_after` (a closed family's series can be removed with `Family::remove` or `Family::retain`)"
        );
        checks.push((
            expire_after.literal.span(),
            quote!(<#ty as #krate::Metric>::OPEN_LABEL_SETS),
            message,
        ));
    }
    checks
        .into_iter()
        .map(|(span, condition, message)| {
            // A failed constant is reported at its `assert!` call, which spans from the first
            // token of the macro path to the closing parenthesis: both are located at the
            // offending token (keeping call-site hygiene), through a local alias of `assert` so
            // the user's tokens in `#krate` and `#ty` keep their own spans.
            let span = Span::call_site().located_at(span);
            let assert = quote_spanned!(span=> __assert!(#condition, #message));
            quote! {
                const _: () = {
                    use #private::assert as __assert;
                    #assert
                };
            }
        })
        .collect()
}

/// The `SummaryOptions` of a field: its own settings over the defaults.
fn summary_options(krate: &syn::Path, settings: &SummarySettings) -> TokenStream {
    let private = quote!(#krate::__private);
    let mut fields = Vec::new();
    if let Some(objectives) = &settings.objectives {
        let pairs = objectives
            .iter()
            .map(|(quantile, error)| quote!((#quantile, #error)));
        fields.push(quote!(objectives: &[#(#pairs),*]));
    }
    if let Some(value) = settings.max_age {
        let max_age = duration(&quote!(#private::Duration), value);
        fields.push(quote!(max_age: #max_age));
    }
    if let Some(age_buckets) = settings.age_buckets {
        fields.push(quote!(age_buckets: #age_buckets));
    }
    if let Some(buf_cap) = settings.buf_cap {
        fields.push(quote!(buf_cap: #buf_cap));
    }
    quote!(#krate::SummaryOptions { #(#fields,)* ..#krate::SummaryOptions::DEFAULT })
}

pub(crate) fn label_set(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let model = model::label_set(&cx, input);
    if let Err(error) = cx.check() {
        return fallback::label_set(&model.krate, &input.ident, &input.generics, error);
    }
    let LabelSetStruct {
        ident,
        krate,
        fields,
        borrowed,
        vis,
    } = &model;
    let borrowed = borrowed
        .as_ref()
        .map(|borrowed| borrowed_label_set(krate, ident, vis, borrowed, fields));
    let private = quote!(#krate::__private);
    let names = fields.iter().map(|(_, _, name)| name);
    let cardinalities = fields
        .iter()
        .map(|(_, ty, _)| quote!(<#ty as #krate::LabelValue>::CARDINALITY));
    let radix = |ty: &syn::Type| {
        quote!(match <#ty as #krate::LabelValue>::CARDINALITY {
            #private::Some(n) => n,
            #private::None => 1,
        })
    };
    let index_steps = fields.iter().map(|(field, ty, _)| {
        let radix = radix(ty);
        quote!(index = index * (#radix) + <#ty as #krate::LabelValue>::index(&self.#field);)
    });
    // Mixed-radix digits, last field first.
    let from_index_steps = fields.iter().rev().map(|(field, ty, _)| {
        let radix = radix(ty);
        let variable = format_ident!("__{}", field);
        quote! {
            let #variable = <#ty as #krate::LabelValue>::from_index(rest % (#radix))?;
            rest /= #radix;
        }
    });
    let field_idents = fields.iter().map(|(field, _, _)| field);
    let variables = fields
        .iter()
        .map(|(field, _, _)| format_ident!("__{}", field));
    let encodes = fields.iter().map(|(field, ty, name)| {
        // Located at the field's type, so a type that is not a `LabelValue` is reported there.
        let value = quote_spanned!(Span::call_site().located_at(ty.span())=> __value);
        quote!({
            let #value = &self.#field;
            out.label(#name, #value);
        })
    });
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, unused_mut, clippy::all)]
        impl #krate::LabelSet for #ident {
            const NAMES: &'static [&'static str] = &[#(#names),*];
            const CARDINALITY: #private::Option<usize> = #private::product_cardinality(&[#(#cardinalities),*]);

            fn index(&self) -> usize {
                let mut index = 0_usize;
                #(#index_steps)*
                index
            }

            fn from_index(index: usize) -> #private::Option<Self> {
                match <Self as #krate::LabelSet>::CARDINALITY {
                    #private::Some(cardinality) if index < cardinality => {}
                    _ => return #private::None,
                }
                let mut rest = index;
                #(#from_index_steps)*
                #private::Some(Self { #(#field_idents: #variables),* })
            }

            fn encode(&self, out: &mut #krate::LabelSetEncoder<'_>) {
                #(#encodes)*
            }
        }

        #borrowed
    }
}

/// Whether `ty` is spelled `String` (or `std::string::String`): its borrowed form is `&str`.
fn is_string(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == "String" && last.arguments.is_none()),
        _ => false,
    }
}

/// `#[label(borrowed = NameRef)]`: a struct of the same fields borrowed (`&str` for `String`,
/// `&T` otherwise), hashed field by field in order as `#[derive(Hash)]` hashes the label set,
/// and its `BorrowedLabels` impl.
fn borrowed_label_set(
    krate: &syn::Path,
    ident: &syn::Ident,
    vis: &syn::Visibility,
    borrowed: &syn::Ident,
    fields: &[(&syn::Ident, &syn::Type, String)],
) -> TokenStream {
    let private = quote!(#krate::__private);
    let declarations = fields.iter().map(|(field, ty, _)| {
        if is_string(ty) {
            quote!(pub #field: &'a str)
        } else {
            quote!(pub #field: &'a #ty)
        }
    });
    let field_idents: Vec<_> = fields.iter().map(|(field, _, _)| *field).collect();
    let owned_values = fields.iter().map(|(field, ty, _)| {
        if is_string(ty) {
            quote!(#private::From::from(self.#field))
        } else {
            quote!(#private::Clone::clone(self.#field))
        }
    });
    let doc = format!(
        "[`{ident}`] borrowed, to find its series with `Family::get` without allocating (`#[label(borrowed = {borrowed})]`)."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy)]
        #vis struct #borrowed<'a> {
            #(#declarations,)*
        }

        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all)]
        impl #private::Hash for #borrowed<'_> {
            fn hash<__H: #private::Hasher>(&self, state: &mut __H) {
                #(#private::Hash::hash(self.#field_idents, state);)*
            }
        }

        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all)]
        impl #krate::BorrowedLabels<#ident> for #borrowed<'_> {
            fn matches(&self, owned: &#ident) -> bool {
                true #(&& #private::PartialEq::eq(self.#field_idents, &owned.#field_idents))*
            }
            fn to_label_set(&self) -> #private::Cow<'_, #ident> {
                #private::Cow::Owned(#ident { #(#field_idents: #owned_values,)* })
            }
        }
    }
}

pub(crate) fn label_value(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let model = model::label_value(&cx, input);
    if let Err(error) = cx.check() {
        return fallback::label_value(&model.krate, &input.ident, &input.generics, error);
    }
    let LabelValueEnum {
        ident,
        krate,
        variants,
    } = &model;
    let private = quote!(#krate::__private);
    let count = variants.len();
    let indexes = variants
        .iter()
        .enumerate()
        .map(|(i, (v, _))| quote!(Self::#v => #i));
    let from_indexes = variants
        .iter()
        .enumerate()
        .map(|(i, (v, _))| quote!(#i => #private::Some(Self::#v)));
    let texts = variants.iter().map(|(v, text)| quote!(Self::#v => #text));
    quote! {
        #[automatically_derived]
        #[allow(unused_qualifications, clippy::all)]
        impl #krate::LabelValue for #ident {
            const CARDINALITY: #private::Option<usize> = #private::Some(#count);

            fn index(&self) -> usize {
                match *self { #(#indexes,)* }
            }

            fn from_index(index: usize) -> #private::Option<Self> {
                match index {
                    #(#from_indexes,)*
                    _ => #private::None,
                }
            }

            fn encode(&self, out: &mut #krate::LabelValueEncoder<'_>) {
                out.write_str(match *self { #(#texts,)* });
            }
        }
    }
}

/// `value` as a constant expression of `duration_type`, a path to `core::time::Duration`.
fn duration(duration_type: &TokenStream, value: std::time::Duration) -> TokenStream {
    let (seconds, nanos) = (value.as_secs(), value.subsec_nanos());
    quote!(#duration_type::new(#seconds, #nanos))
}
