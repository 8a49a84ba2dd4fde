//! Security findings of `strata report`: an image planted with one secret of every kind (one of
//! them deleted by a later layer), a setuid file, a world-writable directory and no `User` gets
//! every planted item reported, a clean control image gets none, and no output format nor stderr
//! ever carries a planted secret value.


use std::path::Path;

use crate::support::layout::{write_layout_with, Comp};
use crate::support::strata;

/// One tar entry with an explicit mode: (path, type, mode, content).
type Planted<'a> = (&'a str, tar::EntryType, u32, Vec<u8>);

fn tar_of(entries: &[Planted]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, mode, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(*mode);
        h.set_mtime(1);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, data.as_slice())
            .expect("append");
    }
    b.into_inner().expect("tar")
}

fn file<'a>(path: &'a str, mode: u32, data: &str) -> Planted<'a> {
    (
        path,
        tar::EntryType::Regular,
        mode,
        data.as_bytes().to_vec(),
    )
}

fn directory(path: &str, mode: u32) -> Planted<'_> {
    (path, tar::EntryType::Directory, mode, Vec::new())
}

/// The secret values planted, built at run time so the source holds none of them whole.
struct Secrets {
    key_body: String,
    aws_secret: String,
    docker_auth: String,
    npm_token: String,
    pypi_password: String,
    netrc_password: String,
    git_password: String,
    env_value: String,
    aws_key_id: String,
    github: String,
    gitlab: String,
    slack: String,
}

