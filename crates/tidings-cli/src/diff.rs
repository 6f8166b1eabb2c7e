//! `tidings diff OLD NEW`: every change between two documents, classified as breaking or
//! not, and for whom.
//!
//! A document describes one application. On a `send` operation the application produces
//! and *other* services consume; on a `receive` operation others produce and the
//! application consumes. A payload change either **narrows** what is accepted (a message
//! that was valid no longer is: a required field added, a type narrowed, an enum value
//! removed, `additionalProperties` tightened) or **loosens what is guaranteed** (a message
//! may now lack something consumers read: a field removed, a type widened, an enum value
//! added, a default dropped). Narrowing breaks the *producers* of a message the
//! application receives; loosening breaks the *consumers* of a message it sends. A message
//! no operation uses is judged from both sides.
//!
//! Both documents are read with every `$ref` inlined, so a change behind a reference is
//! seen where it takes effect. Avro payloads are compared with the same field rules
//! (required = no default); the Schema Registry's full BACKWARD/FORWARD/FULL rules are not
//! implemented yet.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::Value;

use crate::refs::Resolver;
use crate::source::{join, Source};

/// Arguments of `tidings diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old document.
    pub old: PathBuf,
    /// The new document.
    pub new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
    /// Exit 0 even when something breaks.
    #[arg(long)]
    pub allow_breaking: bool,
    /// A breaking change inside a message whose version was bumped (message `version`
    /// field, or `x-eventcatalog-message-version`) is reported but does not fail.
    #[arg(long)]
    pub version_bump_allows: bool,
}

/// Output formats of `tidings diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// One line per change.
    Text,
    /// One JSON object.
    Json,
    /// A markdown table, for a pull-request comment.
    Markdown,
}

/// Who a change breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// Services that send the message (to a channel the application receives on).
    Producers,
    /// Services that receive the message (from a channel the application sends on).
    Consumers,
}

/// One change between the two documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What kind of change (`required-field-added`, `channel-removed`, ...).
    pub kind: String,
    /// Where: a JSON pointer into the old document (the new one for additions).
    pub pointer: String,
    /// Whether anyone breaks.
    pub breaking: bool,
    /// Who breaks (empty when nothing does).
    pub breaks: Vec<Party>,
    /// The message it is in, when it is inside one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A breaking change that the message's version bump allows (`--version-bump-allows`).
    pub allowed_by_version_bump: bool,
    /// A sentence.
    pub description: String,
}

/// The result of a diff.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// The old file.
    pub old: String,
    /// The new file.
    pub new: String,
    /// Every change, in document order.
    pub changes: Vec<Change>,
}

impl DiffReport {
    /// Breaking changes that are not allowed by a version bump.
    pub fn failing(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.breaking && !c.allowed_by_version_bump)
            .count()
    }
}

/// What a schema change does to the set of valid messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Nothing anyone relies on.
    Safe,
    /// Some message valid before is not now: producers written for the old schema break.
    Narrows,
    /// Consumers lose something they could rely on.
    Loosens,
    /// Both.
    Both,
}

/// How the application uses a message: does it send it, receive it, or neither (unknown).
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    sends: bool,
    receives: bool,
}

impl Usage {
    fn parties(self, effect: Effect) -> Vec<Party> {
        let (sends, receives) = if !self.sends && !self.receives {
            (true, true) // unused here: someone else may use it either way
        } else {
            (self.sends, self.receives)
        };
        let mut out = Vec::new();
        if receives && matches!(effect, Effect::Narrows | Effect::Both) {
            out.push(Party::Producers);
        }
        if sends && matches!(effect, Effect::Loosens | Effect::Both) {
            out.push(Party::Consumers);
        }
        out
    }
}

struct Differ {
    changes: Vec<Change>,
    allow_bumps: bool,
    /// Message ids already compared on a channel present in both documents.
    compared: BTreeSet<String>,
}

struct MessageCtx<'a> {
    name: String,
    usage: Usage,
    bumped: Option<(&'a str, &'a str)>,
}

