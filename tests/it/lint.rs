//! `strata lint` end to end: every rule fires on its bad pattern and stays quiet on the fix, with
//! the right line; the hadolint false positives (cache mounts, heredocs, continuations, cleanup
//! order) are handled; builder stages are not size findings; the ignore mechanisms, output
//! formats and exit codes work; realistic good Python and Rust Dockerfiles give zero findings.


use std::path::{Path, PathBuf};

use crate::support::{strata_in, Run};

/// A .dockerignore that satisfies SL010, so other tests see only their own rule.
const GOOD_IGNORE: &str = ".git\ntarget/\n.venv\n";

fn project(dockerfile: &str, ignore: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    if let Some(ignore) = ignore {
        std::fs::write(dir.path().join(".dockerignore"), ignore).unwrap();
    }
    dir
}

fn lint_in(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["lint"];
    all.extend_from_slice(args);
    strata_in(&all, &[], Some(dir))
}

/// (rule, line) of every finding for `dockerfile`, linted with `args`.
fn findings_with(dockerfile: &str, args: &[&str]) -> Vec<(String, u64)> {
    let dir = project(dockerfile, Some(GOOD_IGNORE));
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let run = lint_in(dir.path(), &all);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}: {}",
        run.code,
        run.stderr
    );
    run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The lines where `rule` fires.
fn lines(rule: &str, dockerfile: &str) -> Vec<u64> {
    findings_with(dockerfile, &[])
        .into_iter()
        .filter(|(r, _)| r == rule)
        .map(|(_, l)| l)
        .collect()
}

const PINNED: &str =
    "FROM python:3.12-slim@sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// A pinned base, then `body`, then a non-root user: quiet on SL006 and SL008.
fn df(body: &str) -> String {
    format!("{PINNED}\n{body}\nUSER 10001\n")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/dockerfiles")
        .join(name)
}

fn sl001_context_copied_before_install() {
    assert_eq!(
        lines(
            "SL001",
            &df("WORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt")
        ),
        vec![3]
    );
    assert_eq!(lines("SL001", &df("COPY . /app\nRUN npm ci")), vec![2]);
    let keyed = df("COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nRUN python -m compileall .");
    assert!(lines("SL001", &keyed).is_empty());
    // A tool install before the copy does not key the later install to a lockfile.
    let tool_first =
        df("RUN pip install --no-cache-dir poetry==1.8.3\nCOPY . .\nRUN poetry install");
    assert_eq!(lines("SL001", &tool_first), vec![3]);
    // A cache mount keeps the dependencies across builds.
    let cached = df(
        "COPY . .\nRUN --mount=type=cache,target=/usr/local/cargo/registry cargo build --locked",
    );
    assert!(lines("SL001", &cached).is_empty());
}

fn sl002_install_not_keyed_to_a_lockfile() {
    assert_eq!(
        lines("SL002", &df("COPY package.json .\nRUN npm install")),
        vec![3]
    );
    assert_eq!(
        lines(
            "SL002",
            &df("RUN pip install --no-cache-dir flask requests==2.32.3")
        ),
        vec![2]
    );
    assert_eq!(
        lines("SL002", &df("COPY Cargo.* ./\nRUN cargo build --release")),
        vec![3]
    );
    assert_eq!(lines("SL002", &df("RUN yarn install")), vec![2]);
    let locked = df("COPY package.json package-lock.json ./\nRUN npm ci\nRUN pip install --no-cache-dir -r requirements.txt flask==3.0.3 -i https://pypi.example\nRUN cargo build --locked\nRUN uv sync --frozen");
    assert!(lines("SL002", &locked).is_empty());
}

fn sl003_package_caches_left_in_the_layer() {
    let bad = df("RUN apt-get update && \\\n    apt-get install -y --no-install-recommends curl");
    assert_eq!(lines("SL003", &bad), vec![2]);
    // Cleaning before the install leaves the new lists behind (hadolint#957).
    let wrong_order = df("RUN rm -rf /var/lib/apt/lists/* && apt-get update && apt-get install -y --no-install-recommends curl");
    assert_eq!(lines("SL003", &wrong_order), vec![2]);
    assert_eq!(lines("SL003", &df("RUN apk add curl")), vec![2]);
    let clean = df("RUN apt-get update \\\n # comments inside continuations are dropped\n && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\nRUN apk add --no-cache curl");
    assert!(lines("SL003", &clean).is_empty());
    let mounted = df("RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked \\\n  apt-get update && apt-get install -y --no-install-recommends curl");
    assert!(lines("SL003", &mounted).is_empty());
}

