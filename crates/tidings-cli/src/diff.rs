//! `tidings diff`.

use clap::Args;

/// Arguments of `tidings diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {}

/// Runs `tidings diff`; the exit code.
pub fn run(_args: &DiffArgs) -> u8 {
    2
}
