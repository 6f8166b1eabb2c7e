//! Reading the input: AsyncAPI documents from files and folders.
//!
//! A folder is walked recursively (hidden folders, `node_modules` and `target` are left
//! out) for `*.yaml`, `*.yml` and `*.json`; a file inside one that is not an AsyncAPI
//! document at all (no `asyncapi` field: a `catalog-info.yaml`) is noted and left out.
//! A document that does not parse, or is not AsyncAPI 3.x, is an error diagnostic
//! naming the file; it is skipped and the rest is still read, unless the caller is
//! strict ([`LoadOptions::strict`]).

use std::path::{Path, PathBuf};

use serde_json::Value;
use tidings_asyncapi::model::Document;

use crate::config::{CatalogConfig, ConfigError};
use crate::model::{Catalog, Diagnostic, Level, SourceDocument};

/// How to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Fail on the first error diagnostic instead of skipping the file.
    pub strict: bool,
    /// The catalog config file, if any.
    pub config: Option<PathBuf>,
    /// Parse on this many threads (0: as many as the machine has cores).
    pub threads: usize,
}

/// Why loading failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// An input path does not exist or cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `--strict` and some input had errors; every one of them is listed.
    #[error("{} input error(s) (strict):\n{}", .0.len(), .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    Strict(Vec<Diagnostic>),
}

/// Every document file under `paths`: files as given, folders walked, sorted, deduplicated.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if meta.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push((path.clone(), true));
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.0 == b.0);
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, bool)>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !(name.starts_with('.') || name == "node_modules" || name == "target") {
                walk(&path, out)?;
            }
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push((path, false));
        }
    }
    Ok(())
}

/// The result of parsing one file.
pub enum Parsed {
    /// An AsyncAPI 3.x document.
    Document(Box<Document>),
    /// Not an AsyncAPI document at all (no `asyncapi` field): left out of a folder.
    NotAsyncApi,
    /// Unusable: the message says why.
    Invalid(String),
}

/// Parses document text (`json` picks the JSON parser; YAML otherwise).
pub fn parse_document(text: &str, json: bool) -> Parsed {
    let parsed = if json {
        Document::from_json(text).map_err(|e| e.to_string())
    } else {
        Document::from_yaml(text).map_err(|e| e.to_string())
    };
    match parsed {
        Ok(doc) if doc.asyncapi.starts_with("3.") => Parsed::Document(Box::new(doc)),
        Ok(doc) => Parsed::Invalid(format!(
            "AsyncAPI {} is not supported (the catalog reads 3.x documents)",
            doc.asyncapi
        )),
        Err(error) => {
            // Only on failure: is it an AsyncAPI document at all?
            let value: Option<Value> = if json {
                serde_json::from_str(text).ok()
            } else {
                serde_yaml_ng::from_str(text).ok()
            };
            match value {
                Some(Value::Object(map)) if !map.contains_key("asyncapi") => Parsed::NotAsyncApi,
                Some(v) if !v.is_object() => Parsed::NotAsyncApi,
                _ => Parsed::Invalid(format!("not a valid AsyncAPI document: {error}")),
            }
        }
    }
}

fn read_one(path: &Path, explicit: bool) -> Result<SourceDocument, Diagnostic> {
    let file = Some(path.display().to_string());
    let text = std::fs::read_to_string(path).map_err(|e| Diagnostic {
        level: Level::Error,
        file: file.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let json = path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    match parse_document(&text, json) {
        Parsed::Document(document) => Ok(SourceDocument {
            path: path.to_path_buf(),
            document: *document,
        }),
        Parsed::NotAsyncApi => Err(Diagnostic {
            // Named on the command line: the user meant it, so it is an error.
            level: if explicit { Level::Error } else { Level::Note },
            file,
            message: "not an AsyncAPI document (no `asyncapi` field); skipped".into(),
        }),
        Parsed::Invalid(message) => Err(Diagnostic {
            level: Level::Error,
            file,
            message: format!("{message}; skipped"),
        }),
    }
}

/// Reads every file (in parallel), in order; failures become diagnostics.
pub fn read_files(
    files: &[(PathBuf, bool)],
    threads: usize,
) -> (Vec<SourceDocument>, Vec<Diagnostic>) {
    let threads = match threads {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        n => n,
    }
    .clamp(1, files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    let results: Vec<Result<SourceDocument, Diagnostic>> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(p, explicit)| read_one(p, *explicit))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(results) => results,
                // A parser panic is a bug in a dependency; report it rather than abort.
                Err(_) => vec![Err(Diagnostic {
                    level: Level::Error,
                    file: None,
                    message: "a document parser panicked; some files were not read".into(),
                })],
            })
            .collect()
    });
    let mut documents = Vec::new();
    let mut diagnostics = Vec::new();
    for result in results {
        match result {
            Ok(doc) => documents.push(doc),
            Err(d) => diagnostics.push(d),
        }
    }
    (documents, diagnostics)
}

/// Loads the config and every document under `paths` and builds the catalog. Without
/// `strict`, unusable documents are diagnostics in the catalog; with it, they fail the load.
pub fn load(paths: &[PathBuf], options: &LoadOptions) -> Result<Catalog, LoadError> {
    let (config, origin) = match &options.config {
        Some(path) => (CatalogConfig::from_file(path)?, path.display().to_string()),
        None => (CatalogConfig::default(), String::new()),
    };
    let files = collect_files(paths)?;
    let (documents, diagnostics) = read_files(&files, options.threads);
    let catalog = Catalog::build(documents, config, &origin, diagnostics);
    if options.strict {
        let errors: Vec<Diagnostic> = catalog
            .diagnostics
            .iter()
            .filter(|d| d.level >= Level::Warning)
            .cloned()
            .collect();
        if !errors.is_empty() {
            return Err(LoadError::Strict(errors));
        }
    }
    Ok(catalog)
}
