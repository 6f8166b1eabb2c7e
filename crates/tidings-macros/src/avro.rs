//! Avro contracts at compile time: `#[message(avro = "schemas/x.avsc")]` and
//! `#[derive(tidings::Avro)] #[avro(schema = "...", name = "...")]` read the schema
//! (path relative to the package's manifest directory), parse it with apache-avro, and
//! check the Rust type against it: field names (after serde renames), types, logical
//! types, optionality, arrays, maps, enums, nested records, missing and extra fields.
//! A mismatch is an error on the offending field (or on the type's name for what the
//! Rust type lacks) that says what the schema expects.
//!
//! A nested record or enum is another Rust type: this derive cannot see its fields, so
//! it emits a `const` assertion that the nested type is tied (by its own derive) to the
//! very named type the schema has at that field.

use std::path::{Path, PathBuf};

use apache_avro::schema::{Name, RecordSchema};
use apache_avro::Schema;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use tidings_avro_schema::{describe, rust_for};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, LitStr, PathArguments, Type};

use crate::attr::Args;

/// The parsed `.avsc` of one attribute.
struct Loaded {
    schema: Schema,
    /// Named types in definition order (for messages that list them).
    names: Vec<(String, Schema)>,
    /// The same by full name, for `Schema::Ref`.
    by_name: tidings_avro_schema::Names,
    /// Absolute path, for `include_str!` (so cargo rebuilds when the file changes).
    abs: String,
    /// As written, for messages.
    shown: String,
}

/// Resolves `lit` against the manifest directory of the package being compiled; when
/// the file is not there (trybuild compiles tests from a copy of the manifest in the
/// target directory), against the package that holds the source file.
fn locate(lit: &LitStr) -> syn::Result<PathBuf> {
    let rel = PathBuf::from(lit.value());
    if rel.is_absolute() {
        return Ok(rel);
    }
    let mut tried = Vec::new();
    if let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") {
        let p = Path::new(&dir).join(&rel);
        if p.is_file() {
            return Ok(p);
        }
        tried.push(p);
    }
    // `Span::local_file` is Rust 1.88: the `avro` feature needs that (the README says so);
    // without the feature, the macros keep the workspace's 1.85.
    #[allow(clippy::incompatible_msrv)]
    let local_file = lit.span().unwrap().local_file();
    if let Some(file) = local_file {
        let file = if file.is_absolute() {
            file
        } else {
            std::env::current_dir().map(|d| d.join(&file)).unwrap_or(file)
        };
        if let Some(package) = file.ancestors().skip(1).find(|d| d.join("Cargo.toml").is_file()) {
            let p = package.join(&rel);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(syn::Error::new_spanned(
        lit,
        format!("cannot find the Avro schema `{}` (paths are relative to the package's Cargo.toml)", lit.value()),
    ))
}

fn load(lit: &LitStr) -> syn::Result<Loaded> {
    let path = locate(lit)?;
    let shown = lit.value();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| syn::Error::new_spanned(lit, format!("cannot read the Avro schema `{shown}`: {e}")))?;
    // apache-avro panics on some invalid names: an error on the path, not a macro panic.
    let schema = tidings_avro_schema::parse(&text).map_err(|e| {
        let why = if e.starts_with("apache-avro could not parse it") {
            " (apache-avro could not parse it: an invalid name?)".to_owned()
        } else {
            format!(": {e}")
        };
        syn::Error::new_spanned(lit, format!("`{shown}` is not a valid Avro schema{why}"))
    })?;
    let names: Vec<(String, Schema)> =
        tidings_avro_schema::named_types(&schema).into_iter().map(|(n, s)| (n, s.clone())).collect();
    let by_name = names.iter().cloned().collect();
    Ok(Loaded { schema, names, by_name, abs: path.to_string_lossy().into_owned(), shown })
}

impl Loaded {
    fn resolve<'a>(&'a self, s: &'a Schema) -> &'a Schema {
        tidings_avro_schema::resolve(s, &self.by_name)
    }
}

/// What `#[message(avro = ...)]` adds: the `AvroType` impl and the checks (`impls`),
/// and the tokens of the codec type and payload function for the `Message` impl.
pub struct MessageParts {
    pub impls: TokenStream,
    pub codec: TokenStream,
    pub payload: TokenStream,
}

