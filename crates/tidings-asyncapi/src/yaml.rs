//! A lean YAML writer for documents: the bytes `serde_yaml_ng` (libyaml's emitter, as
//! `serde_yaml_ng` configures it: block style, unlimited width, Unicode) writes for the
//! same value, at a fraction of the instructions (`--asyncapi` spent about half of its
//! run in libyaml's emitter; docs/benchmarks.md).
//!
//! It writes only what it is sure to write as libyaml would: maps with string keys,
//! sequences, strings, booleans, null, integers and finite `f64`s; strings plain,
//! single-quoted or as `|-` literal blocks. Anything else (a string libyaml would
//! double-quote, a literal ending with a line break, a non-string key, enum variants
//! with data, ...) makes [`to_string`] return `None`, and the caller falls back to
//! `serde_yaml_ng` for the whole value. The tests compare both writers on the golden
//! documents and on generated strings.

use std::borrow::Cow;
use std::fmt;

use serde::ser::{self, Serialize};

/// `value` as `serde_yaml_ng::to_string` writes it, or `None` when this writer is not
/// sure to write the same bytes.
#[cfg(test)]
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    Serialized::new(value)?.to_yaml()
}

/// A value serialized once, flat ([`Tree`]), to be written as YAML by this writer, or
/// replayed (it implements [`Serialize`]) into `serde_yaml_ng` or `serde_json`.
///
/// Replaying is for code size: every `Serialize` impl of the document model is compiled
/// once per serializer it meets. Through the tree the model meets one serializer, and
/// JSON and the YAML fallback each compile only the replay (a service binary's code is
/// resident in whole; `--asyncapi`'s peak RSS, docs/benchmarks.md).
pub(crate) struct Serialized(Tree);

impl Serialized {
    /// `None` when `value` holds what the tree does not: a non-string map key, an enum
    /// variant with data, a float that is not finite, bytes, a char (the document model
    /// has none of these; a test replays every golden document).
    pub(crate) fn new<T: Serialize + ?Sized>(value: &T) -> Option<Serialized> {
        let mut tree = Tree { text: String::with_capacity(4096), nodes: Vec::with_capacity(512) };
        value.serialize(NodeSerializer(&mut tree)).ok()?;
        tree.nodes.first()?;
        Some(Serialized(tree))
    }

    /// The value as `serde_yaml_ng::to_string` writes it, or `None` when this writer is
    /// not sure to write the same bytes.
    pub(crate) fn to_yaml(&self) -> Option<String> {
        let tree = &self.0;
        let mut out = String::with_capacity(tree.text.len() * 2);
        match tree.nodes.first()? {
            Node::Map { len, .. } if *len > 0 => write_map(&mut out, tree, 0, 0, false)?,
            Node::Seq { len, .. } if *len > 0 => write_seq(&mut out, tree, 0, 0, false)?,
            _ => {
                write_inline(&mut out, tree, 0)?;
                out.push('\n');
            }
        }
        Some(out)
    }
}

impl Serialize for Serialized {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        Replay(&self.0, 0).serialize(serializer)
    }
}

/// The node at an index and what it contains, serialized again as it was first.
struct Replay<'t>(&'t Tree, usize);

impl Serialize for Replay<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use ser::{Error as _, SerializeMap as _, SerializeSeq as _};
        let Replay(tree, at) = *self;
        match tree.nodes[at] {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(b),
            // The text is core's integer formatting or ryu's; parsing it back gives the very number.
            Node::Number(span) => {
                let text = tree.str(span);
                let bad = || S::Error::custom(format_args!("number `{text}`"));
                if text.contains(['.', 'e', 'E']) {
                    serializer.serialize_f64(text.parse().map_err(|_| bad())?)
                } else if text.starts_with('-') {
                    serializer.serialize_i64(text.parse().map_err(|_| bad())?)
                } else {
                    serializer.serialize_u64(text.parse().map_err(|_| bad())?)
                }
            }
            Node::Str(span) | Node::Key(span) => serializer.serialize_str(tree.str(span)),
            Node::Seq { len, .. } => {
                let mut seq = serializer.serialize_seq(Some(len as usize))?;
                let mut item = at + 1;
                for _ in 0..len {
                    seq.serialize_element(&Replay(tree, item))?;
                    item = tree.after(item);
                }
                seq.end()
            }
            Node::Map { len, .. } => {
                let mut map = serializer.serialize_map(Some(len as usize))?;
                let mut key = at + 1;
                for _ in 0..len {
                    map.serialize_entry(&Replay(tree, key), &Replay(tree, key + 1))?;
                    key = tree.after(key + 1);
                }
                map.end()
            }
        }
    }
}

