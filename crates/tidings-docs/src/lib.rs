//! # tidings-docs
//!
//! One self-contained HTML page of an AsyncAPI document (inline CSS and JavaScript,
//! nothing fetched): servers, channels, operations and messages with their payload
//! schemas, examples and bindings, with a search box. [`render`] builds it; [`serve`]
//! serves it with the raw document over HTTP.
//!
//! `tidings docs` (crate `tidings-cli`) renders any document with it, and every service
//! binary serves its own with `--asyncapi-serve` (the `docs` feature of `tidings`), so
//! this crate depends on `serde_json` only and serves with `std::net`: a few tens of
//! kilobytes in a service binary.
//!
//! Built by hand in Rust rather than by vendoring `@asyncapi/react-component`: the page is
//! about 20 KB instead of a multi-megabyte JavaScript bundle, it renders without
//! JavaScript (only the search box and live reload use it), it shows what tidings cares
//! about (send/receive per operation, bindings, Avro payloads), and every string from the
//! document goes through one escaping function, [`escape`].
#![warn(missing_docs)]

use std::fmt::Write as _;

use serde_json::Value;

mod serve;

pub use serve::{serve, Page};

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id usable in `id=""` and `href="#..."`: the kind and the escaped name.
fn anchor(kind: &str, name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    format!("{kind}-{safe}")
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn entries(v: &Value, pointer: &str) -> Vec<(String, Value)> {
    v.pointer(pointer)
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn pretty(v: &Value) -> String {
    escape(&serde_json::to_string_pretty(v).unwrap_or_default())
}

/// A JSON Schema (or Avro record) as a table of fields, nested objects indented.
fn schema_table(schema: &Value, out: &mut String) {
    let schema = match (schema.get("schemaFormat"), schema.get("schema")) {
        (Some(_), Some(s)) => s,
        _ => schema,
    };
    let mut rows = String::new();
    if schema.get("type").and_then(Value::as_str) == Some("record") {
        for f in schema.get("fields").and_then(Value::as_array).into_iter().flatten() {
            let ty = f.get("type").map(type_text).unwrap_or_default();
            let required = if f.get("default").is_some() { "" } else { "required" };
            let _ = write!(
                rows,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(str_at(f, "name").unwrap_or("")),
                escape(&ty),
                required,
                escape(str_at(f, "doc").unwrap_or(""))
            );
        }
    } else {
        fields(schema, "", 0, &mut rows);
    }
    if !rows.is_empty() {
        let _ = write!(
            out,
            "<table class=\"fields\"><thead><tr><th>field</th><th>type</th><th></th><th>description</th></tr></thead><tbody>{rows}</tbody></table>"
        );
    }
    let _ = write!(
        out,
        "<details><summary>schema</summary><pre>{}</pre></details>",
        pretty(schema)
    );
}

fn type_text(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(type_text).collect::<Vec<_>>().join(" | "),
        Value::Object(o) => match (o.get("type"), o.get("items")) {
            (Some(Value::String(s)), Some(items)) if s == "array" => format!("array of {}", type_text(items)),
            (Some(t), _) => type_text(t),
            _ => o.get("$ref").and_then(Value::as_str).map(|r| r.rsplit('/').next().unwrap_or(r).to_owned()).unwrap_or_else(|| "object".into()),
        },
        other => other.to_string(),
    }
}

fn fields(schema: &Value, prefix: &str, depth: usize, rows: &mut String) {
    if depth > 8 {
        return;
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, prop) in props {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        let mut ty = type_text(prop);
        if let Some(e) = prop.get("enum").and_then(Value::as_array) {
            let values: Vec<String> = e.iter().map(|v| v.to_string()).collect();
            ty = format!("{ty} ({})", values.join(", "));
        }
        if let Some(f) = str_at(prop, "format") {
            ty = format!("{ty}, {f}");
        }
        let _ = write!(
            rows,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&path),
            escape(&ty),
            if required.contains(&name.as_str()) { "required" } else { "" },
            escape(str_at(prop, "description").unwrap_or(""))
        );
        fields(prop, &path, depth + 1, rows);
        if let Some(items) = prop.get("items") {
            fields(items, &format!("{path}[]"), depth + 1, rows);
        }
    }
}

fn bindings(v: &Value, out: &mut String) {
    if let Some(b) = v.get("bindings").filter(|b| b.as_object().is_some_and(|m| !m.is_empty())) {
        let _ = write!(out, "<details class=\"bindings\"><summary>bindings</summary><pre>{}</pre></details>", pretty(b));
    }
}

fn text_block(v: &Value, out: &mut String) {
    for key in ["title", "summary", "description"] {
        if let Some(t) = str_at(v, key) {
            let _ = write!(out, "<p class=\"{key}\">{}</p>", escape(t));
        }
    }
}

