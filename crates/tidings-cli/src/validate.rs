//! `tidings validate`: the official JSON Schema, then the semantic checks the schema
//! cannot express (some of which `@asyncapi/parser` misses too).
//!
//! Every check reads the document as a plain [`serde_json::Value`], not the typed model: a
//! broken document must still be walked to say everything that is wrong with it.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::refs::{self, RefError, Resolver};
use crate::source::{escape_token, join, Position, Source};

/// How bad a finding is. Errors make a document invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document is invalid.
    Error,
    /// Legal, but probably a mistake.
    Warning,
    /// For information.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// The file it is in.
    pub file: String,
    /// Line, from 1, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Column, from 1, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// JSON pointer of the offending node (`""` is the whole document).
    pub pointer: String,
    /// Which check found it (`schema`, `ref`, `operation-messages`, ...).
    pub rule: String,
    /// A sentence a person understands.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        let pointer = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(
            f,
            ": {}: {} ({}) [{}]",
            self.severity, self.message, pointer, self.rule
        )
    }
}

/// What validating one file found.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The file.
    pub file: String,
    /// `true` when no finding is an error.
    pub valid: bool,
    /// Every finding, errors first, then by position.
    pub findings: Vec<Finding>,
}

/// Names accepted in a server's `protocol`: the ones the 3.0.0 specification lists, plus
/// every protocol the schema has bindings for, plus common TLS variants.
pub const KNOWN_PROTOCOLS: &[&str] = &[
    "amqp", "amqps", "amqp1", "anypointmq", "googlepubsub", "http", "https", "ibmmq", "jms",
    "kafka", "kafka-secure", "mercure", "mqtt", "mqtts", "secure-mqtt", "mqtt5", "nats",
    "pulsar", "redis", "rediss", "sns", "solace", "sqs", "stomp", "stomps", "ws", "wss",
];

struct Ctx<'a> {
    source: &'a Source,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn add(&mut self, severity: Severity, rule: &str, pointer: &str, message: String) {
        let position = self.source.position(pointer);
        self.findings.push(finding(
            &self.source.name,
            position,
            severity,
            rule,
            pointer,
            message,
        ));
    }
}

fn finding(
    file: &str,
    position: Option<Position>,
    severity: Severity,
    rule: &str,
    pointer: &str,
    message: String,
) -> Finding {
    Finding {
        severity,
        file: file.to_owned(),
        line: position.map(|p| p.line),
        column: position.map(|p| p.column),
        pointer: pointer.to_owned(),
        rule: rule.to_owned(),
        message,
    }
}

/// Validates a loaded document: schema, references (following relative files), then the
/// semantic checks.
pub fn validate_source(source: &Source) -> FileReport {
    let mut ctx = Ctx {
        source,
        findings: Vec::new(),
    };
    let doc = &source.value;
    if !doc.is_object() {
        ctx.add(
            Severity::Error,
            "schema",
            "",
            format!(
                "the document is {}, not a mapping with `asyncapi`, `info`, ...",
                crate::schema::json_type(doc)
            ),
        );
        return finish(source, ctx.findings);
    }
    match doc.get("asyncapi").and_then(Value::as_str) {
        Some("3.0.0") | None => {}
        Some(other) => ctx.add(
            Severity::Error,
            "version",
            "/asyncapi",
            format!("this is an AsyncAPI {other} document; tidings validates AsyncAPI 3.0.0"),
        ),
    }
    duplicates(&mut ctx);
    match crate::schema::validate(doc) {
        Ok(errors) => {
            for e in errors {
                ctx.add(Severity::Error, "schema", &e.pointer, e.message);
            }
        }
        Err(message) => ctx.add(Severity::Error, "schema", "", message),
    }
    let mut resolver = Resolver::new(&source.path);
    references(&mut ctx, &mut resolver);
    referenced_kinds(&mut ctx, &mut resolver);
    operations(&mut ctx, &mut resolver);
    channels(&mut ctx);
    protocols(&mut ctx);
    bindings(&mut ctx);
    avro_payloads(&mut ctx, &mut resolver);
    message_ids(&mut ctx, &mut resolver);
    let mut findings = ctx.findings;
    // Problems inside referenced files, reported with their own file and position.
    findings.extend(referenced_files(source, &mut resolver));
    finish(source, findings)
}