fn sl004_pip_cache() {
    assert_eq!(
        lines(
            "SL004",
            &df("COPY requirements.txt .\nRUN pip install -r requirements.txt")
        ),
        vec![3]
    );
    // A heredoc script is read too, and reported on the RUN's line.
    assert_eq!(
        lines(
            "SL004",
            &df(
                "COPY requirements.txt .\nRUN <<EOF\nset -e\npip3 install -r requirements.txt\nEOF"
            )
        ),
        vec![3]
    );
    let quiet = [
        "RUN pip install --no-cache-dir -r requirements.txt",
        "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt",
        "ENV PIP_NO_CACHE_DIR=1\nRUN pip install -r requirements.txt",
        "RUN PIP_NO_CACHE_DIR=1 python -m pip install -r requirements.txt",
        "RUN uv pip install --system -r requirements.txt",
    ];
    for body in quiet {
        assert!(lines("SL004", &df(body)).is_empty(), "{body}");
    }
}

fn builder_stage_caches_are_not_size_findings_but_cache_busting_is() {
    let text = format!(
        "{PINNED} AS build\nCOPY . .\nRUN pip install -r requirements.txt && apt-get install -y gcc\n{PINNED}\nCOPY --from=build /venv /venv\nUSER 10001\n"
    );
    let found = findings_with(&text, &[]);
    assert!(found.contains(&("SL001".to_string(), 2)), "{found:?}");
    for rule in ["SL003", "SL004", "SL005"] {
        assert!(!found.iter().any(|(r, _)| r == rule), "{rule} in {found:?}");
    }
}

fn sl005_install_recommends() {
    assert_eq!(
        lines(
            "SL005",
            &df("RUN apt-get -y install curl && rm -rf /var/lib/apt/lists/*")
        ),
        vec![2]
    );
    assert!(lines(
        "SL005",
        &df("RUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*")
    )
    .is_empty());
}

fn sl006_unpinned_base_with_arg_substitution() {
    let dir = project(
        "ARG PY=3.12\nFROM python:${PY}-slim\nUSER 1\n",
        Some(GOOD_IGNORE),
    );
    let run = lint_in(dir.path(), &["--format", "json"]);
    assert_eq!(
        run.code, 0,
        "info does not fail the default gate: {}",
        run.stdout
    );
    let f = &run.json()["findings"][0];
    assert_eq!(
        (f["rule"].as_str(), f["line"].as_u64()),
        (Some("SL006"), Some(2))
    );
    assert!(
        f["message"].as_str().unwrap().contains("python:3.12-slim"),
        "{f}"
    );
    let quiet =
        format!("{PINNED} AS base\nFROM base\nFROM scratch\nCOPY --from=base /x /x\nUSER 1\n");
    assert!(lines("SL006", &quiet).is_empty());
}

fn sl007_add_url() {
    assert_eq!(
        lines("SL007", &df("ADD https://example.com/tool.tgz /opt/")),
        vec![2]
    );
    let quiet =
        df("ADD --checksum=sha256:abcd https://example.com/tool.tgz /opt/\nADD vendor.tar /opt/");
    assert!(lines("SL007", &quiet).is_empty());
}

fn sl008_runs_as_root() {
    assert_eq!(lines("SL008", &format!("{PINNED}\nRUN true\n")), vec![1]);
    assert_eq!(
        lines("SL008", &format!("{PINNED}\nUSER app\nUSER root:root\n")),
        vec![3]
    );
    let inherited = format!("{PINNED} AS base\nUSER app\nFROM base\nRUN true\n");
    assert!(lines("SL008", &inherited).is_empty());
    let distroless = "FROM gcr.io/distroless/static-debian12:nonroot@sha256:00\nCOPY app /app\n";
    assert!(lines("SL008", distroless).is_empty());
}

