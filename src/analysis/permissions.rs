//! Risky permissions in the final filesystem and config: setuid/setgid executables, world-writable
//! files and directories without the sticky bit, and an image that runs as root. Only what a
//! container can see counts: a mode a later layer replaced is not reported.

use crate::analysis::dead::Visible;
use crate::analysis::rules::{self, Rule};
use crate::layer::walk::{Entry, EntryKind};

const SETUID: u32 = 0o4000;
const SETGID: u32 = 0o2000;
const STICKY: u32 = 0o1000;
const WORLD_WRITABLE: u32 = 0o002;

/// One visible entry with a risky mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionIssue {
    /// `setuid`, `setgid` or `world-writable`.
    pub rule: &'static Rule,
    /// The layer that provides the entry.
    pub layer: usize,
    /// Index of the entry in that layer's entries.
    pub entry: usize,
}

/// The risky rules a visible entry breaks.
fn rules_of(e: &Entry) -> impl Iterator<Item = &'static Rule> {
    let file = e.kind == EntryKind::File;
    let dir = e.kind == EntryKind::Dir;
    [
        (file && e.mode & SETUID != 0, &rules::SETUID),
        // setgid on a directory only makes new files inherit the group: harmless.
        (file && e.mode & SETGID != 0, &rules::SETGID),
        (
            (file || dir) && e.mode & WORLD_WRITABLE != 0 && e.mode & STICKY == 0,
            &rules::WORLD_WRITABLE,
        ),
    ]
    .into_iter()
    .filter_map(|(hit, rule)| hit.then_some(rule))
}

/// Every risky mode among the visible entries (`visible` maps a path to (layer, entry index), as
/// [`crate::analysis::dead::Stacked::visible`] does), in path order.
pub fn find_permission_issues(entries: &[&[Entry]], visible: &Visible) -> Vec<PermissionIssue> {
    let mut out = Vec::new();
    for (layer, entry) in visible.places() {
        if let Some(e) = entries.get(layer).and_then(|l| l.get(entry)) {
            out.extend(rules_of(e).map(|rule| PermissionIssue { rule, layer, entry }));
        }
    }
    out
}

/// Whether the config's `User` leaves the container running as root: unset, empty, `root` or uid
/// 0, with or without a group.
pub fn runs_as_root(user: Option<&str>) -> bool {
    let user = user.unwrap_or("").trim();
    let name = user.split(':').next().unwrap_or("");
    matches!(name, "" | "root" | "0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::dead::stack_layers;

    fn with_mode(path: &str, kind: EntryKind, mode: u32) -> Entry {
        Entry {
            kind,
            mode,
            ..Entry::test_file(path, 1)
        }
    }

    #[test]
    fn reports_visible_setuid_and_world_writable_entries_only() {
        use EntryKind::*;
        let l0 = [
            with_mode("usr/bin/su", File, 0o4755),
            with_mode("tmp", Dir, 0o1777),
            with_mode("data", Dir, 0o777),
            with_mode("srv", Dir, 0o2775),
            with_mode("old", File, 0o4755),
        ];
        let l1 = [with_mode("old", File, 0o755)];
        let layers: [&[Entry]; 2] = [&l0, &l1];
        let stacked = stack_layers(&layers);
        let found: Vec<_> = find_permission_issues(&layers, &stacked.visible)
            .into_iter()
            .map(|i| (layers[i.layer][i.entry].path.as_ref(), i.rule.id))
            .collect();
        assert_eq!(
            found,
            [("data", "world-writable"), ("usr/bin/su", "setuid")]
        );
    }

    #[test]
    fn root_is_unset_empty_root_or_uid_zero() {
        for user in [None, Some(""), Some("root"), Some("0:0"), Some("root:app")] {
            assert!(runs_as_root(user), "{user:?}");
        }
        for user in [Some("app"), Some("65532"), Some("1000:0")] {
            assert!(!runs_as_root(user), "{user:?}");
        }
    }
}
