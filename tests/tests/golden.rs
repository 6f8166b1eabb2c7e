//! Golden AsyncAPI documents: every service binary's `--asyncapi` output must equal
//! `tests/golden/<bin>.yaml` byte for byte, be the same on every run, and say the same
//! thing as its `--asyncapi=json` output. Refresh the golden files with `cargo xtask bless`.

use std::path::PathBuf;

use tidings_workspace_tests::{assert_no_failures, service_binaries, ServiceBinary};

const BLESS: &str = "run `cargo xtask bless` to refresh the golden files";

fn golden_path(bin: &ServiceBinary) -> PathBuf {
    xtask::golden_dir().join(format!("{}.yaml", bin.name))
}

#[test]
fn every_service_binary_matches_its_golden_file() {
    let mut failures = Vec::new();
    for bin in service_binaries() {
        let golden = golden_path(bin);
        let expected = match std::fs::read(&golden) {
            Ok(bytes) => bytes,
            Err(e) => {
                failures.push(format!(
                    "service binary `{}` (package {}) has no golden file {} ({e}); {BLESS}",
                    bin.name,
                    bin.package,
                    xtask::display_path(&golden)
                ));
                continue;
            }
        };
        let actual = match xtask::document_of(bin) {
            Ok(doc) => doc,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        if actual != expected {
            failures.push(format!(
                "`{} --asyncapi` differs from {}:\n{}{BLESS}",
                bin.name,
                xtask::display_path(&golden),
                xtask::line_diff(
                    &String::from_utf8_lossy(&expected),
                    &String::from_utf8_lossy(&actual),
                    "golden file",
                    "binary output"
                )
            ));
        }
    }
    assert_no_failures("golden AsyncAPI documents", &failures);
}

#[test]
fn every_golden_file_belongs_to_a_service_binary() {
    let names: Vec<String> = service_binaries()
        .iter()
        .map(|b| format!("{}.yaml", b.name))
        .collect();
    let orphans: Vec<String> = xtask::yaml_files(&xtask::golden_dir())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| names.iter().any(|x| x == n))
        })
        .map(|p| {
            format!(
                "{} has no service binary of that name; {BLESS} (it removes orphans)",
                xtask::display_path(&p)
            )
        })
        .collect();
    assert_no_failures("orphan golden files", &orphans);
}

#[test]
fn the_document_is_the_same_on_every_run() {
    let mut failures = Vec::new();
    for bin in service_binaries() {
        match (xtask::document_of(bin), xtask::document_of(bin)) {
            (Ok(a), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) => failures.push(format!(
                "`{} --asyncapi` printed different bytes on two runs (map iteration order? timestamps?):\n{}",
                bin.name,
                xtask::line_diff(&String::from_utf8_lossy(&a), &String::from_utf8_lossy(&b), "first run", "second run")
            )),
            (Err(e), _) | (_, Err(e)) => failures.push(e.to_string()),
        }
    }
    assert_no_failures("deterministic AsyncAPI output", &failures);
}

#[test]
fn json_output_says_the_same_as_yaml_output() {
    let mut failures = Vec::new();
    for bin in service_binaries() {
        let (yaml, json) = match (
            xtask::document_of(bin),
            xtask::document_in(bin, xtask::Format::Json),
        ) {
            (Ok(y), Ok(j)) => (y, j),
            (Err(e), _) | (_, Err(e)) => {
                failures.push(e.to_string());
                continue;
            }
        };
        let from_json: serde_json::Value = match serde_json::from_slice(&json) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "`{} --asyncapi=json` is not valid JSON: {e}",
                    bin.name
                ));
                continue;
            }
        };
        let from_yaml: serde_json::Value = match serde_yaml_ng::from_slice(&yaml) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!(
                    "`{} --asyncapi` is not YAML that maps to JSON: {e}",
                    bin.name
                ));
                continue;
            }
        };
        if from_json != from_yaml {
            let pretty =
                |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
            failures.push(format!(
                "`{0} --asyncapi=json` and `{0} --asyncapi` describe different documents:\n{1}",
                bin.name,
                xtask::line_diff(
                    &pretty(&from_yaml),
                    &pretty(&from_json),
                    "--asyncapi (as JSON)",
                    "--asyncapi=json"
                )
            ));
        }
    }
    assert_no_failures("JSON and YAML AsyncAPI output", &failures);
}
