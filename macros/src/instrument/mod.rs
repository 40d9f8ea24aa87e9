//! `#[promexport::instrument]`: records calls, errors, latency and in-flight calls of a function,
//! of every method of an impl block, or of an `async fn`.

mod args;
mod expand;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{ImplItem, Item, ItemImpl};

pub(crate) use args::Args;

pub(crate) fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = match syn::parse::Parser::parse2(args::parser, args) {
        Ok(args) => args,
        // Keep the item, so the rest of the crate still compiles (and IDEs keep working).
        Err(error) => return with_error(item, error),
    };
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => expand::function(&args, function, None),
        Ok(Item::Impl(block)) => instrument_impl(&args, block),
        Ok(other) => with_error(
            item,
            syn::Error::new_spanned(
                kind_token(&other),
                "`#[promexport::instrument]` goes on a function, a method or an impl block",
            ),
        ),
        // The item does not parse: give it back untouched, and rustc reports its syntax errors.
        Err(_) => item,
    }
}

fn with_error(item: TokenStream, error: syn::Error) -> TokenStream {
    let mut tokens = item;
    tokens.extend(error.to_compile_error());
    tokens
}

/// The token naming what the item is (`struct`, `const`, ...), for the error's span.
fn kind_token(item: &Item) -> TokenStream {
    match item {
        Item::Struct(s) => s.struct_token.to_token_stream(),
        Item::Enum(e) => e.enum_token.to_token_stream(),
        Item::Const(c) => c.const_token.to_token_stream(),
        Item::Static(s) => s.static_token.to_token_stream(),
        Item::Trait(t) => t.trait_token.to_token_stream(),
        Item::Mod(m) => m.mod_token.to_token_stream(),
        Item::Type(t) => t.type_token.to_token_stream(),
        other => other.to_token_stream(),
    }
}

/// Whether `attr` is `#[skip]`/`#[promexport::skip]` (or `#[instrument]`, which the method
/// handles itself).
fn is_attribute(attr: &syn::Attribute, name: &str) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == name)
}

fn instrument_impl(args: &Args, mut block: ItemImpl) -> TokenStream {
    let type_name = match &*block.self_ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else {
            continue;
        };
        let skipped = method.attrs.iter().any(|a| is_attribute(a, "skip"));
        method.attrs.retain(|a| !is_attribute(a, "skip"));
        if skipped || method.attrs.iter().any(|a| is_attribute(a, "instrument")) {
            continue;
        }
        let function = syn::ItemFn {
            attrs: std::mem::take(&mut method.attrs),
            vis: method.vis.clone(),
            modifiers: method.modifiers.clone(),
            sig: method.sig.clone(),
            block: Box::new(method.block.clone()),
        };
        let label = type_name
            .as_ref()
            .map(|ty| format!("{ty}::{}", expand::unraw(&method.sig.ident)));
        // A method that cannot be instrumented keeps its error to itself; the others expand.
        *item = ImplItem::Verbatim(expand::function(args, function, label));
    }
    block.into_token_stream()
}
