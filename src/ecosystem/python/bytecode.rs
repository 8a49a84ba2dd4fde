//! `--compile-bytecode`: the `.py` of a lockfile install compiled to checked-hash `.pyc` by the
//! base's own interpreter (its magic number, its marshal format), so the image starts without
//! compiling and without writing to its site-packages. The interpreter runs from the base's
//! rootfs unpacked on the host: through the rootfs's own dynamic loader when the base's CPU is
//! the host's, under `qemu-ARCH-static -L ROOTFS` otherwise. Checked-hash `.pyc` carry the
//! source's hash, not its mtime, and the files are compiled one after the other in a sorted
//! walk, so two builds write the same bytes. The result is kept in the layer cache's staging
//! area under a key of (install, base layers, interpreter): a rebuild runs nothing.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use crate::error::{printable, Error, Result};
use crate::layer::digest::Digest;
use crate::preset::BaseInfo;
use crate::source::OpenedImage;
use crate::temp::{self, TempPath};

/// What to compile: top-level names of site-packages and the directory the image has them in
/// (what tracebacks show).
pub struct Group<'a> {
    /// The top-level files and directories (`requests`, `six.py`).
    pub names: Vec<&'a str>,
    /// Their site-packages in the image.
    pub image_dir: &'a str,
}

/// `install`'s `site-packages` with every `.py` of `groups` compiled by the interpreter of
/// `base`, in a directory of `staging` (the `.py` hard-linked, not copied); returns that
/// directory and the files that did not compile.
pub fn compiled(
    install: &Path,
    base: &OpenedImage,
    info: &BaseInfo,
    interpreter: &str,
    groups: &[Group],
    staging: &Path,
) -> Result<Compiled> {
    let mut keyed = format!("{}\0{interpreter}", install.display());
    for diff_id in &base.image.config.diff_ids {
        keyed.push('\0');
        keyed.push_str(&diff_id.to_string());
    }
    let key = Digest::sha256_of(keyed.as_bytes());
    let dir = staging.join(format!("python-bytecode-{}", &key.hex()[..16]));
    if dir.is_dir() {
        return Ok(Compiled::read(dir));
    }
    let (tmp, ()) = TempPath::create(temp::beside(&dir), |t| fs::create_dir_all(t))
        .map_err(|e| Error::io(dir.display(), e))?;
    let site = tmp.path().join("site-packages");
    let from = install.join("site-packages");
    link_tree(&from, &site).map_err(|e| Error::io(from.display(), e))?;
    let rootfs = tmp.path().join(".rootfs");
    unpack_rootfs(base, &rootfs)?;
    let runner = Runner::new(base, info, &rootfs, interpreter)?;
    let mut source_only = Vec::new();
    for group in groups.iter().filter(|g| !g.names.is_empty()) {
        source_only.extend(runner.compileall(&site, group)?);
    }
    fs::remove_dir_all(&rootfs).map_err(|e| Error::io(rootfs.display(), e))?;
    let listed: String = source_only.iter().map(|p| format!("{p}\n")).collect();
    let list = tmp.path().join(SOURCE_ONLY);
    fs::write(&list, listed).map_err(|e| Error::io(list.display(), e))?;
    match tmp.persist(&dir) {
        Ok(()) => {}
        // Another build compiled the same install first: same bytes, keep theirs.
        Err(_) if dir.is_dir() => {}
        Err(failed) => return Err(Error::io(dir.display(), failed.error)),
    }
    Ok(Compiled::read(dir))
}

/// Where a compiled install lists the files that did not compile (read again on a cache hit).
const SOURCE_ONLY: &str = "not-compiled.txt";

/// A compiled install: its directory (its `site-packages` is what the layers take) and the
/// files of it that did not compile, kept as source.
pub struct Compiled {
    /// The directory in the staging area.
    pub dir: PathBuf,
    /// Paths relative to site-packages (`pkg/py2_example.py`).
    pub source_only: Vec<String>,
}

impl Compiled {
    fn read(dir: PathBuf) -> Compiled {
        let source_only = fs::read_to_string(dir.join(SOURCE_ONLY))
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default();
        Compiled { dir, source_only }
    }
}

