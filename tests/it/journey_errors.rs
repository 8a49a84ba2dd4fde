//! The first minutes with strata, when something is wrong: errors are one line that never echoes
//! the input's bytes, a mistyped file is "no such file" without a network request (a loopback
//! listener set as every proxy variable sees none), a bare name Docker Hub cannot serve says where
//! strata looked and how to read a local Docker image, tables fit `COLUMNS` while JSON and
//! Markdown keep every character, `history` prints no 1970 date, `copy` and `cook` hint at the
//! fix, and registries over TLS work with ring's crypto (openssl makes the certificates, skopeo
//! reads the image back).

use std::path::{Path, PathBuf};

use crate::support::layout::{noise, tar_bytes, write_layout, write_layout_with, Comp, Item};
use crate::support::listener::Listener;
use crate::support::pki::Pki;
use crate::support::registry::{Registry, Tls};
use crate::support::{have, require, sh, strata, strata_in, Run};

/// The lines of `run`'s stderr, asserting it is exactly one `strata: error:` line, optionally
/// followed by one `hint:` line, with no control character but the newlines.
fn error_lines(run: &Run) -> Vec<&str> {
    let raw: Vec<char> = run
        .stderr
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(raw.is_empty(), "control characters {raw:?} in {:?}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("strata: error: ")),
        "{}",
        run.stderr
    );
    assert!(
        lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("hint: ")),
        "more than an error and a hint: {}",
        run.stderr
    );
    lines
}

/// Whether python's tarfile (an independent reader) takes `path` for a tar archive.
fn python_reads_a_tar(path: &Path) -> bool {
    let out = sh(&format!(
        "python3 -c 'import sys, tarfile; print(tarfile.is_tarfile(sys.argv[1]))' {}",
        path.display()
    ));
    out.trim() == "True"
}

