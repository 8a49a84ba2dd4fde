//! Bloat recognized by path: build toolchains (`toolchain`), development artifacts
//! (`dev-artifacts`), documentation and translations (`docs`), logs (`logs`) and editor/OS files
//! (`junk`). Each visible file is claimed by the first pattern that matches it (toolchains first,
//! so GCC's own `libgcc.a` is toolchain, not a static library), files a cache rule claims are
//! left to the cache findings, and a finding groups one pattern's files per layer and directory.

use std::collections::BTreeMap;

use crate::analysis::bloat::BloatInput;
use crate::analysis::caches::{component_root, is_cache, under};
use crate::analysis::findings::{Finding, Reclaim};
use crate::analysis::rules::{self, Rule};
use crate::units::human_bytes;

/// The locales a `docs` finding leaves alone: English, C/POSIX, and the languages the config's
/// `LANG`, `LC_ALL`, `LC_MESSAGES` and `LANGUAGE` name.
struct Locales(Vec<String>);

impl Locales {
    fn from_env(env: &[String]) -> Locales {
        let mut kept = vec!["en".to_string()];
        for var in env {
            let Some((name, value)) = var.split_once('=') else {
                continue;
            };
            if !matches!(name, "LANG" | "LC_ALL" | "LC_MESSAGES" | "LANGUAGE") {
                continue;
            }
            for item in value.split(':') {
                let lang = language(item);
                if !lang.is_empty()
                    && !matches!(lang, "C" | "POSIX")
                    && !kept.iter().any(|k| k == lang)
                {
                    kept.push(lang.to_string());
                }
            }
        }
        Locales(kept)
    }

    fn keeps(&self, dir: &str) -> bool {
        let lang = language(dir);
        matches!(lang, "C" | "POSIX") || self.0.iter().any(|k| k == lang)
    }
}

/// The language of a locale name: `de_DE.UTF-8@euro` → `de`.
fn language(locale: &str) -> &str {
    locale.split(['_', '.', '@']).next().unwrap_or_default()
}

struct Pattern {
    rule: &'static Rule,
    what: &'static str,
    fix: &'static str,
    /// List the file names in the message (for tools, whose names say more than their sizes).
    names: bool,
    /// The directory or pattern to report when `path` belongs to this pattern.
    matches: fn(&str, &Locales) -> Option<String>,
}

const STAGE_FIX: &str = "build in a separate stage (`FROM … AS build`) and `COPY --from=build` only what runs; in one stage, remove the build packages in the RUN that installed them (`apt-get purge -y --auto-remove build-essential`, `apk del .build-deps`)";

/// Build tools by the name they are installed under (versions and target triplets stripped).
const BUILD_TOOLS: &[&str] = &[
    "gcc",
    "g++",
    "cc",
    "c++",
    "cpp",
    "clang",
    "clang++",
    "as",
    "ld",
    "ld.bfd",
    "ld.gold",
    "ld.lld",
    "ar",
    "nm",
    "objcopy",
    "objdump",
    "ranlib",
    "strip",
    "readelf",
    "addr2line",
    "make",
    "cmake",
    "ninja",
    "meson",
    "autoconf",
    "autoreconf",
    "automake",
    "libtool",
    "libtoolize",
    "m4",
    "bison",
    "flex",
    "yacc",
    "pkg-config",
    "pkgconf",
    "rustc",
    "cargo",
    "go",
    "gofmt",
    "javac",
    "jar",
    "mvn",
    "gradle",
    "python-config",
    "pip",
    "wheel",
];

const BIN_DIRS: &[&str] = &[
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
    "usr/local/bin",
    "usr/local/sbin",
];

/// `x86_64-linux-gnu-gcc-12` → `gcc`, `python3.12-config` → `python-config`, `pip3.12` → `pip`.
fn tool_name(file: &str) -> &str {
    let file = match file.find("-linux-") {
        Some(i) => file[i + 7..].split_once('-').map_or(file, |(_, rest)| rest),
        None => file,
    };
    let file = match file.rsplit_once('-') {
        Some((base, version))
            if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') =>
        {
            base
        }
        _ => file,
    };
    if file.starts_with("python") && file.ends_with("-config") {
        return "python-config";
    }
    let unversioned = file.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if unversioned == "pip" {
        return "pip";
    }
    file
}

fn build_tool(path: &str, _: &Locales) -> Option<String> {
    let (dir, file) = path.rsplit_once('/')?;
    (BIN_DIRS.contains(&dir) && BUILD_TOOLS.contains(&tool_name(file))).then(|| format!("/{dir}"))
}