/// Finds the key of `value` among `items` (after inlining, references are values).
fn key_of(items: &[(String, Value)], value: &Value) -> Option<String> {
    items.iter().find(|(_, v)| v == value).map(|(k, _)| k.clone())
}

/// Renders the (inlined) document as one HTML page. `live` adds the reload script.
pub fn render(doc: &Value, live: bool) -> String {
    let info = doc.get("info").cloned().unwrap_or(Value::Null);
    let title = str_at(&info, "title").unwrap_or("AsyncAPI document");
    let version = str_at(&info, "version").unwrap_or("");
    let servers = entries(doc, "/servers");
    let channels = entries(doc, "/channels");
    let operations = entries(doc, "/operations");
    // Messages: the components', then any defined inline on a channel only.
    let mut messages = entries(doc, "/components/messages");
    for (_, c) in &channels {
        for (id, m) in entries(c, "/messages") {
            if !messages.iter().any(|(k, v)| *k == id && *v == m) {
                messages.push((id, m));
            }
        }
    }

    let mut body = String::new();
    let mut nav = String::new();
    let section = |name: &str, kind: &str, items: &[(String, Value)], body: &mut String, nav: &mut String, render_item: &mut dyn FnMut(&str, &Value, &mut String)| {
        if items.is_empty() {
            return;
        }
        let _ = write!(nav, "<h3>{}</h3><ul>", escape(name));
        let _ = write!(body, "<section id=\"{kind}s\"><h2>{}</h2>", escape(name));
        for (id, item) in items {
            let a = anchor(kind, id);
            let _ = write!(nav, "<li data-search><a href=\"#{a}\">{}</a></li>", escape(id));
            let _ = write!(body, "<article class=\"card {kind}\" id=\"{a}\" data-search>");
            render_item(id, item, body);
            body.push_str("</article>");
        }
        body.push_str("</section>");
        nav.push_str("</ul>");
    };

    section("Servers", "server", &servers, &mut body, &mut nav, &mut |id, s, out| {
        let _ = write!(
            out,
            "<h4>{} <span class=\"badge\">{}</span></h4><p><code>{}{}</code>{}</p>",
            escape(id),
            escape(str_at(s, "protocol").unwrap_or("")),
            escape(str_at(s, "host").unwrap_or("")),
            escape(str_at(s, "pathname").unwrap_or("")),
            str_at(s, "protocolVersion").map(|v| format!(" protocol version {}", escape(v))).unwrap_or_default()
        );
        text_block(s, out);
        bindings(s, out);
    });
    section("Channels", "channel", &channels, &mut body, &mut nav, &mut |id, c, out| {
        let address = match c.get("address") {
            Some(Value::String(a)) => escape(a),
            _ => "<em>dynamic</em>".into(),
        };
        let _ = write!(out, "<h4>{}</h4><p>address <code>{address}</code></p>", escape(id));
        text_block(c, out);
        let params = entries(c, "/parameters");
        if !params.is_empty() {
            out.push_str("<p>parameters:</p><ul>");
            for (name, p) in params {
                let _ = write!(out, "<li><code>{{{}}}</code> {}</li>", escape(&name), escape(str_at(&p, "description").unwrap_or("")));
            }
            out.push_str("</ul>");
        }
        let ms = entries(c, "/messages");
        if !ms.is_empty() {
            out.push_str("<p>messages: ");
            for (i, (mid, _)) in ms.iter().enumerate() {
                let _ = write!(out, "{}<a href=\"#{}\">{}</a>", if i > 0 { ", " } else { "" }, anchor("message", mid), escape(mid));
            }
            out.push_str("</p>");
        }
        bindings(c, out);
    });
    section("Operations", "operation", &operations, &mut body, &mut nav, &mut |id, o, out| {
        let action = str_at(o, "action").unwrap_or("");
        let channel = o.get("channel").and_then(|c| key_of(&channels, c));
        let _ = write!(out, "<h4><span class=\"badge {}\">{}</span> {}</h4>", escape(action), escape(action), escape(id));
        if let Some(c) = channel {
            let _ = write!(out, "<p>channel <a href=\"#{}\">{}</a></p>", anchor("channel", &c), escape(&c));
        }
        text_block(o, out);
        let ms: Vec<String> = o
            .get("messages")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|m| key_of(&messages, m)).collect())
            .unwrap_or_default();
        if !ms.is_empty() {
            out.push_str("<p>messages: ");
            for (i, m) in ms.iter().enumerate() {
                let _ = write!(out, "{}<a href=\"#{}\">{}</a>", if i > 0 { ", " } else { "" }, anchor("message", m), escape(m));
            }
            out.push_str("</p>");
        }
        if let Some(reply) = o.get("reply") {
            let rc = reply.get("channel").and_then(|c| key_of(&channels, c));
            let _ = write!(out, "<p>replies on {}</p>", rc.map(|c| format!("<a href=\"#{}\">{}</a>", anchor("channel", &c), escape(&c))).unwrap_or_else(|| "a dynamic address".into()));
        }
        for (k, v) in o.as_object().into_iter().flatten() {
            if k.starts_with("x-") {
                let _ = write!(out, "<p class=\"ext\"><code>{}</code>: {}</p>", escape(k), escape(&v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())));
            }
        }
        bindings(o, out);
    });
    section("Messages", "message", &messages, &mut body, &mut nav, &mut |id, m, out| {
        let _ = write!(out, "<h4>{}</h4>", escape(id));
        if let Some(ct) = str_at(m, "contentType") {
            let _ = write!(out, "<p>content type <code>{}</code></p>", escape(ct));
        }
        text_block(m, out);
        for (k, v) in m.as_object().into_iter().flatten() {
            if k.starts_with("x-") {
                let _ = write!(out, "<p class=\"ext\"><code>{}</code>: {}</p>", escape(k), escape(&v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())));
            }
        }
        if let Some(p) = m.get("payload") {
            out.push_str("<h5>payload</h5>");
            schema_table(p, out);
        }
        if let Some(h) = m.get("headers") {
            out.push_str("<h5>headers</h5>");
            schema_table(h, out);
        }
        if let Some(examples) = m.get("examples").and_then(Value::as_array) {
            out.push_str("<h5>examples</h5>");
            for e in examples {
                let name = str_at(e, "name").or(str_at(e, "summary")).unwrap_or("example");
                let _ = write!(out, "<p>{}</p><pre>{}</pre>", escape(name), pretty(e.get("payload").unwrap_or(e)));
            }
        }
        bindings(m, out);
    });

    let description = str_at(&info, "description").map(|d| format!("<p>{}</p>", escape(d))).unwrap_or_default();
    let reload = if live { LIVE_RELOAD } else { "" };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t} {v}</title><style>{CSS}</style></head><body>\
