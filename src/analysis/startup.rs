//! Will the image start? The config's entrypoint and command are resolved against the final
//! filesystem the way a container runtime and the kernel would: relative to `WorkingDir`, looked
//! up on the config's `PATH` (Docker's default when unset), symlinks followed inside the image.
//! Then what executing it involves is checked with the facts the walk recorded: a script's `#!`
//! interpreter (and `/usr/bin/env NAME`'s `NAME` on `PATH`), an ELF file's machine, loader,
//! libraries (transitively: the libraries' own `DT_NEEDED` too) and the glibc versions it needs
//! from the libc the image ships. Each problem is one `wont-start-*` finding naming what is
//! missing; an image that starts gets none. A Python virtualenv on the way is checked too
//! ([`venv`]): made on another machine, or by another Python than the one it runs.

mod venv;

use std::collections::{BTreeSet, HashSet};

use crate::analysis::findings::Finding;
use crate::analysis::inspect::Inspected;
use crate::analysis::rules::{self, Rule};
use crate::layer::elf::ElfFacts;
use crate::layer::exec::{ExecInfo, Shebang};
use crate::layer::walk::{clean_path, Entry};
use crate::model::ImageConfig;
use crate::rootfs::base_fs::{BaseFs, Origin};
use crate::rootfs::libraries::{find_library, oci_arch, search_dirs};

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

