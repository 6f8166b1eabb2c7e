//! `$ref` resolution: local (`#/components/...`) and relative-file (`common.yaml#/X`)
//! references, shared by `validate` and `bundle`.
//!
//! Files are read at most once ([`Resolver`] caches them) and may not leave the directory
//! tree of the root document; remote (`http(s)`) references are only recognised here,
//! fetching them is `bundle`'s business.

use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use crate::source::{LoadError, Source};

/// A parsed `$ref`: which document and which node in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A node of the document the reference is in.
    Local {
        /// The JSON pointer (decoded from the URI fragment).
        pointer: String,
    },
    /// A node of another file, relative to the referring file.
    File {
        /// The path as written (percent-decoded).
        path: String,
        /// The JSON pointer in that file.
        pointer: String,
    },
    /// An `http://` or `https://` URL (with its fragment).
    Remote {
        /// The URL without the fragment.
        url: String,
        /// The JSON pointer in what it returns.
        pointer: String,
    },
}

/// Why a reference cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// The fragment is not a JSON pointer (`#foo` instead of `#/foo`).
    NotAPointer(String),
    /// The referenced file could not be read or parsed.
    File(String),
    /// The file is outside the root document's directory tree.
    OutsideRoot(String),
    /// Nothing at that pointer; `found` is the deepest part that exists.
    Missing {
        /// The pointer that was looked up.
        pointer: String,
        /// The longest prefix of it that exists.
        found: String,
    },
    /// A remote reference (not followed here).
    Remote(String),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::NotAPointer(fragment) => write!(
                f,
                "its fragment `#{fragment}` is not a JSON pointer (it must start with `#/`)"
            ),
            RefError::File(message) => write!(f, "{message}"),
            RefError::OutsideRoot(path) => write!(
                f,
                "it points to {path}, outside the document's directory tree, which is not followed"
            ),
            RefError::Missing { pointer, found } => {
                if found.is_empty() {
                    write!(f, "nothing exists at `{pointer}`")
                } else {
                    write!(
                        f,
                        "nothing exists at `{pointer}` (the document has `{found}` but not what follows)"
                    )
                }
            }
            RefError::Remote(url) => write!(f, "{url} is remote and was not fetched"),
        }
    }
}

/// Decodes `%XX` escapes (URI fragments and paths may carry them).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a `$ref` string.
pub fn parse(reference: &str) -> Result<Target, RefError> {
    let (location, fragment) = match reference.split_once('#') {
        Some((l, f)) => (l, f),
        None => (reference, ""),
    };
    let pointer = percent_decode(fragment);
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(RefError::NotAPointer(fragment.to_owned()));
    }
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(Target::Remote {
            url: location.to_owned(),
            pointer,
        });
    }
    if location.is_empty() {
        return Ok(Target::Local { pointer });
    }
    let path = location.strip_prefix("file://").unwrap_or(location);
    Ok(Target::File {
        path: percent_decode(path),
        pointer,
    })
}

/// The node at `pointer` in `value`, or the deepest existing prefix on failure.
pub fn lookup<'v>(value: &'v Value, pointer: &str) -> Result<&'v Value, RefError> {
    if pointer.is_empty() {
        return Ok(value);
    }
    let mut node = value;
    let mut found = String::new();
    for token in pointer.split('/').skip(1) {
        let token = crate::source::unescape_token(token);
        let next = match node {
            Value::Object(map) => map.get(&token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => {
                node = n;
                found = crate::source::join(&found, &token);
            }
            None => {
                return Err(RefError::Missing {
                    pointer: pointer.to_owned(),
                    found,
                })
            }
        }
    }
    Ok(node)
}

/// Lexically normalises a path (`a/./b/../c` -> `a/c`), without touching the disk, so a
/// reference to a file that does not exist still gets a sensible name and root check.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Reads referenced files once each, and keeps them inside the root's directory.
#[derive(Debug)]
pub struct Resolver {
    root_dir: PathBuf,
    files: HashMap<PathBuf, Result<Source, LoadError>>,
}

impl Resolver {
    /// A resolver for the document at `root_file`: files outside its directory tree are
    /// refused.
    pub fn new(root_file: &Path) -> Resolver {
        let dir = root_file.parent().unwrap_or(Path::new("."));
        let root_dir = absolute(dir);
        Resolver {
            root_dir,
            files: HashMap::new(),
        }
    }