/// The serialized value, flat and in serialization order: each map or sequence is
/// followed by its entries, each map entry is its key then its value. All text is in
/// one string. Two allocations for the whole document, not one per string and per map:
/// building and freeing a tree of small allocations was a fifth of `--asyncapi`.
struct Tree {
    text: String,
    nodes: Vec<Node>,
}

/// A byte range of [`Tree::text`].
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Clone, Copy)]
enum Node {
    Null,
    Bool(bool),
    /// An integer or float, already formatted.
    Number(Span),
    Str(Span),
    /// `len` items; the nodes of this sequence end before index `end`.
    Seq { len: u32, end: u32 },
    /// `len` entries, a key then a value each; its nodes end before index `end`.
    Map { len: u32, end: u32 },
    /// A map key or a struct field's name. Field names are copied into the text too: a
    /// `&'static str` in the node would make every node 24 bytes instead of 12, and the
    /// node list is the writer's largest allocation.
    Key(Span),
}

const _: () = assert!(std::mem::size_of::<Node>() == 12);

impl Tree {
    /// The span of what `write` appends to the text.
    fn push_with(&mut self, write: impl FnOnce(&mut String) -> Result<()>) -> Result<Span> {
        let start = u32::try_from(self.text.len()).map_err(|_| Unsupported)?;
        write(&mut self.text)?;
        let end = u32::try_from(self.text.len()).map_err(|_| Unsupported)?;
        Ok(Span { start, end })
    }
    fn push_text(&mut self, s: &str) -> Result<Span> {
        self.push_with(|text| {
            text.push_str(s);
            Ok(())
        })
    }
    /// Appends an integer as `Display` writes it (the digits itoa would write). Through
    /// core's formatting, which sits beside the `core::fmt` code every run executes:
    /// itoa's code alone kept another 64 KB of the binary resident.
    fn push_integer(&mut self, v: impl std::fmt::Display) -> Result<Span> {
        use std::fmt::Write as _;
        self.push_with(|text| write!(text, "{v}").map_err(|_| Unsupported))
    }
    fn str(&self, span: Span) -> &str {
        &self.text[span.start as usize..span.end as usize]
    }
    /// The index just after the node at `i` and everything it contains.
    fn after(&self, i: usize) -> usize {
        match self.nodes[i] {
            Node::Seq { end, .. } | Node::Map { end, .. } => end as usize,
            _ => i + 1,
        }
    }
    fn key(&self, i: usize) -> Option<&str> {
        match self.nodes[i] {
            Node::Key(span) => Some(self.str(span)),
            _ => None,
        }
    }
}