fn rooted_under(path: &str, dirs: &[&str]) -> Option<String> {
    dirs.iter()
        .find(|d| under(path, d))
        .map(|d| format!("/{d}"))
}

/// The directory `prefix*` (one component, like `usr/lib/go-1.19`) holding `path`.
fn versioned_root(path: &str, prefix: &str) -> Option<String> {
    let rest = path.strip_prefix(prefix)?;
    let (version, below) = rest.split_once('/')?;
    (!below.is_empty()).then(|| format!("/{prefix}{version}"))
}

/// Python's packaging tools inside `site-packages`/`dist-packages`, with their `.dist-info`.
fn python_packaging(path: &str, _: &Locales) -> Option<String> {
    if !path.contains("-packages/") {
        return None;
    }
    let parts: Vec<&str> = path.split('/').collect();
    let at = parts
        .iter()
        .position(|c| matches!(*c, "site-packages" | "dist-packages"))?;
    let top = *parts.get(at + 1)?;
    if parts.len() < at + 3 {
        return None;
    }
    let name = top.split_once('-').map_or(top, |(n, _)| n);
    let tool = match name {
        "pip" | "setuptools" | "wheel" => name,
        "pkg_resources" | "_distutils_hack" => "setuptools",
        _ => return None,
    };
    if top != name && !top.ends_with(".dist-info") {
        return None;
    }
    Some(format!("/{}/{tool}", parts[..=at].join("/")))
}

/// Test suites inside installed packages: `tests`, `test`, `__tests__`, `idle_test` directories
/// within a package of `node_modules`/`site-packages`/`dist-packages` (a package named `test` is
/// not one), or anywhere in Python's standard library (`lib/python3.12/test`).
fn test_suite(path: &str, _: &Locales) -> Option<String> {
    if !path.contains("test") {
        return None;
    }
    let parts: Vec<&str> = path.split('/').collect();
    let packages = parts
        .iter()
        .position(|c| matches!(*c, "site-packages" | "dist-packages" | "node_modules"));
    let (root, first) = match packages {
        Some(at) => {
            let scoped = parts.get(at + 1).is_some_and(|p| p.starts_with('@'));
            (at, at + 2 + usize::from(scoped))
        }
        None => {
            let at = parts.iter().position(|c| {
                c.strip_prefix("python")
                    .is_some_and(|v| v.starts_with(['2', '3']) && v.contains('.'))
            })?;
            (at, at + 1)
        }
    };
    // Directories only: the file itself may be called `test`.
    let dirs = parts.get(first..parts.len() - 1)?;
    let test = dirs
        .iter()
        .find(|c| matches!(**c, "tests" | "test" | "__tests__" | "idle_test"))?;
    Some(format!("/{}/**/{test}", parts[..=root].join("/")))
}

