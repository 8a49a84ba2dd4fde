//! Registries as public ones run, started by the tests on loopback: TLS from a private CA given
//! the way Docker and podman users give it, a certs.d directory (`STRATA_CERTS_D` points strata
//! at a temp certs.d root instead of /etc) or `--cert-dir`; skopeo, given the same directory,
//! reads the images back. A loopback registry gets HTTPS when it speaks it, never a fallback to
//! plain HTTP when its certificate is not trusted. The Docker token flow against distribution's
//! `auth: token` and the harness's token server (which counts token requests per scope set): one
//! token per scope set, a cross-repository mount in one token for both repositories (uploads
//! counted in the registry's log), a refused mount falling back to an upload, wrong credentials
//! exit 3 and the password in no output, a short-lived token asked again only when it is about to
//! expire. A registry asking for a client certificate (mutual TLS) gets the one in certs.d.

use std::path::{Path, PathBuf};

use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::pki::Pki;
use crate::support::registry::{Registry, Tls};
use crate::support::token_server::TokenServer;
use crate::support::{have, require, sh, strata_in, strata_with_stdin_in, Run};

/// A loopback registry serving TLS with a certificate from `pki`, asking for a client
/// certificate from it with `mutual`.
fn tls_registry(pki: &Pki, mutual: bool) -> Registry {
    let (certificate, key) = pki.server("127.0.0.1");
    let ca = pki.ca();
    Registry::start_tls(&Tls {
        ip: "127.0.0.1",
        certificate: &certificate,
        key: &key,
        client_ca: mutual.then_some(ca.as_path()),
    })
}

/// A one-layer OCI layout in `dir`, as a strata source reference.
fn small_layout(dir: &Path) -> String {
    write_layout(
        dir,
        "v1",
        &[(tar_bytes(&[Item::File("app/a.txt", b"over tls\n")]), Comp::Gzip)],
    );
    format!("oci:{}:v1", dir.display())
}

/// Runs strata with the certs.d root `certs_d` in place of /etc's.
fn with_certs_d(args: &[&str], certs_d: &Path) -> Run {
    strata_in(args, &[("STRATA_CERTS_D", certs_d)], None)
}

/// The manifest digest skopeo reads for `remote` with the CAs of `cert_dir` and its `flags`.
fn skopeo_digest(remote: &str, cert_dir: &Path, flags: &str) -> serde_json::Value {
    require(have("skopeo"), "skopeo");
    let inspected: serde_json::Value = serde_json::from_str(&sh(&format!(
        "skopeo inspect --cert-dir {} {flags} docker://{remote}",
        cert_dir.display()
    )))
    .unwrap();
    inspected["Digest"].clone()
}

/// A small image copied by strata to `team/app:v1` of `registry` (2 blobs sent) and reported
/// back, both through the certs.d root `certs_d`: the source reference, the remote one and the
/// manifest digest, which skopeo (given the registry's directory `dir`) reads the same.
fn push_and_report(
    registry: &Registry,
    tmp: &Path,
    certs_d: &Path,
    dir: &Path,
) -> (String, String, serde_json::Value) {
    let src = small_layout(&tmp.join("src"));
    let remote = format!("{}/team/app:v1", registry.host);
    let pushed = with_certs_d(&["copy", &src, &remote, "--format", "json"], certs_d);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    assert_eq!(pushed.json()["uploaded"], 2, "{}", pushed.stdout);
    let report = with_certs_d(&["report", &remote, "--format", "json"], certs_d);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let digest = skopeo_digest(&remote, dir, "");
    assert_eq!(report.json()["image"]["manifest_digest"], digest);
    (src, remote, digest)
}

