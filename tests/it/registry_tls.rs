//! Registries as public ones run, started by the tests on loopback: TLS from a private CA given
//! the way Docker and podman users give it, a certs.d directory (`STRATA_CERTS_D` points strata
//! at a temp certs.d root instead of /etc) or `--cert-dir`; skopeo, given the same directory,
//! reads the images back. A loopback registry gets HTTPS when it speaks it, never a fallback to
//! plain HTTP when its certificate is not trusted. The Docker token flow against distribution's
//! `auth: token` and the harness's token server (which counts token requests per scope set): one
//! token per scope set, a cross-repository mount in one token for both repositories (uploads
//! counted in the registry's log), a refused mount falling back to an upload, wrong credentials
//! exit 3 and the password in no output.

use std::path::Path;

use crate::support::layout::{tar_bytes, write_layout, Comp, Item};
use crate::support::pki::Pki;
use crate::support::registry::{Registry, Tls};
use crate::support::token_server::TokenServer;
use crate::support::{have, require, sh, strata_in, strata_with_stdin, Run};

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

/// The manifest digest skopeo reads for `remote` with the CAs of `cert_dir`.
fn skopeo_digest(remote: &str, cert_dir: &Path) -> serde_json::Value {
    let inspected: serde_json::Value = serde_json::from_str(&sh(&format!(
        "skopeo inspect --cert-dir {} docker://{remote}",
        cert_dir.display()
    )))
    .unwrap();
    inspected["Digest"].clone()
}

fn a_loopback_registry_over_tls_is_trusted_through_certs_d() {
    require(have("skopeo"), "skopeo");
    let pki = Pki::new();
    let registry = tls_registry(&pki, false);
    let tmp = tempfile::tempdir().unwrap();
    let certs_d = tmp.path().join("certs.d");
    let dir = pki.certs_d(&certs_d, &registry.host, false);
    let src = small_layout(&tmp.path().join("src"));
    let remote = format!("{}/team/app:v1", registry.host);
    let pushed = with_certs_d(&["copy", &src, &remote, "--format", "json"], &certs_d);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    assert_eq!(pushed.json()["uploaded"], 2, "{}", pushed.stdout);
    let report = with_certs_d(&["report", &remote, "--format", "json"], &certs_d);
    assert_eq!(report.code, 0, "{}", report.stderr);
    let digest = skopeo_digest(&remote, &dir);
    assert_eq!(report.json()["image"]["manifest_digest"], digest);
    // Registry to registry over TLS: the blobs are mounted, and skopeo reads the same image.
    let other = format!("{}/other/app:v1", registry.host);
    let copied = with_certs_d(&["copy", &remote, &other, "--format", "json"], &certs_d);
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    assert_eq!(copied.json()["uploaded"], 0, "{}", copied.stdout);
    assert_eq!(skopeo_digest(&other, &dir), digest);
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

/// A registry asking for a client certificate, which strata cannot present yet (oci-client's HTTP
/// client takes no client identity): the `client.cert` in certs.d is named in a one-line error
/// before any request, instead of a failed handshake.
fn a_client_certificate_in_certs_d_is_refused_by_name() {
    let pki = Pki::new();
    let registry = tls_registry(&pki, true);
    let tmp = tempfile::tempdir().unwrap();
    let certs_d = tmp.path().join("certs.d");
    pki.certs_d(&certs_d, &registry.host, true);
    let remote = format!("{}/team/app:v1", registry.host);
    let run = with_certs_d(&["report", &remote], &certs_d);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("client.cert"), "{}", run.stderr);
    assert!(!registry.log().contains("\"GET /v2/"), "{}", registry.log());
}

/// The password the token server accepts, looked for in every output.
const PASSWORD: &str = "s3cret-Pa55word";

/// Runs strata logged in as `alice` with `password`.
fn as_alice(args: &[&str], password: &str) -> Run {
    let mut args = args.to_vec();
    args.extend(["--username", "alice", "--password-stdin"]);
    strata_with_stdin(&args, password)
}

/// How many times `scopes` (sorted, space-separated) were asked for a token.
fn asked(server: &TokenServer, scopes: &str) -> usize {
    server.requests().iter().filter(|s| *s == scopes).count()
}