impl Differ {
    fn push(&mut self, kind: &str, pointer: &str, breaks: Vec<Party>, message: Option<&MessageCtx<'_>>, description: String) {
        let breaking = !breaks.is_empty();
        let allowed = breaking && self.allow_bumps && message.is_some_and(|m| m.bumped.is_some());
        let description = match message.and_then(|m| m.bumped.filter(|_| allowed)) {
            Some((old, new)) => format!("{description} (allowed: the message version went from {old} to {new})"),
            None => description,
        };
        self.changes.push(Change {
            kind: kind.to_owned(),
            pointer: pointer.to_owned(),
            breaking,
            breaks,
            message: message.map(|m| m.name.clone()),
            allowed_by_version_bump: allowed,
            description,
        });
    }

    fn schema_change(&mut self, kind: &str, pointer: &str, effect: Effect, m: &MessageCtx<'_>, description: String) {
        let breaks = if effect == Effect::Safe { Vec::new() } else { m.usage.parties(effect) };
        self.push(kind, pointer, breaks, Some(m), description);
    }
}

/// Loads a document with every reference inlined.
fn load_inlined(path: &std::path::Path) -> Result<(Source, Value), crate::source::LoadError> {
    let source = Source::load(path)?;
    let mut resolver = Resolver::new(&source.path);
    let value = crate::refs::inline(&mut resolver, &source.path, &source.value, &source.value);
    Ok((source, value))
}

/// Compares two loaded (inlined) documents.
pub fn diff_values(old_name: &str, old: &Value, new_name: &str, new: &Value, allow_bumps: bool) -> DiffReport {
    let mut d = Differ {
        changes: Vec::new(),
        allow_bumps,
        compared: BTreeSet::new(),
    };
    let old_usage = usages(old);
    let new_usage = usages(new);
    servers(&mut d, old, new);
    channels(&mut d, old, new, &old_usage, &new_usage);
    operations(&mut d, old, new);
    components_messages(&mut d, old, new, &old_usage, &new_usage);
    DiffReport {
        old: old_name.to_owned(),
        new: new_name.to_owned(),
        changes: d.changes,
    }
}

fn object<'v>(v: &'v Value, pointer: &str) -> BTreeMap<&'v String, &'v Value> {
    v.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

fn servers(d: &mut Differ, old: &Value, new: &Value) {
    let (o, n) = (object(old, "/servers"), object(new, "/servers"));
    for (name, server) in &o {
        let at = join("/servers", name);
        match n.get(name) {
            None => d.push("server-removed", &at, vec![Party::Producers, Party::Consumers], None, format!("server \"{name}\" was removed")),
            Some(new_server) => {
                for field in ["host", "protocol", "pathname"] {
                    let (a, b) = (server.get(field), new_server.get(field));
                    if a != b {
                        d.push(
                            &format!("server-{field}-changed"),
                            &join(&at, field),
                            vec![Party::Producers, Party::Consumers],
                            None,
                            format!("server \"{name}\" {field} changed from {} to {}", show(a), show(b)),
                        );
                    }
                }
            }
        }
    }
    for name in n.keys().filter(|k| !o.contains_key(*k)) {
        d.push("server-added", &join("/servers", name), Vec::new(), None, format!("server \"{name}\" was added"));
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => format!("\"{s}\""),
        Some(v) => crate::schema::short(v),
    }
}

/// channel id -> how the application uses it, from the root operations.
fn usages(doc: &Value) -> BTreeMap<String, Usage> {
    let mut out: BTreeMap<String, Usage> = BTreeMap::new();
    let channels = object(doc, "/channels");
    for op in object(doc, "/operations").values() {
        // After inlining, the operation's channel is the channel object itself: find its id
        // by comparing with the root channels.
        let Some(channel) = op.get("channel") else { continue };
        let ids: Vec<&String> = channels
            .iter()
            .filter(|(_, c)| **c == channel)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let u = out.entry(id.clone()).or_default();
            match op.get("action").and_then(Value::as_str) {
                Some("send") => u.sends = true,
                Some("receive") => u.receives = true,
                _ => {}
            }
        }
    }
    out
}

fn usage_of(old: &BTreeMap<String, Usage>, new: &BTreeMap<String, Usage>, channel: &str) -> Usage {
    let (a, b) = (old.get(channel).copied().unwrap_or_default(), new.get(channel).copied().unwrap_or_default());
    Usage {
        sends: a.sends || b.sends,
        receives: a.receives || b.receives,
    }
}