fn a_loopback_registry_over_tls_is_trusted_through_certs_d() {
    require(have("skopeo"), "skopeo");
    let pki = Pki::new();
    let registry = tls_registry(&pki, false);
    let tmp = tempfile::tempdir().unwrap();
    let certs_d = tmp.path().join("certs.d");
    let dir = pki.certs_d(&certs_d, &registry.host, false);
    let (_, remote, digest) = push_and_report(&registry, tmp.path(), &certs_d, &dir);
    // Registry to registry over TLS: the blobs are mounted, and skopeo reads the same image.
    let other = format!("{}/other/app:v1", registry.host);
    let copied = with_certs_d(&["copy", &remote, &other, "--format", "json"], &certs_d);
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    assert_eq!(copied.json()["uploaded"], 0, "{}", copied.stdout);
    assert_eq!(skopeo_digest(&other, &dir, ""), digest);
    // The TLS port was never spoken to in plain HTTP (Go's TLS server logs such a request).
    assert!(!registry.log().contains("HTTP request to an HTTPS server"));
}

fn cert_dir_names_the_cas_instead_of_certs_d() {
    let pki = Pki::new();
    let registry = tls_registry(&pki, false);
    let tmp = tempfile::tempdir().unwrap();
    let dir = pki.certs_d(tmp.path(), "given", false);
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let src = small_layout(&tmp.path().join("src"));
    let remote = format!("{}/team/app:v1", registry.host);
    let cert_dir = dir.to_str().unwrap();
    let pushed = with_certs_d(&["copy", &src, &remote, "--cert-dir", cert_dir], &empty);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let report = with_certs_d(&["report", &remote, "--cert-dir", cert_dir], &empty);
    assert_eq!(report.code, 0, "{}", report.stderr);
    // A --cert-dir that is not there is a usage error, before any request.
    let missing = with_certs_d(&["report", &remote, "--cert-dir", "/nonexistent"], &empty);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
}

fn an_untrusted_loopback_certificate_is_refused_not_downgraded() {
    let pki = Pki::new();
    let registry = tls_registry(&pki, false);
    let empty = tempfile::tempdir().unwrap();
    let remote = format!("{}/team/app:v1", registry.host);
    let run = with_certs_d(&["report", &remote], empty.path());
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    assert!(!registry.log().contains("HTTP request to an HTTPS server"));
}

/// A registry asking for a client certificate (distribution's `http.tls.clientcas`): strata
/// presents the `client.cert` and `client.key` of the registry's certs.d directory, or of
/// `--cert-dir`, and skopeo, given the same directory, reads the same image; without one the
/// handshake fails (the registry's log says so), exit 3 with a message naming what was asked for;
/// one from another CA is refused, by name.
fn a_registry_asking_for_a_client_certificate_gets_the_one_in_certs_d() {
    let pki = Pki::new();
    let registry = tls_registry(&pki, true);
    let tmp = tempfile::tempdir().unwrap();
    let certs_d = tmp.path().join("certs.d");
    let dir = pki.certs_d(&certs_d, &registry.host, true);
    let (src, remote, digest) = push_and_report(&registry, tmp.path(), &certs_d, &dir);
    // The same through --cert-dir, with no certs.d at all.
    let given = pki.certs_d(tmp.path(), "given", true);
    let cert_dir = given.to_str().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let other = format!("{}/other/app:v1", registry.host);
    let copied = with_certs_d(&["copy", &remote, &other, "--cert-dir", cert_dir], &empty);
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    let report = with_certs_d(
        &["report", &other, "--cert-dir", cert_dir, "--format", "json"],
        &empty,
    );
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert_eq!(report.json()["image"]["manifest_digest"], digest);
    assert_eq!(skopeo_digest(&other, &given, ""), digest);
    // The CA alone: the registry refuses the handshake, and strata says what it asked for.
    let ca_only = tmp.path().join("ca-only");
    pki.certs_d(&ca_only, &registry.host, false);
    let before = registry.log().matches("didn't provide a certificate").count();
    for args in [vec!["report", remote.as_str()], vec!["copy", src.as_str(), other.as_str()]] {
        let run = with_certs_d(&args, &ca_only);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("asked for a client certificate"),
            "{args:?}: {}",
            run.stderr
        );
    }
    let after = registry.log().matches("didn't provide a certificate").count();
    assert!(after > before, "{}", registry.log());
    // A client certificate from another CA is refused, and named.
    let stranger = Pki::new();
    let strange = tmp.path().join("strange");
    let dir = stranger.certs_d(&strange, &registry.host, true);
    std::fs::copy(pki.ca(), dir.join("ca.crt")).unwrap();
    let run = with_certs_d(&["report", &remote], &strange);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let named = format!("refused the client certificate {}", dir.join("client.cert").display());
    assert!(run.stderr.contains(&named), "{}", run.stderr);
}

