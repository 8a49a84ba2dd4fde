//! The finding rules: every id a finding of `strata report` can carry, with its family, kind,
//! default severity, what it is called for people and its usual fix. Emitters name a row
//! ([`Finding::sized`](crate::analysis::findings::Finding::sized) takes one), so an id that is not
//! here cannot be reported; `--ignore`, `--fail-on` and `strata.toml` are checked against [`all`].
//! A new rule is one row here and the code that finds it.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::analysis::findings::{FindingKind, Severity};
use crate::catalog::rule_table;

/// One finding rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The stable id reports print and selectors name (`apt-lists`, `secret-aws-key`).
    pub id: &'static str,
    /// The leading words several ids share (`secret`, `wont-start`), which select all of them.
    pub family: Option<&'static str>,
    /// What its findings are about.
    pub kind: FindingKind,
    /// How urgent its findings are.
    pub severity: Severity,
    /// What it finds, for people (a secret's finding message starts with it).
    pub summary: &'static str,
    /// The usual fix, which a finding carries unless it knows a more precise one; `None` for the
    /// rules whose fix is in the advice (dependencies, dead bytes).
    pub fix: Option<&'static str>,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

/// A rule serializes as its id, so reports keep `"rule": "apt-lists"`.
impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id)
    }
}

/// Every finding rule: the table's rows, then each ecosystem's dependency rule (declared by the
/// ecosystem itself, [`crate::ecosystem::Ecosystem::rule`], so a new ecosystem brings its rule).
pub fn all() -> impl Iterator<Item = &'static Rule> + Clone {
    ALL.iter()
        .chain(crate::ecosystem::all().iter().map(|e| e.rule()))
}

/// The rule with id `id`.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    all().find(|r| r.id == id)
}

/// The rule of an ecosystem's dependency trees found in an app layer (the advice says where they
/// belong): its id is the ecosystem's name.
pub const fn dependency_rule(id: &'static str, summary: &'static str) -> Rule {
    Rule {
        id,
        family: None,
        kind: FindingKind::Dependencies,
        severity: Severity::Info,
        summary,
        fix: None,
    }
}

/// Every family, once, in table order.
pub fn families() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for family in all().filter_map(|r| r.family) {
        if !out.contains(&family) {
            out.push(family);
        }
    }
    out
}

const ROTATE: &str = "rotate it now (it stays downloadable in every pushed copy of this layer)";
const START_FIX: &str =
    "fix ENTRYPOINT/CMD, or install what it needs in the runtime stage (the finding names it)";

/// The table's rows in short form — `CONST = summary, id, family, kind, severity, fix;` — each
/// made a [`rule_table!`] row.
macro_rules! rows {
    ($( $konst:ident = $summary:literal, $id:literal, $family:expr, $kind:ident, $sev:ident, $fix:expr; )*) => {
        rule_table! { Rule; $(
            $konst = $summary {
                id: $id,
                family: $family,
                kind: FindingKind::$kind,
                severity: Severity::$sev,
                fix: $fix,
            }
        )* }
    };
}

const SECRET: Option<&str> = Some("secret");
const WONT_START: Option<&str> = Some("wont-start");