fn spaces(out: &mut String, n: usize) {
    // A slice at a time: pushing `char`s one by one was about a tenth of the writer's work.
    const SPACES: &str = "                                ";
    let mut left = n;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

/// The non-empty map at node `at`, its keys at column `indent` (the first one already
/// placed when `inline_first`, after a sequence's `- `).
fn write_map(out: &mut String, tree: &Tree, at: usize, indent: usize, inline_first: bool) -> Option<()> {
    let Node::Map { len, .. } = tree.nodes[at] else { return None };
    let mut i = at + 1;
    for n in 0..len {
        if n > 0 || !inline_first {
            spaces(out, indent);
        }
        let key = tree.key(i)?;
        // libyaml writes a key longer than 128 characters as a complex key (`? `).
        if key.len() > 100 && key.chars().count() > 100 {
            return None;
        }
        out.push_str(&scalar(key)?);
        out.push(':');
        let value = i + 1;
        match tree.nodes[value] {
            Node::Map { len, .. } if len > 0 => {
                out.push('\n');
                write_map(out, tree, value, indent + 2, false)?;
            }
            // A sequence in a map is not indented (`key:` then `- item` in its column).
            Node::Seq { len, .. } if len > 0 => {
                out.push('\n');
                write_seq(out, tree, value, indent, false)?;
            }
            Node::Str(s) if tree.str(s).contains('\n') => {
                out.push(' ');
                write_literal(out, tree.str(s), indent + 2)?;
            }
            _ => {
                out.push(' ');
                write_inline(out, tree, value)?;
                out.push('\n');
            }
        }
        i = tree.after(value);
    }
    Some(())
}

/// The non-empty sequence at node `at`, its `- ` at column `indent`.
fn write_seq(out: &mut String, tree: &Tree, at: usize, indent: usize, inline_first: bool) -> Option<()> {
    let Node::Seq { len, .. } = tree.nodes[at] else { return None };
    let mut item = at + 1;
    for n in 0..len {
        if n > 0 || !inline_first {
            spaces(out, indent);
        }
        out.push_str("- ");
        match tree.nodes[item] {
            Node::Map { len, .. } if len > 0 => write_map(out, tree, item, indent + 2, true)?,
            Node::Seq { len, .. } if len > 0 => write_seq(out, tree, item, indent + 2, true)?,
            // Literal blocks in sequences: left to serde_yaml_ng.
            Node::Str(s) if tree.str(s).contains('\n') => return None,
            _ => {
                write_inline(out, tree, item)?;
                out.push('\n');
            }
        }
        item = tree.after(item);
    }
    Some(())
}

/// The value at node `at` on the current line: a scalar, `{}` or `[]`.
fn write_inline(out: &mut String, tree: &Tree, at: usize) -> Option<()> {
    match tree.nodes[at] {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Node::Number(n) => out.push_str(tree.str(n)),
        Node::Str(s) if tree.str(s).contains('\n') => return None,
        Node::Str(s) => out.push_str(&scalar(tree.str(s))?),
        Node::Map { len: 0, .. } => out.push_str("{}"),
        Node::Seq { len: 0, .. } => out.push_str("[]"),
        Node::Map { .. } | Node::Seq { .. } | Node::Key(_) => return None,
    }
    Some(())
}

/// A string with line breaks, as libyaml's literal block (`|-`) with its lines at
/// column `indent`; `None` for those libyaml writes otherwise (double-quoted, or with
/// an indentation or keep indicator).
fn write_literal(out: &mut String, s: &str, indent: usize) -> Option<()> {
    let first = s.chars().next()?;
    if first == ' ' || first == '\n' || s.ends_with('\n') || s.ends_with(' ') || s.contains(" \n") {
        return None;
    }
    if !s.chars().all(|c| c == '\n' || printable(c)) {
        return None;
    }
    out.push_str("|-\n");
    for line in s.split('\n') {
        if !line.is_empty() {
            spaces(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    Some(())
}

/// What libyaml writes without escapes and without breaking the line: printable, and
/// not a line break (`\r`, U+0085, U+2028, U+2029). Narrower than libyaml's own test
/// (characters outside the Basic Multilingual Plane are left to serde_yaml_ng).
fn printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && !matches!(c, '\u{FEFF}' | '\u{2028}' | '\u{2029}')
}

/// A single-line string (a key or a value) as libyaml writes it when serde_yaml_ng
/// asks for its style: plain when libyaml allows it and the text would not read back as
/// another type, single-quoted otherwise; `None` for a string libyaml would
/// double-quote.
fn scalar(s: &str) -> Option<Cow<'_, str>> {
    if plain_word(s) {
        return Some(Cow::Borrowed(s));
    }
    analyzed(s)
}

/// [`scalar`] by libyaml's and serde_yaml_ng's rules, one after the other.
fn analyzed(s: &str) -> Option<Cow<'_, str>> {
    let ascii_printable = s.bytes().all(|b| (b' '..=b'~').contains(&b));
    if (!ascii_printable && !s.chars().all(printable)) || s.starts_with("---") || s.starts_with("...") {
        return None;
    }
    if !reads_as_other_type(s) && plain_allowed(s) {
        Some(Cow::Borrowed(s))
    } else {
        Some(Cow::Owned(format!("'{}'", s.replace('\'', "''"))))
    }
}

/// Most keys and values of a document (`channels`, `orders.created`, `date-time`,
/// `x-tidings-message`) in one pass: a letter, then letters, digits and `_-./`. Such a
/// string is printable, has no indicator and no space, and reads back as a string unless
/// it is a null or boolean keyword (starting with a letter, it is no number: Rust's float
/// parser takes only `inf`, `infinity` and `nan` there, which are not finite), so it is
/// written plain, as [`scalar`]'s full analysis would. That analysis was a tenth of
/// `--asyncapi`'s instructions.
fn plain_word(s: &str) -> bool {
    /// The bytes of a plain word, a table lookup each.
    const WORD: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/');
            b += 1;
        }
        table
    };
    let bytes = s.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.iter().all(|&b| WORD[usize::from(b)])
        && !matches!(s, "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
}

