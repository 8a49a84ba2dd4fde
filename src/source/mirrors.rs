//! Registry mirrors and redirections for reads, as podman, buildah and skopeo take them from
//! `registries.conf` (containers-registries.conf(5), version 2): the `[[registry]]` whose
//! `prefix` is the longest match of a reference decides where it is read from — each of its
//! `[[registry.mirror]]`s in order (skipping those whose `pull-from-mirror` excludes the
//! reference), then its `location` — with the prefix rewritten to each location; `insecure`
//! speaks plain HTTP to that place; `blocked` refuses the read. Writes never use this.
//!
//! The files are those containers/image reads: `$CONTAINERS_REGISTRIES_CONF` when set (it must
//! exist), else `$HOME/.config/containers/registries.conf` when it exists, else
//! `/etc/containers/registries.conf` (missing is no mirrors), then the drop-ins `*.conf` of
//! `/etc/containers/registries.conf.d` (not with the per-user file) and
//! `$HOME/.config/containers/registries.conf.d`, in name order; a drop-in's `[[registry]]`
//! replaces an earlier one with the same prefix.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::source::registry::RegistryOptions;

/// The variable naming the one main registries.conf to read (podman's, so one file serves both).
pub const CONF_VAR: &str = "CONTAINERS_REGISTRIES_CONF";
/// The variable that, set to anything, prints each failed mirror on stderr before the next place
/// is tried (otherwise a working fallback is silent).
pub const DEBUG_VAR: &str = "STRATA_DEBUG";

const SYSTEM_CONF: &str = "/etc/containers/registries.conf";
const SYSTEM_DIR: &str = "/etc/containers/registries.conf.d";
const USER_CONF: &str = ".config/containers/registries.conf";
const USER_DIR: &str = ".config/containers/registries.conf.d";

/// A registries.conf file as written; keys strata does not use (`unqualified-search-registries`,
/// `[aliases]`, …) are ignored.
#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    registry: Vec<RegistryTable>,
}

/// One `[[registry]]` table.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RegistryTable {
    prefix: Option<String>,
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    #[serde(default)]
    mirror: Vec<MirrorTable>,
}

/// One `[[registry.mirror]]` table.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct MirrorTable {
    location: String,
    #[serde(default)]
    insecure: bool,
    pull_from_mirror: Option<String>,
}

/// Which references a mirror serves (`pull-from-mirror`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Serves {
    All,
    DigestOnly,
    TagOnly,
}

/// A place an image may be read from: a location (`HOST[:PORT][/PATH]`) and whether it is
/// spoken to insecurely.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    location: String,
    insecure: bool,
}

/// A mirror and the references it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mirror {
    place: Place,
    serves: Serves,
}

/// A validated `[[registry]]`: its prefix, where it lives (`None`: a wildcard prefix read where
/// the reference says), its mirrors, whether it is blocked, and the file it came from.
#[derive(Debug, Clone)]
struct Entry {
    prefix: String,
    location: Option<String>,
    insecure: bool,
    blocked: bool,
    mirrors: Vec<Mirror>,
    file: PathBuf,
}

/// The `[[registry]]` tables of every registries.conf read, after drop-ins are merged.
#[derive(Debug, Default)]
pub struct Config {
    entries: Vec<Entry>,
}

/// One place to read an image from, in the order they are tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The reference there (the user's, with its prefix rewritten to the place's location).
    pub reference: String,
    /// Whether registries.conf marks the place `insecure` (plain HTTP, any certificate).
    pub insecure: bool,
}

