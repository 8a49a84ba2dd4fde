//! What changed in the config and manifest between two images: every difference, each named.
//! The runtime settings by name (entrypoint, cmd, env, user, workdir, labels, exposed ports),
//! then whatever else differs in the config (history entries, creation time, diff_ids, platform,
//! other runtime fields) by its JSON path, the manifest's annotations by key, and the rest of the
//! manifest (media types) by path. A config or manifest whose bytes differ always has a change
//! here, so the config and manifest bytes `push_bytes` counts are always explained.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::Image;

/// One changed setting; `old`/`new` are `null` when the setting is absent on that side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigChange {
    /// `entrypoint`, `cmd`, `user`, `workdir`, `env.NAME`, `labels.NAME`, `exposed_ports`, then
    /// JSON paths of the config (`history[3].created_by`, `rootfs.diff_ids[2]`, `created`,
    /// `config.StopSignal`), `annotations.KEY` of the manifest, and `manifest.PATH`
    /// (`manifest.mediaType`, `manifest.layers[0].mediaType`).
    pub field: String,
    /// The old value.
    pub old: Value,
    /// The new value.
    pub new: Value,
}

fn env_map(env: &Option<Vec<String>>) -> BTreeMap<String, String> {
    env.iter()
        .flatten()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.clone(), String::new()),
        })
        .collect()
}

fn compare_maps(
    prefix: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    out: &mut Vec<ConfigChange>,
) {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (o, n) = (old.get(key), new.get(key));
        if o != n {
            out.push(ConfigChange {
                field: format!("{prefix}.{key}"),
                old: o.map_or(Value::Null, |v| Value::String(v.clone())),
                new: n.map_or(Value::Null, |v| Value::String(v.clone())),
            });
        }
    }
}

fn push_if_changed<T: Serialize + PartialEq>(
    field: &str,
    old: &T,
    new: &T,
    out: &mut Vec<ConfigChange>,
) {
    if old != new {
        out.push(ConfigChange {
            field: field.to_string(),
            old: serde_json::to_value(old).unwrap_or(Value::Null),
            new: serde_json::to_value(new).unwrap_or(Value::Null),
        });
    }
}

/// The runtime fields [`config_changes`] names itself (the rest of `config` goes by path).
const NAMED_RUNTIME: &[&str] = &[
    "Entrypoint",
    "Cmd",
    "User",
    "WorkingDir",
    "ExposedPorts",
    "Env",
    "Labels",
];

/// Lists every difference from `old`'s config and manifest to `new`'s.
pub fn config_changes(old: &Image, new: &Image) -> Vec<ConfigChange> {
    let (o, n) = (&old.config.runtime, &new.config.runtime);
    let mut out = Vec::new();
    push_if_changed("entrypoint", &o.entrypoint, &n.entrypoint, &mut out);
    push_if_changed("cmd", &o.cmd, &n.cmd, &mut out);
    push_if_changed("user", &o.user, &n.user, &mut out);
    push_if_changed("workdir", &o.working_dir, &n.working_dir, &mut out);
    let ports = |p: &Option<BTreeMap<String, Value>>| -> Vec<String> {
        p.iter().flat_map(|m| m.keys().cloned()).collect()
    };
    push_if_changed(
        "exposed_ports",
        &ports(&o.exposed_ports),
        &ports(&n.exposed_ports),
        &mut out,
    );
    compare_maps("env", &env_map(&o.env), &env_map(&n.env), &mut out);
    compare_maps(
        "labels",
        &o.labels.clone().unwrap_or_default(),
        &n.labels.clone().unwrap_or_default(),
        &mut out,
    );
    json_changes(
        "",
        &unnamed(json(&old.config_bytes)),
        &unnamed(json(&new.config_bytes)),
        &mut out,
    );
    compare_maps("annotations", &old.annotations, &new.annotations, &mut out);
    if let (Some(o), Some(n)) = (&old.raw_manifest, &new.raw_manifest) {
        manifest_changes(json(&o.bytes), json(&n.bytes), &mut out);
    }
    out
}

/// A config without the runtime fields [`config_changes`] names (the rest of its `config`
/// object stays, to be compared by path).
fn unnamed(mut config: Map<String, Value>) -> Value {
    if let Some(Value::Object(runtime)) = config.get_mut("config") {
        runtime.retain(|k, _| !NAMED_RUNTIME.contains(&k.as_str()));
        if runtime.is_empty() {
            config.remove("config");
        }
    }
    Value::Object(config)
}

