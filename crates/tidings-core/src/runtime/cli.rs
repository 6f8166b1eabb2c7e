//! The command-line flags every tidings binary answers.
//!
//! A service binary reads them itself ([`TidingsArgs::parse_from`], through `lexopt`):
//! four flags do not need a declarative parser, and clap's was a sixth of a small
//! service's code, mapped into every process at start. A binary with flags of its own
//! enables the `clap` feature and flattens [`TidingsArgs`] into its clap parser.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// Output format of the AsyncAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct TidingsArgs {
    /// Print the AsyncAPI 3.0 document and exit, without connecting to any broker.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "yaml", require_equals = true)
    )]
    pub asyncapi: Option<SpecFormat>,

    /// Write the AsyncAPI document to PATH (YAML, or JSON for a `.json` path) and exit.
    #[cfg_attr(feature = "clap", arg(long, value_name = "PATH"))]
    pub asyncapi_out: Option<PathBuf>,

    /// Serve the HTML page of the AsyncAPI document (and the document itself, at
    /// `/asyncapi.yaml` and `/asyncapi.json`) on ADDR until stopped, without connecting
    /// to any broker. Needs the `docs` feature of tidings (on by default).
    #[cfg_attr(
        feature = "clap",
        arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_SERVE_ADDR)
    )]
    pub asyncapi_serve: Option<String>,

    /// Set a server's URL: `--server NAME=URL` (repeatable). Overrides the code and
    /// the `TIDINGS_SERVER_<NAME>` environment variable.
    #[cfg_attr(feature = "clap", arg(long = "server", value_name = "NAME=URL"))]
    pub servers: Vec<String>,
}

/// What the command line asked for instead of running: help, or a mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsOutcome {
    /// `--help` or `-h`: the text to print (stdout, exit status 0).
    Help(String),
    /// A command line the binary does not take: the message to print (stderr, exit
    /// status 2, as clap does).
    Invalid(String),
}

impl fmt::Display for ArgsOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgsOutcome::Help(text) | ArgsOutcome::Invalid(text) => f.write_str(text),
        }
    }
}

impl TidingsArgs {
    /// Parses `args`, the command line after the program's name.
    ///
    /// The syntax is clap's for the same flags: `--asyncapi[=yaml|json]` (the format only
    /// after `=`, so a following word is never taken for it), `--asyncapi-out PATH` or
    /// `=PATH`, `--asyncapi-serve [ADDR]` (the next word is the address unless it starts
    /// with `-`), `--server NAME=URL` (repeatable), `--help`/`-h`; `--` ends the flags,
    /// and a service takes no other arguments.
    pub fn parse_from<I, A>(args: I) -> Result<TidingsArgs, ArgsOutcome>
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        let bin = program_name();
        parse(&bin, lexopt::Parser::from_args(args)).map_err(|e| match e {
            Stop::Help => ArgsOutcome::Help(help(&bin)),
            Stop::Invalid(message) => ArgsOutcome::Invalid(format!(
                "error: {message}\n\nUsage: {bin} [OPTIONS]\n\nFor more information, try '--help'.\n"
            )),
        })
    }

    /// The flags of this process; prints the help or the error and exits where the
    /// command line asks for that (status 0 and 2, as clap's `parse`).
    pub(crate) fn from_process() -> TidingsArgs {
        match Self::parse_from(std::env::args_os().skip(1)) {
            Ok(args) => args,
            Err(ArgsOutcome::Help(text)) => {
                print!("{text}");
                std::process::exit(0)
            }
            Err(ArgsOutcome::Invalid(text)) => {
                eprint!("{text}");
                std::process::exit(2)
            }
        }
    }
}

enum Stop {
    Help,
    Invalid(String),
}

impl From<lexopt::Error> for Stop {
    fn from(e: lexopt::Error) -> Self {
        Stop::Invalid(e.to_string())
    }
}

