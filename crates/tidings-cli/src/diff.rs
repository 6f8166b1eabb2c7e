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
//! seen where it takes effect; an operation's own links (its channel and messages) stay
//! references, which name the channel it is on. The payload rules are the ones `tidings
//! catalog lint` uses too, in the [`tidings_compat`] crate: JSON Schemas keyword by keyword, Avro payloads
//! (an Avro `schemaFormat`) by the Avro resolution rules at the Schema Registry level
//! chosen with `--avro-compatibility` (default `BACKWARD`, as Confluent's): a failure of
//! a direction the level checks is breaking, one it does not check is reported only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::Value;

use tidings_compat::{Effect, Level, SchemaChange, Wording};

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
    /// Schema Registry compatibility level for Avro payloads: BACKWARD (the new schema
    /// reads old data), FORWARD (old schemas read new data), FULL (both), their
    /// _TRANSITIVE forms (the same here: two documents have one earlier version), NONE.
    #[arg(long, value_name = "LEVEL", default_value = "BACKWARD", value_parser = parse_level)]
    pub avro_compatibility: Level,
}

fn parse_level(text: &str) -> Result<Level, String> {
    text.parse()
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
    /// For an Avro incompatibility: the direction that finds it, `BACKWARD` (the new
    /// schema cannot read old data) or `FORWARD` (the old schema cannot read new data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avro_rule: Option<&'static str>,
    /// A sentence.
    pub description: String,
    /// Whether `pointer` is into the new document.
    #[serde(skip)]
    pub in_new: bool,
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
        if receives && effect.narrows() {
            out.push(Party::Producers);
        }
        if sends && effect.loosens() {
            out.push(Party::Consumers);
        }
        out
    }
}

struct Differ {
    changes: Vec<Change>,
    allow_bumps: bool,
    level: Level,
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
            avro_rule: None,
            description,
            in_new: kind.ends_with("-added"),
        });
    }

    fn schema_change(&mut self, kind: &str, pointer: &str, effect: Effect, m: &MessageCtx<'_>, description: String) {
        let breaks = if effect == Effect::Safe { Vec::new() } else { m.usage.parties(effect) };
        self.push(kind, pointer, breaks, Some(m), description);
    }

    /// A change found by the shared rules inside the schema at `at`.
    fn compat_change(&mut self, at: &str, m: &MessageCtx<'_>, c: SchemaChange) {
        let pointer = format!("{at}{}", c.pointer);
        let breaks = if c.effect == Effect::Safe || !c.checked {
            Vec::new()
        } else if c.rule.is_some() {
            // The registry refuses the new schema at this level whichever side the
            // application is on: when it neither sends nor receives in the direction
            // that breaks, name the side that breaks in general.
            match m.usage.parties(c.effect) {
                p if p.is_empty() => Usage::default().parties(c.effect),
                p => p,
            }
        } else {
            m.usage.parties(c.effect)
        };
        self.push(&c.kind, &pointer, breaks, Some(m), c.description);
        if let Some(last) = self.changes.last_mut() {
            last.avro_rule = c.rule;
            last.in_new = c.in_new;
        }
    }
}

/// Loads a document with every reference inlined but the operations' links
/// ([`crate::refs::inline_document`]), and its position index when `positions` (the text
/// output locates every change; the other formats never build it). Built before the
/// inlining, as the document is read: built later, it came on top of the inlined copies
/// and raised the peak by a fifth.
fn load_inlined(path: &std::path::Path, positions: bool) -> Result<(Source, Value), crate::source::LoadError> {
    let source = Source::load(path)?;
    if positions {
        source.index();
    }
    let mut resolver = Resolver::new(&source.path);
    let value = crate::refs::inline_document(&mut resolver, &source.path, &source.value);
    Ok((source, value))
}

/// Compares two loaded (inlined) documents, Avro payloads at the default level (BACKWARD).
pub fn diff_values(old_name: &str, old: &Value, new_name: &str, new: &Value, allow_bumps: bool) -> DiffReport {
    diff_values_at(old_name, old, new_name, new, allow_bumps, Level::default())
}