impl Secrets {
    fn new() -> Secrets {
        let s = |prefix: &str, body: &str, n: usize| format!("{prefix}{}", body.repeat(n));
        Secrets {
            key_body: s("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "Zq9", 20),
            aws_secret: s("wJalrXUtnFEMI", "K7MDENGbPxRfiCY", 2),
            docker_auth: s("dXNlcjpzZWNyZXQ", "x7", 6),
            npm_token: s("npm_", "Tq8", 12),
            pypi_password: s("pypi-", "AgEIcHlwaS5vcmc", 3),
            netrc_password: s("netrcpw", "Hq2", 5),
            git_password: s("gitpw", "Lm4", 5),
            env_value: s("dbpass", "Xv3", 5),
            aws_key_id: s("AKIA", "Q7RZ", 4),
            github: s("ghp_", "aB3dE5fG7h", 3) + "Jk9LmN",
            gitlab: s("glpat-", "Wx2Yz", 4),
            slack: s("xoxb-", "12345-", 3) + "AbCdEfGh",
        }
    }

    fn all(&self) -> Vec<&str> {
        vec![
            &self.key_body,
            &self.aws_secret,
            &self.docker_auth,
            &self.npm_token,
            &self.pypi_password,
            &self.netrc_password,
            &self.git_password,
            &self.env_value,
            &self.aws_key_id,
            &self.github,
            &self.gitlab,
            &self.slack,
        ]
    }
}

/// Writes the planted image (`planted` true) or its clean control into `dir` as `oci:DIR:latest`.
fn write_image(dir: &Path, planted: bool, s: &Secrets) -> String {
    let base = tar_of(&[
        directory("usr", 0o755),
        directory("usr/bin", 0o755),
        file("usr/bin/su", if planted { 0o4755 } else { 0o755 }, "#!elf"),
        directory("tmp", 0o1777),
        directory("data", if planted { 0o777 } else { 0o755 }),
    ]);
    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        s.key_body
    );
    let app = if planted {
        tar_of(&[
            directory("root", 0o700),
            file("root/.ssh/id_rsa", 0o600, &pem),
            file(
                "root/.aws/credentials",
                0o600,
                &format!(
                    "[default]\naws_access_key_id = x\naws_secret_access_key = {}\n",
                    s.aws_secret
                ),
            ),
            file(
                "root/.docker/config.json",
                0o600,
                &format!(
                    r#"{{"auths":{{"r.example.com":{{"auth":"{}"}}}}}}"#,
                    s.docker_auth
                ),
            ),
            file(
                "app/.npmrc",
                0o644,
                &format!("//registry.npmjs.org/:_authToken={}\n", s.npm_token),
            ),
            file(
                "root/.pypirc",
                0o600,
                &format!(
                    "[pypi]\nusername = __token__\npassword = {}\n",
                    s.pypi_password
                ),
            ),
            file(
                "root/.netrc",
                0o600,
                &format!("machine h login u password {}\n", s.netrc_password),
            ),
            file(
                "root/.git-credentials",
                0o600,
                &format!("https://u:{}@git.example.com\n", s.git_password),
            ),
            file("app/.env", 0o644, &format!("DB_PASSWORD={}\n", s.env_value)),
            file(
                "app/settings.py",
                0o644,
                &format!("AWS_KEY = '{}'\n", s.aws_key_id),
            ),
            file(
                "app/ci.sh",
                0o755,
                &format!("GH={}\nGL={}\nSLACK={}\n", s.github, s.gitlab, s.slack),
            ),
        ])
    } else {
        tar_of(&[
            directory("root", 0o700),
            file("root/.ssh/known_hosts", 0o644, "h ssh-ed25519 AAAAC3Nz\n"),
            file("app/.env.example", 0o644, "DB_PASSWORD=\n"),
            file(
                "app/settings.py",
                0o644,
                "AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\n",
            ),
            file("root/.docker/config.json", 0o600, r#"{"auths":{}}"#),
        ])
    };
    let top = if planted {
        tar_of(&[
            file("root/.ssh/.wh.id_rsa", 0o644, ""),
            file("app/main.py", 0o644, "print('hi')\n"),
        ])
    } else {
        // The control starts: its command is a script whose interpreter the image has.
        tar_of(&[
            file("app/main.py", 0o644, "print('hi')\n"),
            file("app/run.sh", 0o755, "#!/bin/sh\necho hi\n"),
            file("bin/sh", 0o755, "a shell\n"),
        ])
    };
    write_layout_with(
        dir,
        "latest",
        &[(base, Comp::Gzip), (app, Comp::Gzip), (top, Comp::None)],
        |config| {
            if !planted {
                config["config"]["User"] = "65532".into();
                config["config"]["Cmd"] = serde_json::json!(["/app/run.sh"]);
            }
        },
    );
    format!("oci:{}:latest", dir.display())
}

fn security_findings(report: &serde_json::Value) -> Vec<crate::support::FindingItem> {
    crate::support::finding_items(report, |f| {
        matches!(f["kind"].as_str(), Some("secret" | "permission"))
    })
}

fn report(reference: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["report", reference, "--no-progress"];
    args.extend_from_slice(extra);
    let run = strata(&args);
    assert_eq!(run.code, 0, "strata report failed: {}", run.stderr);
    run
}

fn every_planted_item_is_reported_and_no_value_is_ever_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let secrets = Secrets::new();
    let reference = write_image(&tmp.path().join("planted"), true, &secrets);
    let json = report(&reference, &["--format", "json"]);
    let expected: Vec<(String, String, u64, Option<u64>)> = [
        ("runs-as-root", "(config) User", 2, None),
        ("secret-aws-credentials", "/root/.aws/credentials", 1, None),
        ("secret-aws-key", "/app/settings.py", 1, None),
        ("secret-docker-auth", "/root/.docker/config.json", 1, None),
        ("secret-env-file", "/app/.env", 1, None),
        ("secret-git-credentials", "/root/.git-credentials", 1, None),
        ("secret-github-token", "/app/ci.sh", 1, None),
        ("secret-gitlab-token", "/app/ci.sh", 1, None),
        ("secret-netrc-password", "/root/.netrc", 1, None),
        ("secret-npm-token", "/app/.npmrc", 1, None),
        ("secret-private-key", "/root/.ssh/id_rsa", 1, Some(2)),
        ("secret-pypi-password", "/root/.pypirc", 1, None),
        ("secret-slack-token", "/app/ci.sh", 1, None),
        ("setuid", "/usr/bin/su", 0, None),
        ("world-writable", "/data", 0, None),
    ]
    .iter()
    .map(|(r, p, l, h)| (r.to_string(), p.to_string(), *l, *h))
    .collect();
    assert_eq!(security_findings(&json.json()), expected);
    let hidden = json
        .stdout
        .contains("present in layer 1, hidden by layer 2, still downloadable");
    assert!(hidden, "{}", json.stdout);