/// The password the token server accepts, looked for in every output.
const PASSWORD: &str = "s3cret-Pa55word";

/// A registry as public ones run: TLS from a private CA (given through a certs.d root), the
/// Docker token flow with a token server, `alice`'s credentials in a `$DOCKER_CONFIG`, and a
/// one-layer image pushed by strata to `team/app:v1`.
struct TokenRegistry {
    server: TokenServer,
    registry: Registry,
    /// `HOST:PORT/team/app:v1`.
    team: String,
    /// The source layout pushed, as a strata reference.
    src: String,
    /// `STRATA_CERTS_D` and `DOCKER_CONFIG`.
    env: Vec<(&'static str, PathBuf)>,
    _pki: Pki,
    _tmp: tempfile::TempDir,
}

impl TokenRegistry {
    fn start() -> TokenRegistry {
        let pki = Pki::new();
        let server = TokenServer::start(&pki, "alice", PASSWORD);
        let (certificate, key) = pki.server("127.0.0.1");
        let registry = Registry::start_token(
            &server,
            &Tls {
                ip: "127.0.0.1",
                certificate: &certificate,
                key: &key,
                client_ca: None,
            },
        );
        let tmp = tempfile::tempdir().unwrap();
        let certs_d = tmp.path().join("certs.d");
        pki.certs_d(&certs_d, &registry.host, false);
        registry.docker_config(tmp.path(), "alice", PASSWORD);
        let env = vec![
            ("STRATA_CERTS_D", certs_d),
            ("DOCKER_CONFIG", tmp.path().to_path_buf()),
        ];
        let src = small_layout(&tmp.path().join("src"));
        let team = format!("{}/team/app:v1", registry.host);
        let setup = TokenRegistry {
            server,
            registry,
            team,
            src,
            env,
            _pki: pki,
            _tmp: tmp,
        };
        let pushed = setup.run(&["copy", &setup.src, &setup.team, "--format", "json"]);
        assert_eq!(pushed.code, 0, "{}", pushed.stderr);
        assert_eq!(pushed.json()["uploaded"], 2, "{}", pushed.stdout);
        setup
    }

    /// The certs.d root and the docker config, as strata's environment.
    fn env(&self) -> Vec<(&str, &Path)> {
        self.env.iter().map(|(k, v)| (*k, v.as_path())).collect()
    }

    /// Runs strata with the certs.d root and the docker config.
    fn run(&self, args: &[&str]) -> Run {
        strata_in(args, &self.env(), None)
    }

    /// The manifest digest skopeo reads for `remote` with the CA and alice's credentials.
    fn skopeo_digest(&self, remote: &str) -> serde_json::Value {
        let cert_dir = self.env[0].1.join(&self.registry.host);
        skopeo_digest(remote, &cert_dir, &format!("--creds 'alice:{PASSWORD}'"))
    }

    /// How many times `scopes` (sorted, space-separated) were asked for a token.
    fn asked(&self, scopes: &str) -> usize {
        self.server.requests().iter().filter(|s| *s == scopes).count()
    }

    /// Copies `team/app:v1` to `prod/app:v1`, asserting the blobs (uploaded, mounted); returns
    /// the destination.
    fn copy_to_prod(&self, blobs: (u64, u64)) -> String {
        let prod = format!("{}/prod/app:v1", self.registry.host);
        let copied = self.run(&["copy", &self.team, &prod, "--format", "json"]);
        assert_eq!(copied.code, 0, "{}", copied.stderr);
        let result = copied.json();
        let (uploaded, mounted) = (result["uploaded"].as_u64(), result["mounted"].as_u64());
        assert_eq!((uploaded, mounted), (Some(blobs.0), Some(blobs.1)), "{result}");
        prod
    }