/// libyaml's analysis of a printable single-line scalar in block context
/// (`yaml_emitter_analyze_scalar`): no leading or trailing space, no indicator where it
/// would be read as one.
///
/// On bytes: every indicator is ASCII, and no byte of a multi-byte character is.
fn plain_allowed(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some((&first, &last)) = bytes.first().zip(bytes.last()) else {
        return false;
    };
    if first == b' ' || last == b' ' {
        return false;
    }
    let blank = |i: usize| bytes.get(i).is_none_or(|c| *c == b' ' || *c == b'\t');
    if matches!(first, b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`')
        || (matches!(first, b'?' | b':' | b'-') && blank(1))
    {
        return false;
    }
    // After the first byte, only `: ` (or a final `:`) and ` #` are indicators.
    !bytes.iter().enumerate().skip(1).any(|(i, &c)| match c {
        b':' => blank(i + 1),
        b'#' => bytes[i - 1] == b' ',
        _ => false,
    })
}

/// Whether serde_yaml_ng asks for quotes because the plain text would read back as
/// null, a boolean, an integer or a float, or is digits with a leading zero (its
/// `visit_untagged_scalar` and `digits_but_not_number`).
fn reads_as_other_type(s: &str) -> bool {
    if s.is_empty() || matches!(s, "null" | "Null" | "NULL" | "~" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE") {
        return true;
    }
    // Starting with a letter, it is no number (see `plain_word`): descriptions end here.
    if s.as_bytes()[0].is_ascii_alphabetic() {
        return false;
    }
    // Without a digit, only the spelled-out infinities and NaNs are numbers (Rust's
    // `inf`, `nan`, `infinity` are not finite, so not floats to serde_yaml_ng either).
    if !s.bytes().any(|b| b.is_ascii_digit()) {
        return matches!(s, ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN");
    }
    digits_but_not_number(s)
        || parse_unsigned_int(s)
        || parse_negative_int(s)
        || parse_f64(s)
}

fn digits_but_not_number(scalar: &str) -> bool {
    let scalar = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    scalar.len() > 1 && scalar.starts_with('0') && scalar[1..].bytes().all(|b| b.is_ascii_digit())
}

fn parse_unsigned_int(scalar: &str) -> bool {
    let unpositive = scalar.strip_prefix('+').unwrap_or(scalar);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return false;
            }
            if u128::from_str_radix(rest, radix).is_ok() {
                return true;
            }
        }
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(scalar) {
        return false;
    }
    unpositive.parse::<u128>().is_ok()
}

fn parse_negative_int(scalar: &str) -> bool {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = scalar.strip_prefix(prefix) {
            if i128::from_str_radix(&format!("-{rest}"), radix).is_ok() {
                return true;
            }
        }
    }
    if digits_but_not_number(scalar) {
        return false;
    }
    scalar.parse::<i128>().is_ok()
}

