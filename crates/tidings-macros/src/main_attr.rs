//! `#[tidings::main]`, in two forms:
//!
//! - on an `async fn main`: a multi-threaded tokio runtime and `tracing` output around it,
//!   like `#[tokio::main]` (a current-thread runtime and no log output when the flags ask
//!   only for the AsyncAPI document);
//! - on a `fn main() -> tidings::App` that describes the service: tidings runs the app it
//!   returns, and answers `--asyncapi` from it before starting any runtime (the service
//!   described without running it, as FastStream's `app` object or RustStream's
//!   `#[app] fn`).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

pub fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let func: ItemFn = syn::parse2(item)?;
    // With the error, an empty function of the same name: the crate still has its `main`,
    // so the error is the only one.
    check(args, &func).map(|()| expand_checked(&func)).or_else(|e| {
        let error = e.to_compile_error();
        let ident = &func.sig.ident;
        Ok(quote!(#error fn #ident() {}))
    })
}

fn check(args: TokenStream, func: &ItemFn) -> syn::Result<()> {
    if !args.is_empty() {
        return Err(syn::Error::new_spanned(args, "#[tidings::main] takes no arguments"));
    }
    if !func.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(&func.sig.inputs, "`main` takes no arguments"));
    }
    if !func.sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&func.sig.generics, "`main` takes no generic parameters"));
    }
    if func.sig.asyncness.is_none() && matches!(func.sig.output, ReturnType::Default) {
        return Err(syn::Error::new_spanned(
            func.sig.fn_token,
            "#[tidings::main] goes on an `async fn main`, or on a `fn main() -> tidings::App` that describes the service",
        ));
    }
    Ok(())
}

fn expand_checked(func: &ItemFn) -> TokenStream {
    match &func.sig.output {
        ReturnType::Type(_, ty) if func.sig.asyncness.is_none() => app_main(func, ty),
        _ => async_main(func),
    }
}

/// The runtime: multi-threaded, or current-thread when the process only prints the
/// document (it has no use for worker threads).
fn runtime(spec_only: &TokenStream) -> TokenStream {
    quote! {
        let __builder = if #spec_only {
            ::tidings::__private::tokio::runtime::Builder::new_current_thread()
        } else {
            ::tidings::__private::tokio::runtime::Builder::new_multi_thread()
        };
        let __runtime = match { __builder }.enable_all().build() {
            ::core::result::Result::Ok(rt) => rt,
            ::core::result::Result::Err(e) => {
                ::std::eprintln!("error: cannot start the tokio runtime: {e}");
                ::std::process::exit(1);
            }
        };
    }
}

fn async_main(func: &ItemFn) -> TokenStream {
    let attrs = &func.attrs;
    let vis = &func.vis;
    let ident = &func.sig.ident;
    let output = &func.sig.output;
    let body = &func.block;
    let runtime = runtime(&quote!(__spec_only));
    quote! {
        #(#attrs)*
        #vis fn #ident() #output {
            let __spec_only = ::tidings::__private::spec_only();
            // `--asyncapi` prints the document and exits: no log subscriber (its span
            // registry alone is 32 KB of heap) and no worker threads for that.
            if !__spec_only {
                ::tidings::init_tracing();
            }
            ::tidings::__private::link_brokers();
            #runtime
            __runtime.block_on(async move #body)
        }
    }
}

fn app_main(func: &ItemFn, ty: &syn::Type) -> TokenStream {
    let attrs = &func.attrs;
    let vis = &func.vis;
    let ident = &func.sig.ident;
    let body = &func.block;
    // The function returns `App` whatever type it names: another type is one error, on
    // the value it returns, "expected `App`" because of that type.
    let app = quote_spanned!(ty.span()=> ::tidings::App);
    let runtime = runtime(&quote!(false));
    quote! {
        #(#attrs)*
        #vis fn #ident() -> ::core::result::Result<(), ::tidings::Error> {
            fn __tidings_app() -> #app #body
            // The document needs no runtime: answered before one starts (its drivers and
            // code were a third of such a process's heap).
            let __described: ::core::option::Option<::tidings::App> = if ::tidings::__private::spec_only() {
                let mut __app = __tidings_app();
                ::tidings::__private::answer_spec(&mut __app)?;
                ::core::option::Option::Some(__app)
            } else {
                ::core::option::Option::None
            };
            ::tidings::init_tracing();
            ::tidings::__private::link_brokers();
            #runtime
            // Described inside the runtime otherwise, so that code in it may use tokio.
            __runtime.block_on(async move {
                let __app = match __described {
                    ::core::option::Option::Some(app) => app,
                    ::core::option::Option::None => __tidings_app(),
                };
                __app.run().await
            })
        }
    }
}
