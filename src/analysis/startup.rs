//! Will the image start? The config's entrypoint and command are resolved against the final
//! filesystem the way a container runtime and the kernel would: relative to `WorkingDir`, looked
//! up on the config's `PATH` (Docker's default when unset), symlinks followed inside the image.
//! Then what executing it involves is checked with the facts the walk recorded: a script's `#!`
//! interpreter (and `/usr/bin/env NAME`'s `NAME` on `PATH`), an ELF file's machine, loader,
//! libraries (transitively: the libraries' own `DT_NEEDED` too) and the glibc versions it needs
//! from the libc the image ships. Each problem is one `wont-start-*` finding naming what is
//! missing; an image that starts gets none.

use std::collections::{BTreeSet, HashSet};

use crate::analysis::findings::{Finding, FindingKind, Severity};
use crate::build::base_fs::{BaseFs, Origin};
use crate::build::libraries::{find_library, oci_arch, search_dirs};
use crate::layer::elf::ElfFacts;
use crate::layer::exec::{ExecInfo, Shebang};
use crate::layer::walk::{clean_path, Entry};
use crate::model::ImageConfig;

/// The `PATH` Docker and containerd give a container whose config sets none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How many `#!` interpreters may chain (Linux allows 4 levels of scripts).
const MAX_SCRIPTS: usize = 4;

/// Words a shell runs itself: a shell-form command starting with one needs no program.
const SHELL_WORDS: &[&str] = &[
    ".", ":", "[", "alias", "break", "case", "cd", "command", "continue", "echo", "eval", "exec",
    "exit", "export", "false", "for", "if", "printf", "read", "set", "shift", "source", "test",
    "trap", "true", "ulimit", "umask", "unset", "wait", "while", "{", "(", "!",
];

/// The `wont-start-*` findings for the image whose layers' entries are `entries`.
pub fn startup_findings(config: &ImageConfig, entries: &[&[Entry]]) -> Vec<Finding> {
    let runtime = &config.runtime;
    let argv: Vec<&str> = match (&runtime.entrypoint, &runtime.cmd) {
        (Some(e), cmd) if !e.is_empty() => e.iter().chain(cmd.iter().flatten()).map(String::as_str).collect(),
        (_, Some(cmd)) => cmd.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let top = entries.len().saturating_sub(1);
    let Some(&program) = argv.first() else {
        return vec![finding(
            "wont-start-no-command",
            Severity::Medium,
            top,
            "(config) Entrypoint/Cmd".into(),
            "the config sets neither Entrypoint nor Cmd: `docker run` without a command fails".into(),
            "set ENTRYPOINT or CMD in the Dockerfile (exec form: `CMD [\"/app/server\"]`)".into(),
        )];
    };
    let shell_word = shell_command(&argv).and_then(first_program);
    let names: HashSet<&str> = [program, shell_word.unwrap_or(program)]
        .into_iter()
        .map(|p| p.rsplit('/').next().unwrap_or(p))
        .collect();
    let mut fs = BaseFs::default();
    for (layer, layer_entries) in entries.iter().enumerate() {
        let kept: Vec<(usize, &Entry)> = layer_entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                BaseFs::keeps(e, |e| {
                    e.exec.is_some()
                        || e.mode & 0o111 != 0
                        || names.contains(e.path.rsplit('/').next().unwrap_or(&e.path))
                })
            })
            .collect();
        fs.apply_layer(layer, &kept);
    }
    let path_var = runtime
        .env
        .iter()
        .flatten()
        .find_map(|v| v.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    let check = Check {
        entries,
        fs,
        path: path_var.split(':').filter(|d| !d.is_empty()).collect(),
        workdir: runtime.working_dir.as_deref().unwrap_or("/"),
        arch: &config.architecture,
        top,
    };
    let mut out = Vec::new();
    if let Some(origin) = check.program(program, "entrypoint", &mut out) {
        check.exec(origin, 0, &mut out);
        if let Some(word) = shell_word {
            if let Some(origin) = check.program(word, "command the shell runs", &mut out) {
                check.exec(origin, 0, &mut out);
            }
        }
    }
    out
}

/// The command string of a shell-form command (`/bin/sh -c "..."`).
fn shell_command<'a>(argv: &[&'a str]) -> Option<&'a str> {
    match argv {
        [shell, flag, command, ..] if shell.ends_with("sh") && *flag == "-c" => Some(command),
        _ => None,
    }
}

