//! `tidings registry ...`: [`RegistryCommand`] (a clap subcommand enum, mounted by the
//! `tidings` CLI) and [`run`].
//!
//! - `serve`: the in-memory registry (127.0.0.1:8081 by default).
//! - `register-all PATH...`: registers every Avro schema found in the paths; an
//!   incompatible one fails with the registry's reasons.
//! - `check PATH...`: the same questions without writing anything, for CI.
//!
//! A PATH is an `.avsc` file, an AsyncAPI document (`.yaml`, `.yml`, `.json`: every
//! message whose payload has an Avro `schemaFormat`, on its channel), a service binary
//! (run with `--asyncapi=json`), or a folder of any of those files.
//!
//! Exit codes: 0 all fine, 1 a schema is incompatible, 2 unusable input or registry.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::compat::Level;
use crate::registry::server::RegistryServer;
use crate::registry::{RegistryClient, RegistryError, SubjectStrategy};
use crate::schema::Contract;

/// `tidings registry <command>`: the Schema Registry side of Avro contracts.
#[derive(Debug, Clone, Subcommand)]
pub enum RegistryCommand {
    /// Serve an in-memory Schema Registry (Confluent REST API) until stopped.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8081")]
        bind: String,
        /// The global compatibility level.
        #[arg(long, default_value = "BACKWARD", value_parser = parse_level)]
        compatibility: Level,
    },
    /// Register every Avro schema of the given files, folders or service binaries.
    RegisterAll(SchemaArgs),
    /// Check every Avro schema against the registry without registering anything.
    Check(SchemaArgs),
}

/// What `register-all` and `check` read and where they send it.
#[derive(Debug, Clone, Args)]
pub struct SchemaArgs {
    /// `.avsc` files, AsyncAPI documents, service binaries, or folders of them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The registry (credentials from TIDINGS_SCHEMA_REGISTRY_USERNAME/_PASSWORD or _TOKEN).
    #[arg(long, env = "TIDINGS_SCHEMA_REGISTRY_URL")]
    pub registry: String,
    /// Subject naming: topic (`<topic>-value`), record (`<full name>`) or topic-record.
    /// Default: topic for documents and binaries (the channel is the topic), record for `.avsc` files.
    #[arg(long, value_parser = parse_strategy)]
    pub strategy: Option<SubjectStrategy>,
    /// The topic of `.avsc` files under the topic and topic-record strategies.
    #[arg(long)]
    pub topic: Option<String>,
    /// Set this compatibility level on each subject first (register-all only).
    #[arg(long, value_parser = parse_level)]
    pub compatibility: Option<Level>,
}

/// `tidings codegen <format>`: Rust types from schemas.
#[derive(Debug, Clone, Subcommand)]
pub enum CodegenCommand {
    /// Rust types (with `#[derive(Message)]` and the `avro` attribute) from `.avsc` files.
    Avro(CodegenArgs),
}

/// Arguments of `tidings codegen avro`.
#[derive(Debug, Clone, Args)]
pub struct CodegenArgs {
    /// The `.avsc` files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The Rust file to write (stdout when not given).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Write nothing; exit 1 when the output file would change (for CI).
    #[arg(long, requires = "output")]
    pub check: bool,
    /// The crate's manifest directory, which the attributes' paths are relative to.
    /// Default: the folder of the nearest `Cargo.toml` above the output (or the current folder).
    #[arg(long)]
    pub manifest_dir: Option<PathBuf>,
    /// The Rust type of `uuid` fields.
    #[arg(long, value_enum, default_value = "string")]
    pub uuid: crate::codegen::UuidType,
}

/// Runs `tidings codegen`; the exit code: 0 written or up to date, 1 `--check` found the
/// file stale, 2 a schema cannot be generated or a file cannot be read or written.
pub fn codegen(cmd: &CodegenCommand, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let CodegenCommand::Avro(args) = cmd;
    let manifest_dir = match (&args.manifest_dir, &args.output) {
        (Some(dir), _) => dir.clone(),
        (None, Some(output)) => match crate::codegen::manifest_dir_of(output) {
            Some(dir) => dir,
            None => {
                let _ = writeln!(err, "codegen: no Cargo.toml above {}: pass --manifest-dir", output.display());
                return 2;
            }
        },
        (None, None) => PathBuf::from("."),
    };
    let options = crate::codegen::Options {
        files: args.files.clone(),
        manifest_dir,
        output: args.output.clone(),
        uuid: args.uuid,
    };
    match crate::codegen::run(&options, args.check) {
        Ok(crate::codegen::Outcome::Printed(text)) => {
            let _ = out.write_all(text.as_bytes());
            0
        }
        Ok(crate::codegen::Outcome::UpToDate) => {
            let _ = writeln!(out, "up to date    {}", show_paths(args.output.as_slice()));
            0
        }
        Ok(crate::codegen::Outcome::Written) => {
            let _ = writeln!(out, "written       {}", show_paths(args.output.as_slice()));
            0
        }
        Ok(crate::codegen::Outcome::Stale { exists }) => {
            let what = if exists { "is stale" } else { "does not exist" };
            let _ = writeln!(
                err,
                "codegen: {} {what}: run `tidings codegen avro` without --check to regenerate it",
                show_paths(args.output.as_slice())
            );
            1
        }
        Err(e) => {
            let _ = writeln!(err, "codegen: {e}");
            2
        }
    }
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

fn parse_strategy(s: &str) -> Result<SubjectStrategy, String> {
    s.parse()
}

/// One schema to register under one subject.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// The subject.
    pub subject: String,
    /// The normalized schema text.
    pub schema: String,
    /// Where it was found (`schemas/order.avsc`, `order-producer.yaml: OrderCreated`).
    pub source: String,
}

