//! Helpers shared by the order-avro tests.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs the official AsyncAPI parser (`tests/asyncapi-parser`, with the Avro schema
/// parser) over a document. Needs Node.js 20 and `npm ci --ignore-scripts` there, as
/// `scripts/test.sh` does; `TIDINGS_SKIP_NODE=1` skips it where there is no Node.js.
pub fn official_parser_accepts(yaml: &[u8]) {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/asyncapi-parser");
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let file = std::env::temp_dir().join(format!("order-avro-parser-{}-{n}.yaml", std::process::id()));
    std::fs::write(&file, yaml).unwrap();
    let output = match Command::new("node").arg(harness.join("validate.mjs")).arg(&file).output() {
        Ok(output) => output,
        Err(e) if std::env::var("TIDINGS_SKIP_NODE").as_deref() == Ok("1") => {
            eprintln!("SKIPPED the official parser (TIDINGS_SKIP_NODE=1): node: {e}");
            return;
        }
        Err(e) => panic!("node: {e}: the official AsyncAPI parser needs Node.js 20 (or set TIDINGS_SKIP_NODE=1)"),
    };
    let _ = std::fs::remove_file(&file);
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success() && text.lines().any(|l| l == "1 valid, 0 invalid"),
        "the official AsyncAPI parser rejected the document (run `npm ci --ignore-scripts` in tests/asyncapi-parser first):\n{text}"
    );
}
