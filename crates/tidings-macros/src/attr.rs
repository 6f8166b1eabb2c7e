//! Parsing of `key = value` attribute arguments, shared by every macro: each key may
//! appear once, and an unknown key is an error on that key listing the known ones.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Ident, LitInt, LitStr};

/// Collects `key = value` pairs, rejecting repeats and unknown keys.
pub struct Args {
    known: &'static [&'static str],
    seen: Vec<Ident>,
}

impl Args {
    pub fn new(known: &'static [&'static str]) -> Self {
        Args { known, seen: Vec::new() }
    }

    /// The key of `meta`, checked: known and not seen before.
    pub fn key(&mut self, meta: &ParseNestedMeta) -> syn::Result<String> {
        let ident = meta.path.get_ident().ok_or_else(|| meta.error("expected a key such as `channel = \"...\"`"))?;
        let key = ident.to_string();
        if !self.known.contains(&key.as_str()) {
            return Err(syn::Error::new_spanned(
                ident,
                format!("unknown key `{key}`; expected one of: {}", self.known.join(", ")),
            ));
        }
        if self.seen.iter().any(|s| *s == key) {
            return Err(syn::Error::new_spanned(ident, format!("`{key}` is given twice")));
        }
        self.seen.push(ident.clone());
        Ok(key)
    }
}

/// `= "text"`.
pub fn string(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    meta.value()?.parse::<LitStr>()
}

/// `= 12`, as a u64 within `min..=max`.
pub fn number(meta: &ParseNestedMeta, min: u64, max: u64) -> syn::Result<(u64, Span)> {
    let lit: LitInt = meta.value()?.parse()?;
    let n: u64 = lit.base10_parse()?;
    if n < min || n > max {
        return Err(syn::Error::new_spanned(&lit, format!("expected a number from {min} to {max}")));
    }
    Ok((n, lit.span()))
}

/// A non-empty string literal, trimmed of nothing: channels and names are taken as written.
pub fn non_empty(lit: LitStr, what: &str) -> syn::Result<LitStr> {
    if lit.value().trim().is_empty() {
        return Err(syn::Error::new_spanned(&lit, format!("{what} must not be empty")));
    }
    Ok(lit)
}

/// The doc comment of an item, lines joined, common leading space removed.
pub fn doc_of(attrs: &[syn::Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value {
                // An empty `///` line is a paragraph break: keep it.
                lines.extend(s.value().split('\n').map(str::to_owned));
            }
        }
    }
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let text: Vec<&str> = lines.iter().map(|l| l.get(indent..).unwrap_or("").trim_end()).collect();
    let text = text.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// `Some("...")` or `None` tokens for an optional string.
pub fn opt_str(s: &Option<String>) -> proc_macro2::TokenStream {
    match s {
        Some(s) => quote::quote!(::core::option::Option::Some(#s)),
        None => quote::quote!(::core::option::Option::None),
    }
}
