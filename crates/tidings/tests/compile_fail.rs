//! Misuse of the macros fails to compile with an error on the offending token. Each
//! case is a file under `ui/` with the expected compiler output beside it (`.stderr`);
//! refresh them with `TRYBUILD=overwrite cargo test -p tidings --test compile_fail`.
//! The crate is its own dev-dependency with every broker feature on, so this run and
//! `cargo test --workspace` build the same crate graph: rustc writes a type's path in full
//! when another crate in the build has a public type of the same name (`tidings::Params`
//! beside aws-sdk-sqs's `Params`), and the outputs must not depend on how the test is run.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    let mut cases: Vec<_> = std::fs::read_dir("tests/ui")
        .expect("tests/ui")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        // The Avro cases need the `avro` feature: `avro_ui` runs them.
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("avro_")))
        .collect();
    cases.sort();
    for case in cases {
        t.compile_fail(case);
    }
}

/// A mismatch between a struct and its `.avsc` is an error on the offending field
/// that says what the schema expects (fixtures in `ui/avro/`).
#[cfg(feature = "avro")]
#[test]
fn avro_ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/avro_*.rs");
}
