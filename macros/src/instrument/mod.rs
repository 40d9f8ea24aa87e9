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

/// What an attribute on a method of an instrumented impl block is to promexport.
///
/// Only paths that name promexport count as ours: `promexport::instrument`, the `crate = path`
/// given to the block, and a bare `#[skip]` (no other common crate has a `skip` attribute). A
/// bare `#[instrument]` is as often tracing's as ours, so it is refused rather than guessed;
/// any other `instrument` (`tracing::instrument`) stays on the method, which is instrumented too.
enum MethodAttribute {
    Instrument,
    Skip,
    BareInstrument,
    Foreign,
}

fn method_attribute(attr: &syn::Attribute, krate: Option<&syn::Path>) -> MethodAttribute {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    let (last, parent) = match segments.split_last() {
        Some((last, parent)) => (last.as_str(), parent),
        None => return MethodAttribute::Foreign,
    };
    let ours = match krate {
        Some(krate) => {
            let krate: Vec<String> = krate.segments.iter().map(|s| s.ident.to_string()).collect();
            parent == krate.as_slice() || parent == ["promexport"]
        }
        None => parent == ["promexport"],
    };
    match (last, ours, parent.is_empty()) {
        ("instrument", true, _) => MethodAttribute::Instrument,
        ("skip", true, _) | ("skip", _, true) => MethodAttribute::Skip,
        ("instrument", _, true) => MethodAttribute::BareInstrument,
        _ => MethodAttribute::Foreign,
    }
}

fn instrument_impl(args: &Args, mut block: ItemImpl) -> TokenStream {
    if let Some(function) = &args.function {
        let error = syn::Error::new_spanned(
            function,
            "`function` names one function, and an impl block labels each method `Type::method`: give `#[promexport::instrument(function = \"...\")]` to a method instead",
        );
        return with_error(block.into_token_stream(), error);
    }
    let self_type = type_label(&block.self_ty);
    let type_name = match &block.trait_ {
        Some((path, _)) => format!("<{self_type} as {}>", path_label(path)),
        None => self_type,
    };
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else {
            continue;
        };
        let mut skipped = false;
        let mut own_attribute = false;
        let mut errors = TokenStream::new();
        method.attrs.retain(|attr| {
            match method_attribute(attr, args.krate.as_ref()) {
                MethodAttribute::Skip => {
                    skipped = true;
                    return false;
                }
                MethodAttribute::Instrument => own_attribute = true,
                MethodAttribute::BareInstrument => errors.extend(
                    syn::Error::new_spanned(
                        attr.path(),
                        "a bare `#[instrument]` in a `#[promexport::instrument]` impl block may be tracing's or promexport's: write `#[tracing::instrument]` (the method is still counted) or `#[promexport::instrument(...)]` (options for this method)",
                    )
                    .to_compile_error(),
                ),
                MethodAttribute::Foreign => {}
            }
            true
        });
        if !errors.is_empty() {
            // First, so the error does not come after the body's tail expression.
            let error = syn::Stmt::Item(syn::Item::Verbatim(errors));
            method.block.stmts.insert(0, error);
            continue;
        }
        let label = format!("{type_name}::{}", expand::unraw(&method.sig.ident));
        if own_attribute {
            // The method's own attribute cannot see the impl's type: it is told the label.
            for attr in &mut method.attrs {
                if let MethodAttribute::Instrument = method_attribute(attr, args.krate.as_ref()) {
                    with_default_function(attr, &label);
                }
            }
        }
        if skipped || own_attribute {
            continue;
        }
        // Moved out rather than cloned: syn's `Clone` impls are a feature of their own.
        let function = match std::mem::replace(item, ImplItem::Verbatim(TokenStream::new())) {
            ImplItem::Fn(method) => syn::ItemFn {
                attrs: method.attrs,
                vis: method.vis,
                modifiers: method.modifiers,
                sig: method.sig,
                block: Box::new(method.block),
            },
            other => {
                *item = other;
                continue;
            }
        };
        // A method that cannot be instrumented keeps its error to itself; the others expand.
        *item = ImplItem::Verbatim(expand::function(args, function, Some(label)));
    }
    block.into_token_stream()
}

