//! The layers of a multi-platform index counted once: which blobs several platforms' images
//! share (stored once by the registry, uploaded once by a push of the index), and the bytes the
//! index stores against the bytes its platforms' images add up to. `strata report
//! --all-platforms` shows it after the platforms: a multi-platform build whose pure-Python and
//! code layers are shared shows them here with every platform that holds them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::roles::Role;
use crate::analysis::LayerReport;
use crate::layer::digest::Digest;
use crate::report::escape::markdown_code;
use crate::report::html::{self, escape};
use crate::report::new_table;
use crate::report::table::{align_right, whole_columns};
use crate::units::human_bytes;

/// Where a blob is: a platform's image and the layer's position in it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Placement {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The layer's index in that image (bottom = 0).
    pub index: usize,
}

/// A layer blob that more than one platform's image holds.
#[derive(Debug, Clone, Serialize)]
pub struct SharedLayer {
    /// The blob's digest.
    pub digest: Digest,
    /// Its compressed size.
    pub compressed_bytes: u64,
    /// Its role in the first image that holds it.
    pub role: Role,
    /// Every image that holds it, in the index's order.
    pub platforms: Vec<Placement>,
}

/// An index's layers counted once.
#[derive(Debug, Clone, Serialize)]
pub struct IndexLayers {
    /// Layers over every platform's image.
    pub layers: usize,
    /// Distinct blobs among them.
    pub distinct_layers: usize,
    /// The compressed bytes of every platform's layers, summed.
    pub images_bytes: u64,
    /// The compressed bytes of the distinct blobs: what the registry stores.
    pub stored_bytes: u64,
    /// The blobs in more than one platform's image, largest first.
    pub shared: Vec<SharedLayer>,
}

/// Counts the layers of `platforms` (each platform with its image's layers) once.
pub fn index_layers<'a>(
    platforms: impl IntoIterator<Item = (&'a str, &'a [LayerReport])>,
) -> IndexLayers {
    let mut blobs: BTreeMap<&Digest, SharedLayer> = BTreeMap::new();
    let (mut layers, mut images_bytes) = (0, 0);
    for (platform, image_layers) in platforms {
        for layer in image_layers {
            layers += 1;
            images_bytes += layer.compressed_bytes;
            let at = Placement {
                platform: platform.to_string(),
                index: layer.index,
            };
            blobs
                .entry(&layer.digest)
                .or_insert_with(|| SharedLayer {
                    digest: layer.digest.clone(),
                    compressed_bytes: layer.compressed_bytes,
                    role: layer.role,
                    platforms: Vec::new(),
                })
                .platforms
                .push(at);
        }
    }
    let stored_bytes = blobs.values().map(|b| b.compressed_bytes).sum();
    let distinct_layers = blobs.len();
    let mut shared: Vec<SharedLayer> = blobs
        .into_values()
        .filter(|b| {
            let mut names: Vec<&str> = b.platforms.iter().map(|p| p.platform.as_str()).collect();
            names.dedup();
            names.len() > 1
        })
        .collect();
    shared.sort_by(|a, b| (b.compressed_bytes, &a.digest).cmp(&(a.compressed_bytes, &b.digest)));
    IndexLayers {
        layers,
        distinct_layers,
        images_bytes,
        stored_bytes,
        shared,
    }
}

impl IndexLayers {
    /// The one-line summary every format starts with.
    fn summary(&self) -> String {
        format!(
            "{} layers, {} distinct: {} stored of {} in the images; {} shared by several platforms",
            self.layers,
            self.distinct_layers,
            human_bytes(self.stored_bytes),
            human_bytes(self.images_bytes),
            self.shared.len()
        )
    }

    /// Where a shared blob is, in words (`linux/amd64 #1, linux/arm64 #1`).
    fn placements(layer: &SharedLayer) -> String {
        let at: Vec<String> = layer
            .platforms
            .iter()
            .map(|p| format!("{} #{}", p.platform, p.index))
            .collect();
        at.join(", ")
    }

