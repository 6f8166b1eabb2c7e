//! `tidings validate` over the corpus in `tests/cli/`: valid documents pass, each broken
//! one fails with the check it was written for, unusable input exits 2, and every
//! document the official `@asyncapi/parser` rejects is rejected by us too.
//!
//! The agreement test needs Node.js (it runs `tests/asyncapi-parser/validate.mjs`): it
//! FAILS without it unless `TIDINGS_SKIP_NODE=1`.

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, files_in, tidings, workspace};
use serde_json::Value;

/// The rule a broken corpus document was written to trigger: a `# expect: RULE` line in
/// YAML, an `x-tidings-test-expect` field in JSON.
fn expected_rule(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if let Some(rule) = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect: "))
    {
        return rule.trim().to_owned();
    }
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    json.get("x-tidings-test-expect")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{} names no expected rule", path.display()))
}

fn validate_json(files: &[PathBuf]) -> (i32, Value) {
    let mut args = vec!["validate".to_owned(), "--format".into(), "json".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let out = tidings(&args);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "validate --format json printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// The valid corpus, the golden documents and `docs/asyncapi/`: all valid.
fn valid_files() -> Vec<PathBuf> {
    let mut files = files_in(&corpus().join("valid"));
    files.push(corpus().join("valid/multifile/main.yaml"));
    files.extend(files_in(&workspace().join("tests/golden")));
    files.extend(files_in(&workspace().join("docs/asyncapi")));
    files
}

#[test]
fn valid_documents_pass() {
    let files = valid_files();
    assert!(files.len() >= 5, "corpus missing: {files:?}");
    let (code, json) = validate_json(&files);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["valid"], files.len(), "{json:#}");
}

#[test]
fn each_broken_document_fails_with_its_check() {
    let files = files_in(&corpus().join("invalid"));
    assert!(files.len() >= 15, "corpus missing: {files:?}");
    // One run for all (start-up dominates); the JSON report has one entry per file, in order.
    let (code, json) = validate_json(&files);
    assert_eq!(code, 1, "{json:#}");
    let mut failures = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let rule = expected_rule(file);
        let report = &json["files"][i];
        assert!(
            report["file"].as_str().is_some_and(|f| Path::new(f) == file.as_path()),
            "report {i} is not about {}: {report:#}",
            file.display()
        );
        let findings = report["findings"].as_array().cloned().unwrap_or_default();
        let hit = findings
            .iter()
            .find(|f| f["rule"] == rule.as_str() && f["severity"] == "error");
        match hit {
            Some(f) if report["valid"] == false => {
                // Every error names a line and a non-empty sentence.
                if f["line"].as_u64().is_none() || f["message"].as_str().unwrap_or("").len() < 10 {
                    failures.push(format!("{}: finding without a line or a sentence: {f}", file.display()));
                }
            }
            _ => failures.push(format!(
                "{}: expected an error of rule `{rule}`, got:\n{report:#}",
                file.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn findings_point_at_the_right_line() {
    let file = corpus().join("invalid/unknown-protocol.yaml");
    let out = tidings(&["validate".into(), file.display().to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    // `protocol: kafak` is on line 10.
    assert!(
        text.contains("unknown-protocol.yaml:10:5: error: server \"development\" has the unknown protocol \"kafak\" (did you mean \"kafka\"?)"),
        "{text}"
    );
    assert!(text.contains("/servers/development/protocol"), "{text}");
    assert_eq!(out.status.code(), Some(1));

    let file = corpus().join("invalid/payload-wrong-type.json");
    let (_, json) = validate_json(std::slice::from_ref(&file));
    let f = &json["files"][0]["findings"][0];
    assert_eq!(f["pointer"], "/channels/c/address", "{json:#}");
    assert_eq!(f["line"], 10, "{json:#}");
}

#[test]
fn unusable_input_exits_2_naming_file_and_line() {
    let mut failures = Vec::new();
    let mut files = files_in(&corpus().join("unusable"));
    files.push(corpus().join("no-such-file.yaml"));
    files.push(corpus().join("valid"));
    for file in &files {
        let out = tidings(&["validate".into(), file.display().to_string()]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if out.status.code() != Some(2) || !text.contains(name) || stderr.contains("panicked") {
            failures.push(format!("{}: exit {:?}\n{text}{stderr}", file.display(), out.status.code()));
        }
        // A syntax error is placed: `file:LINE:COLUMN: ...`.
        let placed = text
            .split(&format!("{name}:"))
            .nth(1)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
        if name.starts_with("syntax-error") && !placed {
            failures.push(format!("{}: no line number in\n{text}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn one_unusable_file_does_not_hide_the_others() {
    let good = corpus().join("valid/a-producer.yaml");
    let bad = corpus().join("invalid/unknown-protocol.yaml");
    let ugly = corpus().join("unusable/syntax-error.yaml");
    let (code, json) = validate_json(&[good, bad, ugly]);
    assert_eq!(code, 2, "{json:#}");
    assert_eq!(json["valid"], 1);
    assert_eq!(json["invalid"], 1);
    assert_eq!(json["unusable"].as_array().map(Vec::len), Some(1));
}

/// Runs the official parser over `files`; per file, whether it found the document valid.
/// `None` when Node is missing and `TIDINGS_SKIP_NODE=1`.
fn official_verdicts(files: &[PathBuf]) -> Option<Vec<(String, bool)>> {
    if let Err(e) = xtask::ensure_parser_installed() {
        if std::env::var("TIDINGS_SKIP_NODE").as_deref() == Ok("1") {
            eprintln!("SKIPPED (TIDINGS_SKIP_NODE=1): {e}");
            return None;
        }
        panic!("{e}\nThis test runs the official AsyncAPI parser with Node.js 20 and npm; install them, or set TIDINGS_SKIP_NODE=1 to skip it knowingly.");
    }
    let script = xtask::parser_dir().join("validate.mjs");
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg("--json")
        .args(files)
        .stdin(std::process::Stdio::null())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if std::env::var("TIDINGS_SKIP_NODE").as_deref() == Ok("1") => {
            eprintln!("SKIPPED (TIDINGS_SKIP_NODE=1): node: {e}");
            return None;
        }
        Err(e) => panic!("running node: {e}; install Node.js 20, or set TIDINGS_SKIP_NODE=1 to skip knowingly"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The JSON report is followed by the summary line.
    let json_text = stdout.rsplit_once("\n}\n").map(|(j, _)| format!("{j}\n}}")).unwrap_or_default();
    let json: Value = serde_json::from_str(&json_text)
        .unwrap_or_else(|e| panic!("the parser printed no JSON report ({e}):\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let verdicts: Vec<(String, bool)> = json["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| (f["file"].as_str().unwrap_or("").to_owned(), f["valid"].as_bool().unwrap_or(false)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(verdicts.len(), files.len(), "the parser skipped files:\n{stdout}");
    Some(verdicts)
}

#[test]
fn every_document_the_official_parser_rejects_is_rejected() {
    let mut files = valid_files();
    files.extend(files_in(&corpus().join("invalid")));
    files.extend(files_in(&corpus().join("diff")));
    let Some(verdicts) = official_verdicts(&files) else { return };
    let rejected: Vec<&String> = verdicts.iter().filter(|(_, ok)| !ok).map(|(f, _)| f).collect();
    // Guards the guard: the corpus holds documents the parser rejects.
    assert!(rejected.len() >= 10, "the official parser rejected only {rejected:?}");
    let paths: Vec<PathBuf> = verdicts.iter().map(|(f, _)| PathBuf::from(f)).collect();
    let (_, json) = validate_json(&paths);
    let mut disagreements = Vec::new();
    for (i, (file, official_ok)) in verdicts.iter().enumerate() {
        let report = &json["files"][i];
        assert!(
            report["file"].as_str().is_some_and(|f| Path::new(f) == Path::new(file)),
            "report {i} is not about {file}: {report:#}"
        );
        if !official_ok && report["valid"] == true {
            disagreements.push(format!("{file}: the official parser rejects it, tidings accepts it:\n{report:#}"));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n\n"));
}
