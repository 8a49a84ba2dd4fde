//! The final filesystem of a base image, as far as presets need it: which paths exist and where
//! symlinks lead. Presets ask the base questions a push never needs ("which python does it
//! have?"), so this is the one place a build reads base layers (headers only, never contents).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::analysis::dead::stack_layers;
use crate::analysis::scan::{scan_layers, ScanOptions};
use crate::error::Result;
use crate::layer::walk::{Contents, EntryKind};
use crate::progress::Progress;
use crate::source::OpenedImage;

/// Every visible path of an image's final filesystem, with symlink targets.
#[derive(Debug, Clone, Default)]
pub struct BaseFs {
    paths: BTreeMap<String, (EntryKind, Option<String>)>,
}

impl BaseFs {
    /// Reads every layer's headers (in parallel) and stacks them, whiteouts applied.
    pub fn scan(base: &OpenedImage, threads: usize, progress: Arc<dyn Progress>) -> Result<BaseFs> {
        let which: Vec<usize> = (0..base.image.layers.len()).collect();
        let opts = ScanOptions {
            contents: Contents::Skip,
            threads,
            progress,
        };
        let scans = scan_layers(&base.image, base.layers.as_ref(), &which, &opts)?;
        let entries: Vec<&[crate::layer::walk::Entry]> =
            scans.iter().map(|s| s.entries.as_slice()).collect();
        let stacked = stack_layers(&entries);
        let paths = stacked
            .visible
            .into_iter()
            .map(|(path, (layer, index))| {
                let e = &scans[layer].entries[index];
                (path, (e.kind, e.link.as_deref().map(str::to_string)))
            })
            .collect();
        Ok(BaseFs { paths })
    }

    /// A filesystem of these `(path, symlink target)` entries (files when the target is `None`),
    /// for tests of the questions below.
    #[cfg(test)]
    pub(crate) fn from_entries<'a>(entries: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> BaseFs {
        let paths = entries
            .into_iter()
            .map(|(p, link)| {
                let kind = if link.is_some() {
                    EntryKind::Symlink
                } else {
                    EntryKind::File
                };
                (p.trim_start_matches('/').to_string(), (kind, link.map(str::to_string)))
            })
            .collect();
        BaseFs { paths }
    }

    /// The path `path` (absolute or relative to the root) ends up at once every symlink on the
    /// way is followed inside the image, or `None` when it does not exist. Loops give `None`.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        let mut todo: Vec<String> = split(path).into_iter().rev().collect();
        let mut hops = 0;
        while let Some(part) = todo.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    parts.pop();
                    continue;
                }
                _ => {}
            }
            parts.push(part);
            let here = parts.join("/");
            match self.paths.get(&here) {
                None if !self.is_implicit_dir(&here) => return None,
                Some((EntryKind::Symlink, Some(target))) => {
                    hops += 1;
                    if hops > 40 {
                        return None;
                    }
                    parts.pop();
                    if target.starts_with('/') {
                        parts.clear();
                    }
                    todo.extend(split(target).into_iter().rev());
                }
                _ => {}
            }
        }
        Some(parts.join("/"))
    }

    /// A directory no layer names but some path lies below (layers may omit parent entries).
    fn is_implicit_dir(&self, path: &str) -> bool {
        let prefix = format!("{path}/");
        self.paths
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(p, _)| p.starts_with(&prefix))
    }

    /// Whether `path` exists (following symlinks).
    pub fn exists(&self, path: &str) -> bool {
        self.resolve(path).is_some()
    }

    /// The names in directory `dir` (not following symlinks in the names themselves).
    pub fn list(&self, dir: &str) -> Vec<String> {
        let Some(dir) = self.resolve(dir) else {
            return Vec::new();
        };
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.paths
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| {
                let rest = &p[prefix.len()..];
                (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
            })
            .collect()
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_merged_usr_and_relative_links() {
        let fs = BaseFs::from_entries([
            ("lib", Some("usr/lib")),
            ("usr/lib/x86_64-linux-gnu/libc.so.6", None),
            ("usr/bin/python3", Some("python3.11")),
            ("usr/bin/python3.11", None),
            ("loop", Some("/loop")),
        ]);
        assert_eq!(
            fs.resolve("/lib/x86_64-linux-gnu/libc.so.6").as_deref(),
            Some("usr/lib/x86_64-linux-gnu/libc.so.6")
        );
        assert_eq!(fs.resolve("/usr/bin/python3").as_deref(), Some("usr/bin/python3.11"));
        assert!(!fs.exists("/usr/bin/python2"));
        assert!(!fs.exists("/loop"));
        assert_eq!(fs.list("/usr/bin"), ["python3", "python3.11"]);
    }
}