fn channels(d: &mut Differ, old: &Value, new: &Value, ou: &BTreeMap<String, Usage>, nu: &BTreeMap<String, Usage>) {
    let (o, n) = (object(old, "/channels"), object(new, "/channels"));
    for (id, channel) in &o {
        let at = join("/channels", id);
        let usage = usage_of(ou, nu, id);
        match n.get(id) {
            None => {
                let parties = Usage::parties(usage, Effect::Both);
                d.push("channel-removed", &at, parties, None, format!("channel \"{id}\" was removed"));
            }
            Some(new_channel) => {
                let (a, b) = (channel.get("address"), new_channel.get("address"));
                if a != b {
                    d.push(
                        "channel-address-changed",
                        &join(&at, "address"),
                        vec![Party::Producers, Party::Consumers],
                        None,
                        format!("channel \"{id}\" address changed from {} to {}: producers and consumers meet at different addresses", show(a), show(b)),
                    );
                }
                let (om, nm) = (object(channel, "/messages"), object(new_channel, "/messages"));
                for (mid, m) in &om {
                    let mat = join(&join(&at, "messages"), mid);
                    match nm.get(mid) {
                        None => {
                            let parties = usage.parties(Effect::Both);
                            d.push("message-removed", &mat, parties, None, format!("message \"{mid}\" was removed from channel \"{id}\""));
                        }
                        Some(nmsg) => {
                            d.compared.insert((*mid).clone());
                            message(d, &mat, mid, usage, m, nmsg)
                        }
                    }
                }
                for mid in nm.keys().filter(|k| !om.contains_key(*k)) {
                    d.push(
                        "message-added",
                        &join(&join(&at, "messages"), mid),
                        Vec::new(),
                        None,
                        format!("message \"{mid}\" was added to channel \"{id}\" (consumers are expected to skip message types they do not know)"),
                    );
                }
            }
        }
    }
    for id in n.keys().filter(|k| !o.contains_key(*k)) {
        d.push("channel-added", &join("/channels", id), Vec::new(), None, format!("channel \"{id}\" was added"));
    }
}

fn operations(d: &mut Differ, old: &Value, new: &Value) {
    let (o, n) = (object(old, "/operations"), object(new, "/operations"));
    let action = |op: &Value| op.get("action").and_then(Value::as_str).unwrap_or("").to_owned();
    for (id, op) in &o {
        let at = join("/operations", id);
        match n.get(id) {
            None => {
                // Others lose the application at the other end of the channel.
                let parties = match action(op).as_str() {
                    "send" => vec![Party::Consumers],
                    "receive" => vec![Party::Producers],
                    _ => vec![Party::Producers, Party::Consumers],
                };
                d.push("operation-removed", &at, parties, None, format!("operation \"{id}\" ({}) was removed", action(op)));
            }
            Some(new_op) => {
                if action(op) != action(new_op) {
                    d.push(
                        "operation-action-changed",
                        &join(&at, "action"),
                        vec![Party::Producers, Party::Consumers],
                        None,
                        format!("operation \"{id}\" changed from {} to {}", action(op), action(new_op)),
                    );
                }
                // Inlined, the channel is known by value: find its id in each document.
                let channel_id = |doc: &Value, op: &Value| -> Option<String> {
                    let c = op.get("channel")?;
                    object(doc, "/channels").into_iter().find(|(_, v)| *v == c).map(|(k, _)| k.clone())
                };
                let (a, b) = (channel_id(old, op), channel_id(new, new_op));
                if a != b {
                    let name = |x: &Option<String>| x.clone().map(|s| format!("\"{s}\"")).unwrap_or_else(|| "(unknown)".into());
                    d.push(
                        "operation-channel-changed",
                        &join(&at, "channel"),
                        vec![Party::Producers, Party::Consumers],
                        None,
                        format!("operation \"{id}\" moved from channel {} to {}", name(&a), name(&b)),
                    );
                }
            }
        }
    }
    for id in n.keys().filter(|k| !o.contains_key(*k)) {
        d.push("operation-added", &join("/operations", id), Vec::new(), None, format!("operation \"{id}\" was added"));
    }
}

