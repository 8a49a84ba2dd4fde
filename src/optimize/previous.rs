//! `--previous`: an earlier optimized image whose plan and blobs are reused, so a new version
//! moves as little as it can. Every image `strata optimize` writes records its plan in the
//! manifest annotation `dev.strata.optimize.plan` (compact JSON):
//!
//! ```json
//! {"version":1,"base_layers":1,"base":"sha256:…","layers":[
//!   {"role":"dependencies","holds":"python deps: numpy 2.1.3","packages":[["python","numpy"]],"key":"sha256:…"},
//!   {"role":"app","holds":"app","packages":[],"key":"sha256:…"}]}
//! ```
//!
//! - `version`: this format's (1); another is not read.
//! - `base_layers`: how many layers below the new ones were kept byte for byte; `base`: the
//!   SHA-256 of their diff_ids, one `sha256:…` a line.
//! - `mtime` (absent when mtimes were kept): the mtime the new layers' entries were normalized
//!   to; reused, the plan normalizes to it again, so unchanged layers stay identical when
//!   `SOURCE_DATE_EPOCH` moves (a commit's time, say).
//! - `layers`: the new layers bottom first (layer `base_layers + i` of the manifest): role,
//!   what it holds (versions included, for people), its packages as (ecosystem, name) — no
//!   version, so a bumped package keeps its layer — and its content key
//!   ([`crate::optimize::relay::content_key`]).
//!
//! Reused, the plan keeps every package it placed in its layer (same order); new packages get
//! one new layer just below the app layer when `--max-layers` leaves room, else go into the last
//! dependency layer; packages gone leave their layer, which disappears when left empty. A group
//! whose key is the previous layer's (same role) is that layer's blob, read back for the proof.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::layer::digest::Digest;
use crate::mutate::annotation::OPTIMIZE_PLAN;
use crate::mutate::image::{descriptor, ManifestLayer};
use crate::optimize::merged::{Merged, SpoolReader};
use crate::optimize::plan::{claim, finish, place, Group, LayerRole, OS_UNIT};
use crate::rootfs::packages::is_os_ecosystem;
use crate::sink::copy::{layer_blobs, Blob};
use crate::source::OpenedImage;

/// The version of the recorded plan's format.
pub const VERSION: u32 = 1;

/// The plan an optimized image records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// The format's version ([`VERSION`]).
    pub version: u32,
    /// Layers kept below the new ones.
    pub base_layers: usize,
    /// [`base_digest`] of their diff_ids.
    pub base: Digest,
    /// The new layers, bottom first.
    pub layers: Vec<RecordedLayer>,
    /// The mtime every entry of the new layers was normalized to (absent: mtimes kept). A later
    /// optimize over this plan normalizes to it too, so a layer's entries (and the `.pyc`
    /// headers naming their sources' mtimes) come out the same whatever `SOURCE_DATE_EPOCH` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<u64>,
}

/// One new layer of a recorded plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedLayer {
    /// What it is for.
    pub role: LayerRole,
    /// What it holds, for people.
    pub holds: String,
    /// Its packages as (ecosystem, name).
    pub packages: Vec<(String, String)>,
    /// Its content key.
    pub key: Digest,
}

impl Recorded {
    /// The plan of `groups` (with their content `keys`, entries normalized to `mtime`) above
    /// the base layers `base`.
    pub fn of(base: &[Digest], groups: &[Group], keys: &[Digest], mtime: Option<u64>) -> Recorded {
        Recorded {
            version: VERSION,
            mtime,
            base_layers: base.len(),
            base: base_digest(base),
            layers: groups
                .iter()
                .zip(keys)
                .map(|(g, key)| RecordedLayer {
                    role: g.role,
                    holds: g.describe(),
                    packages: g
                        .packages
                        .iter()
                        .map(|p| (p.ecosystem.to_string(), p.name.clone()))
                        .collect(),
                    key: key.clone(),
                })
                .collect(),
        }
    }