    /// The absolute, normalised path a file reference in `from` designates, or
    /// [`RefError::OutsideRoot`].
    pub fn file_path(&self, from: &Path, path: &str) -> Result<PathBuf, RefError> {
        let base = absolute(from.parent().unwrap_or(Path::new(".")));
        let full = normalize(&base.join(path));
        // Lexical check first, then the real one, so a symlink cannot lead out either.
        let real = std::fs::canonicalize(&full).unwrap_or_else(|_| full.clone());
        let real_root = std::fs::canonicalize(&self.root_dir).unwrap_or_else(|_| self.root_dir.clone());
        if !full.starts_with(&self.root_dir) || !real.starts_with(&real_root) {
            return Err(RefError::OutsideRoot(full.display().to_string()));
        }
        Ok(full)
    }

    /// The loaded file at an absolute path (as [`Resolver::file_path`] returned it).
    pub fn file(&mut self, path: &Path) -> Result<&Source, RefError> {
        let entry = self
            .files
            .entry(path.to_owned())
            .or_insert_with(|| Source::load(path));
        entry.as_ref().map_err(|e| RefError::File(e.to_string()))
    }

    /// Follows `reference` found in the document `from` (whose value is `doc`): the
    /// target value and the file it is in.
    pub fn resolve(
        &mut self,
        from: &Path,
        doc: &Value,
        reference: &str,
    ) -> Result<(Value, PathBuf), RefError> {
        match parse(reference)? {
            Target::Local { pointer } => lookup(doc, &pointer).map(|v| (v.clone(), from.to_owned())),
            Target::File { path, pointer } => {
                let full = self.file_path(from, &path)?;
                let source = self.file(&full)?;
                lookup(&source.value, &pointer).map(|v| (v.clone(), full))
            }
            Target::Remote { url, .. } => Err(RefError::Remote(url)),
        }
    }

    /// Every file read so far that loaded.
    pub fn loaded(&self) -> impl Iterator<Item = (&PathBuf, &Source)> {
        self.files
            .iter()
            .filter_map(|(p, s)| s.as_ref().ok().map(|s| (p, s)))
    }
}

/// `path` made absolute against the current directory, normalised.
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        normalize(path)
    } else {
        let cwd = std::env::current_dir().unwrap_or_default();
        normalize(&cwd.join(path))
    }
}

/// `value` (from the file `from`, whose whole document is `doc`) with every local and
/// relative-file `$ref` replaced by its target, recursively. A reference that cannot be
/// followed, or that would recurse into itself (a cycle), is left as it is.
pub fn inline(resolver: &mut Resolver, from: &Path, doc: &Value, value: &Value) -> Value {
    let mut stack = Vec::new();
    inline_at(resolver, from, doc, value, &mut stack, 0)
}

/// A whole document (the file `from`) inlined as [`inline`] does, except the links of its
/// operations (under `operations` and `components/operations`), which stay as written: a
/// `channel` that is a `#/channels/<id>` reference, `messages` and `reply`. They name the
/// channel and messages an operation is on, and inlined they were whole copies of them,
/// most of a large document's memory. An operation that is itself a local `$ref` is
/// replaced by its target first.
pub fn inline_document(resolver: &mut Resolver, from: &Path, doc: &Value) -> Value {
    let Value::Object(root) = doc else { return inline(resolver, from, doc, doc) };
    let mut out = serde_json::Map::new();
    for (key, value) in root {
        let inlined = match (key.as_str(), value) {
            ("operations", Value::Object(operations)) => inline_operations(resolver, from, doc, operations),
            ("components", Value::Object(components)) => {
                let mut parts = serde_json::Map::new();
                for (part, value) in components {
                    let inlined = match (part.as_str(), value) {
                        ("operations", Value::Object(operations)) => inline_operations(resolver, from, doc, operations),
                        _ => inline(resolver, from, doc, value),
                    };
                    parts.insert(part.clone(), inlined);
                }
                Value::Object(parts)
            }
            _ => inline(resolver, from, doc, value),
        };
        out.insert(key.clone(), inlined);
    }
    Value::Object(out)
}

/// The operations of [`inline_document`], their links kept.
fn inline_operations(
    resolver: &mut Resolver,
    from: &Path,
    doc: &Value,
    operations: &serde_json::Map<String, Value>,
) -> Value {
    let mut out = serde_json::Map::new();
    for (id, operation) in operations {
        let operation = match operation.get("$ref").and_then(Value::as_str).map(parse) {
            Some(Ok(Target::Local { pointer })) => lookup(doc, &pointer).unwrap_or(operation),
            _ => operation,
        };
        let inlined = match operation {
            Value::Object(fields) if !fields.contains_key("$ref") => Value::Object(
                fields
                    .iter()
                    .map(|(field, value)| {
                        let names_channel = || value.get("$ref").and_then(Value::as_str).and_then(local_channel_id).is_some();
                        let value = match field.as_str() {
                            // A channel written out (not a reference) is known by value:
                            // inlined, to compare with the inlined channels.
                            "channel" if names_channel() => value.clone(),
                            "messages" | "reply" => value.clone(),
                            _ => inline(resolver, from, doc, value),
                        };
                        (field.clone(), value)
                    })
                    .collect(),
            ),
            other => inline(resolver, from, doc, other),
        };
        out.insert(id.clone(), inlined);
    }
    Value::Object(out)
}

