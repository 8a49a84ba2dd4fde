//! [`NewImage`]: the one way strata makes an image. Start from nothing, from a base (a new OCI
//! image on its layers and config) or from an existing image (its manifest kept, for rebase);
//! append, replace or remove layers with their diff_ids and history kept aligned; change the
//! config and the annotations; [`NewImage::finish`] gives the canonical config and manifest.

use std::ops::Range;
use std::str::FromStr;

use oci_spec::image::{Descriptor, History, ImageManifest, ImageManifestBuilder, MediaType};

use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::layer::writer::WrittenLayer;
use crate::mutate::annotation::{BASE_DIGEST, BASE_NAME};
use crate::mutate::canonical::Preserved;
use crate::mutate::config::Config;
use crate::source::manifest::{layer_type_in, OCI_MANIFEST};

/// The media type of OCI image configs.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// oci-spec's digest for one of strata's.
pub fn oci_digest(digest: &Digest) -> Result<oci_spec::image::Digest> {
    oci_spec::image::Digest::from_str(&digest.to_string())
        .map_err(|e| Error::invalid(format!("digest {digest}: {e}")))
}

/// A descriptor of `size` bytes with this digest and media type.
pub fn descriptor(media_type: &str, digest: &Digest, size: u64) -> Result<Descriptor> {
    Ok(Descriptor::new(
        MediaType::from(media_type),
        size,
        oci_digest(digest)?,
    ))
}

/// One layer as an image lists it: its manifest descriptor and its diff_id in the config.
#[derive(Debug, Clone)]
pub struct ManifestLayer {
    /// The manifest descriptor (media type, digest, size, any annotations).
    pub descriptor: Descriptor,
    /// The digest of its uncompressed tar.
    pub diff_id: Digest,
}

impl ManifestLayer {
    /// A layer strata wrote (a build's, the cargo cache's).
    pub fn written(layer: &WrittenLayer) -> Result<ManifestLayer> {
        Ok(ManifestLayer {
            descriptor: descriptor(&layer.media_type, &layer.digest, layer.size)?,
            diff_id: layer.diff_id.clone(),
        })
    }
}

/// A history entry for a step that made a layer.
pub fn history_entry(created: &str, created_by: &str) -> History {
    let mut h = History::default();
    h.set_created(Some(created.to_string()));
    h.set_created_by(Some(created_by.to_string()));
    h
}

/// The documents of a constructed image, in canonical bytes, ready for a sink.
#[derive(Debug, Clone)]
pub struct Assembled {
    /// The config blob.
    pub config: Vec<u8>,
    /// The manifest.
    pub manifest: Vec<u8>,
    /// The manifest's media type (OCI, or Docker v2 schema 2 for a rebased Docker image).
    pub media_type: String,
}

/// An OCI manifest listing `layers` over `config`.
fn oci_manifest(config: Descriptor, layers: Vec<Descriptor>) -> Result<ImageManifest> {
    ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config)
        .layers(layers)
        .build()
        .map_err(|e| Error::invalid(format!("manifest: {e}")))
}

/// The canonical bytes of an OCI manifest for an existing config blob (`config_size` bytes
/// hashing to `config_digest`) and layers: for images that come without a manifest (legacy
/// `docker save` archives).
pub fn manifest_for(
    config_digest: &Digest,
    config_size: u64,
    layers: Vec<Descriptor>,
) -> Result<Vec<u8>> {
    let config = descriptor(OCI_CONFIG, config_digest, config_size)?;
    Preserved::new(oci_manifest(config, layers)?, &[]).to_bytes()
}

/// The history entries that stand for the layers `layers` (and the entries without a layer
/// before them, back to the previous layer's entry), found by counting entries that made a
/// layer. Layers past the end of the history own nothing; an empty range owns the insertion
/// point.
fn history_span(history: &[History], layers: &Range<usize>) -> Range<usize> {
    let after_layer = |n: usize| -> usize {
        // The index just past the entry of the layer `n - 1` (0 for the first layer).
        if n == 0 {
            return 0;
        }
        history
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.empty_layer().unwrap_or(false))
            .nth(n - 1)
            .map_or(history.len(), |(i, _)| i + 1)
    };
    let start = after_layer(layers.start);
    start..after_layer(layers.end).max(start)
}

