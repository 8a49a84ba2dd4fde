//! Rules about what an image is built from and what it carries: unpinned bases (SL006), `ADD` of
//! URLs (SL007), running as root (SL008), and secrets copied into shipped layers (SL009).

use crate::dockerfile::rules::{Hit, ADD_URL, RUNS_AS_ROOT, SECRET_IN_LAYER, UNPINNED_BASE};
use crate::dockerfile::stages::Stage;

/// File names that hold credentials; `*` matches any suffix.
const SECRETS: &[&str] = &[
    ".env",
    ".env.*",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".git-credentials",
    ".ssh",
    ".aws",
    "credentials.json",
];

/// `.env` templates carry no secrets.
const TEMPLATES: &[&str] = &[".example", ".sample", ".template", ".dist"];

fn is_secret(path: &str) -> bool {
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path);
    if TEMPLATES.iter().any(|t| name.ends_with(t)) {
        return false;
    }
    SECRETS
        .iter()
        .any(|p| match (p.strip_prefix('*'), p.strip_suffix('*')) {
            (Some(suffix), _) => name.ends_with(suffix),
            (_, Some(prefix)) => name.starts_with(prefix),
            _ => name == *p,
        })
}

fn unpinned_base(stage: &Stage) -> Option<Hit> {
    let base = &stage.base;
    if stage.base_stage.is_some() || base == "scratch" || base.contains("@sha256:") {
        return None;
    }
    let unresolved = if base.contains('$') {
        " (a build argument without a default)"
    } else {
        ""
    };
    Some(Hit::new(
        UNPINNED_BASE,
        stage.from.line,
        format!("base image {base}{unresolved} has no digest: it can change between builds and invalidate every layer"),
        format!("pin it: FROM {base}@sha256:<digest> (`skopeo inspect docker://{base}` shows the digest)"),
    ))
}

fn root_user(stages: &[Stage]) -> Option<Hit> {
    let last = stages.len() - 1;
    let mut at = Some(last);
    while let Some(i) = at {
        if let Some(user) = stages[i].body.iter().rev().find(|x| x.keyword == "USER") {
            let name = user.words().first().cloned().unwrap_or_default();
            let name = name.split(':').next().unwrap_or_default();
            return matches!(name, "root" | "0").then(|| {
                Hit::new(RUNS_AS_ROOT, user.line, "USER root: the container runs as root", "switch to an unprivileged user at the end: USER 10001 (or a named user created in the image)")
            });
        }
        if stages[i].base.contains("nonroot") {
            return None;
        }
        at = stages[i].base_stage;
    }
    Some(Hit::new(
        RUNS_AS_ROOT,
        stages[last].from.line,
        "the final stage sets no USER: the container runs as root",
        "add `USER 10001` (or a user created with useradd) after the last RUN",
    ))
}

/// The rules over every stage.
pub fn check(stages: &[Stage]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for stage in stages.iter().filter(|s| s.feeds) {
        hits.extend(unpinned_base(stage));
        for ins in &stage.body {
            if !matches!(ins.keyword.as_str(), "COPY" | "ADD") {
                continue;
            }
            let sources = ins.sources();
            let url = sources
                .iter()
                .find(|s| s.starts_with("http://") || s.starts_with("https://"));
            if let Some(url) =
                url.filter(|_| ins.keyword == "ADD" && ins.flag("checksum").is_none())
            {
                hits.push(Hit::new(
                    ADD_URL,
                    ins.line,
                    format!("ADD {url}: downloaded on every build without a checksum"),
                    "add --checksum=sha256:<digest>, or RUN curl -fsSL URL | verify | extract in one RUN and delete the download",
                ));
            }
            if let Some(secret) = sources
                .iter()
                .find(|s| is_secret(s))
                .filter(|_| stage.ships)
            {
                hits.push(Hit::new(
                    SECRET_IN_LAYER,
                    ins.line,
                    format!("{secret} is copied into a shipped layer: anyone who pulls the image can read it"),
                    "pass it at build time with RUN --mount=type=secret,id=..., or at run time; add it to .dockerignore",
                ));
            }
        }
    }
    hits.extend(root_user(stages));
    hits
}
