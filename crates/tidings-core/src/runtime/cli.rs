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

/// Flags of every tidings service binary.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TidingsArgs {
    /// Print the AsyncAPI 3.0 document and exit, without connecting to any broker.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "yaml", require_equals = true)]
    pub asyncapi: Option<SpecFormat>,

    /// Write the AsyncAPI document to PATH (YAML, or JSON for a `.json` path) and exit.
    #[arg(long, value_name = "PATH")]
    pub asyncapi_out: Option<PathBuf>,

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