/// `#[message(avro = "...")]`: the type is the file's top-level record.
pub fn message(input: &DeriveInput, lit: &LitStr) -> syn::Result<MessageParts> {
    let loaded = load(lit)?;
    let Schema::Record(record) = &loaded.schema else {
        return Err(syn::Error::new_spanned(
            lit,
            format!("the top-level type of `{}` must be a record to be a message; it is {}", loaded.shown, describe(&loaded.schema)),
        ));
    };
    let ident = &input.ident;
    let fields = named_fields(input)?;
    let checks = check_record(input, fields, record, &loaded)?;
    let tie = tie(ident, &loaded, &record.name);
    Ok(MessageParts {
        impls: quote! { #tie #checks },
        codec: quote!(::tidings::avro::Avro<Self>),
        payload: quote! {
            fn payload_schema() -> ::tidings::__private::serde_json::Value {
                ::tidings::avro::__private::payload(<Self as ::tidings::avro::AvroType>::SCHEMA)
            }
        },
    })
}

/// `#[derive(tidings::Avro)] #[avro(schema = "...", name = "...")]` on a record
/// struct or an enum nested in a message.
pub fn derive(input: DeriveInput) -> syn::Result<TokenStream> {
    let (mut schema, mut name) = (None::<LitStr>, None::<LitStr>);
    let mut args = Args::new(&["schema", "name"]);
    for a in input.attrs.iter().filter(|a| a.path().is_ident("avro")) {
        a.parse_nested_meta(|meta| {
            match args.key(&meta)?.as_str() {
                "schema" => schema = Some(crate::attr::string(&meta)?),
                "name" => name = Some(crate::attr::string(&meta)?),
                _ => unreachable!("Args::key only returns known keys"),
            }
            Ok(())
        })?;
    }
    let ident = &input.ident;
    let Some(schema) = schema else {
        return Err(syn::Error::new_spanned(
            ident,
            "say which schema: #[avro(schema = \"schemas/....avsc\", name = \"RecordOrEnumName\")]",
        ));
    };
    let loaded = load(&schema)?;
    let wanted = name.as_ref().map_or_else(|| ident.to_string(), LitStr::value);
    let matching: Vec<&(String, Schema)> = loaded
        .names
        .iter()
        .filter(|(full, s)| *full == wanted || s.name().is_some_and(|n| n.name == wanted))
        .collect();
    let span_of_name = || name.as_ref().map_or_else(|| ident.to_token_stream(), ToTokens::to_token_stream);
    let found = match matching.as_slice() {
        [one] => one.1.clone(),
        [] => {
            let known: Vec<&str> = loaded.names.iter().map(|(n, _)| n.as_str()).collect();
            return Err(syn::Error::new_spanned(
                span_of_name(),
                format!("`{}` has no record or enum named `{wanted}`; it has: {}", loaded.shown, known.join(", ")),
            ));
        }
        _ => {
            return Err(syn::Error::new_spanned(
                span_of_name(),
                format!("`{wanted}` names several types in `{}`: give the full name", loaded.shown),
            ))
        }
    };
    match (&found, &input.data) {
        (Schema::Record(record), Data::Struct(_)) => {
            let checks = check_record(&input, named_fields(&input)?, record, &loaded)?;
            let tie = tie(ident, &loaded, &record.name);
            Ok(quote! { #tie #checks })
        }
        (Schema::Enum(e), Data::Enum(data)) => {
            check_enum(&input, data, e)?;
            Ok(tie(ident, &loaded, &e.name))
        }
        (found, _) => Err(syn::Error::new_spanned(
            ident,
            format!(
                "`{wanted}` is {} in `{}`: derive it on a {}",
                describe(found),
                loaded.shown,
                match found {
                    Schema::Enum(_) => "fieldless enum",
                    Schema::Record(_) => "struct with named fields",
                    _ => "struct or enum (fixed types are [u8; N] fields, not types)",
                }
            ),
        )),
    }
}

fn tie(ident: &syn::Ident, loaded: &Loaded, name: &Name) -> TokenStream {
    let (abs, full) = (&loaded.abs, name.fullname(None));
    quote! {
        impl ::tidings::avro::AvroType for #ident {
            const SCHEMA: &'static str = ::core::include_str!(#abs);
            const FULLNAME: &'static str = #full;
        }
    }
}

fn named_fields(input: &DeriveInput) -> syn::Result<&syn::FieldsNamed> {
    match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => Ok(named),
            _ => Err(syn::Error::new_spanned(&input.ident, "an Avro record is a struct with named fields")),
        },
        _ => Err(syn::Error::new_spanned(&input.ident, "an Avro record is a struct with named fields")),
    }
}

/// The serde attributes that change what is on the wire.
#[derive(Default)]
struct Serde {
    rename: Option<String>,
    rename_all: Option<String>,
    skip: bool,
    flatten: bool,
}

