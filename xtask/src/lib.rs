//! Workspace tasks for tidings, as a library so the workspace tests reuse them.
//!
//! A *service binary* is a binary target of a workspace package that depends directly on
//! the `tidings` package. Every such binary answers `--asyncapi` by printing its AsyncAPI
//! document without touching a broker; the functions here find them
//! ([`service_binaries`]), build them in one cargo call ([`build`]), collect their
//! documents ([`document_of`]), keep `docs/asyncapi/` and `tests/golden/` in step with
//! them ([`sync_dir`]) and run the official AsyncAPI parser over files ([`validate`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Name of the package whose direct dependents' binaries are service binaries.
pub const FRAMEWORK_PACKAGE: &str = "tidings";

/// Prefix of the environment variables that override a service's server URLs; they are
/// removed before running a binary so the document does not depend on the caller's shell.
pub const SERVER_ENV_PREFIX: &str = "TIDINGS_SERVER_";

/// How long one `--asyncapi` run may take before it is killed (it should take milliseconds;
/// a binary that ignores the flag and waits for a broker must not hang CI).
pub const BINARY_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything that can go wrong in a task. Every variant names what failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A program could not be started because it is not installed (or not on `PATH`).
    #[error("`{program}` is not installed or not on PATH ({hint})")]
    ToolMissing {
        /// The program, e.g. `node`.
        program: String,
        /// What needs it and how to get it.
        hint: String,
    },
    /// A program could not be started for another reason.
    #[error("could not run `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        source: io::Error,
    },
    /// `cargo metadata` failed or printed something unreadable.
    #[error("cargo metadata failed: {0}")]
    Metadata(String),
    /// `cargo build` of the service binaries failed.
    #[error("`{command}` failed ({status}){}", fmt_stderr(.stderr))]
    BuildFailed {
        /// The command line, for the message.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stderr when it was captured (empty when it went to the terminal).
        stderr: String,
    },
    /// A service binary exited non-zero (or was killed) when asked for its document.
    #[error("service binary `{name}` failed: `{command}` exited with {status}{}", fmt_stderr(.stderr))]
    BinaryFailed {
        /// The binary's name.
        name: String,
        /// The command line that was run.
        command: String,
        /// Its exit status, or "timeout after Ns".
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A service binary exited 0 but printed nothing on stdout.
    #[error("service binary `{name}`: `{command}` exited 0 but printed no document{}", fmt_stderr(.stderr))]
    EmptyDocument {
        /// The binary's name.
        name: String,
        /// The command line that was run.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A binary reported by `cargo metadata` was not produced by the build.
    #[error("service binary `{name}` was not built: expected it at {}", .path.display())]
    NotBuilt {
        /// The binary's name.
        name: String,
        /// Where it was expected.
        path: PathBuf,
    },
    /// Two packages define binaries of the same name: their documents would share a file.
    #[error("binary name `{name}` is defined by more than one package ({packages}); documents are named after the binary, so rename one")]
    DuplicateBinary {
        /// The binary name.
        name: String,
        /// The packages, comma-separated.
        packages: String,
    },
    /// `npm ci` in the parser folder failed.
    #[error("`npm ci` in {} failed ({status}){}", .dir.display(), fmt_stderr(.output))]
    NpmFailed {
        /// The parser folder.
        dir: PathBuf,
        /// Its exit status.
        status: String,
        /// What npm printed.
        output: String,
    },
    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done ("reading", "writing", ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

fn fmt_stderr(stderr: &str) -> String {
    let trimmed = stderr.trim_end();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("\n--- stderr ---\n{trimmed}\n--------------")
    }
}

/// Result of the tasks in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

fn spawn_err(program: &str, hint: &str, source: io::Error) -> Error {
    if source.kind() == io::ErrorKind::NotFound {
        Error::ToolMissing {
            program: program.to_string(),
            hint: hint.to_string(),
        }
    } else {
        Error::Spawn {
            program: program.to_string(),
            source,
        }
    }
}

/// The workspace root (`<root>/xtask` is this crate).
///
/// Taken from the `CARGO_MANIFEST_DIR` that `cargo run` and `cargo test` set at run time
/// (`<root>/xtask` or `<root>/tests`), so it is right whatever the current directory is.
/// The compile-time value is only the fallback (a binary run without cargo): a target dir
/// shared by two checkouts can hand one checkout an xtask built in the other.
pub fn workspace_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let is_root = |dir: &Path| dir.join("xtask").join("Cargo.toml").is_file();
        std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .and_then(|dir| dir.parent().map(Path::to_path_buf))
            .filter(|dir| is_root(dir))
            .unwrap_or_else(|| {
                let here = Path::new(env!("CARGO_MANIFEST_DIR"));
                here.parent().unwrap_or(here).to_path_buf()
            })
    })
    .clone()
}

