//! Image references as users write them, skopeo style, for reading and for writing: one grammar.
//!
//! | Written | Reading (a source) | Writing (a destination) |
//! |---|---|---|
//! | `oci:DIR[:TAG]` | OCI image layout | the same (created if missing) |
//! | `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:REF]` | tar archive | the same (created) |
//! | `docker://REF` | registry | registry |
//! | `docker-daemon:NAME[:TAG\|@DIGEST]` | the Docker Engine (`DOCKER_HOST`) | loaded into the engine as `NAME:TAG` (a digest refused) |
//! | an existing directory / file | layout / archive | layout / archive |
//! | `/…`, `./…`, `../…` that does not exist (and `~…`, read) | refused: no such file | new layout (`….tar`: archive) |
//! | `HOST/REPO[:TAG]`, a host having `.` or `:` or being `localhost` | registry | registry |
//! | a name whose last component has a `.` (`app.tar`, `naive2.tarr`, `dir/image.oci`) that does not exist | refused: no such file, no registry asked | `….tar`: new archive; others refused |
//! | any other name (`app`, `team/app:1`) | the Docker Engine's image of that name, else Docker Hub (`docker.io/library/app`) | refused: write `docker://app`, `docker-daemon:app:TAG` or `oci:app` |
//!
//! A bare name is read as `docker run` finds it: the engine's image first (what `docker build`
//! just made), then Docker Hub, as `docker pull` does; it is never written anywhere: a typo'd
//! output path must not become a push to `docker.io` nor a tag in the engine. A name with a file
//! extension is a file (Docker Hub's names hardly ever hold a `.`; `docker://name.x` still reads
//! one), so a mistyped archive name is "no such file", at once and without a network request,
//! never "cannot reach registry". When neither has a bare name, the error names every place
//! looked at (no such file here, the engine, Docker Hub). [`Repository`] is a registry repository
//! without tag or digest (`strata history`, `strata base`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{redact_credentials, Error, Result};

/// Where an image is and which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// An OCI image layout directory, optionally a tag inside it.
    Layout {
        /// The layout directory.
        dir: PathBuf,
        /// The `org.opencontainers.image.ref.name` to pick.
        tag: Option<String>,
    },
    /// A tar archive: `docker save` output or an OCI archive.
    Archive {
        /// The archive file.
        file: PathBuf,
        /// The tag (OCI) or `name:tag` (docker) to pick.
        tag: Option<String>,
        /// Which format the reference names, and so how its tag is read.
        kind: ArchiveKind,
    },
    /// An image in a registry (`registry/repo:tag` or `@sha256:…`).
    Registry(String),
    /// An image in the Docker Engine (`docker-daemon:NAME[:TAG|@DIGEST]`).
    Daemon(String),
    /// A bare name (`app:1`, `team/app`): the engine's image of that name, else Docker Hub's.
    Named(String),
}

/// The archive format a reference names: it decides what its tag is (an OCI ref name, or a
/// docker `NAME:TAG`) and what a destination is called. strata writes one format that is both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `oci-archive:FILE[:TAG]`: the tag is the `org.opencontainers.image.ref.name` in
    /// `index.json`.
    Oci,
    /// `docker-archive:FILE[:NAME:TAG]` (or `docker-tar:`): the tag is a `RepoTags` entry of
    /// `manifest.json`.
    Docker,
    /// A path with no transport (no tag): whichever the archive is.
    Detected,
}

impl ImageRef {
    /// Parses an image to read (see the module doc): a string without a transport prefix is a
    /// local path when it exists, a registry reference when it names a registry host, a missing
    /// local path when it is spelled as a path or has a file extension, otherwise a Docker Hub
    /// reference.
    pub fn parse(s: &str) -> Result<ImageRef> {
        if let Some(parsed) = with_transport(s)? {
            return Ok(parsed);
        }
        if let Some(local) = existing_path(s) {
            return Ok(local);
        }
        // `~/x` reaches strata unexpanded when quoted: a path all the same, never a name.
        if is_explicit_path(s) || s.starts_with('~') {
            return Err(with_near_file(
                Error::not_found(format!("{s}: no such file or directory")),
                s,
            ));
        }
        if registry_host(s).is_some() {
            return registry(s);
        }
        if has_file_extension(s) {
            return Err(missing_file(s));
        }
        image_name(s).map(ImageRef::Named).map_err(|_| {
            Error::usage(format!(
                "{}: no such file or directory, and not an image name (NAME[:TAG], lowercase)",
                redact_credentials(s)
            ))
        })
    }