fn serde_of(attrs: &[syn::Attribute]) -> syn::Result<Serde> {
    let mut out = Serde::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        a.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            match key.as_str() {
                "rename" | "rename_all" => {
                    // `rename = "x"` or `rename(serialize = "x", deserialize = "y")`:
                    // the serialized name is what the schema must hold.
                    let value = if meta.input.peek(syn::Token![=]) {
                        Some(meta.value()?.parse::<LitStr>()?.value())
                    } else {
                        let mut ser = None;
                        meta.parse_nested_meta(|inner| {
                            let v = inner.value()?.parse::<LitStr>()?.value();
                            if inner.path.is_ident("serialize") {
                                ser = Some(v);
                            }
                            Ok(())
                        })?;
                        ser
                    };
                    if key == "rename" {
                        out.rename = value;
                    } else {
                        out.rename_all = value;
                    }
                }
                "skip" => out.skip = true,
                "flatten" => out.flatten = true,
                _ => {
                    // Everything else (`default`, `with`, ...) takes its value along.
                    if meta.input.peek(syn::Token![=]) {
                        meta.value()?.parse::<syn::Expr>()?;
                    } else if meta.input.peek(syn::token::Paren) {
                        let _ = meta.parse_nested_meta(|inner| {
                            if inner.input.peek(syn::Token![=]) {
                                inner.value()?.parse::<syn::Expr>()?;
                            }
                            Ok(())
                        });
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn words_of_snake(s: &str) -> Vec<String> {
    s.split('_').filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

fn words_of_pascal(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if c.is_uppercase() && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// serde's `rename_all` on a field (snake_case) or variant (PascalCase) name.
fn rename_all(name: &str, rule: &str, is_variant: bool) -> Option<String> {
    let words = if is_variant { words_of_pascal(name) } else { words_of_snake(name) };
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let capital = |w: &String| {
        let mut c = w.chars();
        c.next().map_or_else(String::new, |f| f.to_uppercase().collect::<String>() + c.as_str())
    };
    Some(match rule {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "PascalCase" => lower.iter().map(capital).collect(),
        "camelCase" => {
            let pascal: String = lower.iter().map(capital).collect();
            let mut c = pascal.chars();
            c.next().map_or_else(String::new, |f| f.to_lowercase().collect::<String>() + c.as_str())
        }
        "snake_case" => lower.join("_"),
        "SCREAMING_SNAKE_CASE" => lower.join("_").to_uppercase(),
        "kebab-case" => lower.join("-"),
        "SCREAMING-KEBAB-CASE" => lower.join("-").to_uppercase(),
        _ => return None,
    })
}

fn wire_name(ident: &syn::Ident, own: &Serde, container: &Serde, is_variant: bool) -> syn::Result<String> {
    let raw = ident.to_string();
    let raw = raw.strip_prefix("r#").unwrap_or(&raw).to_owned();
    if let Some(r) = &own.rename {
        return Ok(r.clone());
    }
    match &container.rename_all {
        None => Ok(raw),
        Some(rule) => rename_all(&raw, rule, is_variant)
            .ok_or_else(|| syn::Error::new_spanned(ident, format!("unknown serde rename_all rule `{rule}`"))),
    }
}

fn check_record(
    input: &DeriveInput,
    fields: &syn::FieldsNamed,
    record: &RecordSchema,
    loaded: &Loaded,
) -> syn::Result<TokenStream> {
    let container = serde_of(&input.attrs)?;
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let mut seen = Vec::new();
    let mut asserts = TokenStream::new();
    let rec = &record.name.name;
    for field in &fields.named {
        let own = serde_of(&field.attrs)?;
        let Some(ident) = &field.ident else { continue };
        if own.skip {
            continue;
        }
        if own.flatten {
            push(syn::Error::new_spanned(field, "`#[serde(flatten)]` cannot be checked against an Avro record: declare the fields"));
            continue;
        }
        let name = wire_name(ident, &own, &container, false)?;
        let Some(schema_field) = record.fields.iter().find(|f| f.name == name) else {
            let known: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
            push(syn::Error::new_spanned(
                field,
                format!(
                    "the Avro record `{rec}` in `{}` has no field `{name}`; its fields are: {}",
                    loaded.shown,
                    known.join(", ")
                ),
            ));
            continue;
        };
        seen.push(name.clone());
        let mut nested = Vec::new();
        if let Err(why) = check_type(&field.ty, &schema_field.schema, loaded, &mut nested) {
            push(syn::Error::new_spanned(field, format!("field `{name}` of Avro record `{rec}`: {why}")));
            continue;
        }
        for (ty, full) in nested {
            let msg = format!(
                "field `{name}` of Avro record `{rec}`: the schema expects the Avro type `{full}` here, and `{}` is tied to another one",
                ty.to_token_stream().to_string().replace(' ', "")
            );
            asserts.extend(quote_spanned! {ty.span()=>
                const _: () = {
                    ::tidings::avro::__private::assert_avro_type::<#ty>();
                    if !::tidings::avro::__private::same_name(<#ty as ::tidings::avro::AvroType>::FULLNAME, #full) {
                        ::core::panic!(#msg);
                    }
                };
            });
        }
    }
    for f in record.fields.iter().filter(|f| !seen.contains(&f.name)) {
        let default = f.default.as_ref().map(|d| format!(", default {d}")).unwrap_or_default();
        push(syn::Error::new_spanned(
            &input.ident,
            format!(
                "the Avro record `{rec}` in `{}` has a field `{}` ({}{default}) that `{}` lacks: add `{}: {}`",
                loaded.shown,
                f.name,
                describe(loaded.resolve(&f.schema)),
                input.ident,
                f.name,
                rust_for(loaded.resolve(&f.schema)),
            ),
        ));
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(asserts),
    }
}

fn check_enum(input: &DeriveInput, data: &syn::DataEnum, e: &apache_avro::schema::EnumSchema) -> syn::Result<()> {
    let container = serde_of(&input.attrs)?;
    let mut errors: Option<syn::Error> = None;
    let mut push = |err: syn::Error| match &mut errors {
        Some(all) => all.combine(err),
        None => errors = Some(err),
    };
    let mut seen = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            push(syn::Error::new_spanned(v, "an Avro enum symbol is a variant without fields"));
            continue;
        }
        let own = serde_of(&v.attrs)?;
        if own.skip {
            continue;
        }
        let symbol = wire_name(&v.ident, &own, &container, true)?;
        if e.symbols.contains(&symbol) {
            seen.push(symbol);
        } else {
            push(syn::Error::new_spanned(
                v,
                format!("`{symbol}` is not a symbol of the Avro enum `{}`; its symbols are: {}", e.name.name, e.symbols.join(", ")),
            ));
        }
    }
    let missing: Vec<&str> = e.symbols.iter().filter(|s| !seen.contains(s)).map(String::as_str).collect();
    if !missing.is_empty() {
        push(syn::Error::new_spanned(
            &input.ident,
            format!("the Avro enum `{}` has the symbol(s) {} that `{}` lacks", e.name.name, missing.join(", "), input.ident),
        ));
    }
    errors.map_or(Ok(()), Err)
}

/// The last path segment of a type and its generic type arguments.
fn segment(ty: &Type) -> Option<(String, Vec<&Type>, Option<&syn::Expr>)> {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let args = match &last.arguments {
                PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .filter_map(|g| match g {
                        GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Some((last.ident.to_string(), args, None))
        }
        Type::Array(a) => Some(("[;]".into(), vec![&*a.elem], Some(&a.len))),
        Type::Group(g) => segment(&g.elem),
        Type::Paren(p) => segment(&p.elem),
        _ => None,
    }
}

fn is_u8(ty: &Type) -> bool {
    segment(ty).is_some_and(|(n, _, _)| n == "u8")
}

/// Checks `ty` against `schema`; the nested Rust types that must be tied to named
/// Avro types are pushed to `nested`.
fn check_type<'t>(ty: &'t Type, schema: &Schema, loaded: &Loaded, nested: &mut Vec<(&'t Type, String)>) -> Result<(), String> {
    let schema = loaded.resolve(schema);
    let shown = || ty.to_token_stream().to_string().replace(' ', "").replace(",", ", ");
    let expect = || format!("the schema expects {} here (`{}`), not `{}`", describe(schema), rust_for(schema), shown());
    let Some((name, args, len)) = segment(ty) else { return Err(expect()) };
    // Optional: `Option<T>` and a union of null and one other type, both ways.
    if let Schema::Union(u) = schema {
        let variants = u.variants();
        let nullable = variants.iter().any(|v| matches!(v, Schema::Null));
        let others: Vec<&Schema> = variants.iter().filter(|v| !matches!(v, Schema::Null)).collect();
        return match (name.as_str(), nullable, others.as_slice()) {
            ("Option", true, [inner]) => check_type(args.first().copied().ok_or_else(expect)?, inner, loaded, nested),
            (_, true, [inner]) => Err(format!(
                "the schema allows null here ({}): use `Option<{}>`, not `{}`",
                describe(schema),
                rust_for(loaded.resolve(inner)),
                shown()
            )),
            _ => Err(format!(
                "the schema has {} here: only unions of null and one type (`Option<T>`) are checked against Rust types",
                describe(schema)
            )),
        };
    }
    if name == "Option" {
        return Err(format!(
            "`{}` is optional but the schema's {} is not: use `{}`, or make the field a union with \"null\"",
            shown(),
            describe(schema),
            rust_for(schema)
        ));
    }
    if name == "Box" || name == "Arc" || name == "Rc" {
        return check_type(args.first().copied().ok_or_else(expect)?, schema, loaded, nested);
    }
    let ok = match (schema, name.as_str()) {
        (Schema::Null, "()") => true,
        (Schema::Boolean, "bool") => true,
        (Schema::Int, "i32" | "i16" | "i8" | "u16" | "u8") => true,
        (Schema::Long, "i64" | "u32") => true,
        (Schema::Float, "f32") => true,
        (Schema::Double, "f64") => true,
        (Schema::String, "String" | "str" | "Cow") => true,
        (Schema::Uuid, "Uuid" | "String") => true,
        (Schema::Bytes, "Vec" | "ByteBuf" | "Bytes") => name != "Vec" || args.first().is_some_and(|t| is_u8(t)),
        (Schema::Fixed(f), "[;]") => {
            let size = len.and_then(|l| match l {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => i.base10_parse::<usize>().ok(),
                _ => None,
            });
            if args.first().is_some_and(|t| is_u8(t)) && size == Some(f.size) {
                true
            } else {
                return Err(format!("the schema expects {} here: `[u8; {}]`, not `{}`", describe(schema), f.size, shown()));
            }
        }
        (Schema::Decimal(d), "Decimal") => {
            if d.precision > 28 || d.scale > 28 {
                return Err(format!(
                    "the schema's {} does not fit `rust_decimal::Decimal`, which holds at most 28 digits and 28 decimal places",
                    describe(schema)
                ));
            }
            true
        }
        (Schema::TimestampMillis | Schema::TimestampMicros | Schema::TimestampNanos, "DateTime") => {
            match args.first().and_then(|t| segment(t)) {
                Some((tz, _, _)) if tz == "Utc" => true,
                _ => return Err(format!("the schema's {} is an instant: use `DateTime<Utc>`, not `{}`", describe(schema), shown())),
            }
        }
        (Schema::Date, "NaiveDate") => true,
        (Schema::TimeMillis | Schema::TimeMicros, "NaiveTime") => true,
        (Schema::LocalTimestampMillis | Schema::LocalTimestampMicros | Schema::LocalTimestampNanos, "NaiveDateTime") => true,
        (Schema::Array(a), "Vec" | "VecDeque" | "HashSet" | "BTreeSet" | "IndexSet") if !(name == "Vec" && args.first().is_some_and(|t| is_u8(t))) => {
            let item = args.first().copied().ok_or_else(expect)?;
            return check_type(item, &a.items, loaded, nested).map_err(|why| format!("in the array items: {why}"));
        }
        (Schema::Map(m), "HashMap" | "BTreeMap" | "IndexMap") => {
            let key = args.first().copied().ok_or_else(expect)?;
            if segment(key).is_none_or(|(k, _, _)| k != "String") {
                return Err(format!(
                    "Avro map keys are strings: use `{name}<String, {}>`, not `{}`",
                    rust_for(loaded.resolve(&m.types)),
                    shown()
                ));
            }
            let value = args.get(1).copied().ok_or_else(expect)?;
            return check_type(value, &m.types, loaded, nested).map_err(|why| format!("in the map values: {why}"));
        }
        (Schema::Record(r), _) if !is_known(&name) => {
            nested.push((ty, r.name.fullname(None)));
            true
        }
        (Schema::Enum(e), _) if !is_known(&name) => {
            nested.push((ty, e.name.fullname(None)));
            true
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(expect())
    }
}

/// Types the check knows, which therefore cannot stand for a nested record or enum.
fn is_known(name: &str) -> bool {
    matches!(
        name,
        "bool" | "i8" | "i16" | "i32" | "i64" | "i128" | "u8" | "u16" | "u32" | "u64" | "u128" | "isize" | "usize"
            | "f32" | "f64" | "String" | "str" | "Cow" | "Uuid" | "Vec" | "VecDeque" | "HashSet" | "BTreeSet"
            | "IndexSet" | "HashMap" | "BTreeMap" | "IndexMap" | "Decimal" | "DateTime" | "NaiveDate"
            | "NaiveTime" | "NaiveDateTime" | "Bytes" | "ByteBuf" | "[;]" | "char"
    )
}
