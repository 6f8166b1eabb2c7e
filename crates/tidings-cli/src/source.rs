//! Reading a document: YAML or JSON text -> [`serde_json::Value`], plus a [`PositionIndex`]
//! that maps JSON pointers back to line and column in the text.
//!
//! The value comes from `serde_json` (JSON) or `serde_yaml_ng` (YAML); neither keeps spans,
//! so the index is built separately (YAML: from `saphyr-parser`'s events, which carry them;
//! JSON: by a scanner of its own, [`PositionIndex::build_for`]), on
//! the first question about a position: a command that reports no positions (`tidings diff
//! --format json`) never builds it, and one entry per node was most of `diff`'s memory.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use saphyr_parser::{Event, Parser};
use serde_json::{Map, Value};

/// A 1-based line and column in a source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a file could not be used as a document at all (exit code 2).
#[derive(Debug, Clone)]
pub struct LoadError {
    /// The file, as the user named it.
    pub file: String,
    /// Where in the file, when the parser said.
    pub position: Option<Position>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}:{}: {}", self.file, p, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for LoadError {}

/// The syntax a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON.
    Json,
    /// YAML (1.2; JSON is a subset, but we read `.json` files with a JSON parser).
    Yaml,
}

/// A loaded document: its text, its value and where each of its nodes is.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file as the user named it (used in messages).
    pub name: String,
    /// The file's path (for resolving relative `$ref`s).
    pub path: PathBuf,
    /// The syntax it was read with.
    pub syntax: Syntax,
    /// The document.
    pub value: Value,
    /// The text, for the index.
    text: String,
    /// JSON pointer -> position, built on first use ([`Source::index`]).
    index: OnceLock<PositionIndex>,
    /// The keys written twice, when asked for before the index was built.
    duplicates: OnceLock<Vec<Duplicate>>,
}

/// Largest document read, so a mistaken argument (a disk image) fails fast instead of
/// exhausting memory.
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;