/// The program a shell command starts with, when it is a plain word (not a builtin, a variable
/// assignment, or anything the shell would expand).
fn first_program(command: &str) -> Option<&str> {
    let word = command
        .split_whitespace()
        .find(|w| !(w.contains('=') && !w.starts_with('=')) && *w != "exec")?;
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._+-@%,".contains(c));
    (plain && !SHELL_WORDS.contains(&word)).then_some(word)
}

/// A `wont-start-*` finding (no bytes: nothing to reclaim, the image is broken).
fn finding(
    rule: &str,
    severity: Severity,
    layer: usize,
    path: String,
    message: String,
    fix: String,
) -> Finding {
    Finding {
        severity,
        message,
        fix: Some(fix),
        ..Finding::sized(FindingKind::WontStart, rule.to_string(), layer, path, 0)
    }
}

/// The final filesystem and the config values a lookup needs.
struct Check<'a> {
    entries: &'a [&'a [Entry]],
    fs: BaseFs,
    path: Vec<&'a str>,
    workdir: &'a str,
    arch: &'a str,
    top: usize,
}

impl Check<'_> {
    fn entry(&self, origin: Origin) -> &Entry {
        &self.entries[origin.layer][origin.entry]
    }

    /// `name` made an image path: absolute as is, relative to the working directory.
    fn absolute(&self, name: &str) -> String {
        let joined = match name.starts_with('/') {
            true => name.to_string(),
            false => format!("{}/{name}", self.workdir),
        };
        format!("/{}", clean_path(&joined))
    }

    /// Finds program `name` (a path, or a name looked up on `PATH` as runc does: the first
    /// executable file) or reports it missing / not executable; `what` says what it is for.
    fn program(&self, name: &str, what: &str, out: &mut Vec<Finding>) -> Option<Origin> {
        let candidates: Vec<String> = if name.contains('/') {
            vec![self.absolute(name)]
        } else {
            self.path
                .iter()
                .map(|dir| self.absolute(&format!("{dir}/{name}")))
                .collect()
        };
        let found: Vec<(String, Origin)> = candidates
            .into_iter()
            .filter_map(|p| self.fs.file(&p).map(|o| (p, o)))
            .collect();
        if let Some((_, origin)) = found.iter().find(|(_, o)| self.entry(*o).mode & 0o111 != 0) {
            return Some(*origin);
        }
        match found.first() {
            Some((path, origin)) => out.push(finding(
                "wont-start-not-executable",
                Severity::High,
                origin.layer,
                path.clone(),
                format!(
                    "the {what} {path} is not executable (mode {:04o})",
                    self.entry(*origin).mode & 0o7777
                ),
                format!("make it executable in the build (`chmod +x {path}`, or `COPY --chmod=755`)"),
            )),
            None => {
                let (path, where_) = if name.contains('/') {
                    (self.absolute(name), String::new())
                } else {
                    (name.to_string(), format!(" on PATH {}", self.path.join(":")))
                };
                out.push(finding(
                    "wont-start-missing-program",
                    Severity::High,
                    self.top,
                    path.clone(),
                    format!("the {what} {path} is not in the image{where_}"),
                    format!("COPY {path} into the runtime stage or install the package that provides it, or fix ENTRYPOINT/CMD"),
                ))
            }
        }
        None
    }

    /// Checks what executing the file `origin` provides involves: a script's interpreter, an
    /// ELF file's machine, loader, libraries and glibc versions. `depth` counts scripts.
    fn exec(&self, origin: Origin, depth: usize, out: &mut Vec<Finding>) {
        let entry = self.entry(origin);
        match entry.exec.as_deref() {
            Some(ExecInfo::Script(shebang)) if depth < MAX_SCRIPTS => {
                if let Some(next) = self.interpreter(entry, origin, shebang, out) {
                    self.exec(next, depth + 1, out);
                }
            }
            Some(ExecInfo::Elf(facts)) => self.elf(entry, origin, facts, out),
            _ => {}
        }
    }

    /// Finds a script's interpreter (and `env`'s program on `PATH`), or reports it missing.
    fn interpreter(
        &self,
        script: &Entry,
        origin: Origin,
        shebang: &Shebang,
        out: &mut Vec<Finding>,
    ) -> Option<Origin> {
        let script_path = format!("/{}", script.path);
        let missing = |what: String, fix: String, out: &mut Vec<Finding>| {
            out.push(finding(
                "wont-start-missing-interpreter",
                Severity::High,
                origin.layer,
                script_path.clone(),
                format!("{script_path} starts with #!{}{}: {what}", shebang.interpreter, shebang.argument.as_deref().map(|a| format!(" {a}")).unwrap_or_default()),
                fix,
            ));
        };
        let interpreter = self.absolute(&shebang.interpreter);
        let Some(found) = self.fs.file(&interpreter) else {
            missing(
                format!("{interpreter} is not in the image"),
                format!("install the package that provides {interpreter} in the runtime stage, or change the #! line"),
                out,
            );
            return None;
        };
        let is_env = interpreter.rsplit('/').next() == Some("env");
        let Some(program) = shebang.argument.as_deref().filter(|_| is_env).and_then(|a| {
            a.split_whitespace()
                .find(|w| !w.starts_with('-') && !w.contains('='))
        }) else {
            return Some(found);
        };
        if program.contains('/') {
            return Some(found);
        }
        let on_path = self.path.iter().find_map(|dir| {
            self.fs
                .file(&self.absolute(&format!("{dir}/{program}")))
                .filter(|o| self.entry(*o).mode & 0o111 != 0)
        });
        if on_path.is_none() {
            missing(
                format!("{program} is not on PATH {}", self.path.join(":")),
                format!("install {program} in the runtime stage (or add its directory to PATH), or change the #! line"),
                out,
            );
        }
        on_path
    }

    /// Checks an ELF file's machine, loader, libraries (transitively) and glibc versions.
    fn elf(&self, entry: &Entry, origin: Origin, facts: &ElfFacts, out: &mut Vec<Finding>) {
        let path = format!("/{}", entry.path);
        if let Some(arch) = oci_arch(facts) {
            if !self.arch.is_empty() && arch != self.arch {
                out.push(finding(
                    "wont-start-arch",
                    Severity::High,
                    origin.layer,
                    path.clone(),
                    format!("{path} is built for {arch} but the image is for {}", self.arch),
                    format!("build it for {} (`--platform linux/{}`), or publish the image for {arch}", self.arch, self.arch),
                ));
                return;
            }
        }
        if let Some(loader) = &facts.interpreter {
            if self.fs.file(loader).is_none() {
                out.push(finding(
                    "wont-start-missing-loader",
                    Severity::High,
                    origin.layer,
                    path.clone(),
                    format!("{path} needs the dynamic loader {loader}, which is not in the image"),
                    "use a runtime base with the same libc (glibc: debian-slim, distroless/base), or link statically (musl, `-static`, `-C target-feature=+crt-static`)".into(),
                ));
            }
        }
        let mut seen: HashSet<Origin> = HashSet::from([origin]);
        let mut reported: BTreeSet<String> = BTreeSet::new();
        let mut pending = vec![(path, facts)];
        while let Some((needer, facts)) = pending.pop() {
            let dirs = search_dirs(facts, &needer);
            for name in &facts.needed {
                let Some(found) = find_library(&self.fs, &dirs, name) else {
                    if reported.insert(name.clone()) {
                        out.push(finding(
                            "wont-start-missing-library",
                            Severity::High,
                            origin.layer,
                            needer.clone(),
                            format!("{needer} needs {name}, which the loader does not find in the image"),
                            format!("install the package that provides {name} in the runtime stage, or link it statically"),
                        ));
                    }
                    continue;
                };
                let library = self.entry(found);
                let Some(ExecInfo::Elf(lib_facts)) = library.exec.as_deref() else {
                    continue;
                };
                if let Some(f) = glibc_finding(&needer, origin.layer, facts, name, lib_facts) {
                    if reported.insert(format!("{name} {}", f.message)) {
                        out.push(f);
                    }
                }
                if seen.insert(found) {
                    pending.push((format!("/{}", library.path), lib_facts));
                }
            }
        }
    }
}

/// The finding for a `GLIBC_*` version `facts` needs from library `name` that `library`
/// does not define.
fn glibc_finding(
    needer: &str,
    layer: usize,
    facts: &ElfFacts,
    name: &str,
    library: &ElfFacts,
) -> Option<Finding> {
    let defined = library.glibc_defined?;
    let (_, needed) = facts.glibc_needed.iter().find(|(lib, _)| lib == name)?;
    (*needed > defined).then(|| finding(
        "wont-start-glibc-version",
        Severity::High,
        layer,
        needer.to_string(),
        format!("{needer} needs {needed} from {name}, but the image's {name} defines up to {defined}"),
        "build on a base with the same or an older glibc than the runtime image (the same Debian release), or upgrade the runtime base".into(),
    ))
}
