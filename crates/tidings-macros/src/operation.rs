//! `#[consumer]` and `#[producer]`: parse -> check -> expand into the registry
//! declarations that `inventory` collects.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, FnArg, Ident, ItemFn, LitStr, ReturnType, Token, Type, Visibility};

use crate::attr::{self, Args};

/// Arguments of `#[consumer(...)]`.
struct ConsumerArgs {
    channel: LitStr,
    group: Option<LitStr>,
    id: Option<LitStr>,
    concurrency: Option<u64>,
    max_attempts: Option<u64>,
}

/// Arguments of `#[producer(...)]`.
struct ProducerArgs {
    channel: LitStr,
    id: Option<LitStr>,
    key: Option<KeyArg>,
}

/// Where a producer's message key comes from.
enum KeyArg {
    /// `key = order_id`: a field of the message.
    Field(Ident),
    /// `key_with = path::to::fn`: a function taking `&Message`.
    With(syn::Path),
}

impl KeyArg {
    /// The registry's `KeyDecl`.
    fn decl(&self) -> TokenStream {
        match self {
            KeyArg::Field(field) => {
                let name = field.to_string();
                quote!(::core::option::Option::Some(::tidings::__private::KeyDecl::Field(#name)))
            }
            KeyArg::With(path) => {
                let name = path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::");
                quote!(::core::option::Option::Some(::tidings::__private::KeyDecl::Extractor(#name)))
            }
        }
    }

    /// A function `name(&message) -> Option<Bytes>` computing the key; errors (no such
    /// field, not a key type, a function of another type) point at the user's tokens.
    fn function(&self, name: &Ident, message: &TokenStream) -> TokenStream {
        let value = Ident::new("__message", Span::call_site());
        // The whole expression on the user's token (the argument too), so an error
        // points at the field or function, not at the attribute.
        let body = match self {
            KeyArg::Field(field) => {
                let arg = Ident::new("__message", field.span());
                quote_spanned! {field.span()=> ::tidings::__private::as_key(&#arg.#field) }
            }
            KeyArg::With(path) => {
                let arg = Ident::new("__message", path.span());
                quote_spanned! {path.span()=> ::tidings::__private::as_key(&#path(#arg)) }
            }
        };
        quote! {
            #[doc(hidden)]
            #[allow(non_snake_case)]
            fn #name(#value: &#message) -> ::core::option::Option<::tidings::__private::Bytes> {
                #body
            }
        }
    }
}

fn parse_consumer_args(tokens: TokenStream, span: Span) -> syn::Result<ConsumerArgs> {
    let (mut channel, mut group, mut id, mut concurrency, mut max_attempts) = (None, None, None, None, None);
    let mut args = Args::new(&["channel", "group", "id", "concurrency", "max_attempts"]);
    let parser = syn::meta::parser(|meta| {
        match args.key(&meta)?.as_str() {
            "channel" => channel = Some(check_channel(attr::string(&meta)?)?),
            "group" => group = Some(attr::non_empty(attr::string(&meta)?, "a consumer group")?),
            "id" => id = Some(check_id(attr::string(&meta)?)?),
            "concurrency" => concurrency = Some(attr::number(&meta, 1, 4096)?.0),
            "max_attempts" => max_attempts = Some(attr::number(&meta, 1, 1000)?.0),
            _ => unreachable!("Args::key only returns known keys"),
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, tokens)?;
    let channel = channel.ok_or_else(|| syn::Error::new(span, "missing `channel = \"...\"`: the channel this consumer reads"))?;
    Ok(ConsumerArgs { channel, group, id, concurrency, max_attempts })
}

fn parse_producer_args(tokens: TokenStream, span: Span) -> syn::Result<ProducerArgs> {
    let (mut channel, mut id, mut key) = (None, None, None);
    let mut args = Args::new(&["channel", "id", "key", "key_with"]);
    let parser = syn::meta::parser(|meta| {
        let name = args.key(&meta)?;
        match name.as_str() {
            "channel" => channel = Some(check_channel(attr::string(&meta)?)?),
            "id" => id = Some(check_id(attr::string(&meta)?)?),
            "key" | "key_with" => {
                if key.is_some() {
                    return Err(meta.error("give one key: `key = field` or `key_with = path::to::fn`, not both"));
                }
                key = Some(parse_key(&meta, name == "key_with")?);
            }
            _ => unreachable!("Args::key only returns known keys"),
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, tokens)?;
    let channel = channel.ok_or_else(|| syn::Error::new(span, "missing `channel = \"...\"`: the channel this producer writes"))?;
    Ok(ProducerArgs { channel, id, key })
}

/// `key = field` or `key_with = path::to::fn`.
fn parse_key(meta: &syn::meta::ParseNestedMeta, with: bool) -> syn::Result<KeyArg> {
    let value = meta.value()?;
    if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        let hint = if with {
            format!("name the function without quotes: `key_with = {}`", lit.value())
        } else {
            format!("name the field without quotes: `key = {}`", lit.value())
        };
        return Err(syn::Error::new_spanned(&lit, hint));
    }
    if with {
        let path: syn::Path = value.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected the path of a function taking `&Message`: `key_with = path::to::fn`")
        })?;
        return Ok(KeyArg::With(path));
    }
    let field: Ident = value.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected the name of the message field holding the key: `key = order_id` (or `key_with = path::to::fn`)",
        )
    })?;
    Ok(KeyArg::Field(field))
}

/// Channel addresses: non-empty, balanced `{param}` braces with plain names.
fn check_channel(lit: LitStr) -> syn::Result<LitStr> {
    let lit = attr::non_empty(lit, "a channel")?;
    let value = lit.value();
    let mut rest = value.as_str();
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(syn::Error::new_spanned(&lit, "`}` without `{` in the channel address"));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| syn::Error::new_spanned(&lit, "`{` without `}` in the channel address"))?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
            return Err(syn::Error::new_spanned(&lit, format!("bad channel parameter `{{{name}}}`: use letters, digits, `_` or `-`")));
        }
        rest = &after[close + 1..];
    }
    Ok(lit)
}

fn check_id(lit: LitStr) -> syn::Result<LitStr> {
    let lit = attr::non_empty(lit, "an operation id")?;
    if !lit.value().chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err(syn::Error::new_spanned(&lit, "an operation id may hold letters, digits, `_`, `-` and `.` only"));
    }
    Ok(lit)
}

/// True for `#[producer(...)]` or `#[tidings::producer(...)]`.
fn is_attr(attr: &Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}

fn attr_args(attr: &Attribute) -> syn::Result<TokenStream> {
    match &attr.meta {
        syn::Meta::List(list) => Ok(list.tokens.clone()),
        other => Err(syn::Error::new_spanned(other, "expected arguments: `(channel = \"...\")`")),
    }
}

/// `#[consumer]` on an async fn.
pub fn consumer(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = parse_consumer_args(args, Span::call_site())?;
    let mut func: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(e.span(), "#[tidings::consumer] goes on an `async fn` whose first argument is the message")
    })?;
    // A stacked #[producer] below this attribute: the handler's return value is published.
    let mut reply = None;
    let mut kept = Vec::new();
    for a in func.attrs.drain(..) {
        if is_attr(&a, "producer") {
            if reply.is_some() {
                return Err(syn::Error::new_spanned(&a, "a consumer publishes to one channel: only one #[producer]"));
            }
            reply = Some(parse_producer_args(attr_args(&a)?, a.span())?);
        } else if is_attr(&a, "consumer") {
            return Err(syn::Error::new_spanned(&a, "one function is one consumer: only one #[consumer]"));
        } else {
            kept.push(a);
        }
    }
    func.attrs = kept;
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new_spanned(sig.fn_token, "a consumer must be an `async fn`"));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&sig.generics, "a consumer cannot be generic: its message type is its contract"));
    }
    let mut types = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => {
                return Err(syn::Error::new_spanned(r, "a consumer is a free function, not a method"));
            }
            FnArg::Typed(t) => types.push((*t.ty).clone()),
        }
    }
    let Some((message_ty, extractor_tys)) = types.split_first() else {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            "a consumer takes the message as its first argument, e.g. `async fn handle(order: OrderCreated)`",
        ));
    };
    let ident = &sig.ident;
    let ret_ty: Type = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    let ret_span = match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let id = args.id.map(|l| l.value()).unwrap_or_else(|| ident.to_string());
    let channel = args.channel.value();
    let group = attr::opt_str(&args.group.map(|l| l.value()));
    let doc = attr::opt_str(&attr::doc_of(&func.attrs));
    let concurrency = args.concurrency.unwrap_or(0) as usize;
    let retry = match args.max_attempts {
        Some(n) => {
            let n = n as u32;
            quote!(::tidings::__private::RetryPolicy { max_attempts: #n, ..::tidings::__private::RetryPolicy::DEFAULT })
        }
        None => quote!(::tidings::__private::RetryPolicy::DEFAULT),
    };
    let source = format!("::{ident}");

    let assert_message = quote_spanned! {message_ty.span()=>
        ::tidings::__private::assert_message::<#message_ty>();
    };
    let extractor_names: Vec<Ident> = (0..extractor_tys.len()).map(|i| Ident::new(&format!("__arg{i}"), Span::call_site())).collect();
    let extract = extractor_tys.iter().zip(&extractor_names).map(|(ty, name)| {
        quote_spanned! {ty.span()=>
            let #name = <#ty as ::tidings::FromDelivery>::from_delivery(&__ctx)?;
        }
    });
    let reply_key = Ident::new(&format!("__tidings_reply_key_{ident}"), ident.span());
    let reply_ty = quote!(<#ret_ty as ::tidings::HandlerOutput>::Reply);
    let (key_fn, key_arg) = match reply.as_ref().and_then(|p| p.key.as_ref()) {
        Some(key) => (
            key.function(&reply_key, &reply_ty),
            quote!(::core::option::Option::Some(#reply_key as ::tidings::__private::KeyFn<#reply_ty>)),
        ),
        None => (quote!(), quote!(::core::option::Option::None)),
    };
    let (reply_decl, assert_reply) = match &reply {
        Some(p) => {
            let rid = p.id.as_ref().map(|l| l.value()).unwrap_or_else(|| format!("{id}_reply"));
            let rchannel = p.channel.value();
            let rkey = p.key.as_ref().map_or_else(|| quote!(::core::option::Option::None), KeyArg::decl);
            (
                quote! {
                    ::core::option::Option::Some(::tidings::__private::ReplyDecl {
                        id: #rid,
                        channel: #rchannel,
                        message: <<#ret_ty as ::tidings::HandlerOutput>::Reply as ::tidings::__private::PublishesMessage>::describe_reply,
                        key: #rkey,
                    })
                },
                quote_spanned! {ret_span=>
                    ::tidings::__private::assert_publishes_message::<<#ret_ty as ::tidings::HandlerOutput>::Reply>();
                },
            )
        }
        None => (
            quote!(::core::option::Option::None),
            quote_spanned! {ret_span=>
                ::tidings::__private::assert_publishes_nothing::<<#ret_ty as ::tidings::HandlerOutput>::Reply>();
            },
        ),
    };
    let handler = Ident::new(&format!("__tidings_handler_{ident}"), ident.span());
    Ok(quote! {
        #func

        #[doc(hidden)]
        #[allow(non_snake_case)]
        async fn #handler(__ctx: ::tidings::Context) -> ::tidings::__private::HandlerResult {
            let __message = ::tidings::__private::decode::<#message_ty>(&__ctx)?;
            #(#extract)*
            let __output = #ident(__message #(, #extractor_names)*).await;
            ::tidings::HandlerOutput::into_outgoing(__output, &__ctx, #key_arg)
                .map(|__reply| __reply.map(::std::boxed::Box::new))
        }

        #key_fn

        const _: () = {
            #assert_message
            #assert_reply
        };

        ::tidings::__private::inventory::submit! {
            ::tidings::__private::ConsumerDecl {
                id: #id,
                channel: #channel,
                group: #group,
                message: <#message_ty as ::tidings::Message>::describe,
                reply: #reply_decl,
                doc: #doc,
                source: ::core::concat!(::core::module_path!(), #source),
                concurrency: #concurrency,
                retry: #retry,
                worker: |__worker| ::tidings::__private::run_worker(__worker, #handler),
            }
        }
    })
}

/// `static NAME: Producer<T>;` — a static without a value, which the macro gives one.
struct ProducerStatic {
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    ty: Type,
}

impl Parse for ProducerStatic {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![static]>()?;
        if input.peek(Token![mut]) {
            return Err(input.error("a producer is immutable: remove `mut`"));
        }
        let ident: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty: Type = input.parse()?;
        if input.peek(Token![=]) {
            return Err(input.error("leave the value out: `static NAME: Producer<T>;` (the attribute creates it)"));
        }
        input.parse::<Token![;]>()?;
        Ok(ProducerStatic { attrs, vis, ident, ty })
    }
}

/// The `T` of `Producer<T>`.
fn producer_message(ty: &Type) -> syn::Result<Type> {
    let err = || syn::Error::new_spanned(ty, "expected `Producer<MessageType>`");
    let Type::Path(p) = ty else { return Err(err()) };
    let last = p.path.segments.last().ok_or_else(err)?;
    if last.ident != "Producer" {
        return Err(err());
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return Err(err()) };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [syn::GenericArgument::Type(t)] => Ok(t.clone()),
        _ => Err(err()),
    }
}

fn snake_case(ident: &Ident) -> String {
    ident.to_string().to_lowercase()
}

/// `#[producer]` on a static (a standalone producer) or on a consumer function (its
/// return value is published; the consumer attribute does the work).
pub fn producer(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if let Ok(mut func) = syn::parse2::<ItemFn>(item.clone()) {
        // Written above #[consumer]: move below it, so the consumer expands first and
        // takes this attribute as its reply.
        let pos = func.attrs.iter().position(|a| is_attr(a, "consumer")).ok_or_else(|| {
            syn::Error::new_spanned(
                &func.sig.ident,
                "#[tidings::producer] on a function needs #[tidings::consumer] too: the consumer's return value is what it publishes",
            )
        })?;
        let consumer = func.attrs.remove(pos);
        let path = consumer.path().clone();
        let producer_path: syn::Path = {
            let mut p = path.clone();
            if let Some(last) = p.segments.last_mut() {
                last.ident = Ident::new("producer", last.ident.span());
            }
            p
        };
        let c_args = attr_args(&consumer)?;
        return Ok(quote! {
            #[#path(#c_args)]
            #[#producer_path(#args)]
            #func
        });
    }
    let decl: ProducerStatic = syn::parse2(item)?;
    let args = parse_producer_args(args, Span::call_site())?;
    let message = producer_message(&decl.ty)?;
    let ProducerStatic { attrs, vis, ident, ty } = decl;
    let id = args.id.map(|l| l.value()).unwrap_or_else(|| snake_case(&ident));
    let channel = args.channel.value();
    let doc = attr::opt_str(&attr::doc_of(&attrs));
    let source = format!("::{ident}");
    let (init, key_fn) = match &args.key {
        Some(key) => {
            let name = Ident::new(&format!("__tidings_key_{ident}"), ident.span());
            let function = key.function(&name, &message.to_token_stream());
            (quote_spanned! {message.span()=> ::tidings::Producer::<#message>::keyed(#channel, #name) }, function)
        }
        None => (quote_spanned! {message.span()=> ::tidings::Producer::<#message>::new(#channel) }, quote!()),
    };
    let key_decl = args.key.as_ref().map_or_else(|| quote!(::core::option::Option::None), KeyArg::decl);
    let ty_tokens = ty.to_token_stream();
    Ok(quote! {
        #(#attrs)*
        #vis static #ident: #ty_tokens = #init;

        #key_fn

        ::tidings::__private::inventory::submit! {
            ::tidings::__private::ProducerDecl {
                id: #id,
                channel: #channel,
                message: <#message as ::tidings::Message>::describe,
                doc: #doc,
                source: ::core::concat!(::core::module_path!(), #source),
                key: #key_decl,
            }
        }
    })
}