/// The `wont-start-*` findings for the image whose layers' entries are `entries` (how their files
/// would be executed in `inspected`).
pub fn startup_findings(
    config: &ImageConfig,
    entries: &[&[Entry]],
    inspected: &[&Inspected],
) -> Vec<Finding> {
    let runtime = &config.runtime;
    let argv: Vec<&str> = match (&runtime.entrypoint, &runtime.cmd) {
        (Some(e), cmd) if !e.is_empty() => e
            .iter()
            .chain(cmd.iter().flatten())
            .map(String::as_str)
            .collect(),
        (_, Some(cmd)) => cmd.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let top = entries.len().saturating_sub(1);
    let Some(&program) = argv.first() else {
        return vec![finding(
            &rules::WONT_START_NO_COMMAND,
            top,
            "(config) Entrypoint/Cmd".into(),
            "the config sets neither Entrypoint nor Cmd: `docker run` without a command fails"
                .into(),
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
            .filter(|(index, e)| {
                BaseFs::keeps(e, |e| {
                    inspected[layer].exec(*index).is_some()
                        || e.mode & 0o111 != 0
                        || names.contains(e.path.rsplit('/').next().unwrap_or(&e.path))
                        || venv::keeps(&e.path)
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
        inspected,
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
        .find(|w| w.split_once('=').is_none_or(|(name, _)| name.is_empty()) && *w != "exec")?;
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._+-@%,".contains(c));
    (plain && !SHELL_WORDS.contains(&word)).then_some(word)
}

/// A `wont-start-*` finding (no bytes: nothing to reclaim, the image is broken).
fn finding(
    rule: &'static Rule,
    layer: usize,
    path: String,
    message: String,
    fix: String,
) -> Finding {
    Finding {
        message,
        fix: Some(fix),
        ..Finding::sized(rule, layer, path, 0)
    }
}

/// The final filesystem and the config values a lookup needs.
struct Check<'a> {
    entries: &'a [&'a [Entry]],
    inspected: &'a [&'a Inspected],
    fs: BaseFs,
    path: Vec<&'a str>,
    workdir: &'a str,
    arch: &'a str,
    top: usize,
}

impl<'a> Check<'a> {
    fn entry(&self, origin: Origin) -> &Entry {
        &self.entries[origin.layer][origin.entry]
    }

    /// How the file `origin` would be executed.
    fn exec_info(&self, origin: Origin) -> Option<&'a ExecInfo> {
        self.inspected[origin.layer].exec(origin.entry)
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
        if let Some((path, origin)) = found.iter().find(|(_, o)| self.entry(*o).mode & 0o111 != 0) {
            self.venv_python(path, *origin, out);
            return Some(*origin);
        }
        match found.first() {
            Some((path, origin)) => out.push(finding(
                &rules::WONT_START_NOT_EXECUTABLE,
                origin.layer,
                path.clone(),
                format!(
                    "the {what} {path} is not executable (mode {:04o})",
                    self.entry(*origin).mode & 0o7777
                ),
                format!(
                    "make it executable in the build (`chmod +x {path}`, or `COPY --chmod=755`)"
                ),
            )),
            None => {
                let (path, where_) = if name.contains('/') {
                    (self.absolute(name), String::new())
                } else {
                    (
                        name.to_string(),
                        format!(" on PATH {}", self.path.join(":")),
                    )
                };
                let fix = self.made_elsewhere(&[&path]).unwrap_or_else(|| format!("COPY {path} into the runtime stage or install the package that provides it, or fix ENTRYPOINT/CMD"));
                out.push(finding(
                    &rules::WONT_START_MISSING_PROGRAM,
                    self.top,
                    path.clone(),
                    format!("the {what} {path} is not in the image{where_}"),
                    fix,
                ))
            }
        }
        None
    }

    /// The fix when `paths[0]`, which a program of a virtualenv (one of `paths`) needs, is not in
    /// the image because the venv was made on another machine: `paths[0]` is a link leading out
    /// of the image, or a path outside the venv (a `#!` line naming where it was made).
    fn made_elsewhere(&self, paths: &[&str]) -> Option<String> {
        let venv = paths.iter().find_map(|p| venv::venv_of(&self.fs, p))?;
        let missing = self
            .fs
            .resolve(paths[0])
            .map_or_else(|| paths[0].to_string(), |r| format!("/{r}"));
        let elsewhere = missing != paths[0] || !paths[0].starts_with(&format!("{venv}/"));
        elsewhere.then(|| venv::made_elsewhere_fix(&venv, &missing))
    }

    /// When `path` is a virtualenv's interpreter (`VENV/bin/python*`) that reaches the file
    /// `origin`, reports a venv whose packages are for another Python.
    fn venv_python(&self, path: &str, origin: Origin, out: &mut Vec<Finding>) {
        let is_python = path
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with("python"));
        let Some(venv) = venv::venv_of(&self.fs, path).filter(|_| is_python) else {
            return;
        };
        let real = &self.entry(origin).path;
        if let Some((message, fix)) = venv::version_mismatch(&self.fs, &venv, path, real) {
            let layer = self
                .fs
                .file(&format!("{venv}/pyvenv.cfg"))
                .map_or(self.top, |o| o.layer);
            out.push(finding(
                &rules::WONT_START_PYTHON_VERSION,
                layer,
                venv,
                message,
                fix,
            ));
        }
    }

    /// Checks what executing the file `origin` provides involves: a script's interpreter, an
    /// ELF file's machine, loader, libraries and glibc versions. `depth` counts scripts.
    fn exec(&self, origin: Origin, depth: usize, out: &mut Vec<Finding>) {
        let entry = self.entry(origin);
        match self.exec_info(origin) {
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
                &rules::WONT_START_MISSING_INTERPRETER,
                origin.layer,
                script_path.clone(),
                format!(
                    "{script_path} starts with #!{}{}: {what}",
                    shebang.interpreter,
                    shebang
                        .argument
                        .as_deref()
                        .map(|a| format!(" {a}"))
                        .unwrap_or_default()
                ),
                fix,
            ));
        };
        let interpreter = self.absolute(&shebang.interpreter);
        let Some(found) = self.fs.file(&interpreter) else {
            let fix = self.made_elsewhere(&[&interpreter, &script_path]).unwrap_or_else(|| format!("install the package that provides {interpreter} in the runtime stage, or change the #! line"));
            missing(format!("{interpreter} is not in the image"), fix, out);
            return None;
        };
        let is_env = interpreter.rsplit('/').next() == Some("env");
        let Some(program) = shebang
            .argument
            .as_deref()
            .filter(|_| is_env)
            .and_then(|a| {
                a.split_whitespace()
                    .find(|w| !w.starts_with('-') && !w.contains('='))
            })
        else {
            self.venv_python(&interpreter, found, out);
            return Some(found);
        };
        if program.contains('/') {
            return Some(found);
        }
        let on_path = self.path.iter().find_map(|dir| {
            let path = self.absolute(&format!("{dir}/{program}"));
            let found = self
                .fs
                .file(&path)
                .filter(|o| self.entry(*o).mode & 0o111 != 0)?;
            self.venv_python(&path, found, out);
            Some(found)
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
                    &rules::WONT_START_ARCH,
                    origin.layer,
                    path.clone(),
                    format!(
                        "{path} is built for {arch} but the image is for {}",
                        self.arch
                    ),
                    format!(
                        "build it for {} (`--platform linux/{}`), or publish the image for {arch}",
                        self.arch, self.arch
                    ),
                ));
                return;
            }
        }
        let mut reported: BTreeSet<String> = BTreeSet::new();
        if let Some(loader) = &facts.interpreter {
            if self.fs.file(loader).is_none() {
                // libc names the loader in its DT_NEEDED: one finding says it.
                reported.insert(loader.rsplit('/').next().unwrap_or(loader).to_string());
                out.push(finding(
                    &rules::WONT_START_MISSING_LOADER,
                    origin.layer,
                    path.clone(),
                    format!("{path} needs the dynamic loader {loader}, which is not in the image"),
                    "use a runtime base with the same libc (glibc: debian-slim, distroless/base), or link statically (musl, `-static`, `-C target-feature=+crt-static`)".into(),
                ));
            }
        }
        let mut seen: HashSet<Origin> = HashSet::from([origin]);
        let mut pending = vec![(path, facts)];
        while let Some((needer, facts)) = pending.pop() {
            let dirs = search_dirs(facts, &needer);
            for name in &facts.needed {
                let Some(found) = find_library(&self.fs, &dirs, name) else {
                    if reported.insert(name.clone()) {
                        out.push(finding(
                            &rules::WONT_START_MISSING_LIBRARY,
                            origin.layer,
                            needer.clone(),
                            format!("{needer} needs {name}, which the loader does not find in the image"),
                            format!("install the package that provides {name} in the runtime stage, or link it statically"),
                        ));
                    }
                    continue;
                };
                let library = self.entry(found);
                let Some(ExecInfo::Elf(lib_facts)) = self.exec_info(found) else {
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
        &rules::WONT_START_GLIBC_VERSION,
        layer,
        needer.to_string(),
        format!("{needer} needs {needed} from {name}, but the image's {name} defines up to {defined}"),
        "build on a base with the same or an older glibc than the runtime image (the same Debian release), or upgrade the runtime base".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings::Severity;
    use crate::layer::elf::GlibcVersion;
    use crate::layer::walk::EntryKind;
    use crate::model::RuntimeConfig;
    use crate::rootfs::base_fs::tests::{entry, link};

    /// A test layer's entry and how it would be executed (what the inspectors would learn).
    type File = (Entry, Option<ExecInfo>);

    fn executable(path: &str, exec: Option<ExecInfo>) -> File {
        let entry = Entry {
            mode: 0o755,
            ..entry(path, EntryKind::File, None)
        };
        (entry, exec)
    }

    fn linked(path: &str, target: &str) -> File {
        (link(path, target), None)
    }

    /// The findings for the image of `layers`.
    fn run(config: &ImageConfig, layers: &[&[File]]) -> Vec<Finding> {
        let (entries, inspected) = Inspected::split(layers, |inspected, index, exec| {
            if let Some(exec) = exec {
                inspected.set_exec(index, exec.clone());
            }
        });
        let entries: Vec<&[Entry]> = entries.iter().map(Vec::as_slice).collect();
        let inspected: Vec<&Inspected> = inspected.iter().collect();
        startup_findings(config, &entries, &inspected)
    }

    fn elf(path: &str, needed: &[&str], glibc: Option<(&str, [u16; 3])>) -> File {
        let mut facts = ElfFacts::test_dynamic(needed, &[]);
        facts.glibc_needed = glibc
            .map(|(lib, v)| (lib.to_string(), GlibcVersion(v)))
            .into_iter()
            .collect();
        executable(path, Some(ExecInfo::Elf(facts)))
    }

    fn script(path: &str, interpreter: &str, argument: Option<&str>) -> File {
        let shebang = Shebang {
            interpreter: interpreter.into(),
            argument: argument.map(Into::into),
        };
        executable(path, Some(ExecInfo::Script(shebang)))
    }

    /// A merged-usr glibc 2.36 base with sh, env and python3 (a link, as Debian has it).
    fn base() -> Vec<File> {
        let mut libc = ElfFacts::test_dynamic(&["ld-linux-x86-64.so.2"], &[]);
        libc.interpreter = None;
        libc.glibc_defined = Some(GlibcVersion([2, 36, 0]));
        let mut loader = ElfFacts::test_dynamic(&[], &[]);
        loader.interpreter = None;
        vec![
            linked("bin", "usr/bin"),
            linked("lib", "usr/lib"),
            linked("lib64", "usr/lib64"),
            executable(
                "usr/lib/x86_64-linux-gnu/libc.so.6",
                Some(ExecInfo::Elf(libc)),
            ),
            executable(
                "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                Some(ExecInfo::Elf(loader)),
            ),
            linked(
                "usr/lib64/ld-linux-x86-64.so.2",
                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            ),
            elf(
                "usr/bin/dash",
                &["libc.so.6"],
                Some(("libc.so.6", [2, 34, 0])),
            ),
            linked("usr/bin/sh", "dash"),
            elf("usr/bin/env", &["libc.so.6"], None),
            elf("usr/bin/python3.11", &["libc.so.6", "libz.so.1"], None),
            linked("usr/bin/python3", "python3.11"),
            elf(
                "usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
                &["libc.so.6"],
                None,
            ),
            linked("usr/lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.2.13"),
        ]
    }

    fn config(entrypoint: &[&str], cmd: &[&str], env: &[&str]) -> ImageConfig {
        let list = |l: &[&str]| (!l.is_empty()).then(|| l.iter().map(|s| s.to_string()).collect());
        ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            variant: None,
            runtime: RuntimeConfig {
                entrypoint: list(entrypoint),
                cmd: list(cmd),
                env: list(env),
                working_dir: Some("/app".into()),
                ..RuntimeConfig::default()
            },
            diff_ids: Vec::new(),
            history: Vec::new(),
            created: None,
        }
    }

    /// The (rule, path) of each finding for `app` on top of [`base`].
    fn check(app: &[File], config: &ImageConfig) -> Vec<(String, String)> {
        run(config, &[&base(), app])
            .into_iter()
            .map(|f| (f.rule.id.to_string(), f.path))
            .collect()
    }

    fn found(rule: &str, path: &str) -> Vec<(String, String)> {
        vec![(rule.to_string(), path.to_string())]
    }

    #[test]
    fn a_binary_whose_loader_libraries_and_glibc_are_there_starts() {
        let app = [elf(
            "app/server",
            &["libz.so.1"],
            Some(("libc.so.6", [2, 36, 0])),
        )];
        assert_eq!(
            check(&app, &config(&["./server"], &["--port", "80"], &[])),
            []
        );
        assert_eq!(check(&[], &config(&[], &["python3", "-c", "1"], &[])), []);
        let shell = config(&["/bin/sh", "-c"], &["exec python3 -m http.server"], &[]);
        assert_eq!(check(&[], &shell), []);
    }

    #[test]
    fn missing_programs_libraries_and_versions_are_named() {
        let needs_ssl = [
            elf("app/server", &["libcurl.so.4"], None),
            elf("app/lib/libcurl.so.4", &["libssl.so.3", "libz.so.1"], None),
        ];
        let mut with_rpath = needs_ssl.clone();
        if let Some(ExecInfo::Elf(f)) = &mut with_rpath[0].1 {
            f.runpaths = vec!["$ORIGIN/lib".into()];
        }
        let server = config(&["/app/server"], &[], &[]);
        assert_eq!(
            check(&needs_ssl, &server),
            found("wont-start-missing-library", "/app/server"),
            "libcurl is not on the search path without the runpath"
        );
        assert_eq!(
            check(&with_rpath, &server),
            found("wont-start-missing-library", "/app/lib/libcurl.so.4"),
            "found through $ORIGIN, libcurl's own libssl is missing"
        );
        let new_glibc = [elf(
            "app/server",
            &["libc.so.6"],
            Some(("libc.so.6", [2, 38, 0])),
        )];
        let findings = run(&server, &[&base(), &new_glibc]);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.contains("GLIBC_2.38")
                && findings[0].message.contains("GLIBC_2.36"),
            "{}",
            findings[0].message
        );
        assert_eq!(
            check(&[], &server),
            found("wont-start-missing-program", "/app/server")
        );
        assert_eq!(
            check(&[], &config(&["gunicorn"], &[], &["PATH=/usr/bin"])),
            found("wont-start-missing-program", "gunicorn")
        );
        let shell = config(&[], &["/bin/sh", "-c", "FOO=1 gunicorn app:wsgi"], &[]);
        assert_eq!(
            check(&[], &shell),
            found("wont-start-missing-program", "gunicorn")
        );
    }

    #[test]
    fn scripts_need_their_interpreter_and_env_its_program_on_path() {
        let scripts = [
            script("app/run.py", "/usr/bin/env", Some("python3")),
            script("app/run.rb", "/usr/bin/env", Some("ruby")),
            script("app/run.pl", "/usr/bin/perl", None),
        ];
        let run = |name: &str| check(&scripts, &config(&[name], &[], &[]));
        assert_eq!(run("./run.py"), []);
        assert_eq!(
            run("./run.rb"),
            found("wont-start-missing-interpreter", "/app/run.rb")
        );
        assert_eq!(
            run("./run.pl"),
            found("wont-start-missing-interpreter", "/app/run.pl")
        );
        let without_path = config(&["./run.py"], &[], &["PATH=/app"]);
        assert_eq!(
            check(&scripts, &without_path),
            found("wont-start-missing-interpreter", "/app/run.py")
        );
    }

    #[test]
    fn a_venv_from_the_host_or_of_another_python_is_named() {
        let plain = |path: &str| (entry(path, EntryKind::File, None), None);
        let venv = |lib: &str, python: &str| {
            vec![
                plain("app/.venv/pyvenv.cfg"),
                plain(&format!(
                    "app/.venv/lib/python{lib}/site-packages/six-1.17.0.dist-info/METADATA"
                )),
                linked("app/.venv/bin/python", python),
                script("app/.venv/bin/hello", "/app/.venv/bin/python", None),
            ]
        };
        let hello = config(&["/app/.venv/bin/hello"], &[], &[]);
        assert_eq!(check(&venv("3.11", "/usr/bin/python3"), &hello), []);
        let other = run(&hello, &[&base(), &venv("3.12", "/usr/bin/python3")]);
        assert_eq!(
            (other[0].rule.id, other[0].path.as_str(), other.len()),
            ("wont-start-python-version", "/app/.venv", 1)
        );
        assert!(
            other[0].message.contains("Python 3.11"),
            "{}",
            other[0].message
        );
        let python = config(&["/app/.venv/bin/python", "-m", "hello"], &[], &[]);
        assert_eq!(
            check(&venv("3.12", "/usr/bin/python3"), &python),
            found("wont-start-python-version", "/app/.venv")
        );

        let host = run(
            &hello,
            &[&base(), &venv("3.11", "/home/me/.pyenv/bin/python3.11")],
        );
        assert_eq!(host[0].rule.id, "wont-start-missing-interpreter");
        let fix = host[0].fix.as_deref().unwrap_or_default();
        assert!(
            fix.contains("not relocatable") && fix.contains("/home/me/.pyenv/bin/python3.11"),
            "{fix}"
        );
        let mut moved = venv("3.11", "/usr/bin/python3");
        moved[3] = script("app/.venv/bin/hello", "/home/me/app/.venv/bin/python", None);
        let moved = run(&hello, &[&base(), &moved]);
        let fix = moved[0].fix.as_deref().unwrap_or_default();
        assert!(
            fix.contains("the virtualenv /app/.venv was made on another machine"),
            "{fix}"
        );

        // A dangling bin/python says so; a venv without one is merely missing it.
        let entry_fix = |layer: &[File]| {
            let f = run(&python, &[&base(), layer]);
            assert_eq!(f[0].rule.id, "wont-start-missing-program");
            f[0].fix.clone().unwrap_or_default()
        };
        let dangling = entry_fix(&venv("3.11", "/opt/host/python3.11"));
        assert!(dangling.contains("(/opt/host/python3.11)"), "{dangling}");
        let absent = entry_fix(&venv("3.11", "/usr/bin/python3")[..2]);
        assert!(absent.starts_with("COPY /app/.venv/bin/python"), "{absent}");
    }

    #[test]
    fn loaders_machines_modes_and_a_missing_command() {
        let mut musl = elf("app/server", &[], None);
        if let Some(ExecInfo::Elf(f)) = &mut musl.1 {
            f.interpreter = Some("/lib/ld-musl-x86_64.so.1".into());
        }
        let server = config(&["/app/server"], &[], &[]);
        assert_eq!(
            check(&[musl], &server),
            found("wont-start-missing-loader", "/app/server")
        );
        let mut arm = elf("app/server", &[], None);
        if let Some(ExecInfo::Elf(f)) = &mut arm.1 {
            f.machine = goblin::elf::header::EM_AARCH64;
        }
        assert_eq!(
            check(&[arm], &server),
            found("wont-start-arch", "/app/server")
        );
        let mut plain = elf("app/server", &[], None);
        plain.0.mode = 0o644;
        assert_eq!(
            check(&[plain], &server),
            found("wont-start-not-executable", "/app/server")
        );
        let none = run(&config(&[], &[], &[]), &[&base()]);
        assert_eq!(
            (none[0].rule.id, none[0].severity),
            ("wont-start-no-command", Severity::Medium)
        );
    }
}
