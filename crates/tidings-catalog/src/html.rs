//! The static HTML catalog: `index.html` (system graph, search box, every service,
//! message, channel and bridge, lint and input problems), `services/<name>.html` and
//! `messages/<name>.html` (with their flow graphs as inline SVG). Offline: no script,
//! style or font is fetched; the search runs on an index embedded in the page. Every
//! text from a document is escaped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::graph::{self, Node, NodeKind};
use crate::model::{Action, Catalog};
use crate::query::{Finding, Severity};

/// Escapes text for HTML (the documentation page's own escaping, shared).
pub use tidings_docs::escape;

/// A file name for `name`: letters, digits, `-`, `_` and `.` kept, anything else as
/// `~XX` (its UTF-8 bytes), so distinct names never share a page.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' || (c == '.' && i > 0) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "~{b:02X}");
            }
        }
    }
    if out.is_empty() {
        out.push('~');
    }
    out
}

/// Link from a page in a subfolder (`services/`, `messages/`) or the root.
fn href(depth: usize, folder: &str, name: &str) -> String {
    format!("{}{folder}/{}.html", "../".repeat(depth), slug(name))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#0f172a;background:#f8fafc}
header{background:#1e293b;color:#f8fafc;padding:12px 24px;display:flex;gap:24px;align-items:center;flex-wrap:wrap}
header a{color:#f8fafc;text-decoration:none;font-weight:600}
main{padding:16px 24px;max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6em}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #e2e8f0;padding:6px 8px;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f1f5f9}
.graph-box{overflow:auto;background:#fff;border:1px solid #e2e8f0;padding:8px}
.graph{max-width:none}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}
pre{background:#fff;border:1px solid #e2e8f0;padding:8px;overflow:auto;max-height:420px}
.error{color:#b91c1c;font-weight:600}.warning{color:#b45309;font-weight:600}.note{color:#475569}
#search{padding:6px 10px;border-radius:6px;border:1px solid #94a3b8;min-width:280px}
#results{list-style:none;padding:0;margin:0;position:absolute;background:#fff;color:#0f172a;border:1px solid #cbd5e1;max-height:360px;overflow:auto;z-index:10}
#results li a{display:block;padding:4px 10px;color:#0f172a}
.muted{color:#64748b}";

/// Search: filters the embedded index as you type (or from `?q=` in the address);
/// plain links still work without it.
const SEARCH_JS: &str = "(function(){var box=document.getElementById('search');var list=document.getElementById('results');if(!box||!list)return;var idx=JSON.parse(document.getElementById('search-index').textContent);var base=document.body.getAttribute('data-base')||'';box.addEventListener('input',function(){var q=box.value.trim().toLowerCase();list.innerHTML='';if(!q)return;var n=0;for(var i=0;i<idx.length&&n<30;i++){var e=idx[i];if(e.t.toLowerCase().indexOf(q)<0&&e.k.toLowerCase().indexOf(q)<0)continue;var li=document.createElement('li');var a=document.createElement('a');a.href=base+e.u;a.textContent=e.k+': '+e.t;li.appendChild(a);list.appendChild(li);n++;}});var q=new URLSearchParams(location.search).get('q');if(q){box.value=q;box.dispatchEvent(new Event('input'));}})();";

fn page(title: &str, depth: usize, search_index: &str, body: &str) -> String {
    let base = "../".repeat(depth);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title><style>{STYLE}</style></head>\n<body data-base=\"{base}\"><header><a href=\"{base}index.html\">Event catalog</a><div style=\"position:relative\"><input id=\"search\" type=\"search\" placeholder=\"Search services, messages, channels\" aria-label=\"Search\" autocomplete=\"off\"><ul id=\"results\"></ul></div></header>\n<main>{body}</main>\n<script type=\"application/json\" id=\"search-index\">{search_index}</script><script>{SEARCH_JS}</script></body></html>\n",
        title = escape(title),
    )
}

/// The search index as JSON safe inside `<script>`: `<`, `>` and `&` as `\u00XX`.
fn search_index(catalog: &Catalog) -> String {
    let mut entries = Vec::new();
    for name in catalog.services.keys() {
        entries
            .push(json!({"k": "service", "t": name, "u": format!("services/{}.html", slug(name))}));
    }
    for name in catalog.message_names() {
        entries
            .push(json!({"k": "message", "t": name, "u": format!("messages/{}.html", slug(name))}));
    }
    for key in catalog.channels.keys() {
        entries.push(
            json!({"k": "channel", "t": key.to_string(), "u": format!("index.html#channels")}),
        );
    }
    serde_json::Value::Array(entries)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn node_link(depth: usize) -> impl Fn(&Node) -> Option<String> {
    move |node: &Node| match node.kind {
        NodeKind::Service => Some(href(depth, "services", &node.label)),
        NodeKind::Channel => None,
    }
}

fn list_links(depth: usize, folder: &str, names: impl IntoIterator<Item = String>) -> String {
    let links: Vec<String> = names
        .into_iter()
        .map(|n| {
            format!(
                "<a href=\"{}\">{}</a>",
                escape(&href(depth, folder, &n)),
                escape(&n)
            )
        })
        .collect();
    if links.is_empty() {
        "<span class=\"muted\">none</span>".into()
    } else {
        links.join(", ")
    }
}

fn findings_table(findings: &[&Finding], depth: usize) -> String {
    if findings.is_empty() {
        return "<p class=\"muted\">No findings.</p>".into();
    }
    let mut out = String::from(
        "<table><tr><th>severity</th><th>rule</th><th>message</th><th>finding</th></tr>",
    );
    for f in findings {
        let class = if f.severity == Severity::Error {
            "error"
        } else {
            "warning"
        };
        let _ = write!(
            out,
            "<tr><td class=\"{class}\">{class}</td><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}<ul>{}</ul></td></tr>",
            escape(f.rule),
            escape(&href(depth, "messages", &f.message)),
            escape(&f.message),
            escape(&f.summary),
            f.details.iter().map(|d| format!("<li>{}</li>", escape(d))).collect::<String>()
        );
    }
    out.push_str("</table>");
    out
}

/// Every page of the catalog: relative path -> HTML.
pub fn render(catalog: &Catalog) -> BTreeMap<PathBuf, String> {
    let index_json = search_index(catalog);
    let findings = catalog.lint();
    let mut pages = BTreeMap::new();

    // index.html
    let mut body = String::from("<h1>Event catalog</h1>");
    let _ = write!(
        body,
        "<p>{} services, {} messages, {} channels, {} bridges.</p>",
        catalog.services.len(),
        catalog.message_names().count(),
        catalog.channels.len(),
        catalog.bridges.len()
    );
    body.push_str("<h2>System</h2><div class=\"graph-box\">");
    body.push_str(&graph::to_svg(
        &graph::system_graph(catalog),
        "The whole system",
        &node_link(0),
    ));
    body.push_str("</div><h2 id=\"services\">Services</h2><table><tr><th>service</th><th>version</th><th>sends</th><th>receives</th><th>owners</th></tr>");
    for service in catalog.services.values() {
        let names = |action: Action| -> BTreeSet<String> {
            service
                .endpoints_with(action)
                .map(|e| e.message.clone())
                .collect()
        };
        let _ = write!(
            body,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&href(0, "services", &service.name)),
            escape(&service.name),
            escape(&service.version),
            list_links(0, "messages", names(Action::Send)),
            list_links(0, "messages", names(Action::Receive)),
            escape(&service.owners.join(", "))
        );
    }
    body.push_str("</table><h2 id=\"messages\">Messages</h2><table><tr><th>message</th><th>producers</th><th>consumers</th></tr>");
    for message in catalog.message_names() {
        let services = |ps: Vec<crate::query::Participant>| -> BTreeSet<String> {
            ps.into_iter().map(|p| p.service).collect()
        };
        let _ = write!(
            body,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            escape(&href(0, "messages", message)),
            escape(message),
            list_links(0, "services", services(catalog.who_produces(message))),
            list_links(0, "services", services(catalog.who_consumes(message)))
        );
    }
    body.push_str("</table><h2 id=\"channels\">Channels</h2><table><tr><th>channel</th><th>messages</th><th>senders</th><th>receivers</th></tr>");
    for info in catalog.channels.values() {
        let _ = write!(
            body,
            "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&info.key.to_string()),
            info.description
                .as_ref()
                .map(|d| format!("<br><span class=\"muted\">{}</span>", escape(d)))
                .unwrap_or_default(),
            list_links(0, "messages", info.messages.iter().cloned()),
            list_links(0, "services", info.senders.iter().cloned()),
            list_links(0, "services", info.receivers.iter().cloned())
        );
    }
    body.push_str("</table><h2 id=\"bridges\">Bridges</h2>");
    if catalog.bridges.is_empty() {
        body.push_str("<p class=\"muted\">None declared.</p>");
    } else {
        body.push_str(
            "<table><tr><th>from</th><th>to</th><th>converts</th><th>declared by</th></tr>",
        );
        for b in &catalog.bridges {
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}{}</td></tr>",
                escape(&b.from.to_string()),
                escape(&b.to.to_string()),
                escape(b.convert.as_deref().unwrap_or("")),
                escape(&b.declared_by.to_string()),
                b.description
                    .as_ref()
                    .map(|d| format!("<br><span class=\"muted\">{}</span>", escape(d)))
                    .unwrap_or_default()
            );
        }
        body.push_str("</table>");
    }
    body.push_str("<h2 id=\"lint\">Lint</h2>");
    body.push_str(&findings_table(&findings.iter().collect::<Vec<_>>(), 0));
    let orphans = catalog.orphans();
    body.push_str("<h2 id=\"orphans\">Orphans</h2>");
    if orphans.is_empty() {
        body.push_str("<p class=\"muted\">None.</p>");
    } else {
        body.push_str(
            "<table><tr><th>kind</th><th>message</th><th>service</th><th>channel</th></tr>",
        );
        for o in &orphans {
            let kind = match o.kind {
                crate::query::OrphanKind::ProducedNeverConsumed => "produced, never consumed",
                crate::query::OrphanKind::ConsumedNeverProduced => "consumed, never produced",
            };
            let _ = write!(
                body,
                "<tr><td>{kind}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                list_links(0, "messages", [o.message.clone()]),
                list_links(0, "services", [o.service.clone()]),
                escape(&o.channel.to_string())
            );
        }
        body.push_str("</table>");
    }
    if !catalog.diagnostics.is_empty() {
        body.push_str("<h2 id=\"input\">Input problems</h2><ul>");
        for d in &catalog.diagnostics {
            let class = match d.level {
                crate::model::Level::Error => "error",
                crate::model::Level::Warning => "warning",
                crate::model::Level::Note => "note",
            };
            let _ = write!(
                body,
                "<li class=\"{class}\">{}</li>",
                escape(&d.to_string())
            );
        }
        body.push_str("</ul>");
    }
    pages.insert(
        PathBuf::from("index.html"),
        page("Event catalog", 0, &index_json, &body),
    );

    // services/<name>.html
    for service in catalog.services.values() {
        let Some(report) = catalog.service(&service.name) else {
            continue;
        };
        let mut body = format!("<h1>Service {}</h1>", escape(&service.name));
        let _ = write!(
            body,
            "<p>version {} &middot; document <code>{}</code>{}</p>",
            escape(&service.version),
            escape(&report.source),
            if service.owners.is_empty() {
                String::new()
            } else {
                format!(" &middot; owners {}", escape(&service.owners.join(", ")))
            }
        );
        if let Some(d) = &service.description {
            let _ = write!(body, "<p>{}</p>", escape(d));
        }
        if !report.servers.is_empty() {
            body.push_str("<h2>Servers</h2><ul>");
            for (name, server) in &report.servers {
                let _ = write!(
                    body,
                    "<li><code>{}</code>: {}</li>",
                    escape(name),
                    escape(server)
                );
            }
            body.push_str("</ul>");
        }
        body.push_str("<h2>Flows</h2><div class=\"graph-box\">");
        body.push_str(&graph::to_svg(
            &graph::service_graph(catalog, &service.name),
            &format!("Flows of {}", service.name),
            &node_link(1),
        ));
        body.push_str("</div>");
        for (title, rows, other) in [
            ("Sends", &report.sends, "received by"),
            ("Receives", &report.receives, "sent by"),
        ] {
            let _ = write!(body, "<h2>{title}</h2>");
            if rows.is_empty() {
                body.push_str("<p class=\"muted\">Nothing.</p>");
                continue;
            }
            let _ = write!(body, "<table><tr><th>message</th><th>channel</th><th>operation</th><th>{other}</th></tr>");
            for x in rows {
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    list_links(1, "messages", [x.message.clone()]),
                    escape(&x.channel.to_string()),
                    escape(&x.operation),
                    list_links(1, "services", x.peers.iter().cloned())
                );
            }
            body.push_str("</table>");
        }
        let own: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.services.contains(&service.name))
            .collect();
        body.push_str("<h2>Lint</h2>");
        body.push_str(&findings_table(&own, 1));
        pages.insert(
            PathBuf::from("services").join(format!("{}.html", slug(&service.name))),
            page(&format!("Service {}", service.name), 1, &index_json, &body),
        );
    }

    // messages/<name>.html
    for message in catalog.message_names() {
        let mut body = format!("<h1>Message {}</h1>", escape(message));
        let definitions = catalog.definitions_of(message);
        let meta: BTreeSet<String> = definitions
            .values()
            .filter_map(|d| match (&d.kind, &d.version) {
                (Some(k), Some(v)) => Some(format!("{k} {v}")),
                (Some(k), None) => Some(k.clone()),
                (None, Some(v)) => Some(format!("version {v}")),
                (None, None) => None,
            })
            .collect();
        if !meta.is_empty() {
            let _ = write!(
                body,
                "<p>{}</p>",
                escape(&meta.into_iter().collect::<Vec<_>>().join("; "))
            );
        }
        if let Some(summary) = definitions.values().find_map(|d| d.summary.clone()) {
            let _ = write!(body, "<p>{}</p>", escape(&summary));
        }
        body.push_str("<h2>Flow</h2><div class=\"graph-box\">");
        body.push_str(&graph::to_svg(
            &graph::message_graph(catalog, message),
            &format!("Flow of {message}"),
            &node_link(1),
        ));
        body.push_str("</div>");
        for (title, people) in [
            ("Producers", catalog.who_produces(message)),
            ("Consumers", catalog.who_consumes(message)),
        ] {
            let _ = write!(body, "<h2>{title}</h2><table><tr><th>service</th><th>channel</th><th>operation</th><th>group</th></tr>");
            for p in &people {
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    list_links(1, "services", [p.service.clone()]),
                    escape(&p.channel.to_string()),
                    escape(&p.operation),
                    escape(p.group.as_deref().unwrap_or(""))
                );
            }
            if people.is_empty() {
                body.push_str("<tr><td colspan=\"4\" class=\"muted\">none</td></tr>");
            }
            body.push_str("</table>");
        }
        body.push_str("<h2>Paths</h2><ul>");
        let flows = catalog.flows(message);
        for f in &flows {
            let mut path = vec![f.producer.clone()];
            path.extend(f.channels.iter().map(ToString::to_string));
            path.push(f.consumer.clone());
            let _ = write!(body, "<li>{}</li>", escape(&path.join(" \u{2192} ")));
        }
        if flows.is_empty() {
            body.push_str("<li class=\"muted\">No producer reaches a consumer.</li>");
        }
        body.push_str("</ul>");
        let own: Vec<&Finding> = findings.iter().filter(|f| f.message == message).collect();
        body.push_str("<h2>Lint</h2>");
        body.push_str(&findings_table(&own, 1));
        body.push_str("<h2>Schemas</h2>");
        for (service, def) in &definitions {
            let schema = def
                .payload
                .as_ref()
                .and_then(|p| serde_json::to_string_pretty(p).ok())
                .unwrap_or_else(|| "(no payload schema)".into());
            let _ = write!(
                body,
                "<h3>as {} defines it{}</h3><pre>{}</pre>",
                list_links(1, "services", [service.to_string()]),
                def.schema_format
                    .as_ref()
                    .map(|f| format!(" <span class=\"muted\">({})</span>", escape(f)))
                    .unwrap_or_default(),
                escape(&schema)
            );
        }
        pages.insert(
            PathBuf::from("messages").join(format!("{}.html", slug(message))),
            page(&format!("Message {message}"), 1, &index_json, &body),
        );
    }
    pages
}

/// Writes every page under `dir` (created as needed) and returns how many.
pub fn write(catalog: &Catalog, dir: &Path) -> std::io::Result<usize> {
    let pages = render(catalog);
    for (path, html) in &pages {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(full, html)?;
    }
    Ok(pages.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_and_distinct() {
        assert_eq!(slug("OrderCreated"), "OrderCreated");
        assert_eq!(slug("a/b"), "a~2Fb");
        assert_ne!(slug("a b"), slug("a_b"));
        assert_eq!(slug(".."), "~2E.");
        assert_eq!(slug(""), "~");
        assert_eq!(slug("é"), "~C3~A9");
    }

    #[test]
    fn escape_covers_quotes() {
        assert_eq!(
            escape("<a href='x'>\"&"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;"
        );
    }
}