fn parse_f64(scalar: &str) -> bool {
    let unpositive = match scalar.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return false,
        Some(u) => u,
        None => scalar,
    };
    matches!(unpositive, ".inf" | ".Inf" | ".INF")
        || matches!(scalar, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unpositive.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Anything this writer leaves to serde_yaml_ng.
#[derive(Debug)]
struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde_yaml_ng")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Unsupported
    }
}

type Result<T> = std::result::Result<T, Unsupported>;

/// Serializes into a [`Tree`].
struct NodeSerializer<'t>(&'t mut Tree);

/// A sequence or map being serialized: its node's index and its length so far.
struct Builder<'t> {
    tree: &'t mut Tree,
    at: usize,
    len: u32,
}

impl Builder<'_> {
    fn open(tree: &mut Tree, node: Node) -> Builder<'_> {
        let at = tree.nodes.len();
        tree.nodes.push(node);
        Builder { tree, at, len: 0 }
    }
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(NodeSerializer(self.tree))?;
        self.len = self.len.checked_add(1).ok_or(Unsupported)?;
        Ok(())
    }
    fn close(self) -> Result<()> {
        let end = u32::try_from(self.tree.nodes.len()).map_err(|_| Unsupported)?;
        let (len, node) = (self.len, &mut self.tree.nodes[self.at]);
        *node = match node {
            Node::Seq { .. } => Node::Seq { len, end },
            _ => Node::Map { len, end },
        };
        Ok(())
    }
}

/// Map keys: strings only.
struct KeySerializer<'t>(&'t mut Tree);

impl KeySerializer<'_> {
    fn key(self, v: &str) -> Result<()> {
        let span = self.0.push_text(v)?;
        self.0.nodes.push(Node::Key(span));
        Ok(())
    }
}

impl<'t> NodeSerializer<'t> {
    fn push(self, node: Node) -> Result<()> {
        self.0.nodes.push(node);
        Ok(())
    }
    fn text(self, v: &str, node: fn(Span) -> Node) -> Result<()> {
        let span = self.0.push_text(v)?;
        self.push(node(span))
    }
}

impl<'t> ser::Serializer for NodeSerializer<'t> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Builder<'t>;
    type SerializeTuple = Builder<'t>;
    type SerializeTupleStruct = Builder<'t>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = Builder<'t>;
    type SerializeStruct = Builder<'t>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.push(Node::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        let span = self.0.push_integer(v)?;
        self.push(Node::Number(span))
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        let span = self.0.push_integer(v)?;
        self.push(Node::Number(span))
    }
    fn serialize_f32(self, _v: f32) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        if !v.is_finite() {
            return Err(Unsupported);
        }
        self.text(ryu::Buffer::new().format_finite(v), Node::Number)
    }
    fn serialize_char(self, _v: char) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        self.text(v, Node::Str)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<()> {
        self.push(Node::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        self.push(Node::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.push(Node::Null)
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<()> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Builder<'t>> {
        Ok(Builder::open(self.0, Node::Seq { len: 0, end: 0 }))
    }
    fn serialize_tuple(self, len: usize) -> Result<Builder<'t>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Builder<'t>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Builder<'t>> {
        Ok(Builder::open(self.0, Node::Map { len: 0, end: 0 }))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Builder<'t>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

impl ser::SerializeSeq for Builder<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.value(value)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}

impl ser::SerializeTuple for Builder<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.value(value)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Builder<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.value(value)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}

impl ser::SerializeMap for Builder<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        key.serialize(KeySerializer(self.tree))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        // A value must follow its key (serde's contract; checked, as a broken
        // serializer must not make the writer misread the tree).
        if !matches!(self.tree.nodes.last(), Some(Node::Key(_))) {
            return Err(Unsupported);
        }
        self.value(value)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}

impl ser::SerializeStruct for Builder<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        let span = self.tree.push_text(key)?;
        self.tree.nodes.push(Node::Key(span));
        self.value(value)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}

