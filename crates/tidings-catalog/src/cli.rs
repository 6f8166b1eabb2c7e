//! The `catalog` command line: [`CatalogCommand`] (a clap subcommand enum, mounted as
//! `tidings catalog ...`) and [`run`].
//!
//! Every subcommand reads `PATH...` (AsyncAPI files or folders; default
//! `docs/asyncapi`), an optional `--config catalog.toml`, and `--strict` (fail on any
//! input problem instead of skipping the file). Input problems go to stderr.
//!
//! Exit codes: 0 success; 1 a failed load (strict, unreadable path, bad config), an
//! unknown message or service, lint errors, or a write error; 2 bad usage (clap).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use crate::load::{load, LoadOptions};
use crate::model::Catalog;
use crate::query::{OrphanKind, Severity};
use crate::{ecosystem, graph, html};

/// Where the documents come from.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// AsyncAPI documents (YAML or JSON) or folders, read recursively.
    #[arg(value_name = "PATH", default_value = "docs/asyncapi")]
    pub inputs: Vec<PathBuf>,
    /// Catalog config (TOML): bridges, owners, lifecycle, domain, expected orphans.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Fail on any input problem (a document that does not parse, a duplicate service)
    /// instead of reporting it and skipping the file.
    #[arg(long)]
    pub strict: bool,
}

/// Text for people, JSON for tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Aligned text.
    #[default]
    Text,
    /// One JSON value.
    Json,
}

/// The output format flag of the query commands.
#[derive(Debug, Clone, Args)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Which graph language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum GraphFormat {
    /// Mermaid `flowchart LR`.
    #[default]
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// A standalone SVG, laid out without any external tool.
    Svg,
}

/// `tidings catalog <command>`: questions and outputs over many services' documents.
#[derive(Debug, Clone, Subcommand)]
pub enum CatalogCommand {
    /// Which services receive MESSAGE, on which channels (across bridges too: see `flows`).
    WhoConsumes {
        /// The message name (its key under `components/messages`).
        message: String,
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
        /// Text or JSON.
        #[command(flatten)]
        format: FormatArg,
    },
    /// Which services send MESSAGE, on which channels.
    WhoProduces {
        /// The message name.
        message: String,
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
        /// Text or JSON.
        #[command(flatten)]
        format: FormatArg,
    },
    /// What service NAME sends and receives, and who is on the other side.
    Service {
        /// The service name (`info.title`).
        name: String,
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
        /// Text or JSON.
        #[command(flatten)]
        format: FormatArg,
    },
    /// Messages sent where nobody receives them, and received where nobody sends them.
    Orphans {
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
        /// Text or JSON.
        #[command(flatten)]
        format: FormatArg,
    },
    /// Every path from a producer of MESSAGE to a consumer, across bridges.
    Flows {
        /// The message name.
        message: String,
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
        /// Text or JSON.
        #[command(flatten)]
        format: FormatArg,
    },
    /// Messages defined differently by two services, and producers that break their
    /// consumers. Exit 1 on any breaking change.
    Lint {
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
        /// Text or JSON.
        #[command(flatten)]
        format: FormatArg,
    },
    /// The static HTML catalog (offline; a page per service and per message).
    Html {
        /// Folder to write into.
        #[arg(
            long,
            short = 'o',
            value_name = "DIR",
            default_value = "target/catalog"
        )]
        out: PathBuf,
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
    },
    /// A flow graph: the whole system, one message's flows, or one service's.
    Graph {
        /// Graph language.
        #[arg(long = "as", value_enum, default_value_t = GraphFormat::Mermaid)]
        language: GraphFormat,
        /// Only the flows of this message.
        #[arg(long, conflicts_with = "service")]
        message: Option<String>,
        /// Only the flows of this service.
        #[arg(long)]
        service: Option<String>,
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
    },
    /// The whole catalog as JSON (services, channels, bridges, input problems).
    Json {
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
    },
    /// Backstage `catalog-info.yaml`: an API per service, a Component with
    /// providesApis/consumesApis.
    Backstage {
        /// Where the file goes (the documents' paths in it are relative to its folder).
        #[arg(
            long,
            short = 'o',
            value_name = "FILE",
            default_value = "catalog-info.yaml"
        )]
        out: PathBuf,
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
    },
    /// The `@eventcatalog/generator-asyncapi` configuration (a whole
    /// `eventcatalog.config.js`, or only the generator entry with `--block`).
    Eventcatalog {
        /// Where the file goes (the documents' paths in it are relative to its folder).
        #[arg(
            long,
            short = 'o',
            value_name = "FILE",
            default_value = "eventcatalog.config.js"
        )]
        out: PathBuf,
        /// Print only the `generators` entry on stdout.
        #[arg(long)]
        block: bool,
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
    },
    /// Everything into one folder: HTML, catalog.json, system.mmd, system.dot,
    /// catalog-info.yaml, eventcatalog.config.js.
    Build {
        /// Folder to write into.
        #[arg(
            long,
            short = 'o',
            value_name = "DIR",
            default_value = "target/catalog"
        )]
        out: PathBuf,
        /// The documents to read.
        #[command(flatten)]
        input: InputArgs,
    },
}

