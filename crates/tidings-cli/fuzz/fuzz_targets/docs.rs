//! Any parsable document rendered as HTML.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tidings_cli::source::Source;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(source) = Source::parse("fuzz.yaml", Path::new("fuzz.yaml"), text) {
        let _ = tidings_cli::docs::render(&source.value, false);
    }
});