<header><h1>{t} <small>{v}</small></h1>{description}<p class=\"meta\">AsyncAPI {a}</p>\
<input id=\"search\" type=\"search\" placeholder=\"Search channels, operations, messages...\" aria-label=\"search\"></header>\
<div class=\"layout\"><nav>{nav}</nav><main>{body}</main></div><script>{SEARCH}{reload}</script></body></html>\n",
        t = escape(title),
        v = escape(version),
        a = escape(str_at(doc, "asyncapi").unwrap_or("")),
    )
}

const CSS: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}\
header{background:#243b53;color:#fff;padding:1rem 2rem}header h1{margin:0}header small{font-weight:normal;opacity:.7}\
.meta{opacity:.7;margin:.2rem 0}#search{width:100%;max-width:40rem;padding:.5rem;font-size:1rem;border-radius:4px;border:0;margin-top:.5rem}\
.layout{display:flex}nav{width:16rem;padding:1rem;background:#fff;border-right:1px solid #d9e2ec;min-height:100vh;font-size:.9rem}\
nav ul{list-style:none;padding-left:.5rem}nav a{color:#334e68;text-decoration:none}main{flex:1;padding:1rem 2rem;max-width:70rem}\
.card{background:#fff;border:1px solid #d9e2ec;border-radius:6px;padding:.5rem 1rem;margin:.8rem 0}\
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;background:#d9e2ec;font-size:.8rem;vertical-align:middle}\
.badge.send{background:#c6f7e2}.badge.receive{background:#bae3ff}table{border-collapse:collapse;width:100%;font-size:.9rem}\
td,th{border-bottom:1px solid #e4e7eb;text-align:left;padding:.2rem .4rem;vertical-align:top}pre{background:#f0f4f8;padding:.5rem;overflow:auto}\
.hidden{display:none}";

const SEARCH: &str = "document.getElementById('search').addEventListener('input',function(e){var q=e.target.value.toLowerCase();\
document.querySelectorAll('[data-search]').forEach(function(el){el.classList.toggle('hidden',q!==''&&el.textContent.toLowerCase().indexOf(q)<0);});});";

/// The live-reload script of `tidings docs serve`: polls `/__version` and reloads the
/// page when the answer changes.
pub const LIVE_RELOAD: &str = "var v=null;setInterval(function(){fetch('/__version').then(function(r){return r.text();}).then(function(t){if(v!==null&&t!==v){location.reload();}v=t;}).catch(function(){});},1000);";