impl CatalogCommand {
    fn input(&self) -> &InputArgs {
        match self {
            CatalogCommand::WhoConsumes { input, .. }
            | CatalogCommand::WhoProduces { input, .. }
            | CatalogCommand::Service { input, .. }
            | CatalogCommand::Orphans { input, .. }
            | CatalogCommand::Flows { input, .. }
            | CatalogCommand::Lint { input, .. }
            | CatalogCommand::Html { input, .. }
            | CatalogCommand::Graph { input, .. }
            | CatalogCommand::Json { input, .. }
            | CatalogCommand::Backstage { input, .. }
            | CatalogCommand::Eventcatalog { input, .. }
            | CatalogCommand::Build { input, .. } => input,
        }
    }
}

/// Runs a command, printing to stdout and stderr.
pub fn run(cmd: CatalogCommand) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    ExitCode::from(execute(&cmd, &mut stdout.lock(), &mut stderr.lock()))
}

/// Runs a command, writing to `out` and `err`; returns the exit code (see the module docs).
pub fn execute(cmd: &CatalogCommand, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let input = cmd.input();
    let options = LoadOptions {
        strict: input.strict,
        config: input.config.clone(),
        threads: 0,
    };
    let catalog = match load(&input.inputs, &options) {
        Ok(catalog) => catalog,
        Err(e) => {
            let _ = writeln!(err, "catalog: error: {e}");
            return 1;
        }
    };
    for d in &catalog.diagnostics {
        let _ = writeln!(err, "catalog: {d}");
    }
    match answer(cmd, &catalog, out, err) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "catalog: error: {e}");
            1
        }
    }
}

fn print_json(out: &mut dyn Write, value: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    )
}

fn unknown(
    err: &mut dyn Write,
    what: &str,
    name: &str,
    similar: Vec<String>,
) -> std::io::Result<u8> {
    write!(err, "catalog: no {what} `{name}` in the catalog")?;
    if !similar.is_empty() {
        write!(err, " (did you mean {}?)", similar.join(", "))?;
    }
    writeln!(err)?;
    Ok(1)
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)
}