/// Runs a command, printing to stdout and stderr.
pub fn run(cmd: RegistryCommand) -> ExitCode {
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    ExitCode::from(execute(&cmd, &mut stdout.lock(), &mut stderr.lock()))
}

/// Runs a command; the exit code.
pub fn execute(cmd: &RegistryCommand, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match cmd {
        RegistryCommand::Serve { bind, compatibility } => match RegistryServer::start(bind, *compatibility) {
            Ok(server) => {
                let _ = writeln!(out, "schema registry (in memory, {compatibility}) on {}", server.url());
                let _ = out.flush();
                server.wait();
                0
            }
            Err(e) => {
                let _ = writeln!(err, "registry: cannot listen on {bind}: {e}");
                2
            }
        },
        RegistryCommand::RegisterAll(args) => schemas(args, true, out, err),
        RegistryCommand::Check(args) => schemas(args, false, out, err),
    }
}

fn schemas(args: &SchemaArgs, write: bool, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let candidates = match collect(&args.paths, args.strategy, args.topic.as_deref()) {
        Ok(c) if c.is_empty() => {
            let _ = writeln!(err, "registry: no Avro schema found in {}", show_paths(&args.paths));
            return 2;
        }
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "registry: {e}");
            return 2;
        }
    };
    let client = match RegistryClient::new(&args.registry) {
        Ok(c) => c.with_auth(crate::registry::Auth::from_env()),
        Err(e) => {
            let _ = writeln!(err, "registry: {e}");
            return 2;
        }
    };
    let mut code = 0;
    for c in &candidates {
        match one(&client, c, write, args.compatibility) {
            Ok(Verdict::Fine(line)) => {
                let _ = writeln!(out, "{line}");
            }
            Ok(Verdict::Incompatible(line)) => {
                let _ = writeln!(out, "{line}");
                code = 1;
            }
            Err(e) => {
                let _ = writeln!(err, "registry: {} ({}): {e}", c.subject, c.source);
                return 2;
            }
        }
    }
    code
}

enum Verdict {
    Fine(String),
    Incompatible(String),
}

fn one(client: &RegistryClient, c: &Candidate, write: bool, level: Option<Level>) -> Result<Verdict, RegistryError> {
    let (subject, source) = (&c.subject, &c.source);
    if let Some(found) = client.lookup(subject, &c.schema)? {
        return Ok(Verdict::Fine(format!(
            "unchanged     {subject}: version {} (id {}) from {source}",
            found.version, found.id
        )));
    }
    if write {
        if let Some(level) = level {
            client.set_compatibility_level(Some(subject), level)?;
        }
        return match client.register(subject, &c.schema) {
            Ok(id) => {
                let version = client.lookup(subject, &c.schema)?.map_or(0, |f| f.version);
                Ok(Verdict::Fine(format!("registered    {subject}: version {version} (id {id}) from {source}")))
            }
            Err(RegistryError::Api { status: 409, message, .. }) => {
                let level = client.compatibility_level(Some(subject)).map(|l| l.to_string()).unwrap_or_default();
                Ok(Verdict::Incompatible(format!("INCOMPATIBLE  {subject} ({level}) from {source}: {message}")))
            }
            Err(e) => Err(e),
        };
    }
    let verdict = client.check_compatibility(subject, &c.schema, None)?;
    let exists = match client.versions(subject) {
        Ok(v) => !v.is_empty(),
        Err(e) if e.is_not_found() => false,
        Err(e) => return Err(e),
    };
    let level = client.compatibility_level(Some(subject))?;
    if !exists {
        return Ok(Verdict::Fine(format!("new subject   {subject} ({level}) from {source}")));
    }
    if verdict.is_compatible {
        return Ok(Verdict::Fine(format!("compatible    {subject} ({level}) from {source}")));
    }
    let mut line = format!("INCOMPATIBLE  {subject} ({level}) from {source}:");
    for m in &verdict.messages {
        line.push_str(&format!("\n    - {m}"));
    }
    Ok(Verdict::Incompatible(line))
}