impl Source {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Source, LoadError> {
        let name = path.display().to_string();
        let fail = |message: String| LoadError {
            file: name.clone(),
            position: None,
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        if meta.is_dir() {
            return Err(fail("is a directory, not a document".into()));
        }
        if meta.len() > MAX_DOCUMENT_BYTES {
            return Err(fail(format!(
                "is {} bytes; documents larger than {MAX_DOCUMENT_BYTES} bytes are refused",
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            fail(format!(
                "is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Source::parse(&name, path, &text)
    }

    /// Parses `text`, named `name` in messages; `path` anchors relative references.
    pub fn parse(name: &str, path: &Path, text: &str) -> Result<Source, LoadError> {
        let syntax = guess_syntax(path, text);
        let value = match syntax {
            Syntax::Json => parse_json(name, text)?,
            Syntax::Yaml => parse_yaml(name, text)?,
        };
        Ok(Source {
            name: name.to_owned(),
            path: path.to_owned(),
            syntax,
            value,
            text: text.to_owned(),
            index: OnceLock::new(),
            duplicates: OnceLock::new(),
        })
    }

    /// JSON pointer -> position (and the keys written twice), built on the first call.
    pub fn index(&self) -> &PositionIndex {
        self.index.get_or_init(|| PositionIndex::build_for(&self.text, self.syntax))
    }

    /// The mapping keys written twice. From the index when it is built; otherwise from a
    /// scan of the text that keeps no positions (a valid document, whose validation
    /// reports no position, never pays for the index).
    pub fn duplicates(&self) -> &[Duplicate] {
        if let Some(index) = self.index.get() {
            return &index.duplicates;
        }
        self.duplicates.get_or_init(|| PositionIndex::scan_for(&self.text, self.syntax, false).duplicates)
    }

    /// The position of `pointer`, or of its nearest ancestor that has one.
    pub fn position(&self, pointer: &str) -> Option<Position> {
        self.index().find(pointer)
    }
}

/// `.json` files, and text starting with `{` or `[`, are JSON; the rest YAML.
fn guess_syntax(path: &Path, text: &str) -> Syntax {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json") => Syntax::Json,
        Some("yaml") | Some("yml") => Syntax::Yaml,
        _ => match text.trim_start_matches('\u{feff}').trim_start().chars().next() {
            Some('{') | Some('[') => Syntax::Json,
            _ => Syntax::Yaml,
        },
    }
}

fn parse_json(name: &str, text: &str) -> Result<Value, LoadError> {
    serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| LoadError {
        file: name.to_owned(),
        position: (e.line() > 0).then(|| Position {
            line: e.line(),
            column: e.column().max(1),
        }),
        message: format!("not valid JSON: {}", strip_location(&e.to_string())),
    })
}

fn parse_yaml(name: &str, text: &str) -> Result<Value, LoadError> {
    let fail = |position: Option<Position>, message: String| LoadError {
        file: name.to_owned(),
        position,
        message,
    };
    // Deep nesting overflows recursive parsers; refuse it before serde_yaml_ng recurses.
    if let Some(position) = too_deep(text) {
        return Err(fail(
            Some(position),
            format!("nesting deeper than {MAX_DEPTH} levels"),
        ));
    }
    // Straight into a JSON value: duplicate keys keep the last (the index reports them),
    // as JSON parsers do.
    let direct = serde_yaml_ng::from_str::<Value>(text);
    let value = match direct {
        Ok(v) => v,
        Err(e) => {
            // Keys that are not strings (`200:`) fail the direct way; the YAML value type
            // takes them, and they are turned into strings.
            match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) {
                Ok(yaml) => yaml_to_json(yaml, 0).map_err(|m| fail(None, m))?,
                Err(_) => {
                    let position = e.location().map(|l| Position {
                        line: l.line(),
                        column: l.column(),
                    });
                    return Err(fail(
                        position,
                        format!("not valid YAML: {}", strip_location(&e.to_string())),
                    ));
                }
            }
        }
    };
    if value.is_null() && text.trim().is_empty() {
        return Err(fail(None, "is empty".into()));
    }
    Ok(value)
}

/// Deepest nesting accepted, far beyond any real document and well inside the stack.
pub const MAX_DEPTH: usize = 200;

/// The position where the nesting first exceeds [`MAX_DEPTH`], found with the event
/// parser (which does not recurse).
fn too_deep(text: &str) -> Option<Position> {
    let mut depth = 0usize;
    for event in Parser::new_from_str(text) {
        let Ok((event, span)) = event else {
            return None;
        };
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(Position {
                        line: span.start.line(),
                        column: span.start.col() + 1,
                    });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The parsers append " at line X column Y"; we print the position ourselves.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn yaml_to_json(yaml: serde_yaml_ng::Value, depth: usize) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    if depth > MAX_DEPTH {
        return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
    }
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                match n.as_f64().and_then(serde_json::Number::from_f64) {
                    Some(f) => Value::Number(f),
                    // .nan / .inf have no JSON form: keep them as the text they were.
                    None => Value::String(n.to_string()),
                }
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|v| yaml_to_json(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut map = Map::new();
            for (k, v) in mapping {
                // JSON (and AsyncAPI) keys are strings; YAML allows `200:` or `true:`.
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_owned(),
                    other => {
                        return Err(format!(
                            "a mapping key is a {}, not a string",
                            yaml_kind(&other)
                        ))
                    }
                };
                map.insert(key, yaml_to_json(v, depth + 1)?);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value, depth + 1)?,
    })
}

fn yaml_kind(v: &serde_yaml_ng::Value) -> &'static str {
    match v {
        serde_yaml_ng::Value::Sequence(_) => "sequence",
        serde_yaml_ng::Value::Mapping(_) => "mapping",
        serde_yaml_ng::Value::Tagged(_) => "tagged value",
        _ => "scalar",
    }
}

/// JSON pointer (RFC 6901) -> where the node starts: the key's position for a mapping
/// member, the item's for a sequence element.
#[derive(Debug, Clone, Default)]
pub struct PositionIndex {
    /// foldhash, not SipHash: one entry per node of the document, hashed on insert.
    positions: HashMap<String, Position, foldhash::fast::RandomState>,
    /// Keys that appear twice in one mapping (the parsers keep the last silently).
    pub duplicates: Vec<Duplicate>,
}

/// A mapping key written twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The member's pointer.
    pub pointer: String,
    /// Where it is first written.
    pub first: Position,
    /// Where it is written again.
    pub again: Position,
}

impl PositionIndex {
    /// Builds the index from the text; an unparsable text gives what was read before the
    /// error (the value parser reports the error itself).
    pub fn build(text: &str) -> PositionIndex {
        PositionIndex::scan(text, true)
    }