/// `docs/asyncapi/`: the published documents, one `<bin>.yaml` per service binary.
pub fn docs_dir() -> PathBuf {
    workspace_root().join("docs").join("asyncapi")
}

/// `tests/golden/`: the golden documents the workspace tests compare against.
pub fn golden_dir() -> PathBuf {
    workspace_root().join("tests").join("golden")
}

/// `tests/asyncapi-parser/`: the npm project holding the official parser and `validate.mjs`.
pub fn parser_dir() -> PathBuf {
    workspace_root().join("tests").join("asyncapi-parser")
}

/// `path` relative to the workspace root when it is inside it (for readable messages).
pub fn display_path(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The cargo to run: the one that started us (`$CARGO`) when there is one.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A binary target of a package that depends directly on `tidings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceBinary {
    /// The binary's name (also the name of its document file, `<name>.yaml`).
    pub name: String,
    /// The package that defines it.
    pub package: String,
    /// Where the executable is: `<target-dir>/debug/<name>` until [`build`] reports the
    /// exact path.
    pub path: PathBuf,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
    target_directory: PathBuf,
}

#[derive(Deserialize)]
struct MetaPackage {
    name: String,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
    #[serde(default)]
    dependencies: Vec<MetaDependency>,
    #[serde(default)]
    targets: Vec<MetaTarget>,
}

#[derive(Deserialize)]
struct MetaDependency {
    name: String,
    /// `None` for a normal dependency, `"dev"` or `"build"` otherwise.
    kind: Option<String>,
}

#[derive(Deserialize)]
struct MetaTarget {
    name: String,
    kind: Vec<String>,
    #[serde(rename = "required-features", default)]
    required_features: Vec<String>,
}

fn metadata() -> Result<Metadata> {
    let manifest = workspace_root().join("Cargo.toml");
    let mut cmd = Command::new(cargo());
    cmd.args([
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--manifest-path",
    ])
    .arg(&manifest)
    .stdin(Stdio::null());
    let out = cmd
        .output()
        .map_err(|e| spawn_err("cargo", "needed for cargo metadata", e))?;
    if !out.status.success() {
        return Err(Error::Metadata(format!(
            "exit {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::Metadata(format!("unreadable output: {e}")))
}

/// The target directory: `$CARGO_TARGET_DIR` when set, else what `cargo metadata` reports
/// (which honours `.cargo/config.toml`).
pub fn target_dir() -> Result<PathBuf> {
    match env_target_dir() {
        Some(dir) => Ok(dir),
        None => Ok(metadata()?.target_directory),
    }
}

fn env_target_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty())?;
    let dir = PathBuf::from(dir);
    // Cargo resolves a relative CARGO_TARGET_DIR against the current directory.
    Some(if dir.is_absolute() {
        dir
    } else {
        std::env::current_dir().map(|c| c.join(&dir)).unwrap_or(dir)
    })
}

/// Every binary target of every workspace package that depends directly (as a normal
/// dependency) on `tidings`, sorted by name. Binaries with `required-features` are left
/// out: a plain `cargo build --bins` does not build them.
pub fn service_binaries() -> Result<Vec<ServiceBinary>> {
    let meta = metadata()?;
    let target = env_target_dir().unwrap_or(meta.target_directory);
    let debug = target.join("debug");
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pkg in &meta.packages {
        let uses_tidings = pkg
            .dependencies
            .iter()
            .any(|d| d.name == FRAMEWORK_PACKAGE && d.kind.is_none());
        // `[package.metadata.tidings] services = false`: binaries that use tidings but
        // are not services (benchmarks) and so have no document.
        let opted_out = pkg
            .metadata
            .as_ref()
            .and_then(|m| m.get("tidings"))
            .and_then(|t| t.get("services"))
            .and_then(|v| v.as_bool())
            == Some(false);
        if !uses_tidings || opted_out {
            continue;
        }
        for t in &pkg.targets {
            if t.kind.iter().any(|k| k == "bin") && t.required_features.is_empty() {
                by_name
                    .entry(t.name.clone())
                    .or_default()
                    .push(pkg.name.clone());
            }
        }
    }
    let mut bins = Vec::with_capacity(by_name.len());
    for (name, packages) in by_name {
        if packages.len() > 1 {
            return Err(Error::DuplicateBinary {
                name,
                packages: packages.join(", "),
            });
        }
        let path = debug.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        bins.push(ServiceBinary {
            name,
            package: packages.into_iter().next().unwrap_or_default(),
            path,
        });
    }
    Ok(bins)
}

/// How [`build`] treats cargo's progress and error output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildOutput {
    /// Straight to the terminal (the `cargo xtask` commands).
    Inherit,
    /// Captured, and part of the error on failure (tests, where it would be noise).
    Capture,
}

/// Builds every given binary's package in ONE `cargo build --bins -p a -p b ...` call and
/// returns the binaries with the exact executable paths cargo reported. No binaries: no
/// build.
pub fn build(bins: &[ServiceBinary], output: BuildOutput) -> Result<Vec<ServiceBinary>> {
    if bins.is_empty() {
        return Ok(Vec::new());
    }
    let packages: BTreeSet<&str> = bins.iter().map(|b| b.package.as_str()).collect();
    let mut cmd = Command::new(cargo());
    cmd.arg("build").arg("--bins");
    for p in &packages {
        cmd.arg("-p").arg(p);
    }
    // JSON on stdout tells where each executable landed; diagnostics stay human-readable.
    cmd.args([
        "--message-format",
        "json-render-diagnostics",
        "--manifest-path",
    ])
    .arg(workspace_root().join("Cargo.toml"))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(match output {
        BuildOutput::Inherit => Stdio::inherit(),
        BuildOutput::Capture => Stdio::piped(),
    });
    let shown = format!(
        "cargo build --bins {}",
        packages
            .iter()
            .map(|p| format!("-p {p}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = cmd
        .output()
        .map_err(|e| spawn_err("cargo", "needed to build the service binaries", e))?;
    if !out.status.success() {
        return Err(Error::BuildFailed {
            command: shown,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let executables = executables_from_messages(&out.stdout);
    bins.iter()
        .map(|b| {
            let path = executables
                .get(&b.name)
                .cloned()
                .unwrap_or_else(|| b.path.clone());
            if path.is_file() {
                Ok(ServiceBinary { path, ..b.clone() })
            } else {
                Err(Error::NotBuilt {
                    name: b.name.clone(),
                    path,
                })
            }
        })
        .collect()
}

/// Binary name -> executable path, from cargo's `compiler-artifact` JSON messages.
fn executables_from_messages(stdout: &[u8]) -> BTreeMap<String, PathBuf> {
    #[derive(Deserialize)]
    struct Artifact {
        reason: String,
        #[serde(default)]
        target: Option<ArtifactTarget>,
        #[serde(default)]
        executable: Option<PathBuf>,
    }
    #[derive(Deserialize)]
    struct ArtifactTarget {
        name: String,
        kind: Vec<String>,
    }
    let mut map = BTreeMap::new();
    for line in stdout.split(|&b| b == b'\n') {
        let Ok(msg) = serde_json::from_slice::<Artifact>(line) else {
            continue;
        };
        if msg.reason != "compiler-artifact" {
            continue;
        }
        if let (Some(t), Some(exe)) = (msg.target, msg.executable) {
            if t.kind.iter().any(|k| k == "bin") {
                map.insert(t.name, exe);
            }
        }
    }
    map
}

/// Finds the service binaries and builds them (cargo output to the terminal or captured).
pub fn built_service_binaries(output: BuildOutput) -> Result<Vec<ServiceBinary>> {
    build(&service_binaries()?, output)
}

/// The format asked of `--asyncapi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `--asyncapi` (YAML, the default).
    #[default]
    Yaml,
    /// `--asyncapi=json`.
    Json,
}

