//! The lint rules: stable IDs, short names and default severities, and the finding a rule
//! reports. IDs never change meaning, so `--ignore`, `# strata-ignore` and CI configs stay valid.

use serde::Serialize;

use crate::catalog::{closest, rule_table};
use crate::error::{Error, Result};

/// How bad a finding is; `--fail-on` picks the lowest one that fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails the default gate.
    Info,
    /// Costs cache hits or bytes on every deploy.
    Warning,
    /// Leaks something that must never ship.
    Error,
}

impl Severity {
    /// The lower-case word used in output and flags.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses `info`, `warning` or `error`.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity {other:?}: expected info, warning or error"
            )),
        }
    }
}

/// A rule's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable ID (`SL001`).
    pub id: &'static str,
    /// Short name (`context-before-install`).
    pub name: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What the rule catches, in one line.
    pub summary: &'static str,
}

rule_table! { Rule;
    CONTEXT_BEFORE_INSTALL = "The whole build context is copied before the dependency install, so any change re-runs it." {
        id: "SL001", name: "context-before-install", severity: Severity::Warning,
    }
    UNLOCKED_INSTALL = "A dependency install is not keyed to a lockfile." {
        id: "SL002", name: "unlocked-install", severity: Severity::Warning,
    }
    PACKAGE_CACHE_LEFT = "apt lists or apk/dnf/yum caches are not removed in the same RUN that created them." {
        id: "SL003", name: "package-cache-left", severity: Severity::Warning,
    }
    PIP_CACHE = "pip install keeps its download cache in the layer (no --no-cache-dir)." {
        id: "SL004", name: "pip-cache", severity: Severity::Warning,
    }
    INSTALL_RECOMMENDS = "apt-get install without --no-install-recommends pulls in packages nobody asked for." {
        id: "SL005", name: "install-recommends", severity: Severity::Warning,
    }
    UNPINNED_BASE = "A base image is named by tag without a digest, so it changes under the build." {
        id: "SL006", name: "unpinned-base", severity: Severity::Info,
    }
    ADD_URL = "ADD downloads a URL: no checksum, no cache key, and the file stays in the layer." {
        id: "SL007", name: "add-url", severity: Severity::Warning,
    }
    RUNS_AS_ROOT = "The final stage sets no USER (or sets root), so the container runs as root." {
        id: "SL008", name: "runs-as-root", severity: Severity::Warning,
    }
    SECRET_IN_LAYER = "A secret file (.env, id_rsa, *.pem, ...) is copied into a shipped layer." {
        id: "SL009", name: "secret-in-layer", severity: Severity::Error,
    }
    DOCKERIGNORE = "The context is copied whole but .dockerignore is missing or lets target/, .venv or .git in." {
        id: "SL010", name: "dockerignore", severity: Severity::Warning,
    }
}

/// Finds a rule by ID or name (case-insensitive).
pub fn lookup(key: &str) -> Result<Rule> {
    ALL.iter()
        .find(|r| r.id.eq_ignore_ascii_case(key) || r.name.eq_ignore_ascii_case(key))
        .copied()
        .ok_or_else(|| {
            let hint = closest(key, ALL.iter().map(|r| r.name))
                .map(|name| format!("did you mean {name}? "))
                .unwrap_or_default();
            Error::usage(format!(
                "unknown lint rule {key:?}: {hint}expected an ID SL001-SL{:03} or a name such as {}",
                ALL.len(),
                ALL[0].name
            ))
        })
}

/// One problem at one place, with its fix.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Rule ID.
    pub rule: &'static str,
    /// Rule name.
    pub name: &'static str,
    /// Severity.
    pub severity: Severity,
    /// The Dockerfile, as given on the command line.
    pub file: String,
    /// The 1-based line of the instruction.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// A finding before the file name is known: what the checks return.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The rule.
    pub rule: Rule,
    /// The 1-based line of the instruction.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Hit {
    /// A hit of `rule` at `line`.
    pub fn new(
        rule: Rule,
        line: usize,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Hit {
            rule,
            line,
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// The finding in `file`.
    pub fn in_file(self, file: &str) -> Finding {
        Finding {
            rule: self.rule.id,
            name: self.rule.name,
            severity: self.rule.severity,
            file: file.to_string(),
            line: self.line,
            message: self.message,
            fix: self.fix,
        }
    }
}
