//! `tidings docs`.

use clap::Args;

/// Arguments of `tidings docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {}

/// Runs `tidings docs`; the exit code.
pub fn run(_args: &DocsArgs) -> u8 {
    2
}