/// Everything under the system include directories, and C/C++ headers anywhere else (reported
/// by their `include` directory, or as a pattern when they sit among sources).
fn headers(path: &str, _: &Locales) -> Option<String> {
    rooted_under(path, &["usr/include", "usr/local/include"]).or_else(|| {
        [".h", ".hh", ".hpp", ".hxx"]
            .iter()
            .any(|ext| path.ends_with(ext))
            .then(|| component_root(path, "include").unwrap_or_else(|| "**/*.{h,hpp}".to_string()))
    })
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn static_library(path: &str, _: &Locales) -> Option<String> {
    let f = file_name(path);
    [".a", ".la", ".o"]
        .iter()
        .any(|ext| f.len() > ext.len() && f.ends_with(ext))
        .then(|| "**/*.{a,la,o}".to_string())
}

fn documentation(path: &str, _: &Locales) -> Option<String> {
    let f = file_name(path);
    // Licence texts stay: distributions require them (`/usr/share/doc/*/copyright`).
    let licence = f == "copyright" || f.starts_with("LICENSE") || f.starts_with("COPYING");
    if licence {
        return None;
    }
    rooted_under(
        path,
        &["usr/share/doc", "usr/local/share/doc", "usr/share/gtk-doc"],
    )
}

fn translations(path: &str, locales: &Locales) -> Option<String> {
    ["usr/share/locale", "usr/local/share/locale"]
        .iter()
        .find_map(|root| {
            let rest = path.strip_prefix(root)?.strip_prefix('/')?;
            let (dir, below) = rest.split_once('/')?;
            (!below.is_empty() && !locales.keeps(dir)).then(|| format!("/{root}"))
        })
}

fn editor_junk(path: &str, _: &Locales) -> Option<String> {
    let f = file_name(path);
    let junk = matches!(f, ".DS_Store" | "Thumbs.db" | "desktop.ini")
        || f.ends_with(".swp")
        || f.ends_with(".swo")
        || f.ends_with('~')
        || component_root(path, ".idea").is_some()
        || component_root(path, ".vscode").is_some();
    junk.then(|| "**/{.DS_Store,Thumbs.db,*.swp,*~,.idea,.vscode}".to_string())
}

const PATTERNS: &[Pattern] = &[
    Pattern {
        rule: &rules::TOOLCHAIN,
        what: "GCC compiler internals (cc1, lto1, crt objects)",
        fix: STAGE_FIX,
        names: false,
        matches: |p, _| rooted_under(p, &["usr/lib/gcc", "usr/libexec/gcc", "usr/local/libexec/gcc"]),
    },
    Pattern {
        rule: &rules::TOOLCHAIN,
        what: "the LLVM/Clang toolchain",
        fix: STAGE_FIX,
        names: false,
        matches: |p, _| {
            let root = versioned_root(p, "usr/lib/llvm-")?;
            let inner = &p[root.len()..];
            (inner.starts_with("bin/") || inner.starts_with("include/") || inner.starts_with("lib/clang/"))
                .then_some(root)
        },
    },
    Pattern {
        rule: &rules::TOOLCHAIN,
        what: "the Rust toolchain (rustup, cargo, rustc)",
        fix: STAGE_FIX,
        names: false,
        matches: |p, _| {
            rooted_under(p, &["usr/local/rustup", "usr/local/cargo/bin"])
                .or_else(|| component_root(p, ".rustup"))
                .or_else(|| component_root(p, ".cargo/bin"))
        },
    },
    Pattern {
        rule: &rules::TOOLCHAIN,
        what: "the Go toolchain (GOROOT)",
        fix: STAGE_FIX,
        names: false,
        matches: |p, _| rooted_under(p, &["usr/local/go"]).or_else(|| versioned_root(p, "usr/lib/go-")),
    },
    Pattern {
        rule: &rules::TOOLCHAIN,
        what: "JDK modules (jmods: only jlink reads them)",
        fix: "run on a JRE, or a runtime made by `jlink --add-modules …`, instead of the full JDK",
        names: false,
        matches: |p, _| p.ends_with(".jmod").then(|| component_root(p, "jmods")).flatten(),
    },
    Pattern {
        rule: &rules::TOOLCHAIN,
        what: "CMake's modules",
        fix: STAGE_FIX,
        names: false,
        matches: |p, _| versioned_root(p, "usr/share/cmake-"),
    },
    Pattern {
        rule: &rules::TOOLCHAIN,
        what: "Python packaging tools",
        fix: "leave them out of the environment the image ships: `pip uninstall -y pip setuptools wheel` after the last install, or make the virtualenv without them (`python3 -m venv --without-pip`, `uv venv`); keep pip only if the container installs packages at run time (a notebook or dev image), and setuptools if the app imports pkg_resources",
        names: false,
        matches: python_packaging,
    },
    Pattern {
        rule: &rules::TOOLCHAIN,
        what: "compilers and build tools",
        fix: STAGE_FIX,
        names: true,
        matches: build_tool,
    },
    Pattern {
        rule: &rules::DEV_ARTIFACTS,
        what: "C/C++ headers",
        fix: "install runtime packages, not `-dev` ones, in the final stage (build in a separate stage)",
        names: false,
        matches: headers,
    },
    Pattern {
        rule: &rules::DEV_ARTIFACTS,
        what: "static libraries and object files",
        fix: "link in a build stage and copy only the result, or `find / -xdev \\( -name '*.a' -o -name '*.la' -o -name '*.o' \\) -delete` in the RUN that installs them",
        names: false,
        matches: static_library,
    },
    Pattern {
        rule: &rules::DEV_ARTIFACTS,
        what: "pkg-config files",
        fix: "install runtime packages, not `-dev` ones, in the final stage",
        names: false,
        matches: |p, _| p.ends_with(".pc").then(|| component_root(p, "pkgconfig")).flatten(),
    },
    Pattern {
        rule: &rules::DEV_ARTIFACTS,
        what: "test suites of installed packages",
        fix: "delete them in the RUN that installs: `find DIR -depth -type d \\( -name tests -o -name test -o -name __tests__ -o -name idle_test \\) -exec rm -rf {} +`",
        names: false,
        matches: test_suite,
    },
    Pattern {
        rule: &rules::DEV_ARTIFACTS,
        what: "source maps",
        fix: "build without source maps for production (or delete `*.map` in the build stage)",
        names: false,
        matches: |p, _| {
            [".js.map", ".mjs.map", ".cjs.map", ".css.map"]
                .iter()
                .any(|ext| p.ends_with(ext))
                .then(|| "**/*.map".to_string())
        },
    },
    Pattern {
        rule: &rules::DEV_ARTIFACTS,
        what: "a debug build",
        fix: "build with `--release` in a separate stage and copy only the binary",
        names: false,
        matches: |p, _| component_root(p, "target/debug"),
    },
    Pattern {
        rule: &rules::DOCS,
        what: "documentation",
        fix: "add `path-exclude /usr/share/doc/*` and `path-include /usr/share/doc/*/copyright` to /etc/dpkg/dpkg.cfg.d/nodoc before installing, or delete it in the same RUN",
        names: false,
        matches: documentation,
    },
    Pattern {
        rule: &rules::DOCS,
        what: "man pages",
        fix: "add `path-exclude /usr/share/man/*` to /etc/dpkg/dpkg.cfg.d/nodoc before installing, or `rm -rf /usr/share/man/*` in the same RUN",
        names: false,
        matches: |p, _| rooted_under(p, &["usr/share/man", "usr/local/share/man"]),
    },
    Pattern {
        rule: &rules::DOCS,
        what: "info pages",
        fix: "add `path-exclude /usr/share/info/*` to /etc/dpkg/dpkg.cfg.d/nodoc before installing, or `rm -rf /usr/share/info/*` in the same RUN",
        names: false,
        matches: |p, _| rooted_under(p, &["usr/share/info", "usr/local/share/info"]),
    },
    Pattern {
        rule: &rules::DOCS,
        what: TRANSLATIONS,
        fix: "add `path-exclude /usr/share/locale/*` and `path-include /usr/share/locale/en*` (and your language) to /etc/dpkg/dpkg.cfg.d/nolocale before installing",
        names: false,
        matches: translations,
    },
    Pattern {
        rule: &rules::LOGS,
        what: "log files",
        fix: "delete logs in the RUN that writes them (`find /var/log -type f -delete`), and log to stdout at run time",
        names: false,
        matches: |p, _| {
            rooted_under(p, &["var/log"]).or_else(|| p.ends_with(".log").then(|| "**/*.log".to_string()))
        },
    },
    Pattern {
        rule: &rules::JUNK,
        what: "editor and OS files",
        fix: "add them to .dockerignore (`**/.DS_Store`, `**/*.swp`, `**/*~`, `.idea`, `.vscode`)",
        names: false,
        matches: editor_junk,
    },
];

const TRANSLATIONS: &str = "translations";

/// The first pattern claiming `path`: its index and the directory to report.
fn classify(path: &str, locales: &Locales) -> Option<(usize, String)> {
    PATTERNS
        .iter()
        .enumerate()
        .find_map(|(i, p)| (p.matches)(path, locales).map(|g| (i, g)))
}

/// A pattern's files in one layer and reported directory: (entry index, bytes, path).
type Files<'a> = Vec<(usize, u64, &'a str)>;

