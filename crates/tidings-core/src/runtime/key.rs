//! Declared message keys: `#[tidings::producer(channel = "...", key = order_id)]` or
//! `key_with = path::to::fn`. The key becomes the broker's message key (the Kafka record
//! key, the `MessageGroupId` on an SQS FIFO queue); an explicit
//! [`PublishOptions::key`](crate::PublishOptions::key) still wins.

use std::borrow::Cow;

use bytes::Bytes;

/// How the key of a message is computed from the message: the attribute macro generates
/// one from `key = field` or `key_with = path::to::fn`.
pub type KeyFn<T> = fn(&T) -> Option<Bytes>;

/// A value that can be a message key: strings and bytes as they are, integers, `bool`
/// and `char` as their decimal or text form, `Option`s as no key when `None`.
///
/// A key field or the return value of a `key_with` function must implement it;
/// implement it for your own types (an id newtype, say) or use `key_with` with a
/// function returning a `String`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a message key",
    label = "not a key value",
    note = "a key is a string, bytes, an integer, bool, char, or an Option of those; for other types use `key_with = path::to::fn` returning a String, or implement `tidings::AsKey`"
)]
pub trait AsKey {
    /// The key bytes, or `None` for no key.
    fn as_key(&self) -> Option<Bytes>;
}

impl AsKey for str {
    fn as_key(&self) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(self.as_bytes()))
    }
}

impl AsKey for String {
    fn as_key(&self) -> Option<Bytes> {
        self.as_str().as_key()
    }
}

impl AsKey for Cow<'_, str> {
    fn as_key(&self) -> Option<Bytes> {
        self.as_ref().as_key()
    }
}

impl AsKey for [u8] {
    fn as_key(&self) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(self))
    }
}

impl AsKey for Vec<u8> {
    fn as_key(&self) -> Option<Bytes> {
        self.as_slice().as_key()
    }
}

impl AsKey for Bytes {
    fn as_key(&self) -> Option<Bytes> {
        Some(self.clone())
    }
}

impl<K: AsKey + ?Sized> AsKey for &K {
    fn as_key(&self) -> Option<Bytes> {
        (**self).as_key()
    }
}

impl<K: AsKey + ?Sized> AsKey for Box<K> {
    fn as_key(&self) -> Option<Bytes> {
        (**self).as_key()
    }
}

impl<K: AsKey> AsKey for Option<K> {
    fn as_key(&self) -> Option<Bytes> {
        self.as_ref().and_then(AsKey::as_key)
    }
}

macro_rules! as_key_by_display {
    ($($t:ty),*) => {$(
        impl AsKey for $t {
            fn as_key(&self) -> Option<Bytes> {
                Some(Bytes::from(self.to_string()))
            }
        }
    )*};
}

as_key_by_display!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char, uuid::Uuid);

/// The key of `value` (what the generated key functions call).
pub fn as_key<K: AsKey + ?Sized>(value: &K) -> Option<Bytes> {
    value.as_key()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_common_types() {
        assert_eq!(as_key("order-7"), Some(Bytes::from_static(b"order-7")));
        assert_eq!(as_key(&String::from("a")), Some(Bytes::from_static(b"a")));
        assert_eq!(as_key(&42u64), Some(Bytes::from_static(b"42")));
        assert_eq!(as_key(&-3i32), Some(Bytes::from_static(b"-3")));
        assert_eq!(as_key(&vec![0u8, 255]), Some(Bytes::from_static(&[0, 255])));
        assert_eq!(as_key(&None::<String>), None);
        assert_eq!(as_key(&Some("x")), Some(Bytes::from_static(b"x")));
        let id = uuid::Uuid::nil();
        assert_eq!(as_key(&id), Some(Bytes::from(id.to_string())));
    }
}
