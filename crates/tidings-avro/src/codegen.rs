//! `tidings codegen avro schemas/*.avsc -o src/events.rs`: Rust types from `.avsc`
//! files, for teams whose contract starts as Avro.
//!
//! Every record and enum of the files becomes a Rust type: the top-level record of a
//! file is a message (`#[derive(tidings::Message)] #[message(avro = "<file>")]`), the
//! records and enums inside it derive `tidings::Avro` (`#[avro(schema = "<file>",
//! name = "<full name>")]`). So the compile-time check of the derive reads the same
//! `.avsc` again when the generated code compiles: the output cannot drift from the
//! schema unnoticed. Paths are relative to the crate's manifest directory (the folder
//! of the `Cargo.toml` above the output file), as the attributes want them.
//!
//! The Rust types are the ones the compile-time check accepts: `string` `String`,
//! `int` `i32`, `long` `i64`, `float` `f32`, `double` `f64`, `boolean` `bool`, `bytes`
//! `Vec<u8>`, `fixed(N)` `[u8; N]` (N <= 32, serde's limit), `decimal` `Decimal`
//! (rust_decimal), `timestamp-millis/-micros/-nanos` `DateTime<Utc>`, `date`
//! `NaiveDate`, `time-millis/-micros` `NaiveTime`, `local-timestamp-*` `NaiveDateTime`
//! (chrono), `uuid` `String` (or `uuid::Uuid` with [`UuidType::Uuid`]), a union of
//! `null` and one type `Option<T>`, `array` `Vec<T>`, `map` `HashMap<String, T>`,
//! `enum` a fieldless enum, `record` a struct (boxed where it contains itself). Names
//! become Rust style (`orderId` -> `order_id`, `IN_TRANSIT` -> `InTransit`) with a
//! `#[serde(rename)]` holding the Avro name; a short name two namespaces share becomes
//! the full name in PascalCase. Field defaults become `#[serde(default)]` (null) or
//! `#[serde(default = "fn")]` with a function returning the default. Avro `doc`s
//! become doc comments.
//!
//! The output is deterministic: files sorted by path, types in the order the schemas
//! define them, a header saying it is generated and from what; no dates, no absolute
//! paths. A schema the generator cannot express (a union of several types, `duration`,
//! a default it cannot write) is an error naming the file and the JSON pointer of the
//! offending part; so is an invalid schema. Never a panic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::path::{Component, Path, PathBuf};

use apache_avro::schema::{Name, RecordSchema};
use apache_avro::Schema;
use serde_json::Value;
use tidings_avro_schema::{describe, optional, resolve, Names};

/// How `uuid` fields are typed (the compile-time check accepts both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum UuidType {
    /// `String`: no extra dependency.
    #[default]
    String,
    /// `uuid::Uuid`: the crate needs `uuid` with `serde` and `schemars` with `uuid1`.
    Uuid,
}

/// What to generate from.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `.avsc` files.
    pub files: Vec<PathBuf>,
    /// The crate's manifest directory: attribute paths are relative to it.
    pub manifest_dir: PathBuf,
    /// The output file, for the header's command line (relative to `manifest_dir` when inside it).
    pub output: Option<PathBuf>,
    /// How `uuid` fields are typed.
    pub uuid: UuidType,
}

/// A schema that cannot be generated, with where: the file and the JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodegenError {
    /// The file, as given.
    pub file: String,
    /// The JSON pointer inside it (`/fields/3/type`; empty for the whole document), or
    /// `line:column` of a JSON syntax error.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.contains(':') {
            write!(f, "{}:{}: {}", self.file, self.pointer, self.message)
        } else {
            write!(f, "{}#{}: {}", self.file, self.pointer, self.message)
        }
    }
}

impl std::error::Error for CodegenError {}

/// One parsed file.
struct File {
    /// Shown in errors (as given).
    shown: String,
    /// Relative to the manifest directory, with `/`: what the attributes hold.
    rel: String,
    schema: Schema,
    names: Names,
    /// Full name -> JSON pointer of its definition.
    pointers: HashMap<String, String>,
}

/// One Rust type to write.
struct Item<'a> {
    file: &'a File,
    fullname: String,
    schema: &'a Schema,
    pointer: String,
    message: bool,
}

