//! Collecting a layer's entries from the project: directories are walked (sorted, symlinks kept as
//! links and never followed), globs expanded, excludes applied, and every destination checked so no
//! entry can land outside the layer's `to` directory.

use std::fs;
use std::path::{Component, Path};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::assemble::plan::LayerSpec;
use crate::error::{Error, Result};
use crate::layer::writer::{Content, FileStamp, LayerEntry};

/// The destination directory without its leading slash; `..` and relative paths are refused.
fn destination(spec: &LayerSpec) -> Result<String> {
    let to = Path::new(&spec.to);
    let bad = |why: &str| Error::usage(format!("layer {}: `to` {:?} {why}", spec.name, spec.to));
    if !to.is_absolute() {
        return Err(bad("must be an absolute path"));
    }
    let mut parts = Vec::new();
    for c in to.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => return Err(bad("must not contain ..")),
        }
    }
    Ok(parts.join("/"))
}

fn globs(patterns: &[String], layer: &str) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(
            Glob::new(p)
                .map_err(|e| Error::usage(format!("layer {layer}: invalid glob {p:?}: {e}")))?,
        );
    }
    b.build()
        .map_err(|e| Error::usage(format!("layer {layer}: {e}")))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Adds `path` (found at `source`) and, for directories, everything below it.
fn add_tree(
    source: &Path,
    dest: &str,
    rel: &str,
    exclude: &GlobSet,
    out: &mut Vec<LayerEntry>,
) -> Result<()> {
    if !rel.is_empty() && exclude.is_match(rel) {
        return Ok(());
    }
    let meta = fs::symlink_metadata(source).map_err(|e| Error::io(source.display(), e))?;
    add_found(source, &meta, dest, rel, exclude, out)
}

/// [`add_tree`] for a source already stat-ed and not excluded. Children are stat-ed through
/// their directory's handle (no path walk per file: it matters with 20 000 files).
fn add_found(
    source: &Path,
    meta: &fs::Metadata,
    dest: &str,
    rel: &str,
    exclude: &GlobSet,
    out: &mut Vec<LayerEntry>,
) -> Result<()> {
    let kind = meta.file_type();
    let mtime = {
        use std::os::unix::fs::MetadataExt;
        meta.mtime().max(0) as u64
    };
    if kind.is_symlink() {
        let target = fs::read_link(source).map_err(|e| Error::io(source.display(), e))?;
        out.push(LayerEntry {
            path: dest.to_string(),
            content: Content::Symlink(target.to_string_lossy().into_owned()),
            executable: false,
            mtime,
        });
    } else if kind.is_dir() {
        if !dest.is_empty() {
            out.push(LayerEntry {
                path: dest.to_string(),
                content: Content::Dir,
                executable: true,
                mtime,
            });
        }
        for child in sorted_children(source)? {
            let name = child.file_name().to_string_lossy().into_owned();
            let child_rel = join(rel, &name);
            if !exclude.is_match(&child_rel) {
                add_child(&child, &join(dest, &name), &child_rel, exclude, out)?;
            }
        }
    } else if kind.is_file() {
        use std::os::unix::fs::PermissionsExt;
        // Not opened here: a cache hit never reads it, and a write reports an unreadable file.
        out.push(LayerEntry {
            path: dest.to_string(),
            content: Content::File(source.to_path_buf(), FileStamp::of(meta)),
            executable: meta.permissions().mode() & 0o111 != 0,
            mtime,
        });
    } else {
        return Err(Error::usage(format!(
            "{}: only files, directories and symlinks can go into a layer",
            source.display()
        )));
    }
    Ok(())
}

/// Adds the top-level entries of the directory `source` that the layer's `include` names, with
/// everything below them.
fn add_included(
    source: &Path,
    to: &str,
    spec: &LayerSpec,
    exclude: &GlobSet,
    out: &mut Vec<LayerEntry>,
) -> Result<()> {
    let include = globs(&spec.include, &spec.name)?;
    for child in sorted_children(source)? {
        let name = child.file_name().to_string_lossy().into_owned();
        if include.is_match(&name) && !exclude.is_match(&name) {
            add_child(&child, &join(to, &name), &name, exclude, out)?;
        }
    }
    Ok(())
}