    /// Parses an image to write (see the module doc): without a transport prefix, an existing
    /// path, a path that is spelled as one (`/`, `./`, `../`, `.tar`), or a reference naming its
    /// registry host; any other name is refused, before anything is read, written or sent.
    pub fn parse_destination(s: &str) -> Result<ImageRef> {
        if let Some(parsed) = with_transport(s)? {
            return Ok(parsed);
        }
        if let Some(local) = existing_path(s) {
            return Ok(local);
        }
        if s.ends_with(".tar") {
            return Ok(ImageRef::Archive {
                file: s.into(),
                tag: None,
                kind: ArchiveKind::Detected,
            });
        }
        if is_explicit_path(s) {
            return Ok(ImageRef::Layout {
                dir: s.into(),
                tag: None,
            });
        }
        if registry_host(s).is_some() {
            return registry(s);
        }
        Err(Error::usage(format!(
            "destination {s:?} is not an existing path and names no registry host"
        ))
        .with_hint(format!(
            "write docker://{s} to push to Docker Hub, docker-daemon:{s} to load it into the Docker \
         Engine, or oci:{s} for an OCI layout directory"
        )))
    }
}

/// A `transport:` reference, `None` when `s` has no transport prefix.
fn with_transport(s: &str) -> Result<Option<ImageRef>> {
    if s.is_empty() {
        return Err(Error::usage("empty image reference"));
    }
    if let Some(rest) = s.strip_prefix("docker://") {
        return registry(rest).map(Some);
    }
    if let Some(rest) = s.strip_prefix("docker-daemon:") {
        return image_name(rest).map(|name| Some(ImageRef::Daemon(name)));
    }
    if let Some(rest) = s.strip_prefix("oci:") {
        let (dir, tag) = split_path_and_tag(rest);
        return Ok(Some(ImageRef::Layout { dir, tag }));
    }
    for (prefix, kind) in [
        ("oci-archive:", ArchiveKind::Oci),
        ("docker-archive:", ArchiveKind::Docker),
        ("docker-tar:", ArchiveKind::Docker),
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            let (file, tag) = split_path_and_tag(rest);
            return Ok(Some(ImageRef::Archive { file, tag, kind }));
        }
    }
    Ok(None)
}

/// The layout (a directory) or archive (a file) at `s`, when that path exists.
fn existing_path(s: &str) -> Option<ImageRef> {
    let path = Path::new(s);
    if path.is_dir() {
        Some(ImageRef::Layout {
            dir: path.to_path_buf(),
            tag: None,
        })
    } else if path.is_file() {
        Some(ImageRef::Archive {
            file: path.to_path_buf(),
            tag: None,
            kind: ArchiveKind::Detected,
        })
    } else {
        None
    }
}

/// Whether `s` is spelled as a path, so it can never be a registry reference.
fn is_explicit_path(s: &str) -> bool {
    s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s == "." || s == ".."
}

/// Whether the last component of `s` (without `:TAG` or `@DIGEST`) has a `.`, as file names do
/// (`app.tar`, `naive2.tarr`, `out/image.oci`) and Docker Hub's image names hardly ever do.
fn has_file_extension(s: &str) -> bool {
    let name = s.split('@').next().unwrap_or(s);
    let last = name.rsplit('/').next().unwrap_or(name);
    let last = last.split(':').next().unwrap_or(last);
    last.contains('.')
}

/// The refusal of `s`, a name with a file extension that is not there: no registry is asked.
fn missing_file(s: &str) -> Error {
    let error = Error::not_found(format!(
        "{s}: no such file or directory (a name with a file extension is read as a local path, \
         not from a registry: write docker://{s} for Docker Hub)"
    ));
    with_near_file(error, s)
}

/// `error`, the refusal of the missing path `s`, with a near name in the same directory as the
/// hint when there is one.
fn with_near_file(error: Error, s: &str) -> Error {
    match near_file(Path::new(s)) {
        Some(near) => error.with_hint(format!("did you mean {near}?")),
        None => error,
    }
}

/// Directory entries compared with a mistyped name, at most: a huge directory is not listed.
const NEAR_FILE_CANDIDATES: usize = 1000;

