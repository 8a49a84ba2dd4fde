//! The one byte form of every JSON document strata constructs (configs, manifests, indexes), and
//! the fields a typed document does not model, kept verbatim so a rewrite loses nothing.
//!
//! Canonical here means: compact (no whitespace between tokens), object keys sorted bytewise at
//! every level, arrays in their given order, strings escaped as `serde_json` escapes them. Equal
//! documents therefore give equal bytes and so equal digests, on any machine; it is the form
//! strata has always written, so images rebuilt from the same inputs keep their digests.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The canonical bytes of `doc`.
pub fn to_canonical(doc: &impl Serialize) -> Result<Vec<u8>> {
    let mut value =
        serde_json::to_value(doc).map_err(|e| Error::invalid(format!("serializing: {e}")))?;
    value.sort_all_objects();
    serde_json::to_vec(&value).map_err(|e| Error::invalid(format!("serializing: {e}")))
}

/// A typed document plus what its type does not model (Docker's `container_config`, a config's
/// `Healthcheck`, an explicit `"Cmd": null`), so that changing one field of an image made by
/// another tool keeps everything else it wrote.
#[derive(Debug, Clone)]
pub struct Preserved<T> {
    /// The typed document; changes go here.
    pub doc: T,
    /// Keys of the source the typed form drops, by their place: top level, or inside one of the
    /// nested objects named at parse time.
    rest: Map<String, Value>,
    /// The top-level keys whose objects are struct-typed too (a config's `config`).
    nested: &'static [&'static str],
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// What `original` has that `known` (its typed round trip) does not, descending into `nested`.
fn residue(
    original: &Map<String, Value>,
    known: &Map<String, Value>,
    nested: &[&str],
) -> Map<String, Value> {
    let mut rest = Map::new();
    for (key, value) in original {
        match (known.get(key), value) {
            (None, _) => {
                rest.insert(key.clone(), value.clone());
            }
            (Some(Value::Object(k)), Value::Object(o)) if nested.contains(&key.as_str()) => {
                let inner = residue(o, k, &[]);
                if !inner.is_empty() {
                    rest.insert(key.clone(), Value::Object(inner));
                }
            }
            _ => {}
        }
    }
    rest
}

/// Adds `rest` to `known` wherever `known` has no value of its own.
fn merge(known: &mut Map<String, Value>, rest: &Map<String, Value>, nested: &[&str]) {
    for (key, value) in rest {
        match (known.get_mut(key), value) {
            (None, _) => {
                known.insert(key.clone(), value.clone());
            }
            (Some(Value::Object(k)), Value::Object(r)) if nested.contains(&key.as_str()) => {
                merge(k, r, &[])
            }
            _ => {}
        }
    }
}

impl<T: Serialize + DeserializeOwned> Preserved<T> {
    /// A document with nothing beyond its type.
    pub fn new(doc: T, nested: &'static [&'static str]) -> Preserved<T> {
        Preserved {
            doc,
            rest: Map::new(),
            nested,
        }
    }

    /// Parses `bytes` (a JSON object; `what` names it in errors), keeping the keys `T` drops, at
    /// the top level and inside the objects under `nested`.
    pub fn parse(
        bytes: &[u8],
        what: &str,
        nested: &'static [&'static str],
    ) -> Result<Preserved<T>> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| Error::invalid(format!("{what}: {e}")))?;
        Self::from_value(value, what, nested)
    }

    /// As [`Preserved::parse`], from a parsed value.
    pub fn from_value(
        value: Value,
        what: &str,
        nested: &'static [&'static str],
    ) -> Result<Preserved<T>> {
        let doc: T = serde_json::from_value(value.clone())
            .map_err(|e| Error::invalid(format!("{what}: {e}")))?;
        let known =
            object(serde_json::to_value(&doc).map_err(|e| Error::invalid(format!("{what}: {e}")))?);
        let rest = residue(&object(value), &known, nested);
        Ok(Preserved { doc, rest, nested })
    }

    /// Keeps `value` under `key` of the nested object `inside` (or the top level when `None`)
    /// unless the typed document sets that key: how a document says "explicitly null".
    pub fn keep(&mut self, inside: Option<&str>, key: &str, value: Value) {
        let Some(nested) = inside else {
            self.rest.insert(key.to_string(), value);
            return;
        };
        let entry = self
            .rest
            .entry(nested.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        if let Value::Object(m) = entry {
            m.insert(key.to_string(), value);
        }
    }

    /// The document with the kept keys, as one JSON value.
    pub fn to_value(&self) -> Result<Value> {
        let mut known = object(
            serde_json::to_value(&self.doc)
                .map_err(|e| Error::invalid(format!("serializing: {e}")))?,
        );
        merge(&mut known, &self.rest, self.nested);
        Ok(Value::Object(known))
    }

    /// The canonical bytes of the document with the kept keys.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        to_canonical(&self.to_value()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::ImageConfiguration;

    #[test]
    fn canonical_is_compact_with_keys_sorted_at_every_level() {
        let doc = serde_json::json!({"b": {"z": 1, "a": [{"y": 2, "x": 3}]}, "a": "\u{e9}"});
        assert_eq!(
            String::from_utf8(to_canonical(&doc).unwrap()).unwrap(),
            r#"{"a":"é","b":{"a":[{"x":3,"y":2}],"z":1}}"#
        );
    }

    #[test]
    fn fields_the_type_drops_are_kept_where_they_were() {
        let source = br#"{"architecture":"amd64","os":"linux","docker_version":"24",
            "config":{"Cmd":null,"Env":["A=1"],"ArgsEscaped":true},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let mut doc: Preserved<ImageConfiguration> =
            Preserved::parse(source, "config", &["config"]).unwrap();
        let value = doc.to_value().unwrap();
        assert_eq!(value["docker_version"], "24");
        assert_eq!(value["config"]["ArgsEscaped"], true);
        assert!(value["config"]["Cmd"].is_null() && value["config"].get("Cmd").is_some());
        // A typed change wins over a kept value of the same key.
        let mut runtime = doc.doc.config().clone().unwrap();
        runtime.set_cmd(Some(vec!["sh".into()]));
        doc.doc.set_config(Some(runtime));
        let value = doc.to_value().unwrap();
        assert_eq!(value["config"]["Cmd"][0], "sh");
        assert_eq!(value["config"]["ArgsEscaped"], true);
        // Parsing the output again gives the same bytes.
        let bytes = doc.to_bytes().unwrap();
        let again: Preserved<ImageConfiguration> =
            Preserved::parse(&bytes, "config", &["config"]).unwrap();
        assert_eq!(again.to_bytes().unwrap(), bytes);
    }
}
