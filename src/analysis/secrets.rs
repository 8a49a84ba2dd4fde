//! Secrets in layer files: private keys, credential files of cloud, registry and package tools,
//! `.env` files and well-known token formats. The matchers look at a file's path and at the first
//! [`HEAD_LIMIT`](crate::layer::walk::HEAD_LIMIT) bytes of its content while the layer streams
//! by (see [`crate::analysis::inspect`]); what they keep is only the rule
//! and a short fingerprint of the matched value, so a report can never leak the secret itself.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem;
use sha2::{Digest as _, Sha256};

use crate::analysis::rules::{self, Rule};

/// How many leading bytes decide whether a file is text (a NUL byte means binary).
const TEXT_PROBE: usize = 8 << 10;

/// One secret found in a file: which rule matched and a fingerprint of the value, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretHit {
    /// The rule (`secret-private-key`, `secret-aws-key`, ...).
    pub rule: &'static Rule,
    /// The first 4 bytes of the SHA-256 of the matched value (printed as 8 hex digits), enough to
    /// tell two secrets apart or find the same one again, useless to recover it.
    pub fingerprint: [u8; 4],
}

impl SecretHit {
    fn of(rule: &'static Rule, value: &[u8]) -> SecretHit {
        let digest = Sha256::digest(value);
        SecretHit {
            rule,
            fingerprint: [digest[0], digest[1], digest[2], digest[3]],
        }
    }

    /// The fingerprint as 8 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn parent_name(path: &str) -> &str {
    let mut parts = path.rsplit('/');
    parts.next();
    parts.next().unwrap_or("")
}