fn a_file_that_is_not_an_image_is_one_line_without_its_bytes() {
    require(have("python3"), "python3");
    let tmp = tempfile::tempdir().unwrap();
    let secret = "ghp_R3alLookingT0kenAbcdefghijklmnop0123";
    let env: String = (0..20)
        .map(|i| format!("SECRET_TOKEN_{i}={secret}\nDB_PASSWORD=hunter2-{i}\n"))
        .collect();
    let short_env = format!("API_KEY={secret}\n");
    // Random bytes with the secret where a tar header's name field would be: the tar reader's
    // own message quotes that field.
    let mut binary = noise(4096, 0x9e37_79b9_7f4a_7c15);
    binary[..secret.len()].copy_from_slice(secret.as_bytes());
    for (name, bytes) in [
        ("prod.env", env.as_bytes()),
        ("short.env", short_env.as_bytes()),
        ("random.bin", &binary[..]),
    ] {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        assert!(!python_reads_a_tar(&path), "{name} is a tar for python");
        let run = strata(&["report", path.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        let lines = error_lines(&run);
        assert_eq!(lines.len(), 1, "{}", run.stderr);
        assert!(!run.stderr.contains(secret), "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("hunter2"), "{name}: {}", run.stderr);
        assert!(run.stderr.contains("not a tar archive"), "{}", run.stderr);
    }
    // A real archive still opens (python agrees it is a tar).
    let layout = tmp.path().join("layout");
    write_layout(
        &layout,
        "v1",
        &[(tar_bytes(&[Item::File("app/a.txt", b"a\n")]), Comp::Gzip)],
    );
    let archive = tmp.path().join("image.tar");
    sh(&format!(
        "skopeo copy --quiet oci:{}:v1 oci-archive:{}:v1",
        layout.display(),
        archive.display()
    ));
    assert!(python_reads_a_tar(&archive));
    let run = strata(&["report", archive.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

fn a_mistyped_file_name_is_no_such_file_without_a_request() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    std::fs::write(work.join("naive2.tar"), b"").unwrap();
    std::fs::create_dir(work.join("images")).unwrap();
    let listener = Listener::start();
    for name in [
        "naive2.tarr",
        "images/app.tar",
        "app.oci:v1",
        "./gone",
        "~/gone.tar",
    ] {
        let run = listener.strata(&["report", name, "--timeout", "2"], work);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        let lines = error_lines(&run);
        assert!(lines[0].contains("no such file"), "{}", run.stderr);
        assert!(!run.stderr.contains("cannot reach"), "{}", run.stderr);
    }
    let run = listener.strata(&["report", "naive2.tarr"], work);
    assert!(run.stderr.contains("docker://naive2.tarr"), "{}", run.stderr);
    assert!(
        run.stderr.contains("hint: did you mean naive2.tar?"),
        "{}",
        run.stderr
    );
    assert_eq!(listener.connections(), 0, "strata asked a registry");
    // The oracle sees a request when there is one: the same name asked of Docker Hub explicitly.
    let run = listener.strata(&["report", "docker://naive2.tarr", "--timeout", "2"], work);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(listener.connections() > 0, "the listener saw no connection");
}

/// `oci:DIR/src:v1`, a layout under `dir` holding one image of one one-byte file.
fn one_file_image(dir: &Path) -> String {
    let layout = dir.join("src");
    write_layout(
        &layout,
        "v1",
        &[(tar_bytes(&[Item::File("a", b"a")]), Comp::Gzip)],
    );
    format!("oci:{}:v1", layout.display())
}

/// `DOCKER_HOST` at a socket that does not exist under `dir`: an engine that is not running.
fn no_engine(dir: &Path) -> PathBuf {
    PathBuf::from(format!("unix://{}", dir.join("no-docker.sock").display()))
}

fn docker_daemon_without_an_engine_says_so_and_asks_no_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let src = one_file_image(tmp.path());
    let listener = Listener::start();
    let host = no_engine(tmp.path());
    for args in [
        vec!["report", "docker-daemon:app:latest"],
        vec!["copy", &src, "docker-daemon:app:latest"],
        vec!["diff", &src, "docker-daemon:app:latest"],
    ] {
        let run = listener.strata_with(&args, tmp.path(), &[("DOCKER_HOST", &host)]);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        let lines = error_lines(&run);
        assert_eq!(lines.len(), 1, "{}", run.stderr);
        assert!(lines[0].contains("cannot reach the Docker Engine"), "{}", run.stderr);
        assert!(lines[0].contains("no-docker.sock"), "{}", run.stderr);
        assert!(!run.stderr.contains("invalid reference"), "{}", run.stderr);
    }
    assert_eq!(listener.connections(), 0);
}

fn a_bare_name_docker_hub_cannot_serve_says_where_it_looked() {
    let tmp = tempfile::tempdir().unwrap();
    let listener = Listener::start();
    let host = no_engine(tmp.path());
    let run = listener.strata_with(
        &["report", "myimage:latest", "--timeout", "2"],
        tmp.path(),
        &[("DOCKER_HOST", &host)],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(listener.connections() > 0, "Docker Hub was not asked");
    let lines = error_lines(&run);
    assert_eq!(lines.len(), 2, "no hint: {}", run.stderr);
    assert!(lines[0].contains("no file or directory here"), "{}", lines[0]);
    assert!(lines[0].contains("cannot reach the Docker Engine"), "{}", lines[0]);
    assert!(lines[0].contains("Docker Hub"), "{}", lines[0]);
    assert!(lines[1].contains("REGISTRY/myimage:latest"), "{}", lines[1]);
    assert!(lines[1].contains("DOCKER_HOST"), "{}", lines[1]);
}

/// A path nested `depth` directories deep under `/app`, ending in `name`.
fn deep_path(depth: usize, name: &str) -> String {
    let dirs: Vec<String> = (0..depth)
        .map(|i| format!("directory-with-a-long-name-{i}"))
        .collect();
    format!("app/{}/{name}", dirs.join("/"))
}

/// The longest line of `text`, in characters, with the line.
fn widest(text: &str) -> (usize, &str) {
    text.lines()
        .map(|l| (l.chars().count(), l))
        .max()
        .unwrap_or((0, ""))
}

fn tables_fit_columns_and_machine_formats_keep_everything() {
    let tmp = tempfile::tempdir().unwrap();
    // A key at a path of 12 kB: its finding's cell is elided in the table, whole elsewhere.
    let key_path = deep_path(400, "id_rsa");
    let data_path = deep_path(6, "data.bin");
    let pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        "MIIEowIBAAKCAQEA".repeat(20)
    );
    let payload = noise(300_000, 7);
    let old_dir = tmp.path().join("old");
    let new_dir = tmp.path().join("new");
    write_layout(
        &old_dir,
        "v1",
        &[(tar_bytes(&[Item::File("app/main.py", b"print(1)\n")]), Comp::Gzip)],
    );
    write_layout(
        &new_dir,
        "v2",
        &[(
            tar_bytes(&[
                Item::File(&key_path, pem.as_bytes()),
                Item::File(&data_path, &payload),
                Item::File("root/.cache/pip/http/wheel.bin", &payload[..150_000]),
            ]),
            Comp::Gzip,
        )],
    );
    let old = format!("oci:{}:v1", old_dir.display());
    let new = format!("oci:{}:v2", new_dir.display());
    let dockerfile = tmp.path().join("Dockerfile");
    std::fs::write(
        &dockerfile,
        format!(
            "FROM python:3.12\nCOPY . /{}\nRUN pip install -r requirements.txt && apt-get update && apt-get install -y build-essential curl git\n",
            deep_path(8, "")
        ),
    )
    .unwrap();
    let dockerfile = dockerfile.to_str().unwrap();
    let commands: [Vec<&str>; 6] = [
        vec!["report", &new],
        vec!["report", &new, "--base", &old],
        vec!["check", &new, "--fail-on", "secret", "--forbid-path", "/app/**"],
        vec!["diff", &old, &new, "--files"],
        vec!["history", &old, &new],
        vec!["lint", dockerfile],
    ];
    for columns in ["120", "80"] {
        let width: usize = columns.parse().unwrap();
        let env = [("COLUMNS", Path::new(columns))];
        for args in &commands {
            let run = strata_in(args, &env, None);
            assert!(run.code <= 1, "{args:?}: {}", run.stderr);
            assert!(run.stdout.contains('┌'), "{args:?} drew no table");
            let (wide, line) = widest(&run.stdout);
            assert!(
                wide <= width,
                "{args:?} at COLUMNS={columns}: a line of {wide}: {line}"
            );
        }
    }
    // The table still names the finding; JSON and Markdown are the same at any width and keep
    // the whole path, as the tar has it.
    let narrow = [("COLUMNS", Path::new("80"))];
    let table = strata_in(&["report", &new], &narrow, None);
    assert!(table.stdout.contains("secret-private-key"), "{}", table.stdout);
    for format in ["json", "markdown"] {
        let wide = strata(&["report", &new, "--format", format]);
        let thin = strata_in(&["report", &new, "--format", format], &narrow, None);
        assert_eq!(wide.code, 0, "{}", wide.stderr);
        assert_eq!(wide.stdout, thin.stdout, "{format} depends on the width");
        assert!(wide.stdout.contains(&key_path), "{format} lost the path");
    }
}

fn history_shows_a_dash_for_images_without_a_date() {
    require(have("skopeo"), "skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let layer = || vec![(tar_bytes(&[Item::File("a", b"a")]), Comp::Gzip)];
    let epoch = tmp.path().join("epoch");
    write_layout_with(&epoch, "v1", &layer(), |c| {
        c["created"] = "1970-01-01T00:00:00Z".into()
    });
    let undated = tmp.path().join("undated");
    write_layout(&undated, "v2", &layer());
    let dated = tmp.path().join("dated");
    write_layout_with(&dated, "v3", &layer(), |c| {
        c["created"] = "2024-05-01T12:00:00Z".into()
    });
    let refs: Vec<String> = [(&epoch, "v1"), (&undated, "v2"), (&dated, "v3")]
        .iter()
        .map(|(d, t)| format!("oci:{}:{t}", d.display()))
        .collect();
    // skopeo reads the dates strata is given: the epoch, none, a real one.
    let created = |r: &str| {
        let v: serde_json::Value = serde_json::from_str(&sh(&format!("skopeo inspect {r}"))).unwrap();
        v["Created"].clone()
    };
    assert_eq!(created(&refs[0]), "1970-01-01T00:00:00Z");
    assert!(created(&refs[1]).is_null());
    let mut args = vec!["history"];
    args.extend(refs.iter().map(String::as_str));
    for format in ["table", "markdown"] {
        let mut args = args.clone();
        args.extend(["--format", format]);
        let run = strata(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(!run.stdout.contains("1970"), "{format}: {}", run.stdout);
        assert!(run.stdout.contains("2024-05-01"), "{}", run.stdout);
        let dashed = run.stdout.lines().filter(|l| l.contains(" — ")).count();
        assert_eq!(dashed, 2, "{format}: {}", run.stdout);
    }
    // JSON keeps what the config says.
    args.extend(["--format", "json"]);
    let json = strata(&args).json();
    let dates: Vec<&serde_json::Value> = json["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["created"])
        .collect();
    assert!(dates.contains(&&serde_json::Value::from("1970-01-01T00:00:00Z")));
}

fn copy_refused_by_a_registry_hints_docker_login() {
    require(have("htpasswd"), "htpasswd (apache2-utils)");
    require(have("skopeo"), "skopeo");
    let registry = Registry::start(Some(("ci-user", "s3cret-Passw0rd")));
    let tmp = tempfile::tempdir().unwrap();
    let src = one_file_image(tmp.path());
    let remote = format!("{}/team/app:v1", registry.host);
    // skopeo with the credentials is the oracle that the image is there to be refused.
    registry.push(&src, "team/app:v1", Some(("ci-user", "s3cret-Passw0rd")));
    let config = tempfile::tempdir().unwrap();
    let env = [("DOCKER_CONFIG", config.path())];
    let out = format!("oci:{}:v1", tmp.path().join("out").display());
    for args in [
        vec!["report", remote.as_str()],
        vec!["copy", src.as_str(), remote.as_str()],
        vec!["copy", remote.as_str(), out.as_str()],
    ] {
        let run = strata_in(&args, &env, None);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        let lines = error_lines(&run);
        assert!(lines[0].contains("401"), "{}", run.stderr);
        assert!(
            lines.get(1).is_some_and(|h| h.contains("docker login")),
            "{args:?}: {}",
            run.stderr
        );
    }
}

fn cook_without_a_recipe_suggests_strata_recipe() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [vec!["cook"], vec!["cook", "--recipe-path", "deps/recipe.json"]] {
        let run = strata_in(&args, &[], Some(tmp.path()));
        assert_eq!(run.code, 2, "{}", run.stderr);
        let lines = error_lines(&run);
        assert_eq!(lines.len(), 2, "no hint: {}", run.stderr);
        assert!(lines[1].contains("strata recipe"), "{}", lines[1]);
        let path = args.last().filter(|a| a.ends_with(".json"));
        assert!(lines[1].contains(path.unwrap_or(&"recipe.json")), "{}", lines[1]);
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "cook wrote");
}

/// This machine's address on its default route (a registry that is not on loopback, where strata
/// never falls back to plain HTTP); `None` without a network interface.
fn outward_address() -> Option<String> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing: it only picks the route and the local address.
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then(|| ip.to_string())
}

fn registries_over_tls_work_with_rings_crypto() {
    require(have("skopeo"), "skopeo");
    let ip = outward_address();
    require(ip.is_some(), "a non-loopback IPv4 address");
    let ip = ip.unwrap();
    let pki = Pki::new();
    let (certificate, key) = pki.server(&ip);
    let registry = Registry::start_tls(&Tls {
        ip: &ip,
        certificate: &certificate,
        key: &key,
        client_ca: None,
    });
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let layout = d.join("src");
    write_layout(
        &layout,
        "v1",
        &[(tar_bytes(&[Item::File("app/a.txt", b"over tls\n")]), Comp::Gzip)],
    );
    let remote = format!("{}/team/app:v1", registry.host);
    let trust = [("SSL_CERT_FILE", pki.ca())];
    let trust: Vec<(&str, &Path)> = trust.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let src = format!("oci:{}:v1", layout.display());
    let run = strata_in(&["copy", &src, &remote], &trust, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = strata_in(&["report", &remote, "--format", "json"], &trust, None);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let certs = pki.certs_d(d, "skopeo", false);
    let inspected: serde_json::Value = serde_json::from_str(&sh(&format!(
        "skopeo inspect --cert-dir {} docker://{remote}",
        certs.display()
    )))
    .unwrap();
    assert_eq!(
        report.json()["image"]["manifest_digest"],
        inspected["Digest"]
    );
    // Without the CA the certificate is refused, as a registry error.
    let untrusted = strata(&["report", &remote]);
    assert_eq!(untrusted.code, 3, "{}", untrusted.stderr);
    assert!(untrusted.stderr.contains("certificate"), "{}", untrusted.stderr);
}

crate::tests![
    a_file_that_is_not_an_image_is_one_line_without_its_bytes,
    a_mistyped_file_name_is_no_such_file_without_a_request,
    docker_daemon_without_an_engine_says_so_and_asks_no_registry,
    a_bare_name_docker_hub_cannot_serve_says_where_it_looked,
    tables_fit_columns_and_machine_formats_keep_everything,
    history_shows_a_dash_for_images_without_a_date,
    copy_refused_by_a_registry_hints_docker_login,
    cook_without_a_recipe_suggests_strata_recipe,
    registries_over_tls_work_with_rings_crypto,
];