fn parse(bin: &str, mut parser: lexopt::Parser) -> Result<TidingsArgs, Stop> {
    use lexopt::Arg::{Long, Short, Value};
    let mut out = TidingsArgs::default();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("asyncapi") => {
                let format = match parser.optional_value() {
                    None => SpecFormat::Yaml,
                    Some(v) => match v.to_str() {
                        Some("yaml") => SpecFormat::Yaml,
                        Some("json") => SpecFormat::Json,
                        _ => {
                            return Err(Stop::Invalid(format!(
                                "invalid value '{}' for '--asyncapi[=<FORMAT>]' (possible values: yaml, json)",
                                v.to_string_lossy()
                            )))
                        }
                    },
                };
                once(&mut out.asyncapi, format, "--asyncapi")?;
            }
            Long("asyncapi-out") => {
                let path = PathBuf::from(parser.value()?);
                once(&mut out.asyncapi_out, path, "--asyncapi-out")?;
            }
            Long("asyncapi-serve") => {
                let attached = parser.optional_value();
                let addr = match attached {
                    Some(v) => Some(v),
                    // As clap's optional value: the next word, unless it is a flag.
                    None => parser.raw_args()?.next_if(|next| !next.to_string_lossy().starts_with('-')),
                };
                let addr = match addr {
                    Some(v) => v.into_string().map_err(|v| {
                        Stop::Invalid(format!("invalid UTF-8 in '--asyncapi-serve' value {v:?}"))
                    })?,
                    None => DEFAULT_SERVE_ADDR.to_owned(),
                };
                once(&mut out.asyncapi_serve, addr, "--asyncapi-serve")?;
            }
            Long("server") => {
                let pair = parser.value()?.into_string().map_err(|v| {
                    Stop::Invalid(format!("invalid UTF-8 in '--server' value {v:?}"))
                })?;
                out.servers.push(pair);
            }
            Long("help") | Short('h') => return Err(Stop::Help),
            Value(v) => {
                return Err(Stop::Invalid(format!(
                    "unexpected argument '{}': {bin} takes flags only",
                    v.to_string_lossy()
                )))
            }
            other => return Err(Stop::Invalid(other.unexpected().to_string())),
        }
    }
    Ok(out)
}

/// A flag given twice is a mistake, as in clap: which one was meant?
fn once<T>(slot: &mut Option<T>, value: T, flag: &str) -> Result<(), Stop> {
    if slot.replace(value).is_some() {
        return Err(Stop::Invalid(format!("the argument '{flag}' cannot be used multiple times")));
    }
    Ok(())
}

fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "service".to_owned())
}

