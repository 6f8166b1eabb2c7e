//! The command-line flags every tidings binary answers. Flatten [`TidingsArgs`] into
//! your own `clap` parser when the binary has flags of its own.

use std::ffi::OsString;
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

impl Cli {
    /// The flags of this process. The two command lines nearly every run has, none at
    /// all (a service started as it is) and a lone `--asyncapi[=yaml|json]`, are read
    /// without building clap's parser: the same [`TidingsArgs`] clap would make, without
    /// running clap's code and allocations at every start. Anything else goes to clap
    /// (`--help`, errors and all).
    pub(crate) fn from_process() -> TidingsArgs {
        let args: Vec<OsString> = std::env::args_os().skip(1).collect();
        Self::without_clap(&args).unwrap_or_else(|| <Cli as clap::Parser>::parse().tidings)
    }

    /// What clap would make of `args` (the process's arguments after its name), for the
    /// command lines [`from_process`](Self::from_process) reads itself; `None` for any
    /// other.
    fn without_clap(args: &[OsString]) -> Option<TidingsArgs> {
        let asyncapi = match args {
            [] => None,
            [only] => Some(match only.to_str()? {
                "--asyncapi" | "--asyncapi=yaml" => SpecFormat::Yaml,
                "--asyncapi=json" => SpecFormat::Json,
                _ => return None,
            }),
            _ => return None,
        };
        Some(TidingsArgs { asyncapi, ..TidingsArgs::default() })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn the_command_lines_read_without_clap_are_what_clap_makes_of_them() {
        for line in [&[][..], &["--asyncapi"], &["--asyncapi=yaml"], &["--asyncapi=json"]] {
            let args: Vec<OsString> = line.iter().map(OsString::from).collect();
            let ours = Cli::without_clap(&args).unwrap_or_else(|| panic!("{line:?} is read without clap"));
            let clap = Cli::try_parse_from(std::iter::once("service").chain(line.iter().copied())).unwrap().tidings;
            assert_eq!(format!("{ours:?}"), format!("{clap:?}"), "{line:?}");
        }
    }

    #[test]
    fn every_other_command_line_goes_to_clap() {
        for line in [
            &["--help"][..],
            &["--asyncapi=JSON"],
            &["--asyncapi=xml"],
            &["--asyncapi", "--server", "main=kafka://b:9092"],
            &["--asyncapi-out", "x.yaml"],
            &["--asyncapi-serve"],
            &["--server=main=memory://"],
            &["-h"],
            &["--"],
            &[""],
        ] {
            let args: Vec<OsString> = line.iter().map(OsString::from).collect();
            assert!(Cli::without_clap(&args).is_none(), "{line:?}");
        }
    }
}
