//! `tidings bundle`.

use clap::Args;

/// Arguments of `tidings bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {}

/// Runs `tidings bundle`; the exit code.
pub fn run(_args: &BundleArgs) -> u8 {
    2
}
