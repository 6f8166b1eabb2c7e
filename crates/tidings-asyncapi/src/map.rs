//! [`Map`]: the document model's maps of named objects (channels, operations, messages,
//! servers, ...), kept sorted by name.
//!
//! Why not a `BTreeMap`: a B-tree's code is compiled once per value type, about 11 KB
//! each (insertion alone is 4 KB), and the model has eleven such types. A document's maps
//! are small and built once, so a sorted vector does the same work with a few hundred
//! bytes of code per type; every service binary carries this code, and on Linux most of a
//! binary's code is resident. Iteration order, and so the serialized bytes, are the same
//! as a `BTreeMap`'s: ascending by key.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A map from names to `V`, ordered by name (byte order, as `BTreeMap<String, V>`).
///
/// Lookups are binary searches; an insertion shifts the entries after it, which is
/// cheap at a document's sizes and free when keys arrive in order (as a serialized
/// document's do).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Map<V> {
    /// Sorted by key, no key twice.
    entries: Vec<(String, V)>,
}

/// Iterator over a [`Map`]'s entries in key order.
pub type Iter<'a, V> = std::iter::Map<std::slice::Iter<'a, (String, V)>, fn(&'a (String, V)) -> (&'a String, &'a V)>;

/// Iterator over a [`Map`]'s entries in key order, values mutable.
pub type IterMut<'a, V> =
    std::iter::Map<std::slice::IterMut<'a, (String, V)>, fn(&'a mut (String, V)) -> (&'a String, &'a mut V)>;

/// Owning iterator over a [`Map`]'s entries in key order.
pub type IntoIter<V> = std::vec::IntoIter<(String, V)>;

impl<V> Map<V> {
    /// An empty map; allocates nothing.
    pub const fn new() -> Self {
        Map { entries: Vec::new() }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `key` is (`Ok`) or would go (`Err`).
    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value under `key`, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.position(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Puts `value` under `key`; returns the value it replaces, as `BTreeMap::insert`.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        // Keys in order (a document being read, or built from sorted input) append.
        if self.entries.last().is_none_or(|(last, _)| last.as_str() < key.as_str()) {
            self.entries.push((key, value));
            return None;
        }
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// The value under `key`, inserted with `make` if there is none.
    pub fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.position(key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key.to_owned(), make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Takes the value under `key` out of the map.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.position(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// Keeps only the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, V> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The entries in key order, values mutable.
    pub fn iter_mut(&mut self) -> IterMut<'_, V> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The values in key order, mutable.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The first entry (least key).
    pub fn first_key_value(&self) -> Option<(&String, &V)> {
        self.entries.first().map(|(k, v)| (k, v))
    }
}

impl<V> Default for Map<V> {
    fn default() -> Self {
        Map::new()
    }
}

impl<V: fmt::Debug> fmt::Debug for Map<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> std::ops::Index<&str> for Map<V> {
    type Output = V;

    /// The value under `key`; panics when there is none, as `BTreeMap`'s index does.
    fn index(&self, key: &str) -> &V {
        match self.get(key) {
            Some(value) => value,
            None => panic!("no entry `{key}` in the map"),
        }
    }
}

impl<V> FromIterator<(String, V)> for Map<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(entries: I) -> Self {
        let mut map = Map::new();
        map.extend(entries);
        map
    }
}

impl<V, const N: usize> From<[(String, V); N]> for Map<V> {
    fn from(entries: [(String, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<V> Extend<(String, V)> for Map<V> {
    fn extend<I: IntoIterator<Item = (String, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

impl<V> IntoIterator for Map<V> {
    type Item = (String, V);
    type IntoIter = IntoIter<V>;

    fn into_iter(self) -> IntoIter<V> {
        self.entries.into_iter()
    }
}

impl<'a, V> IntoIterator for &'a Map<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

impl<'a, V> IntoIterator for &'a mut Map<V> {
    type Item = (&'a String, &'a mut V);
    type IntoIter = IterMut<'a, V>;

    fn into_iter(self) -> IterMut<'a, V> {
        self.iter_mut()
    }
}

impl<V: Serialize> Serialize for Map<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, value) in &self.entries {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Map<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = Map<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Map<V>, A::Error> {
                let mut map = Map { entries: Vec::with_capacity(access.size_hint().unwrap_or(0).min(4096)) };
                // A key given twice keeps its last value, as `BTreeMap`'s deserializer does.
                while let Some((key, value)) = access.next_entry::<String, V>()? {
                    map.insert(key, value);
                }
                Ok(map)
            }
        }

        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::Map;

    /// A small deterministic generator (xorshift), so the test needs no crate.
    fn keys(seed: u64, n: usize) -> Vec<String> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Few distinct keys, so that some repeat; mixed lengths and bytes.
                let k = state % 97;
                format!("{}{}", ["a", "B", "ch", "é", "a.b", ""][(k % 6) as usize], k)
            })
            .collect()
    }

    #[test]
    fn behaves_as_a_btreemap_under_inserts_and_removes() {
        for seed in 1..40 {
            let mut map = Map::new();
            let mut reference = BTreeMap::new();
            for (i, key) in keys(seed, 300).into_iter().enumerate() {
                if i % 7 == 3 {
                    assert_eq!(map.remove(&key), reference.remove(&key), "remove {key}");
                } else {
                    assert_eq!(map.insert(key.clone(), i), reference.insert(key, i));
                }
                assert_eq!(map.len(), reference.len());
            }
            assert!(map.iter().eq(reference.iter()), "seed {seed}: order differs");
            for key in keys(seed + 1000, 50) {
                assert_eq!(map.get(&key), reference.get(&key));
                assert_eq!(map.contains_key(&key), reference.contains_key(&key));
            }
        }
    }

    #[test]
    fn serializes_and_reads_back_as_a_btreemap_does() {
        let entries: Vec<(String, u32)> = keys(7, 60).into_iter().zip(0..).collect();
        let map: Map<u32> = entries.iter().cloned().collect();
        let reference: BTreeMap<String, u32> = entries.into_iter().collect();
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, serde_json::to_string(&reference).unwrap());
        // Out of order and with a repeated key: the last value wins, as for a BTreeMap.
        let text = r#"{"b": 1, "a": 2, "c": 3, "a": 4}"#;
        let read: Map<u32> = serde_json::from_str(text).unwrap();
        let expected: BTreeMap<String, u32> = serde_json::from_str(text).unwrap();
        assert!(read.iter().eq(expected.iter()));
        assert!(serde_json::from_str::<Map<u32>>("[1]").unwrap_err().to_string().contains("expected a map"));
    }

    #[test]
    fn get_or_insert_with_keeps_the_order() {
        let mut map: Map<Vec<u8>> = Map::new();
        map.get_or_insert_with("m", Vec::new).push(1);
        map.get_or_insert_with("a", Vec::new).push(2);
        map.get_or_insert_with("m", Vec::new).push(3);
        assert_eq!(map.keys().map(String::as_str).collect::<Vec<_>>(), ["a", "m"]);
        assert_eq!(map["m"], [1, 3]);
    }
}