impl ser::Serializer for KeySerializer<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result<()> {
        self.key(v)
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<()> {
        self.key(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_bool(self, _v: bool) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_i8(self, _v: i8) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_i16(self, _v: i16) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_i32(self, _v: i32) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_i64(self, _v: i64) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_u8(self, _v: u8) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_u16(self, _v: u16) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_u32(self, _v: u32) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_u64(self, _v: u64) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_f32(self, _v: f32) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _v: f64) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_char(self, _v: char) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_unit(self) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Unsupported)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::{analyzed, plain_word, to_string};

    /// Ours is serde_yaml_ng's text, or nothing.
    fn same_or_none<T: serde::Serialize>(value: &T) -> bool {
        let theirs = serde_yaml_ng::to_string(value).expect("serde_yaml_ng");
        match to_string(value) {
            Some(ours) => {
                assert_eq!(ours, theirs, "differs from serde_yaml_ng");
                true
            }
            None => false,
        }
    }

    const TRICKY: &[&str] = &[
        "", " ", "a", "a b", " a", "a ", "a  b", "#a", "a#b", "a #b", "a# b", "-", "-a", "- a", "a-", "?", "?a", "? a",
        ":", ":a", ": a", "a:", "a:b", "a: b", "a :b", ",a", "a,b", "[a]", "a[b]", "{a}", "a{b}", "orders.{region}.cancel",
        "&a", "*a", "!a", "|a", ">a", "'a", "a'b", "'", "\"a", "a\"b", "%a", "@a", "`a", "---", "--- a", "...", "..a",
        "null", "Null", "NULL", "nul", "~", "~a", "true", "True", "TRUE", "tRUE", "false", "yes", "no", "on", "off", "y",
        "0", "1", "-1", "+1", "++1", "+-1", "01", "-01", "+01", "0x1f", "0x", "0xg", "0x+1", "-0x1f", "0o17", "0o8",
        "0b101", "-0b1", "1.5", "1.0.0", "0.1.0", "1e5", "1e", "e5", ".5", "5.", ".inf", "-.inf", "+.inf", ".nan",
        "+.nan", "++.inf", "+-.inf", ".Inf", "-.NaN", "Infinity", "+inf", "-nan",
        "inf", "-inf", "nan", "NaN", "infinity", "1_000", "12345678901234567890123456789012345678901",
        "$ref", "#/components/messages/OrderCreated", "application/json", "x-tidings-group", "kafka:orders.created",
        "https://example.com:9092/x?y=1#z", "ünïcödé", "a\u{A0}b", "\u{A0}", "a\tb", "tab\t", "a\u{85}b",
        "a\u{2028}b", "a\u{FEFF}", "emoji 🎉", "a\u{7F}", "a\rb", "line\nbreak", "two\n\nbreaks", "\nlead",
        "trail\n", "space \nbreak", "break\n space", "ends with space ", "a\n#b", "a\n- b", "a\n---", "- \n",
        "quoted 'x'\nnext", "a very long line that goes on and on past eighty columns of text, and then some more words here",
    ];

    #[test]
    fn strings_as_values_keys_and_items_are_what_serde_yaml_ng_writes() {
        let mut written = 0;
        for s in TRICKY {
            let as_value = BTreeMap::from([("key", *s)]);
            let nested = json!({ "a": { "b": { "c": s, "d": [s, { "e": s }] } } });
            let as_key = BTreeMap::from([(*s, 1)]);
            for ok in [same_or_none(&as_value), same_or_none(&nested), same_or_none(&as_key), same_or_none(&vec![*s])] {
                written += usize::from(ok);
            }
        }
        assert!(written > TRICKY.len() * 3, "the lean writer wrote only {written} of them");
    }

    #[test]
    fn generated_strings_are_what_serde_yaml_ng_writes() {
        // A fixed pseudo-random walk over characters that matter to YAML.
        let alphabet: Vec<char> = " \n#:-?,[]{}'\"!&*|>%@`~.0123456789+eExobaNnulTtrfsuüLRUEAF_/".chars().collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut written = 0;
        for _ in 0..20_000 {
            let len = (next() % 7) as usize;
            let s: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            written += usize::from(same_or_none(&json!({ "k": s, "m": { "s": [s] } })));
            written += usize::from(same_or_none(&BTreeMap::from([(s.clone(), s.clone())])));
        }
        assert!(written > 20_000, "the lean writer wrote only {written} of 40,000");
    }