impl Format {
    fn flag(self) -> &'static str {
        match self {
            Format::Yaml => "--asyncapi",
            Format::Json => "--asyncapi=json",
        }
    }
}

/// The YAML document `bin --asyncapi` prints. See [`document_in`].
pub fn document_of(bin: &ServiceBinary) -> Result<Vec<u8>> {
    document_in(bin, Format::Yaml)
}

/// Runs the (built) binary with `--asyncapi` or `--asyncapi=json`, with no stdin and every
/// `TIDINGS_SERVER_*` variable removed from its environment, and returns its stdout. A
/// non-zero exit, a timeout ([`BINARY_TIMEOUT`]) or an empty stdout is an error naming the
/// binary and carrying its stderr.
pub fn document_in(bin: &ServiceBinary, format: Format) -> Result<Vec<u8>> {
    let mut cmd = Command::new(&bin.path);
    cmd.arg(format.flag());
    for (key, _) in std::env::vars_os() {
        if key
            .to_str()
            .is_some_and(|k| k.starts_with(SERVER_ENV_PREFIX))
        {
            cmd.env_remove(&key);
        }
    }
    let command = format!("{} {}", display_path(&bin.path), format.flag());
    let run = run_with_timeout(cmd, BINARY_TIMEOUT).map_err(|source| {
        spawn_err(
            &display_path(&bin.path),
            "run `cargo xtask spec` to build it",
            source,
        )
    })?;
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    let status = match run.status {
        None => Some(format!(
            "timeout after {}s (killed)",
            BINARY_TIMEOUT.as_secs()
        )),
        Some(s) if !s.success() => Some(describe_status(s)),
        Some(_) => None,
    };
    if let Some(status) = status {
        return Err(Error::BinaryFailed {
            name: bin.name.clone(),
            command,
            status,
            stderr,
        });
    }
    if run.stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyDocument {
            name: bin.name.clone(),
            command,
            stderr,
        });
    }
    Ok(run.stdout)
}