fn a_token_registry_is_read_and_written_with_one_token_per_scope_set() {
    let pki = Pki::new();
    let server = TokenServer::start(&pki, "alice", PASSWORD);
    let registry = Registry::start_token(&server);
    let tmp = tempfile::tempdir().unwrap();
    let src = small_layout(&tmp.path().join("src"));
    let team = format!("{}/team/app:v1", registry.host);
    let pushed = as_alice(&["copy", &src, &team, "--format", "json"], PASSWORD);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    assert_eq!(pushed.json()["uploaded"], 2, "{}", pushed.stdout);
    assert_eq!(asked(&server, "repository:team/app:pull,push"), 1, "{:?}", server.requests());
    let report = as_alice(&["report", &team, "--format", "json"], PASSWORD);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert_eq!(asked(&server, "repository:team/app:pull"), 1, "{:?}", server.requests());
    assert!(report.json()["image"]["manifest_digest"].is_string());
    // Nothing else was asked for: the push token served the push's HEAD checks too.
    assert_eq!(server.requests().len(), 2, "{:?}", server.requests());
}

fn a_cross_repository_copy_under_token_auth_mounts_every_blob() {
    let pki = Pki::new();
    let server = TokenServer::start(&pki, "alice", PASSWORD);
    let registry = Registry::start_token(&server);
    let tmp = tempfile::tempdir().unwrap();
    let src = small_layout(&tmp.path().join("src"));
    let team = format!("{}/team/app:v1", registry.host);
    let pushed = as_alice(&["copy", &src, &team], PASSWORD);
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let prod = format!("{}/prod/app:v1", registry.host);
    let copied = as_alice(&["copy", &team, &prod, "--format", "json"], PASSWORD);
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    let result = copied.json();
    assert_eq!((result["uploaded"].as_u64(), result["mounted"].as_u64()), (Some(0), Some(2)), "{result}");
    // The registry's log: no blob was uploaded to prod/app (an upload ends in a PUT).
    let uploads = registry
        .log()
        .lines()
        .filter(|l| l.contains("\"PUT /v2/prod/app/blobs/uploads/"))
        .count();
    assert_eq!(uploads, 0, "{}", registry.log());
    // One token carried both scopes, as Docker asks for it.
    let both = "repository:prod/app:pull,push repository:team/app:pull";
    assert_eq!(asked(&server, both), 1, "{:?}", server.requests());
}

fn a_refused_mount_falls_back_to_an_upload() {
    let pki = Pki::new();
    let server = TokenServer::start(&pki, "alice", PASSWORD);
    let registry = Registry::start_token(&server);
    let tmp = tempfile::tempdir().unwrap();
    let src = small_layout(&tmp.path().join("src"));
    let team = format!("{}/team/app:v1", registry.host);
    assert_eq!(as_alice(&["copy", &src, &team], PASSWORD).code, 0);
    // The mount token lacks pull on team/app: distribution refuses the mount (401; ECR answers
    // 202), and each blob is uploaded instead.
    server.grant_one_repository();
    let prod = format!("{}/prod/app:v1", registry.host);
    let copied = as_alice(&["copy", &team, &prod, "--format", "json"], PASSWORD);
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    let result = copied.json();
    assert_eq!(
        (result["uploaded"].as_u64(), result["mounted"].as_u64()),
        (Some(2), Some(0)),
        "{result}"
    );
    let mounts_refused = registry
        .log()
        .lines()
        .filter(|l| l.contains("\"POST /v2/prod/app/blobs/uploads/?mount=") && !l.contains("\" 201 "))
        .count();
    assert_eq!(mounts_refused, 2, "{}", registry.log());
}

fn wrong_credentials_exit_3_without_the_password_in_any_output() {
    let pki = Pki::new();
    let server = TokenServer::start(&pki, "alice", PASSWORD);
    let registry = Registry::start_token(&server);
    let tmp = tempfile::tempdir().unwrap();
    let src = small_layout(&tmp.path().join("src"));
    let team = format!("{}/team/app:v1", registry.host);
    let wrong = "wrong-Pa55word-42";
    for args in [vec!["report", team.as_str()], vec!["copy", src.as_str(), team.as_str()]] {
        let run = as_alice(&args, wrong);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        for output in [&run.stdout, &run.stderr] {
            assert!(!output.contains(wrong), "{args:?} printed the password: {output}");
        }
    }
}

crate::tests![
    a_loopback_registry_over_tls_is_trusted_through_certs_d,
    cert_dir_names_the_cas_instead_of_certs_d,
    an_untrusted_loopback_certificate_is_refused_not_downgraded,
    a_client_certificate_in_certs_d_is_refused_by_name,
    a_token_registry_is_read_and_written_with_one_token_per_scope_set,
    a_cross_repository_copy_under_token_auth_mounts_every_blob,
    a_refused_mount_falls_back_to_an_upload,
    wrong_credentials_exit_3_without_the_password_in_any_output,
];
