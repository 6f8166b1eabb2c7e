//! [`Headers`]: the names and values a message carries beside its payload.
//!
//! Headers are made by the thread that publishes and dropped by the one that consumes.
//! Every allocation that crosses threads that way is a trip through the allocator's
//! locks (glibc's malloc returns a freed block to the arena of the thread that
//! allocated it, under that arena's lock), and on the in-memory broker two such
//! allocations a message (a shared header list and one value) cost a third of the
//! throughput. So a message's headers live inline: up to four entries in the message
//! itself, each name and value either a static string, a short text copied inline
//! (a correlation id, a timestamp, a content type), or a shared one.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use smallvec::SmallVec;

/// Longest text kept inline: a hyphenated UUID (36 bytes, the correlation ids tidings
/// makes) fits, with the whole value at 40 bytes.
const INLINE: usize = 38;

/// A header name or value.
#[derive(Clone)]
enum Text {
    Static(&'static str),
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<str>),
}

impl Text {
    fn new(s: &str) -> Text {
        if s.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Text::Inline { len: s.len() as u8, bytes }
        } else {
            Text::Shared(Arc::from(s))
        }
    }

    fn from_cow(s: Cow<'static, str>) -> Text {
        match s {
            Cow::Borrowed(s) => Text::Static(s),
            Cow::Owned(s) => Text::new(&s),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Text::Static(s) => s,
            // SAFETY: `bytes[..len]` is a copy of a `&str` (`Text::new`), cut nowhere else.
            Text::Inline { len, bytes } => unsafe { std::str::from_utf8_unchecked(&bytes[..usize::from(*len)]) },
            Text::Shared(s) => s,
        }
    }
}

/// Message headers. Values are text: every broker we target carries text headers, and
/// binary values are rare enough to base64 by hand.
///
/// Kept sorted by name, inline in the message for up to four headers (a message usually
/// carries three or four); names and values up to 38 bytes are copied inline, static ones
/// ([`insert_static`](Self::insert_static), and those tidings sets itself: `content-type`,
/// `x-tidings-message`...) are kept as the static strings they are, longer ones are
/// shared. So the headers of a typical message allocate nothing, and a clone (a message
/// goes to every consumer group; its acker keeps one) copies them without allocating.
#[derive(Clone, Default)]
pub struct Headers(SmallVec<[(Text, Text); 4]>);

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }
    fn set(&mut self, name: Text, value: Text) {
        match self.find(name.as_str()) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (name, value)),
        }
    }
    /// A header's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.find(name).ok().map(|i| self.0[i].1.as_str())
    }
    /// Sets a header, replacing an old value.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        self.set(Text::new(name.as_ref()), Text::new(value.as_ref()));
    }
    /// Sets a header whose name is a static string (and the value maybe too): the name is
    /// kept as it is, not copied.
    pub fn insert_static(&mut self, name: &'static str, value: impl Into<Cow<'static, str>>) {
        self.set(Text::Static(name), Text::from_cow(value.into()));
    }
    /// Sets a header of a static name to a copy of `value` (inline when short): a borrowed
    /// value without a `String` of its own first.
    pub(crate) fn insert_static_copy(&mut self, name: &'static str, value: &str) {
        self.set(Text::Static(name), Text::new(value));
    }
    /// Removes a header.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.find(name).ok()?;
        Some(self.0.remove(i).1.as_str().to_owned())
    }
    /// All headers, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Removes every header, keeping the space: for a broker that reuses a delivered
    /// message's allocation for the next one.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As the derived Debug of a map: `Headers({"name": "value"})`.
        f.debug_tuple("Headers").field(&DebugMap(self)).finish()
    }
}

struct DebugMap<'a>(&'a Headers);

impl fmt::Debug for DebugMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (k, v) in iter {
            headers.insert(k, v);
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::{Headers, Text, INLINE};

    #[test]
    fn headers_are_sorted_replaceable_and_compare_by_content() {
        let mut a = Headers::new();
        assert!(a.is_empty());
        assert_eq!(a, Headers::default());
        a.insert("correlation-id", "c-1");
        a.insert_static("content-type", "application/json");
        let mut b = a.clone();
        b.insert("correlation-id", String::from("c-2"));
        assert_eq!(a.get("correlation-id"), Some("c-1"), "a clone's change is its own");
        assert_eq!(b.get("correlation-id"), Some("c-2"));
        assert_eq!(b.remove("content-type").as_deref(), Some("application/json"));
        assert_eq!(a.get("content-type"), Some("application/json"));
        assert_eq!(b.remove("absent"), None);
        assert_ne!(a, b);
        let c: Headers = [("content-type", "application/json"), ("correlation-id", "c-1")].into_iter().collect();
        assert_eq!(a, c);
        assert_eq!(format!("{a:?}"), r#"Headers({"content-type": "application/json", "correlation-id": "c-1"})"#);
        assert_eq!(a.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["content-type", "correlation-id"]);
    }

    #[test]
    fn more_headers_than_fit_inline_stay_sorted_and_replaceable() {
        let mut h = Headers::new();
        for (i, name) in ["e", "c", "a", "f", "b", "d", "g"].into_iter().enumerate() {
            h.insert(name, i.to_string());
        }
        h.insert_static("c", "replaced");
        assert_eq!(h.len(), 7);
        assert_eq!(h.iter().map(|(k, _)| k).collect::<String>(), "abcdefg");
        assert_eq!(h.get("c"), Some("replaced"));
        assert_eq!(h.get("g"), Some("6"));
        assert_eq!(h.get("h"), None);
        assert_eq!(h.remove("a").as_deref(), Some("2"));
        assert_eq!(h.iter().map(|(k, _)| k).collect::<String>(), "bcdefg");
    }

    #[test]
    fn text_of_every_length_and_kind_reads_back_as_written() {
        // Around the inline limit, multi-byte characters included.
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 200] {
            for unit in ["x", "é", "€", "😀"] {
                let s: String = unit.repeat(len).chars().take(len).collect();
                let t = Text::new(&s);
                assert_eq!(t.as_str(), s);
                assert_eq!(matches!(t, Text::Inline { .. }), s.len() <= INLINE, "{} bytes", s.len());
                assert_eq!(t.clone().as_str(), s);
            }
        }
        assert_eq!(Text::from_cow("static".into()).as_str(), "static");
        assert!(matches!(Text::from_cow("static".into()), Text::Static(_)));
        let uuid = "0b9c5b5e-7f0e-4c7e-9d59-2d4b1f3c8a11";
        assert!(matches!(Text::new(uuid), Text::Inline { .. }), "a correlation id is inline");
        assert_eq!(std::mem::size_of::<Text>(), 40);
    }
}
