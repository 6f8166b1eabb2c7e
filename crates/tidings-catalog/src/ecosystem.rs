//! Files for the tools around the catalog: Backstage `catalog-info.yaml` and the
//! `@eventcatalog/generator-asyncapi` configuration.
//!
//! Backstage: per service a `kind: API` (`spec.type: asyncapi`, `definition: {$text:
//! <path of its document, relative to the catalog-info file>}`) named `<service>-api`,
//! and a `kind: Component` (`spec.type: service`) that `providesApis` its own API and
//! `consumesApis` the API of every service whose messages it receives (through any
//! bridge). With a `[domain]` in the config, a `kind: System` groups them.
//!
//! EventCatalog: the generator joins services by message id and reads
//! `x-eventcatalog-message-type`/`-version` from the documents; owners and the domain
//! come from its config, which is generated here from the catalog config.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use serde_json::{json, Value};

use crate::model::{Action, Catalog};

/// A Backstage entity name: letters, digits and `-_.` between them, at most 63 characters.
pub fn entity_name(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut out: String = trimmed.chars().take(63).collect();
    while out.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        out.pop();
    }
    if out.is_empty() {
        "unnamed".into()
    } else {
        out
    }
}

fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    // Lexical `..` removal: the files may not exist yet.
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `target` relative to the folder `from_dir`, with `/` separators (`../asyncapi/a.yaml`).
pub fn relative_path(from_dir: &Path, target: &Path) -> String {
    let from = absolute(from_dir);
    let to = absolute(target);
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    let joined = parts.join("/");
    if joined.starts_with("..") {
        joined
    } else {
        format!("./{joined}")
    }
}

/// The API entity name of a service.
pub fn api_name(service: &str) -> String {
    entity_name(&format!("{}-api", entity_name(service)))
}

/// `catalog-info.yaml` for every service, to be written at `output` (paths to the
/// documents are relative to its folder).
pub fn backstage(catalog: &Catalog, output: &Path) -> String {
    let dir = output.parent().unwrap_or(Path::new("."));
    let system = catalog.config.domain.as_ref().map(|d| entity_name(&d.id));
    let mut entities: Vec<Value> = Vec::new();
    if let (Some(domain), Some(system)) = (&catalog.config.domain, &system) {
        entities.push(json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "System",
            "metadata": {"name": system, "title": domain.name.clone().unwrap_or_else(|| domain.id.clone())},
            "spec": {"owner": catalog.config.defaults.owners.first().cloned().unwrap_or_else(|| "unknown".into())},
        }));
    }
    for service in catalog.services.values() {
        let owner = service
            .owners
            .first()
            .cloned()
            .unwrap_or_else(|| "unknown".into());
        let lifecycle = service
            .lifecycle
            .clone()
            .unwrap_or_else(|| "production".into());
        let name = entity_name(&service.name);
        let api = api_name(&service.name);
        let description = service
            .description
            .clone()
            .unwrap_or_else(|| format!("AsyncAPI of {}", service.name));
        let mut api_entity = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "API",
            "metadata": {"name": api, "title": format!("{} events", service.name), "description": description, "tags": ["asyncapi"]},
            "spec": {
                "type": "asyncapi",
                "lifecycle": lifecycle,
                "owner": owner,
                "definition": {"$text": relative_path(dir, &service.source)},
            },
        });
        let consumed: BTreeSet<String> = catalog
            .service(&service.name)
            .map(|r| {
                r.receives
                    .into_iter()
                    .flat_map(|x| x.peers)
                    .filter(|p| *p != service.name)
                    .collect()
            })
            .unwrap_or_default();
        let sends_or_receives = !service.endpoints.is_empty();
        let mut component = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": name, "description": description},
            "spec": {
                "type": "service",
                "lifecycle": lifecycle,
                "owner": owner,
                "providesApis": if sends_or_receives { vec![api.clone()] } else { Vec::new() },
                "consumesApis": consumed.iter().map(|p| api_name(p)).collect::<Vec<_>>(),
            },
        });
        if let Some(system) = &system {
            api_entity["spec"]["system"] = json!(system);
            component["spec"]["system"] = json!(system);
        }
        entities.push(api_entity);
        entities.push(component);
    }
    let mut out = String::from("# Generated by `tidings catalog backstage`: do not edit.\n");
    for (i, entity) in entities.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_yaml_ng::to_string(entity).unwrap_or_default());
    }
    out
}