fn sl009_secrets_in_shipped_layers() {
    assert_eq!(
        lines(
            "SL009",
            &df("COPY .env /app/\nCOPY keys/id_rsa /root/.ssh/")
        ),
        vec![2, 3]
    );
    let quiet = df("COPY .env.example /app/");
    assert!(lines("SL009", &quiet).is_empty());
    let builder_only = format!("{PINNED} AS build\nCOPY .npmrc .\nRUN true\n{PINNED}\nCOPY --from=build /out /out\nUSER 1\n");
    assert!(lines("SL009", &builder_only).is_empty());
    let run = lint_in(
        project(&df("COPY server.pem /etc/"), Some(GOOD_IGNORE)).path(),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("SL009 secret-in-layer") && run.stdout.contains("Dockerfile:2"),
        "{}",
        run.stdout
    );
}

fn sl010_dockerignore() {
    let text =
        df("COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .");
    let missing = project(&text, None);
    let run = lint_in(missing.path(), &["--format", "json"]);
    let f: Vec<_> = run.json()["findings"].as_array().unwrap().clone();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0]["rule"].as_str(), f[0]["line"].as_u64()),
        (Some("SL010"), Some(4))
    );

    let rust = project(&text, Some(".git\n"));
    std::fs::write(rust.path().join("Cargo.toml"), "[package]\n").unwrap();
    let run = lint_in(rust.path(), &["--format", "json"]);
    let msg = run.json()["findings"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("does not exclude target"), "{msg}");

    // Copying named files only needs no .dockerignore; a full one passes; --context points elsewhere.
    assert!(lint_in(project(&df("COPY app.py ."), None).path(), &[]).code == 0);
    assert_eq!(
        lint_in(
            rust.path(),
            &["--context", missing.path().to_str().unwrap()]
        )
        .code,
        1
    );
    std::fs::write(
        rust.path().join(".dockerignore"),
        "**/.git\n/target\n.venv/\n",
    )
    .unwrap();
    assert_eq!(lint_in(rust.path(), &[]).code, 0);
}