/// The entry of `path`'s directory whose name is closest to `path`'s, spelled with that
/// directory as `path` is.
fn near_file(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let entries = std::fs::read_dir(parent.unwrap_or(Path::new("."))).ok()?;
    let names: Vec<String> = entries
        .take(NEAR_FILE_CANDIDATES)
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let near = crate::catalog::closest(name, names.iter().map(String::as_str))?;
    Some(match parent {
        Some(dir) => dir.join(near).display().to_string(),
        None => near.to_string(),
    })
}

/// The registry host `reference` names, Docker's rule: the part before the first `/` when it
/// has a `.` or a `:` or is `localhost` (`registry.example.com/app`, `127.0.0.1:5000/app`);
/// `None` for Docker Hub's short names (`app`, `team/app:1`).
pub fn registry_host(reference: &str) -> Option<&str> {
    let (first, _) = reference.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

/// A registry repository: a registry and a path in it, without tag or digest. What `strata
/// history` lists the tags of and `strata base` names a fingerprint tag in, parsed once here
/// (Docker Hub's short names normalized as `docker pull` does: `app` is
/// `docker.io/library/app`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    registry: String,
    path: String,
    /// As the user wrote it (without `docker://`), for messages and derived references.
    spelled: String,
}

impl Repository {
    /// Parses `[docker://][HOST/]PATH`; a tag or digest is refused (the caller supplies tags).
    pub fn parse(s: &str) -> Result<Repository> {
        let spelled = s.strip_prefix("docker://").unwrap_or(s);
        let last = spelled.rsplit('/').next().unwrap_or(spelled);
        if spelled.is_empty() || last.contains(':') || spelled.contains('@') {
            return Err(Error::usage(format!(
                "{s}: give a repository without a tag or digest"
            )));
        }
        let reference: oci_spec::distribution::Reference = spelled
            .parse()
            .map_err(|e| Error::usage(format!("invalid repository {s:?}: {e}")))?;
        Ok(Repository {
            registry: reference.registry().to_string(),
            path: reference.repository().to_string(),
            spelled: spelled.to_string(),
        })
    }

    /// The registry host (`docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository's path in its registry (`library/app` for Docker Hub's `app`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the repository was written as a bare Docker Hub name (`app`, no `/`), which as a
    /// lone `strata history` argument means the image `app:latest`, not the repository.
    pub fn is_short_name(&self) -> bool {
        !self.spelled.contains('/')
    }

    /// The reference of `tag` in this repository, spelled as the repository was.
    pub fn tagged(&self, tag: &str) -> String {
        format!("{}:{tag}", self.spelled)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spelled)
    }
}

/// The reference an image's `org.opencontainers.image.base.name`/`.digest` annotations denote:
/// a registry name pinned to the digest (`name:tag@sha256:…`), or a local name as it is (local
/// layouts and archives are found by tag, not digest).
pub fn pinned_base(name: &str, digest: Option<&str>) -> String {
    let local = ["oci:", "oci-archive:", "docker-archive:", "/", "."]
        .iter()
        .any(|p| name.starts_with(p));
    match digest {
        Some(d) if !local && !name.contains('@') => format!("{name}@{d}"),
        _ => name.to_string(),
    }
}

fn registry(s: &str) -> Result<ImageRef> {
    image_name(s).map(ImageRef::Registry)
}

/// `s`, checked to be an image name as Docker spells one (`[HOST/]PATH[:TAG][@DIGEST]`).
fn image_name(s: &str) -> Result<String> {
    s.parse::<oci_spec::distribution::Reference>()
        .map_err(|e| {
            let shown = redact_credentials(s);
            Error::usage(format!("invalid image reference {shown:?}: {e}"))
        })?;
    Ok(s.to_string())
}