fn show_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Every schema of the paths with its subject, in a stable order, without repeats.
pub fn collect(paths: &[PathBuf], strategy: Option<SubjectStrategy>, topic: Option<&str>) -> Result<Vec<Candidate>, String> {
    let mut found = BTreeSet::new();
    for path in paths {
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files).map_err(|e| format!("{}: {e}", path.display()))?;
            files.sort();
            for f in files {
                match extension(&f).as_str() {
                    "avsc" => found.extend(from_avsc(&f, strategy, topic)?),
                    "yaml" | "yml" | "json" => {
                        let doc = read_document(&f)?;
                        // A folder may hold other YAML/JSON: only AsyncAPI documents count.
                        if doc.get("asyncapi").is_some() {
                            found.extend(from_document(&doc, &f.display().to_string(), strategy)?);
                        }
                    }
                    _ => {}
                }
            }
        } else {
            match extension(path).as_str() {
                "avsc" => found.extend(from_avsc(path, strategy, topic)?),
                "yaml" | "yml" | "json" => found.extend(from_document(&read_document(path)?, &path.display().to_string(), strategy)?),
                _ if path.is_file() => found.extend(from_binary(path, strategy)?),
                _ => return Err(format!("{}: no such file or folder", path.display())),
            }
        }
    }
    Ok(found.into_iter().collect())
}

fn extension(p: &Path) -> String {
    p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn from_avsc(path: &Path, strategy: Option<SubjectStrategy>, topic: Option<&str>) -> Result<Vec<Candidate>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let contract = Contract::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = contract.fullname.clone().ok_or_else(|| format!("{}: the top-level schema has no name", path.display()))?;
    let subject = strategy
        .unwrap_or(SubjectStrategy::Record)
        .subject(topic, &name)
        .map_err(|e| format!("{}: {e} (give --topic, or --strategy record)", path.display()))?;
    Ok(vec![Candidate { subject, schema: contract.normalized, source: path.display().to_string() }])
}

fn read_document(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_document(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse_document(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).or_else(|_| serde_yaml_ng::from_str(text).map_err(|e| format!("neither JSON nor YAML: {e}")))
}

fn from_binary(path: &Path, strategy: Option<SubjectStrategy>) -> Result<Vec<Candidate>, String> {
    let output = std::process::Command::new(path)
        .arg("--asyncapi=json")
        .output()
        .map_err(|e| format!("{}: cannot run it: {e}", path.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} --asyncapi=json failed ({}): {}",
            path.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let doc = parse_document(&String::from_utf8_lossy(&output.stdout)).map_err(|e| format!("{}: {e}", path.display()))?;
    from_document(&doc, &path.display().to_string(), strategy)
}

/// Follows a local `$ref` (`#/components/messages/X`).
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(v),
        None => v,
    }
}