    #[test]
    fn the_plain_word_shortcut_agrees_with_the_full_analysis() {
        let alphabet: Vec<char> = "aZnulLtrueTRUEfalsFALSEx0129_-./ :#'".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut shortcut = 0;
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 6) as usize;
            let s: String =
                (0..len).map(|i| alphabet[((state >> (8 * i)) % alphabet.len() as u64) as usize]).collect();
            if plain_word(&s) {
                shortcut += 1;
                assert_eq!(analyzed(&s), Some(Cow::Borrowed(s.as_str())), "{s:?}");
            }
        }
        assert!(shortcut > 5_000, "only {shortcut} strings took the shortcut");
        for keyword in ["null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"] {
            assert!(!plain_word(keyword), "{keyword}");
        }
    }

    #[test]
    fn shapes_and_numbers_are_what_serde_yaml_ng_writes() {
        for value in [
            json!({}),
            json!([]),
            json!("top"),
            json!(null),
            json!({ "empty_map": {}, "empty_seq": [], "n": null, "t": true, "f": false }),
            json!({ "i": -5, "u": 18_446_744_073_709_551_615u64, "f": 1.5, "g": 1e100, "h": 0.1, "z": 0.0, "w": -2.0 }),
            json!([[1, 2], [[3]], [{ "a": 1, "b": [] }], {}, []]),
            json!({ "s": [{ "a": { "b": [1, { "c": "line\nnext" }] } }], "x": [{ "description": "one\n\ntwo" }] }),
            json!([{ "a": 1 }, { "b": { "c": 2 } }, [{ "d": [] }]]),
        ] {
            same_or_none(&value);
        }
        assert!(same_or_none(&json!({ "a": [{ "b": 1, "c": [2, 3] }], "d": { "e": "f\ng" } })));
    }

    #[test]
    fn the_golden_documents_are_written_by_the_lean_writer() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("tests/golden") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
                assert_eq!(to_string(&value).as_deref(), Some(text.as_str()), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 5, "only {seen} golden documents in {}", dir.display());
    }

    /// Replayed through the tree, a document is the same JSON and the same fallback YAML
    /// as serialized directly, on every golden document and on values the lean writer
    /// declines (double-quoted strings, literals in sequences) or that hold every kind
    /// of number.
    #[test]
    fn replaying_the_tree_is_serializing_the_value() {
        use super::Serialized;
        use crate::model::Document;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden");
        let mut documents = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("tests/golden") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let document = Document::from_yaml(&std::fs::read_to_string(&path).unwrap()).unwrap();
                assert_eq!(document.to_json(), serde_json::to_string_pretty(&document).unwrap() + "\n", "{}", path.display());
                let replayed = serde_yaml_ng::to_string(&Serialized::new(&document).unwrap()).unwrap();
                assert_eq!(replayed, serde_yaml_ng::to_string(&document).unwrap(), "{}", path.display());
                documents.push(document);
            }
        }
        assert!(documents.len() >= 5, "only {} golden documents in {}", documents.len(), dir.display());
        let mut odd = documents.swap_remove(0);
        odd.extensions.insert(
            "x-odd".into(),
            json!({
                "quoted": ["tab\there", "bell\u{7}", "line\nin a list"],
                "numbers": [0, -1, u64::MAX, i64::MIN, 1.5, -0.25, 1e300, 5e-324, 100.0],
                "empty": [{}, []],
                "null": null,
                "yes": true
            }),
        );
        let serialized = Serialized::new(&odd).unwrap();
        assert_eq!(serialized.to_yaml(), None, "the lean writer declines a double-quoted string");
        assert_eq!(odd.to_json(), serde_json::to_string_pretty(&odd).unwrap() + "\n");
        assert_eq!(odd.to_yaml(), serde_yaml_ng::to_string(&odd).unwrap());
        assert_eq!(Document::from_yaml(&odd.to_yaml()).unwrap(), odd);
    }
}
