//! `cargo xtask`: workspace tasks for tidings (alias in `.cargo/config.toml`).
//!
//! - `cargo xtask spec [--check] [--out DIR]`: the AsyncAPI document of every service binary
//!   into `DIR/<bin>.yaml` (default `docs/asyncapi/`); `--check` writes nothing and fails on
//!   any missing, stale or extra file (a CI drift guard).
//! - `cargo xtask bless`: refreshes the golden files `tests/golden/<bin>.yaml` (and
//!   `docs/asyncapi/`).
//! - `cargo xtask validate [FILES...]`: the official AsyncAPI parser over the files (default:
//!   every `tests/golden/*.yaml` and `docs/asyncapi/*.yaml`).
//! - `cargo xtask catalog [--out DIR] [--config FILE] [--strict]`: the document of every
//!   service binary into `DIR/asyncapi/`, then the event catalog of them all into `DIR`
//!   (default `<target-dir>/catalog/`: HTML, JSON, Mermaid, DOT, Backstage, EventCatalog);
//!   a binary that cannot print its document is reported and left out unless `--strict`.
//!
//! Exit codes: 0 success, 1 a task failed or found drift or an invalid document, 2 bad usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{BuildOutput, Drift, SyncMode};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Workspace tasks for tidings", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Write the AsyncAPI document of every service binary to DIR/<bin>.yaml.
    Spec {
        /// Write nothing; exit 1 naming every stale, missing or extra file.
        #[arg(long)]
        check: bool,
        /// Folder of the documents (default: docs/asyncapi).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Refresh the golden files tests/golden/<bin>.yaml (and docs/asyncapi/).
    Bless,
    /// Validate AsyncAPI documents with the official parser (default: every
    /// tests/golden/*.yaml and docs/asyncapi/*.yaml).
    Validate {
        /// Documents to validate (YAML or JSON).
        files: Vec<PathBuf>,
    },
    /// Dump every service binary's document, then build the event catalog of them all.
    Catalog {
        /// Folder of the catalog (default: <target-dir>/catalog).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Catalog config: bridges, owners, domain (default: examples/fleet/catalog.toml).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Fail when a binary cannot print its document, instead of leaving it out.
        #[arg(long)]
        strict: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Spec { check, out } => spec(check, out),
        Cmd::Bless => bless(),
        Cmd::Validate { files } => validate(files),
        Cmd::Catalog {
            out,
            config,
            strict,
        } => catalog(out, config, strict),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the service binaries and collects their documents; every failing binary is
/// reported on stderr before the error is returned.
fn collect() -> xtask::Result<Option<Vec<xtask::Document>>> {
    let bins = xtask::built_service_binaries(BuildOutput::Inherit)?;
    if bins.is_empty() {
        eprintln!(
            "xtask: warning: no service binaries (no workspace package with a binary depends on `{}`)",
            xtask::FRAMEWORK_PACKAGE
        );
    }
    let (docs, errors) = xtask::documents(&bins);
    if errors.is_empty() {
        return Ok(Some(docs));
    }
    for e in &errors {
        eprintln!("xtask: error: {e}");
    }
    eprintln!(
        "xtask: {} of {} service binaries failed to print their document",
        errors.len(),
        bins.len()
    );
    Ok(None)
}

fn spec(check: bool, out: Option<PathBuf>) -> xtask::Result<bool> {
    let dir = match &out {
        Some(d) => absolute(d),
        None => xtask::docs_dir(),
    };
    let Some(docs) = collect()? else {
        return Ok(false);
    };
    if check {
        let drift = xtask::sync_dir(&dir, &docs, SyncMode::Check)?;
        if drift.is_empty() {
            println!(
                "spec: {} document(s) in {} are up to date",
                docs.len(),
                xtask::display_path(&dir)
            );
            return Ok(true);
        }
        for d in &drift {
            eprintln!("{d}");
        }
        let hint = match &out {
            Some(d) => format!("cargo xtask spec --out {}", d.display()),
            None => String::from("cargo xtask spec"),
        };
        eprintln!(
            "spec --check: {} file(s) out of date in {}; run `{hint}`",
            drift.len(),
            xtask::display_path(&dir)
        );
        return Ok(false);
    }
    // Only the folder this tool owns is pruned; a user-chosen --out may hold other YAML.
    let mode = if out.is_none() {
        SyncMode::WritePrune
    } else {
        SyncMode::Write
    };
    report_written(&dir, docs.len(), &xtask::sync_dir(&dir, &docs, mode)?, mode);
    Ok(true)
}

fn bless() -> xtask::Result<bool> {
    let Some(docs) = collect()? else {
        return Ok(false);
    };
    for dir in [xtask::golden_dir(), xtask::docs_dir()] {
        report_written(
            &dir,
            docs.len(),
            &xtask::sync_dir(&dir, &docs, SyncMode::WritePrune)?,
            SyncMode::WritePrune,
        );
    }
    Ok(true)
}

fn report_written(dir: &Path, total: usize, changes: &[Drift], mode: SyncMode) {
    for c in changes {
        match c {
            Drift::Missing(p) => println!("created {}", xtask::display_path(p)),
            Drift::Stale(p, _) => println!("updated {}", xtask::display_path(p)),
            Drift::Extra(p) if mode == SyncMode::WritePrune => {
                println!("removed {} (no such binary)", xtask::display_path(p))
            }
            Drift::Extra(p) => println!(
                "left    {} (no such binary; delete it if unused)",
                xtask::display_path(p)
            ),
        }
    }
    let unchanged = total.saturating_sub(
        changes
            .iter()
            .filter(|c| !matches!(c, Drift::Extra(_)))
            .count(),
    );
    println!(
        "{}: {total} document(s), {unchanged} unchanged",
        xtask::display_path(dir)
    );
}

fn validate(files: Vec<PathBuf>) -> xtask::Result<bool> {
    let files = if files.is_empty() {
        let found = xtask::default_validate_files()?;
        if found.is_empty() {
            eprintln!("validate: no documents in tests/golden/ or docs/asyncapi/; run `cargo xtask bless`");
            return Ok(false);
        }
        found
    } else {
        files.iter().map(|f| absolute(f)).collect()
    };
    let v = xtask::validate(&files)?;
    print!("{}", v.output);
    if !v.ok {
        eprintln!(
            "validate: the official AsyncAPI parser rejected at least one document (see above)"
        );
    }
    Ok(v.ok)
}

fn catalog(out: Option<PathBuf>, config: Option<PathBuf>, strict: bool) -> xtask::Result<bool> {
    let dir = match &out {
        Some(d) => absolute(d),
        None => xtask::target_dir()?.join("catalog"),
    };
    let config = config.map(|c| absolute(&c)).unwrap_or_else(|| {
        xtask::workspace_root()
            .join("examples")
            .join("fleet")
            .join("catalog.toml")
    });
    // Like the catalog's bad input: a binary that cannot print its document is reported
    // and left out, the rest is still catalogued (`--strict` refuses instead).
    let bins = xtask::built_service_binaries(BuildOutput::Inherit)?;
    let (docs, errors) = xtask::documents(&bins);
    for e in &errors {
        eprintln!(
            "catalog: {}: {e}",
            if strict {
                "error"
            } else {
                "warning (left out)"
            }
        );
    }
    if strict && !errors.is_empty() {
        return Ok(false);
    }
    // The documents sit inside the catalog folder, so its Backstage and EventCatalog
    // files point at them with relative paths that survive copying the folder.
    let docs_dir = dir.join("asyncapi");
    xtask::sync_dir(&docs_dir, &docs, SyncMode::WritePrune)?;
    let options = tidings_catalog::load::LoadOptions {
        strict: true,
        config: Some(config),
        threads: 0,
    };
    let catalog = match tidings_catalog::load::load(&[docs_dir], &options) {
        Ok(catalog) => catalog,
        Err(e) => {
            eprintln!("catalog: {e}");
            return Ok(false);
        }
    };
    let written =
        tidings_catalog::cli::build_all(&catalog, &dir).map_err(|source| xtask::Error::Io {
            action: "writing the catalog into",
            path: dir.clone(),
            source,
        })?;
    let findings = catalog.lint();
    let errors = findings
        .iter()
        .filter(|f| f.severity == tidings_catalog::query::Severity::Error)
        .count();
    println!(
        "catalog: {} services, {} messages, {} channels, {} bridges; lint: {} finding(s), {errors} error(s); {} orphan(s)",
        catalog.services.len(),
        catalog.message_names().count(),
        catalog.channels.len(),
        catalog.bridges.len(),
        findings.len(),
        catalog.orphans().len()
    );
    println!(
        "catalog: wrote {written} file(s); open {}",
        xtask::display_path(&dir.join("index.html"))
    );
    Ok(true)
}

/// `path` against the current directory (where the user ran `cargo xtask`).
fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}