    /// The lines of the registry's log that contain `needle`.
    fn log_lines(&self, needle: &str) -> Vec<String> {
        let log = self.registry.log();
        log.lines().filter(|l| l.contains(needle)).map(str::to_string).collect()
    }
}

fn a_token_registry_is_read_and_written_with_one_token_per_scope_set() {
    let r = TokenRegistry::start();
    // The push asked one token, for pull,push; its HEAD checks used it too.
    assert_eq!(r.server.requests(), ["repository:team/app:pull,push"]);
    let report = r.run(&["report", &r.team, "--format", "json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert_eq!(r.asked("repository:team/app:pull"), 1, "{:?}", r.server.requests());
    let history = r.run(&["history", &r.team.replace(":v1", ""), "--format", "json"]);
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(history.stdout.contains("v1"), "{}", history.stdout);
    let diff = r.run(&["diff", &r.team, &r.src]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    // Each command is one process: one pull token each, never one per request.
    assert_eq!(r.asked("repository:team/app:pull"), 3, "{:?}", r.server.requests());
    assert_eq!(r.server.requests().len(), 4, "{:?}", r.server.requests());
    let digest = r.skopeo_digest(&r.team);
    assert_eq!(report.json()["image"]["manifest_digest"], digest);
    // A command's connections share its tokens: a diff of two images of the repository (each
    // side listed for platforms, then opened) and a report of every platform ask one.
    for args in [vec!["diff", &r.team, &r.team], vec!["report", &r.team, "--all-platforms"]] {
        let before = r.asked("repository:team/app:pull");
        let run = r.run(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(r.asked("repository:team/app:pull"), before + 1, "{args:?}: {:?}", r.server.requests());
    }
}

fn a_cross_repository_copy_under_token_auth_mounts_every_blob() {
    let r = TokenRegistry::start();
    let prod = r.copy_to_prod((0, 2));
    // The registry's log: no blob was uploaded to prod/app (an upload ends in a PUT).
    let uploads = r.log_lines("\"PUT /v2/prod/app/blobs/uploads/");
    assert!(uploads.is_empty(), "{uploads:?}");
    // One token carried both scopes, as Docker asks for it.
    let both = "repository:prod/app:pull,push repository:team/app:pull";
    assert_eq!(r.asked(both), 1, "{:?}", r.server.requests());
    assert_eq!(r.skopeo_digest(&prod), r.skopeo_digest(&r.team));
}

fn a_refused_mount_falls_back_to_an_upload() {
    let r = TokenRegistry::start();
    // The mount token lacks pull on team/app: distribution refuses the mount (401; ECR answers
    // 202), and each blob is uploaded instead.
    r.server.grant_one_repository();
    r.copy_to_prod((2, 0));
    let refused: Vec<String> = r
        .log_lines("\"POST /v2/prod/app/blobs/uploads/?mount=")
        .into_iter()
        .filter(|l| !l.contains("\" 201 "))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
}

fn wrong_credentials_exit_3_without_the_password_in_any_output() {
    let r = TokenRegistry::start();
    let wrong = "wrong-Pa55word-42";
    for args in [vec!["report", r.team.as_str()], vec!["copy", r.src.as_str(), r.team.as_str()]] {
        let mut args = args.clone();
        args.extend(["--username", "alice", "--password-stdin"]);
        let run = strata_with_stdin_in(&args, wrong, &r.env());
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        for output in [&run.stdout, &run.stderr] {
            assert!(!output.contains(wrong), "{args:?} printed the password: {output}");
            assert!(!output.contains(PASSWORD), "{args:?} printed the password: {output}");
        }
    }
}

/// `strata build --push` of a files-only project (base `scratch`, one layer) to the token
/// registry: skopeo, with the CA and alice's credentials, reads the digest strata printed, and
/// the push asked the token server once for its one scope set.
fn a_build_pushes_to_a_token_registry_with_one_token() {
    let r = TokenRegistry::start();
    let project = r._tmp.path().join("project");
    crate::support::write(&project, "src/hello.txt", "built over tls\n");
    crate::support::write(
        &project,
        "strata.toml",
        "[image]\nbase = \"scratch\"\n\n[[layer]]\nname = \"app\"\nfrom = [\"src\"]\nto = \"/app\"\n",
    );
    let before = r.server.requests().len();
    let dest = format!("{}/team/built:v1", r.registry.host);
    let cache = r._tmp.path().join("cache");
    let args = ["build", "--cache-dir", cache.to_str().unwrap(), "--format", "json", "--push", &dest];
    let run = strata_in(&args, &r.env(), Some(&project));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let built = run.json();
    assert_eq!(built["outputs"][0]["uploaded"], 2, "the layer and the config: {built}");
    let asked = r.server.requests()[before..].to_vec();
    assert_eq!(asked, ["repository:team/built:pull,push"], "{asked:?}");
    assert_eq!(r.skopeo_digest(&dest), built["outputs"][0]["manifest_digest"]);
}

/// Tokens that last 2 s, and a push through a proxy that holds back every answer (so the push
/// takes several times that): the push token is asked again once it is about to expire, never
/// before (each token serves at least three quarters of its life and many requests).
fn an_expiring_token_is_asked_again_only_when_it_is_about_to_expire() {
    use crate::support::faulty_proxy::{start, Fault};
    let pki = Pki::new();
    let server = TokenServer::start(&pki, "alice", PASSWORD);
    server.expire_after(2);
    let registry = Registry::start_token_plain(&server);
    let proxy = start(&registry.host, Fault::Delay(std::time::Duration::from_millis(250)));
    let tmp = tempfile::tempdir().unwrap();
    let layers: Vec<(Vec<u8>, Comp)> = (0..5)
        .map(|i| {
            let content = format!("layer {i}\n");
            (tar_bytes(&[Item::File("app/f.txt", content.as_bytes())]), Comp::Gzip)
        })
        .collect();
    write_layout(&tmp.path().join("src"), "v1", &layers);
    let src = format!("oci:{}:v1", tmp.path().join("src").display());
    let remote = format!("{}/team/app:v1", proxy.host);
    let started = std::time::Instant::now();
    let args = ["copy", &src, &remote, "--format", "json", "--username", "alice", "--password-stdin"];
    let pushed = strata_with_stdin_in(&args, PASSWORD, &[]);
    let took = started.elapsed().as_secs_f64();
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    assert_eq!(pushed.json()["uploaded"], 6, "{}", pushed.stdout);
    assert!(took > 4.0, "the push outlived two tokens: {took} s");
    let asked = server.asked_at("repository:team/app:pull,push");
    assert!(asked.len() >= 2, "a new token after expiry: {asked:?} in {took} s");
    for pair in asked.windows(2) {
        let used = pair[1].duration_since(pair[0]).as_secs_f64();
        assert!(used >= 1.2, "a token was replaced after {used} s of its 2 s");
    }
    let requests = proxy.faults.load(std::sync::atomic::Ordering::SeqCst);
    assert!(requests >= 3 * asked.len(), "{requests} requests, {} tokens", asked.len());
    assert_eq!(server.requests().len(), asked.len(), "{:?}", server.requests());
}

crate::tests![
    a_loopback_registry_over_tls_is_trusted_through_certs_d,
    cert_dir_names_the_cas_instead_of_certs_d,
    an_untrusted_loopback_certificate_is_refused_not_downgraded,
    a_registry_asking_for_a_client_certificate_gets_the_one_in_certs_d,
    a_token_registry_is_read_and_written_with_one_token_per_scope_set,
    a_cross_repository_copy_under_token_auth_mounts_every_blob,
    a_refused_mount_falls_back_to_an_upload,
    wrong_credentials_exit_3_without_the_password_in_any_output,
    a_build_pushes_to_a_token_registry_with_one_token,
    an_expiring_token_is_asked_again_only_when_it_is_about_to_expire,
];