rows! {
    // Secrets: the value is never kept, only a fingerprint.
    SECRET_PRIVATE_KEY = "a private key", "secret-private-key", SECRET, Secret, High,
        Some("do not COPY keys into the image: mount them at run time (secret or volume) or use a BuildKit secret mount in the build; rotate it");
    SECRET_AWS_CREDENTIALS = "AWS credentials file", "secret-aws-credentials", SECRET, Secret, High,
        Some("use an IAM role or inject credentials at run time; never COPY ~/.aws; rotate the keys");
    SECRET_DOCKER_AUTH = "registry credentials (.docker/config.json auths)", "secret-docker-auth", SECRET, Secret, High,
        Some("log in at run time or use a credential helper; add .docker to .dockerignore; rotate the password/token");
    SECRET_NPM_TOKEN = "an npm token (.npmrc)", "secret-npm-token", SECRET, Secret, High,
        Some("use `RUN --mount=type=secret,id=npmrc,target=/root/.npmrc` instead of copying .npmrc; revoke the token");
    SECRET_PYPI_PASSWORD = "a PyPI password or token (.pypirc)", "secret-pypi-password", SECRET, Secret, High,
        Some("pass it through a BuildKit secret mount or the environment of the upload step only; revoke the token");
    SECRET_NETRC_PASSWORD = "a password in .netrc", "secret-netrc-password", SECRET, Secret, High,
        Some("use a BuildKit secret mount for .netrc; change the password");
    SECRET_GIT_CREDENTIALS = "git credentials (.git-credentials)", "secret-git-credentials", SECRET, Secret, High,
        Some("use a BuildKit secret or ssh mount to fetch; revoke the credential");
    SECRET_ENV_FILE = "a .env file", "secret-env-file", SECRET, Secret, High,
        Some("add .env* to .dockerignore and set variables at run time; rotate what it holds");
    SECRET_AWS_KEY = "an AWS access key id", "secret-aws-key", SECRET, Secret, High, Some(ROTATE);
    SECRET_GITHUB_TOKEN = "a GitHub token", "secret-github-token", SECRET, Secret, High, Some(ROTATE);
    SECRET_GITLAB_TOKEN = "a GitLab token", "secret-gitlab-token", SECRET, Secret, High, Some(ROTATE);
    SECRET_SLACK_TOKEN = "a Slack token", "secret-slack-token", SECRET, Secret, High, Some(ROTATE);

    // Permissions of the final filesystem and the config.
    SETUID = "a setuid file", "setuid", None, Permission, Medium,
        Some("remove the bit (`chmod u-s`) or the binary, unless the app needs it to gain privileges");
    SETGID = "a setgid file", "setgid", None, Permission, Low,
        Some("remove the bit (`chmod g-s`) unless the app needs it");
    WORLD_WRITABLE = "a world-writable file, or directory without the sticky bit", "world-writable", None, Permission, Medium,
        Some("`chmod o-w` it, or add the sticky bit (`chmod +t`) to a shared directory");
    RUNS_AS_ROOT = "the config sets no User, or root", "runs-as-root", None, Permission, Medium,
        Some("add a non-root user and `USER 65532` (or a named user) to the image config");

    // Will it start: each names what is missing (the fix a finding carries says what to do).
    WONT_START_NO_COMMAND = "the config sets neither Entrypoint nor Cmd", "wont-start-no-command", WONT_START, WontStart, Medium,
        Some("set ENTRYPOINT or CMD in the Dockerfile (exec form: `CMD [\"/app/server\"]`)");
    WONT_START_NOT_EXECUTABLE = "the program to run is not executable", "wont-start-not-executable", WONT_START, WontStart, High,
        Some("make it executable in the build (`chmod +x`, or `COPY --chmod=755`)");
    WONT_START_MISSING_PROGRAM = "the program to run is not in the image", "wont-start-missing-program", WONT_START, WontStart, High, Some(START_FIX);
    WONT_START_MISSING_INTERPRETER = "a script's #! interpreter is missing", "wont-start-missing-interpreter", WONT_START, WontStart, High, Some(START_FIX);
    WONT_START_ARCH = "a binary built for another architecture", "wont-start-arch", WONT_START, WontStart, High,
        Some("build it for the image's platform, or publish the image for the binary's");
    WONT_START_MISSING_LOADER = "a binary's dynamic loader is missing", "wont-start-missing-loader", WONT_START, WontStart, High,
        Some("use a runtime base with the same libc (glibc: debian-slim, distroless/base), or link statically (musl, `-static`, `-C target-feature=+crt-static`)");
    WONT_START_MISSING_LIBRARY = "a library a binary links is missing", "wont-start-missing-library", WONT_START, WontStart, High,
        Some("install the package that provides the library in the runtime stage, or link it statically");
    WONT_START_GLIBC_VERSION = "a binary needs a newer glibc than the image's", "wont-start-glibc-version", WONT_START, WontStart, High,
        Some("build on a base with the same or an older glibc than the runtime image (the same Debian release), or upgrade the runtime base");
    WONT_START_PYTHON_VERSION = "a virtualenv made by another Python than the one it runs", "wont-start-python-version", WONT_START, WontStart, High,
        Some("recreate the venv with the image's Python (or build it in the image), or use a base with the venv's Python");


    // Caches and junk.
    APT_LISTS = "apt package lists", "apt-lists", None, Cache, Info,
        Some("end the RUN that calls apt-get with `&& rm -rf /var/lib/apt/lists/*`");
    APT_CACHE = "apt's download cache", "apt-cache", None, Cache, Info,
        Some("run `apt-get clean` in the same RUN, or use a --mount=type=cache for /var/cache/apt");
    APK_CACHE = "apk's cache", "apk-cache", None, Cache, Info, Some("use `apk add --no-cache`");
    YUM_CACHE = "yum's cache", "yum-cache", None, Cache, Info,
        Some("run `yum clean all` in the same RUN that installs");
    DNF_CACHE = "dnf's cache", "dnf-cache", None, Cache, Info,
        Some("run `dnf clean all` in the same RUN that installs (or `--setopt=keepcache=0`)");
    PACMAN_CACHE = "pacman's cache", "pacman-cache", None, Cache, Info,
        Some("run `pacman -Scc --noconfirm` in the same RUN that installs");
    ZYPPER_CACHE = "zypper's cache", "zypper-cache", None, Cache, Info,
        Some("run `zypper clean --all` in the same RUN that installs");
    CONDA_CACHE = "conda's package cache", "conda-cache", None, Cache, Info,
        Some("run `conda clean --all --yes` in the same RUN that installs");
    PIP_CACHE = "pip's download cache", "pip-cache", None, Cache, Info,
        Some("use `pip install --no-cache-dir` (or a --mount=type=cache for ~/.cache/pip)");
    UV_CACHE = "uv's cache", "uv-cache", None, Cache, Info,
        Some("set UV_NO_CACHE=1 or use a --mount=type=cache for ~/.cache/uv");
    NPM_CACHE = "npm's cache", "npm-cache", None, Cache, Info,
        Some("run `npm cache clean --force` in the same RUN, or use a --mount=type=cache for ~/.npm");
    YARN_CACHE = "yarn's cache", "yarn-cache", None, Cache, Info,
        Some("run `yarn cache clean` in the same RUN, or use a --mount=type=cache");
    CARGO_CACHE = "cargo's registry and git checkouts", "cargo-cache", None, Cache, Info,
        Some("build in a separate stage and copy only the binary, or use a --mount=type=cache for ~/.cargo/registry");
    GO_MOD_CACHE = "Go's module download cache", "go-mod-cache", None, Cache, Info,
        Some("build in a separate stage, or use a --mount=type=cache for /go/pkg/mod");
    COMPOSER_CACHE = "Composer's cache", "composer-cache", None, Cache, Info,
        Some("use `composer install --no-cache` or `composer clear-cache` in the same RUN");
    GEM_CACHE = "RubyGems' download cache", "gem-cache", None, Cache, Info,
        Some("use `gem install --no-document` and `rm -rf \"$(gem env gemdir)\"/cache` (or `bundle install` then `rm -rf /usr/local/bundle/cache`) in the same RUN");
    MAVEN_CACHE = "Maven's local repository", "maven-cache", None, Cache, Info,
        Some("build in a separate stage and copy only the jar, or use a --mount=type=cache for ~/.m2");
    GRADLE_CACHE = "Gradle's caches", "gradle-cache", None, Cache, Info,
        Some("build in a separate stage and copy only the jar, or use a --mount=type=cache for ~/.gradle");
    TOOL_CACHE = "caches of build and test tools", "tool-cache", None, Cache, Info,
        Some("add the cache directory to .dockerignore, or delete it in the RUN that builds");
    GO_BUILD_CACHE = "Go's build cache", "go-build-cache", None, Cache, Info,
        Some("build in a separate stage, or use a --mount=type=cache for ~/.cache/go-build");
    PYCACHE = "Python bytecode caches", "pycache", None, Cache, Info,
        Some("set PYTHONDONTWRITEBYTECODE=1 while installing, or add __pycache__ to .dockerignore");
    GIT = "git metadata", "git", None, Cache, Info, Some("add .git to .dockerignore");
    TMP = "temporary files", "tmp", None, Cache, Info,
        Some("delete temporary files in the same RUN that creates them");

    // Dead bytes: shipped, but hidden by a later layer (the advice says how to not ship them).
    OVERWRITTEN = "a file a later layer overwrites", "overwritten", None, DeadBytes, Info, None;
    DELETED = "a file a later layer deletes", "deleted", None, DeadBytes, Info, None;

    // Bloat in the final filesystem.
    DUPLICATE = "identical files", "duplicate", None, Bloat, Info,
        Some("keep one copy and make the others links (`ln -sf /KEPT /COPY`, or hard links in the same layer), or COPY the file once (from a build stage) instead of again in a later step");
    DOCS = "documentation, man pages and translations", "docs", None, Bloat, Info,
        Some("keep documentation out of the image (dpkg path-exclude before installing, or delete it in the same RUN)");
    LOGS = "log files", "logs", None, Bloat, Info,
        Some("delete logs in the RUN that writes them (`find /var/log -type f -delete`), and log to stdout at run time");
    DEV_ARTIFACTS = "headers, static libraries, tests, source maps and debug builds", "dev-artifacts", None, Bloat, Info,
        Some("build in a separate stage and copy only what runs");
    TOOLCHAIN = "compilers and build toolchains", "toolchain", None, Bloat, Info,
        Some("build in a separate stage (`FROM … AS build`) and `COPY --from=build` only what runs");
    JUNK = "editor and OS files", "junk", None, Bloat, Info,
        Some("add them to .dockerignore (`**/.DS_Store`, `**/*.swp`, `**/*~`, `.idea`, `.vscode`)");
    LARGE_RECENT_FILE = "a large file in one of the latest layers", "large-recent-file", None, Bloat, Info,
        Some("if it is not needed at run time, keep it out (.dockerignore, or a build stage); if it is, COPY it in an earlier step of its own so code-only deploys do not download it again");
    OVERSIZED_LAYER = "a layer holding a large share of the image", "oversized-layer", None, Bloat, Info,
        Some("split it (dependencies in a layer of their own, the code on top), or choose a slimmer base");
    UNSTRIPPED = "ELF files with symbols or debug information", "unstripped", None, Bloat, Info,
        Some("strip in the build stage (`strip --strip-unneeded FILE`, `install -s`), or for Rust set `[profile.release] strip = true`");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = all().map(|r| r.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "a rule id is listed twice");
    }

    #[test]
    fn a_family_is_the_leading_words_of_its_ids_and_not_an_id() {
        for rule in all() {
            if let Some(family) = rule.family {
                assert!(rule.id.starts_with(&format!("{family}-")), "{}", rule.id);
            }
        }
        for family in families() {
            assert!(
                by_id(family).is_none(),
                "{family} is both a family and an id"
            );
        }
    }

    #[test]
    fn rules_serialize_as_their_id() {
        assert_eq!(serde_json::to_string(&APT_LISTS).unwrap(), "\"apt-lists\"");
        assert_eq!(by_id("deleted"), Some(&DELETED));
        assert_eq!(RUNS_AS_ROOT.to_string(), "runs-as-root");
    }
}