/// A copy of the tree `from` at `to` whose files are hard links (copies across filesystems).
fn link_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            link_tree(&src, &dst)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src)?, &dst)?;
        } else if fs::hard_link(&src, &dst).is_err() {
            fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Unpacks the final filesystem of `base` at `rootfs` (layers bottom-up, whiteouts applied;
/// devices and ownership skipped: the interpreter only reads it).
fn unpack_rootfs(base: &OpenedImage, rootfs: &Path) -> Result<()> {
    fs::create_dir_all(rootfs).map_err(|e| Error::io(rootfs.display(), e))?;
    for index in 0..base.image.layers.len() {
        let context = |e: Error| e.context(format!("base layer {}", index + 1));
        let mut tar = base.open_uncompressed(index).map_err(context)?;
        let failed = |e: io::Error| {
            Error::io(rootfs.display(), e).context(format!("base layer {}", index + 1))
        };
        let mut archive = tar::Archive::new(&mut tar);
        for entry in archive.entries().map_err(failed)? {
            let mut entry = entry.map_err(failed)?;
            let path = entry.path().map_err(failed)?.into_owned();
            if path.components().any(|c| matches!(c, Component::ParentDir)) {
                continue;
            }
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let parent = rootfs.join(path.parent().unwrap_or(Path::new("")));
            if name == ".wh..wh..opq" {
                if let Ok(children) = fs::read_dir(&parent) {
                    for child in children.flatten() {
                        remove(&child.path()).map_err(failed)?;
                    }
                }
            } else if let Some(hidden) = name.strip_prefix(".wh.") {
                remove(&parent.join(hidden)).map_err(failed)?;
            } else if matches!(
                entry.header().entry_type(),
                tar::EntryType::Regular
                    | tar::EntryType::Directory
                    | tar::EntryType::Symlink
                    | tar::EntryType::Link
            ) {
                let target = rootfs.join(&path);
                if !entry.header().entry_type().is_dir() {
                    remove(&target).map_err(failed)?;
                }
                entry.unpack_in(rootfs).map_err(failed)?;
            }
        }
        tar.finish().map_err(context)?;
    }
    Ok(())
}

/// Removes `path` whatever it is; nothing there is fine.
fn remove(path: &Path) -> io::Result<()> {
    let removed = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match removed {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// How the base's interpreter is started on this host.
struct Runner {
    /// The program and its first arguments (the loader or qemu, then the interpreter).
    argv: Vec<String>,
    /// Its environment (besides a cleared one).
    env: Vec<(String, String)>,
}

impl Runner {
    /// The base's `interpreter` from `rootfs`: its loader (found through the base's own links)
    /// with the base's library directories when the CPUs match, qemu-user otherwise.
    fn new(
        base: &OpenedImage,
        info: &BaseInfo,
        rootfs: &Path,
        interpreter: &str,
    ) -> Result<Runner> {
        let arch = match base.image.config.architecture.as_str() {
            "amd64" => "x86_64",
            "arm64" => "aarch64",
            other => {
                return Err(Error::usage(format!(
                    "--compile-bytecode: cannot run a linux/{other} interpreter (amd64 and arm64 \
                     are supported)"
                )))
            }
        };
        let root = rootfs.display().to_string();
        let python = info
            .fs
            .resolve(interpreter)
            .map(|p| format!("{root}/{}", p.trim_start_matches('/')))
            .unwrap_or_else(|| format!("{root}{interpreter}"));
        if arch != std::env::consts::ARCH {
            let qemu = format!("qemu-{arch}-static");
            return Ok(Runner {
                argv: vec![qemu, "-L".into(), root, python],
                env: Vec::new(),
            });
        }
        let loaders = [
            format!("/lib64/ld-linux-{}.so.2", arch.replace('_', "-")),
            format!("/lib/ld-linux-{arch}.so.1"),
            format!("/lib/ld-musl-{arch}.so.1"),
        ];
        let loader = loaders
            .iter()
            .filter_map(|l| info.fs.resolve(l))
            .find(|l| info.fs.has_file(l))
            .ok_or_else(|| {
                Error::usage(format!(
                    "--compile-bytecode: the base has no dynamic loader to run {interpreter} with \
                     (looked for {})",
                    loaders.join(", ")
                ))
            })?;
        let libraries = [
            format!("usr/lib/{arch}-linux-gnu"),
            format!("lib/{arch}-linux-gnu"),
            "usr/local/lib".into(),
            "usr/lib".into(),
            "lib".into(),
        ]
        .map(|d| format!("{root}/{d}"))
        .join(":");
        let home = Path::new(interpreter)
            .parent()
            .and_then(Path::parent)
            .map_or("/usr".into(), |p| p.display().to_string());
        Ok(Runner {
            argv: vec![
                format!("{root}/{}", loader.trim_start_matches('/')),
                "--library-path".into(),
                libraries,
                python,
            ],
            env: vec![("PYTHONHOME".into(), format!("{root}{home}"))],
        })
    }

    /// compileall of `group` in `site` (checked-hash, one file after the other), the paths
    /// written into the code objects being the image's; returns the files that do not compile
    /// with this interpreter (a wheel's Python 2 example, say), kept as source as pip and uv
    /// keep them, relative to `site`.
    fn compileall(&self, site: &Path, group: &Group) -> Result<Vec<String>> {
        let mut command = Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .args(["-B", "-s", "-c", COMPILE])
            .arg(site)
            .arg(group.image_dir)
            .args(group.names.iter().map(|n| site.join(n)))
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("PATH", "/usr/bin:/bin")
            .env("LC_ALL", "C.UTF-8");
        let out = command.output().map_err(|e| Error::io(&self.argv[0], e))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let said = stdout.to_string() + &String::from_utf8_lossy(&out.stderr);
            let line = said
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no diagnostics");
            return Err(Error::invalid(format!(
                "--compile-bytecode: the base's {} failed: {}",
                self.argv[3],
                printable(line)
            )));
        }
        let root = format!("{}/", site.display());
        Ok(stdout
            .lines()
            .filter_map(|l| l.strip_prefix("*** Error compiling '"))
            .filter_map(|l| l.split_once("'...").map(|(path, _)| path))
            .map(|path| path.strip_prefix(&root).unwrap_or(path))
            .map(printable)
            .collect())
    }
}

/// What the base's interpreter runs: compileall's own functions over each path (`argv`: the
/// site-packages, the image's directory for it, the paths), printing `*** Error compiling
/// 'PATH'...` for a file that does not compile and going on, as `python -m compileall` does but
/// ending well when the interpreter itself did.
const COMPILE: &str = "import compileall, os, py_compile, sys
site, prefix = sys.argv[1], sys.argv[2]
kw = dict(quiet=1, force=True, stripdir=site, prependdir=prefix,
          invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
for path in sys.argv[3:]:
    if os.path.isdir(path):
        compileall.compile_dir(path, workers=1, **kw)
    else:
        compileall.compile_file(path, **kw)
";