    /// [`build`](Self::build) for a text of a known syntax: JSON is read by a scanner of
    /// its own. The YAML scanner reads JSON too (a flow mapping), but it queues the
    /// tokens of an open flow collection (about 27 bytes of them per byte of a JSON
    /// document), and the scan was a quarter of `tidings diff`'s time on one.
    pub fn build_for(text: &str, syntax: Syntax) -> PositionIndex {
        PositionIndex::scan_for(text, syntax, true)
    }

    /// The scan of `syntax`, with or without every node's position.
    fn scan_for(text: &str, syntax: Syntax, positions_wanted: bool) -> PositionIndex {
        match syntax {
            Syntax::Json => PositionIndex::scan_json(text, positions_wanted),
            Syntax::Yaml => PositionIndex::scan(text, positions_wanted),
        }
    }

    /// [`scan`](Self::scan) for JSON text: the same positions (a member at its key's
    /// opening quote, an element where it starts) and duplicates, in one pass over the
    /// bytes, with an explicit stack (no recursion). It stops at the first byte that is
    /// not JSON, keeping what it read before (the value parser reports the error).
    fn scan_json(text: &str, positions_wanted: bool) -> PositionIndex {
        struct Frame {
            pointer: String,
            map: bool,
            next: usize,
            pending_key: Option<String>,
            keys: HashMap<String, Position>,
        }
        // The pointer of the value starting now (formatted only when `want`); the parent
        // moves on either way.
        fn child(stack: &mut [Frame], want: bool) -> Option<String> {
            match stack.last_mut() {
                None => Some(String::new()),
                Some(f) if f.map => f
                    .pending_key
                    .take()
                    .map(|k| if want { format!("{}/{}", f.pointer, escape_token(&k)) } else { String::new() }),
                Some(f) => {
                    let p = if want { format!("{}/{}", f.pointer, f.next) } else { String::new() };
                    f.next += 1;
                    Some(p)
                }
            }
        }
        let mut positions = HashMap::with_hasher(foldhash::fast::RandomState::default());
        positions.insert(String::new(), Position { line: 1, column: 1 });
        let mut duplicates = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut c = JsonCursor { bytes: text.as_bytes(), at: 0, line: 1, column: 1 };
        loop {
            c.skip_whitespace();
            let Some(b) = c.peek() else { break };
            let here = Position { line: c.line, column: c.column };
            match b {
                b'{' | b'[' => {
                    // Always formatted: a duplicate inside needs its container's pointer.
                    let pointer = child(&mut stack, true).unwrap_or_default();
                    if positions_wanted {
                        positions.entry(pointer.clone()).or_insert(here);
                    }
                    stack.push(Frame { pointer, map: b == b'{', next: 0, pending_key: None, keys: HashMap::new() });
                    c.bump();
                    continue;
                }
                b'}' | b']' => {
                    stack.pop();
                    c.bump();
                    continue;
                }
                b',' | b':' => {
                    c.bump();
                    continue;
                }
                b'"' => {
                    let Some(raw) = c.string() else { break };
                    if let Some(f) = stack.last_mut().filter(|f| f.map && f.pending_key.is_none()) {
                        // A key: the member's position is the key's.
                        let key = if raw.contains('\\') {
                            serde_json::from_str::<String>(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_owned())
                        } else {
                            raw.to_owned()
                        };
                        let member = || format!("{}/{}", f.pointer, escape_token(&key));
                        match f.keys.get(&key) {
                            Some(first) => duplicates.push(Duplicate { pointer: member(), first: *first, again: here }),
                            None => {
                                f.keys.insert(key.clone(), here);
                            }
                        }
                        if positions_wanted {
                            positions.entry(member()).or_insert(here);
                        }
                        f.pending_key = Some(key);
                        continue;
                    }
                }
                // A number, `true`, `false` or `null`.
                _ if c.literal() => {}
                _ => break,
            }
            // A scalar value (a key went on above): placed in its parent.
            if let Some(p) = child(&mut stack, positions_wanted) {
                if positions_wanted {
                    positions.entry(p).or_insert(here);
                }
            }
        }
        PositionIndex { positions, duplicates }
    }

