//! The catalog commands without the `tidings` binary, for trying them out:
//! `cargo run -p tidings-catalog --example catalog -- who-consumes OrderCreated docs/asyncapi`.

use std::process::ExitCode;

use clap::Parser;
use tidings_catalog::cli::{run, CatalogCommand};

/// Event catalog across services' AsyncAPI documents.
#[derive(Debug, Parser)]
#[command(name = "catalog")]
struct Cli {
    #[command(subcommand)]
    command: CatalogCommand,
}

fn main() -> ExitCode {
    run(Cli::parse().command)
}