/// Splits `PATH[:TAG]` at the first colon, as skopeo does, unless the whole string is an existing
/// path (so a file whose name contains a colon still works).
fn split_path_and_tag(s: &str) -> (PathBuf, Option<String>) {
    if Path::new(s).exists() {
        return (PathBuf::from(s), None);
    }
    match s.split_once(':') {
        Some((path, tag)) if !tag.is_empty() => (PathBuf::from(path), Some(tag.to_string())),
        Some((path, _)) => (PathBuf::from(path), None),
        None => (PathBuf::from(s), None),
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Layout { dir, tag } => {
                write!(f, "oci:{}", dir.display())?;
                tag.as_ref().map_or(Ok(()), |t| write!(f, ":{t}"))
            }
            ImageRef::Archive { file, tag, kind } => {
                match kind {
                    ArchiveKind::Oci => write!(f, "oci-archive:")?,
                    ArchiveKind::Docker => write!(f, "docker-archive:")?,
                    ArchiveKind::Detected => {}
                }
                write!(f, "{}", file.display())?;
                tag.as_ref().map_or(Ok(()), |t| write!(f, ":{t}"))
            }
            ImageRef::Registry(r) => write!(f, "docker://{r}"),
            ImageRef::Daemon(r) => write!(f, "docker-daemon:{r}"),
            ImageRef::Named(r) => f.write_str(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    #[test]
    fn base_annotations_pin_registry_names_only() {
        let d = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
        assert_eq!(
            pinned_base("localhost:5000/base:1", Some(d)),
            format!("localhost:5000/base:1@{d}")
        );
        assert_eq!(pinned_base("oci:/bases:old", Some(d)), "oci:/bases:old");
        assert_eq!(pinned_base("debian:12", None), "debian:12");
    }

    #[test]
    fn missing_paths_and_garbage_are_usage_errors() {
        assert_eq!(
            ImageRef::parse("/does/not/exist.tar").unwrap_err().kind(),
            Kind::NotFound
        );
        assert!(ImageRef::parse("Not A Reference!").is_err());
        assert!(ImageRef::parse("").is_err());
        assert!(ImageRef::parse_destination("").is_err());
    }

    fn layout(dir: &str, tag: Option<&str>) -> ImageRef {
        ImageRef::Layout {
            dir: dir.into(),
            tag: tag.map(String::from),
        }
    }

    fn archive(file: &str, tag: Option<&str>, kind: ArchiveKind) -> ImageRef {
        ImageRef::Archive {
            file: file.into(),
            tag: tag.map(String::from),
            kind,
        }
    }

    /// What a reference parses to, or the kind of its refusal.
    type Parsed = std::result::Result<ImageRef, Kind>;

    /// Every row of the grammar in the module doc, read and written: `Err(kind)` is a refusal.
    #[test]
    fn one_grammar_for_sources_and_destinations() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("layout");
        std::fs::create_dir(&dir).unwrap();
        let file = tmp.path().join("saved");
        std::fs::write(&file, b"").unwrap();
        let (dir, file) = (dir.to_str().unwrap(), file.to_str().unwrap());
        let registry = |s: &str| Ok(ImageRef::Registry(s.into()));
        let named = |s: &str| Ok(ImageRef::Named(s.into()));
        let daemon = |s: &str| Ok(ImageRef::Daemon(s.into()));
        #[rustfmt::skip]
        let table: Vec<(&str, Parsed, Parsed)> = vec![
            ("oci:/new/dir:v1", Ok(layout("/new/dir", Some("v1"))), Ok(layout("/new/dir", Some("v1")))),
            ("oci:rel", Ok(layout("rel", None)), Ok(layout("rel", None))),
            ("oci-archive:/x/a.tar:v1", Ok(archive("/x/a.tar", Some("v1"), ArchiveKind::Oci)), Ok(archive("/x/a.tar", Some("v1"), ArchiveKind::Oci))),
            ("docker-archive:/x/a.tar:app:1", Ok(archive("/x/a.tar", Some("app:1"), ArchiveKind::Docker)), Ok(archive("/x/a.tar", Some("app:1"), ArchiveKind::Docker))),
            ("docker://weird", registry("weird"), registry("weird")),
            ("docker://localhost:5000/app:v2", registry("localhost:5000/app:v2"), registry("localhost:5000/app:v2")),
            (dir, Ok(layout(dir, None)), Ok(layout(dir, None))),
            (file, Ok(archive(file, None, ArchiveKind::Detected)), Ok(archive(file, None, ArchiveKind::Detected))),
            ("/new/out", Err(Kind::NotFound), Ok(layout("/new/out", None))),
            ("./out", Err(Kind::NotFound), Ok(layout("./out", None))),
            ("out.tar", Err(Kind::NotFound), Ok(archive("out.tar", None, ArchiveKind::Detected))),
            ("localhost/app", registry("localhost/app"), registry("localhost/app")),
            ("127.0.0.1:5000/app:1", registry("127.0.0.1:5000/app:1"), registry("127.0.0.1:5000/app:1")),
            ("registry.example.com/team/app@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                registry("registry.example.com/team/app@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"),
                registry("registry.example.com/team/app@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae")),
            ("weird", named("weird"), Err(Kind::Usage)),
            ("weird:latest", named("weird:latest"), Err(Kind::Usage)),
            ("team/app:1", named("team/app:1"), Err(Kind::Usage)),
            ("Not A Reference!", Err(Kind::Usage), Err(Kind::Usage)),
            ("naive2.tarr", Err(Kind::NotFound), Err(Kind::Usage)),
            ("images/app.oci:v1", Err(Kind::NotFound), Err(Kind::Usage)),
            ("~/gone.tar", Err(Kind::NotFound), Ok(archive("~/gone.tar", None, ArchiveKind::Detected))),
            ("python:3.12-slim", named("python:3.12-slim"), Err(Kind::Usage)),
            ("docker://naive2.tarr", registry("naive2.tarr"), registry("naive2.tarr")),
            ("ghcr.io/team/app.v2:1.0", registry("ghcr.io/team/app.v2:1.0"), registry("ghcr.io/team/app.v2:1.0")),
            ("docker-daemon:app:1", daemon("app:1"), daemon("app:1")),
            ("docker-daemon:team/app", daemon("team/app"), daemon("team/app")),
            ("docker-daemon:Not Valid", Err(Kind::Usage), Err(Kind::Usage)),
        ];
        for (written, read, write) in table {
            let kind = |r: Result<ImageRef>| r.map_err(|e| e.kind());
            assert_eq!(kind(ImageRef::parse(written)), read, "reading {written}");
            assert_eq!(
                kind(ImageRef::parse_destination(written)),
                write,
                "writing {written}"
            );
        }
    }

    #[test]
    fn a_refused_destination_says_how_to_write_it() {
        let e = ImageRef::parse_destination("weird").unwrap_err();
        assert_eq!(e.exit_code().code(), 2);
        let hint = e.hint().expect("a hint");
        assert!(hint.contains("docker://weird"), "{hint}");
        assert!(hint.contains("oci:weird"), "{hint}");
    }

    #[test]
    fn a_mistyped_file_suggests_the_near_one() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("naive2.tar"), b"").unwrap();
        let typo = tmp.path().join("naive2.tarr");
        let e = ImageRef::parse(typo.to_str().unwrap()).unwrap_err();
        let near = tmp.path().join("naive2.tar");
        assert_eq!(
            e.hint(),
            Some(format!("did you mean {near}?", near = near.display()).as_str())
        );
    }

    #[test]
    fn engine_references_print_as_written() {
        for written in ["docker-daemon:team/app:1", "app:1", "docker://app:1"] {
            assert_eq!(ImageRef::parse(written).unwrap().to_string(), written);
        }
    }

    #[test]
    fn registry_hosts_follow_dockers_rule() {
        assert_eq!(
            registry_host("registry.example.com/app"),
            Some("registry.example.com")
        );
        assert_eq!(registry_host("127.0.0.1:5000/app"), Some("127.0.0.1:5000"));
        assert_eq!(registry_host("localhost/app"), Some("localhost"));
        assert_eq!(registry_host("team/app"), None);
        assert_eq!(registry_host("app.example.com"), None);
    }

    #[test]
    fn repositories_are_parsed_once_with_docker_hub_normalized() {
        let hub = Repository::parse("docker://app-deps").unwrap();
        assert_eq!(
            (hub.registry(), hub.path()),
            ("docker.io", "library/app-deps")
        );
        assert!(hub.is_short_name());
        assert_eq!(hub.tagged("deps-1"), "app-deps:deps-1");
        let own = Repository::parse("localhost:5000/team/app").unwrap();
        assert_eq!((own.registry(), own.path()), ("localhost:5000", "team/app"));
        assert!(!own.is_short_name());
        assert_eq!(own.to_string(), "localhost:5000/team/app");
        for tagged in [
            "localhost:5000/app:v1",
            "app@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            "",
            "docker://",
        ] {
            assert_eq!(
                Repository::parse(tagged).unwrap_err().kind(),
                Kind::Usage,
                "{tagged}"
            );
        }
    }
}
