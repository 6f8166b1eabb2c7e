//! Command-line parsing (clap derive) and dispatch.
//!
//! Exit codes, for every command: 0 success, 1 the document is invalid / the diff breaks,
//! 2 unusable input (unreadable file, not YAML/JSON, bad arguments).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::validate::{FileReport, Severity};

/// `tidings`: validate, diff, bundle and document AsyncAPI 3.0 documents.
#[derive(Debug, Parser)]
#[command(name = "tidings", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate documents against the AsyncAPI 3.0.0 schema and the semantic rules.
    Validate(ValidateArgs),
    /// Classify the changes between two documents as breaking or not, and for whom.
    Diff(crate::diff::DiffArgs),
    /// Inline external `$ref`s into one self-contained document.
    Bundle(crate::bundle::BundleArgs),
    /// Render a self-contained HTML page of a document, or serve it.
    Docs(crate::docs::DocsArgs),
    /// Questions and outputs over many services' documents (the `tidings-catalog` crate).
    #[command(subcommand)]
    Catalog(tidings_catalog::cli::CatalogCommand),
    /// The Schema Registry: serve one in memory, register or check Avro schemas (the `tidings-avro` crate).
    #[command(subcommand)]
    Registry(tidings_avro::cli::RegistryCommand),
    /// Generate Rust types from schemas: `tidings codegen avro schemas/*.avsc -o src/events.rs` (the `tidings-avro` crate).
    #[command(subcommand)]
    Codegen(tidings_avro::cli::CodegenCommand),
}

/// Text for people, JSON for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per finding.
    Text,
    /// One JSON object for the whole run.
    Json,
}

/// Arguments of `tidings validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The documents (YAML or JSON).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Runs the command line: parses `std::env::args` and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    ExitCode::from(run(cli))
}

/// Runs a parsed command line; the exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Validate(args) => validate(&args),
        Command::Diff(args) => crate::diff::run(&args),
        Command::Bundle(args) => crate::bundle::run(&args),
        Command::Docs(args) => crate::docs::run(&args),
        Command::Catalog(cmd) => tidings_catalog::cli::execute(
            &cmd,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
        Command::Registry(cmd) => tidings_avro::cli::execute(&cmd, &mut std::io::stdout(), &mut std::io::stderr()),
        Command::Codegen(cmd) => tidings_avro::cli::codegen(&cmd, &mut std::io::stdout(), &mut std::io::stderr()),
    }
}

fn validate(args: &ValidateArgs) -> u8 {
    let mut reports: Vec<FileReport> = Vec::new();
    let mut unusable = Vec::new();
    for file in &args.files {
        match crate::validate::validate_file(file) {
            Ok(mut report) => {
                if args.strict {
                    report.valid = !report
                        .findings
                        .iter()
                        .any(|f| f.severity <= Severity::Warning);
                }
                reports.push(report);
            }
            Err(e) => unusable.push(e),
        }
    }
    let valid = reports.iter().filter(|r| r.valid).count();
    let invalid = reports.len() - valid;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => {
            let json = serde_json::json!({
                "files": reports,
                "unusable": unusable.iter().map(|e| serde_json::json!({
                    "file": e.file,
                    "line": e.position.map(|p| p.line),
                    "column": e.position.map(|p| p.column),
                    "message": e.message,
                })).collect::<Vec<_>>(),
                "valid": valid,
                "invalid": invalid,
            });
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
        }
        Format::Text => {
            for e in &unusable {
                let _ = writeln!(out, "{e}");
            }
            for report in &reports {
                for f in &report.findings {
                    let _ = writeln!(out, "{f}");
                }
                let errors = count(report, Severity::Error);
                let warnings = count(report, Severity::Warning);
                let _ = writeln!(
                    out,
                    "{} {} ({errors} error(s), {warnings} warning(s))",
                    if report.valid { "VALID  " } else { "INVALID" },
                    report.file
                );
            }
            let _ = writeln!(
                out,
                "{valid} valid, {invalid} invalid{}",
                if unusable.is_empty() {
                    String::new()
                } else {
                    format!(", {} unusable", unusable.len())
                }
            );
        }
    }
    if !unusable.is_empty() {
        2
    } else if invalid > 0 {
        1
    } else {
        0
    }
}

fn count(report: &FileReport, severity: Severity) -> usize {
    report
        .findings
        .iter()
        .filter(|f| f.severity == severity)
        .count()
}