/// An image under construction.
#[derive(Debug, Clone)]
pub struct NewImage {
    manifest: Preserved<ImageManifest>,
    media_type: String,
    config: Config,
}

impl NewImage {
    /// An OCI image with no layers for `os`/`architecture` (`FROM scratch`).
    pub fn scratch(os: &str, architecture: &str) -> Result<NewImage> {
        let config = Config::for_platform(os, architecture);
        NewImage::oci(config, Vec::new())
    }

    fn oci(config: Config, layers: Vec<Descriptor>) -> Result<NewImage> {
        let placeholder = descriptor(OCI_CONFIG, &Digest::sha256_of(b""), 0)?;
        Ok(NewImage {
            manifest: Preserved::new(oci_manifest(placeholder, layers)?, &[]),
            media_type: OCI_MANIFEST.to_string(),
            config,
        })
    }

    /// A new OCI image on `base` (its manifest bytes, of `media_type`, and its config bytes):
    /// the base's layers (given OCI media types) and config, none of its annotations.
    pub fn on_base(manifest: &[u8], media_type: &str, config: &[u8]) -> Result<NewImage> {
        let base = NewImage::from_existing(manifest, media_type, config)?;
        let mut image = NewImage::oci(base.config, Vec::new())?;
        let layers = base.manifest.doc.layers().clone();
        image.set_layers(layers);
        image.check_aligned("base image")?;
        Ok(image)
    }

    /// An existing image to change (its manifest bytes, of `media_type`, and its config bytes):
    /// the manifest's media type, annotations and other fields are kept.
    pub fn from_existing(manifest: &[u8], media_type: &str, config: &[u8]) -> Result<NewImage> {
        let image = NewImage {
            manifest: Preserved::parse(manifest, "image manifest", &[])?,
            media_type: media_type.to_string(),
            config: Config::parse(config, "image config")?,
        };
        image.check_aligned("image")?;
        Ok(image)
    }

    fn check_aligned(&self, what: &str) -> Result<()> {
        let (layers, diff_ids) = (self.layers().len(), self.config.diff_ids().len());
        if layers != diff_ids {
            return Err(Error::invalid(format!(
                "{what}: the manifest lists {layers} layers but the config has {diff_ids} diff_ids"
            )));
        }
        Ok(())
    }

    /// The layers as the manifest will list them, bottom first.
    pub fn layers(&self) -> &[Descriptor] {
        self.manifest.doc.layers()
    }

    /// The config, to read.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The config, to change its settings (layers change through the layer operations).
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// `descriptor` with the media type of its family matching the manifest's (registries
    /// reject Docker layer types in OCI manifests and the reverse; the bytes are the same).
    fn fit(&self, mut descriptor: Descriptor) -> Descriptor {
        let own = layer_type_in(&self.media_type, descriptor.media_type().as_ref());
        descriptor.set_media_type(MediaType::from(own.as_str()));
        descriptor
    }

    fn set_layers(&mut self, layers: Vec<Descriptor>) {
        let fitted = layers.into_iter().map(|d| self.fit(d)).collect();
        self.manifest.doc.set_layers(fitted);
    }

    /// Adds a layer on top, with the history entry of the step that made it.
    pub fn append_layer(&mut self, layer: ManifestLayer, history: History) {
        let end = self.layers().len();
        // An empty range at the end: nothing removed, and the history goes at its very end.
        let at = self.config.history().len();
        self.splice(end..end, vec![layer], at..at, vec![history]);
    }

