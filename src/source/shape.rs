//! What a manifest-level document is, read in one pass that keeps nothing of it: whether it has
//! `manifests` (an index) or `layers` (a manifest, and how many), and its `schemaVersion`. A
//! manifest listing more than [`crate::model::MAX_LAYERS`] layers is refused from this alone,
//! before a structure per layer is built.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// The top-level facts of a JSON document, or `NotAnObject` when its top level is not an object.
#[derive(Debug, Default, PartialEq)]
pub enum Shape {
    /// Valid JSON whose top level is not an object.
    #[default]
    NotAnObject,
    /// A JSON object.
    Object {
        /// `schemaVersion`, when it is an unsigned integer.
        schema_version: Option<u64>,
        /// Whether it has a `manifests` key (of any value).
        manifests: bool,
        /// The length of `layers` when that key is there (0 when it is not an array).
        layers: Option<usize>,
    },
}

impl Shape {
    /// Reads the shape of `bytes`, or the JSON syntax error.
    pub fn of(bytes: &[u8]) -> serde_json::Result<Shape> {
        serde_json::from_slice(bytes)
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Shape, D::Error> {
        deserializer.deserialize_any(TopLevel)
    }
}

/// The `visit_*` methods of every JSON scalar, each returning `$value`.
macro_rules! scalars {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let (mut schema_version, mut manifests, mut layers) = (None, false, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                // The last of duplicate keys wins, as in serde_json's own maps.
                "schemaVersion" => schema_version = map.next_value::<serde_json::Value>()?.as_u64(),
                "manifests" => {
                    map.next_value::<IgnoredAny>()?;
                    manifests = true;
                }
                "layers" => layers = Some(map.next_value::<Count>()?.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Shape::Object {
            schema_version,
            manifests,
            layers,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shape::NotAnObject)
    }

    scalars!(Shape::NotAnObject);
}

/// The number of elements of an array, each skipped; 0 for any other value.
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Count, D::Error> {
        deserializer.deserialize_any(Counter)
    }
}

struct Counter;

impl<'de> Visitor<'de> for Counter {
    type Value = Count;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(Count(n))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Count(0))
    }

    scalars!(Count(0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_layers_and_sees_keys() {
        let doc = br#"{"schemaVersion": 2, "layers": [{"a": 1}, {}, 3], "x": {"layers": []}}"#;
        assert_eq!(
            Shape::of(doc).unwrap(),
            Shape::Object {
                schema_version: Some(2),
                manifests: false,
                layers: Some(3)
            }
        );
        let index = br#"{"manifests": null, "schemaVersion": "1"}"#;
        assert_eq!(
            Shape::of(index).unwrap(),
            Shape::Object {
                schema_version: None,
                manifests: true,
                layers: None
            }
        );
    }

    #[test]
    fn other_values_are_not_objects_and_bad_json_is_an_error() {
        for doc in [&b"[1, {}]"[..], b"\"s\"", b"null", b"1.5", b"true"] {
            assert_eq!(Shape::of(doc).unwrap(), Shape::NotAnObject);
        }
        assert!(Shape::of(b"{\"layers\": [").is_err());
        assert!(Shape::of(b"{} x").is_err());
    }
}