impl Config {
    /// Reads the registries.conf files containers/image reads (see the module documentation).
    pub fn load() -> Result<Config> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let user_conf = home.as_ref().map(|h| h.join(USER_CONF));
        let user_dir = home.as_ref().map(|h| h.join(USER_DIR));
        let (main, required, mut dirs) = match std::env::var_os(CONF_VAR) {
            Some(path) => (PathBuf::from(path), true, vec![PathBuf::from(SYSTEM_DIR)]),
            None => match user_conf.filter(|p| p.is_file()) {
                Some(user) => (user, true, vec![]),
                None => (
                    PathBuf::from(SYSTEM_CONF),
                    false,
                    vec![PathBuf::from(SYSTEM_DIR)],
                ),
            },
        };
        dirs.extend(user_dir);
        Config::read(&main, required, &dirs)
    }

    /// Reads `main` (an error when it is missing and `required`), then the `*.conf` drop-ins of
    /// each of `dirs` in name order.
    fn read(main: &Path, required: bool, dirs: &[PathBuf]) -> Result<Config> {
        let mut config = Config::default();
        match std::fs::read_to_string(main) {
            Ok(text) => config.merge(parse(&text, main)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {}
            Err(e) => return Err(Error::io(main.display().to_string(), e)),
        }
        for dir in dirs {
            let Ok(listing) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut drop_ins: Vec<PathBuf> = listing
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
                .collect();
            drop_ins.sort();
            for path in drop_ins {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| Error::io(path.display(), e))?;
                config.merge(parse(&text, &path)?);
            }
        }
        Ok(config)
    }

    /// Adds `entries`, each replacing an earlier entry with the same prefix.
    fn merge(&mut self, entries: Vec<Entry>) {
        for entry in entries {
            self.entries.retain(|e| e.prefix != entry.prefix);
            self.entries.push(entry);
        }
    }

    /// The places to read `reference` (`[docker://]HOST/PATH[:TAG][@DIGEST]`) from, in order:
    /// the matching entry's mirrors that serve it, then its location (the reference itself when
    /// no entry matches). A blocked entry is a usage error naming its file.
    pub fn endpoints(&self, reference: &str) -> Result<Vec<Endpoint>> {
        let spelled = reference.strip_prefix("docker://").unwrap_or(reference);
        let parsed: oci_spec::distribution::Reference = spelled
            .parse()
            .map_err(|e| Error::usage(format!("invalid image reference {reference:?}: {e}")))?;
        let whole = parsed.whole();
        let Some((entry, matched)) = self.matching(&whole) else {
            return Ok(vec![Endpoint {
                reference: spelled.to_string(),
                insecure: false,
            }]);
        };
        if entry.blocked {
            return Err(Error::usage(format!(
                "{spelled}: reading from {} is blocked by {}",
                entry.prefix,
                entry.file.display()
            )));
        }
        let rest = &whole[matched..];
        let digested = parsed.digest().is_some();
        let at = |place: &Place| Endpoint {
            reference: format!("{}{rest}", place.location),
            insecure: place.insecure,
        };
        let mut endpoints: Vec<Endpoint> = entry
            .mirrors
            .iter()
            .filter(|m| match m.serves {
                Serves::All => true,
                Serves::DigestOnly => digested,
                Serves::TagOnly => !digested,
            })
            .map(|m| at(&m.place))
            .collect();
        endpoints.push(match &entry.location {
            Some(location) => at(&Place {
                location: location.clone(),
                insecure: entry.insecure,
            }),
            None => Endpoint {
                reference: whole.clone(),
                insecure: entry.insecure,
            },
        });
        Ok(endpoints)
    }

    /// The entry whose prefix is the longest match of `whole` (a fully qualified reference), and
    /// where in `whole` the match ends.
    fn matching(&self, whole: &str) -> Option<(&Entry, usize)> {
        self.entries
            .iter()
            .filter_map(|e| matched_len(whole, &e.prefix).map(|end| (e, end)))
            .max_by_key(|(e, _)| e.prefix.len())
    }
}

/// Where in `reference` a match of `prefix` ends, by containers/image's rule: the reference
/// starts with the prefix and goes on with `/`, `:`, `@` or nothing; a `*.host` prefix matches
/// any subdomain of `host` in the reference's host part.
fn matched_len(reference: &str, prefix: &str) -> Option<usize> {
    let end = match prefix.strip_prefix('*') {
        Some(domain) => {
            let at = reference.find(domain)?;
            if reference[..at].contains('/') {
                return None;
            }
            at + domain.len()
        }
        None => {
            if !reference.starts_with(prefix) {
                return None;
            }
            prefix.len()
        }
    };
    match reference[end..].chars().next() {
        None | Some('/' | ':' | '@') => Some(end),
        Some(_) => None,
    }
}