fn finish(source: &Source, mut findings: Vec<Finding>) -> FileReport {
    findings.sort_by(|a, b| {
        (a.severity, &a.file, a.line, a.column, &a.pointer, &a.message).cmp(&(
            b.severity, &b.file, b.line, b.column, &b.pointer, &b.message,
        ))
    });
    findings.dedup();
    FileReport {
        file: source.name.clone(),
        valid: !findings.iter().any(|f| f.severity == Severity::Error),
        findings,
    }
}

/// Keys written twice: YAML forbids it and the parsers silently keep the last one, so an
/// operation or message id given twice would lose one definition without a word.
fn duplicates(ctx: &mut Ctx<'_>) {
    for d in ctx.source.duplicates().to_vec() {
        let (parent, key) = d
            .pointer
            .rsplit_once('/')
            .map(|(p, k)| (p.to_owned(), crate::source::unescape_token(k)))
            .unwrap_or_default();
        let what = match parent.as_str() {
            "/operations" | "/components/operations" => "operation id",
            "/channels" | "/components/channels" => "channel id",
            "/components/messages" => "message id",
            p if p.ends_with("/messages") => "message id",
            "/servers" | "/components/servers" => "server name",
            _ => "key",
        };
        let message = format!(
            "{what} \"{key}\" is defined twice (first at line {}, again at line {}); only the last definition is kept",
            d.first.line, d.again.line
        );
        ctx.findings.push(finding(
            &ctx.source.name,
            Some(d.again),
            Severity::Error,
            "duplicate-id",
            &d.pointer,
            message,
        ));
    }
}

/// Calls `f(pointer, ref)` for every `$ref` string in `value`, skipping example data and
/// `x-` extensions, which are free-form.
pub fn each_ref(value: &Value, pointer: &str, f: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                f(pointer, r);
            }
            for (k, v) in map {
                if k == "examples" || k == "example" || k.starts_with("x-") || k == "$ref" {
                    continue;
                }
                each_ref(v, &join(pointer, k), f);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                each_ref(v, &format!("{pointer}/{i}"), f);
            }
        }
        _ => {}
    }
}

fn ref_problem(reference: &str, error: &RefError) -> (Severity, String) {
    match error {
        RefError::Remote(_) => (
            Severity::Info,
            format!("`$ref: {reference}` is remote and was not checked (run `tidings bundle --allow-remote` to inline it)"),
        ),
        RefError::OutsideRoot(_) => (
            Severity::Error,
            format!("`$ref: {reference}` cannot be followed: {error}"),
        ),
        _ => (
            Severity::Error,
            format!("`$ref: {reference}` does not resolve: {error}"),
        ),
    }
}

fn references(ctx: &mut Ctx<'_>, resolver: &mut Resolver) {
    let mut refs = Vec::new();
    each_ref(&ctx.source.value, "", &mut |p, r| refs.push((p.to_owned(), r.to_owned())));
    for (pointer, reference) in refs {
        if let Err(e) = resolver.resolve(&ctx.source.path, &ctx.source.value, &reference) {
            let (severity, message) = ref_problem(&reference, &e);
            ctx.add(severity, "ref", &join(&pointer, "$ref"), message);
        }
    }
}