/// The entries of directory `source`, sorted bytewise by name.
fn sorted_children(source: &Path) -> Result<Vec<fs::DirEntry>> {
    let mut children: Vec<fs::DirEntry> = fs::read_dir(source)
        .map_err(|e| Error::io(source.display(), e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(source.display(), e))?;
    // Each name is fetched once, not at every comparison.
    children.sort_by_cached_key(|d| d.file_name());
    Ok(children)
}

/// Adds a directory entry (stat-ed through its directory's handle) and what is below it.
fn add_child(
    child: &fs::DirEntry,
    dest: &str,
    rel: &str,
    exclude: &GlobSet,
    out: &mut Vec<LayerEntry>,
) -> Result<()> {
    let source = child.path();
    let meta = child
        .metadata()
        .map_err(|e| Error::io(source.display(), e))?;
    add_found(&source, &meta, dest, rel, exclude, out)
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Every entry of the layer `spec`, with sources relative to `root`.
pub fn collect(spec: &LayerSpec, root: &Path) -> Result<Vec<LayerEntry>> {
    let to = destination(spec)?;
    let exclude = globs(&spec.exclude, &spec.name)?;
    let mut out = Vec::new();
    for from in &spec.from {
        if is_glob(from) {
            let set = globs(std::slice::from_ref(from), &spec.name)?;
            let mut all = Vec::new();
            add_tree(root, "", "", &GlobSet::empty(), &mut all)?;
            let mut matched = false;
            for e in all.into_iter().filter(|e| set.is_match(&e.path)) {
                matched = true;
                let name = e.path.rsplit('/').next().unwrap_or(&e.path).to_string();
                add_tree(
                    &root.join(&e.path),
                    &join(&to, &name),
                    &name,
                    &exclude,
                    &mut out,
                )?;
            }
            if !matched {
                return Err(Error::usage(format!(
                    "layer {}: {from:?} matches nothing in {}",
                    spec.name,
                    root.display()
                )));
            }
            continue;
        }
        let source = root.join(from);
        let meta = fs::symlink_metadata(&source).map_err(|_| {
            Error::usage(format!(
                "layer {}: source {} does not exist",
                spec.name,
                source.display()
            ))
        })?;
        if meta.is_dir() && !spec.include.is_empty() {
            add_included(&source, &to, spec, &exclude, &mut out)?;
        } else if meta.is_dir() {
            add_tree(&source, &to, "", &exclude, &mut out)?;
        } else {
            let name = source
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| Error::usage(format!("layer {}: bad source {from:?}", spec.name)))?;
            add_tree(&source, &join(&to, &name), &name, &exclude, &mut out)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(from: &[&str], to: &str, exclude: &[&str]) -> LayerSpec {
        LayerSpec {
            name: "t".into(),
            from: from.iter().map(|s| s.to_string()).collect(),
            to: to.into(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            include: Vec::new(),
            owner: None,
            dependencies: false,
        }
    }

    #[test]
    fn walks_sorted_keeps_symlinks_and_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("pkg/__pycache__")).unwrap();
        fs::write(src.join("b.py"), "b").unwrap();
        fs::write(src.join("a.py"), "a").unwrap();
        fs::write(src.join("pkg/__pycache__/x.pyc"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        let entries = collect(&spec(&["src"], "/app", &["**/__pycache__"]), dir.path()).unwrap();
        let paths: Vec<_> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["app", "app/a.py", "app/b.py", "app/link", "app/pkg"]
        );
        assert_eq!(entries[3].content, Content::Symlink("/etc/passwd".into()));
    }

    #[test]
    fn include_takes_only_the_named_top_level_entries() {
        let dir = tempfile::tempdir().unwrap();
        let sp = dir.path().join("sp");
        for d in ["numpy/core", "numpy-2.1.0.dist-info", "pandas"] {
            fs::create_dir_all(sp.join(d)).unwrap();
        }
        fs::write(sp.join("numpy/core/x.py"), "x").unwrap();
        fs::write(sp.join("pandas/y.py"), "y").unwrap();
        let mut s = spec(&["sp"], "/site", &[]);
        s.include = vec!["numpy".into(), "numpy-*.dist-info".into()];
        let entries = collect(&s, dir.path()).unwrap();
        let paths: Vec<_> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "site/numpy",
                "site/numpy/core",
                "site/numpy/core/x.py",
                "site/numpy-2.1.0.dist-info"
            ]
        );
    }

    #[test]
    fn refuses_escapes_and_missing_sources() {
        let dir = tempfile::tempdir().unwrap();
        assert!(collect(&spec(&["x"], "/app/../etc", &[]), dir.path()).is_err());
        assert!(collect(&spec(&["x"], "app", &[]), dir.path()).is_err());
        let e = collect(&spec(&["missing"], "/app", &[]), dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }
}
