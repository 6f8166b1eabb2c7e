//! `#[derive(Message)]`: parse the `#[message(...)]` attribute -> check -> expand the
//! `tidings::Message` impl.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, LitStr, Path, Type};

use crate::attr::{self, Args};

struct MessageAttrs {
    name: Option<LitStr>,
    version: Option<LitStr>,
    kind: Option<TokenStream>,
    headers: Option<Type>,
    codec: Option<Path>,
    avro: Option<LitStr>,
}

const KEYS: &[&str] = &["name", "version", "kind", "headers", "codec", "avro"];

fn parse(input: &DeriveInput) -> syn::Result<MessageAttrs> {
    let mut out = MessageAttrs { name: None, version: None, kind: None, headers: None, codec: None, avro: None };
    let mut args = Args::new(KEYS);
    for a in input.attrs.iter().filter(|a| a.path().is_ident("message")) {
        a.parse_nested_meta(|meta| {
            match args.key(&meta)?.as_str() {
                "name" => {
                    let lit = attr::non_empty(attr::string(&meta)?, "a message name")?;
                    let ok = lit.value().chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                    if !ok {
                        return Err(syn::Error::new_spanned(
                            &lit,
                            "a message name may hold letters, digits, `_`, `-` and `.` only: it is a key in every document",
                        ));
                    }
                    out.name = Some(lit);
                }
                "version" => out.version = Some(attr::non_empty(attr::string(&meta)?, "a version")?),
                "kind" => {
                    let lit = attr::string(&meta)?;
                    out.kind = Some(match lit.value().as_str() {
                        "event" => quote!(::tidings::MessageKind::Event),
                        "command" => quote!(::tidings::MessageKind::Command),
                        "query" => quote!(::tidings::MessageKind::Query),
                        other => {
                            return Err(syn::Error::new_spanned(
                                &lit,
                                format!("unknown message kind `{other}`; expected \"event\", \"command\" or \"query\""),
                            ))
                        }
                    });
                }
                "headers" => out.headers = Some(meta.value()?.parse()?),
                "codec" => out.codec = Some(meta.value()?.parse()?),
                "avro" => out.avro = Some(attr::non_empty(attr::string(&meta)?, "an Avro schema path")?),
                _ => unreachable!("Args::key only returns known keys"),
            }
            Ok(())
        })?;
    }
    Ok(out)
}

pub fn expand(input: DeriveInput) -> syn::Result<TokenStream> {
    let attrs = parse(&input)?;
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "a Message cannot be generic: its name and schema must be one fixed contract",
        ));
    }
    let ident = &input.ident;
    let name = attrs.name.map(|l| l.value()).unwrap_or_else(|| ident.to_string());
    let version = attr::opt_str(&attrs.version.map(|l| l.value()));
    let description = attr::opt_str(&attr::doc_of(&input.attrs));
    let kind = attrs.kind.unwrap_or_else(|| quote!(::tidings::MessageKind::Event));
    // An Avro contract is checked here, at compile time, and brings its own codec and
    // payload schema.
    let avro = match (&attrs.avro, &attrs.codec) {
        (Some(_), Some(codec)) => {
            return Err(syn::Error::new_spanned(codec, "`avro` sets the codec (Avro in the Confluent wire format): drop `codec`"));
        }
        (Some(lit), None) => Some(avro_parts(&input, lit)?),
        (None, _) => None,
    };
    let codec = match (&avro, attrs.codec) {
        (Some(parts), _) => parts.codec.clone(),
        (None, Some(p)) => quote!(#p),
        (None, None) => quote!(::tidings::Json),
    };
    let (avro_impls, payload) = match avro {
        Some(parts) => (parts.impls, parts.payload),
        None => (TokenStream::new(), TokenStream::new()),
    };
    let headers = attrs.headers.map(|h| {
        quote! {
            fn headers_schema() -> ::core::option::Option<::tidings::__private::serde_json::Value> {
                ::core::option::Option::Some(::tidings::__private::schema_of::<#h>())
            }
        }
    });
    Ok(quote! {
        impl ::tidings::Message for #ident {
            const NAME: &'static str = #name;
            const VERSION: ::core::option::Option<&'static str> = #version;
            const KIND: ::tidings::MessageKind = #kind;
            const DESCRIPTION: ::core::option::Option<&'static str> = #description;
            type Codec = #codec;
            #headers
            #payload
        }
        #avro_impls
    })
}

#[cfg(feature = "avro")]
fn avro_parts(input: &DeriveInput, lit: &LitStr) -> syn::Result<crate::avro::MessageParts> {
    crate::avro::message(input, lit)
}

#[cfg(not(feature = "avro"))]
fn avro_parts(_: &DeriveInput, lit: &LitStr) -> syn::Result<AvroParts> {
    Err(syn::Error::new_spanned(lit, crate::AVRO_FEATURE_OFF))
}

/// Stands in for `avro::MessageParts` without the feature (never built).
#[cfg(not(feature = "avro"))]
struct AvroParts {
    impls: TokenStream,
    codec: TokenStream,
    payload: TokenStream,
}
