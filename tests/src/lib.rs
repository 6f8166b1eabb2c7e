//! Helpers shared by the workspace tests (`tests/tests/*.rs`).
//!
//! The service binaries are found and built through the `xtask` library, exactly as
//! `cargo xtask spec` does: every binary of a workspace package that depends directly on
//! `tidings`, built with one `cargo build --bins -p ...` into the usual target directory.

use std::sync::{Mutex, MutexGuard, OnceLock};

pub use xtask::ServiceBinary;

/// The service binaries, built once per test process (the first caller builds; the others
/// wait). Panics, failing the calling test, with cargo's own message when finding or
/// building them fails, and when there is none: a workspace whose examples define no
/// service binary would make every golden check pass vacuously.
pub fn service_binaries() -> &'static [ServiceBinary] {
    static BINS: OnceLock<Result<Vec<ServiceBinary>, String>> = OnceLock::new();
    let bins = BINS.get_or_init(|| {
        let bins = xtask::built_service_binaries(xtask::BuildOutput::Capture)
            .map_err(|e| e.to_string())?;
        if bins.is_empty() {
            return Err(format!(
                "no service binaries: no workspace package with a [[bin]] depends directly on `{}`",
                xtask::FRAMEWORK_PACKAGE
            ));
        }
        Ok(bins)
    });
    match bins {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    }
}

/// Serialises the tests that run the official parser, so two of them never run `npm ci` in
/// the same folder at once.
pub fn parser_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A test that panicked while holding it leaves nothing half-done that matters here.
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Panics with every failure, one block each, when there is any.
pub fn assert_no_failures(what: &str, failures: &[String]) {
    if !failures.is_empty() {
        panic!(
            "{what}: {} failure(s)\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}