fn describe_status(s: ExitStatus) -> String {
    match s.code() {
        Some(code) => format!("exit code {code}"),
        None => format!("{s} (killed by a signal)"),
    }
}

struct Run {
    /// `None` when it was killed at the timeout.
    status: Option<ExitStatus>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn run_with_timeout(mut cmd: Command, timeout: Duration) -> io::Result<Run> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    // Read both pipes on threads so a chatty child cannot block on a full pipe.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err_t = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    Ok(Run {
        status,
        stdout,
        stderr,
    })
}

/// A service binary with the document it printed.
pub type Document = (ServiceBinary, Vec<u8>);

/// One finding of [`sync_dir`] in check mode (or one action in write mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// `<bin>.yaml` is missing.
    Missing(PathBuf),
    /// `<bin>.yaml` differs from the binary's output; carries a short diff.
    Stale(PathBuf, String),
    /// A `.yaml` file with no service binary of that name.
    Extra(PathBuf),
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Missing(p) => write!(f, "missing: {}", display_path(p)),
            Drift::Stale(p, diff) => write!(f, "stale:   {}\n{diff}", display_path(p)),
            Drift::Extra(p) => {
                write!(
                    f,
                    "extra:   {} (no service binary of that name)",
                    display_path(p)
                )
            }
        }
    }
}

/// Whether [`sync_dir`] writes files or only reports drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Report drift, touch nothing.
    Check,
    /// Write every document; leave `.yaml` files with no binary in place (reported).
    Write,
    /// Write every document and delete `.yaml` files with no binary (only for folders this
    /// tool owns: `docs/asyncapi/`, `tests/golden/`).
    WritePrune,
}

/// Keeps `dir/<bin>.yaml` equal to each document. In [`SyncMode::Check`] it returns every
/// missing, stale and extra file; in the write modes it writes what differs and returns
/// what it changed (plus extras it left).
pub fn sync_dir(dir: &Path, documents: &[Document], mode: SyncMode) -> Result<Vec<Drift>> {
    let mut drift = Vec::new();
    let mut names = BTreeSet::new();
    if mode != SyncMode::Check {
        std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
    }
    for (bin, doc) in documents {
        names.insert(format!("{}.yaml", bin.name));
        let path = dir.join(format!("{}.yaml", bin.name));
        let found = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err("reading", &path)(e)),
        };
        let finding = match &found {
            None => Drift::Missing(path.clone()),
            Some(old) if old != doc => Drift::Stale(
                path.clone(),
                line_diff(
                    &String::from_utf8_lossy(old),
                    &String::from_utf8_lossy(doc),
                    "file",
                    "binary output",
                ),
            ),
            Some(_) => continue,
        };
        if mode != SyncMode::Check {
            std::fs::write(&path, doc).map_err(io_err("writing", &path))?;
        }
        drift.push(finding);
    }
    for extra in yaml_files(dir)? {
        let Some(file) = extra.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if names.contains(file) {
            continue;
        }
        if mode == SyncMode::WritePrune {
            std::fs::remove_file(&extra).map_err(io_err("removing", &extra))?;
        }
        drift.push(Drift::Extra(extra));
    }
    Ok(drift)
}

