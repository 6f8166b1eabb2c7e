//! Misuse of the macros fails to compile with an error on the offending token. Each
//! case is a file under `ui/` with the expected compiler output beside it (`.stderr`);
//! refresh them with `TRYBUILD=overwrite cargo test -p tidings --test compile_fail`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
