//! A document written to a scratch directory and bundled (files only, never the network).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("tidings-fuzz-bundle-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("main.yaml");
    if std::fs::write(&file, data).is_ok() {
        let _ = tidings_cli::bundle::bundle(&file, tidings_cli::bundle::RemotePolicy::default());
    }
});
