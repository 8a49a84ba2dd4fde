//! Layer-cache rules for dependency installs, in every stage the final one needs: the whole context
//! copied before the install (SL001), and installs that resolve versions anew instead of following
//! a lockfile (SL002).

use crate::dockerfile::packages::pip_install_args;
use crate::dockerfile::parse::Instruction;
use crate::dockerfile::rules::{Hit, CONTEXT_BEFORE_INSTALL, UNLOCKED_INSTALL};
use crate::dockerfile::shell::{run_commands, Command};
use crate::dockerfile::stages::Stage;

/// Files that pin or describe dependencies: copying one of them alone keys the install to it.
const MANIFESTS: &[&str] = &[
    "pyproject.toml",
    "poetry.lock",
    "Pipfile",
    "Pipfile.lock",
    "uv.lock",
    "setup.py",
    "setup.cfg",
    "Cargo.toml",
    "Cargo.lock",
    "recipe.json",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "go.mod",
    "go.sum",
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
];

/// pip options that take the next word as their value.
const PIP_VALUE_OPTIONS: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "-f",
    "--find-links",
    "--platform",
    "--python-version",
    "--only-binary",
    "--no-binary",
    "--trusted-host",
];

fn is_manifest(path: &str) -> bool {
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path);
    MANIFESTS.contains(&name) || (name.starts_with("requirements") && name.ends_with(".txt"))
}

/// A short label for a command that installs or builds third-party dependencies.
fn dependency_install(c: &Command) -> Option<String> {
    if let Some(args) = pip_install_args(c) {
        // `--no-deps` installs only what is named (the project itself, on a dependency image).
        return (!args.iter().any(|a| a == "--no-deps")).then(|| "pip install".into());
    }
    let sub = c.subcommand();
    let has_word = |w: &str| c.words.iter().any(|x| x == w);
    let installs = match (c.program(), sub) {
        ("uv", Some("sync"))
        | ("poetry", Some("install"))
        | ("pipenv", Some("install" | "sync")) => true,
        ("uv", Some("pip")) => has_word("install"),
        ("npm", Some("ci" | "install" | "i")) | ("pnpm", Some("install" | "i")) => true,
        ("yarn", None | Some("install")) => true,
        ("cargo", Some("build" | "fetch")) => true,
        ("cargo", Some("chef")) => has_word("cook"),
        ("go", Some("mod")) => has_word("download"),
        ("go", Some("build")) => true,
        ("bundle" | "composer", Some("install")) => true,
        _ => false,
    };
    installs.then(|| {
        let mut label = vec![c.program()];
        label.extend(c.operands().take(if sub == Some("pip") { 2 } else { 1 }));
        label.join(" ")
    })
}

/// Why an install does not follow a lockfile, and the fix.
fn unlocked(c: &Command) -> Option<(String, &'static str)> {
    let any = |opts: &[&str]| opts.iter().any(|o| c.has(o));
    let pip_args = pip_install_args(c).or_else(|| {
        (c.program() == "uv" && c.subcommand() == Some("pip"))
            .then(|| c.words.iter().position(|w| w == "install"))
            .flatten()
            .map(|at| &c.words[at + 1..])
    });
    if let Some(args) = pip_args {
        if any(&[
            "-r",
            "--requirement",
            "-c",
            "--constraint",
            "--no-deps",
            "--require-hashes",
        ]) {
            return None;
        }
        let mut words = args.iter();
        let mut unpinned = Vec::new();
        while let Some(w) = words.next() {
            if PIP_VALUE_OPTIONS.contains(&w.as_str()) {
                words.next();
            } else if !w.starts_with('-')
                && !w.contains("==")
                && !w.contains('@')
                && !w.ends_with(".whl")
            {
                unpinned.push(w.as_str());
            }
        }
        return (!unpinned.is_empty()).then(|| {
            (
                format!("pip install {} resolves versions anew on every build", unpinned.join(" ")),
                "install from a lockfile: COPY requirements.txt (pinned, e.g. from pip-compile or uv export) and `pip install -r requirements.txt`",
            )
        });
    }
    match (c.program(), c.subcommand()) {
        ("npm", Some("install" | "i")) => Some((
            "npm install may rewrite package-lock.json".into(),
            "use `npm ci`",
        )),
        ("yarn", None | Some("install")) if !any(&["--frozen-lockfile", "--immutable"]) => Some((
            "yarn install may update yarn.lock".into(),
            "add --frozen-lockfile (Yarn 1) or --immutable (Yarn 2+)",
        )),
        ("pnpm", Some("install" | "i")) if !c.has("--frozen-lockfile") => Some((
            "pnpm install may update pnpm-lock.yaml".into(),
            "add --frozen-lockfile",
        )),
        ("cargo", Some("build")) if !any(&["--locked", "--frozen", "--offline"]) => Some((
            "cargo build may resolve newer versions than Cargo.lock".into(),
            "add --locked (and COPY Cargo.lock)",
        )),
        ("uv", Some("sync")) if !any(&["--locked", "--frozen"]) => Some((
            "uv sync may update uv.lock".into(),
            "add --locked (or --frozen)",
        )),
        ("pipenv", Some("install")) if !any(&["--deploy", "--ignore-pipfile"]) => Some((
            "pipenv install may resolve anew instead of following Pipfile.lock".into(),
            "add --deploy",
        )),
        _ => None,
    }
}

fn copies_manifest(ins: &Instruction) -> bool {
    matches!(ins.keyword.as_str(), "COPY" | "ADD") && ins.sources().iter().any(|s| is_manifest(s))
}

/// The dependency rules over every stage the final one needs.
pub fn check(stages: &[Stage]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut installed = vec![false; stages.len()];
    for (index, stage) in stages.iter().enumerate() {
        let mut keyed = stage.base_stage.is_some_and(|b| installed[b]);
        let mut manifest = false;
        let mut whole: Option<usize> = None;
        for ins in &stage.body {
            match ins.keyword.as_str() {
                "COPY" | "ADD" if ins.copies_whole_context() && !keyed && whole.is_none() => {
                    whole = Some(ins.line)
                }
                "COPY" | "ADD" => manifest |= copies_manifest(ins) || ins.flag("from").is_some(),
                "RUN" => {
                    let bound = ins
                        .mounts()
                        .iter()
                        .any(|m| m.kind == "bind" && is_manifest(&m.source));
                    let cached = ins.mounts().iter().any(|m| m.kind == "cache");
                    for c in run_commands(ins) {
                        let Some(label) = dependency_install(&c) else {
                            continue;
                        };
                        if stage.feeds {
                            if let Some((why, fix)) = unlocked(&c) {
                                hits.push(Hit::new(UNLOCKED_INSTALL, ins.line, why, fix));
                            }
                        }
                        match whole.take() {
                            Some(copy) if stage.feeds && !cached => hits.push(Hit::new(
                                CONTEXT_BEFORE_INSTALL,
                                copy,
                                format!("the whole context is copied before `{label}` (line {}): any source change re-runs the install", ins.line),
                                "COPY only the lockfile/manifest first, run the install, then COPY the rest",
                            )),
                            _ => keyed |= manifest || bound,
                        }
                    }
                }
                _ => {}
            }
        }
        installed[index] = keyed;
    }
    hits
}