/// Adds `function = "<label>"` to a method's own `#[promexport::instrument(...)]` unless it
/// names the function itself (or does not parse, which its own expansion reports).
fn with_default_function(attr: &mut syn::Attribute, label: &str) {
    use syn::punctuated::Punctuated;
    let tokens = match &attr.meta {
        syn::Meta::Path(_) => TokenStream::new(),
        syn::Meta::List(list) => {
            let parser = Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated;
            let Ok(options) = list.parse_args_with(parser) else {
                return;
            };
            if options
                .iter()
                .any(|option| option.path().is_ident("function"))
            {
                return;
            }
            let mut tokens = list.tokens.clone();
            if !options.empty_or_trailing() {
                tokens.extend(quote::quote!(,));
            }
            tokens
        }
        syn::Meta::NameValue(_) => return,
    };
    let path = attr.path().to_token_stream();
    attr.meta = syn::parse_quote!(#path(#tokens function = #label));
}

/// A type as the `function` label shows it: the last segment of a path with its generic
/// arguments (`Foo<u8>`, not `crate::a::Foo<u8>`), so that two impls of one module differ.
fn type_label(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => path_label(&path.path),
        other => tokens_label(other.to_token_stream()),
    }
}

fn path_label(path: &syn::Path) -> String {
    match path.segments.last() {
        Some(segment) => tokens_label(segment.to_token_stream()),
        None => tokens_label(path.to_token_stream()),
    }
}

/// Tokens as compact text: `Vec<&'a str>`, `Handler<Ping>`, `dyn Fn(u8) -> u8`.
fn tokens_label(tokens: TokenStream) -> String {
    use proc_macro2::{Delimiter, TokenTree};
    fn push(out: &mut String, tokens: TokenStream) {
        // Whether the last token was a word (an identifier or a literal), which needs a space
        // before the next word.
        let mut word = false;
        for token in tokens {
            match token {
                TokenTree::Ident(ident) => {
                    if word {
                        out.push(' ');
                    }
                    out.push_str(&ident.to_string());
                    word = true;
                }
                TokenTree::Literal(literal) => {
                    if word {
                        out.push(' ');
                    }
                    out.push_str(&literal.to_string());
                    word = true;
                }
                TokenTree::Punct(punct) => {
                    let c = punct.as_char();
                    let joint = punct.spacing() == proc_macro2::Spacing::Joint;
                    match c {
                        ',' | ';' => out.push_str(&format!("{c} ")),
                        '+' | '=' => out.push_str(&format!(" {c} ")),
                        '-' if joint => out.push_str(" -"),
                        '>' if out.ends_with(" -") => out.push_str("> "),
                        _ => out.push(c),
                    }
                    // The `a` of a lifetime `'a` follows its quote without a space.
                    word = false;
                }
                TokenTree::Group(group) => {
                    // `Fn(u8)` and `Vec<u8>` are tight, `&mut [u8]` and `&mut (A, B)` are not.
                    let after_keyword = ["mut", "const", "dyn", "impl"]
                        .iter()
                        .any(|keyword| out.ends_with(keyword));
                    if word && (after_keyword || group.delimiter() == Delimiter::Bracket) {
                        out.push(' ');
                    }
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::None => ("", ""),
                    };
                    out.push_str(open);
                    push(out, group.stream());
                    out.push_str(close);
                    word = false;
                }
            }
        }
    }
    let mut out = String::new();
    push(&mut out, tokens);
    out.replace("  ", " ").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::{tokens_label, type_label};
    use quote::quote;

    #[test]
    fn types_read_as_written() {
        let label = |ty: syn::Type| type_label(&ty);
        assert_eq!(label(syn::parse_quote!(crate::a::Foo<u8>)), "Foo<u8>");
        assert_eq!(label(syn::parse_quote!(Foo)), "Foo");
        assert_eq!(label(syn::parse_quote!(&'a mut [u8; 4])), "&'a mut [u8; 4]");
        assert_eq!(
            label(syn::parse_quote!(Box<dyn Fn(u8) -> u8 + Send>)),
            "Box<dyn Fn(u8) -> u8 + Send>"
        );
        assert_eq!(
            tokens_label(quote!(Iterator<Item = (u8, u16)>)),
            "Iterator<Item = (u8, u16)>"
        );
    }
}