/// The id of the channel a `$ref` names when it is `#/channels/<id>` in the same document.
pub fn local_channel_id(reference: &str) -> Option<String> {
    let Ok(Target::Local { pointer }) = parse(reference) else { return None };
    let token = pointer.strip_prefix("/channels/").filter(|t| !t.contains('/'))?;
    Some(crate::source::unescape_token(token))
}

/// Deepest chain of references followed by [`inline`].
const MAX_INLINE_DEPTH: usize = 64;

fn inline_at(
    resolver: &mut Resolver,
    from: &Path,
    doc: &Value,
    value: &Value,
    stack: &mut Vec<(PathBuf, String)>,
    depth: usize,
) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                if depth < MAX_INLINE_DEPTH {
                    if let Ok(target) = parse(reference) {
                        let (file, pointer) = match &target {
                            Target::Local { pointer } => (Some(from.to_owned()), pointer.clone()),
                            Target::File { path, pointer } => {
                                (resolver.file_path(from, path).ok(), pointer.clone())
                            }
                            Target::Remote { .. } => (None, String::new()),
                        };
                        if let Some(file) = file {
                            let key = (file.clone(), pointer.clone());
                            if !stack.contains(&key) {
                                if file == from {
                                    // Borrowed from the document, not copied first: the
                                    // inlined result is the one copy.
                                    if let Ok(target) = lookup(doc, &pointer) {
                                        stack.push(key);
                                        let out = inline_at(
                                            resolver, &file, doc, target, stack, depth + 1,
                                        );
                                        stack.pop();
                                        return out;
                                    }
                                } else if let Some((target, target_doc)) =
                                    resolver.file(&file).ok().and_then(|s| {
                                        lookup(&s.value, &pointer)
                                            .ok()
                                            .map(|v| (v.clone(), s.value.clone()))
                                    })
                                {
                                    stack.push(key);
                                    let out = inline_at(
                                        resolver, &file, &target_doc, &target, stack, depth + 1,
                                    );
                                    stack.pop();
                                    return out;
                                }
                            }
                        }
                    }
                }
                return value.clone();
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if k == "examples" || k.starts_with("x-") {
                            v.clone()
                        } else {
                            inline_at(resolver, from, doc, v, stack, depth)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| inline_at(resolver, from, doc, v, stack, depth))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            parse("#/components/messages/A%20B").ok(),
            Some(Target::Local {
                pointer: "/components/messages/A B".into()
            })
        );
        assert_eq!(
            parse("common/messages.yaml#/X").ok(),
            Some(Target::File {
                path: "common/messages.yaml".into(),
                pointer: "/X".into()
            })
        );
        assert!(matches!(parse("https://r/s#/a"), Ok(Target::Remote { .. })));
        assert_eq!(parse("#foo"), Err(RefError::NotAPointer("foo".into())));
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%7e%41"), "~A");
    }

    #[test]
    fn lookup_reports_how_far_it_got() {
        let doc = serde_json::json!({"a": {"b~c": [1, {"d": 2}]}});
        assert_eq!(lookup(&doc, "/a/b~0c/1/d").ok(), Some(&serde_json::json!(2)));
        match lookup(&doc, "/a/b~0c/5") {
            Err(RefError::Missing { found, .. }) => assert_eq!(found, "/a/b~0c"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn files_outside_the_root_are_refused() {
        let resolver = Resolver::new(Path::new("/srv/api/main.yaml"));
        assert!(resolver
            .file_path(Path::new("/srv/api/main.yaml"), "common/x.yaml")
            .is_ok());
        assert!(matches!(
            resolver.file_path(Path::new("/srv/api/main.yaml"), "../secrets.yaml"),
            Err(RefError::OutsideRoot(_))
        ));
        assert!(matches!(
            resolver.file_path(Path::new("/srv/api/main.yaml"), "/etc/passwd"),
            Err(RefError::OutsideRoot(_))
        ));
    }
}