fn help(bin: &str) -> String {
    format!(
        "A tidings service

Usage: {bin} [OPTIONS]

Options:
      --asyncapi[=<FORMAT>]     Print the AsyncAPI 3.0 document and exit, without connecting to any
                                broker [possible values: yaml, json]
      --asyncapi-out <PATH>     Write the AsyncAPI document to PATH (YAML, or JSON for a `.json`
                                path) and exit
      --asyncapi-serve [<ADDR>] Serve the HTML page of the AsyncAPI document (and the document
                                itself, at `/asyncapi.yaml` and `/asyncapi.json`) on ADDR
                                ({DEFAULT_SERVE_ADDR} by default) until stopped, without connecting
                                to any broker
      --server <NAME=URL>       Set a server's URL (repeatable). Overrides the code and the
                                `TIDINGS_SERVER_<NAME>` environment variable
  -h, --help                    Print help
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Result<TidingsArgs, ArgsOutcome> {
        TidingsArgs::parse_from(line.iter().copied())
    }

    fn invalid(line: &[&str]) -> String {
        match parse(line) {
            Err(ArgsOutcome::Invalid(text)) => text,
            other => panic!("{line:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn every_flag_in_each_of_its_forms() {
        let args = |f: fn(&mut TidingsArgs)| {
            let mut a = TidingsArgs::default();
            f(&mut a);
            a
        };
        let cases: &[(&[&str], TidingsArgs)] = &[
            (&[], TidingsArgs::default()),
            (&["--asyncapi"], args(|a| a.asyncapi = Some(SpecFormat::Yaml))),
            (&["--asyncapi=yaml"], args(|a| a.asyncapi = Some(SpecFormat::Yaml))),
            (&["--asyncapi=json"], args(|a| a.asyncapi = Some(SpecFormat::Json))),
            (&["--asyncapi-out", "d/x.json"], args(|a| a.asyncapi_out = Some("d/x.json".into()))),
            (&["--asyncapi-out=x.yaml"], args(|a| a.asyncapi_out = Some("x.yaml".into()))),
            (&["--asyncapi-out", "-weird"], args(|a| a.asyncapi_out = Some("-weird".into()))),
            (&["--asyncapi-serve"], args(|a| a.asyncapi_serve = Some(DEFAULT_SERVE_ADDR.into()))),
            (&["--asyncapi-serve", "0.0.0.0:9000"], args(|a| a.asyncapi_serve = Some("0.0.0.0:9000".into()))),
            (&["--asyncapi-serve=[::1]:80"], args(|a| a.asyncapi_serve = Some("[::1]:80".into()))),
            (
                &["--asyncapi-serve", "--server", "main=memory://"],
                args(|a| {
                    a.asyncapi_serve = Some(DEFAULT_SERVE_ADDR.into());
                    a.servers = vec!["main=memory://".into()];
                }),
            ),
            (
                &["--server", "main=kafka://b:9092", "--server=dlq=sqs://q", "--asyncapi=json"],
                args(|a| {
                    a.servers = vec!["main=kafka://b:9092".into(), "dlq=sqs://q".into()];
                    a.asyncapi = Some(SpecFormat::Json);
                }),
            ),
            (&["--"], TidingsArgs::default()),
        ];
        for (line, expected) in cases {
            assert_eq!(parse(line).as_ref(), Ok(expected), "{line:?}");
        }
    }

    #[test]
    fn help_is_help_and_mistakes_say_what_is_wrong() {
        for line in [&["--help"][..], &["-h"], &["--server", "a=memory://", "--help"]] {
            let Err(ArgsOutcome::Help(text)) = parse(line) else { panic!("{line:?} asks for help") };
            for flag in ["--asyncapi[=<FORMAT>]", "--asyncapi-out <PATH>", "--asyncapi-serve [<ADDR>]", "--server <NAME=URL>"] {
                assert!(text.contains(flag), "{flag} in\n{text}");
            }
        }
        let cases: &[(&[&str], &str)] = &[
            (&["--asyncapi=JSON"], "invalid value 'JSON' for '--asyncapi[=<FORMAT>]' (possible values: yaml, json)"),
            (&["--asyncapi=xml"], "invalid value 'xml'"),
            // The format only follows `=`: a separate word is an argument, and a service takes none.
            (&["--asyncapi", "json"], "unexpected argument 'json'"),
            (&["--asyncapi-out"], "missing argument for option '--asyncapi-out'"),
            (&["--server"], "missing argument for option '--server'"),
            (&["--asyncapis"], "invalid option '--asyncapis'"),
            (&["-x"], "invalid option '-x'"),
            (&["--asyncapi", "--asyncapi=json"], "the argument '--asyncapi' cannot be used multiple times"),
            (&["--asyncapi-out", "a", "--asyncapi-out", "b"], "'--asyncapi-out' cannot be used multiple times"),
            (&["--", "--asyncapi"], "unexpected argument '--asyncapi'"),
            (&[""], "unexpected argument ''"),
        ];
        for (line, expected) in cases {
            let text = invalid(line);
            assert!(text.starts_with("error: ") && text.contains(expected), "{line:?}: {text}");
            assert!(text.contains("Usage: ") && text.contains("--help"), "{line:?}: {text}");
        }
    }

    /// With the `clap` feature, `TidingsArgs` flattened into a clap parser reads every
    /// command line as the binary's own parser does.
    #[cfg(feature = "clap")]
    #[test]
    fn clap_reads_what_the_service_reads() {
        use clap::Parser;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            tidings: TidingsArgs,
        }
        let lines: &[&[&str]] = &[
            &[],
            &["--asyncapi"],
            &["--asyncapi=json"],
            &["--asyncapi-out", "d/x.json"],
            &["--asyncapi-out=x.yaml"],
            &["--asyncapi-serve"],
            &["--asyncapi-serve", "0.0.0.0:9000"],
            &["--asyncapi-serve", "--server", "main=memory://"],
            &["--server", "main=kafka://b:9092", "--server=dlq=sqs://q", "--asyncapi=json"],
            &["--asyncapi=xml"],
            &["--asyncapi", "json"],
            &["--asyncapi-out"],
            &["--asyncapis"],
            &["--asyncapi", "--asyncapi=json"],
        ];
        for line in lines {
            let ours = parse(line).ok();
            let clap = Cli::try_parse_from(std::iter::once("service").chain(line.iter().copied())).ok().map(|c| c.tidings);
            assert_eq!(ours, clap, "{line:?}");
        }
    }
}
