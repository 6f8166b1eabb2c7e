//! Two documents separated by a NUL byte: diffed both ways.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tidings_cli::source::Source;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some((a, b)) = text.split_once('\0') else { return };
    let (Ok(old), Ok(new)) = (
        Source::parse("old.yaml", Path::new("old.yaml"), a),
        Source::parse("new.yaml", Path::new("new.yaml"), b),
    ) else {
        return;
    };
    let _ = tidings_cli::diff::diff_values("old", &old.value, "new", &new.value, true);
    let _ = tidings_cli::diff::diff_values("new", &new.value, "old", &old.value, false);
});