/// Compares two loaded (inlined) documents, Avro payloads at `level`.
pub fn diff_values_at(old_name: &str, old: &Value, new_name: &str, new: &Value, allow_bumps: bool, level: Level) -> DiffReport {
    let mut d = Differ {
        changes: Vec::new(),
        allow_bumps,
        level,
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

/// Ids by value: after inlining, a channel's message is the object itself, known only by
/// value; so is an operation's channel when it is not a `#/channels/<id>` reference (one
/// inlined by hand, or in another file). Each value is serialized once and looked up by
/// its text (serde_json's maps are sorted, so equal values have equal texts): linear,
/// where comparing every operation with every channel was quadratic.
fn ids_by_value<'v>(entries: impl Iterator<Item = (&'v String, &'v Value)>) -> HashMap<String, Vec<&'v String>> {
    let mut out: HashMap<String, Vec<&'v String>> = HashMap::new();
    for (id, value) in entries {
        out.entry(value.to_string()).or_default().push(id);
    }
    out
}

/// The channels of a document, for finding an operation's channel id.
struct ChannelIds<'v> {
    doc: &'v Value,
    /// Built on the first operation whose channel is not a local reference: serializing
    /// every channel is most of the work on a large document, and most never need it.
    by_value: Option<HashMap<String, Vec<&'v String>>>,
}

impl<'v> ChannelIds<'v> {
    fn new(doc: &'v Value) -> Self {
        ChannelIds { doc, by_value: None }
    }

    /// The ids of the channel `op` is on: the one its `$ref` names, or those equal to it.
    fn of(&mut self, op: &Value) -> Vec<String> {
        let Some(channel) = op.get("channel") else { return Vec::new() };
        if let Some(id) = channel.get("$ref").and_then(Value::as_str).and_then(crate::refs::local_channel_id) {
            return vec![id];
        }
        let doc = self.doc;
        let by_value = self.by_value.get_or_insert_with(|| ids_by_value(object(doc, "/channels").into_iter()));
        by_value.get(&channel.to_string()).into_iter().flatten().map(|id| (*id).clone()).collect()
    }
}

/// channel id -> how the application uses it, from the root operations.
fn usages(doc: &Value) -> BTreeMap<String, Usage> {
    let mut out: BTreeMap<String, Usage> = BTreeMap::new();
    let mut channels = ChannelIds::new(doc);
    for op in object(doc, "/operations").values() {
        for id in channels.of(op) {
            let u = out.entry(id).or_default();
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
    let (mut old_channels, mut new_channels) = (ChannelIds::new(old), ChannelIds::new(new));
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
                let (a, b) = (
                    old_channels.of(op).into_iter().next(),
                    new_channels.of(new_op).into_iter().next(),
                );
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
    // Message (by value) -> the channels carrying it.
    let carriers = |doc: &Value| -> HashMap<String, BTreeSet<String>> {
        let mut out: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (cid, c) in object(doc, "/channels") {
            for m in object(c, "/messages").values() {
                out.entry(m.to_string()).or_default().insert(cid.clone());
            }
        }
        out
    };
    let (old_carriers, new_carriers) = (carriers(old), carriers(new));
    let usage_in = |carriers: &HashMap<String, BTreeSet<String>>, usages: &BTreeMap<String, Usage>, m: &Value, u: &mut Usage| {
        for cid in carriers.get(&m.to_string()).into_iter().flatten() {
            let x = usages.get(cid).copied().unwrap_or_default();
            u.sends |= x.sends;
            u.receives |= x.receives;
        }
    };
    let (o, n) = (object(old, "/components/messages"), object(new, "/components/messages"));
    for (id, m) in &o {
        if d.compared.contains(*id) {
            continue;
        }
        let at = join("/components/messages", id);
        let mut usage = Usage::default();
        usage_in(&old_carriers, ou, m, &mut usage);
        match n.get(id) {
            None => {
                let parties = usage.parties(Effect::Both);
                d.push("message-removed", &at, parties, None, format!("message \"{id}\" was removed from components"));
            }
            Some(nm) => {
                usage_in(&new_carriers, nu, nm, &mut usage);
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
                let (a, pa, a_avro) = unwrap_multiformat(a, &p);
                let (b, _, b_avro) = unwrap_multiformat(b, &p);
                payload_changes(d, &pa, &ctx, part, (a, a_avro), (b, b_avro));
            }
        }
    }
}

/// A Multi Format Schema Object `{schemaFormat, schema}` -> its schema, its pointer, and
/// whether it is Avro (by its `schemaFormat`, or by its shape: a `record` with `fields`).
fn unwrap_multiformat<'v>(v: &'v Value, pointer: &str) -> (&'v Value, String, bool) {
    let (schema, at, format) = match (v.get("schemaFormat").and_then(Value::as_str), v.get("schema")) {
        (Some(format), Some(s)) => (s, join(pointer, "schema"), Some(format)),
        _ => (v, pointer.to_owned(), None),
    };
    let avro = format.is_some_and(tidings_compat::is_avro_format)
        || schema.get("type").and_then(Value::as_str) == Some("record") && schema.get("fields").is_some_and(Value::is_array);
    (schema, at, avro)
}

/// A payload (or headers) schema: the shared rules of [`tidings_compat`], the JSON Schema
/// ones or the Avro ones at the chosen level, placed under `at` in the document.
fn payload_changes(d: &mut Differ, at: &str, m: &MessageCtx<'_>, part: &str, old: (&Value, bool), new: (&Value, bool)) {
    let wording = Wording::Versions { message: &m.name, part };
    let ((a, a_avro), (b, b_avro)) = (old, new);
    if a_avro && b_avro {
        match tidings_compat::avro::changes(a, b, d.level, wording) {
            Ok(found) => {
                for c in found {
                    d.compat_change(at, m, c);
                }
            }
            Err(e) => {
                let description = format!("the {part} of \"{}\": {e}", m.name);
                d.schema_change("avro-schema-invalid", at, Effect::Both, m, description);
            }
        }
    } else if a_avro != b_avro {
        let (from, to) = if a_avro { ("Avro", "JSON Schema") } else { ("JSON Schema", "Avro") };
        let description = format!("the {part} of \"{}\" changed from {from} to {to}", m.name);
        d.schema_change("schema-format-changed", at, Effect::Both, m, description);
    } else {
        for c in tidings_compat::json::changes(a, b, wording) {
            d.compat_change(at, m, c);
        }
    }
}

/// Runs `tidings diff`; the exit code.
pub fn run(args: &DiffArgs) -> u8 {
    let positions = matches!(args.format, DiffFormat::Text);
    let (old_src, old) = match load_inlined(&args.old, positions) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let (new_src, new) = match load_inlined(&args.new, positions) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let report = diff_values_at(&old_src.name, &old, &new_src.name, &new, args.version_bump_allows, args.avro_compatibility);
    let text = match args.format {
        DiffFormat::Json => {
            let json = serde_json::json!({
                "old": report.old,
                "new": report.new,
                "changes": report.changes,
                "breaking": report.changes.iter().filter(|c| c.breaking).count(),
                "failing": report.failing(),
                "nonBreaking": report.changes.iter().filter(|c| !c.breaking).count(),
                "avroCompatibility": args.avro_compatibility.as_str(),
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
        let (src, pos) = if c.in_new {
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
