//! An image config being made: oci-spec's typed `ImageConfiguration` with the settings a build or
//! rebase changes (entrypoint, command, environment, labels, ports, platform, creation time), and
//! everything else the source config held kept as it was (see [`Preserved`]).

use std::collections::BTreeMap;

use oci_spec::image::{Arch, Config as Runtime, History, ImageConfiguration, Os, RootFs};
use serde_json::Value;

use crate::error::Result;
use crate::mutate::canonical::Preserved;

/// The struct-typed objects inside a config (whose unmodelled keys are kept too).
const NESTED: &[&str] = &["config"];

/// An image config under construction.
#[derive(Debug, Clone)]
pub struct Config {
    doc: Preserved<ImageConfiguration>,
}

impl Config {
    /// An empty config for `os`/`architecture`: no layers, no history, empty runtime settings.
    pub fn for_platform(os: &str, architecture: &str) -> Config {
        let mut doc = ImageConfiguration::default();
        doc.set_os(Os::from(os));
        doc.set_architecture(Arch::from(architecture));
        doc.set_config(Some(Runtime::default()));
        doc.set_rootfs(RootFs::default());
        doc.set_history(Some(Vec::new()));
        Config {
            doc: Preserved::new(doc, NESTED),
        }
    }

    /// Parses a config blob (`what` names it in errors), keeping the fields oci-spec does not
    /// model. A `rootfs` without its `type` gets `layers`, the only type there is.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Config> {
        let mut value: Value = serde_json::from_slice(bytes)
            .map_err(|e| crate::error::Error::invalid(format!("{what}: {e}")))?;
        if let Some(rootfs) = value.get_mut("rootfs").and_then(Value::as_object_mut) {
            rootfs
                .entry("type")
                .or_insert_with(|| Value::String("layers".into()));
        }
        let mut doc: Preserved<ImageConfiguration> = Preserved::from_value(value, what, NESTED)?;
        if doc.doc.history().is_none() {
            doc.doc.set_history(Some(Vec::new()));
        }
        Ok(Config { doc })
    }

    /// The layers' diff_ids, bottom first.
    pub fn diff_ids(&self) -> &[String] {
        self.doc.doc.rootfs().diff_ids()
    }

    /// The history, entries without a layer included.
    pub fn history(&self) -> &[History] {
        self.doc.doc.history().as_deref().unwrap_or_default()
    }

    /// Changes the diff_ids and history together, for the layer operations of
    /// [`NewImage`](crate::mutate::image::NewImage), which keep them aligned.
    pub(crate) fn edit_layers(&mut self, change: impl FnOnce(&mut Vec<String>, &mut Vec<History>)) {
        let doc = &mut self.doc.doc;
        let mut rootfs = doc.rootfs().clone();
        let mut history = doc.history().clone().unwrap_or_default();
        change(rootfs.diff_ids_mut(), &mut history);
        doc.set_rootfs(rootfs);
        doc.set_history(Some(history));
    }

    /// Sets when the image was made (RFC 3339).
    pub fn set_created(&mut self, created: &str) {
        self.doc.doc.set_created(Some(created.to_string()));
    }

    /// Takes the platform (`os`, `architecture`, `variant`, `os.version`) of `other`, dropping
    /// what `other` does not say.
    pub fn set_platform_of(&mut self, other: &Config) {
        let (from, to) = (&other.doc.doc, &mut self.doc.doc);
        to.set_os(from.os().clone());
        to.set_architecture(from.architecture().clone());
        to.set_variant(from.variant().clone());
        to.set_os_version(from.os_version().clone());
    }

    /// Makes the runtime settings present (an empty object) when the config has none, as every
    /// config strata builds has them.
    pub fn ensure_runtime(&mut self) {
        self.edit(|_| {});
    }

    fn edit(&mut self, change: impl FnOnce(&mut Runtime)) {
        let mut runtime = self.doc.doc.config().clone().unwrap_or_default();
        change(&mut runtime);
        self.doc.doc.set_config(Some(runtime));
    }

    /// Sets the entrypoint.
    pub fn set_entrypoint(&mut self, entrypoint: &[String]) {
        self.edit(|r| {
            r.set_entrypoint(Some(entrypoint.to_vec()));
        });
    }

    /// Sets the default command.
    pub fn set_cmd(&mut self, cmd: &[String]) {
        self.edit(|r| {
            r.set_cmd(Some(cmd.to_vec()));
        });
    }

    /// Resets the default command to `null`, as Docker does when a new entrypoint comes without
    /// one (the base's command was written for the base's entrypoint).
    pub fn reset_cmd(&mut self) {
        self.edit(|r| {
            r.set_cmd(None);
        });
        self.doc.keep(Some("config"), "Cmd", Value::Null);
    }

    /// Sets environment variables over the existing ones: a variable set here replaces the
    /// existing entry of that name; the new ones come after the kept ones, in name order.
    pub fn merge_env(&mut self, env: &BTreeMap<String, String>) {
        if env.is_empty() {
            return;
        }
        self.edit(|r| {
            let mut merged: Vec<String> = r
                .env()
                .iter()
                .flatten()
                .filter(|kv| !env.contains_key(kv.split('=').next().unwrap_or(kv)))
                .cloned()
                .collect();
            merged.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
            r.set_env(Some(merged));
        });
    }

    /// Sets the working directory.
    pub fn set_working_dir(&mut self, dir: &str) {
        self.edit(|r| {
            r.set_working_dir(Some(dir.to_string()));
        });
    }

    /// Sets the user the container runs as.
    pub fn set_user(&mut self, user: &str) {
        self.edit(|r| {
            r.set_user(Some(user.to_string()));
        });
    }

    /// Sets one label (replacing the existing value of that key).
    pub fn set_label(&mut self, key: &str, value: &str) {
        self.edit(|r| {
            r.labels_mut()
                .get_or_insert_with(Default::default)
                .insert(key.to_string(), value.to_string());
        });
    }

    /// Exposes a port (`8080/tcp`); exposing one twice is once.
    pub fn expose_port(&mut self, port: &str) {
        self.edit(|r| {
            let mut ports = r.exposed_ports().clone().unwrap_or_default();
            if !ports.iter().any(|p| p == port) {
                ports.push(port.to_string());
            }
            r.set_exposed_ports(Some(ports));
        });
    }

    /// The canonical bytes of the config.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.doc.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(c: &Config) -> Value {
        serde_json::from_slice(&c.to_bytes().unwrap()).unwrap()
    }

    #[test]
    fn settings_merge_over_the_base() {
        let base = br#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","LANG=C"],"Cmd":["bash"],"Labels":{"a":"1"},"ExposedPorts":{"80/tcp":{}}},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let mut c = Config::parse(base, "base").unwrap();
        c.merge_env(&BTreeMap::from([("PATH".into(), "/app/bin".into())]));
        c.set_label("b", "2");
        c.expose_port("80/tcp");
        c.expose_port("8080/tcp");
        c.set_entrypoint(&["/app/run".into()]);
        c.reset_cmd();
        let v = value(&c);
        assert_eq!(
            v["config"]["Env"],
            serde_json::json!(["LANG=C", "PATH=/app/bin"])
        );
        assert_eq!(
            v["config"]["Labels"],
            serde_json::json!({"a": "1", "b": "2"})
        );
        assert_eq!(
            v["config"]["ExposedPorts"],
            serde_json::json!({"80/tcp": {}, "8080/tcp": {}})
        );
        assert_eq!(v["config"]["Entrypoint"], serde_json::json!(["/app/run"]));
        // Docker writes a reset command as null, and so does strata (the digest depends on it).
        assert!(v["config"]["Cmd"].is_null() && v["config"].get("Cmd").is_some());
    }

    #[test]
    fn a_config_without_runtime_settings_gets_an_empty_object() {
        let mut c = Config::parse(
            br#"{"architecture":"arm64","os":"linux","rootfs":{"diff_ids":[]}}"#,
            "base",
        )
        .unwrap();
        assert!(
            value(&c).get("config").is_none(),
            "nothing added by parsing"
        );
        c.ensure_runtime();
        let v = value(&c);
        assert_eq!(v["config"], serde_json::json!({}));
        assert_eq!(v["rootfs"]["type"], "layers");
        assert_eq!(v["history"], serde_json::json!([]));
    }

    #[test]
    fn the_platform_comes_whole_from_the_other_config() {
        let mut c = Config::parse(
            br#"{"architecture":"arm","variant":"v7","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
            "image",
        )
        .unwrap();
        c.set_platform_of(&Config::for_platform("linux", "amd64"));
        let v = value(&c);
        assert_eq!(v["architecture"], "amd64");
        assert!(v.get("variant").is_none());
    }
}