    /// Its annotation value.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a plan serializes")
    }

    /// Reads an annotation value; the reason in words when it is not a plan of this version.
    pub fn parse(json: &str) -> std::result::Result<Recorded, String> {
        #[derive(Deserialize)]
        struct Version {
            version: Option<u32>,
        }
        let v: Version = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if v.version != Some(VERSION) {
            return Err(match v.version {
                Some(other) => format!("format version {other}, not {VERSION}"),
                None => "an older format, without a version".to_string(),
            });
        }
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    /// Whether `diff_ids` start with the base this plan was made over.
    pub fn has_base(&self, diff_ids: &[Digest]) -> bool {
        diff_ids.len() >= self.base_layers
            && base_digest(&diff_ids[..self.base_layers]) == self.base
    }
}

/// The SHA-256 of `diff_ids`, one a line: what names a base in a recorded plan.
pub fn base_digest(diff_ids: &[Digest]) -> Digest {
    let listing: String = diff_ids.iter().map(|d| format!("{d}\n")).collect();
    Digest::sha256_of(listing.as_bytes())
}

/// The plan `image` records, checked against its own layers; the reason it has none usable.
pub fn recorded(image: &OpenedImage) -> std::result::Result<Recorded, String> {
    let json = image.image.annotations.get(OPTIMIZE_PLAN).ok_or_else(|| {
        format!("not an image strata optimize wrote (no {OPTIMIZE_PLAN} annotation)")
    })?;
    let plan =
        Recorded::parse(json).map_err(|e| format!("its optimize plan is unreadable ({e})"))?;
    let diff_ids = &image.image.config.diff_ids;
    if diff_ids.len() != plan.base_layers + plan.layers.len() || !plan.has_base(diff_ids) {
        return Err("its optimize plan does not match its layers".to_string());
    }
    Ok(plan)
}

/// An earlier image deployed where the new one goes: its layers (what the deploy need not
/// ship) and, when usable, its plan.
pub struct Previous<'a> {
    /// The image, as named.
    pub image: &'a OpenedImage,
    /// Its layers' digests and sizes.
    pub blobs: Vec<(Digest, u64)>,
    /// Its plan, when it is one over the base kept now.
    pub plan: Option<Recorded>,
}

impl<'a> Previous<'a> {
    /// `image` as the previous image of one whose kept base layers are `base` (diff_ids), with
    /// `plan` as [`recorded`] read it; the one-line warning when the plan is not used.
    pub fn new(
        image: &'a OpenedImage,
        plan: std::result::Result<Recorded, String>,
        base: &[Digest],
    ) -> Result<(Previous<'a>, Option<String>)> {
        let plan = plan.and_then(|p| {
            if p.base_layers == base.len() && p.base == base_digest(base) {
                Ok(p)
            } else {
                Err(format!(
                    "it was optimized over other base layers than the {} kept now",
                    base.len()
                ))
            }
        });
        let warning = plan.as_ref().err().map(|why| {
            format!(
                "--previous {}: {why}: its plan is ignored, the layers are planned from scratch",
                image.image.reference
            )
        });
        let previous = Previous {
            image,
            blobs: image.layer_blobs()?,
            plan: plan.ok(),
        };
        Ok((previous, warning))
    }

    /// The index in the image of a layer of the plan with `role` and `key` not in `used` yet
    /// (then added to it).
    pub fn find(&self, role: LayerRole, key: &Digest, used: &mut Vec<usize>) -> Option<usize> {
        let plan = self.plan.as_ref()?;
        let i = plan.layers.iter().enumerate().position(|(i, l)| {
            l.role == role && &l.key == key && !used.contains(&(plan.base_layers + i))
        })?;
        used.push(plan.base_layers + i);
        Some(plan.base_layers + i)
    }