/// A JavaScript string literal (JSON's quoting is valid JavaScript).
fn js(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// The `@eventcatalog/generator-asyncapi` entry of `generators` in
/// `eventcatalog.config.js`, with document paths relative to `config_dir` (the folder of
/// `eventcatalog.config.js`, which defines `__dirname`).
pub fn eventcatalog_block(catalog: &Catalog, config_dir: &Path) -> String {
    let mut out = String::from("[\n  '@eventcatalog/generator-asyncapi',\n  {\n    services: [\n");
    for service in catalog.services.values() {
        let rel = relative_path(config_dir, &service.source);
        let segments: Vec<String> = rel.trim_start_matches("./").split('/').map(js).collect();
        let _ = write!(
            out,
            "      {{ path: path.join(__dirname, {}), id: {}, name: {}",
            segments.join(", "),
            js(&entity_name(&service.name)),
            js(&service.name)
        );
        if !service.owners.is_empty() {
            let owners: Vec<String> = service.owners.iter().map(|o| js(o)).collect();
            let _ = write!(out, ", owners: [{}]", owners.join(", "));
        }
        out.push_str(" },\n");
    }
    out.push_str("    ],\n");
    if let Some(domain) = &catalog.config.domain {
        let _ = writeln!(
            out,
            "    domain: {{ id: {}, name: {}, version: {} }},",
            js(&domain.id),
            js(domain.name.as_deref().unwrap_or(&domain.id)),
            js(domain.version.as_deref().unwrap_or("0.0.1"))
        );
    }
    out.push_str("  },\n]");
    out
}

/// A whole minimal `eventcatalog.config.js` around [`eventcatalog_block`].
pub fn eventcatalog_config(catalog: &Catalog, config_dir: &Path) -> String {
    let title = catalog
        .config
        .domain
        .as_ref()
        .map(|d| d.name.clone().unwrap_or_else(|| d.id.clone()))
        .unwrap_or_else(|| "Event catalog".into());
    let messages: usize = catalog.message_names().count();
    let sends: usize = catalog
        .services
        .values()
        .map(|s| s.endpoints_with(Action::Send).count())
        .sum();
    format!(
        "// Generated by `tidings catalog eventcatalog` ({} services, {messages} messages, {sends} sends).\n\
         // The generator needs a license key: EVENTCATALOG_LICENSE_KEY_ASYNCAPI in the environment.\n\
         import path from 'path';\nimport url from 'url';\n\n\
         const __dirname = path.dirname(url.fileURLToPath(import.meta.url));\n\n\
         /** @type {{import('@eventcatalog/core/bin/eventcatalog.config').Config}} */\n\
         export default {{\n  title: {},\n  organizationName: {},\n  generators: [\n{}\n  ],\n}};\n",
        catalog.services.len(),
        js(&title),
        js(&title),
        eventcatalog_block(catalog, config_dir)
            .lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
            + ","
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names_follow_backstage_rules() {
        assert_eq!(entity_name("order service"), "order-service");
        assert_eq!(entity_name("-a-"), "a");
        assert_eq!(entity_name("ü"), "unnamed");
        assert_eq!(entity_name(&"x".repeat(80)).len(), 63);
        assert_eq!(
            entity_name(&format!("{}-{}", "a".repeat(62), "b")),
            "a".repeat(62)
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/c/d.yaml")),
            "../c/d.yaml"
        );
        assert_eq!(
            relative_path(Path::new("/a"), Path::new("/a/c/d.yaml")),
            "./c/d.yaml"
        );
        assert_eq!(
            relative_path(Path::new("/a/b/../x"), Path::new("/a/x/d.yaml")),
            "./d.yaml"
        );
    }
}
