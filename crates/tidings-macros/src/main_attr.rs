//! `#[tidings::main]`: a multi-threaded tokio runtime and `tracing` output around an
//! async `main`, like `#[tokio::main]` (a current-thread runtime and no log output when
//! the flags ask only for the AsyncAPI document).

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
            let __spec_only = ::tidings::__private::spec_only();
            // `--asyncapi` prints the document and exits: no log subscriber (its span
            // registry alone is 32 KB of heap) and no worker threads for that.
            if !__spec_only {
                ::tidings::init_tracing();
            }
            ::tidings::__private::link_brokers();
            let __builder = if __spec_only {
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