    /// Layer `index` of the image, for a manifest.
    pub fn manifest_layer(&self, index: usize) -> Result<ManifestLayer> {
        let (digest, size) = &self.blobs[index];
        Ok(ManifestLayer {
            descriptor: descriptor(&self.image.image.layers[index].media_type, digest, *size)?,
            diff_id: self.image.image.layers[index].diff_id.clone(),
        })
    }

    /// Layer `index` of the image as a blob for the sink (mounted from its repository when the
    /// sink is in the same registry).
    pub fn blob(&self, index: usize) -> Blob<'a> {
        let digests: Vec<Digest> = self.blobs[..=index]
            .iter()
            .map(|(d, _)| d.clone())
            .collect();
        let mut blob = layer_blobs(self.image, &digests, index)
            .pop()
            .expect("one layer from index on");
        blob.size = self.blobs[index].1;
        blob
    }

    /// `blob` from the image instead, when it has a layer of that digest (a base layer the
    /// registry can mount from the previous image's repository).
    pub fn lend<'b>(&self, blob: Blob<'b>) -> Blob<'b>
    where
        'a: 'b,
    {
        match self.blobs.iter().position(|(d, _)| *d == blob.digest) {
            Some(index) => self.blob(index),
            None => blob,
        }
    }

    /// Bytes of `layers` (digest and size) the image lacks: what a deploy over it ships.
    pub fn shipped(&self, layers: &[(Digest, u64)]) -> u64 {
        layers
            .iter()
            .filter(|(d, _)| !self.blobs.iter().any(|(have, _)| have == d))
            .map(|(_, size)| size)
            .sum()
    }
}

/// The dependency layer (index among the plan's) of each of `current` packages under the
/// previous plan's dependency layers `previous` (their packages, bottom first), with at most
/// `max_layers` layers: `None` for the app layer (no room for a dependency layer).
pub fn placement(
    previous: &[Vec<(String, String)>],
    current: &[(&str, &str)],
    max_layers: usize,
) -> Vec<Option<usize>> {
    let slots = max_layers.saturating_sub(1);
    if slots == 0 {
        return vec![None; current.len()];
    }
    let kept: Vec<Option<usize>> = current
        .iter()
        .map(|(eco, name)| {
            previous
                .iter()
                .position(|l| l.iter().any(|(e, n)| e == eco && n == name))
                .map(|j| j.min(slots - 1))
        })
        .collect();
    let mut used: Vec<usize> = kept.iter().flatten().copied().collect();
    used.sort();
    used.dedup();
    // One new layer just below the app layer while there is room, else the last one.
    let new = match used.last() {
        None => 0,
        Some(&last) if used.len() < slots => last + 1,
        Some(&last) => last,
    };
    kept.into_iter().map(|k| Some(k.unwrap_or(new))).collect()
}

/// The unit of the plan a recorded package was placed with: itself, or for an OS package the
/// one unit of them all.
fn unit_of((ecosystem, name): &(String, String)) -> (String, String) {
    if is_os_ecosystem(ecosystem) {
        (OS_UNIT.0.to_string(), OS_UNIT.1.to_string())
    } else {
        (ecosystem.clone(), name.clone())
    }
}

