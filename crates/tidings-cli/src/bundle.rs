//! `tidings bundle FILE -o OUT`: one self-contained document.
//!
//! Every external `$ref` (a relative file, or an `http(s)` URL when allowed) is read, its
//! target hoisted into `components` under a name taken from the reference (the last
//! pointer token, or the file name), and the reference rewritten to
//! `#/components/<kind>/<name>`. References inside what was hoisted are handled the same
//! way, relative to the file they are in, so a target reached twice is hoisted once and a
//! cycle of files becomes a cycle of local references (and is reported). Local references
//! of the root document are left as they are.
//!
//! The schema of a Multi Format Schema Object in another format than JSON Schema (an
//! Avro schema referenced in a Schema Registry, `schema: {$ref:
//! http://registry:8081/subjects/<s>/versions/latest/schema}`) is inlined in place
//! instead: under `components/schemas` it would be read as a JSON Schema.
//!
//! Safety: files may not leave the root document's directory tree; URLs are fetched only
//! with `--allow-remote` or for a host named by `--allow-host`, without redirects, within
//! [`MAX_REMOTE_BYTES`] and [`REMOTE_TIMEOUT`].
//!
//! The output is byte-stable: it goes through the shared model
//! ([`tidings_asyncapi::Document`]), whose maps are sorted, when the result fits it, and
//! through sorted JSON values otherwise.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde_json::{Map, Value};

use crate::refs::{self, lookup, RefError, Resolver, Target};
use crate::source::{LoadError, Source};

/// Arguments of `tidings bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The root document.
    pub file: PathBuf,
    /// Where to write the bundle (`-` for stdout); `.json` writes JSON, anything else YAML.
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    /// Fetch `http(s)` references from any host.
    #[arg(long)]
    pub allow_remote: bool,
    /// Fetch `http(s)` references from this host (repeatable).
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Write JSON whatever the output's extension.
    #[arg(long)]
    pub json: bool,
}

/// Largest remote document fetched.
pub const MAX_REMOTE_BYTES: u64 = 8 * 1024 * 1024;
/// Time allowed for one remote fetch, connection included.
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(20);

/// Why bundling failed.
#[derive(Debug, Clone)]
pub struct BundleError {
    /// The file the failing reference is in.
    pub file: String,
    /// Its line and column, when known.
    pub position: Option<crate::source::Position>,
    /// Pointer of the `$ref`.
    pub pointer: String,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(p) = self.position {
            write!(f, ":{p}")?;
        }
        write!(f, ": {} ({})", self.message, self.pointer)
    }
}

/// What bundling produced.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The self-contained document.
    pub value: Value,
    /// Reference cycles found (each a chain of `file#pointer`), kept as local references.
    pub cycles: Vec<String>,
}

/// Where remote references may be fetched from.
#[derive(Debug, Clone, Default)]
pub struct RemotePolicy {
    /// Any host.
    pub any: bool,
    /// These hosts.
    pub hosts: Vec<String>,
}

impl RemotePolicy {
    fn allows(&self, url: &str) -> Result<(), String> {
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| format!("{url} is not a valid URL"))?;
        if self.any || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            Ok(())
        } else {
            Err(format!(
                "{url} is remote; pass --allow-remote, or --allow-host {host}, to fetch it"
            ))
        }
    }
}

/// A document somewhere: a file, or a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Origin {
    File(PathBuf),
    Url(String),
}

impl Origin {
    fn display(&self) -> String {
        match self {
            Origin::File(p) => p.display().to_string(),
            Origin::Url(u) => u.clone(),
        }
    }
}

struct Bundler {
    root: PathBuf,
    resolver: Resolver,
    policy: RemotePolicy,
    remote: HashMap<String, Result<Value, String>>,
    /// (origin, pointer) -> the local reference it was hoisted to.
    hoisted: HashMap<(Origin, String), String>,
    /// kind -> name -> value.
    components: BTreeMap<String, BTreeMap<String, Value>>,
    /// The chain being expanded, for cycle reports.
    stack: Vec<(Origin, String)>,
    cycles: Vec<String>,
    root_source: Source,
}

