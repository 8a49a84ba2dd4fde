//! Size hot spots, reported to look at rather than to delete (no reclaims):
//! `large-recent-file` — a visible file of at least 1 MB added by one of the latest layers (the
//! layers on top of the base when it is known, else the layers created within 5 minutes of the newest,
//! diving's window; the top layer alone when every layer falls in it) — and `oversized-layer` — a
//! layer whose blob is at least 50 MB and 30 % of the image (diving's thresholds).

use crate::analysis::bloat::BloatInput;
use crate::analysis::findings::Finding;
use crate::analysis::rules;
use crate::analysis::transfer::human_transfer;
use crate::analysis::{LayerReport, Role};
use crate::timestamp::instant;
use crate::units::{human_bytes, percent};

/// A file at least this large (diving's figure) is worth a look when a recent layer adds it.
pub const LARGE_FILE: u64 = 1_000_000;
/// Layers created this close to the newest one (seconds) belong to the latest build.
const RECENT_WINDOW: i64 = 300;
/// A layer is oversized from this many compressed bytes...
pub const OVERSIZED_LAYER: u64 = 50_000_000;
/// ...when it is also at least this share of the image, in percent.
const OVERSIZED_SHARE: u64 = 30;

/// Which layers are recent: the layers on top of the base when it is known, else those created within
/// [`RECENT_WINDOW`] of the newest; the top layer alone when that would be every layer.
fn recent_layers(layers: &[LayerReport], created: &[Option<&str>]) -> Vec<bool> {
    let count = layers.len();
    let mut recent: Vec<bool> = if layers.iter().any(|l| l.role == Role::Base) {
        layers.iter().map(|l| l.role != Role::Base).collect()
    } else {
        let times: Vec<Option<i64>> = (0..count)
            .map(|i| {
                created
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(instant)
                    .map(|(seconds, _)| seconds)
            })
            .collect();
        match times.iter().flatten().max() {
            Some(&newest) => times
                .iter()
                .map(|t| t.is_some_and(|t| newest - t <= RECENT_WINDOW))
                .collect(),
            None => vec![false; count],
        }
    };
    if recent.iter().all(|&r| r) || recent.iter().all(|&r| !r) {
        recent = (0..count).map(|i| i + 1 == count).collect();
    }
    recent
}

/// The `top` largest visible files of at least [`LARGE_FILE`] bytes in recent layers.
pub fn large_recent_files(input: &BloatInput) -> Vec<Finding> {
    let recent = recent_layers(input.layers, input.created);
    let mut large: Vec<(usize, &str, u64)> = input
        .visible_files()
        .filter(|(layer, _, e)| recent[*layer] && e.size >= LARGE_FILE)
        .map(|(layer, _, e)| (layer, &*e.path, e.size))
        .collect();
    large.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(b.1)));
    large
        .into_iter()
        .take(input.top)
        .map(|(layer, path, size)| Finding {
            message: format!(
                "{} file added by layer {layer}, one of the latest layers",
                human_bytes(size)
            ),
            ..Finding::sized(&rules::LARGE_RECENT_FILE, layer, format!("/{path}"), size)
        })
        .collect()
}

/// Layers of at least [`OVERSIZED_LAYER`] compressed bytes and [`OVERSIZED_SHARE`] % of the
/// image.
pub fn oversized_layers(layers: &[LayerReport]) -> Vec<Finding> {
    let total: u64 = layers.iter().map(|l| l.compressed_bytes).sum();
    let threshold = OVERSIZED_LAYER.max(total * OVERSIZED_SHARE / 100);
    layers
        .iter()
        .filter(|l| l.compressed_bytes >= threshold)
        .map(|l| Finding {
            message: format!(
                "{} {} is {} compressed, {} of the image (threshold {})",
                l.role.layer_name(),
                l.index,
                human_transfer(l.compressed_bytes, l.compressed_bytes_source),
                percent(l.share),
                human_bytes(threshold)
            ),
            fix: Some(match l.role {
                Role::Dependencies => "split it: the largest packages in layers of their own, so an upgrade of one re-ships only its layer (`deps_layers` in the `[preset]` of strata.toml)".to_string(),
                Role::App => "split it: dependencies in a layer of their own keyed by the lockfile (`strata dockerfile` or `strata build` write it), the code in a small layer on top".to_string(),
                Role::Base => "choose a slimmer base (a -slim or distroless variant); `strata rebase IMAGE --new-base REF` swaps it without a rebuild".to_string(),
            }),
            ..Finding::sized(
                &rules::OVERSIZED_LAYER,
                l.index,
                format!("(layer {})", l.index),
                l.compressed_bytes,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::analysis::layer_for_tests as layer;

    #[test]
    fn recent_layers_follow_roles_then_timestamps_then_the_top_layer() {
        let app = [
            layer(0, Role::Base, 1),
            layer(1, Role::App, 1),
            layer(2, Role::App, 1),
        ];
        assert_eq!(recent_layers(&app, &[]), [false, true, true]);
        let unknown = [
            layer(0, Role::App, 1),
            layer(1, Role::App, 1),
            layer(2, Role::App, 1),
        ];
        let created = [
            Some("2024-01-01T00:00:00Z"),
            Some("2024-03-01T10:00:00Z"),
            Some("2024-03-01T10:04:00Z"),
        ];
        assert_eq!(recent_layers(&unknown, &created), [false, true, true]);
        let same = [Some("1970-01-01T00:00:00Z"); 3];
        assert_eq!(recent_layers(&unknown, &same), [false, false, true]);
        assert_eq!(recent_layers(&unknown, &[]), [false, false, true]);
    }

    #[test]
    fn oversized_needs_both_the_floor_and_the_share() {
        let layers = [
            layer(0, Role::Base, 60_000_000),
            layer(1, Role::App, 140_000_000),
            layer(2, Role::App, 55_000_000),
        ];
        let found: Vec<usize> = oversized_layers(&layers).iter().map(|f| f.layer).collect();
        assert_eq!(found, [1]);
        assert!(oversized_layers(&[layer(0, Role::App, OVERSIZED_LAYER - 1)]).is_empty());
        assert_eq!(
            oversized_layers(&[layer(0, Role::App, OVERSIZED_LAYER)]).len(),
            1
        );
    }
}
