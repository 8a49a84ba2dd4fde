//! The cargo command cook runs over the skeleton: every cargo-chef cook flag (plus several
//! `--bin` and `--example NAME`) turned into cargo arguments, and the run itself, which streams
//! cargo's JSON messages to learn where each unit's outputs went (honouring `--target`,
//! `--target-dir`, `--profile`, `.cargo/config.toml` and custom target JSON for free).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use serde::Deserialize;

use crate::cargo::cargo_command;
use crate::error::{Error, Result};

/// Which cargo subcommand compiles the dependencies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Subcommand {
    /// `cargo build`.
    #[default]
    Build,
    /// `cargo check` (metadata only: for a later `cargo check` or clippy).
    Check,
    /// `cargo clippy`.
    Clippy,
}

/// The cargo flags cook forwards.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The subcommand.
    pub subcommand: Subcommand,
    /// `--release`.
    pub release: bool,
    /// `--profile NAME` (`dev` → no flag, `release` → `--release`).
    pub profile: Option<String>,
    /// `--target TRIPLE|FILE.json`, repeatable.
    pub targets: Vec<String>,
    /// `--target-dir DIR`.
    pub target_dir: Option<PathBuf>,
    /// `--features`, comma- or space-separated, repeatable (deduplicated and sorted).
    pub features: Vec<String>,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// `--all-features`.
    pub all_features: bool,
    /// `-p NAME`, repeatable.
    pub packages: Vec<String>,
    /// `--workspace`.
    pub workspace: bool,
    /// `--bin NAME`, repeatable.
    pub bins: Vec<String>,
    /// `--bins`.
    pub all_bins: bool,
    /// `--example NAME`, repeatable.
    pub examples: Vec<String>,
    /// `--examples`.
    pub all_examples: bool,
    /// `--tests`.
    pub tests: bool,
    /// `--benches`.
    pub benches: bool,
    /// `--all-targets`.
    pub all_targets: bool,
    /// `--locked`.
    pub locked: bool,
    /// `--frozen`.
    pub frozen: bool,
    /// `--offline`.
    pub offline: bool,
    /// `--manifest-path PATH`.
    pub manifest_path: Option<PathBuf>,
    /// `-j N`.
    pub jobs: Option<u32>,
    /// `-v` count.
    pub verbose: u8,
    /// `--timings`.
    pub timings: bool,
}

impl BuildOptions {
    /// The cargo arguments after the subcommand.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = Vec::new();
        let mut flag = |on: bool, name: &str| {
            if on {
                args.push(name.to_string());
            }
        };
        flag(self.release, "--release");
        flag(self.no_default_features, "--no-default-features");
        flag(self.all_features, "--all-features");
        flag(self.workspace, "--workspace");
        flag(self.all_bins, "--bins");
        flag(self.all_examples, "--examples");
        flag(self.tests, "--tests");
        flag(self.benches, "--benches");
        flag(self.all_targets, "--all-targets");
        flag(self.locked, "--locked");
        flag(self.frozen, "--frozen");
        flag(self.offline, "--offline");
        flag(self.timings, "--timings");
        match self.profile.as_deref() {
            None | Some("dev") => {}
            Some("release") if self.release => {}
            Some("release") => args.push("--release".to_string()),
            Some(other) => args.extend(["--profile".to_string(), other.to_string()]),
        }
        let features: BTreeSet<&str> = self
            .features
            .iter()
            .flat_map(|f| f.split([',', ' ']))
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        if !features.is_empty() {
            args.extend([
                "--features".to_string(),
                features.into_iter().collect::<Vec<_>>().join(","),
            ]);
        }
        let repeated = [
            ("--target", &self.targets),
            ("--package", &self.packages),
            ("--bin", &self.bins),
            ("--example", &self.examples),
        ];
        for (name, values) in repeated {
            for value in values {
                args.extend([name.to_string(), value.clone()]);
            }
        }
        if let Some(dir) = &self.target_dir {
            args.extend(["--target-dir".to_string(), dir.display().to_string()]);
        }
        if let Some(path) = &self.manifest_path {
            args.extend(["--manifest-path".to_string(), path.display().to_string()]);
        }
        if let Some(jobs) = self.jobs {
            args.extend(["--jobs".to_string(), jobs.to_string()]);
        }
        if self.verbose > 0 {
            args.push(format!("-{}", "v".repeat(self.verbose.into())));
        }
        args
    }
}

/// One unit's outputs, from a `compiler-artifact` or `build-script-executed` message.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// cargo's package id.
    pub package_id: String,
    /// The package's manifest (only on `compiler-artifact`).
    pub manifest_path: Option<PathBuf>,
    /// Output files, and the `OUT_DIR` of a build-script run.
    pub paths: Vec<PathBuf>,
    /// The executable a binary target produced (also among `paths`).
    pub executable: Option<PathBuf>,
}

/// How the cargo run ended and what it produced.
#[derive(Debug)]
pub struct BuildReport {
    /// cargo's exit status.
    pub status: ExitStatus,
    /// Every unit cargo reported, fresh or rebuilt.
    pub artifacts: Vec<Artifact>,
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    package_id: Option<String>,
    #[serde(default)]
    manifest_path: Option<PathBuf>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    out_dir: Option<PathBuf>,
}

/// Runs cargo in `dir`. Its stderr (progress and rendered diagnostics) goes straight to ours;
/// stdout carries JSON messages, and anything else there is passed through.
pub fn run(dir: &Path, options: &BuildOptions) -> Result<BuildReport> {
    let subcommand = match options.subcommand {
        Subcommand::Build => "build",
        Subcommand::Check => "check",
        Subcommand::Clippy => "clippy",
    };
    let mut cmd = cargo_command();
    cmd.current_dir(dir)
        .arg(subcommand)
        .args(["--message-format", "json-render-diagnostics"])
        .args(options.args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|e| {
        Error::usage(format!(
            "cannot run cargo ({e}); is it installed and on PATH?"
        ))
    })?;
    let mut artifacts = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| Error::io("cargo's output", e))?;
            match serde_json::from_str::<Message>(&line) {
                Ok(message) => artifacts.extend(artifact(message)),
                Err(_) => pass_through(&line)?,
            }
        }
    }
    let status = child.wait().map_err(|e| Error::io("cargo", e))?;
    Ok(BuildReport { status, artifacts })
}

fn artifact(message: Message) -> Option<Artifact> {
    let package_id = message.package_id?;
    let executable = message.executable.clone();
    let paths: Vec<PathBuf> = match message.reason.as_str() {
        "compiler-artifact" => message
            .filenames
            .into_iter()
            .chain(message.executable)
            .collect(),
        "build-script-executed" => message.out_dir.into_iter().collect(),
        _ => return None,
    };
    Some(Artifact {
        package_id,
        manifest_path: message.manifest_path,
        paths,
        executable,
    })
}

fn pass_through(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").map_err(|e| Error::io("stdout", e))
}
