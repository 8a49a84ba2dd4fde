//! What changed in the runtime config between two images: entrypoint, cmd, env, user, workdir,
//! labels, exposed ports, and the base-image annotations.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::model::Image;

/// One changed setting; `old`/`new` are `null` when the setting is absent on that side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigChange {
    /// `entrypoint`, `cmd`, `user`, `workdir`, `env.NAME`, `labels.NAME`, `exposed_ports`,
    /// `annotations.org.opencontainers.image.base.name`, ...
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

/// Lists every runtime setting that differs from `old` to `new`.
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
    let base = |a: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        a.iter()
            .filter(|(k, _)| k.starts_with("org.opencontainers.image.base."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    compare_maps(
        "annotations",
        &base(&old.annotations),
        &base(&new.annotations),
        &mut out,
    );
    out
}