    /// Reads the text's events: the keys written twice, and with `positions` the position
    /// of every node (otherwise only the containers' pointers are formatted, which the
    /// pointer of a duplicate needs).
    fn scan(text: &str, positions_wanted: bool) -> PositionIndex {
        enum Frame {
            Map {
                pointer: String,
                pending_key: Option<String>,
                keys: HashMap<String, Position>,
            },
            Seq {
                pointer: String,
                next: usize,
            },
        }
        let mut positions = HashMap::with_hasher(foldhash::fast::RandomState::default());
        let mut duplicates = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        positions.insert(String::new(), Position { line: 1, column: 1 });
        let pos = |span: &saphyr_parser::Span| Position {
            line: span.start.line(),
            column: span.start.col() + 1,
        };
        // The pointer of the node starting now, after which the parent expects a key again;
        // formatted only when `want` (the parent's state moves on either way).
        fn child_pointer(stack: &mut [Frame], want: bool) -> Option<String> {
            match stack.last_mut() {
                None => Some(String::new()),
                Some(Frame::Map {
                    pointer,
                    pending_key,
                    ..
                }) => pending_key
                    .take()
                    .map(|k| if want { format!("{pointer}/{}", escape_token(&k)) } else { String::new() }),
                Some(Frame::Seq { pointer, next }) => {
                    let p = if want { format!("{pointer}/{next}") } else { String::new() };
                    *next += 1;
                    Some(p)
                }
            }
        }
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else { break };
            match event {
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Map {
                        pointer,
                        pending_key,
                        keys,
                    }) = stack.last_mut()
                    {
                        if pending_key.is_none() {
                            // A key: the member's position is the key's.
                            let member = || format!("{pointer}/{}", escape_token(&value));
                            if let Some(first) = keys.get(value.as_ref()) {
                                duplicates.push(Duplicate {
                                    pointer: member(),
                                    first: *first,
                                    again: pos(&span),
                                });
                            } else {
                                keys.insert(value.to_string(), pos(&span));
                            }
                            if positions_wanted {
                                positions.entry(member()).or_insert(pos(&span));
                            }
                            *pending_key = Some(value.into_owned());
                            continue;
                        }
                    }
                    if let Some(p) = child_pointer(&mut stack, positions_wanted) {
                        if positions_wanted {
                            positions.entry(p).or_insert(pos(&span));
                        }
                    }
                }
                Event::Alias(_) => {
                    if let Some(Frame::Map { pending_key, .. }) = stack.last_mut() {
                        if pending_key.is_none() {
                            // An aliased key: rare; give it a placeholder name.
                            *pending_key = Some(String::from("*alias"));
                            continue;
                        }
                    }
                    if let Some(p) = child_pointer(&mut stack, positions_wanted) {
                        if positions_wanted {
                            positions.entry(p).or_insert(pos(&span));
                        }
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let is_map = matches!(event, Event::MappingStart(..));
                    // A complex key (a mapping used as a key): index nothing inside it.
                    let pointer = child_pointer(&mut stack, true).unwrap_or_else(|| "\u{0}".into());
                    if positions_wanted {
                        positions.entry(pointer.clone()).or_insert(pos(&span));
                    }
                    stack.push(if is_map {
                        Frame::Map {
                            pointer,
                            pending_key: None,
                            keys: HashMap::new(),
                        }
                    } else {
                        Frame::Seq { pointer, next: 0 }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        positions.retain(|k, _| !k.contains('\u{0}'));
        duplicates.retain(|d| !d.pointer.contains('\u{0}'));
        PositionIndex {
            positions,
            duplicates,
        }
    }

    /// The position of `pointer`, or of its nearest ancestor that has one (an alias, or a
    /// member that is missing, is reported where its parent is).
    pub fn find(&self, pointer: &str) -> Option<Position> {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.positions.get("").copied(),
            }
        }
    }

    /// The position of exactly `pointer`.
    pub fn get(&self, pointer: &str) -> Option<Position> {
        self.positions.get(pointer).copied()
    }
}

/// A position in JSON text: byte offset, and the line and column (in characters) it is at.
struct JsonCursor<'t> {
    bytes: &'t [u8],
    at: usize,
    line: usize,
    column: usize,
}

impl<'t> JsonCursor<'t> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Steps over one byte; a UTF-8 continuation byte is no column of its own.
    fn bump(&mut self) {
        if let Some(b) = self.peek() {
            self.at += 1;
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                self.column += 1;
            }
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    /// At an opening quote: steps over the string and returns its text between the
    /// quotes, escapes as written; `None` when it does not end.
    fn string(&mut self) -> Option<&'t str> {
        self.bump();
        let start = self.at;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    self.bump();
                    self.peek()?;
                    self.bump();
                }
                _ => self.bump(),
            }
        }
        let raw = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        self.bump();
        Some(raw)
    }

    /// Steps over a number or a keyword; false when there is none here.
    fn literal(&mut self) -> bool {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'+' | b'.')) {
            self.bump();
        }
        self.at > start
    }
}

