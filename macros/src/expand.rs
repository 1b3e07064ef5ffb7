//! The expansion: the `async fn` becomes a `#[test]` that runs it through
//! `looptime_api::testing::run_test` on the adapter's runtime.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn};

use crate::Adapter;
use crate::args::{Args, Errors};

/// Expands the attribute, or reports every mistake found as a compile error.
pub(crate) fn expand(adapter: Adapter, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = Args::parse(adapter, args).map_err(|e| errors.push(e)).ok();
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            errors.push(syn::Error::new(
                error.span(),
                format!("`#[{}]` goes on an `async fn`", adapter.attribute()),
            ));
            let errors = errors.finish().unwrap_err().to_compile_error();
            return quote!(#errors #item);
        }
    };
    check_function(adapter, &function, &mut errors);
    match (errors.finish(), args) {
        (Ok(()), Some(args)) => generate(adapter, &args, function),
        (result, _) => {
            let errors = result
                .err()
                .map(|e| e.to_compile_error())
                .unwrap_or_default();
            // The function as written, so that its uses do not add errors of their own.
            quote!(#errors #[allow(dead_code)] #function)
        }
    }
}

/// What the attribute accepts: a plain `async fn` with at most one argument, not
/// already a test.
fn check_function(adapter: Adapter, function: &ItemFn, errors: &mut Errors) {
    let sig = &function.sig;
    let attribute = adapter.attribute();
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            format!("`#[{attribute}]` needs an `async fn`: add `async` before `fn`"),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            format!("a `#[{attribute}]` function cannot be generic"),
        ));
    }
    for (index, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                receiver,
                format!("a `#[{attribute}]` function cannot take `self`"),
            )),
            FnArg::Typed(_) if index >= 1 => errors.push(syn::Error::new_spanned(
                input,
                format!(
                    "a `#[{attribute}]` function takes at most one argument: the test handle \
                     (`lt: looptime_api::testing::TestHandle`, or a `Proxy`)"
                ),
            )),
            FnArg::Typed(_) => {}
        }
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            format!("a `#[{attribute}]` function cannot be variadic"),
        ));
    }
    for attr in &function.attrs {
        let path = attr.path();
        if path.segments.last().is_some_and(|s| s.ident == "test") {
            errors.push(syn::Error::new_spanned(
                attr,
                format!(
                    "a second test attribute: `#[{attribute}]` already makes this function a \
                     `#[test]`; remove this one"
                ),
            ));
        }
    }
}

/// The `#[test]` function, with the user's `async fn` inside it.
fn generate(adapter: Adapter, args: &Args, function: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    let ident = &sig.ident;
    let output = &sig.output;
    let krate = Ident::new(adapter.crate_name(), Span::call_site());
    let private = quote!(::#krate::__private);
    let api = quote!(#private::looptime_api);
    let runtime = match adapter {
        Adapter::Tokio => {
            let (multi_thread, workers) = args.tokio_flavor();
            let workers = match workers {
                Some(n) => quote!(::core::option::Option::Some(#n)),
                None => quote!(::core::option::Option::None),
            };
            quote!(#private::runtime(#multi_thread, #workers))
        }
        _ => quote!(#private::runtime()),
    };
    let name = quote!(::core::concat!(
        ::core::module_path!(),
        "::",
        ::core::stringify!(#ident)
    ));
    let config = args.config(&api, name);
    let call_body = match sig.inputs.first() {
        Some(FnArg::Typed(arg)) => {
            let convert =
                quote_spanned!(arg.ty.span()=> ::core::convert::Into::into(__looptime_handle));
            quote!(|__looptime_handle| #ident(#convert))
        }
        _ => quote!(|_| #ident()),
    };
    // Spanned, path included, at the test's name: the scope's creation site, shown in leak
    // reports, is the test function's name.
    let krate_at_name = Ident::new(adapter.crate_name(), ident.span());
    let run = quote_spanned!(ident.span()=>
        ::#krate_at_name::__private::looptime_api::testing::run_test(#runtime, #config, #call_body)
    );
    let inner = quote!(#sig #block);
    let mut tokens = TokenStream::new();
    for attr in &attrs {
        attr.to_tokens(&mut tokens);
    }
    tokens.extend(quote! {
        #[::core::prelude::v1::test]
        #vis fn #ident() #output {
            #inner
            #run
        }
    });
    tokens
}
