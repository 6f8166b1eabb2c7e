//! [`Map`]: the document model's maps of named objects (channels, operations, messages,
//! servers, ...), kept sorted by name.
//!
//! Why not a `BTreeMap`: a B-tree's code is compiled once per value type, about 11 KB
//! each (insertion alone is 4 KB), and the model has eleven such types. A document's maps
//! are small and built once, so a sorted vector does the same work with a few hundred
//! bytes of code per type; every service binary carries this code, and on Linux most of a
//! binary's code is resident. Iteration order, and so the serialized bytes, are the same
//! as a `BTreeMap`'s: ascending by key.

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A map from keys to values ordered by key, as a `BTreeMap<K, V>` (the model's keys are
/// names: `String`s in byte order).
///
/// Lookups are binary searches; an insertion shifts the entries after it, which is
/// cheap at a document's sizes and free when keys arrive in order (as a serialized
/// document's do).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Map<K, V> {
    /// Sorted by key, no key twice.
    entries: Vec<(K, V)>,
}

/// Iterator over a [`Map`]'s entries in key order.
pub type Iter<'a, K, V> = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

/// Iterator over a [`Map`]'s entries in key order, values mutable.
pub type IterMut<'a, K, V> = std::iter::Map<std::slice::IterMut<'a, (K, V)>, fn(&'a mut (K, V)) -> (&'a K, &'a mut V)>;

/// Owning iterator over a [`Map`]'s entries in key order.
pub type IntoIter<K, V> = std::vec::IntoIter<(K, V)>;

impl<K: Ord, V> Map<K, V> {
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
    fn position<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The value under `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value under `key`, mutable.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.position(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.position(key).is_ok()
    }

    /// Puts `value` under `key`; returns the value it replaces, as `BTreeMap::insert`.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        // Keys in order (a document being read, or built from sorted input) append.
        if self.entries.last().is_none_or(|(last, _)| *last < key) {
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
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.position(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Takes the value under `key` out of the map.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.position(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// Keeps only the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The entries in key order, values mutable.
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The keys in order, taking the map apart.
    pub fn into_keys(self) -> impl DoubleEndedIterator<Item = K> + ExactSizeIterator {
        self.entries.into_iter().map(|(k, _)| k)
    }

    /// The values in key order, taking the map apart.
    pub fn into_values(self) -> impl DoubleEndedIterator<Item = V> + ExactSizeIterator {
        self.entries.into_iter().map(|(_, v)| v)
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
    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        self.entries.first().map(|(k, v)| (k, v))
    }
}

impl<K: Ord, V> Map<K, V> {
    /// The map of `entries` in any order; of a key given twice, the last value stays (as
    /// when reading a `BTreeMap`). Sorted input (a document this crate wrote) is taken as
    /// it is; other input is sorted once, not inserted entry by entry, whose shifting
    /// would make a large unsorted map quadratic.
    fn from_unsorted(mut entries: Vec<(K, V)>) -> Self {
        if !entries.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            // Stable: equal keys keep their order, so the last of a run is the last given.
            entries.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    std::mem::swap(&mut later.1, &mut kept.1);
                }
                same
            });
        }
        Map { entries }
    }
}

impl<K, V> Default for Map<K, V> {
    fn default() -> Self {
        Map { entries: Vec::new() }
    }
}

impl<K: Ord + fmt::Debug, V: fmt::Debug> fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> std::ops::Index<&Q> for Map<K, V> {
    type Output = V;

    /// The value under `key`; panics when there is none, as `BTreeMap`'s index does.
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry for the key in the map")
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for Map<K, V> {
    /// Inserts entry by entry: the emitter collects keys in order, each then one
    /// comparison. Sorting first, as reading does, would compile a sort into every service
    /// binary for each key and value type.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut map = Map::new();
        map.extend(entries);
        map
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for Map<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K: Ord, V> Extend<(K, V)> for Map<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

impl<K, V> IntoIterator for Map<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(self) -> IntoIter<K, V> {
        self.entries.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a Map<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<'a, K, V> IntoIterator for &'a mut Map<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;

    fn into_iter(self) -> IterMut<'a, K, V> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }
}

impl<K: Serialize, V: Serialize> Serialize for Map<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, value) in &self.entries {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Map<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);

        impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for MapVisitor<K, V> {
            type Value = Map<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Map<K, V>, A::Error> {
                let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0).min(4096));
                while let Some(entry) = access.next_entry::<K, V>()? {
                    entries.push(entry);
                }
                Ok(Map::from_unsorted(entries))
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
        let map: Map<String, u32> = entries.iter().cloned().collect();
        let reference: BTreeMap<String, u32> = entries.into_iter().collect();
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, serde_json::to_string(&reference).unwrap());
        // Out of order and with a repeated key: the last value wins, as for a BTreeMap.
        let text = r#"{"b": 1, "a": 2, "c": 3, "a": 4}"#;
        let read: Map<String, u32> = serde_json::from_str(text).unwrap();
        let expected: BTreeMap<String, u32> = serde_json::from_str(text).unwrap();
        assert!(read.iter().eq(expected.iter()));
        assert!(serde_json::from_str::<Map<String, u32>>("[1]").unwrap_err().to_string().contains("expected a map"));
    }

    #[test]
    fn reads_unsorted_input_as_a_btreemap_does() {
        // Many keys out of order and repeated: sorted once, the last value of each kept.
        let keys = keys(11, 3000);
        let text = format!(
            "{{{}}}",
            keys.iter().enumerate().map(|(i, k)| format!("{k:?}: {i}")).collect::<Vec<_>>().join(", ")
        );
        let read: Map<String, usize> = serde_json::from_str(&text).unwrap();
        let expected: BTreeMap<String, usize> = serde_json::from_str(&text).unwrap();
        assert!(read.iter().eq(expected.iter()));
    }

    #[test]
    fn get_or_insert_with_keeps_the_order() {
        let mut map: Map<String, Vec<u8>> = Map::new();
        map.get_or_insert_with("m".to_owned(), Vec::new).push(1);
        map.get_or_insert_with("a".to_owned(), Vec::new).push(2);
        map.get_or_insert_with("m".to_owned(), Vec::new).push(3);
        assert_eq!(map.keys().map(String::as_str).collect::<Vec<_>>(), ["a", "m"]);
        assert_eq!(map["m"], [1, 3]);
        assert_eq!(map.get("z"), None);
    }
}