fn ignores_by_flag_name_inline_comment_and_strata_toml() {
    let text = df("COPY requirements.txt .\n# strata-ignore SL004\nRUN pip install -r requirements.txt\nRUN pip install -r requirements.txt");
    assert_eq!(lines("SL004", &text), vec![5]);
    for args in [&["--ignore", "SL004"][..], &["--ignore", "pip-cache"][..]] {
        assert!(findings_with(&text, args).is_empty(), "{args:?}");
    }
    let dir = project(&text, Some(GOOD_IGNORE));
    std::fs::write(
        dir.path().join("strata.toml"),
        "[lint]\nignore = [\"pip-cache\"]\n",
    )
    .unwrap();
    assert_eq!(lint_in(dir.path(), &[]).code, 0);
    std::fs::write(
        dir.path().join("strata.toml"),
        "[lint]\nignore = [\"SL999\"]\n",
    )
    .unwrap();
    let run = lint_in(dir.path(), &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("SL999"), "{}", run.stderr);
    let run = lint_in(dir.path(), &["--ignore", "nope", "--config", "/dev/null"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

fn exit_codes_and_fail_on() {
    let info_only = project("FROM alpine:3.20\nUSER 1\n", None);
    assert_eq!(lint_in(info_only.path(), &[]).code, 0);
    assert_eq!(lint_in(info_only.path(), &["--fail-on", "info"]).code, 1);
    let warning = project(&df("RUN apk add curl"), None);
    assert_eq!(lint_in(warning.path(), &[]).code, 1);
    assert_eq!(lint_in(warning.path(), &["--fail-on", "error"]).code, 0);

    let run = lint_in(warning.path(), &["missing.Dockerfile"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.Dockerfile"), "{}", run.stderr);
    let bad = project("FROM alpine\nRUN echo \\\n  hi\nCOPPY . .\n", None);
    let run = lint_in(bad.path(), &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("Dockerfile: line 4: unknown instruction"),
        "{}",
        run.stderr
    );
    let run = lint_in(project("RUN true\n", None).path(), &[]);
    assert!(
        run.code == 2 && run.stderr.contains("line 1: RUN before the first FROM"),
        "{}",
        run.stderr
    );
}

fn json_junit_github_and_markdown_outputs() {
    let dir = project(&df("RUN apk add curl\nCOPY .env /app/"), Some(GOOD_IGNORE));
    std::fs::copy(
        dir.path().join("Dockerfile"),
        dir.path().join("Dockerfile.dev"),
    )
    .unwrap();
    let run = lint_in(
        dir.path(),
        &[
            "Dockerfile",
            "Dockerfile.dev",
            "--format",
            "json",
            "--ignore",
            "SL006",
        ],
    );
    let doc = run.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["fail_on"], "warning");
    assert_eq!(doc["ignored"], serde_json::json!(["SL006"]));
    assert_eq!(
        doc["files"],
        serde_json::json!(["Dockerfile", "Dockerfile.dev"])
    );
    let first = &doc["findings"][0];
    for key in ["rule", "name", "severity", "file", "line", "message", "fix"] {
        assert!(!first[key].is_null(), "{key} missing in {first}");
    }
    assert_eq!(doc["findings"].as_array().unwrap().len(), 4);

    let junit = lint_in(dir.path(), &["--format", "junit", "--ignore", "SL006"]).stdout;
    assert!(
        junit.contains("<testsuites name=\"strata lint\" tests=\"10\" failures=\"2\">"),
        "{junit}"
    );
    assert!(
        junit.contains(
            "name=\"SL009 secret-in-layer\">\n      <failure message=\"Dockerfile:3: .env"
        ),
        "{junit}"
    );
    assert!(
        junit.contains("name=\"SL006 unpinned-base\">\n      <skipped/>"),
        "{junit}"
    );

    let github = lint_in(dir.path(), &["--format", "github"]).stdout;
    assert!(
        github.contains("::error file=Dockerfile,line=3,title=strata lint SL009 secret-in-layer::"),
        "{github}"
    );
    assert!(
        github.contains("::warning file=Dockerfile,line=2,title=strata lint SL003"),
        "{github}"
    );

    let md = lint_in(dir.path(), &["--format", "markdown"]).stdout;
    assert!(
        md.contains("| error | `SL009` secret-in-layer | `Dockerfile:3` |"),
        "{md}"
    );
}

fn escape_directive_and_exec_form_keep_lines() {
    let text = format!("# escape=`\n{PINNED}\nRUN apt-get update && `\n    apt-get install -y curl\nRUN [\"sh\", \"-c\", \"pip install -r r.txt\"]\nUSER 1\n");
    let found = findings_with(&text, &[]);
    for expected in [("SL003", 3), ("SL005", 3), ("SL004", 5)] {
        assert!(
            found.contains(&(expected.0.to_string(), expected.1)),
            "{expected:?} not in {found:?}"
        );
    }
}

fn good_python_and_rust_dockerfiles_have_no_findings() {
    for name in ["python-good.Dockerfile", "rust-good.Dockerfile"] {
        let dir = fixture("");
        let run = lint_in(&dir, &[name, "--fail-on", "info", "--format", "json"]);
        assert_eq!(run.code, 0, "{name}: {}", run.stdout);
        assert_eq!(run.json()["findings"], serde_json::json!([]), "{name}");
    }
}

crate::tests![
    sl001_context_copied_before_install,
    sl002_install_not_keyed_to_a_lockfile,
    sl003_package_caches_left_in_the_layer,
    sl004_pip_cache,
    builder_stage_caches_are_not_size_findings_but_cache_busting_is,
    sl005_install_recommends,
    sl006_unpinned_base_with_arg_substitution,
    sl007_add_url,
    sl008_runs_as_root,
    sl009_secrets_in_shipped_layers,
    sl010_dockerignore,
    ignores_by_flag_name_inline_comment_and_strata_toml,
    exit_codes_and_fail_on,
    json_junit_github_and_markdown_outputs,
    escape_directive_and_exec_form_keep_lines,
    good_python_and_rust_dockerfiles_have_no_findings,
];