/// Messages under `components/messages` not compared on a channel already (a channel
/// removed, or a message no channel uses), with the usage of the channels that carried them.
fn components_messages(d: &mut Differ, old: &Value, new: &Value, ou: &BTreeMap<String, Usage>, nu: &BTreeMap<String, Usage>) {
    let usage_in = |doc: &Value, usages: &BTreeMap<String, Usage>, m: &Value, u: &mut Usage| {
        for (cid, c) in object(doc, "/channels") {
            if object(c, "/messages").values().any(|v| *v == m) {
                let x = usages.get(cid).copied().unwrap_or_default();
                u.sends |= x.sends;
                u.receives |= x.receives;
            }
        }
    };
    let (o, n) = (object(old, "/components/messages"), object(new, "/components/messages"));
    for (id, m) in &o {
        if d.compared.contains(*id) {
            continue;
        }
        let at = join("/components/messages", id);
        let mut usage = Usage::default();
        usage_in(old, ou, m, &mut usage);
        match n.get(id) {
            None => {
                let parties = usage.parties(Effect::Both);
                d.push("message-removed", &at, parties, None, format!("message \"{id}\" was removed from components"));
            }
            Some(nm) => {
                usage_in(new, nu, nm, &mut usage);
                message(d, &at, id, usage, m, nm);
            }
        }
    }
    let added: Vec<&String> = n.keys().filter(|k| !o.contains_key(*k) && !d.compared.contains(k.as_str())).copied().collect();
    for id in added {
        d.push("message-added", &join("/components/messages", id), Vec::new(), None, format!("message \"{id}\" was added to components"));
    }
}

fn version_of(m: &Value) -> Option<&str> {
    m.get("x-eventcatalog-message-version")
        .or_else(|| m.get("version"))
        .and_then(Value::as_str)
}

fn message(d: &mut Differ, at: &str, id: &str, usage: Usage, old: &Value, new: &Value) {
    if old == new {
        return;
    }
    let bumped = match (version_of(old), version_of(new)) {
        (Some(a), Some(b)) if a != b => Some((a, b)),
        _ => None,
    };
    let ctx = MessageCtx {
        name: id.to_owned(),
        usage,
        bumped,
    };
    if let Some((a, b)) = bumped {
        d.push("message-version-changed", at, Vec::new(), Some(&ctx), format!("message \"{id}\" version changed from {a} to {b}"));
    }
    let (oc, nc) = (old.get("contentType"), new.get("contentType"));
    if oc != nc {
        d.schema_change("content-type-changed", &join(at, "contentType"), Effect::Both, &ctx, format!("message \"{id}\" content type changed from {} to {}", show(oc), show(nc)));
    }
    for part in ["payload", "headers"] {
        let (a, b) = (old.get(part), new.get(part));
        let p = join(at, part);
        match (a, b) {
            (None, None) => {}
            (Some(_), None) => d.schema_change(&format!("{part}-removed"), &p, Effect::Loosens, &ctx, format!("message \"{id}\" no longer describes its {part}")),
            (None, Some(_)) => d.schema_change(&format!("{part}-added"), &p, Effect::Narrows, &ctx, format!("message \"{id}\" now constrains its {part}")),
            (Some(a), Some(b)) => {
                let (a, pa) = unwrap_multiformat(a, &p);
                let (b, _) = unwrap_multiformat(b, &p);
                if avro_like(a) || avro_like(b) {
                    avro(d, &pa, &ctx, part, a, b);
                } else {
                    schema(d, &pa, &ctx, part, a, b);
                }
            }
        }
    }
}

/// A Multi Format Schema Object `{schemaFormat, schema}` -> its schema.
fn unwrap_multiformat<'v>(v: &'v Value, pointer: &str) -> (&'v Value, String) {
    match (v.get("schemaFormat"), v.get("schema")) {
        (Some(_), Some(s)) => (s, join(pointer, "schema")),
        _ => (v, pointer.to_owned()),
    }
}

fn avro_like(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("record") && v.get("fields").is_some_and(Value::is_array)
}