/// What a reference must lead to, by where it is: the official parser validates the
/// document again with references resolved; compiling the schema a second time that way
/// costs seconds, so the same mistake (a reference to the wrong kind of object, say a
/// message reference to a schema) is found by checking each target's fields against its
/// definition's.
fn referenced_kinds(ctx: &mut Ctx<'_>, resolver: &mut Resolver) {
    let source = ctx.source;
    let doc = &source.value;
    let mut slots: Vec<(String, &'static str, &Value)> = Vec::new();
    let each = |pointer: &str| -> Vec<(String, &Value)> {
        doc.pointer(pointer)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (join(pointer, k), v)).collect())
            .unwrap_or_default()
    };
    for base in ["/channels", "/components/channels"] {
        for (p, c) in each(base) {
            for (mp, m) in each(&format!("{p}/messages")) {
                slots.push((mp, "messageObject", m));
            }
            if let Some(servers) = c.get("servers").and_then(Value::as_array) {
                for (i, s) in servers.iter().enumerate() {
                    slots.push((format!("{p}/servers/{i}"), "server", s));
                }
            }
        }
    }
    for base in ["/operations", "/components/operations"] {
        for (p, o) in each(base) {
            if let Some(c) = o.get("channel") {
                slots.push((join(&p, "channel"), "channel", c));
            }
            if let Some(ms) = o.get("messages").and_then(Value::as_array) {
                for (i, m) in ms.iter().enumerate() {
                    slots.push((format!("{p}/messages/{i}"), "messageObject", m));
                }
            }
        }
    }
    for (p, m) in each("/components/messages") {
        slots.push((p, "messageObject", m));
    }
    for (pointer, kind, value) in slots {
        let Some(reference) = ref_of(value) else { continue };
        let Ok((target, _)) = resolver.resolve(&source.path, doc, reference) else {
            continue; // reported by `references`
        };
        let Some(target) = target.as_object() else {
            ctx.add(
                Severity::Error,
                "ref-kind",
                &join(&pointer, "$ref"),
                format!("`$ref: {reference}` leads to {}, not an object", crate::schema::json_type(&target)),
            );
            continue;
        };
        if target.contains_key("$ref") {
            continue; // a chain: its own slot, if any, is checked where it is
        }
        let Some((names, required)) = crate::schema::object_shape(kind) else { continue };
        let what = match kind {
            "messageObject" => "message",
            other => other,
        };
        let strangers: Vec<&String> = target
            .keys()
            .filter(|k| !names.contains(*k) && !k.starts_with("x-"))
            .collect();
        let missing: Vec<&String> = required.iter().filter(|r| !target.contains_key(*r)).collect();
        if !strangers.is_empty() || !missing.is_empty() {
            let mut problems = Vec::new();
            if !strangers.is_empty() {
                let list: Vec<String> = strangers.iter().map(|s| format!("\"{s}\"")).collect();
                problems.push(format!("it has {} which a {what} cannot have", list.join(", ")));
            }
            if !missing.is_empty() {
                let list: Vec<String> = missing.iter().map(|s| format!("\"{s}\"")).collect();
                problems.push(format!("it lacks the required {}", list.join(", ")));
            }
            ctx.add(
                Severity::Error,
                "ref-kind",
                &join(&pointer, "$ref"),
                format!("`$ref: {reference}` must lead to a {what}, but {}", problems.join(" and ")),
            );
        }
    }
}

/// Checks the references inside every file the document pulled in (transitively).
fn referenced_files(root: &Source, resolver: &mut Resolver) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut done: HashSet<PathBuf> = HashSet::new();
    done.insert(refs::absolute(&root.path));
    loop {
        let pending: Vec<(PathBuf, Source)> = resolver
            .loaded()
            .filter(|(p, _)| !done.contains(*p))
            .map(|(p, s)| (p.clone(), s.clone()))
            .collect();
        if pending.is_empty() {
            break;
        }
        for (path, source) in pending {
            done.insert(path.clone());
            let mut refs = Vec::new();
            each_ref(&source.value, "", &mut |p, r| refs.push((p.to_owned(), r.to_owned())));
            for (pointer, reference) in refs {
                if let Err(e) = resolver.resolve(&path, &source.value, &reference) {
                    let (severity, message) = ref_problem(&reference, &e);
                    let pointer = join(&pointer, "$ref");
                    findings.push(finding(
                        &source.name,
                        source.position(&pointer),
                        severity,
                        "ref",
                        &pointer,
                        message,
                    ));
                }
            }
        }
    }
    findings
}