/// A location as containers/image accepts it: no URL scheme, no trailing `/`.
fn parse_location(value: &str, file: &Path) -> Result<String> {
    if value.starts_with("http://") || value.starts_with("https://") {
        return Err(invalid(
            file,
            &format!("{value:?}: a location has no URL scheme"),
        ));
    }
    Ok(value.trim_end_matches('/').to_string())
}

fn invalid(file: &Path, what: &str) -> Error {
    Error::usage(format!("{}: {what}", file.display()))
}

/// Parses and validates one registries.conf (`file` names it in errors, with the line of a
/// syntax error but never its text).
fn parse(text: &str, file: &Path) -> Result<Vec<Entry>> {
    let parsed: File = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map_or(0, |s| text[..s.start].matches('\n').count() + 1);
        invalid(
            file,
            &format!("line {line}: {}", e.message().lines().next().unwrap_or("")),
        )
    })?;
    parsed
        .registry
        .into_iter()
        .map(|table| entry(table, file))
        .collect()
}

/// Validates one `[[registry]]` as containers/image does.
fn entry(table: RegistryTable, file: &Path) -> Result<Entry> {
    let location_of = |v: Option<String>| v.map(|v| parse_location(&v, file)).transpose();
    let given = location_of(table.location)?.filter(|l| !l.is_empty());
    let prefix = match location_of(table.prefix)?.filter(|p| !p.is_empty()) {
        Some(prefix) => prefix,
        None => given
            .clone()
            .ok_or_else(|| invalid(file, "a [[registry]] needs a prefix or a location"))?,
    };
    let wildcard = prefix.starts_with("*.");
    if prefix.contains('*') && (!wildcard || prefix.contains(['/', ':', '@'])) {
        return Err(invalid(
            file,
            &format!("prefix {prefix:?}: a wildcard is only `*.HOST`"),
        ));
    }
    let location = match given {
        Some(location) => Some(location),
        None if wildcard => None,
        None => Some(prefix.clone()),
    };
    let mirrors = table
        .mirror
        .into_iter()
        .map(|m| {
            let pull = m.pull_from_mirror.as_deref().filter(|p| !p.is_empty());
            let serves = match (pull, table.mirror_by_digest_only) {
                (None, true) => Serves::DigestOnly,
                (None | Some("all"), false) => Serves::All,
                (Some("digest-only"), false) => Serves::DigestOnly,
                (Some("tag-only"), false) => Serves::TagOnly,
                (Some(_), true) => {
                    return Err(invalid(
                        file,
                        &format!(
                            "{prefix}: pull-from-mirror and mirror-by-digest-only cannot both be set"
                        ),
                    ))
                }
                (Some(other), false) => {
                    return Err(invalid(
                        file,
                        &format!(
                            "pull-from-mirror {other:?}: expected \"all\", \"digest-only\" or \"tag-only\""
                        ),
                    ))
                }
            };
            let place = Place {
                location: parse_location(&m.location, file)?,
                insecure: m.insecure,
            };
            if place.location.is_empty() {
                return Err(invalid(file, &format!("{prefix}: a mirror needs a location")));
            }
            Ok(Mirror { place, serves })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Entry {
        prefix,
        location,
        insecure: table.insecure,
        blocked: table.blocked,
        mirrors,
        file: file.to_path_buf(),
    })
}

/// Reads `reference` with `read` (given the reference at one place and the options to reach it)
/// from the first of its [`Config::endpoints`] that works; a failed mirror falls through to the
/// next place (said on stderr under `STRATA_DEBUG`), and when every place fails the last one's
/// error is returned, naming the mirrors that failed before it. `read` is told, through
/// [`Attempt::last`], whether a failure would be final.
pub fn read_from<T>(
    reference: &str,
    opts: &RegistryOptions,
    mut read: impl FnMut(&Attempt) -> Result<T>,
) -> Result<T> {
    let endpoints = Config::load()?.endpoints(reference)?;
    let mut failed = Vec::new();
    let count = endpoints.len();
    for (i, endpoint) in endpoints.into_iter().enumerate() {
        let mut options = opts.clone();
        options.insecure |= endpoint.insecure;
        let attempt = Attempt {
            reference: endpoint.reference,
            options,
            last: i + 1 == count,
        };
        match read(&attempt) {
            Ok(found) => return Ok(found),
            Err(e) if !attempt.last => {
                if std::env::var_os(DEBUG_VAR).is_some() {
                    eprintln!(
                        "strata: debug: mirror {} failed, trying the next place: {}",
                        attempt.reference,
                        e.printable().0
                    );
                }
                failed.push(attempt.reference);
            }
            Err(e) if failed.is_empty() => return Err(e),
            Err(e) => return Err(e.context(format!("mirrors {} failed first", failed.join(", ")))),
        }
    }
    unreachable!("the last place returns")
}

/// One place [`read_from`] tries.
pub struct Attempt {
    /// The reference at this place.
    pub reference: String,
    /// The registry options to reach it (insecure when registries.conf says so).
    pub options: RegistryOptions,
    /// Whether this is the last place, so a failure here is the read's failure.
    pub last: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let mut config = Config::default();
        config.merge(parse(text, Path::new("registries.conf")).unwrap());
        config
    }

    fn places(config: &Config, reference: &str) -> Vec<(String, bool)> {
        config
            .endpoints(reference)
            .unwrap()
            .into_iter()
            .map(|e| (e.reference, e.insecure))
            .collect()
    }

    fn at(reference: &str, insecure: bool) -> (String, bool) {
        (reference.to_string(), insecure)
    }

    const DIGEST: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn prefixes_match_whole_components_and_the_longest_wins() {
        assert_eq!(
            matched_len("example.com/foo/app:1", "example.com"),
            Some(11)
        );
        assert_eq!(
            matched_len("example.com/foo/app:1", "example.com/foo"),
            Some(15)
        );
        assert_eq!(
            matched_len("example.com/foobar/app", "example.com/foo"),
            None
        );
        assert_eq!(
            matched_len("example.com/foo/app:1", "example.com/foo/app:1"),
            Some(21)
        );
        assert_eq!(matched_len("example.com.evil/app", "example.com"), None);
        assert_eq!(
            matched_len("a.b.example.com/app", "*.example.com"),
            Some(15)
        );
        assert_eq!(matched_len("example.com/app", "*.example.com"), None);
        assert_eq!(
            matched_len("other.com/x.example.com/app", "*.example.com"),
            None
        );
        let config = config(
            r#"
            [[registry]]
            prefix = "example.com"
            location = "outer.local"
            [[registry]]
            prefix = "example.com/team"
            location = "inner.local/mirrored"
            "#,
        );
        assert_eq!(
            places(&config, "example.com/team/app:v1"),
            [at("inner.local/mirrored/app:v1", false)]
        );
        assert_eq!(
            places(&config, "docker://example.com/other/app:v1"),
            [at("outer.local/other/app:v1", false)]
        );
        assert_eq!(
            places(&config, "quay.io/app:v1"),
            [at("quay.io/app:v1", false)]
        );
    }

    #[test]
    fn mirrors_come_first_in_order_and_serve_what_they_are_for() {
        let config = config(
            r#"
            unqualified-search-registries = ["example.com"]
            [[registry]]
            prefix = "registry.example.invalid/team"
            location = "primary.local/team"
            [[registry.mirror]]
            location = "127.0.0.1:5001/team/"
            insecure = true
            [[registry.mirror]]
            location = "digests.local/t"
            pull-from-mirror = "digest-only"
            [[registry.mirror]]
            location = "tags.local/t"
            pull-from-mirror = "tag-only"
            [aliases]
            app = "example.com/app"
            "#,
        );
        assert_eq!(
            places(&config, "registry.example.invalid/team/app:v1"),
            [
                at("127.0.0.1:5001/team/app:v1", true),
                at("tags.local/t/app:v1", false),
                at("primary.local/team/app:v1", false),
            ]
        );
        let pinned = format!("registry.example.invalid/team/app@{DIGEST}");
        assert_eq!(
            places(&config, &pinned),
            [
                at(&format!("127.0.0.1:5001/team/app@{DIGEST}"), true),
                at(&format!("digests.local/t/app@{DIGEST}"), false),
                at(&format!("primary.local/team/app@{DIGEST}"), false),
            ]
        );
    }

    #[test]
    fn docker_hub_names_match_as_normalized() {
        let config = config(
            r#"
            [[registry]]
            location = "docker.io/library"
            mirror-by-digest-only = true
            [[registry.mirror]]
            location = "hub-mirror.local/library"
            "#,
        );
        assert_eq!(
            places(&config, "alpine:3"),
            [at("docker.io/library/alpine:3", false)]
        );
        assert_eq!(
            places(&config, &format!("alpine@{DIGEST}"))[0],
            at(&format!("hub-mirror.local/library/alpine@{DIGEST}"), false)
        );
    }

    #[test]
    fn a_wildcard_prefix_keeps_the_reference_and_a_blocked_one_refuses() {
        let config = config(
            r#"
            [[registry]]
            prefix = "*.corp.example"
            insecure = true
            [[registry.mirror]]
            location = "cache.local"
            [[registry]]
            prefix = "evil.example"
            blocked = true
            "#,
        );
        assert_eq!(
            places(&config, "a.corp.example/team/app:1"),
            [
                at("cache.local/team/app:1", false),
                at("a.corp.example/team/app:1", true),
            ]
        );
        let e = config.endpoints("evil.example/app:1").unwrap_err();
        assert_eq!(e.exit_code(), crate::error::ExitCode::BadInput);
        assert_eq!(
            e.to_string(),
            "evil.example/app:1: reading from evil.example is blocked by registries.conf"
        );
    }

    #[test]
    fn invalid_files_are_refused_with_their_line() {
        let refused = |text: &str| parse(text, Path::new("r.conf")).unwrap_err().to_string();
        assert_eq!(
            refused("[[registry]]\nprefix = \"a.example\"\nlocation = 3\n"),
            "r.conf: line 3: invalid type: integer `3`, expected a string"
        );
        assert!(refused("[[registry]]\ninsecure = true\n").contains("prefix or a location"));
        assert!(refused("[[registry]]\nlocation = \"https://a.example\"\n").contains("URL scheme"));
        assert!(refused("[[registry]]\nprefix = \"a.*.example\"\n").contains("wildcard"));
        assert!(refused(
            "[[registry]]\nlocation = \"a.example\"\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"sometimes\"\n"
        )
        .contains("pull-from-mirror \"sometimes\""));
        assert!(refused(
            "[[registry]]\nlocation = \"a.example\"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"all\"\n"
        )
        .contains("cannot both be set"));
    }

    #[test]
    fn drop_ins_replace_entries_with_the_same_prefix_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("registries.conf");
        let drop_ins = dir.path().join("registries.conf.d");
        std::fs::create_dir(&drop_ins).unwrap();
        std::fs::write(
            &main,
            "[[registry]]\nprefix = \"a.example\"\nlocation = \"first.local\"\n",
        )
        .unwrap();
        std::fs::write(
            drop_ins.join("20-b.conf"),
            "[[registry]]\nprefix = \"a.example\"\nlocation = \"last.local\"\n",
        )
        .unwrap();
        std::fs::write(
            drop_ins.join("10-a.conf"),
            "[[registry]]\nprefix = \"a.example\"\nlocation = \"second.local\"\n",
        )
        .unwrap();
        std::fs::write(drop_ins.join("ignored.txt"), "not toml [").unwrap();
        let config = Config::read(&main, true, &[drop_ins]).unwrap();
        assert_eq!(
            places(&config, "a.example/app:1"),
            [at("last.local/app:1", false)]
        );
        let missing = dir.path().join("nope.conf");
        assert!(Config::read(&missing, false, &[])
            .unwrap()
            .entries
            .is_empty());
        assert_eq!(
            Config::read(&missing, true, &[]).unwrap_err().exit_code(),
            crate::error::ExitCode::BadInput
        );
    }
}
