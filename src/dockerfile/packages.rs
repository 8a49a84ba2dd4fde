//! Size rules for package managers in shipped stages: apt lists and apk/dnf/yum caches left in
//! the layer (SL003), pip's cache (SL004), and apt's recommended packages (SL005). A BuildKit
//! cache mount over the cache directory counts as cleaning it: the files never reach the layer.

use crate::dockerfile::parse::Instruction;
use crate::dockerfile::rules::{Hit, INSTALL_RECOMMENDS, PACKAGE_CACHE_LEFT, PIP_CACHE};
use crate::dockerfile::shell::{run_commands, Command};
use crate::dockerfile::stages::Stage;

/// Whether `path` is `dir` or inside it.
pub fn within(dir: &str, path: &str) -> bool {
    let dir = dir.trim_end_matches(['/', '*']).trim_end_matches('/');
    !dir.is_empty() && (path == dir || path.starts_with(&format!("{dir}/")))
}

/// Whether a cache or tmpfs mount of the `RUN` covers `path`.
fn mounted(run: &Instruction, path: &str) -> bool {
    run.mounts()
        .iter()
        .any(|m| matches!(m.kind.as_str(), "cache" | "tmpfs") && within(&m.target, path))
}

/// Whether a command after `after` removes `path` (`rm -rf /var/lib/apt/lists/*`).
fn removed_after(cmds: &[Command], after: usize, path: &str) -> bool {
    cmds[after + 1..]
        .iter()
        .any(|c| c.program() == "rm" && c.operands().any(|o| within(o, path)))
}

/// Whether a word names pip (`pip`, `pip3`, `pip3.12`).
fn is_pip(word: &str) -> bool {
    word.strip_prefix("pip")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The arguments after `install` of a `pip install` / `python -m pip install`.
pub fn pip_install_args(c: &Command) -> Option<&[String]> {
    let w = &c.words;
    let rest = if is_pip(c.program()) {
        &w[1..]
    } else if c.program().starts_with("python")
        && w.get(1).is_some_and(|m| m == "-m")
        && w.get(2).is_some_and(|p| is_pip(p))
    {
        &w[3..]
    } else {
        return None;
    };
    let at = rest.iter().position(|x| !x.starts_with('-'))?;
    (rest[at] == "install").then(|| &rest[at + 1..])
}

fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// Whether an `ENV` sets `PIP_NO_CACHE_DIR` to a true value.
fn env_disables_pip_cache(env: &Instruction) -> bool {
    let words = env.words();
    let pairs: Vec<(String, String)> = match words.as_slice() {
        [name, value] if !name.contains('=') => vec![(name.clone(), value.clone())],
        _ => words
            .iter()
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    pairs
        .iter()
        .any(|(k, v)| k == "PIP_NO_CACHE_DIR" && truthy(v))
}

fn is_apt_install(c: &Command) -> bool {
    matches!(c.program(), "apt-get" | "apt") && c.subcommand() == Some("install")
}

/// The cache a package-manager command leaves behind unless it is removed or mounted.
fn leftover_cache(
    cmds: &[Command],
    at: usize,
    run: &Instruction,
) -> Option<(&'static str, String)> {
    let c = &cmds[at];
    let clean = |path: &str| removed_after(cmds, at, path) || mounted(run, path);
    match (c.program(), c.subcommand()) {
        ("apt-get" | "apt", Some("install")) if !clean("/var/lib/apt/lists") => Some((
            "apt lists (/var/lib/apt/lists) stay in the layer",
            "end the same RUN with `&& rm -rf /var/lib/apt/lists/*`, or mount --mount=type=cache,target=/var/lib/apt and /var/cache/apt".into(),
        )),
        ("apk", Some("add")) if !c.has("--no-cache") && !clean("/var/cache/apk") => Some((
            "apk's package cache (/var/cache/apk) stays in the layer",
            "use `apk add --no-cache`".into(),
        )),
        (pm @ ("dnf" | "yum" | "microdnf"), Some("install")) => {
            let cache = format!("/var/cache/{}", if pm == "yum" { "yum" } else { "dnf" });
            let cleaned = cmds[at + 1..]
                .iter()
                .any(|x| x.program() == pm && x.subcommand() == Some("clean"));
            (!cleaned && !clean(&cache)).then(|| {
                ("the package manager's cache stays in the layer", format!("end the same RUN with `&& {pm} clean all && rm -rf {cache}`"))
            })
        }
        _ => None,
    }
}

/// The size rules over every shipped stage.
pub fn check(stages: &[Stage]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut pip_env = vec![false; stages.len()];
    for (index, stage) in stages.iter().enumerate() {
        let mut no_pip_cache = stage.base_stage.is_some_and(|b| pip_env[b]);
        for ins in &stage.body {
            if ins.keyword == "ENV" {
                no_pip_cache |= env_disables_pip_cache(ins);
            }
            if ins.keyword != "RUN" || !stage.ships {
                continue;
            }
            let cmds = run_commands(ins);
            if let Some((what, fix)) = (0..cmds.len()).find_map(|at| leftover_cache(&cmds, at, ins))
            {
                hits.push(Hit::new(
                    PACKAGE_CACHE_LEFT,
                    ins.line,
                    format!("{what}: they are shipped with the image"),
                    fix,
                ));
            }
            let pip_cached = cmds.iter().any(|c| {
                pip_install_args(c).is_some()
                    && !c.has("--no-cache-dir")
                    && !no_pip_cache
                    && !c
                        .env
                        .iter()
                        .any(|(k, v)| k == "PIP_NO_CACHE_DIR" && truthy(v))
            });
            let pip_mounted = ins.mounts().iter().any(|m| {
                m.kind == "cache" && {
                    let t = m.target.trim_end_matches('/');
                    t.ends_with("/.cache/pip") || t.ends_with("/.cache")
                }
            });
            if pip_cached && !pip_mounted {
                hits.push(Hit::new(
                    PIP_CACHE,
                    ins.line,
                    "pip install keeps downloaded wheels in ~/.cache/pip inside the layer",
                    "add --no-cache-dir (or ENV PIP_NO_CACHE_DIR=1), or mount --mount=type=cache,target=/root/.cache/pip",
                ));
            }
            let recommends = cmds.iter().any(|c| {
                is_apt_install(c)
                    && !c.has("--no-install-recommends")
                    && !c.words.iter().any(|w| {
                        w.contains("Install-Recommends=false") || w.contains("Install-Recommends=0")
                    })
            });
            if recommends {
                hits.push(Hit::new(
                    INSTALL_RECOMMENDS,
                    ins.line,
                    "apt-get install also installs recommended packages",
                    "add --no-install-recommends and name what you need",
                ));
            }
        }
        pip_env[index] = no_pip_cache;
    }
    hits
}
