//! Malformed input never panics: every corpus document, mutated many ways (truncated,
//! lines dropped or repeated, bytes replaced by YAML/JSON punctuation), goes through
//! loading, `validate`, `diff` against the original, `bundle` and the docs renderer,
//! in-process. A deterministic stand-in for fuzzing that runs on every `cargo test`.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use common::{corpus, files_in, temp_dir};
use tidings_cli::source::Source;

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const PUNCTUATION: &[&str] = &["{", "}", "[", "]", ":", "- ", "\"", "'", "#", "&a", "*a", "$ref: '#/'", "\t", "\n  ", "~", "%", "!!binary", "<<: *a", "\u{feff}", "é"];

fn mutations(text: &str, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::new();
    let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    // Truncations.
    for k in 1..=8 {
        out.push(text[..boundaries[boundaries.len() * k / 9]].to_owned());
    }
    let lines: Vec<&str> = text.lines().collect();
    for _ in 0..12 {
        // A line dropped, or repeated (duplicate keys), or re-indented.
        let i = rng.below(lines.len());
        let mut l = lines.clone();
        match rng.below(3) {
            0 => {
                l.remove(i);
            }
            1 => l.insert(i, lines[i]),
            _ => {
                let moved = format!("   {}", lines[i]);
                out.push(l.iter().enumerate().map(|(j, s)| if j == i { moved.clone() } else { (*s).to_owned() }).collect::<Vec<_>>().join("\n"));
                continue;
            }
        }
        out.push(l.join("\n"));
    }
    for _ in 0..20 {
        // Punctuation dropped in at a random place.
        let at = boundaries[rng.below(boundaries.len())];
        let p = PUNCTUATION[rng.below(PUNCTUATION.len())];
        out.push(format!("{}{p}{}", &text[..at], &text[at..]));
    }
    out
}

fn exercise(original: &Source, name: &str, path: &Path, text: &str) {
    let Ok(mutated) = Source::parse(name, path, text) else { return };
    let report = tidings_cli::validate::validate_source(&mutated);
    for f in &report.findings {
        assert!(!f.message.is_empty());
    }
    let _ = tidings_cli::diff::diff_values("old", &original.value, "new", &mutated.value, true);
    let _ = tidings_cli::diff::diff_values("old", &mutated.value, "new", &original.value, false);
    let _ = tidings_cli::docs::render(&mutated.value, false);
}

#[test]
fn mutated_documents_never_panic() {
    let mut files: Vec<PathBuf> = files_in(&corpus().join("valid"));
    files.extend(files_in(&corpus().join("invalid")));
    files.extend(files_in(&corpus().join("diff")));
    files.push(corpus().join("valid/multifile/main.yaml"));
    let dir = temp_dir("no-panic");
    let mut panics = Vec::new();
    let mut cases = 0;
    for (n, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let Ok(original) = Source::parse(&file.display().to_string(), file, &text) else { continue };
        for (m, mutated) in mutations(&text, 0x9e37_79b9 + n as u64).into_iter().enumerate() {
            cases += 1;
            let name = format!("{}#{m}", file.display());
            let result = catch_unwind(AssertUnwindSafe(|| exercise(&original, &name, file, &mutated)));
            // Bundle reads from disk: write the mutation next to nothing else.
            let on_disk = dir.join(format!("m{n}-{m}.yaml"));
            let bundled = std::fs::write(&on_disk, &mutated).map(|()| {
                catch_unwind(AssertUnwindSafe(|| {
                    let _ = tidings_cli::bundle::bundle(&on_disk, tidings_cli::bundle::RemotePolicy::default());
                }))
            });
            if result.is_err() || matches!(bundled, Ok(Err(_))) {
                panics.push(format!("{name}:\n{mutated}"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(cases > 500, "only {cases} cases");
    assert!(panics.is_empty(), "{} input(s) panicked:\n\n{}", panics.len(), panics.join("\n\n----\n\n"));
}