/// The object at `value`, following one `$ref` if it is one.
fn deref(
    resolver: &mut Resolver,
    source: &Source,
    value: &Value,
) -> Option<Value> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => resolver
            .resolve(&source.path, &source.value, r)
            .ok()
            .map(|(v, _)| v),
        None => Some(value.clone()),
    }
}

fn ref_of(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str)
}

/// Operations: the channel is a root channel, and the messages (and the reply's) are the
/// channel's own.
fn operations(ctx: &mut Ctx<'_>, resolver: &mut Resolver) {
    let source = ctx.source;
    for (base, root) in [("/operations", true), ("/components/operations", false)] {
        let Some(ops) = source.value.pointer(base).and_then(Value::as_object) else {
            continue;
        };
        for (id, op) in ops {
            let at = join(base, id);
            if ref_of(op).is_some() {
                continue;
            }
            let channel_ref = op.get("channel").and_then(ref_of);
            if root {
                if let Some(c) = channel_ref {
                    if !c.starts_with("#/channels/") {
                        ctx.add(
                            Severity::Error,
                            "operation-channel",
                            &format!("{at}/channel/$ref"),
                            format!("operation \"{id}\" must reference a channel under the root `channels` (`#/channels/...`), not `{c}`"),
                        );
                    }
                }
            }
            if let (Some(c), Some(messages)) = (channel_ref, op.get("messages").and_then(Value::as_array)) {
                check_subset(ctx, resolver, &format!("{at}/messages"), id, "operation", c, messages);
            }
            if let Some(reply) = op.get("reply") {
                let reply = if ref_of(reply).is_some() {
                    deref(resolver, source, reply).unwrap_or(Value::Null)
                } else {
                    reply.clone()
                };
                let reply_channel = reply.get("channel").and_then(ref_of).or(channel_ref);
                if let (Some(c), Some(messages)) = (reply_channel, reply.get("messages").and_then(Value::as_array)) {
                    check_subset(ctx, resolver, &format!("{at}/reply/messages"), id, "reply of operation", c, messages);
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_subset(
    ctx: &mut Ctx<'_>,
    resolver: &mut Resolver,
    at: &str,
    id: &str,
    what: &str,
    channel_ref: &str,
    messages: &[Value],
) {
    let source = ctx.source;
    let prefix = format!("{channel_ref}/messages/");
    let Some(channel) = resolver
        .resolve(&source.path, &source.value, channel_ref)
        .ok()
        .map(|(v, _)| v)
    else {
        return; // the unresolved reference is reported by `references`
    };
    let channel_messages: Vec<Value> = channel
        .get("messages")
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(|v| deref(resolver, source, v)).collect())
        .unwrap_or_default();
    let channel_name = channel_ref.rsplit('/').next().unwrap_or(channel_ref);
    for (i, m) in messages.iter().enumerate() {
        let Some(r) = ref_of(m) else { continue };
        if r.starts_with(&prefix) {
            continue;
        }
        let Some(target) = deref(resolver, source, m) else {
            continue; // reported as an unresolved reference
        };
        if channel_messages.contains(&target) {
            continue;
        }
        ctx.add(
            Severity::Error,
            "operation-messages",
            &format!("{at}/{i}"),
            format!(
                "{what} \"{id}\" uses message `{r}`, which is not one of the messages of its channel \"{}\"; reference it as `{prefix}<id>`",
                refs::percent_decode(channel_name)
            ),
        );
    }
}

/// `{name}`s of an address.
pub fn address_parameters(address: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = address;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Channels: parameters match the address (`{x}` both ways), no `?`/`#` in the id, root
/// channels name root servers.
fn channels(ctx: &mut Ctx<'_>) {
    let source = ctx.source;
    for (base, root) in [("/channels", true), ("/components/channels", false)] {
        let Some(chans) = source.value.pointer(base).and_then(Value::as_object) else {
            continue;
        };
        for (id, channel) in chans {
            let at = join(base, id);
            if ref_of(channel).is_some() || !channel.is_object() {
                continue;
            }
            if root && (id.contains('?') || id.contains('#')) {
                ctx.add(
                    Severity::Error,
                    "channel-id",
                    &at,
                    format!("channel id \"{id}\" must not contain `?` or `#`"),
                );
            }
            let address = channel.get("address").and_then(Value::as_str);
            let in_address = address.map(address_parameters).unwrap_or_default();
            let params = channel.get("parameters").and_then(Value::as_object);
            for name in &in_address {
                if !params.is_some_and(|p| p.contains_key(name)) {
                    let message = match params {
                        None => format!(
                            "the address \"{}\" has the parameter {{{name}}}, but the channel has no `parameters`; add `parameters: {{{name}: {{}}}}`",
                            address.unwrap_or_default()
                        ),
                        Some(_) => format!(
                            "the address \"{}\" has the parameter {{{name}}}, which `parameters` does not define",
                            address.unwrap_or_default()
                        ),
                    };
                    ctx.add(Severity::Error, "channel-parameters", &join(&at, "address"), message);
                }
            }
            if let Some(params) = params {
                for name in params.keys() {
                    if !in_address.contains(name) {
                        let message = match address {
                            Some(a) => format!("parameter \"{name}\" does not appear in the address \"{a}\""),
                            None => format!("parameter \"{name}\" is defined but the channel has no address"),
                        };
                        ctx.add(
                            Severity::Error,
                            "channel-parameters",
                            &join(&join(&at, "parameters"), name),
                            message,
                        );
                    }
                }
            }
            if root {
                if let Some(servers) = channel.get("servers").and_then(Value::as_array) {
                    for (i, s) in servers.iter().enumerate() {
                        if let Some(r) = ref_of(s) {
                            if !r.starts_with("#/servers/") {
                                ctx.add(
                                    Severity::Error,
                                    "channel-servers",
                                    &format!("{at}/servers/{i}/$ref"),
                                    format!("channel \"{id}\" must reference servers under the root `servers` (`#/servers/...`), not `{r}`"),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn protocols(ctx: &mut Ctx<'_>) {
    let source = ctx.source;
    for base in ["/servers", "/components/servers"] {
        let Some(servers) = source.value.pointer(base).and_then(Value::as_object) else {
            continue;
        };
        for (name, server) in servers {
            let Some(protocol) = server.get("protocol").and_then(Value::as_str) else {
                continue;
            };
            if KNOWN_PROTOCOLS.contains(&protocol.to_ascii_lowercase().as_str()) {
                continue;
            }
            let closest = KNOWN_PROTOCOLS
                .iter()
                .min_by_key(|k| distance(&protocol.to_ascii_lowercase(), k))
                .filter(|k| distance(&protocol.to_ascii_lowercase(), k) <= 2);
            let hint = match closest {
                Some(k) => format!(" (did you mean \"{k}\"?)"),
                None => String::new(),
            };
            ctx.add(
                Severity::Error,
                "protocol",
                &format!("{}/protocol", join(base, name)),
                format!("server \"{name}\" has the unknown protocol \"{protocol}\"{hint}; known: {}", KNOWN_PROTOCOLS.join(", ")),
            );
        }
    }
}

/// Every bindings object of the document, with its kind (`server`, `channel`, ...).
fn bindings_objects(doc: &Value) -> Vec<(String, &'static str, &Value)> {
    fn add<'v>(out: &mut Vec<(String, &'static str, &'v Value)>, pointer: String, kind: &'static str, object: &'v Value) {
        if let Some(b) = object.get("bindings") {
            if ref_of(b).is_none() {
                out.push((join(&pointer, "bindings"), kind, b));
            }
        }
    }
    let mut out = Vec::new();
    let each = |pointer: &str| -> Vec<(String, &Value)> {
        doc.pointer(pointer)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (join(pointer, k), v)).collect())
            .unwrap_or_default()
    };
    for (kind, bases) in [
        ("server", &["/servers", "/components/servers"][..]),
        ("channel", &["/channels", "/components/channels"][..]),
        ("operation", &["/operations", "/components/operations", "/components/operationTraits"][..]),
        ("message", &["/components/messages", "/components/messageTraits"][..]),
    ] {
        for base in bases {
            for (p, v) in each(base) {
                add(&mut out, p.clone(), kind, v);
                if kind == "channel" {
                    for (mp, mv) in each(&format!("{p}/messages")) {
                        add(&mut out, mp, "message", mv);
                    }
                }
                if let Some(traits) = v.get("traits").and_then(Value::as_array) {
                    let trait_kind = if kind == "operation" { "operation" } else { "message" };
                    for (i, t) in traits.iter().enumerate() {
                        add(&mut out, format!("{p}/traits/{i}"), trait_kind, t);
                    }
                }
            }
        }
    }
    for (kind, base) in [
        ("server", "/components/serverBindings"),
        ("channel", "/components/channelBindings"),
        ("operation", "/components/operationBindings"),
        ("message", "/components/messageBindings"),
    ] {
        for (p, v) in each(base) {
            out.push((p, kind, v));
        }
    }
    out
}

fn bindings(ctx: &mut Ctx<'_>) {
    let table = crate::schema::binding_versions();
    for (pointer, kind, object) in bindings_objects(&ctx.source.value) {
        let Some(map) = object.as_object() else { continue };
        for (protocol, binding) in map {
            if protocol.starts_with("x-") {
                continue;
            }
            let Some(version) = binding.get("bindingVersion").and_then(Value::as_str) else {
                continue;
            };
            let Some(accepted) = table.get(kind).and_then(|t| t.get(protocol)) else {
                continue; // an unknown protocol key is a schema error already
            };
            if accepted.is_empty() || accepted.contains(version) {
                continue;
            }
            let list: Vec<&str> = accepted.iter().map(String::as_str).collect();
            ctx.add(
                Severity::Error,
                "binding-version",
                &format!("{}/bindingVersion", join(&pointer, protocol)),
                format!(
                    "{kind} binding \"{protocol}\" has bindingVersion {version}, which the AsyncAPI 3.0.0 schema does not accept (accepted: {})",
                    list.join(", ")
                ),
            );
        }
    }
}

/// Every message payload/headers and component schema (the places `@asyncapi/parser`
/// looks for Multi Format Schema Objects).
fn schema_slots(doc: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    let each = |pointer: &str| -> Vec<(String, &Value)> {
        doc.pointer(pointer)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (join(pointer, k), v)).collect())
            .unwrap_or_default()
    };
    let mut messages = each("/components/messages");
    for base in ["/channels", "/components/channels"] {
        for (p, _) in each(base) {
            messages.extend(each(&format!("{p}/messages")));
        }
    }
    for (p, m) in messages {
        for slot in ["payload", "headers"] {
            if let Some(v) = m.get(slot) {
                out.push((join(&p, slot), v));
            }
        }
    }
    out.extend(each("/components/schemas"));
    out
}

/// Whether a `schemaFormat` names Avro.
pub fn is_avro(format: &str) -> bool {
    format.to_ascii_lowercase().contains("avro")
}

fn avro_payloads(ctx: &mut Ctx<'_>, resolver: &mut Resolver) {
    let source = ctx.source;
    for (pointer, slot) in schema_slots(&source.value) {
        let Some(format) = slot.get("schemaFormat").and_then(Value::as_str) else {
            continue;
        };
        if !is_avro(format) {
            continue;
        }
        let Some(schema) = slot.get("schema") else { continue };
        let schema = match deref(resolver, source, schema) {
            Some(s) => s,
            None => continue, // unresolved: reported by `references`
        };
        if let Err(message) = check_avro(&schema) {
            ctx.add(
                Severity::Error,
                "avro",
                &join(&pointer, "schema"),
                format!("not a valid Avro schema: {message}"),
            );
        }
    }
}

/// Whether `name` is an Avro name (dotted segments of `[A-Za-z_][A-Za-z0-9_]*`).
fn avro_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|segment| {
            let mut chars = segment.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// The first invalid `name`/`namespace` of a named type, found before `apache-avro` sees
/// it: its parser panics on some of them instead of returning an error.
fn bad_avro_name(schema: &Value, depth: usize) -> Option<String> {
    if depth > crate::source::MAX_DEPTH {
        return Some("the schema nests too deeply".into());
    }
    match schema {
        Value::Object(map) => {
            let named = matches!(map.get("type").and_then(Value::as_str), Some("record" | "error" | "enum" | "fixed"));
            if named {
                for key in ["name", "namespace"] {
                    if let Some(v) = map.get(key) {
                        match v.as_str() {
                            Some(n) if key == "namespace" && n.is_empty() => {}
                            Some(n) if avro_name_ok(n) => {}
                            _ => return Some(format!("{key} {} is not a valid Avro name", crate::schema::short(v))),
                        }
                    }
                }
            }
            map.values().find_map(|v| bad_avro_name(v, depth + 1))
        }
        Value::Array(items) => items.iter().find_map(|v| bad_avro_name(v, depth + 1)),
        _ => None,
    }
}

/// Parses an Avro schema (a JSON value, or a string holding one).
pub fn check_avro(schema: &Value) -> Result<apache_avro::Schema, String> {
    let value = match schema {
        Value::String(text) => serde_json::from_str::<Value>(text).unwrap_or_else(|_| schema.clone()),
        other => other.clone(),
    };
    if let Some(problem) = bad_avro_name(&value, 0) {
        return Err(problem);
    }
    // The parser is a dependency we do not control: a panic in it is a finding, not a crash.
    match std::panic::catch_unwind(|| apache_avro::Schema::parse(&value)) {
        Ok(parsed) => parsed.map_err(|e| e.to_string()),
        Err(_) => Err("the Avro schema parser gave up on this schema".into()),
    }
}

/// The same message id (the key of a channel's or the components' messages) must mean the
/// same message: catalogs join producers and consumers by it.
fn message_ids(ctx: &mut Ctx<'_>, resolver: &mut Resolver) {
    let source = ctx.source;
    let mut seen: BTreeMap<String, (String, Value)> = BTreeMap::new();
    let mut places: Vec<(String, String, &Value)> = Vec::new();
    if let Some(m) = source.value.pointer("/components/messages").and_then(Value::as_object) {
        for (k, v) in m {
            places.push((k.clone(), join("/components/messages", k), v));
        }
    }
    if let Some(chans) = source.value.pointer("/channels").and_then(Value::as_object) {
        for (cid, c) in chans {
            if let Some(m) = c.get("messages").and_then(Value::as_object) {
                for (k, v) in m {
                    places.push((k.clone(), format!("/channels/{}/messages/{}", escape_token(cid), escape_token(k)), v));
                }
            }
        }
    }
    let mut reported = BTreeSet::new();
    for (id, pointer, value) in places {
        let Some(resolved) = deref(resolver, source, value) else { continue };
        match seen.get(&id) {
            None => {
                seen.insert(id, (pointer, resolved));
            }
            Some((first, first_value)) => {
                if *first_value != resolved && reported.insert(id.clone()) {
                    let first = first.clone();
                    ctx.add(
                        Severity::Warning,
                        "message-id",
                        &pointer,
                        format!("message id \"{id}\" names a different message here than at {first}; consumers and catalogs join messages by id"),
                    );
                }
            }
        }
    }
}

/// Loads and validates `path`: `Err` when it is not a usable document at all.
pub fn validate_file(path: &Path) -> Result<FileReport, crate::source::LoadError> {
    let source = Source::load(path)?;
    Ok(validate_source(&source))
}