/// The groups of `merged` laid out as `plan` (a usable previous plan) had them, at most
/// `max_layers` layers, the app layer last.
pub fn replan(
    merged: &Merged,
    spool: &mut SpoolReader,
    plan: &Recorded,
    max_layers: usize,
) -> Result<Vec<Group>> {
    let (packages, mut app) = claim(merged, spool, max_layers)?;
    let previous: Vec<Vec<(String, String)>> = plan
        .layers
        .iter()
        .filter(|l| l.role == LayerRole::Dependencies)
        .map(|l| l.packages.iter().map(unit_of).collect())
        .collect();
    let current: Vec<(&str, &str)> = packages
        .keys()
        .map(|(eco, name)| (*eco, name.as_str()))
        .collect();
    let slots = placement(&previous, &current, max_layers);
    let mut groups = Vec::new();
    for (claimed, slot) in packages.into_values().zip(slots) {
        match slot {
            Some(index) => place(&mut groups, index, claimed),
            None => app.extend(claimed.paths),
        }
    }
    Ok(finish(merged, groups, app))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    fn pkgs(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| ("python".to_string(), n.to_string()))
            .collect()
    }

    #[test]
    fn a_plan_round_trips_through_its_annotation() {
        let plan = Recorded {
            version: VERSION,
            mtime: Some(1),
            base_layers: 2,
            base: base_digest(&[key(1), key(2)]),
            layers: vec![
                RecordedLayer {
                    role: LayerRole::Dependencies,
                    holds: "python deps: numpy 2.1.3".into(),
                    packages: pkgs(&["numpy"]),
                    key: key(3),
                },
                RecordedLayer {
                    role: LayerRole::App,
                    holds: "app".into(),
                    packages: Vec::new(),
                    key: key(4),
                },
            ],
        };
        let json = plan.to_json();
        assert!(
            json.starts_with(r#"{"version":1,"base_layers":2,"#),
            "{json}"
        );
        assert!(
            json.contains(r#""packages":[["python","numpy"]]"#),
            "{json}"
        );
        assert_eq!(Recorded::parse(&json), Ok(plan.clone()));
        assert!(plan.has_base(&[key(1), key(2), key(9)]));
        assert!(!plan.has_base(&[key(2), key(1)]));
        assert!(!plan.has_base(&[key(1)]));
    }

    #[test]
    fn other_formats_are_refused_with_a_reason() {
        let old = r#"{"base_layers":1,"layers":[{"role":"app","holds":"app"}]}"#;
        assert!(Recorded::parse(old)
            .unwrap_err()
            .contains("without a version"));
        let next = r#"{"version":2}"#;
        assert!(Recorded::parse(next).unwrap_err().contains("version 2"));
        assert!(Recorded::parse("not json").is_err());
        let broken = r#"{"version":1,"base_layers":"x"}"#;
        assert!(Recorded::parse(broken).is_err());
    }

    #[test]
    fn placed_packages_keep_their_layer_and_new_ones_go_below_the_app_layer() {
        let previous = vec![pkgs(&["numpy"]), pkgs(&["pandas"]), pkgs(&["six", "idna"])];
        let current = [
            ("python", "idna"),
            ("python", "numpy"),
            ("python", "pandas"),
            ("python", "requests"),
            ("python", "six"),
        ];
        // Room for a fourth dependency layer: the new package gets it.
        assert_eq!(
            placement(&previous, &current, 8),
            [Some(2), Some(0), Some(1), Some(3), Some(2)]
        );
        // No room: into the last dependency layer.
        assert_eq!(
            placement(&previous, &current, 4),
            [Some(2), Some(0), Some(1), Some(2), Some(2)]
        );
        // Fewer layers now: the ones past the room share the last.
        assert_eq!(
            placement(&previous, &current, 3),
            [Some(1), Some(0), Some(1), Some(1), Some(1)]
        );
        assert_eq!(placement(&previous, &current, 1), [None; 5]);
    }

    #[test]
    fn a_package_gone_frees_its_layer_for_the_count() {
        let previous = vec![pkgs(&["numpy"]), pkgs(&["pandas"]), pkgs(&["six"])];
        // pandas is gone: two layers left, so a new one fits under --max-layers 4.
        let current = [
            ("python", "numpy"),
            ("python", "requests"),
            ("python", "six"),
        ];
        assert_eq!(
            placement(&previous, &current, 4),
            [Some(0), Some(3), Some(2)]
        );
        // Nothing placed before: the new packages share one layer.
        let fresh = [("python", "a"), ("python", "b")];
        assert_eq!(placement(&[], &fresh, 4), [Some(0), Some(0)]);
        // A package of another ecosystem with the same name is another package.
        let other = [("python", "numpy"), ("node", "six")];
        assert_eq!(placement(&previous, &other, 8), [Some(0), Some(1)]);
    }
}
