//! Any bytes as a YAML (and, by the first byte, JSON) document: load, then validate.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tidings_cli::source::Source;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let name = if data.first() == Some(&b'{') { "fuzz.json" } else { "fuzz.yaml" };
    if let Ok(source) = Source::parse(name, Path::new(name), text) {
        let _ = tidings_cli::validate::validate_source(&source);
    }
});