/// One finding per pattern, layer and reported directory, over the visible files.
pub fn find_path_bloat(input: &BloatInput) -> Vec<Finding> {
    let locales = Locales::from_env(input.env);
    let mut groups: BTreeMap<(usize, usize, String), Files> = BTreeMap::new();
    for (layer, index, e) in input.visible_files() {
        if is_cache(&e.path) {
            continue;
        }
        if let Some((pattern, group)) = classify(&e.path, &locales) {
            groups
                .entry((pattern, layer, group))
                .or_default()
                .push((index, e.size, &e.path));
        }
    }
    groups
        .into_iter()
        .map(|((pattern, layer, group), mut files)| {
            let p = &PATTERNS[pattern];
            files.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.2.cmp(b.2)));
            let bytes: u64 = files.iter().map(|f| f.1).sum();
            let detail = if p.names {
                let mut names: Vec<&str> = files.iter().map(|f| file_name(f.2)).collect();
                names.dedup();
                let more = if names.len() > 6 { ", …" } else { "" };
                names.truncate(6);
                format!(": {}{more}", names.join(", "))
            } else {
                format!(", largest /{} ({})", files[0].2, human_bytes(files[0].1))
            };
            let kept = if p.what == TRANSLATIONS {
                format!(" (keeping {})", locales.0.join(", "))
            } else {
                String::new()
            };
            Finding {
                message: format!(
                    "{} of {}{kept} in {} in {} {layer}{detail}",
                    human_bytes(bytes),
                    p.what,
                    match files.len() {
                        1 => "1 file".to_string(),
                        n => format!("{n} files"),
                    },
                    input.layers[layer].role.layer_name(),
                ),
                fix: Some(p.fix.to_string()),
                reclaims: files
                    .iter()
                    .map(|&(entry, bytes, _)| Reclaim {
                        layer,
                        entry,
                        bytes,
                    })
                    .collect(),
                ..Finding::sized(p.rule, layer, group, bytes)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_of(path: &str, env: &[&str]) -> Option<(&'static str, String)> {
        let env: Vec<String> = env.iter().map(|s| s.to_string()).collect();
        classify(path, &Locales::from_env(&env)).map(|(i, g)| (PATTERNS[i].rule.id, g))
    }

    fn claims(path: &str) -> Option<(&'static str, String)> {
        rule_of(path, &[])
    }

    #[test]
    fn toolchains_are_found_by_location_and_tool_name() {
        for (path, group) in [
            ("usr/lib/gcc/x86_64-linux-gnu/12/cc1", "/usr/lib/gcc"),
            (
                "usr/libexec/gcc/x86_64-linux-gnu/12/cc1plus",
                "/usr/libexec/gcc",
            ),
            ("usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a", "/usr/lib/gcc"),
            ("usr/bin/x86_64-linux-gnu-gcc-12", "/usr/bin"),
            ("usr/bin/g++-12", "/usr/bin"),
            ("usr/bin/make", "/usr/bin"),
            ("usr/bin/python3.12-config", "/usr/bin"),
            ("usr/local/bin/pip3.12", "/usr/local/bin"),
            ("usr/lib/llvm-15/bin/clang", "/usr/lib/llvm-15"),
            (
                "usr/local/rustup/toolchains/stable/lib/librustc_driver.so",
                "/usr/local/rustup",
            ),
            ("root/.rustup/toolchains/x/bin/rustc", "/root/.rustup"),
            ("usr/local/cargo/bin/cargo", "/usr/local/cargo/bin"),
            ("usr/local/go/pkg/tool/linux_amd64/compile", "/usr/local/go"),
            ("usr/lib/go-1.19/bin/go", "/usr/lib/go-1.19"),
            (
                "opt/java/openjdk/jmods/java.base.jmod",
                "/opt/java/openjdk/jmods",
            ),
            (
                "usr/share/cmake-3.25/Modules/FindX.cmake",
                "/usr/share/cmake-3.25",
            ),
            (
                "usr/local/lib/python3.12/site-packages/pip/__init__.py",
                "/usr/local/lib/python3.12/site-packages/pip",
            ),
            (
                "usr/local/lib/python3.12/site-packages/setuptools-69.0.dist-info/RECORD",
                "/usr/local/lib/python3.12/site-packages/setuptools",
            ),
            (
                "usr/lib/python3/dist-packages/pkg_resources/__init__.py",
                "/usr/lib/python3/dist-packages/setuptools",
            ),
        ] {
            assert_eq!(
                claims(path),
                Some(("toolchain", group.to_string())),
                "{path}"
            );
        }
        for runtime in [
            "usr/bin/python3.12",
            "usr/bin/gcc-wrapper-docs",
            "usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
            "usr/lib/llvm-15/lib/libLLVM-15.so",
            "usr/local/lib/python3.12/site-packages/pipx/__init__.py",
            "usr/local/lib/python3.12/site-packages/wheelhouse.py",
            "app/bin/make.sh",
            "usr/local/go.mod",
        ] {
            assert_eq!(claims(runtime), None, "{runtime}");
        }
    }

    #[test]
    fn development_artifacts_are_headers_static_libraries_pkgconfig_tests_maps_debug_builds() {
        for (path, group) in [
            ("usr/include/stdio.h", "/usr/include"),
            (
                "usr/local/include/python3.12/Python.h",
                "/usr/local/include",
            ),
            (
                "usr/local/lib/python3.12/site-packages/numpy/_core/include/numpy/ndarraytypes.h",
                "/usr/local/lib/python3.12/site-packages/numpy/_core/include",
            ),
            ("usr/lib/x86_64-linux-gnu/libssl.a", "**/*.{a,la,o}"),
            ("usr/lib/x86_64-linux-gnu/libz.la", "**/*.{a,la,o}"),
            (
                "usr/lib/x86_64-linux-gnu/pkgconfig/zlib.pc",
                "/usr/lib/x86_64-linux-gnu/pkgconfig",
            ),
            (
                "usr/local/lib/python3.12/site-packages/pandas/tests/frame/test_api.py",
                "/usr/local/lib/python3.12/site-packages/**/tests",
            ),
            (
                "usr/local/lib/python3.12/test/test_os.py",
                "/usr/local/lib/python3.12/**/test",
            ),
            (
                "app/node_modules/lodash/test/x.js",
                "/app/node_modules/**/test",
            ),
            (
                "app/node_modules/a/__tests__/b.js",
                "/app/node_modules/**/__tests__",
            ),
            ("app/dist/main.js.map", "**/*.map"),
            ("app/target/debug/app", "/app/target/debug"),
            ("app/src/vendor/foo.hpp", "**/*.{h,hpp}"),
        ] {
            assert_eq!(
                claims(path),
                Some(("dev-artifacts", group.to_string())),
                "{path}"
            );
        }
        for runtime in [
            "usr/local/lib/python3.12/site-packages/numpy/testing/utils.py",
            "usr/local/lib/python3.12/site-packages/numpy/core/_multiarray_umath.so",
            "app/node_modules/test/index.js",
            "app/tests/test_app.py",
            "usr/share/map/world.map",
            "app/data.a.json",
            "app/target/release/app",
            "usr/local/lib/python3.12/site-packages/mypkg/include.py",
        ] {
            assert_eq!(claims(runtime), None, "{runtime}");
        }
    }

    #[test]
    fn docs_keep_licences_english_and_the_configured_language() {
        assert_eq!(
            claims("usr/share/doc/bash/README.gz"),
            Some(("docs", "/usr/share/doc".into()))
        );
        assert_eq!(
            claims("usr/share/man/man1/ls.1.gz"),
            Some(("docs", "/usr/share/man".into()))
        );
        assert_eq!(
            claims("usr/share/info/grep.info.gz"),
            Some(("docs", "/usr/share/info".into()))
        );
        assert_eq!(
            claims("usr/share/locale/fr/LC_MESSAGES/bash.mo"),
            Some(("docs", "/usr/share/locale".into()))
        );
        assert_eq!(claims("usr/share/doc/bash/copyright"), None);
        assert_eq!(claims("usr/share/locale/en_GB/LC_MESSAGES/bash.mo"), None);
        assert_eq!(claims("usr/share/locale/locale.alias"), None);
        let german = ["PATH=/usr/bin", "LANG=de_DE.UTF-8"];
        assert_eq!(
            rule_of("usr/share/locale/de/LC_MESSAGES/bash.mo", &german),
            None
        );
        assert!(rule_of("usr/share/locale/de/LC_MESSAGES/bash.mo", &[]).is_some());
    }

    #[test]
    fn logs_and_junk() {
        assert_eq!(
            claims("var/log/dpkg.log"),
            Some(("logs", "/var/log".into()))
        );
        assert_eq!(
            claims("var/log/apt/eipp.log.xz"),
            Some(("logs", "/var/log".into()))
        );
        assert_eq!(claims("app/build.log"), Some(("logs", "**/*.log".into())));
        assert_eq!(claims("app/logger.py"), None);
        assert_eq!(claims("app/.DS_Store").map(|c| c.0), Some("junk"));
        assert_eq!(claims("app/main.py~").map(|c| c.0), Some("junk"));
        assert_eq!(claims("app/.idea/workspace.xml").map(|c| c.0), Some("junk"));
        assert_eq!(claims("app/idea.txt"), None);
    }

    #[test]
    fn tool_names_drop_triplets_and_versions() {
        assert_eq!(tool_name("x86_64-linux-gnu-gcc-12"), "gcc");
        assert_eq!(tool_name("aarch64-alpine-linux-musl-g++"), "g++");
        assert_eq!(tool_name("clang-15"), "clang");
        assert_eq!(tool_name("python3.11-config"), "python-config");
        assert_eq!(tool_name("pip3"), "pip");
        assert_eq!(tool_name("python3"), "python3");
    }
}