/// Bundles the document at `path`.
pub fn bundle(path: &Path, policy: RemotePolicy) -> Result<Result<Bundle, BundleError>, LoadError> {
    let source = Source::load(path)?;
    let root = refs::absolute(path);
    let mut b = Bundler {
        root: root.clone(),
        resolver: Resolver::new(path),
        policy,
        remote: HashMap::new(),
        hoisted: HashMap::new(),
        components: BTreeMap::new(),
        stack: Vec::new(),
        cycles: Vec::new(),
        root_source: source.clone(),
    };
    // Existing component names are taken.
    if let Some(c) = source.value.get("components").and_then(Value::as_object) {
        for (kind, items) in c {
            if let Some(items) = items.as_object() {
                let names = b.components.entry(kind.clone()).or_default();
                for (k, v) in items {
                    names.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let origin = Origin::File(root);
    let result = b.walk(&origin, &source.value, "", &mut Vec::new());
    Ok(result.map(|mut value| {
        // Write the hoisted components back (the root's own are in there, unchanged).
        if !b.components.is_empty() {
            let obj = value.as_object_mut().map(|o| {
                o.entry("components")
                    .or_insert_with(|| Value::Object(Map::new()))
                    .clone()
            });
            let mut components = match obj {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (kind, items) in &b.components {
                let existing = components
                    .entry(kind.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(existing) = existing.as_object_mut() {
                    for (name, v) in items {
                        existing.entry(name.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            if let Some(o) = value.as_object_mut() {
                o.insert("components".into(), Value::Object(components));
            }
        }
        b.cycles.sort();
        b.cycles.dedup();
        Bundle {
            value,
            cycles: b.cycles,
        }
    }))
}

/// The component kind a reference at `path` (tokens from the document root) designates.
fn kind_for(path: &[String]) -> &'static str {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let n = p.len();
    // Anything inside a schema is a schema.
    if p.iter().any(|t| matches!(*t, "payload" | "headers" | "schemas" | "schema" | "properties" | "items"))
    {
        return "schemas";
    }
    let last = p.last().copied().unwrap_or("");
    let parent = if n >= 2 { p[n - 2] } else { "" };
    match (parent, last) {
        ("channels", _) => "channels",
        ("operations", _) => "operations",
        ("servers", _) => "servers",
        (_, "channel") => "channels",
        ("messages", _) => "messages",
        ("parameters", _) => "parameters",
        ("variables", _) => "serverVariables",
        (_, "correlationId") => "correlationIds",
        (_, "reply") => "replies",
        (_, "address") => "replyAddresses",
        (_, "externalDocs") => "externalDocs",
        ("tags", _) => "tags",
        ("securitySchemes", _) | ("security", _) => "securitySchemes",
        ("traits", _) => {
            if p.contains(&"operations") {
                "operationTraits"
            } else {
                "messageTraits"
            }
        }
        (_, "bindings") => {
            if p.first() == Some(&"servers") {
                "serverBindings"
            } else if p.first() == Some(&"operations") {
                "operationBindings"
            } else if p.contains(&"messages") {
                "messageBindings"
            } else {
                "channelBindings"
            }
        }
        _ => "schemas",
    }
}

/// A component name from a reference: the last pointer token, else the file's stem.
fn name_for(origin: &Origin, pointer: &str) -> String {
    let raw = match pointer.rsplit('/').next().filter(|t| !t.is_empty()) {
        Some(t) => crate::source::unescape_token(t),
        None => match origin {
            Origin::File(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Origin::Url(u) => u
                .trim_end_matches('/')
                .rsplit('/')
                .find(|s| !s.is_empty() && !matches!(*s, "schema" | "latest" | "versions"))
                .unwrap_or("remote")
                .to_owned(),
        },
    };
    // Component keys must match ^[\w.\-]+$.
    let clean: String = raw
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' })
        .collect();
    if clean.is_empty() {
        "component".into()
    } else {
        clean
    }
}

impl Bundler {
    fn error(&self, origin: &Origin, pointer: &str, message: String) -> BundleError {
        let (file, position) = match origin {
            Origin::File(p) if *p == self.root => (
                self.root_source.name.clone(),
                self.root_source.position(pointer),
            ),
            Origin::File(p) => {
                let pos = match self.resolver_file(p) {
                    Some(s) => s.position(pointer),
                    None => None,
                };
                (p.display().to_string(), pos)
            }
            Origin::Url(u) => (u.clone(), None),
        };
        BundleError {
            file,
            position,
            pointer: pointer.to_owned(),
            message,
        }
    }

    fn resolver_file(&self, path: &Path) -> Option<&Source> {
        self.resolver.loaded().find(|(p, _)| *p == path).map(|(_, s)| s)
    }

    /// The whole document an origin designates.
    fn document(&mut self, origin: &Origin) -> Result<Value, String> {
        match origin {
            Origin::File(p) if *p == self.root => Ok(self.root_source.value.clone()),
            Origin::File(p) => self
                .resolver
                .file(p)
                .map(|s| s.value.clone())
                .map_err(|e| e.to_string()),
            Origin::Url(url) => {
                if let Some(r) = self.remote.get(url) {
                    return r.clone();
                }
                let fetched = self.policy.allows(url).and_then(|()| fetch(url));
                self.remote.insert(url.clone(), fetched.clone());
                fetched
            }
        }
    }

    /// Where a reference found in `origin` points.
    fn target(&self, origin: &Origin, reference: &str) -> Result<(Origin, String), String> {
        match refs::parse(reference).map_err(|e| e.to_string())? {
            Target::Local { pointer } => Ok((origin.clone(), pointer)),
            Target::File { path, pointer } => match origin {
                Origin::File(from) => self
                    .resolver
                    .file_path(from, &path)
                    .map(|p| (Origin::File(p), pointer))
                    .map_err(|e| e.to_string()),
                Origin::Url(base) => {
                    // Relative to a URL: another URL on the same host.
                    let joined = url::Url::parse(base)
                        .and_then(|b| b.join(&path))
                        .map_err(|e| format!("cannot join {path} to {base}: {e}"))?;
                    Ok((Origin::Url(joined.to_string()), pointer))
                }
            },
            Target::Remote { url, pointer } => Ok((Origin::Url(url), pointer)),
        }
    }

    fn walk(
        &mut self,
        origin: &Origin,
        value: &Value,
        pointer: &str,
        path: &mut Vec<String>,
    ) -> Result<Value, BundleError> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let at = format!("{pointer}/$ref");
                    let (target_origin, target_pointer) = self
                        .target(origin, reference)
                        .map_err(|m| self.error(origin, &at, format!("`$ref: {reference}`: {m}")))?;
                    let is_root = target_origin == Origin::File(self.root.clone());
                    if is_root {
                        // A root-local reference stays; it must resolve, though.
                        lookup(&self.root_source.value, &target_pointer).map_err(|e| {
                            self.error(origin, &at, format!("`$ref: {reference}` does not resolve: {e}"))
                        })?;
                        return Ok(serde_json::json!({ "$ref": format!("#{}", encode_fragment(&target_pointer)) }));
                    }
                    let key = (target_origin.clone(), target_pointer.clone());
                    if let Some(local) = self.hoisted.get(&key) {
                        if let Some(i) = self.stack.iter().position(|k| *k == key) {
                            let chain: Vec<String> = self.stack[i..]
                                .iter()
                                .chain(std::iter::once(&key))
                                .map(|(o, p)| format!("{}#{p}", o.display()))
                                .collect();
                            self.cycles.push(chain.join(" -> "));
                        }
                        return Ok(serde_json::json!({ "$ref": local }));
                    }
                    let target_doc = self
                        .document(&target_origin)
                        .map_err(|m| self.error(origin, &at, format!("`$ref: {reference}`: {m}")))?;
                    let target = lookup(&target_doc, &target_pointer)
                        .map_err(|e| {
                            self.error(origin, &at, format!("`$ref: {reference}` does not resolve: {}", match e {
                                RefError::Missing { pointer, .. } => format!("nothing at `{pointer}` in {}", target_origin.display()),
                                other => other.to_string(),
                            }))
                        })?
                        .clone();
                    let kind = kind_for(path).to_owned();
                    let name = self.free_name(&kind, &name_for(&target_origin, &target_pointer), &target);
                    let local = format!("#/components/{kind}/{}", encode_fragment(&crate::source::escape_token(&name)));
                    self.hoisted.insert(key.clone(), local.clone());
                    // Reserve the name before expanding, so a cycle finds it.
                    self.components.entry(kind.clone()).or_default().insert(name.clone(), Value::Null);
                    self.stack.push(key);
                    let expanded = self.walk(&target_origin, &target, &target_pointer, path);
                    self.stack.pop();
                    let expanded = expanded?;
                    self.components.entry(kind).or_default().insert(name, expanded);
                    return Ok(serde_json::json!({ "$ref": local }));
                }
                // A Multi Format Schema Object in another format than JSON Schema (an
                // Avro schema in a Schema Registry): its schema is inlined in place, since
                // `components/schemas` would read it as a JSON Schema.
                if let Some(inlined) = self.inline_foreign_schema(origin, map, pointer)? {
                    return Ok(inlined);
                }
                let mut out = Map::new();
                for (k, v) in map {
                    if k == "examples" || k.starts_with("x-") {
                        out.insert(k.clone(), v.clone());
                        continue;
                    }
                    path.push(k.clone());
                    let child = self.walk(origin, v, &crate::source::join(pointer, k), path);
                    path.pop();
                    out.insert(k.clone(), child?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.iter().enumerate() {
                    path.push(i.to_string());
                    let child = self.walk(origin, v, &format!("{pointer}/{i}"), path);
                    path.pop();
                    out.push(child?);
                }
                Ok(Value::Array(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// `{schemaFormat: <not JSON Schema>, schema: {$ref: ...}}` with the target put in
    /// place of the reference; `None` for anything else.
    fn inline_foreign_schema(
        &mut self,
        origin: &Origin,
        map: &Map<String, Value>,
        pointer: &str,
    ) -> Result<Option<Value>, BundleError> {
        let Some(Value::String(format)) = map.get("schemaFormat") else { return Ok(None) };
        let json_schema = format.starts_with("application/vnd.aai.asyncapi") || format.starts_with("application/schema");
        let Some(Value::String(reference)) = map.get("schema").and_then(|s| s.get("$ref")) else { return Ok(None) };
        if json_schema {
            return Ok(None);
        }
        let at = format!("{pointer}/schema/$ref");
        let (target_origin, target_pointer) = self
            .target(origin, reference)
            .map_err(|m| self.error(origin, &at, format!("`$ref: {reference}`: {m}")))?;
        let document = self
            .document(&target_origin)
            .map_err(|m| self.error(origin, &at, format!("`$ref: {reference}`: {m}")))?;
        let target = lookup(&document, &target_pointer)
            .map_err(|e| self.error(origin, &at, format!("`$ref: {reference}` does not resolve: {e}")))?
            .clone();
        let mut out = map.clone();
        out.insert("schema".into(), target);
        Ok(Some(Value::Object(out)))
    }

    /// `wanted`, or `wanted_2`, ... : the first name free in `kind` (or holding `value`).
    fn free_name(&self, kind: &str, wanted: &str, value: &Value) -> String {
        let taken = self.components.get(kind);
        let mut name = wanted.to_owned();
        let mut n = 1;
        while let Some(existing) = taken.and_then(|t| t.get(&name)) {
            if existing == value {
                break;
            }
            n += 1;
            name = format!("{wanted}_{n}");
        }
        name
    }
}

/// Percent-encodes what a URI fragment cannot hold as is.
fn encode_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for c in pointer.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '%' => out.push_str("%25"),
            '"' => out.push_str("%22"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// Fetches a URL (no redirects, bounded size and time) and parses it as JSON or YAML.
fn fetch(url: &str) -> Result<Value, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(REMOTE_TIMEOUT))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| format!("fetching {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("fetching {url}: HTTP {status}"));
    }
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_REMOTE_BYTES)
        .read_to_string()
        .map_err(|e| format!("reading {url} (at most {MAX_REMOTE_BYTES} bytes): {e}"))?;
    let source = Source::parse(url, Path::new("remote"), &text).map_err(|e| e.to_string())?;
    // A Schema Registry returns the schema as a JSON string inside JSON sometimes.
    Ok(match source.value {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        v => v,
    })
}

/// The bundled document as text: YAML, or JSON when `json`.
pub fn render(value: &Value, json: bool) -> String {
    // Through the shared model when it fits: the specification's field order, sorted maps.
    if let Ok(doc) = serde_json::from_value::<tidings_asyncapi::Document>(value.clone()) {
        if serde_json::to_value(&doc).ok().as_ref() == Some(value) {
            return if json { doc.to_json() } else { doc.to_yaml() };
        }
    }
    if json {
        serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
    } else {
        serde_yaml_ng::to_string(value).unwrap_or_default()
    }
}

/// Runs `tidings bundle`; the exit code.
pub fn run(args: &BundleArgs) -> u8 {
    let policy = RemotePolicy {
        any: args.allow_remote,
        hosts: args.allow_hosts.clone(),
    };
    let bundle = match bundle(&args.file, policy) {
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
        Ok(Err(e)) => {
            eprintln!("{e}");
            return 1;
        }
        Ok(Ok(b)) => b,
    };
    for cycle in &bundle.cycles {
        eprintln!("note: reference cycle, kept as local references: {cycle}");
    }
    let json = args.json
        || args
            .output
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let text = render(&bundle.value, json);
    if args.output.as_os_str() == "-" {
        print!("{text}");
        return 0;
    }
    match std::fs::write(&args.output, text) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{}: cannot write: {e}", args.output.display());
            2
        }
    }
}
