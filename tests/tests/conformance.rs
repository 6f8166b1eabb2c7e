//! Conformance: every golden AsyncAPI document must pass the official `@asyncapi/parser`
//! (run through `node tests/asyncapi-parser/validate.mjs` by the xtask library).
//!
//! Node.js is required: without `node`/`npm` these tests FAIL, unless `TIDINGS_SKIP_NODE=1`
//! is set, in which case they print why and pass.

use std::path::PathBuf;

use tidings_workspace_tests::parser_lock;

/// Runs the parser; `None` when Node is missing and `TIDINGS_SKIP_NODE=1` allows skipping.
fn run_parser(files: &[PathBuf]) -> Option<xtask::Validation> {
    let _guard = parser_lock();
    match xtask::validate(files) {
        Ok(v) => Some(v),
        Err(e @ xtask::Error::ToolMissing { .. }) => {
            if std::env::var("TIDINGS_SKIP_NODE").as_deref() == Ok("1") {
                eprintln!("SKIPPED (TIDINGS_SKIP_NODE=1): {e}");
                None
            } else {
                panic!(
                    "{e}\nThe conformance tests need Node.js 20 and npm to run the official AsyncAPI parser. \
                     Install them, or set TIDINGS_SKIP_NODE=1 to skip these tests knowingly."
                )
            }
        }
        Err(e) => panic!("could not run the official AsyncAPI parser: {e}"),
    }
}

#[test]
fn golden_files_pass_the_official_asyncapi_parser() {
    let files = xtask::yaml_files(&xtask::golden_dir()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !files.is_empty(),
        "no golden files in {}; run `cargo xtask bless`",
        xtask::display_path(&xtask::golden_dir())
    );
    let Some(v) = run_parser(&files) else { return };
    assert!(
        v.ok,
        "the official AsyncAPI parser rejected golden file(s):\n{}",
        v.output
    );
    // The parser's summary must account for every file, so no document was silently skipped.
    let summary = format!("{} valid, 0 invalid", files.len());
    assert!(
        v.output.lines().any(|l| l == summary),
        "expected `{summary}` from the parser, got:\n{}",
        v.output
    );
}

/// Guards the guard: a broken document must be reported, or a green run means nothing.
#[test]
fn the_parser_rejects_an_invalid_document() {
    let dir = std::env::temp_dir().join(format!("tidings-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let bad = dir.join("invalid.yaml");
    // `info` is required and `operations.x.action` must be send|receive.
    std::fs::write(
        &bad,
        "asyncapi: 3.0.0\noperations:\n  x:\n    action: shout\n    channel: {}\n",
    )
    .unwrap_or_else(|e| panic!("writing {}: {e}", bad.display()));
    let result = run_parser(std::slice::from_ref(&bad));
    let _ = std::fs::remove_dir_all(&dir);
    let Some(v) = result else { return };
    assert!(
        !v.ok,
        "the parser accepted an invalid document:\n{}",
        v.output
    );
    assert!(
        v.output.contains("0 valid, 1 invalid"),
        "unexpected parser output:\n{}",
        v.output
    );
}