    /// The short digest a row names (`sha256:0123456789ab`).
    fn short(digest: &Digest) -> String {
        format!("sha256:{}", &digest.hex()[..12])
    }

    /// The table format's section.
    pub fn table(&self) -> String {
        let mut out = format!("== Layers across platforms ==\n{}\n", self.summary());
        if self.shared.is_empty() {
            return out;
        }
        let mut t = new_table(vec!["Layer", "Role", "Compressed", "In"]);
        for l in &self.shared {
            t.add_row(vec![
                Self::short(&l.digest),
                l.role.as_str().into(),
                human_bytes(l.compressed_bytes),
                Self::placements(l),
            ]);
        }
        align_right(&mut t, &[2]);
        whole_columns(&mut t, &[0, 1, 2]);
        out.push_str(&t.to_string());
        out.push('\n');
        out
    }

    /// The Markdown section.
    pub fn markdown(&self) -> String {
        let mut out = format!("## Layers across platforms\n\n{}\n", self.summary());
        if self.shared.is_empty() {
            return out;
        }
        out.push_str("\n| Layer | Role | Compressed | In |\n|---|---|---:|---|\n");
        for l in &self.shared {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                markdown_code(&Self::short(&l.digest)),
                l.role.as_str(),
                human_bytes(l.compressed_bytes),
                // Platform names come from the index: code spans keep them literal.
                markdown_code(&Self::placements(l))
            ));
        }
        out
    }

    /// The page's section body.
    pub fn html(&self) -> String {
        let rows: String = self
            .shared
            .iter()
            .map(|l| {
                format!(
                    "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                    escape(&Self::short(&l.digest)),
                    escape(l.role.as_str()),
                    escape(&human_bytes(l.compressed_bytes)),
                    escape(&Self::placements(l))
                )
            })
            .collect();
        let mut out = format!("<p>{}</p>\n", escape(&self.summary()));
        if !self.shared.is_empty() {
            out.push_str(&html::table(&["Layer", "Role", "#Compressed", "In"], &rows));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(layers: &[(&str, u64)]) -> Vec<LayerReport> {
        layers
            .iter()
            .enumerate()
            .map(|(i, (name, bytes))| {
                let mut l = crate::analysis::layer_for_tests(i, Role::App, *bytes);
                l.digest = Digest::sha256_of(name.as_bytes());
                l
            })
            .collect()
    }

    #[test]
    fn blobs_in_several_platforms_are_counted_once_and_listed_largest_first() {
        let amd = image(&[
            ("base-amd", 100),
            ("pure", 30),
            ("deps-amd", 50),
            ("app", 2),
        ]);
        let arm = image(&[("base-arm", 90), ("pure", 30), ("deps-arm", 40), ("app", 2)]);
        let l = index_layers([("linux/amd64", &amd[..]), ("linux/arm64", &arm[..])]);
        assert_eq!((l.layers, l.distinct_layers), (8, 6));
        assert_eq!((l.images_bytes, l.stored_bytes), (344, 312));
        let shared: Vec<(u64, String)> = l
            .shared
            .iter()
            .map(|s| (s.compressed_bytes, IndexLayers::placements(s)))
            .collect();
        assert_eq!(
            shared,
            [
                (30, "linux/amd64 #1, linux/arm64 #1".to_string()),
                (2, "linux/amd64 #3, linux/arm64 #3".to_string())
            ]
        );
        let table = l.table();
        assert!(table.contains("312 B stored of 344 B"), "{table}");
        assert!(l
            .markdown()
            .contains("| `linux/amd64 #1, linux/arm64 #1` |"));
        // A blob twice in one image is no sharing between platforms.
        let twice = image(&[("x", 5), ("x", 5)]);
        assert!(index_layers([("linux/amd64", &twice[..])])
            .shared
            .is_empty());
    }
}