/// The first line of `head` that contains `needle`, as the value to fingerprint.
fn line_with<'a>(head: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    let at = memmem::find(head, needle)?;
    let start = head[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = head[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(head.len(), |i| at + i);
    Some(&head[start..end])
}

/// Credential files recognized by name, with a marker their content must hold to count.
fn credential_file(path: &str, head: &[u8]) -> Option<SecretHit> {
    let (name, parent) = (base_name(path), parent_name(path));
    let (rule, markers): (&'static Rule, &[&[u8]]) = match (parent, name) {
        (".aws", "credentials") => (&rules::SECRET_AWS_CREDENTIALS, &[b"aws_secret_access_key"]),
        (".docker", "config.json") => (
            &rules::SECRET_DOCKER_AUTH,
            &[b"\"auth\"", b"\"identitytoken\""],
        ),
        (_, ".npmrc") => (
            &rules::SECRET_NPM_TOKEN,
            &[b"_authToken", b"_auth", b"_password"],
        ),
        (_, ".pypirc") => (&rules::SECRET_PYPI_PASSWORD, &[b"password"]),
        (_, ".netrc") => (&rules::SECRET_NETRC_PASSWORD, &[b"password"]),
        (_, ".git-credentials") => (&rules::SECRET_GIT_CREDENTIALS, &[b"@"]),
        _ => return None,
    };
    let line = markers.iter().find_map(|m| line_with(head, m))?;
    Some(SecretHit::of(rule, line))
}

/// `.env`, `.env.production`, ... but not the committed templates (`.env.example`).
fn is_env_file(path: &str) -> bool {
    let name = base_name(path);
    name == ".env"
        || name.strip_prefix(".env.").is_some_and(|suffix| {
            !matches!(
                suffix,
                "example" | "sample" | "template" | "dist" | "defaults"
            )
        })
}

/// How a PEM or OpenSSH block starts.
const PEM_BEGIN: &[u8] = b"-----BEGIN ";

/// The `-----BEGIN ... PRIVATE KEY-----` block (PEM, OpenSSH, encrypted) whose `-----BEGIN ` is at
/// `at` in `head`, if that block is a private key.
fn private_key_at(head: &[u8], at: usize) -> Option<SecretHit> {
    let rest = &head[at..];
    let line_end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let line = &rest[..line_end];
    if line.len() <= 80 && memmem::find(line, b"PRIVATE KEY-----").is_some() {
        let end = memmem::find(rest, b"-----END ").unwrap_or(rest.len());
        return Some(SecretHit::of(&rules::SECRET_PRIVATE_KEY, &rest[..end]));
    }
    None
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A token format: a literal prefix, then at least `min` (at most `max`) bytes accepted by `body`.
struct TokenFormat {
    rule: &'static Rule,
    prefix: &'static [u8],
    body: fn(u8) -> bool,
    min: usize,
    max: usize,
}

fn upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn alnum_underscore(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

const TOKENS: &[TokenFormat] = &[
    TokenFormat {
        rule: &rules::SECRET_AWS_KEY,
        prefix: b"AKIA",
        body: upper_alnum,
        min: 16,
        max: 16,
    },
    TokenFormat {
        rule: &rules::SECRET_AWS_KEY,
        prefix: b"ASIA",
        body: upper_alnum,
        min: 16,
        max: 16,
    },
    TokenFormat {
        rule: &rules::SECRET_GITHUB_TOKEN,
        prefix: b"ghp_",
        body: alnum,
        min: 36,
        max: 36,
    },
    TokenFormat {
        rule: &rules::SECRET_GITHUB_TOKEN,
        prefix: b"gho_",
        body: alnum,
        min: 36,
        max: 36,
    },
    TokenFormat {
        rule: &rules::SECRET_GITHUB_TOKEN,
        prefix: b"ghu_",
        body: alnum,
        min: 36,
        max: 36,
    },
    TokenFormat {
        rule: &rules::SECRET_GITHUB_TOKEN,
        prefix: b"ghs_",
        body: alnum,
        min: 36,
        max: 36,
    },
    TokenFormat {
        rule: &rules::SECRET_GITHUB_TOKEN,
        prefix: b"ghr_",
        body: alnum,
        min: 36,
        max: 36,
    },
    TokenFormat {
        rule: &rules::SECRET_GITHUB_TOKEN,
        prefix: b"github_pat_",
        body: alnum_underscore,
        min: 40,
        max: 255,
    },
    TokenFormat {
        rule: &rules::SECRET_GITLAB_TOKEN,
        prefix: b"glpat-",
        body: is_token_byte,
        min: 20,
        max: 64,
    },
    TokenFormat {
        rule: &rules::SECRET_SLACK_TOKEN,
        prefix: b"xoxb-",
        body: is_token_byte,
        min: 10,
        max: 255,
    },
    TokenFormat {
        rule: &rules::SECRET_SLACK_TOKEN,
        prefix: b"xoxa-",
        body: is_token_byte,
        min: 10,
        max: 255,
    },
    TokenFormat {
        rule: &rules::SECRET_SLACK_TOKEN,
        prefix: b"xoxp-",
        body: is_token_byte,
        min: 10,
        max: 255,
    },
    TokenFormat {
        rule: &rules::SECRET_SLACK_TOKEN,
        prefix: b"xoxr-",
        body: is_token_byte,
        min: 10,
        max: 255,
    },
    TokenFormat {
        rule: &rules::SECRET_SLACK_TOKEN,
        prefix: b"xoxs-",
        body: is_token_byte,
        min: 10,
        max: 255,
    },
];

/// The token of `format` whose prefix is at `at` in `head`, if one stands there alone (no token
/// byte right before it or right after its longest body), of the right length, and is not one of
/// the documented `EXAMPLE` values.
fn token_at(head: &[u8], at: usize, format: &TokenFormat) -> Option<SecretHit> {
    if at > 0 && is_token_byte(head[at - 1]) {
        return None;
    }
    let body_at = at + format.prefix.len();
    let body = head[body_at..]
        .iter()
        .take(format.max + 1)
        .take_while(|&&b| (format.body)(b))
        .count();
    let after = head.get(body_at + body).copied();
    if body < format.min || body > format.max || after.is_some_and(alnum) {
        return None;
    }
    let value = &head[at..body_at + body];
    if memmem::find(value, b"EXAMPLE").is_some() {
        return None;
    }
    Some(SecretHit::of(format.rule, value))
}

/// One searcher for every token prefix (pattern `i` is `TOKENS[i]`) and, last, [`PEM_BEGIN`]: a
/// text file is read once for all of them instead of once per prefix.
static PREFIXES: LazyLock<AhoCorasick> = LazyLock::new(|| {
    let patterns = TOKENS.iter().map(|t| t.prefix).chain([PEM_BEGIN]);
    // Leftmost-first semantics let the searcher use its SIMD (Teddy) prefilter; no prefix
    // contains another, so no match is lost to a longer one.
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .build(patterns)
        .expect("the token prefixes are a valid pattern set")
});

/// The first private key and the first token of each format in the text `head`, in one pass:
/// `(private key, hit per TOKENS entry)`.
fn first_hits(head: &[u8]) -> (Option<SecretHit>, Vec<Option<SecretHit>>) {
    let mut key = None;
    let mut tokens: Vec<Option<SecretHit>> = vec![None; TOKENS.len()];
    for found in PREFIXES.find_iter(head) {
        let (at, pattern) = (found.start(), found.pattern().as_usize());
        match TOKENS.get(pattern) {
            Some(format) if tokens[pattern].is_none() => {
                tokens[pattern] = token_at(head, at, format);
            }
            None if key.is_none() => key = private_key_at(head, at),
            _ => {}
        }
    }
    (key, tokens)
}

/// The secrets in the file `path` whose first bytes are `head`: at most one hit per rule.
pub fn scan(path: &str, head: &[u8]) -> Vec<SecretHit> {
    let mut hits = Vec::new();
    if let Some(hit) = credential_file(path, head) {
        hits.push(hit);
    }
    if is_env_file(path) && head.iter().any(|b| !b.is_ascii_whitespace()) {
        hits.push(SecretHit::of(&rules::SECRET_ENV_FILE, head));
    }
    let probe = &head[..head.len().min(TEXT_PROBE)];
    if memchr::memchr(0, probe).is_some() {
        return hits;
    }
    let (key, tokens) = first_hits(head);
    hits.extend(key);
    for (format, hit) in TOKENS.iter().zip(tokens) {
        if hits.iter().any(|h| h.rule == format.rule) {
            continue;
        }
        hits.extend(hit);
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(path: &str, head: &str) -> Vec<&'static str> {
        scan(path, head.as_bytes())
            .iter()
            .map(|h| h.rule.id)
            .collect()
    }

    #[test]
    fn finds_keys_tokens_and_credential_files() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        assert_eq!(rules("root/.ssh/id_ed25519", key), ["secret-private-key"]);
        assert_eq!(
            rules("app/settings.py", "KEY = 'AKIAZZZZ7QWERTYUIOPA'\n"),
            ["secret-aws-key"]
        );
        assert_eq!(
            rules("app/ci.sh", &format!("T=ghp_{}\n", "a1".repeat(18))),
            ["secret-github-token"]
        );
        assert_eq!(
            rules(
                "root/.docker/config.json",
                r#"{"auths":{"r":{"auth":"dTpw"}}}"#
            ),
            ["secret-docker-auth"]
        );
        assert_eq!(rules("srv/.env.production", "DB=x\n"), ["secret-env-file"]);
    }

    #[test]
    fn ignores_templates_examples_binaries_and_empty_auths() {
        assert!(rules("srv/.env.example", "DB=\n").is_empty());
        assert!(rules("doc/aws.md", "AKIAIOSFODNN7EXAMPLE").is_empty());
        assert!(rules("root/.docker/config.json", r#"{"auths":{}}"#).is_empty());
        assert!(rules("lib/x.so", "\0\0AKIAZZZZ7QWERTYUIOPA").is_empty());
        assert!(rules("a.txt", "XAKIAZZZZ7QWERTYUIOPA").is_empty());
        assert!(rules("a.txt", "-----BEGIN PUBLIC KEY-----\n").is_empty());
    }

    #[test]
    fn fingerprints_tell_values_apart_without_holding_them() {
        let a = scan("x", b"AKIAZZZZ7QWERTYUIOPA");
        let b = scan("x", b"AKIAZZZZ7QWERTYUIOPB");
        assert_ne!(a[0].fingerprint, b[0].fingerprint);
        assert_eq!(a[0].fingerprint_hex().len(), 8);
    }
}
