//! The command-line flags every tidings binary answers. Flatten [`TidingsArgs`] into
//! your own `clap` parser when the binary has flags of its own.

use std::path::PathBuf;

/// Output format of the AsyncAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SpecFormat {
    /// YAML (the default).
    #[default]
    Yaml,
    /// JSON.
    Json,
}

/// Where `--asyncapi-serve` listens when given no address: loopback, the port of
/// `tidings docs serve`.
pub const DEFAULT_SERVE_ADDR: &str = "127.0.0.1:8080";

/// Flags of every tidings service binary.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TidingsArgs {
    /// Print the AsyncAPI 3.0 document and exit, without connecting to any broker.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "yaml", require_equals = true)]
    pub asyncapi: Option<SpecFormat>,

    /// Write the AsyncAPI document to PATH (YAML, or JSON for a `.json` path) and exit.
    #[arg(long, value_name = "PATH")]
    pub asyncapi_out: Option<PathBuf>,

    /// Serve the HTML page of the AsyncAPI document (and the document itself, at
    /// `/asyncapi.yaml` and `/asyncapi.json`) on ADDR until stopped, without connecting
    /// to any broker. Needs the `docs` feature of tidings (on by default).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_SERVE_ADDR)]
    pub asyncapi_serve: Option<String>,

    /// Set a server's URL: `--server NAME=URL` (repeatable). Overrides the code and
    /// the `TIDINGS_SERVER_<NAME>` environment variable.
    #[arg(long = "server", value_name = "NAME=URL")]
    pub servers: Vec<String>,
}

/// The parser used when the binary has no flags of its own.
#[derive(Debug, clap::Parser)]
#[command(about = "A tidings service", long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) tidings: TidingsArgs,
}