/// The top-level object of a JSON document (empty when it is not one).
fn json(bytes: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The manifest's differences beyond what is reported elsewhere: its annotations (compared from
/// the model), the config's digest and size (the config's own changes say why) and the layer
/// list (added and removed layers) are left out; a layer both list under one digest is compared
/// field by field (media type, annotations).
fn manifest_changes(
    mut old: Map<String, Value>,
    mut new: Map<String, Value>,
    out: &mut Vec<ConfigChange>,
) {
    let layers = |m: &mut Map<String, Value>| match m.remove("layers") {
        Some(Value::Array(layers)) => layers,
        _ => Vec::new(),
    };
    let (old_layers, new_layers) = (layers(&mut old), layers(&mut new));
    for m in [&mut old, &mut new] {
        m.remove("annotations");
        if let Some(Value::Object(config)) = m.get_mut("config") {
            config.remove("digest");
            config.remove("size");
        }
    }
    json_changes("manifest", &Value::Object(old), &Value::Object(new), out);
    for (i, layer) in new_layers.iter().enumerate() {
        let digest = layer.get("digest");
        if let Some(before) = old_layers.iter().find(|l| l.get("digest") == digest) {
            json_changes(&format!("manifest.layers[{i}]"), before, layer, out);
        }
    }
}

/// Every difference between two JSON values, by path (`a.b[2].c`): objects key by key, arrays
/// index by index, anything else as a whole.
fn json_changes(path: &str, old: &Value, new: &Value, out: &mut Vec<ConfigChange>) {
    let key_path = |key: &str| match path {
        "" => key.to_string(),
        _ => format!("{path}.{key}"),
    };
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            for key in keys {
                let (a, b) = (o.get(key), n.get(key));
                json_changes(
                    &key_path(key),
                    a.unwrap_or(&Value::Null),
                    b.unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            for i in 0..o.len().max(n.len()) {
                let (a, b) = (o.get(i), n.get(i));
                json_changes(
                    &format!("{path}[{i}]"),
                    a.unwrap_or(&Value::Null),
                    b.unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if old != new => out.push(ConfigChange {
            field: path.to_string(),
            old: old.clone(),
            new: new.clone(),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::digest::Digest;
    use crate::model::{ImageConfig, RawManifest};

    fn image(config: &str, manifest: &str) -> Image {
        let manifest_value: Value = serde_json::from_str(manifest).unwrap();
        let annotations = manifest_value["annotations"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        Image {
            reference: "test".into(),
            manifest_digest: Some(Digest::sha256_of(manifest.as_bytes())),
            config_digest: Digest::sha256_of(config.as_bytes()),
            config_bytes: config.as_bytes().to_vec(),
            raw_manifest: Some(RawManifest {
                bytes: manifest.as_bytes().to_vec(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            }),
            annotations,
            layers: Vec::new(),
            config: ImageConfig::parse(config.as_bytes()).unwrap(),
        }
    }

    const CONFIG: &str = r#"{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["A=1"],"StopSignal":"SIGTERM"},"rootfs":{"type":"layers","diff_ids":[]},"history":[{"created_by":"strata build: layer app (src -> /app)"}]}"#;
    const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aa","size":1},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:bb","size":2}],"annotations":{"org.opencontainers.image.base.name":"debian:12"}}"#;

    fn fields(old: &Image, new: &Image) -> Vec<String> {
        config_changes(old, new)
            .into_iter()
            .map(|c| c.field)
            .collect()
    }

    #[test]
    fn identical_documents_have_no_change() {
        assert!(fields(&image(CONFIG, MANIFEST), &image(CONFIG, MANIFEST)).is_empty());
    }

    #[test]
    fn every_difference_of_config_and_manifest_is_named() {
        let old = image(CONFIG, MANIFEST);
        for (config, manifest, expected) in [
            (
                CONFIG.replace("(src -> /app)", "(/tmp/x/src -> /app)"),
                MANIFEST.to_string(),
                "history[0].created_by",
            ),
            (
                CONFIG.replace("1970", "2001"),
                MANIFEST.to_string(),
                "created",
            ),
            (
                CONFIG.replace("SIGTERM", "SIGINT"),
                MANIFEST.to_string(),
                "config.StopSignal",
            ),
            (
                CONFIG.replace(
                    r#""diff_ids":[]"#,
                    &format!(r#""diff_ids":["{}"]"#, Digest::sha256_of(b"c")),
                ),
                MANIFEST.to_string(),
                "rootfs.diff_ids[0]",
            ),
            (CONFIG.replace("A=1", "A=2"), MANIFEST.to_string(), "env.A"),
            (
                CONFIG.to_string(),
                MANIFEST.replace("debian:12", "debian:13"),
                "annotations.org.opencontainers.image.base.name",
            ),
            (
                CONFIG.to_string(),
                MANIFEST
                    .replace(
                        r#"{"schemaVersion""#,
                        r#"{"annotations":{"org.example.built-at":"/home/me"},"schemaVersion""#,
                    )
                    .replacen(
                        r#","annotations":{"org.opencontainers.image.base.name":"debian:12"}"#,
                        "",
                        1,
                    ),
                "annotations.org.example.built-at",
            ),
            (
                CONFIG.to_string(),
                MANIFEST.replace("layer.v1.tar+gzip", "layer.v1.tar+zstd"),
                "manifest.layers[0].mediaType",
            ),
        ] {
            let new = image(&config, &manifest);
            let named = fields(&old, &new);
            assert!(
                named.contains(&expected.to_string()),
                "{expected}: {named:?}"
            );
        }
    }

    #[test]
    fn the_config_digest_and_added_layers_are_not_manifest_changes() {
        let old = image(CONFIG, MANIFEST);
        let manifest = MANIFEST.replace("sha256:aa", "sha256:ab").replace(
            r#""size":2}]"#,
            r#""size":2},{"mediaType":"x","digest":"sha256:dd","size":3}]"#,
        );
        assert!(fields(&old, &image(CONFIG, &manifest)).is_empty());
    }
}