/// The `*.yaml` files directly in `dir`, sorted; none when `dir` does not exist.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("listing", dir)(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_err("listing", dir))?.path();
        if path.extension().is_some_and(|x| x == "yaml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs every binary for its YAML document. All binaries are run even when one fails, so
/// one report names every failing binary.
pub fn documents(bins: &[ServiceBinary]) -> (Vec<Document>, Vec<Error>) {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for bin in bins {
        match document_of(bin) {
            Ok(doc) => docs.push((bin.clone(), doc)),
            Err(e) => errors.push(e),
        }
    }
    (docs, errors)
}

/// A unified-style line diff of `old` against `new`, labelled (for example "golden file"
/// and "binary output"): hunks with three lines of context, at most [`DIFF_MAX_LINES`]
/// lines shown (the first differences), so a failing check stays readable.
pub fn line_diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    if old == new {
        return String::from("(identical)\n");
    }
    let o: Vec<&str> = old.lines().collect();
    let n: Vec<&str> = new.lines().collect();
    if o == n {
        return String::from(
            "(same lines; they differ only in line endings or the final newline)\n",
        );
    }
    let ops = diff_ops(&o, &n);
    let mut out = format!("--- {old_label}\n+++ {new_label}\n");
    let mut shown = 0;
    for hunk in hunks(&ops, 3) {
        let (mut oi, mut ni) = (hunk.old_start, hunk.new_start);
        let (ol, nl) = ops[hunk.ops.clone()]
            .iter()
            .fold((0, 0), |(a, b), op| match op {
                Op::Same => (a + 1, b + 1),
                Op::Del => (a + 1, b),
                Op::Ins => (a, b + 1),
            });
        out.push_str(&format!("@@ -{},{ol} +{},{nl} @@\n", oi + 1, ni + 1));
        for op in &ops[hunk.ops] {
            if shown == DIFF_MAX_LINES {
                out.push_str("... (more differences not shown)\n");
                return out;
            }
            shown += 1;
            match op {
                Op::Same => {
                    out.push_str(&format!(" {}\n", o[oi]));
                    oi += 1;
                    ni += 1;
                }
                Op::Del => {
                    out.push_str(&format!("-{}\n", o[oi]));
                    oi += 1;
                }
                Op::Ins => {
                    out.push_str(&format!("+{}\n", n[ni]));
                    ni += 1;
                }
            }
        }
    }
    out
}

/// Most lines [`line_diff`] shows.
pub const DIFF_MAX_LINES: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Ins,
}