/// The Avro schemas of an AsyncAPI 3.0 document's messages, each on its channels.
pub fn from_document(doc: &Value, source: &str, strategy: Option<SubjectStrategy>) -> Result<Vec<Candidate>, String> {
    let strategy = strategy.unwrap_or(SubjectStrategy::Topic);
    let mut out = Vec::new();
    let Some(channels) = doc.get("channels").and_then(Value::as_object) else { return Ok(out) };
    for (key, channel) in channels {
        let channel = deref(doc, channel);
        let topic = channel.get("address").and_then(Value::as_str).unwrap_or(key);
        let Some(messages) = channel.get("messages").and_then(Value::as_object) else { continue };
        for (name, message) in messages {
            let message = deref(doc, message);
            let Some(payload) = message.get("payload").map(|p| deref(doc, p)) else { continue };
            let is_avro = payload
                .get("schemaFormat")
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("application/vnd.apache.avro"));
            if !is_avro {
                continue;
            }
            let schema = match payload.get("schema") {
                Some(Value::String(s)) => s.clone(),
                Some(v) if v.get("$ref").is_some() => continue, // already a registry reference
                Some(v) => v.to_string(),
                None => continue,
            };
            let at = format!("{source}: {name} on {topic}");
            let contract = Contract::parse(&schema).map_err(|e| format!("{at}: {e}"))?;
            let record = contract.fullname.clone().ok_or_else(|| format!("{at}: the schema has no name"))?;
            let subject = strategy.subject(Some(topic), &record).map_err(|e| format!("{at}: {e}"))?;
            out.push(Candidate { subject, schema: contract.normalized, source: at });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const V1: &str = r#"{"type":"record","name":"OrderCreated","namespace":"com.example","fields":[{"name":"order_id","type":"string"},{"name":"customer_id","type":"string"}]}"#;

    fn doc() -> Value {
        json!({
            "asyncapi": "3.0.0",
            "channels": {
                "orders_created": {"address": "orders.created", "messages": {"OrderCreated": {"$ref": "#/components/messages/OrderCreated"}}},
                "plain": {"address": "plain", "messages": {"P": {"payload": {"type": "object"}}}}
            },
            "components": {"messages": {"OrderCreated": {"payload": {
                "schemaFormat": "application/vnd.apache.avro;version=1.9.0",
                "schema": serde_json::from_str::<Value>(V1).unwrap()
            }}}}
        })
    }

    #[test]
    fn documents_give_one_subject_per_avro_message_per_channel() {
        let c = from_document(&doc(), "svc.yaml", None).unwrap();
        assert_eq!(c.len(), 1, "the JSON Schema message is not Avro");
        assert_eq!(c[0].subject, "orders.created-value");
        assert_eq!(c[0].source, "svc.yaml: OrderCreated on orders.created");
        let r = from_document(&doc(), "svc.yaml", Some(SubjectStrategy::TopicRecord)).unwrap();
        assert_eq!(r[0].subject, "orders.created-com.example.OrderCreated");
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tidings-avro-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("nested")).unwrap();
        dir
    }

    #[test]
    fn folders_are_searched_for_avsc_files_and_asyncapi_documents() {
        let dir = temp_dir("collect");
        std::fs::write(dir.join("nested/order.avsc"), V1).unwrap();
        std::fs::write(dir.join("svc.json"), doc().to_string()).unwrap();
        std::fs::write(dir.join("other.json"), r#"{"not": "asyncapi"}"#).unwrap();
        let c = collect(std::slice::from_ref(&dir), None, None).unwrap();
        let subjects: Vec<&str> = c.iter().map(|c| c.subject.as_str()).collect();
        assert_eq!(subjects, ["com.example.OrderCreated", "orders.created-value"]);
        let err = collect(&[dir.join("nested/order.avsc")], Some(SubjectStrategy::Topic), None).unwrap_err();
        assert!(err.contains("needs a topic"), "{err}");
        let t = collect(&[dir.join("nested/order.avsc")], Some(SubjectStrategy::Topic), Some("orders")).unwrap();
        assert_eq!(t[0].subject, "orders-value");
        assert!(collect(&[dir.join("missing.avsc")], None, None).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn run_cmd(cmd: RegistryCommand) -> (u8, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = execute(&cmd, &mut out, &mut err);
        (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
    }

    #[test]
    fn register_all_and_check_report_each_subject_and_fail_on_incompatible() {
        let server = RegistryServer::start("127.0.0.1:0", Level::Full).unwrap();
        let dir = temp_dir("register");
        let file = dir.join("order.avsc");
        std::fs::write(&file, V1).unwrap();
        let args = |paths: Vec<PathBuf>| SchemaArgs {
            paths,
            registry: server.url(),
            strategy: None,
            topic: None,
            compatibility: None,
        };
        let (code, out, _) = run_cmd(RegistryCommand::Check(args(vec![file.clone()])));
        assert_eq!((code, out.trim()), (0, format!("new subject   com.example.OrderCreated (FULL) from {}", file.display()).as_str()));
        let (code, out, _) = run_cmd(RegistryCommand::RegisterAll(args(vec![file.clone()])));
        assert_eq!(code, 0);
        assert!(out.starts_with("registered    com.example.OrderCreated: version 1 (id 1)"), "{out}");
        let (code, out, _) = run_cmd(RegistryCommand::RegisterAll(args(vec![file.clone()])));
        assert_eq!(code, 0);
        assert!(out.starts_with("unchanged     com.example.OrderCreated: version 1"), "{out}");
        // Dropping customer_id (no default) under FULL: old readers cannot read new data.
        std::fs::write(&file, V1.replace(r#",{"name":"customer_id","type":"string"}"#, "")).unwrap();
        let (code, out, _) = run_cmd(RegistryCommand::Check(args(vec![file.clone()])));
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("INCOMPATIBLE  com.example.OrderCreated (FULL)"), "{out}");
        assert!(out.contains("version 1 cannot read data written with the new schema: OrderCreated.customer_id: the reader's field `customer_id` has no default"), "{out}");
        let (code, out, _) = run_cmd(RegistryCommand::RegisterAll(args(vec![file.clone()])));
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("customer_id"), "{out}");
        let (code, _, err) = run_cmd(RegistryCommand::Check(SchemaArgs { registry: "http://127.0.0.1:1".into(), ..args(vec![file]) }));
        assert_eq!(code, 2);
        assert!(err.contains("unreachable"), "{err}");
        let (code, _, err) = run_cmd(RegistryCommand::Check(args(vec![dir.join("nested")])));
        assert_eq!(code, 2);
        assert!(err.contains("no Avro schema found"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
