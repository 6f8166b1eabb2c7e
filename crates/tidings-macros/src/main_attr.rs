//! `#[tidings::main]`: a multi-threaded tokio runtime and `tracing` output around an
//! async `main`, like `#[tokio::main]` (a current-thread runtime when the flags ask only
//! for the AsyncAPI document).

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

pub fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !args.is_empty() {
        return Err(syn::Error::new_spanned(args, "#[tidings::main] takes no arguments"));
    }
    let func: ItemFn = syn::parse2(item)?;
    if func.sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(func.sig.fn_token, "#[tidings::main] goes on an `async fn main`"));
    }
    if !func.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(&func.sig.inputs, "`main` takes no arguments"));
    }
    let attrs = &func.attrs;
    let vis = &func.vis;
    let ident = &func.sig.ident;
    let output = &func.sig.output;
    let body = &func.block;
    Ok(quote! {
        #(#attrs)*
        #vis fn #ident() #output {
            ::tidings::init_tracing();
            ::tidings::__private::link_brokers();
            // `--asyncapi` prints the document and exits: no worker threads for that.
            let __builder = if ::tidings::__private::spec_only() {
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
            __runtime.block_on(async move #body)
        }
    })
}