    /// Replaces the layers `range` (and the history entries they own: each layer's own entry and
    /// the entries without a layer just before it) with `layers` and `history` (which may hold
    /// entries without a layer: mark them `empty_layer`).
    pub fn replace_layers(
        &mut self,
        range: Range<usize>,
        layers: Vec<ManifestLayer>,
        history: Vec<History>,
    ) -> Result<()> {
        if range.start > range.end || range.end > self.layers().len() {
            return Err(Error::invalid(format!(
                "layers {}..{} of an image with {} layers",
                range.start,
                range.end,
                self.layers().len()
            )));
        }
        let span = history_span(self.config.history(), &range);
        self.splice(range, layers, span, history);
        Ok(())
    }

    /// Removes the layers `range` and the history entries they own.
    pub fn remove_layers(&mut self, range: Range<usize>) -> Result<()> {
        self.replace_layers(range, Vec::new(), Vec::new())
    }

    fn splice(
        &mut self,
        range: Range<usize>,
        layers: Vec<ManifestLayer>,
        span: Range<usize>,
        history: Vec<History>,
    ) {
        let (descriptors, diff_ids): (Vec<Descriptor>, Vec<String>) = layers
            .into_iter()
            .map(|l| (self.fit(l.descriptor), l.diff_id.to_string()))
            .unzip();
        self.manifest
            .doc
            .layers_mut()
            .splice(range.clone(), descriptors);
        self.config.edit_layers(|ids, entries| {
            ids.splice(range, diff_ids);
            entries.splice(span, history);
        });
    }

    /// Sets a manifest annotation.
    pub fn set_annotation(&mut self, key: &str, value: &str) {
        self.manifest
            .doc
            .annotations_mut()
            .get_or_insert_with(Default::default)
            .insert(key.to_string(), value.to_string());
    }

    /// Removes a manifest annotation.
    pub fn remove_annotation(&mut self, key: &str) {
        if let Some(a) = self.manifest.doc.annotations_mut() {
            a.remove(key);
        }
    }

    /// Names the base image in the annotations (`org.opencontainers.image.base.name`, and
    /// `.digest` when the base has a manifest digest; an old digest is dropped otherwise).
    pub fn set_base(&mut self, name: &str, digest: Option<&Digest>) {
        self.set_annotation(BASE_NAME, name);
        match digest {
            Some(d) => self.set_annotation(BASE_DIGEST, &d.to_string()),
            None => self.remove_annotation(BASE_DIGEST),
        }
    }

