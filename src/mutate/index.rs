//! The OCI image index of a layout or an archive (`index.json`): which manifests it holds and
//! under which tags, kept on oci-spec's typed `ImageIndex` and written canonically.

use std::collections::HashMap;

use oci_spec::image::{Descriptor, ImageIndex, MediaType};

use crate::error::Result;
use crate::layer::digest::Digest;
use crate::mutate::annotation::REF_NAME;
use crate::mutate::canonical::Preserved;
use crate::mutate::image::descriptor;

/// An image index being written.
#[derive(Debug, Clone)]
pub struct Index {
    doc: Preserved<ImageIndex>,
}

impl Default for Index {
    fn default() -> Index {
        Index::new()
    }
}

/// The descriptor of a manifest (these bytes, of `media_type`) with `annotations`.
pub fn manifest_descriptor(
    media_type: &str,
    manifest: &[u8],
    annotations: &[(&str, &str)],
) -> Result<Descriptor> {
    let mut d = descriptor(
        media_type,
        &Digest::sha256_of(manifest),
        manifest.len() as u64,
    )?;
    if !annotations.is_empty() {
        let map: HashMap<String, String> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        d.set_annotations(Some(map));
    }
    Ok(d)
}

/// The descriptor of a platform image's manifest in a multi-platform index: its digest and
/// size, and the platform it runs on (what a runtime picks it by).
pub fn platform_descriptor(
    media_type: &str,
    manifest: &[u8],
    platform: &crate::source::platform::Platform,
) -> Result<Descriptor> {
    let mut d = manifest_descriptor(media_type, manifest, &[])?;
    let mut p = oci_spec::image::Platform::default();
    p.set_os(oci_spec::image::Os::from(platform.os.as_str()));
    p.set_architecture(oci_spec::image::Arch::from(platform.architecture.as_str()));
    p.set_variant(platform.variant.clone());
    d.set_platform(Some(p));
    Ok(d)
}

fn tag_of(d: &Descriptor) -> Option<&String> {
    d.annotations().as_ref().and_then(|a| a.get(REF_NAME))
}

impl Index {
    /// An empty OCI image index.
    pub fn new() -> Index {
        let mut doc = ImageIndex::default();
        doc.set_media_type(Some(MediaType::ImageIndex));
        Index {
            doc: Preserved::new(doc, &[]),
        }
    }

    /// Parses an existing `index.json` (`what` names it in errors), keeping fields oci-spec does
    /// not model.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Index> {
        Ok(Index {
            doc: Preserved::parse(bytes, what, &[])?,
        })
    }

    /// Adds `manifest` last. A tagged one replaces the entry that had its tag; an untagged one
    /// replaces every entry of the same digest.
    pub fn put(&mut self, manifest: Descriptor) {
        let tag = tag_of(&manifest).cloned();
        let mut list = self.doc.doc.manifests().clone();
        match &tag {
            Some(t) => list.retain(|d| tag_of(d) != Some(t)),
            None => list.retain(|d| d.digest() != manifest.digest()),
        }
        list.push(manifest);
        self.doc.doc.set_manifests(list);
    }

    /// The canonical bytes of the index.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.doc.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_entries_carry_os_and_architecture() {
        let arm = crate::source::platform::Platform::parse("linux/arm64").unwrap();
        let oci = "application/vnd.oci.image.manifest.v1+json";
        let mut index = Index::new();
        index.put(platform_descriptor(oci, b"arm", &arm).unwrap());
        let bytes = String::from_utf8(index.to_bytes().unwrap()).unwrap();
        assert!(
            bytes.contains(r#""platform":{"architecture":"arm64","os":"linux"}"#),
            "{bytes}"
        );
    }

    fn tags(index: &Index) -> Vec<Option<String>> {
        index
            .doc
            .doc
            .manifests()
            .iter()
            .map(|d| tag_of(d).cloned())
            .collect()
    }

    #[test]
    fn a_tag_moves_and_untagged_entries_are_replaced_by_digest() {
        let oci = "application/vnd.oci.image.manifest.v1+json";
        let mut index = Index::new();
        index.put(manifest_descriptor(oci, b"one", &[(REF_NAME, "a")]).unwrap());
        index.put(manifest_descriptor(oci, b"two", &[(REF_NAME, "b")]).unwrap());
        index.put(manifest_descriptor(oci, b"three", &[(REF_NAME, "a")]).unwrap());
        assert_eq!(tags(&index), [Some("b".into()), Some("a".into())]);
        index.put(manifest_descriptor(oci, b"two", &[]).unwrap());
        assert_eq!(tags(&index), [Some("a".into()), None]);
        let bytes = String::from_utf8(index.to_bytes().unwrap()).unwrap();
        assert!(
            bytes.starts_with(r#"{"manifests":[{"annotations":{"org.opencontainers.image.ref.name":"a"},"digest":"sha256:"#),
            "{bytes}"
        );
        assert!(
            bytes.ends_with(
                r#""mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}"#
            ),
            "{bytes}"
        );
        let again = Index::parse(bytes.as_bytes(), "index.json").unwrap();
        assert_eq!(again.to_bytes().unwrap(), bytes.as_bytes());
    }
}