fn answer(
    cmd: &CatalogCommand,
    catalog: &Catalog,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<u8> {
    let diagnostics = serde_json::to_value(&catalog.diagnostics).unwrap_or_default();
    match cmd {
        CatalogCommand::WhoConsumes {
            message, format, ..
        }
        | CatalogCommand::WhoProduces {
            message, format, ..
        } => {
            let consumes = matches!(cmd, CatalogCommand::WhoConsumes { .. });
            if !catalog.knows_message(message) {
                return unknown(
                    err,
                    "message",
                    message,
                    catalog.similar_names(message, catalog.message_names()),
                );
            }
            let people = if consumes {
                catalog.who_consumes(message)
            } else {
                catalog.who_produces(message)
            };
            let services: BTreeSet<&str> = people.iter().map(|p| p.service.as_str()).collect();
            let key = if consumes { "consumers" } else { "producers" };
            match format.format {
                Format::Json => print_json(
                    out,
                    &json!({"message": message, key: people, "services": services, "diagnostics": diagnostics}),
                )?,
                Format::Text => {
                    let verb = if consumes { "consumed" } else { "produced" };
                    writeln!(
                        out,
                        "{message} is {verb} by {} service(s){}",
                        services.len(),
                        if services.is_empty() { "" } else { ":" }
                    )?;
                    let width = people.iter().map(|p| p.service.len()).max().unwrap_or(0);
                    for p in &people {
                        let group = p
                            .group
                            .as_ref()
                            .map(|g| format!(", group {g}"))
                            .unwrap_or_default();
                        writeln!(
                            out,
                            "  {:width$}  {}  (operation {}{group})",
                            p.service, p.channel, p.operation
                        )?;
                    }
                }
            }
            Ok(0)
        }
        CatalogCommand::Service { name, format, .. } => {
            let Some(report) = catalog.service(name) else {
                return unknown(
                    err,
                    "service",
                    name,
                    catalog.similar_names(name, catalog.services.keys().map(String::as_str)),
                );
            };
            match format.format {
                Format::Json => {
                    print_json(out, &json!({"service": report, "diagnostics": diagnostics}))?
                }
                Format::Text => {
                    writeln!(
                        out,
                        "{} {} ({})",
                        report.name, report.version, report.source
                    )?;
                    if let Some(d) = &report.description {
                        writeln!(out, "  {d}")?;
                    }
                    if !report.owners.is_empty() {
                        writeln!(out, "  owners: {}", report.owners.join(", "))?;
                    }
                    for (server, what) in &report.servers {
                        writeln!(out, "  server {server}: {what}")?;
                    }
                    for (title, rows, other) in [
                        ("sends", &report.sends, "received by"),
                        ("receives", &report.receives, "sent by"),
                    ] {
                        writeln!(out, "{title}:")?;
                        if rows.is_empty() {
                            writeln!(out, "  (nothing)")?;
                        }
                        for x in rows {
                            let peers = if x.peers.is_empty() {
                                "nobody".to_owned()
                            } else {
                                x.peers.join(", ")
                            };
                            writeln!(
                                out,
                                "  {} on {} (operation {}); {other} {peers}",
                                x.message, x.channel, x.operation
                            )?;
                        }
                    }
                }
            }
            Ok(0)
        }
        CatalogCommand::Orphans { format, .. } => {
            let orphans = catalog.orphans();
            match format.format {
                Format::Json => print_json(
                    out,
                    &json!({"orphans": orphans, "diagnostics": diagnostics}),
                )?,
                Format::Text => {
                    if orphans.is_empty() {
                        writeln!(out, "no orphans")?;
                    }
                    for o in &orphans {
                        let what = match o.kind {
                            OrphanKind::ProducedNeverConsumed => "produced, never consumed",
                            OrphanKind::ConsumedNeverProduced => "consumed, never produced",
                        };
                        writeln!(
                            out,
                            "{what}: {} by {} on {} (operation {})",
                            o.message, o.service, o.channel, o.operation
                        )?;
                    }
                }
            }
            Ok(0)
        }
        CatalogCommand::Flows {
            message, format, ..
        } => {
            if !catalog.knows_message(message) {
                return unknown(
                    err,
                    "message",
                    message,
                    catalog.similar_names(message, catalog.message_names()),
                );
            }
            let flows = catalog.flows(message);
            match format.format {
                Format::Json => print_json(
                    out,
                    &json!({"message": message, "flows": flows, "diagnostics": diagnostics}),
                )?,
                Format::Text => {
                    writeln!(out, "{message}: {} flow(s)", flows.len())?;
                    for f in &flows {
                        let mut line = format!("  {} -> {}", f.producer, f.channels[0]);
                        for hop in &f.bridges {
                            let via = hop
                                .convert
                                .as_ref()
                                .map(|c| format!(" ({c})"))
                                .unwrap_or_default();
                            line.push_str(&format!(" =bridge{via}=> {}", hop.to));
                        }
                        // The consumer on a channel this one meets (parameters filled in).
                        let reached = f.bridges.last().map_or(&f.channels[0], |hop| &hop.to);
                        if let Some(last) = f.channels.last().filter(|last| *last != reached) {
                            line.push_str(&format!(" =same channel=> {last}"));
                        }
                        line.push_str(&format!(" -> {}", f.consumer));
                        writeln!(out, "{line}")?;
                    }
                }
            }
            Ok(0)
        }
        CatalogCommand::Lint { format, .. } => {
            let findings = catalog.lint();
            let errors = findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count();
            match format.format {
                Format::Json => print_json(
                    out,
                    &json!({"findings": findings, "errors": errors, "diagnostics": diagnostics}),
                )?,
                Format::Text => {
                    for f in &findings {
                        let level = if f.severity == Severity::Error {
                            "error"
                        } else {
                            "warning"
                        };
                        writeln!(out, "{level}[{}] {}: {}", f.rule, f.message, f.summary)?;
                        for d in &f.details {
                            writeln!(out, "    {d}")?;
                        }
                    }
                    writeln!(
                        out,
                        "lint: {} finding(s), {errors} error(s)",
                        findings.len()
                    )?;
                }
            }
            Ok(u8::from(errors > 0))
        }
        CatalogCommand::Html { out: dir, .. } => {
            let pages = html::write(catalog, dir)?;
            writeln!(
                out,
                "wrote {pages} page(s) to {}",
                dir.join("index.html").display()
            )?;
            Ok(0)
        }
        CatalogCommand::Graph {
            language,
            message,
            service,
            ..
        } => {
            let (g, title) = match (message, service) {
                (Some(m), _) => {
                    if !catalog.knows_message(m) {
                        return unknown(
                            err,
                            "message",
                            m,
                            catalog.similar_names(m, catalog.message_names()),
                        );
                    }
                    (graph::message_graph(catalog, m), format!("flows of {m}"))
                }
                (None, Some(s)) => {
                    if !catalog.services.contains_key(s) {
                        return unknown(
                            err,
                            "service",
                            s,
                            catalog.similar_names(s, catalog.services.keys().map(String::as_str)),
                        );
                    }
                    (graph::service_graph(catalog, s), format!("flows of {s}"))
                }
                (None, None) => (graph::system_graph(catalog), "system".to_owned()),
            };
            let text = match language {
                GraphFormat::Mermaid => graph::to_mermaid(&g),
                GraphFormat::Dot => graph::to_dot(&g, &title),
                GraphFormat::Svg => graph::to_svg(&g, &title, &|_| None) + "\n",
            };
            out.write_all(text.as_bytes())?;
            Ok(0)
        }
        CatalogCommand::Json { .. } => {
            print_json(out, &serde_json::to_value(catalog).unwrap_or_default())?;
            Ok(0)
        }
        CatalogCommand::Backstage { out: path, .. } => {
            write_file(path, &ecosystem::backstage(catalog, path))?;
            writeln!(out, "wrote {}", path.display())?;
            Ok(0)
        }
        CatalogCommand::Eventcatalog {
            out: path, block, ..
        } => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if *block {
                writeln!(out, "{}", ecosystem::eventcatalog_block(catalog, dir))?;
            } else {
                write_file(path, &ecosystem::eventcatalog_config(catalog, dir))?;
                writeln!(out, "wrote {}", path.display())?;
            }
            Ok(0)
        }
        CatalogCommand::Build { out: dir, .. } => {
            let written = build_all(catalog, dir)?;
            writeln!(
                out,
                "wrote {written} file(s) to {} (open {})",
                dir.display(),
                dir.join("index.html").display()
            )?;
            Ok(0)
        }
    }
}

/// Writes every output into `dir`: the HTML pages, `catalog.json`, `system.mmd`,
/// `system.dot`, `catalog-info.yaml` and `eventcatalog.config.js`. Returns the file count.
pub fn build_all(catalog: &Catalog, dir: &Path) -> std::io::Result<usize> {
    let pages = html::write(catalog, dir)?;
    let system = graph::system_graph(catalog);
    let files = [
        (
            "catalog.json",
            serde_json::to_string_pretty(catalog).unwrap_or_default() + "\n",
        ),
        ("system.mmd", graph::to_mermaid(&system)),
        ("system.dot", graph::to_dot(&system, "system")),
        (
            "catalog-info.yaml",
            ecosystem::backstage(catalog, &dir.join("catalog-info.yaml")),
        ),
        (
            "eventcatalog.config.js",
            ecosystem::eventcatalog_config(catalog, dir),
        ),
    ];
    for (name, text) in &files {
        write_file(&dir.join(name), text)?;
    }
    Ok(pages + files.len())
}