/// Edit script turning `o` into `n`: common prefix and suffix, and a longest-common-
/// subsequence diff of the middle (all-delete-then-insert when the middle is too big for
/// the quadratic table, which documents of a few thousand lines never are).
fn diff_ops(o: &[&str], n: &[&str]) -> Vec<Op> {
    let prefix = o.iter().zip(n).take_while(|(x, y)| x == y).count();
    let room = o.len().min(n.len()) - prefix;
    let suffix = o
        .iter()
        .rev()
        .zip(n.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    let (om, nm) = (&o[prefix..o.len() - suffix], &n[prefix..n.len() - suffix]);
    let mut ops = vec![Op::Same; prefix];
    let (h, w) = (om.len(), nm.len());
    if h.saturating_mul(w) > 16_000_000 {
        ops.extend(std::iter::repeat_n(Op::Del, h));
        ops.extend(std::iter::repeat_n(Op::Ins, w));
    } else {
        // lcs[i * (w + 1) + j]: length of the LCS of om[i..] and nm[j..].
        let mut lcs = vec![0u32; (h + 1) * (w + 1)];
        for i in (0..h).rev() {
            for j in (0..w).rev() {
                lcs[i * (w + 1) + j] = if om[i] == nm[j] {
                    lcs[(i + 1) * (w + 1) + j + 1] + 1
                } else {
                    lcs[(i + 1) * (w + 1) + j].max(lcs[i * (w + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < h || j < w {
            if i < h && j < w && om[i] == nm[j] {
                ops.push(Op::Same);
                i += 1;
                j += 1;
            } else if j == w || (i < h && lcs[(i + 1) * (w + 1) + j] >= lcs[i * (w + 1) + j + 1]) {
                ops.push(Op::Del);
                i += 1;
            } else {
                ops.push(Op::Ins);
                j += 1;
            }
        }
    }
    ops.extend(std::iter::repeat_n(Op::Same, suffix));
    ops
}

struct Hunk {
    ops: std::ops::Range<usize>,
    old_start: usize,
    new_start: usize,
}

/// Groups changes with `context` unchanged lines around them; close changes share a hunk.
fn hunks(ops: &[Op], context: usize) -> Vec<Hunk> {
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k] != Op::Same).collect();
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for k in changed {
        let (lo, hi) = (k.saturating_sub(context), (k + context + 1).min(ops.len()));
        match ranges.last_mut() {
            Some(r) if lo <= r.end => r.end = r.end.max(hi),
            _ => ranges.push(lo..hi),
        }
    }
    ranges
        .into_iter()
        .map(|r| {
            let old_start = ops[..r.start].iter().filter(|&&op| op != Op::Ins).count();
            let new_start = ops[..r.start].iter().filter(|&&op| op != Op::Del).count();
            Hunk {
                ops: r,
                old_start,
                new_start,
            }
        })
        .collect()
}

/// What [`validate`] found.
#[derive(Debug, Clone)]
pub struct Validation {
    /// True when every document is valid (`validate.mjs` exited 0).
    pub ok: bool,
    /// Everything the parser printed (stdout then stderr): every diagnostic and the final
    /// "N valid, M invalid" line.
    pub output: String,
}

/// Installs the parser's npm packages (`npm ci --ignore-scripts --no-audit --no-fund` in
/// `tests/asyncapi-parser/`) when they are missing. Scripts are never needed and some
/// postinstall scripts write outside the folder, hence `--ignore-scripts`.
pub fn ensure_parser_installed() -> Result<()> {
    let dir = parser_dir();
    let installed = dir
        .join("node_modules")
        .join("@asyncapi")
        .join("parser")
        .join("package.json");
    if installed.is_file() {
        return Ok(());
    }
    if !dir.join("package-lock.json").is_file() {
        return Err(Error::Io {
            action: "finding the parser's package-lock.json in",
            path: dir,
            source: io::Error::new(io::ErrorKind::NotFound, "no package-lock.json"),
        });
    }
    let out = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            spawn_err(
                "npm",
                "needed to install the official AsyncAPI parser; install Node.js 20 with npm",
                e,
            )
        })?;
    if !out.status.success() {
        let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(Error::NpmFailed {
            dir,
            status: out.status.to_string(),
            output,
        });
    }
    Ok(())
}

/// The files `cargo xtask validate` checks by default: every `tests/golden/*.yaml` and
/// `docs/asyncapi/*.yaml`.
pub fn default_validate_files() -> Result<Vec<PathBuf>> {
    let mut files = yaml_files(&golden_dir())?;
    files.extend(yaml_files(&docs_dir())?);
    Ok(files)
}

/// Runs the official AsyncAPI parser (`node tests/asyncapi-parser/validate.mjs FILE...`) over
/// `files` in one call (startup dominates), installing its npm packages first if needed.
/// `Ok` with `ok == false` means a document is invalid; `Err` means the parser could not
/// run (for example [`Error::ToolMissing`] when `node` is not installed).
pub fn validate(files: &[PathBuf]) -> Result<Validation> {
    ensure_parser_installed()?;
    let script = parser_dir().join("validate.mjs");
    if !script.is_file() {
        return Err(Error::Io {
            action: "finding",
            path: script,
            source: io::Error::new(io::ErrorKind::NotFound, "validate.mjs is missing"),
        });
    }
    let root = workspace_root();
    let out = Command::new("node")
        .arg(&script)
        // Relative names keep the report readable; node runs from the workspace root.
        .args(files.iter().map(|f| f.strip_prefix(&root).unwrap_or(f)))
        .current_dir(&root)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            spawn_err(
                "node",
                "needed to run the official AsyncAPI parser; install Node.js 20",
                e,
            )
        })?;
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok(Validation {
        ok: out.status.success(),
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_each_changed_region_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
        let new = "a\nb\nc\nX\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";
        let d = line_diff(old, new, "old", "new");
        assert!(d.starts_with("--- old\n+++ new\n@@ -1,7 +1,7 @@\n"), "{d}");
        assert!(d.contains(" c\n-d\n+X\n e\n"), "{d}");
        // The second change is its own hunk, not a rewrite of everything in between.
        assert!(d.contains("@@ -10,3 +10,4 @@\n j\n k\n l\n+m\n"), "{d}");
        assert!(!d.contains("-e"), "{d}");
    }

    #[test]
    fn diff_handles_added_lines_and_newlines() {
        assert!(line_diff("a\n", "a\nb\n", "o", "n").contains("+b\n"));
        assert!(line_diff("a\nb\n", "a\n", "o", "n").contains("-b\n"));
        assert!(line_diff("a\n", "a", "o", "n").contains("final newline"));
        assert_eq!(line_diff("same", "same", "o", "n"), "(identical)\n");
        let long: String = (0..500).map(|i| format!("{i}\n")).collect();
        let d = line_diff("", &long, "o", "n");
        assert!(d.ends_with("... (more differences not shown)\n"), "{d}");
    }

    #[test]
    fn artifact_messages_give_executables() {
        let stdout = br#"{"reason":"compiler-artifact","target":{"name":"lib1","kind":["lib"]},"executable":null}
not json
{"reason":"compiler-artifact","target":{"name":"svc","kind":["bin"]},"executable":"/t/debug/svc"}
{"reason":"build-finished","success":true}"#;
        let map = executables_from_messages(stdout);
        assert_eq!(map.len(), 1);
        assert_eq!(map["svc"], PathBuf::from("/t/debug/svc"));
    }

    #[test]
    fn sync_dir_reports_missing_stale_and_extra_then_fixes_them() {
        let dir = std::env::temp_dir().join(format!("xtask-sync-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.yaml"), "old\n").unwrap();
        std::fs::write(dir.join("orphan.yaml"), "x\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "not a document\n").unwrap();
        let bin = |n: &str| ServiceBinary {
            name: n.into(),
            package: "p".into(),
            path: PathBuf::new(),
        };
        let docs = vec![(bin("a"), b"a\n".to_vec()), (bin("b"), b"new\n".to_vec())];

        let found = sync_dir(&dir, &docs, SyncMode::Check).unwrap();
        assert!(matches!(&found[0], Drift::Missing(p) if p.ends_with("a.yaml")));
        assert!(
            matches!(&found[1], Drift::Stale(p, d) if p.ends_with("b.yaml") && d.contains("+new"))
        );
        assert!(matches!(&found[2], Drift::Extra(p) if p.ends_with("orphan.yaml")));
        assert_eq!(found.len(), 3);
        assert!(!dir.join("a.yaml").exists(), "check mode must not write");

        sync_dir(&dir, &docs, SyncMode::WritePrune).unwrap();
        assert!(sync_dir(&dir, &docs, SyncMode::Check).unwrap().is_empty());
        assert!(
            dir.join("notes.txt").exists(),
            "only .yaml files are pruned"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failing_binary_is_an_error_naming_it() {
        let bin = ServiceBinary {
            name: "sh-fail".into(),
            package: "p".into(),
            path: "/bin/sh".into(),
        };
        // `/bin/sh --asyncapi` is an invalid option: non-zero exit, never a panic.
        let err = document_of(&bin).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`sh-fail` failed"), "{msg}");
        assert!(msg.contains("exit code"), "{msg}");
    }

    #[test]
    fn a_hanging_binary_is_killed_at_the_timeout() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let started = Instant::now();
        let run = run_with_timeout(cmd, Duration::from_millis(200)).unwrap();
        assert!(run.status.is_none());
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_binary_is_an_error() {
        let bin = ServiceBinary {
            name: "nope".into(),
            package: "p".into(),
            path: "/nonexistent/nope".into(),
        };
        assert!(document_of(&bin).is_err());
    }
}