    /// The canonical config and manifest (which names the config by digest and size; empty
    /// annotations are left out).
    pub fn finish(mut self) -> Result<Assembled> {
        self.check_aligned("new image")?;
        let config = self.config.to_bytes()?;
        let doc = &mut self.manifest.doc;
        let mut config_descriptor = doc.config().clone();
        config_descriptor.set_digest(oci_digest(&Digest::sha256_of(&config))?);
        config_descriptor.set_size(config.len() as u64);
        doc.set_config(config_descriptor);
        if doc.annotations().as_ref().is_some_and(|a| a.is_empty()) {
            doc.set_annotations(None);
        }
        Ok(Assembled {
            manifest: self.manifest.to_bytes()?,
            media_type: self.media_type,
            config,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::{ImageConfiguration, ImageManifest};

    fn digest(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    fn layer(n: u8) -> ManifestLayer {
        ManifestLayer {
            descriptor: descriptor(
                "application/vnd.oci.image.layer.v1.tar+gzip",
                &digest(n),
                100,
            )
            .unwrap(),
            diff_id: digest(100 + n),
        }
    }

    fn empty(created_by: &str) -> History {
        let mut h = history_entry("1970-01-01T00:00:00Z", created_by);
        h.set_empty_layer(Some(true));
        h
    }

    /// An image of layers 1..=n, with a config-only step after the first.
    fn image_of(n: u8) -> NewImage {
        let mut image = NewImage::scratch("linux", "amd64").unwrap();
        for i in 1..=n {
            image.append_layer(
                layer(i),
                history_entry("1970-01-01T00:00:00Z", &format!("L{i}")),
            );
            if i == 1 {
                image.config.edit_layers(|_, h| h.push(empty("ENV A=1")));
            }
        }
        image
    }

    fn parsed(a: &Assembled) -> (ImageManifest, ImageConfiguration) {
        (
            serde_json::from_slice(&a.manifest).unwrap(),
            serde_json::from_slice(&a.config).unwrap(),
        )
    }

    fn created_by(c: &ImageConfiguration) -> Vec<String> {
        c.history()
            .iter()
            .flatten()
            .map(|h| h.created_by().clone().unwrap_or_default())
            .collect()
    }

    fn layer_digests(m: &ImageManifest) -> Vec<String> {
        m.layers().iter().map(|d| d.digest().to_string()).collect()
    }

    #[test]
    fn appended_layers_round_trip_through_oci_spec() {
        let a = image_of(3).finish().unwrap();
        let (m, c) = parsed(&a);
        assert_eq!(a.media_type, OCI_MANIFEST);
        assert_eq!(layer_digests(&m), [1, 2, 3].map(|i| digest(i).to_string()));
        assert_eq!(
            c.rootfs().diff_ids(),
            &[101, 102, 103].map(|i| digest(i).to_string())
        );
        assert_eq!(created_by(&c), ["L1", "ENV A=1", "L2", "L3"]);
        // The manifest names the config it was finished with.
        assert_eq!(
            m.config().digest().to_string(),
            Digest::sha256_of(&a.config).to_string()
        );
        assert_eq!(m.config().size(), a.config.len() as u64);
        assert_eq!(m.config().media_type().to_string(), OCI_CONFIG);
        assert!(m.annotations().is_none(), "no annotations: no key");
    }

    #[test]
    fn replacing_a_prefix_takes_its_history_and_keeps_the_rest_aligned() {
        let mut image = image_of(3);
        // A new base of two layers with a trailing config-only step.
        let base_history = vec![
            history_entry("", "B1"),
            history_entry("", "B2"),
            empty("CMD [\"sh\"]"),
        ];
        image
            .replace_layers(0..1, vec![layer(7), layer(8)], base_history)
            .unwrap();
        let (m, c) = parsed(&image.finish().unwrap());
        assert_eq!(
            layer_digests(&m),
            [7, 8, 2, 3].map(|i| digest(i).to_string())
        );
        assert_eq!(
            c.rootfs().diff_ids(),
            &[107, 108, 102, 103].map(|i| digest(i).to_string())
        );
        // L1 went with its layer; the config-only step after it belongs to the image's part.
        assert_eq!(
            created_by(&c),
            ["B1", "B2", "CMD [\"sh\"]", "ENV A=1", "L2", "L3"]
        );
    }

    #[test]
    fn removing_layers_takes_the_empty_entries_before_them() {
        let mut image = image_of(3);
        image.remove_layers(1..2).unwrap();
        let (m, c) = parsed(&image.clone().finish().unwrap());
        assert_eq!(layer_digests(&m), [1, 3].map(|i| digest(i).to_string()));
        assert_eq!(c.rootfs().diff_ids().len(), 2);
        assert_eq!(created_by(&c), ["L1", "L3"]);
        assert!(image.remove_layers(1..5).is_err(), "past the end");
    }

    #[test]
    fn base_annotations_name_and_pin_the_base() {
        let mut image = image_of(1);
        image.set_base("docker.io/library/debian:12", Some(&digest(9)));
        let (m, _) = parsed(&image.clone().finish().unwrap());
        let a = m.annotations().clone().unwrap();
        assert_eq!(a[BASE_NAME], "docker.io/library/debian:12");
        assert_eq!(a[BASE_DIGEST], digest(9).to_string());
        // A base without a manifest digest drops the old pin.
        image.set_base("oci:./base:latest", None);
        let (m, _) = parsed(&image.finish().unwrap());
        let a = m.annotations().clone().unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[BASE_NAME], "oci:./base:latest");
    }

    #[test]
    fn same_inputs_give_the_same_bytes() {
        let a = image_of(3).finish().unwrap();
        let b = image_of(3).finish().unwrap();
        assert_eq!((&a.manifest, &a.config), (&b.manifest, &b.config));

        // The bytes strata has always written for this image (compact, keys sorted): a change
        // here changes the digest of every image built with the same inputs.
        let config = String::from_utf8(a.config.clone()).unwrap();
        let expected = concat!(
            r#"{"architecture":"amd64","config":{},"history":["#,
            r#"{"created":"1970-01-01T00:00:00Z","created_by":"L1"},"#,
            r#"{"created":"1970-01-01T00:00:00Z","created_by":"ENV A=1","empty_layer":true},"#,
            r#"{"created":"1970-01-01T00:00:00Z","created_by":"L2"},"#,
            r#"{"created":"1970-01-01T00:00:00Z","created_by":"L3"}],"os":"linux","rootfs":{"diff_ids":["#,
            r#""sha256:3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea","#,
            r#""sha256:252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111","#,
            r#""sha256:cd0aa9856147b6c5b4ff2b7dfee5da20aa38253099ef1b4a64aced233c9afe29"],"#,
            r#""type":"layers"}}"#
        );
        assert_eq!(config, expected);
    }

    #[test]
    fn a_docker_image_keeps_its_family_and_unmodelled_fields() {
        let config = br#"{"architecture":"amd64","os":"linux","container_config":{"Hostname":"x"},"config":{"Cmd":["sh"],"Healthcheck":{"Test":["NONE"]}},"rootfs":{"type":"layers","diff_ids":["sha256:6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]}}"#;
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"{}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":3,"digest":"{}"}}]}}"#,
            config.len(),
            Digest::sha256_of(config),
            digest(1)
        );
        let docker = "application/vnd.docker.distribution.manifest.v2+json";
        let mut image = NewImage::from_existing(manifest.as_bytes(), docker, config).unwrap();
        // An OCI layer put in a Docker manifest gets the Docker type.
        image.append_layer(layer(2), history_entry("", "L2"));
        let a = image.finish().unwrap();
        assert_eq!(a.media_type, docker);
        let m: serde_json::Value = serde_json::from_slice(&a.manifest).unwrap();
        assert_eq!(m["mediaType"], docker);
        assert_eq!(
            m["config"]["mediaType"],
            "application/vnd.docker.container.image.v1+json"
        );
        assert_eq!(
            m["layers"][1]["mediaType"],
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
        let c: serde_json::Value = serde_json::from_slice(&a.config).unwrap();
        assert_eq!(c["container_config"]["Hostname"], "x");
        assert_eq!(c["config"]["Healthcheck"]["Test"][0], "NONE");
        assert_eq!(c["config"]["Cmd"][0], "sh");
    }

    #[test]
    fn a_base_becomes_an_oci_image_without_its_annotations() {
        let config = Config::for_platform("linux", "arm64").to_bytes().unwrap();
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":{},"digest":"{}"}},"layers":[],"annotations":{{"a":"b"}}}}"#,
            config.len(),
            Digest::sha256_of(&config),
        );
        let docker = "application/vnd.docker.distribution.manifest.v2+json";
        let image = NewImage::on_base(manifest.as_bytes(), docker, &config).unwrap();
        let a = image.finish().unwrap();
        assert_eq!(a.media_type, OCI_MANIFEST);
        let (m, c) = parsed(&a);
        assert!(m.annotations().is_none());
        assert_eq!(m.config().media_type().to_string(), OCI_CONFIG);
        assert_eq!(c.architecture().to_string(), "arm64");
    }

    #[test]
    fn a_base_whose_layers_and_diff_ids_disagree_is_refused() {
        let config = Config::for_platform("linux", "amd64").to_bytes().unwrap();
        let manifest = manifest_for(
            &Digest::sha256_of(&config),
            config.len() as u64,
            vec![layer(1).descriptor],
        )
        .unwrap();
        let err = NewImage::on_base(&manifest, OCI_MANIFEST, &config).unwrap_err();
        assert!(
            err.to_string().contains("1 layers but the config has 0"),
            "{err}"
        );
    }
}