/// Generates the Rust source for `options.files`.
pub fn generate(options: &Options) -> Result<String, CodegenError> {
    let manifest = absolute(&options.manifest_dir);
    let mut files = Vec::new();
    for path in &options.files {
        files.push(load(path, &manifest)?);
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    files.dedup_by(|a, b| a.rel == b.rel);
    if files.is_empty() {
        return Err(CodegenError { file: "(no files)".into(), pointer: String::new(), message: "no .avsc file given".into() });
    }

    // Every named type once: identical definitions in several files are one type, the
    // top-level record of a file is a message (from that file), different definitions
    // under one full name are an error.
    let mut items: Vec<Item> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let tops: HashMap<String, usize> = files
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match &f.schema {
            Schema::Record(r) => Some((r.name.fullname(None), i)),
            _ => None,
        })
        .collect();
    for file in &files {
        for (fullname, schema) in tidings_avro_schema::named_types(&file.schema) {
            if matches!(schema, Schema::Fixed(_)) {
                continue;
            }
            let pointer = file.pointers.get(&fullname).cloned().unwrap_or_default();
            // A record that is a file's top level is generated from that file, as a message.
            let (canonical, message) = match tops.get(&fullname) {
                Some(&top) => ((&files[top], &files[top].schema, String::new()), true),
                None => match index.get(&fullname) {
                    Some(&at) => ((items[at].file, items[at].schema, items[at].pointer.clone()), false),
                    None => ((file, schema, pointer.clone()), false),
                },
            };
            if serde_json::to_value(canonical.1).ok() != serde_json::to_value(schema).ok() {
                return Err(CodegenError {
                    file: file.shown.clone(),
                    pointer,
                    message: format!(
                        "`{fullname}` is defined differently in {} and here: one Rust type cannot be both \
                         (generate them into different files)",
                        canonical.0.shown
                    ),
                });
            }
            if index.contains_key(&fullname) {
                continue;
            }
            index.insert(fullname.clone(), items.len());
            items.push(Item { file: canonical.0, fullname, schema: canonical.1, pointer: canonical.2, message });
        }
        if !matches!(file.schema, Schema::Record(_) | Schema::Enum(_) | Schema::Union(_) | Schema::Array(_) | Schema::Map(_)) {
            return Err(CodegenError {
                file: file.shown.clone(),
                pointer: String::new(),
                message: format!("the top-level type is {}: only records (messages) and the types in them become Rust types", describe(&file.schema)),
            });
        }
    }

    let idents = idents(&items);
    let mut g = Gen { idents: &idents, uuid: options.uuid, imports: BTreeSet::new(), defaults: String::new() };
    let mut body = String::new();
    for item in &items {
        g.item(item, &mut body)?;
    }

    let mut out = String::new();
    let list: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
    let output = options
        .output
        .as_ref()
        .map(|o| relative(&manifest, &absolute(o)))
        .unwrap_or_else(|| "src/events.rs".into());
    let _ = writeln!(out, "// @generated by `tidings codegen avro` from {}.", list.join(", "));
    let _ = writeln!(out, "// Do not edit: change the schemas, then run again");
    let _ = writeln!(out, "// `tidings codegen avro {} -o {output}` (`--check` in CI).", list.join(" "));
    let _ = writeln!(out, "// Each type is checked against its schema when it compiles.");
    out.push('\n');
    // One `use` per crate, sorted as rustfmt sorts them.
    let mut imports: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for import in g.imports.iter().copied().chain(["schemars::JsonSchema", "serde::Deserialize", "serde::Serialize"]) {
        if let Some((path, name)) = import.rsplit_once("::") {
            imports.entry(path).or_default().insert(name);
        }
    }
    for (path, names) in &imports {
        let names: Vec<&str> = names.iter().copied().collect();
        match names.as_slice() {
            [one] => {
                let _ = writeln!(out, "use {path}::{one};");
            }
            many => {
                let _ = writeln!(out, "use {path}::{{{}}};", many.join(", "));
            }
        }
    }
    out.push_str(&body);
    out.push_str(&g.defaults);
    Ok(out)
}

/// The manifest directory of the crate an output file belongs to: the nearest folder
/// above it holding a `Cargo.toml`.
pub fn manifest_dir_of(output: &Path) -> Option<PathBuf> {
    let out = absolute(output);
    out.ancestors().skip(1).find(|d| d.join("Cargo.toml").is_file()).map(Path::to_path_buf)
}