fn types(v: &Value) -> BTreeSet<String> {
    match v.get("type") {
        Some(Value::String(t)) => [t.clone()].into(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    }
    .into_iter()
    .flat_map(|t| if t == "number" { vec![t, "integer".to_owned()] } else { vec![t] })
    .collect()
}

fn names(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// JSON Schema payloads, recursively.
fn schema(d: &mut Differ, at: &str, m: &MessageCtx<'_>, part: &str, old: &Value, new: &Value) {
    if old == new {
        return;
    }
    let id = &m.name;
    let field = |p: &str| -> String {
        let rel = p.split_once(&format!("/{part}")).map(|(_, r)| r).unwrap_or(p);
        let rel = rel.strip_prefix("/schema").unwrap_or(rel);
        let parts: Vec<String> = rel
            .split('/')
            .filter(|s| !s.is_empty() && *s != "properties" && *s != "items")
            .map(crate::source::unescape_token)
            .collect();
        if parts.is_empty() {
            format!("the {part} of \"{id}\"")
        } else {
            format!("field \"{}\" of \"{id}\"", parts.join("."))
        }
    };
    // Type.
    let (ot, nt) = (types(old), types(new));
    if ot != nt {
        let effect = if nt.is_empty() {
            Effect::Loosens
        } else if ot.is_empty() || nt.is_subset(&ot) {
            Effect::Narrows
        } else if ot.is_subset(&nt) {
            Effect::Loosens
        } else {
            Effect::Both
        };
        let kind = match effect {
            Effect::Narrows => "type-narrowed",
            Effect::Loosens => "type-widened",
            _ => "type-changed",
        };
        d.schema_change(kind, &join(at, "type"), effect, m, format!("{} type changed from {} to {}", field(at), show(old.get("type")), show(new.get("type"))));
    }
    // Required.
    let (or, nr) = (names(old.get("required")), names(new.get("required")));
    for r in nr.difference(&or) {
        d.schema_change("required-field-added", &join(at, "required"), Effect::Narrows, m, format!("{} now requires \"{r}\": messages without it are rejected", field(at)));
    }
    for r in or.difference(&nr) {
        let still = new.pointer(&format!("/properties/{}", crate::source::escape_token(r))).is_some();
        if still {
            d.schema_change("required-field-made-optional", &join(at, "required"), Effect::Loosens, m, format!("\"{r}\" of {} is no longer required: consumers may not get it", field(at)));
        }
    }
    // Properties.
    let (op, np) = (object(old, "/properties"), object(new, "/properties"));
    for (name, os) in &op {
        let pat = join(&join(at, "properties"), name);
        match np.get(name) {
            None => {
                let (kind, text) = if or.contains(*name) {
                    ("required-field-removed", format!("required field \"{name}\" was removed from {}: consumers reading it break", field(at)))
                } else {
                    ("field-removed", format!("field \"{name}\" was removed from {}: consumers reading it break", field(at)))
                };
                // Where extra properties are refused, old messages carrying it are rejected too.
                let closed = new.get("additionalProperties") == Some(&Value::Bool(false));
                let effect = if closed { Effect::Both } else { Effect::Loosens };
                d.schema_change(kind, &pat, effect, m, text);
            }
            Some(ns) => schema(d, &pat, m, part, os, ns),
        }
    }
    for name in np.keys().filter(|k| !op.contains_key(*k)) {
        let pat = join(&join(at, "properties"), name);
        if nr.contains(*name) {
            // Counted by required-field-added already.
            continue;
        }
        d.schema_change("field-added", &pat, Effect::Safe, m, format!("optional field \"{name}\" was added to {}", field(at)));
    }
    // Items.
    if let (Some(oi), Some(ni)) = (old.get("items"), new.get("items")) {
        schema(d, &join(at, "items"), m, part, oi, ni);
    }
    // Enum.
    if let (Some(Value::Array(oe)), Some(Value::Array(ne))) = (old.get("enum"), new.get("enum")) {
        for v in oe.iter().filter(|v| !ne.contains(v)) {
            d.schema_change("enum-value-removed", &join(at, "enum"), Effect::Narrows, m, format!("{} no longer allows {}", field(at), crate::schema::short(v)));
        }
        for v in ne.iter().filter(|v| !oe.contains(v)) {
            d.schema_change("enum-value-added", &join(at, "enum"), Effect::Loosens, m, format!("{} now allows {}: consumers may not handle it", field(at), crate::schema::short(v)));
        }
    } else if old.get("enum").is_some() != new.get("enum").is_some() {
        let effect = if new.get("enum").is_some() { Effect::Narrows } else { Effect::Loosens };
        d.schema_change("enum-changed", &join(at, "enum"), effect, m, format!("{} {} its list of allowed values", field(at), if new.get("enum").is_some() { "gained" } else { "lost" }));
    }
    if old.get("const") != new.get("const") {
        d.schema_change("const-changed", &join(at, "const"), Effect::Both, m, format!("{} constant changed from {} to {}", field(at), show(old.get("const")), show(new.get("const"))));
    }
    // additionalProperties.
    let closedness = |v: &Value| match v.get("additionalProperties") {
        Some(Value::Bool(false)) => 2,
        Some(Value::Object(_)) => 1,
        _ => 0,
    };
    let (oa, na) = (closedness(old), closedness(new));
    if na > oa {
        d.schema_change("additional-properties-tightened", &join(at, "additionalProperties"), Effect::Narrows, m, format!("{} accepts fewer extra properties (additionalProperties {} -> {})", field(at), show(old.get("additionalProperties")), show(new.get("additionalProperties"))));
    } else if na < oa {
        d.schema_change("additional-properties-loosened", &join(at, "additionalProperties"), Effect::Safe, m, format!("{} accepts more extra properties (additionalProperties {} -> {})", field(at), show(old.get("additionalProperties")), show(new.get("additionalProperties"))));
    }
    // Default.
    match (old.get("default"), new.get("default")) {
        (None, Some(v)) => d.schema_change("default-added", &join(at, "default"), Effect::Safe, m, format!("{} gained the default {}", field(at), crate::schema::short(v))),
        (Some(v), None) => d.schema_change("default-removed", &join(at, "default"), Effect::Loosens, m, format!("{} lost its default {}: consumers relying on it break", field(at), crate::schema::short(v))),
        (Some(a), Some(b)) if a != b => d.schema_change("default-changed", &join(at, "default"), Effect::Loosens, m, format!("{} default changed from {} to {}", field(at), crate::schema::short(a), crate::schema::short(b))),
        _ => {}
    }
    // Bounds: a lower bound raised or an upper bound lowered narrows; the reverse loosens.
    for (key, lower) in [
        ("minimum", true), ("exclusiveMinimum", true), ("minLength", true), ("minItems", true), ("minProperties", true),
        ("maximum", false), ("exclusiveMaximum", false), ("maxLength", false), ("maxItems", false), ("maxProperties", false),
    ] {
        let (a, b) = (old.get(key).and_then(Value::as_f64), new.get(key).and_then(Value::as_f64));
        if a == b {
            continue;
        }
        let tighter = match (a, b) {
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => if lower { b > a } else { b < a },
            (None, None) => continue,
        };
        let effect = if tighter { Effect::Narrows } else { Effect::Loosens };
        d.schema_change(if tighter { "constraint-tightened" } else { "constraint-loosened" }, &join(at, key), effect, m, format!("{} {key} changed from {} to {}", field(at), show(old.get(key)), show(new.get(key))));
    }
    for key in ["pattern", "format"] {
        if old.get(key) != new.get(key) {
            let effect = match (old.get(key), new.get(key)) {
                (None, Some(_)) => Effect::Narrows,
                (Some(_), None) => Effect::Loosens,
                _ => Effect::Both,
            };
            d.schema_change(&format!("{key}-changed"), &join(at, key), effect, m, format!("{} {key} changed from {} to {}", field(at), show(old.get(key)), show(new.get(key))));
        }
    }
    for key in ["oneOf", "anyOf", "allOf", "not", "if", "then", "else", "patternProperties", "dependencies"] {
        if old.get(key) != new.get(key) {
            d.schema_change(
                "composition-changed",
                &join(at, key),
                Effect::Both,
                m,
                format!("{} `{key}` changed; tidings does not classify such changes precisely and treats them as breaking", field(at)),
            );
        }
    }
}

/// Avro record payloads: a field without a default is required.
fn avro(d: &mut Differ, at: &str, m: &MessageCtx<'_>, part: &str, old: &Value, new: &Value) {
    let fields = |v: &Value| -> BTreeMap<String, Value> {
        v.get("fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| Some((f.get("name")?.as_str()?.to_owned(), f.clone())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (of, nf) = (fields(old), fields(new));
    let id = &m.name;
    for (i, (name, f)) in of.iter().enumerate() {
        let fat = format!("{at}/fields/{i}");
        match nf.get(name) {
            None => d.schema_change("field-removed", &fat, Effect::Loosens, m, format!("Avro field \"{name}\" was removed from the {part} of \"{id}\": readers expecting it break")),
            Some(g) => {
                if f.get("type") != g.get("type") {
                    d.schema_change("type-changed", &fat, Effect::Both, m, format!("Avro field \"{name}\" of \"{id}\" type changed from {} to {}", show(f.get("type")), show(g.get("type"))));
                }
                match (f.get("default"), g.get("default")) {
                    (Some(_), None) => d.schema_change("default-removed", &fat, Effect::Both, m, format!("Avro field \"{name}\" of \"{id}\" lost its default: it is now required")),
                    (None, Some(_)) => d.schema_change("default-added", &fat, Effect::Safe, m, format!("Avro field \"{name}\" of \"{id}\" gained a default")),
                    _ => {}
                }
            }
        }
    }
    for (name, f) in nf.iter().filter(|(k, _)| !of.contains_key(*k)) {
        if f.get("default").is_some() {
            d.schema_change("field-added", at, Effect::Safe, m, format!("Avro field \"{name}\" (with a default) was added to \"{id}\""));
        } else {
            d.schema_change("required-field-added", at, Effect::Narrows, m, format!("Avro field \"{name}\" without a default was added to \"{id}\": old messages cannot be read"));
        }
    }
}

/// Runs `tidings diff`; the exit code.
pub fn run(args: &DiffArgs) -> u8 {
    let (old_src, old) = match load_inlined(&args.old) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let (new_src, new) = match load_inlined(&args.new) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let report = diff_values(&old_src.name, &old, &new_src.name, &new, args.version_bump_allows);
    let text = match args.format {
        DiffFormat::Json => {
            let json = serde_json::json!({
                "old": report.old,
                "new": report.new,
                "changes": report.changes,
                "breaking": report.changes.iter().filter(|c| c.breaking).count(),
                "failing": report.failing(),
                "nonBreaking": report.changes.iter().filter(|c| !c.breaking).count(),
            });
            serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
        }
        DiffFormat::Text => render_text(&report, &old_src, &new_src),
        DiffFormat::Markdown => render_markdown(&report),
    };
    print!("{text}");
    if report.failing() > 0 && !args.allow_breaking {
        1
    } else {
        0
    }
}

fn label(c: &Change) -> String {
    if !c.breaking {
        "non-breaking".into()
    } else {
        let who: Vec<&str> = c
            .breaks
            .iter()
            .map(|p| match p {
                Party::Producers => "producers",
                Party::Consumers => "consumers",
            })
            .collect();
        let allowed = if c.allowed_by_version_bump { ", allowed by version bump" } else { "" };
        format!("BREAKING for {}{allowed}", who.join(" and "))
    }
}

fn render_text(report: &DiffReport, old: &Source, new: &Source) -> String {
    let mut out = String::new();
    for c in &report.changes {
        // Additions are located in the new document, everything else in the old one.
        let (src, pos) = if c.kind.ends_with("-added") {
            (new, new.position(&c.pointer))
        } else {
            (old, old.position(&c.pointer))
        };
        let at = pos.map(|p| format!("{}:{p}", src.name)).unwrap_or_else(|| src.name.clone());
        let _ = writeln!(out, "{}: {} [{}] {} ({})", label(c), c.description, c.kind, at, c.pointer);
    }
    let breaking = report.changes.iter().filter(|c| c.breaking).count();
    let _ = writeln!(
        out,
        "{} change(s): {breaking} breaking ({} failing), {} non-breaking",
        report.changes.len(),
        report.failing(),
        report.changes.len() - breaking
    );
    out
}

fn md_escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn render_markdown(report: &DiffReport) -> String {
    let mut out = String::new();
    let breaking = report.changes.iter().filter(|c| c.breaking).count();
    let _ = writeln!(out, "### AsyncAPI changes: `{}` -> `{}`\n", md_escape(&report.old), md_escape(&report.new));
    let _ = writeln!(
        out,
        "{} change(s): **{breaking} breaking** ({} failing), {} non-breaking\n",
        report.changes.len(),
        report.failing(),
        report.changes.len() - breaking
    );
    if report.changes.is_empty() {
        return out;
    }
    let _ = writeln!(out, "| | change | where | details |\n|---|---|---|---|");
    for c in &report.changes {
        let icon = if !c.breaking { "✅" } else if c.allowed_by_version_bump { "⚠️" } else { "❌" };
        let _ = writeln!(
            out,
            "| {icon} {} | `{}` | `{}` | {} |",
            md_escape(&label(c)),
            c.kind,
            md_escape(&c.pointer),
            md_escape(&c.description)
        );
    }
    out
}