    let table = report(&reference, &[]);
    let markdown = report(&reference, &["--format", "markdown"]);
    assert!(table.stdout.contains("secret-private-key") && table.stdout.contains("fix: "));
    assert!(markdown.stdout.contains("| high | secret-aws-key |"));
    for run in [&json, &table, &markdown] {
        for value in secrets.all() {
            assert!(
                !run.stdout.contains(value) && !run.stderr.contains(value),
                "a planted secret value leaked into the output"
            );
        }
    }
}

fn a_clean_control_image_has_no_security_findings_and_rules_can_be_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let secrets = Secrets::new();
    let clean = write_image(&tmp.path().join("clean"), false, &secrets);
    assert_eq!(
        security_findings(&report(&clean, &["--format", "json"]).json()),
        []
    );

    let planted = write_image(&tmp.path().join("planted"), true, &secrets);
    let ignored = report(
        &planted,
        &[
            "--format",
            "json",
            "--ignore",
            "runs-as-root",
            "--ignore",
            "setuid",
        ],
    );
    let rules: Vec<String> = security_findings(&ignored.json())
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert!(rules.contains(&"world-writable".to_string()), "{rules:?}");
    assert!(
        !rules.iter().any(|r| r == "runs-as-root" || r == "setuid"),
        "{rules:?}"
    );
}

fn strata_toml_allows_and_check_gates_on_rule_families_and_severities() {
    let tmp = tempfile::tempdir().unwrap();
    let secrets = Secrets::new();
    let planted = write_image(&tmp.path().join("planted"), true, &secrets);
    let clean = write_image(&tmp.path().join("clean"), false, &secrets);
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("strata.toml"),
        "[report]\nignore = [\"setuid\"]\n[[report.allow]]\nrules = [\"secret-env-file\"]\npaths = [\"/app/.env\"]\n",
    )
    .unwrap();
    let run = crate::support::strata_in(
        &["report", &planted, "--no-progress", "--format", "json"],
        &[],
        Some(&project),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rules: Vec<String> = security_findings(&run.json())
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert!(!rules
        .iter()
        .any(|r| r == "setuid" || r == "secret-env-file"));
    assert!(rules.iter().any(|r| r == "secret-npm-token"), "{rules:?}");

    // `check --fail-on secret` fails on the planted image, naming the secrets the config still
    // reports, and passes on the clean one; a severity threshold gates the same way.
    let check = |image: &str, extra: &[&str]| {
        let mut args = vec!["check", image, "--no-progress", "--format", "json"];
        args.extend_from_slice(extra);
        crate::support::strata_in(&args, &[], Some(&project))
    };
    let failed = check(&planted, &["--fail-on", "secret"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let rule = &failed.json()["rules"][0];
    assert_eq!(rule["rule"], "fail_on");
    let offenders: Vec<String> = rule["measured"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(offenders.len(), 11, "{offenders:?}");
    assert!(offenders.iter().all(|o| o.starts_with("secret-")));
    assert!(!offenders.iter().any(|o| o.contains("/app/.env ")));
    for value in secrets.all() {
        assert!(!failed.stdout.contains(value) && !failed.stderr.contains(value));
    }
    assert_eq!(check(&clean, &["--fail-on", "secret"]).code, 0);
    assert_eq!(check(&clean, &["--fail-on", "medium+"]).code, 0);
    let root = check(&planted, &["--fail-on", "medium", "--ignore", "secret"]);
    assert_eq!(root.code, 1, "{}", root.stderr);
    let text = root.json()["rules"][0]["message"].to_string();
    assert!(
        text.contains("runs-as-root") && text.contains("world-writable"),
        "{text}"
    );

    // A typo is a usage error (exit 2), not a gate that silently passes.
    let typo = check(&clean, &["--fail-on", "secrets"]);
    assert_eq!(typo.code, 2, "{}", typo.stderr);
    assert!(
        typo.stderr.contains("unknown rule \"secrets\""),
        "{}",
        typo.stderr
    );
}

crate::tests![
    every_planted_item_is_reported_and_no_value_is_ever_printed,
    a_clean_control_image_has_no_security_findings_and_rules_can_be_ignored,
    strata_toml_allows_and_check_gates_on_rule_families_and_severities,
];