fn absolute(p: &Path) -> PathBuf {
    let joined = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    // Lexically normalized: `a/./b/../c` -> `a/c` (the file may not exist yet).
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `to` relative to the folder `from`, with `/` separators (`../shared/x.avsc` when outside).
fn relative(from: &Path, to: &Path) -> String {
    let (a, b): (Vec<Component>, Vec<Component>) = (from.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_owned(), a.len() - common).collect();
    parts.extend(b[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    parts.join("/")
}

fn load(path: &Path, manifest: &Path) -> Result<File, CodegenError> {
    let shown = path.display().to_string();
    let err = |pointer: &str, message: String| CodegenError { file: shown.clone(), pointer: pointer.to_owned(), message };
    let text = std::fs::read_to_string(path).map_err(|e| err("", format!("cannot read it: {e}")))?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| err(&format!("{}:{}", e.line(), e.column()), format!("not JSON: {e}")))?;
    let schema = tidings_avro_schema::parse(&text).map_err(|e| {
        let (pointer, why) = find_problem(&json)
            .or_else(|| field_named_in(&e, &json).map(|p| (p, String::new())))
            .unwrap_or_default();
        let why = if why.is_empty() { String::new() } else { format!("{why}; ") };
        err(&pointer, format!("not a valid Avro schema: {why}apache-avro says: {e}"))
    })?;
    let mut names = Names::new();
    tidings_avro_schema::collect_names(&schema, &mut names);
    let mut pointers = HashMap::new();
    definition_pointers(&schema, "", &mut pointers);
    Ok(File { shown, rel: relative(manifest, &absolute(path)), schema, names, pointers })
}

/// Where each named type is defined, as a JSON pointer.
fn definition_pointers(schema: &Schema, at: &str, out: &mut HashMap<String, String>) {
    match schema {
        Schema::Record(r) => {
            out.entry(r.name.fullname(None)).or_insert_with(|| at.to_owned());
            for (i, f) in r.fields.iter().enumerate() {
                definition_pointers(&f.schema, &format!("{at}/fields/{i}/type"), out);
            }
        }
        Schema::Enum(e) => {
            out.entry(e.name.fullname(None)).or_insert_with(|| at.to_owned());
        }
        Schema::Fixed(f) => {
            out.entry(f.name.fullname(None)).or_insert_with(|| at.to_owned());
        }
        Schema::Array(a) => definition_pointers(&a.items, &format!("{at}/items"), out),
        Schema::Map(m) => definition_pointers(&m.types, &format!("{at}/values"), out),
        Schema::Union(u) => {
            for (i, v) in u.variants().iter().enumerate() {
                definition_pointers(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The pointer of the field an apache-avro error names (`... field "x" in "ns.Record" ...`),
/// with `/default` when the error is about the default.
fn field_named_in(error: &str, json: &Value) -> Option<String> {
    let quoted = |after: &str| -> Option<String> {
        let rest = &error[error.find(after)? + after.len()..];
        Some(rest.split('"').next()?.to_owned())
    };
    let (field, record) = (quoted("field \"")?, quoted("\" in \"")?);
    let short = record.rsplit('.').next().unwrap_or(&record).to_owned();
    fn find(json: &Value, at: &str, record: &str, field: &str) -> Option<String> {
        match json {
            Value::Object(o) => {
                let is_it = o.get("name").and_then(Value::as_str).is_some_and(|n| n.rsplit('.').next() == Some(record));
                if is_it {
                    if let Some(Value::Array(fields)) = o.get("fields") {
                        if let Some(i) = fields.iter().position(|f| f.get("name").and_then(Value::as_str) == Some(field)) {
                            return Some(format!("{at}/fields/{i}"));
                        }
                    }
                }
                o.iter().find_map(|(k, v)| find(v, &format!("{at}/{k}"), record, field))
            }
            Value::Array(a) => a.iter().enumerate().find_map(|(i, v)| find(v, &format!("{at}/{i}"), record, field)),
            _ => None,
        }
    }
    let at = find(json, "", &short, &field)?;
    Some(if error.contains("default") { format!("{at}/default") } else { at })
}

const PRIMITIVES: &[&str] = &["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

/// Finds where a JSON document fails to be an Avro schema, for apache-avro's errors
/// (which name no place): the pointer and what is wrong there.
fn find_problem(json: &Value) -> Option<(String, String)> {
    let mut defined = BTreeSet::new();
    collect_defined(json, &mut defined);
    problem_at(json, "", &defined)
}

fn collect_defined(json: &Value, out: &mut BTreeSet<String>) {
    match json {
        Value::Object(o) => {
            if let (Some(Value::String(t)), Some(Value::String(n))) = (o.get("type"), o.get("name")) {
                if matches!(t.as_str(), "record" | "error" | "enum" | "fixed") {
                    out.insert(n.rsplit('.').next().unwrap_or(n).to_owned());
                }
            }
            o.values().for_each(|v| collect_defined(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_defined(v, out)),
        _ => {}
    }
}

fn valid_name(n: &str) -> bool {
    n.split('.').all(|part| {
        let mut c = part.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn problem_at(json: &Value, at: &str, defined: &BTreeSet<String>) -> Option<(String, String)> {
    let here = |m: String| Some((at.to_owned(), m));
    match json {
        Value::String(s) => {
            let short = s.rsplit('.').next().unwrap_or(s);
            if PRIMITIVES.contains(&s.as_str()) || defined.contains(short) {
                None
            } else {
                here(format!("`{s}` is neither a primitive type nor a record, enum or fixed defined in the file"))
            }
        }
        Value::Array(branches) => branches.iter().enumerate().find_map(|(i, b)| problem_at(b, &format!("{at}/{i}"), defined)),
        Value::Object(o) => {
            let Some(ty) = o.get("type") else { return here("a schema object needs a `type`".into()) };
            let Value::String(kind) = ty else { return problem_at(ty, &format!("{at}/type"), defined) };
            let name_ok = || match o.get("name") {
                Some(Value::String(n)) if valid_name(n) => None,
                Some(Value::String(n)) => Some((format!("{at}/name"), format!("`{n}` is not a valid Avro name ([A-Za-z_][A-Za-z0-9_]*, dot-separated)"))),
                _ => Some((at.to_owned(), format!("a {kind} needs a `name`"))),
            };
            match kind.as_str() {
                "record" | "error" => {
                    if let Some(p) = name_ok() {
                        return Some(p);
                    }
                    let Some(Value::Array(fields)) = o.get("fields") else { return here("a record needs a `fields` array".into()) };
                    let mut seen = BTreeSet::new();
                    for (i, f) in fields.iter().enumerate() {
                        let fat = format!("{at}/fields/{i}");
                        match f.get("name") {
                            Some(Value::String(n)) if valid_name(n) && !n.contains('.') => {
                                if !seen.insert(n.clone()) {
                                    return Some((format!("{fat}/name"), format!("the field `{n}` is declared twice")));
                                }
                            }
                            Some(Value::String(n)) => return Some((format!("{fat}/name"), format!("`{n}` is not a valid field name"))),
                            _ => return Some((fat, "a field needs a `name`".into())),
                        }
                        let Some(t) = f.get("type") else { return Some((fat, "a field needs a `type`".into())) };
                        if let Some(p) = problem_at(t, &format!("{fat}/type"), defined) {
                            return Some(p);
                        }
                    }
                    None
                }
                "enum" => {
                    if let Some(p) = name_ok() {
                        return Some(p);
                    }
                    match o.get("symbols") {
                        Some(Value::Array(s)) => s.iter().enumerate().find_map(|(i, v)| match v {
                            Value::String(v) if valid_name(v) && !v.contains('.') => None,
                            _ => Some((format!("{at}/symbols/{i}"), format!("{v} is not a valid enum symbol"))),
                        }),
                        _ => here("an enum needs a `symbols` array".into()),
                    }
                }
                "fixed" => name_ok().or_else(|| match o.get("size") {
                    Some(Value::Number(n)) if n.is_u64() => None,
                    _ => here("a fixed needs a `size` (a non-negative integer)".into()),
                }),
                "array" => match o.get("items") {
                    Some(items) => problem_at(items, &format!("{at}/items"), defined),
                    None => here("an array needs `items`".into()),
                },
                "map" => match o.get("values") {
                    Some(values) => problem_at(values, &format!("{at}/values"), defined),
                    None => here("a map needs `values`".into()),
                },
                _ => problem_at(ty, &format!("{at}/type"), defined),
            }
        }
        other => here(format!("{other} is not a schema (a type name, an object or a union array)")),
    }
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct", "trait",
    "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// `orderId` / `OrderID` / `order-id` -> `order_id`; keywords get `r#`.
fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_uppercase();
            if !out.is_empty() && !out.ends_with('_') && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    keyword_safe(out)
}

fn keyword_safe(s: String) -> String {
    if matches!(s.as_str(), "self" | "Self" | "super" | "crate") {
        format!("{s}_")
    } else if KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// `order_created` / `orderCreated` -> `OrderCreated`; an all-caps `IN_TRANSIT` -> `InTransit`.
fn pascal(name: &str) -> String {
    let all_caps = name.chars().all(|c| !c.is_lowercase());
    let mut out = String::new();
    for word in name.split(['_', '.']).filter(|w| !w.is_empty()) {
        let mut c = word.chars();
        if let Some(first) = c.next() {
            out.extend(first.to_uppercase());
            let rest: String = c.collect();
            out.push_str(&if all_caps { rest.to_lowercase() } else { rest });
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, 'T');
    }
    keyword_safe(out)
}

/// The Rust name of every type: its short name in PascalCase, or its full name when
/// two types would share one.
fn idents(items: &[Item]) -> HashMap<String, String> {
    let short = |full: &str| pascal(full.rsplit('.').next().unwrap_or(full));
    let mut count: HashMap<String, usize> = HashMap::new();
    for i in items {
        *count.entry(short(&i.fullname)).or_default() += 1;
    }
    items
        .iter()
        .map(|i| {
            let s = short(&i.fullname);
            let ident = if count[&s] > 1 { pascal(&i.fullname) } else { s };
            (i.fullname.clone(), ident)
        })
        .collect()
}

struct Gen<'a> {
    idents: &'a HashMap<String, String>,
    uuid: UuidType,
    imports: BTreeSet<&'static str>,
    defaults: String,
}

fn doc_lines(out: &mut String, indent: &str, doc: &str) {
    for line in doc.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {}", line.trim_start());
        }
    }
}

fn literal(s: &str) -> String {
    format!("{s:?}")
}

impl Gen<'_> {
    fn ident_of(&self, name: &Name) -> String {
        let full = name.fullname(None);
        self.idents.get(&full).cloned().unwrap_or_else(|| pascal(&name.name))
    }

    fn item(&mut self, item: &Item, out: &mut String) -> Result<(), CodegenError> {
        let err = |pointer: String, message: String| CodegenError { file: item.file.shown.clone(), pointer, message };
        let idents = self.idents;
        let ident = &idents[&item.fullname];
        out.push('\n');
        match item.schema {
            Schema::Record(r) => {
                match &r.doc {
                    Some(d) if !d.trim().is_empty() => doc_lines(out, "", d),
                    _ => {
                        let _ = writeln!(out, "/// The Avro record `{}`.", item.fullname);
                    }
                }
                if item.message {
                    let _ = writeln!(out, "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, tidings::Message)]");
                    let name = if *ident != r.name.name { format!("name = {}, ", literal(&r.name.name)) } else { String::new() };
                    let _ = writeln!(out, "#[message({name}avro = {})]", literal(&item.file.rel));
                } else {
                    let _ = writeln!(out, "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, tidings::Avro)]");
                    let _ = writeln!(out, "#[avro(schema = {}, name = {})]", literal(&item.file.rel), literal(&item.fullname));
                }
                let _ = writeln!(out, "pub struct {ident} {{");
                let mut taken = BTreeMap::new();
                for (i, f) in r.fields.iter().enumerate() {
                    let at = format!("{}/fields/{i}", item.pointer);
                    let field = snake(&f.name);
                    if let Some(other) = taken.insert(field.clone(), f.name.clone()) {
                        return Err(err(
                            format!("{at}/name"),
                            format!("the fields `{other}` and `{}` would both be the Rust field `{field}`", f.name),
                        ));
                    }
                    let ty = self.rust_type(&f.schema, item, r, &format!("{at}/type"))?;
                    match &f.doc {
                        Some(d) if !d.trim().is_empty() => doc_lines(out, "    ", d),
                        _ => {
                            let _ = writeln!(out, "    /// `{}`: `{}`.", f.name, describe(&f.schema));
                        }
                    }
                    if field.trim_start_matches("r#") != f.name {
                        let _ = writeln!(out, "    #[serde(rename = {})]", literal(&f.name));
                    }
                    if let Some(default) = &f.default {
                        if default.is_null() && optional(resolve(&f.schema, &item.file.names)).is_some() {
                            let _ = writeln!(out, "    #[serde(default)]");
                        } else {
                            let expr = self
                                .default_expr(&f.schema, default, item)
                                .map_err(|why| err(format!("{at}/default"), format!("cannot write the default of `{}`: {why}", f.name)))?;
                            let func = format!("default_{}_{}", snake(ident).trim_start_matches("r#"), field.trim_start_matches("r#"));
                            let _ = writeln!(out, "    #[serde(default = {})]", literal(&func));
                            let _ = writeln!(self.defaults, "\n/// The Avro default of `{ident}::{field}`.\nfn {func}() -> {ty} {{\n    {expr}\n}}");
                        }
                    }
                    let _ = writeln!(out, "    pub {field}: {ty},");
                }
                out.push_str("}\n");
            }
            Schema::Enum(e) => {
                match &e.doc {
                    Some(d) if !d.trim().is_empty() => doc_lines(out, "", d),
                    _ => {
                        let _ = writeln!(out, "/// The Avro enum `{}`.", item.fullname);
                    }
                }
                let _ = writeln!(out, "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, tidings::Avro)]");
                let _ = writeln!(out, "#[avro(schema = {}, name = {})]", literal(&item.file.rel), literal(&item.fullname));
                let _ = writeln!(out, "pub enum {ident} {{");
                let mut taken = BTreeMap::new();
                for (i, symbol) in e.symbols.iter().enumerate() {
                    let variant = pascal(symbol);
                    if let Some(other) = taken.insert(variant.clone(), symbol.clone()) {
                        return Err(err(
                            format!("{}/symbols/{i}", item.pointer),
                            format!("the symbols `{other}` and `{symbol}` would both be the Rust variant `{variant}`"),
                        ));
                    }
                    let _ = writeln!(out, "    /// `{symbol}`.");
                    if variant.trim_start_matches("r#") != symbol {
                        let _ = writeln!(out, "    #[serde(rename = {})]", literal(symbol));
                    }
                    let _ = writeln!(out, "    {variant},");
                }
                out.push_str("}\n");
            }
            other => return Err(err(item.pointer.clone(), format!("{} cannot be a Rust type", describe(other)))),
        }
        Ok(())
    }

    /// Whether the named type `from` contains `target` without an array or map in between
    /// (so a field of that type must be boxed).
    fn contains(&self, from: &Schema, target: &str, names: &Names, seen: &mut BTreeSet<String>) -> bool {
        match resolve(from, names) {
            Schema::Record(r) => {
                let full = r.name.fullname(None);
                if full == target {
                    return true;
                }
                if !seen.insert(full) {
                    return false;
                }
                r.fields.iter().any(|f| self.contains(&f.schema, target, names, seen))
            }
            Schema::Union(u) => u.variants().iter().any(|v| self.contains(v, target, names, seen)),
            _ => false,
        }
    }

    fn rust_type(&mut self, schema: &Schema, item: &Item, owner: &RecordSchema, at: &str) -> Result<String, CodegenError> {
        let names = &item.file.names;
        let err = |pointer: &str, message: String| CodegenError { file: item.file.shown.clone(), pointer: pointer.to_owned(), message };
        let resolved = resolve(schema, names);
        Ok(match resolved {
            Schema::Boolean => "bool".into(),
            Schema::Int => "i32".into(),
            Schema::Long => "i64".into(),
            Schema::Float => "f32".into(),
            Schema::Double => "f64".into(),
            Schema::Bytes => "Vec<u8>".into(),
            Schema::String => "String".into(),
            Schema::Uuid => match self.uuid {
                UuidType::String => "String".into(),
                UuidType::Uuid => {
                    self.imports.insert("uuid::Uuid");
                    "Uuid".into()
                }
            },
            Schema::Fixed(f) if f.size <= 32 => format!("[u8; {}]", f.size),
            Schema::Fixed(f) => {
                return Err(err(at, format!("fixed {} has {} bytes: serde (de)serializes arrays of at most 32", f.name.name, f.size)))
            }
            Schema::Decimal(d) if d.precision <= 28 && d.scale <= 28 => {
                self.imports.insert("rust_decimal::Decimal");
                "Decimal".into()
            }
            Schema::Decimal(_) => {
                return Err(err(at, format!("{} does not fit rust_decimal::Decimal (at most 28 digits)", describe(resolved))))
            }
            Schema::TimestampMillis | Schema::TimestampMicros | Schema::TimestampNanos => {
                self.imports.insert("chrono::DateTime");
                self.imports.insert("chrono::Utc");
                "DateTime<Utc>".into()
            }
            Schema::Date => {
                self.imports.insert("chrono::NaiveDate");
                "NaiveDate".into()
            }
            Schema::TimeMillis | Schema::TimeMicros => {
                self.imports.insert("chrono::NaiveTime");
                "NaiveTime".into()
            }
            Schema::LocalTimestampMillis | Schema::LocalTimestampMicros | Schema::LocalTimestampNanos => {
                self.imports.insert("chrono::NaiveDateTime");
                "NaiveDateTime".into()
            }
            Schema::Array(a) => format!("Vec<{}>", self.rust_type(&a.items, item, owner, &format!("{at}/items"))?),
            Schema::Map(m) => {
                self.imports.insert("std::collections::HashMap");
                format!("HashMap<String, {}>", self.rust_type(&m.types, item, owner, &format!("{at}/values"))?)
            }
            Schema::Union(u) => match optional(resolved) {
                Some(inner) => {
                    let i = u.variants().iter().position(|v| std::ptr::eq(v, inner)).unwrap_or(1);
                    format!("Option<{}>", self.rust_type(inner, item, owner, &format!("{at}/{i}"))?)
                }
                None => {
                    return Err(err(
                        at,
                        format!("{}: only unions of null and one type (`Option<T>`) have a Rust type here", describe(resolved)),
                    ))
                }
            },
            Schema::Record(r) => {
                let ident = self.ident_of(&r.name);
                if self.contains(resolved, &owner.name.fullname(None), names, &mut BTreeSet::new()) {
                    format!("Box<{ident}>")
                } else {
                    ident
                }
            }
            Schema::Enum(e) => self.ident_of(&e.name),
            Schema::Null => return Err(err(at, "a field of type null has no Rust type the check accepts".into())),
            other => return Err(err(at, format!("{} has no Rust type yet", describe(other)))),
        })
    }

    /// A Rust expression for an Avro default (in Avro's JSON encoding).
    fn default_expr(&self, schema: &Schema, v: &Value, item: &Item) -> Result<String, String> {
        let names = &item.file.names;
        let schema = resolve(schema, names);
        let bad = || format!("{v} is not a {}", describe(schema));
        let bytes = |s: &str| -> Result<Vec<u8>, String> {
            s.chars().map(|c| u8::try_from(c as u32).map_err(|_| format!("{c:?} is not a byte (0-255)"))).collect()
        };
        Ok(match (schema, v) {
            (Schema::Union(u), _) => {
                let first = u.variants().first().ok_or_else(bad)?;
                match (resolve(first, names), v) {
                    (Schema::Null, Value::Null) => "None".into(),
                    (Schema::Null, _) => return Err(format!("a union's default belongs to its first branch, null; {v} is not null")),
                    (_, _) => format!("Some({})", self.default_expr(first, v, item)?),
                }
            }
            (Schema::Boolean, Value::Bool(b)) => b.to_string(),
            (Schema::Int, Value::Number(n)) => i32::try_from(n.as_i64().ok_or_else(bad)?).map_err(|_| bad())?.to_string(),
            (Schema::Long, Value::Number(n)) => n.as_i64().ok_or_else(bad)?.to_string(),
            (Schema::Float | Schema::Double, Value::Number(n)) => {
                let f = n.as_f64().ok_or_else(bad)?;
                if matches!(schema, Schema::Float) {
                    format!("{:?}", f as f32)
                } else {
                    format!("{f:?}")
                }
            }
            (Schema::String, Value::String(s)) => format!("{}.to_owned()", literal(s)),
            (Schema::Uuid, Value::String(s)) => match self.uuid {
                UuidType::String => format!("{}.to_owned()", literal(s)),
                UuidType::Uuid => format!("Uuid::parse_str({}).unwrap_or_default()", literal(s)),
            },
            (Schema::Bytes, Value::String(s)) => format!("vec!{:?}", bytes(s)?),
            (Schema::Fixed(f), Value::String(s)) => {
                let b = bytes(s)?;
                if b.len() != f.size {
                    return Err(format!("{} bytes for a fixed of {}", b.len(), f.size));
                }
                format!("{b:?}")
            }
            (Schema::Date, Value::Number(n)) => {
                let days = n.as_i64().ok_or_else(bad)?;
                format!("chrono::NaiveDate::from_num_days_from_ce_opt(719_163 + {days}).unwrap_or_default()")
            }
            (Schema::TimeMillis, Value::Number(n)) => {
                let ms = n.as_i64().ok_or_else(bad)?;
                format!("chrono::NaiveTime::from_num_seconds_from_midnight_opt({}, {}).unwrap_or_default()", ms / 1000, (ms % 1000) * 1_000_000)
            }
            (Schema::TimeMicros, Value::Number(n)) => {
                let us = n.as_i64().ok_or_else(bad)?;
                format!("chrono::NaiveTime::from_num_seconds_from_midnight_opt({}, {}).unwrap_or_default()", us / 1_000_000, (us % 1_000_000) * 1000)
            }
            (Schema::TimestampMillis | Schema::LocalTimestampMillis, Value::Number(n)) => {
                let local = if matches!(schema, Schema::LocalTimestampMillis) { ".naive_utc()" } else { "" };
                format!("chrono::DateTime::from_timestamp_millis({}).unwrap_or_default(){local}", n.as_i64().ok_or_else(bad)?)
            }
            (Schema::TimestampMicros | Schema::LocalTimestampMicros, Value::Number(n)) => {
                let local = if matches!(schema, Schema::LocalTimestampMicros) { ".naive_utc()" } else { "" };
                format!("chrono::DateTime::from_timestamp_micros({}).unwrap_or_default(){local}", n.as_i64().ok_or_else(bad)?)
            }
            (Schema::TimestampNanos | Schema::LocalTimestampNanos, Value::Number(n)) => {
                let local = if matches!(schema, Schema::LocalTimestampNanos) { ".naive_utc()" } else { "" };
                format!("chrono::DateTime::from_timestamp_nanos({}){local}", n.as_i64().ok_or_else(bad)?)
            }
            (Schema::Enum(e), Value::String(s)) if e.symbols.contains(s) => format!("{}::{}", self.ident_of(&e.name), pascal(s)),
            (Schema::Array(_), Value::Array(items)) if items.is_empty() => "Vec::new()".into(),
            (Schema::Map(_), Value::Object(entries)) if entries.is_empty() => "HashMap::new()".into(),
            (Schema::Array(a), Value::Array(items)) => {
                let parts = items.iter().map(|i| self.default_expr(&a.items, i, item)).collect::<Result<Vec<_>, _>>()?;
                format!("vec![{}]", parts.join(", "))
            }
            (Schema::Map(m), Value::Object(entries)) => {
                let parts = entries
                    .iter()
                    .map(|(k, v)| Ok(format!("({}.to_owned(), {})", literal(k), self.default_expr(&m.types, v, item)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                format!("[{}].into_iter().collect()", parts.join(", "))
            }
            (Schema::Record(r), Value::Object(obj)) => {
                let mut parts = Vec::new();
                for f in &r.fields {
                    let value = obj.get(&f.name).or(f.default.as_ref()).ok_or_else(|| format!("the field `{}` has no value", f.name))?;
                    let mut expr = self.default_expr(&f.schema, value, item)?;
                    if self.contains(&f.schema, &r.name.fullname(None), names, &mut BTreeSet::new()) && expr != "None" {
                        expr = format!("Box::new({expr})");
                    }
                    parts.push(format!("{}: {expr}", snake(&f.name)));
                }
                format!("{} {{ {} }}", self.ident_of(&r.name), parts.join(", "))
            }
            _ => return Err(bad()),
        })
    }
}

/// Writes (or with `check`, compares) the generated file; what happened.
pub fn run(options: &Options, check: bool) -> Result<Outcome, CodegenError> {
    let text = generate(options)?;
    let Some(output) = &options.output else { return Ok(Outcome::Printed(text)) };
    let current = std::fs::read_to_string(output).ok();
    if current.as_deref() == Some(text.as_str()) {
        return Ok(Outcome::UpToDate);
    }
    if check {
        return Ok(Outcome::Stale { exists: current.is_some() });
    }
    let io = |e: std::io::Error| CodegenError { file: output.display().to_string(), pointer: String::new(), message: format!("cannot write it: {e}") };
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(output, text).map_err(io)?;
    Ok(Outcome::Written)
}

/// What [`run`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No output file: the source, for stdout.
    Printed(String),
    /// The file already holds exactly this.
    UpToDate,
    /// The file was written.
    Written,
    /// `--check`: the file would change (or does not exist).
    Stale {
        /// Whether the file exists.
        exists: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_rust_style() {
        assert_eq!(snake("orderId"), "order_id");
        assert_eq!(snake("order_id"), "order_id");
        assert_eq!(snake("HTTPStatus"), "http_status");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(pascal("order_created"), "OrderCreated");
        assert_eq!(pascal("OrderCreated"), "OrderCreated");
        assert_eq!(pascal("IN_TRANSIT"), "InTransit");
        assert_eq!(pascal("NEW"), "New");
        assert_eq!(pascal("com.example.Item"), "ComExampleItem");
        assert_eq!(pascal("_1"), "T1");
    }

    #[test]
    fn relative_paths_climb_out_of_the_manifest() {
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b/schemas/x.avsc")), "schemas/x.avsc");
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/shared/x.avsc")), "../shared/x.avsc");
    }

    #[test]
    fn problems_are_found_with_their_pointer() {
        let doc: Value = serde_json::from_str(
            r#"{"type":"record","name":"A","fields":[{"name":"x","type":"string"},{"name":"y","type":{"type":"array"}}]}"#,
        )
        .unwrap();
        assert_eq!(find_problem(&doc), Some(("/fields/1/type".into(), "an array needs `items`".into())));
        let doc: Value = serde_json::from_str(r#"{"type":"record","name":"A","fields":[{"name":"x","type":"integer"}]}"#).unwrap();
        assert_eq!(find_problem(&doc).map(|p| p.0), Some("/fields/0/type".into()));
        let doc: Value = serde_json::from_str(r#"{"type":"record","name":"A#B","fields":[]}"#).unwrap();
        assert_eq!(find_problem(&doc).map(|p| p.0), Some("/name".into()));
    }
}
