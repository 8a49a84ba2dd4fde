//! The OS packages installed above the base, for the plan: `rootfs::packages` reads their
//! databases from the merged filesystem (contents from the spool) and says what each owns;
//! here that becomes the plan's [`Package`]s (ecosystem `deb`, `apk` or `rpm`) and the paths their
//! layer claims.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};

use crate::error::{Error, Result};
use crate::optimize::merged::{Kind, Merged, SpoolReader};
use crate::optimize::plan::Package;
use crate::rootfs::packages;

/// The OS packages installed above the base that own a path of `merged`, and the paths they
/// and their package managers' state claim.
pub fn os_packages(
    merged: &Merged,
    spool: &mut SpoolReader,
) -> Result<(Vec<Package>, BTreeSet<String>)> {
    let temp = spool.dir().to_path_buf();
    let owners = packages::owners(&mut MergedFs { merged, spool }, &temp)?;
    // One package of several architectures (`libc6:amd64`, `libc6:i386`) is named once.
    let used: BTreeSet<Package> = owners
        .packages
        .into_iter()
        .map(|p| Package {
            ecosystem: p.manager.ecosystem(),
            name: p.name,
            version: p.version,
        })
        .collect();
    let mut claimed: BTreeSet<String> = owners.owner.into_keys().collect();
    claimed.extend(owners.state);
    Ok((used.into_iter().collect(), claimed))
}

/// The merged filesystem as the package databases read it.
struct MergedFs<'a> {
    merged: &'a Merged,
    spool: &'a mut SpoolReader,
}

impl packages::Filesystem for MergedFs<'_> {
    fn kind(&self, path: &str) -> Option<packages::Kind<'_>> {
        let node = self.merged.nodes.get(path)?;
        Some(match (node.kind, &node.link) {
            (Kind::Symlink, Some(target)) => packages::Kind::Symlink(target),
            (Kind::File, _) => packages::Kind::File,
            _ => packages::Kind::Other,
        })
    }

    fn below(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{dir}/");
        let nodes = self.merged.nodes.range(prefix.clone()..);
        nodes
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix))
            .cloned()
            .collect()
    }

    fn read(&mut self, path: &str) -> Result<Box<dyn BufRead + '_>> {
        let node = self.merged.nodes.get(path);
        let stored = node
            .and_then(|n| n.stored)
            .ok_or_else(|| Error::invalid(format!("{path}: no content to read")))?;
        let node = &self.merged.nodes[path];
        let content = self.spool.open(stored, node.size)?;
        Ok(Box::new(BufReader::new(content)))
    }
}