/// Escapes one reference token for a JSON pointer (`~` -> `~0`, `/` -> `~1`).
pub fn escape_token(token: &str) -> std::borrow::Cow<'_, str> {
    // Most tokens need no escaping: no copy for them (one per node of a document indexed).
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

/// Unescapes one reference token of a JSON pointer.
pub fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Appends `token` to `pointer`.
pub fn join(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", escape_token(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_positions_point_at_keys_and_items() {
        let text = "asyncapi: 3.0.0\nchannels:\n  a/b:\n    address: x\n    list:\n      - one\n      - {k: v}\n";
        let index = PositionIndex::build(text);
        assert_eq!(index.get("/channels").map(|p| p.line), Some(2));
        assert_eq!(
            index.get("/channels/a~1b/address"),
            Some(Position { line: 4, column: 5 })
        );
        assert_eq!(
            index.get("/channels/a~1b/list/1"),
            Some(Position { line: 7, column: 9 })
        );
        assert_eq!(index.get("/channels/a~1b/list/1/k").map(|p| p.line), Some(7));
        // A missing member is placed at its parent.
        assert_eq!(index.find("/channels/a~1b/nope/deeper").map(|p| p.line), Some(3));
        assert!(index.duplicates.is_empty());
    }

    #[test]
    fn duplicate_keys_are_found_and_the_last_one_kept() {
        let text = "operations:\n  a: 1\n  b: 2\n  a: 3\n";
        let source = Source::parse("d.yaml", Path::new("d.yaml"), text).expect("parses");
        assert_eq!(source.value.pointer("/operations/a"), Some(&serde_json::json!(3)));
        assert_eq!(
            source.index().duplicates,
            [Duplicate {
                pointer: "/operations/a".into(),
                first: Position { line: 2, column: 3 },
                again: Position { line: 4, column: 3 },
            }]
        );
    }

    /// The scan without positions finds the same duplicates as the index, nested ones and
    /// ones inside sequences included, and `Source` answers from it until the index exists.
    #[test]
    fn duplicates_without_the_index_are_the_index_duplicates() {
        let text = "a: 1\nlist:\n  - {x: 1, y: 2, x: 3}\n  - z: [1, 2]\n    w: 0\n    z: 4\nb:\n  c:\n    d: 1\n    d: 2\na: 5\n";
        let full = PositionIndex::build(text).duplicates;
        let pointers: Vec<&str> = full.iter().map(|d| d.pointer.as_str()).collect();
        assert_eq!(pointers, ["/list/0/x", "/list/1/z", "/b/c/d", "/a"]);
        assert_eq!(PositionIndex::scan(text, false).duplicates, full);
        assert_eq!(PositionIndex::scan(text, false).positions.len(), 1, "only the root's");
        let source = Source::parse("d.yaml", Path::new("d.yaml"), text).expect("parses");
        assert_eq!(source.duplicates(), full.as_slice());
        assert!(source.index.get().is_none(), "no index built for the duplicates");
        assert_eq!(source.position("/b/c/d").map(|p| p.line), Some(9));
        assert_eq!(source.duplicates(), full.as_slice());
    }

    #[test]
    fn json_positions() {
        let text = "{\n  \"info\": {\n    \"title\": \"t\"\n  },\n  \"tags\": [1, 2]\n}\n";
        let index = PositionIndex::build(text);
        assert_eq!(index.get("/info/title"), Some(Position { line: 3, column: 5 }));
        assert_eq!(index.get("/tags/1").map(|p| p.line), Some(5));
    }

    /// The JSON scanner places every node where the YAML scanner does, and finds the same
    /// duplicates: pretty and compact text, escapes in keys, characters of several bytes,
    /// nested sequences, empty containers.
    #[test]
    fn the_json_scanner_agrees_with_the_yaml_one() {
        let texts = [
            "{\n  \"info\": {\n    \"title\": \"t\"\n  },\n  \"tags\": [1, 2]\n}\n",
            r#"{"a":{"b/c":[1,{"d~e":true},[null,-2.5e3]],"é":"ünï","x":{}},"y":[],"z":"q\"\\"}"#,
            "{\n\t\"k\\u0041\": 1,\r\n \"n\": {\"x\": 1, \"y\": 2, \"x\": 3},\n \"kA\": 2\n}",
            "[{\"p\": \"日本語\", \"q\": [ {\"r\": 1} ]}, 3]",
        ];
        for text in texts {
            let yaml = PositionIndex::scan(text, true);
            let json = PositionIndex::scan_json(text, true);
            let sorted = |i: &PositionIndex| {
                let mut v: Vec<_> = i.positions.iter().map(|(k, p)| (k.clone(), *p)).collect();
                v.sort();
                v
            };
            assert_eq!(sorted(&json), sorted(&yaml), "{text}");
            assert_eq!(json.duplicates, yaml.duplicates, "{text}");
            assert_eq!(PositionIndex::scan_json(text, false).duplicates, yaml.duplicates, "{text}");
        }
        // The escaped key is its unescaped text, and written twice it is a duplicate.
        let dup = PositionIndex::scan_json(r#"{"kA": 1, "k\u0041": 2}"#, true);
        assert_eq!(dup.duplicates.len(), 1);
        assert_eq!(dup.duplicates[0].pointer, "/kA");
        assert_eq!(dup.duplicates[0].again, Position { line: 1, column: 11 });
    }

    /// A JSON source answers from the JSON scanner.
    #[test]
    fn a_json_source_is_indexed_by_the_json_scanner() {
        let text = "{\"a\": 1,\n \"b\": [true, {\"c\": null}], \"a\": 2}";
        let source = Source::parse("d.json", Path::new("d.json"), text).expect("parses");
        assert_eq!(source.syntax, Syntax::Json);
        assert_eq!(source.duplicates().len(), 1);
        assert_eq!(source.position("/b/1/c"), Some(Position { line: 2, column: 15 }));
        assert_eq!(source.position("/b/0"), Some(Position { line: 2, column: 8 }));
    }

    /// Text that stops being JSON keeps what was read before it.
    #[test]
    fn the_json_scanner_stops_at_what_is_not_json() {
        let index = PositionIndex::scan_json("{\"a\": 1, \"b\": @, \"c\": 2}", true);
        assert_eq!(index.get("/a"), Some(Position { line: 1, column: 2 }));
        assert_eq!(index.get("/b"), Some(Position { line: 1, column: 10 }));
        assert_eq!(index.get("/c"), None);
        let index = PositionIndex::scan_json("{\"a\": \"never ends", true);
        assert_eq!(index.get("/a"), Some(Position { line: 1, column: 2 }));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = Source::parse("bad.yaml", Path::new("bad.yaml"), "a: [1, 2\nb: c: d\n")
            .expect_err("invalid YAML");
        assert!(err.position.is_some(), "{err}");
        let err = Source::parse("bad.json", Path::new("bad.json"), "{\n \"a\": }")
            .expect_err("invalid JSON");
        assert_eq!(err.position.map(|p| p.line), Some(2), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = "[".repeat(20_000);
        assert!(Source::parse("deep.yaml", Path::new("deep.yaml"), &text).is_err());
        let text = format!("{}1{}", "[".repeat(300), "]".repeat(300));
        let err = Source::parse("deep.yaml", Path::new("deep.yaml"), &text).expect_err("too deep");
        assert!(err.message.contains("nesting") || err.message.contains("recursion"), "{err}");
    }
}
