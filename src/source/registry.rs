//! Images in a registry, through strata's distribution client ([`crate::source::distribution`]):
//! manifests (following indexes by platform), the config, and layers streamed straight into the
//! analysis, never written to disk.
//! Authentication comes from `--username/--password-stdin` or `~/.docker/config.json` (`auths` and
//! credential helpers). CAs beside the system store, and the client certificate a registry may ask
//! for, come from the registry's certs.d directories or `--cert-dir` ([`crate::source::certs`]); loopback registries that do not speak TLS and
//! `--insecure` ones are spoken to over plain HTTP ([`crate::source::scheme`]). Transient failures
//! (5xx, resets, timeouts) are retried with backoff; a layer's body cut off, truncated or slower
//! than the minimum rate is resumed from the byte reached ([`distribution::resume`]).

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use oci_spec::distribution::Reference;

use crate::error::{Error, Kind, Result};
use crate::layer::digest::Digest;
use crate::layer::readahead::ChunkReader;
use crate::model::Image;
use crate::source::distribution::manifests::{After, Referrers};
use crate::source::distribution::resume::{MinRate, Plan};
use crate::source::distribution::transport::Transport;
use crate::source::distribution::{self, Credentials, Failure};
use crate::source::manifest::{
    choose_from_index, digest_of, image_from_manifest, parse_document, verify_blob, Document,
    FetchedManifest,
};
use crate::source::mirrors;
use crate::source::platform::Platform;
use crate::source::reference::Repository;
use crate::source::scheme;
use crate::source::LayerSource;

const ATTEMPTS: u32 = 4;
const MAX_INDEX_DEPTH: usize = 8;

/// How to reach and authenticate to registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Use plain HTTP (and accept any certificate) for every registry, not just loopback ones
    /// that do not speak TLS.
    pub insecure: bool,
    /// The directory of CAs (`*.crt`) and the client certificate (`NAME.cert`, `NAME.key`) to use
    /// instead of the registry's certs.d directories (skopeo's `--cert-dir`).
    pub cert_dir: Option<PathBuf>,
    /// How long to wait for a connection, or for the next bytes of a response.
    pub timeout: Duration,
    /// Explicit credentials, which win over `~/.docker/config.json`.
    pub credentials: Option<(String, String)>,
    /// The least progress a layer's body must make (else it is resumed, then an error).
    pub min_rate: MinRate,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: false,
            cert_dir: None,
            timeout: Duration::from_secs(60),
            credentials: None,
            min_rate: MinRate::default(),
        }
    }
}

/// A connection to one repository of one registry (shared by the registry source and sink).
pub(crate) struct Remote {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) client: Arc<distribution::Client>,
    pub(crate) reference: Reference,
    /// How errors name what was asked for (the reference, or a repository without tag).
    label: String,
    /// The client certificate presented, if any (for naming it when the registry refuses it).
    identity: Option<PathBuf>,
    /// The timeout the HTTP client does not enforce itself, so [`Remote::run`] enforces it as a
    /// limit on idle time (pushing: reqwest's read timeout runs from the start of a request, so
    /// it would cut off every blob upload that takes longer, however steadily its bytes flow).
    pub(crate) idle_limit: Option<Duration>,
    /// When the request in flight last made progress; an upload touches it for every chunk.
    pub(crate) activity: Arc<Activity>,
    /// The least progress a layer's body must make.
    min_rate: MinRate,
}

/// Bytes handed to a connection may still sit in kernel socket buffers (a few MiB on Linux)
/// when the last one is handed over; the answer comes once they drained, assumed at no less than
/// this many bytes per second.
const DRAIN_RATE: u64 = 64 << 10;
/// The most a connection is assumed to buffer (Linux's default `tcp_wmem` maximum).
const DRAIN_BYTES: u64 = 4 << 20;

/// When a request last made progress, so a timeout can bound idle time rather than total time.
pub(crate) struct Activity {
    origin: Instant,
    last_ms: AtomicU64,
    /// Idle time allowed on top of the limit (for draining the socket buffers after an upload).
    grace_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
            grace_ms: AtomicU64::new(0),
        }
    }

    /// Records progress now.
    pub(crate) fn touch(&self) {
        let now = self.origin.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// Records that an upload of `bytes` handed over its last byte: the registry answers only
    /// once the kernel has sent what it still buffers, so waiting gets time for that.
    pub(crate) fn uploaded(&self, bytes: u64) {
        self.touch();
        let drain = bytes.min(DRAIN_BYTES) * 1000 / DRAIN_RATE;
        self.grace_ms.store(drain, Ordering::Relaxed);
    }

    fn begin(&self) {
        self.grace_ms.store(0, Ordering::Relaxed);
        self.touch();
    }

    /// How much longer a request may stay idle before it has stalled for `limit`.
    fn left(&self, limit: Duration) -> Option<Duration> {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        let grace = Duration::from_millis(self.grace_ms.load(Ordering::Relaxed));
        let idle = self.origin.elapsed().saturating_sub(last);
        (limit + grace).checked_sub(idle).filter(|d| !d.is_zero())
    }
}

/// The envelope codes that mean "not there" and "not allowed".
const NOT_FOUND_CODES: &[&str] = &[
    "MANIFEST_UNKNOWN",
    "NAME_UNKNOWN",
    "BLOB_UNKNOWN",
    "NOT_FOUND",
];
const DENIED_CODES: &[&str] = &["UNAUTHORIZED", "DENIED"];

/// Classifies a registry failure, once, into an error kind with a one-line message (never
/// credentials), and says whether trying again may help.
/// `identity` is the client certificate the connection presents, if any.
fn classify(failure: Failure, identity: Option<&Path>) -> (Error, bool) {
    let what = failure.to_string();
    match failure {
        Failure::Status { status, .. } => {
            let error = if failure.has_code(NOT_FOUND_CODES) || status == 404 {
                Error::NotFound {
                    what,
                    in_registry: true,
                }
            } else if failure.has_code(DENIED_CODES) || status == 401 || status == 403 {
                Error::Auth(what)
            } else {
                Error::Registry(what)
            };
            let transient =
                status >= 500 || status == 429 || failure.has_code(&["TOOMANYREQUESTS"]);
            (error, transient)
        }
        Failure::Http(r) => classify_transport(&r, identity),
        Failure::Stalled(_) | Failure::TooSlow { .. } => {
            (Error::Registry(format!("timed out: {what}")), true)
        }
        Failure::Protocol(_) => (Error::Registry(what), false),
        Failure::Auth(error) => (error, false),
    }
}

/// Classifies a request that did not complete: a TLS alert about the client certificate names
/// what the registry asked for, resets and timeouts are transient.
fn classify_transport(r: &reqwest::Error, identity: Option<&Path>) -> (Error, bool) {
    if let Some(alert) = tls_alert(r) {
        use rustls::AlertDescription as Alert;
        let what = match (alert, identity) {
            (Alert::CertificateRequired | Alert::BadCertificate, None) => {
                "the registry asked for a client certificate: give it as client.cert and \
                 client.key in the registry's certs.d directory or in --cert-dir"
                    .to_string()
            }
            (Alert::BadCertificate | Alert::UnknownCA | Alert::CertificateExpired, Some(cert)) => {
                format!(
                    "the registry refused the client certificate {}",
                    cert.display()
                )
            }
            _ => "the registry refused the TLS connection".to_string(),
        };
        return (
            Error::Registry(format!("{what} (TLS alert {alert:?})")),
            false,
        );
    }
    // Resets and broken pipes in the middle of a request (`is_request`) are transient, and so is
    // a response body cut off (`is_decode`: reqwest's name for a body that failed to arrive).
    let transient =
        r.is_timeout() || r.is_connect() || r.is_request() || r.is_body() || r.is_decode();
    // reqwest's own message names only the URL; the cause is at the end of the chain.
    let mut cause: &dyn std::error::Error = r;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let what = if r.is_timeout() {
        "timed out"
    } else if r.is_connect() {
        "cannot reach registry"
    } else {
        "connection failed"
    };
    // Upload URLs carry a long opaque session state in their query: the path suffices.
    let url = r.url().map_or("", |u| u.as_str());
    let url = url.split('?').next().unwrap_or(url);
    (
        Error::Registry(format!("{what}: {url}: {cause}")),
        transient,
    )
}

/// The TLS alert the registry sent, if that is why `e` failed.
fn tls_alert(e: &reqwest::Error) -> Option<rustls::AlertDescription> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(current) = cause {
        // An `io::Error` hides the error it wraps from `source`.
        let inner = current
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        for candidate in [Some(current), inner].into_iter().flatten() {
            if let Some(rustls::Error::AlertReceived(alert)) = candidate.downcast_ref() {
                return Some(*alert);
            }
        }
        cause = current.source();
    }
    None
}

/// The hint for a tag or repository the registry does not have.
fn missing_hint(repository: &Reference) -> String {
    format!(
        "check the name and tag: `strata history {}/{}` lists the repository's tags",
        repository.registry(),
        repository.repository()
    )
}

impl Remote {
    /// Connects to the registry of `reference` to read from it (nothing is sent until the first
    /// request).
    pub(crate) fn connect(reference: &str, opts: &RegistryOptions) -> Result<Remote> {
        Remote::connect_with(reference, opts, false)
    }

    /// Connects to the registry of `reference` to push to it: the timeout then bounds the idle
    /// time of each request (see [`Remote::idle_limit`]).
    pub(crate) fn connect_for_push(reference: &str, opts: &RegistryOptions) -> Result<Remote> {
        Remote::connect_with(reference, opts, true)
    }

    fn connect_with(reference: &str, opts: &RegistryOptions, push: bool) -> Result<Remote> {
        let reference: Reference = reference
            .parse()
            .map_err(|e| Error::usage(format!("invalid image reference {reference:?}: {e}")))?;
        Remote::connect_to(reference, opts, push)
    }

    fn connect_to(reference: Reference, opts: &RegistryOptions, push: bool) -> Result<Remote> {
        let registry = reference.resolve_registry().to_string();
        let connect_timeout = opts.timeout.min(Duration::from_secs(10));
        let plain = scheme::plain_http(&registry, opts.insecure, connect_timeout);
        let trust =
            crate::source::certs::for_registry(reference.registry(), opts.cert_dir.as_deref())?;
        let http = Transport {
            trust: &trust,
            insecure: opts.insecure,
            connect_timeout,
            read_timeout: (!push).then_some(opts.timeout),
        }
        .client(reference.registry())?;
        let base = format!("{}://{registry}", if plain { "http" } else { "https" });
        let credentials = Credentials::resolve(&registry, opts.credentials.as_ref());
        let client = distribution::Client::new(
            http,
            base,
            reference.repository().to_string(),
            push,
            credentials,
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Registry(format!("cannot start the network runtime: {e}")))?;
        Ok(Remote {
            runtime,
            client: Arc::new(client),
            label: reference.to_string(),
            identity: trust.client_certs.first().cloned(),
            reference,
            idle_limit: push.then_some(opts.timeout),
            activity: Arc::new(Activity::new()),
            min_rate: opts.min_rate,
        })
    }

    /// Runs one request to completion; with an idle limit, fails it once it has made no
    /// progress for that long.
    pub(crate) fn run<T>(
        &self,
        request: impl std::future::Future<Output = std::result::Result<T, Failure>>,
    ) -> std::result::Result<T, Failure> {
        let Some(limit) = self.idle_limit else {
            return self.runtime.block_on(request);
        };
        self.activity.begin();
        let stalled = async {
            while let Some(left) = self.activity.left(limit) {
                tokio::time::sleep(left).await;
            }
        };
        self.runtime.block_on(async {
            tokio::select! {
                done = request => done,
                () = stalled => Err(Failure::Stalled(limit)),
            }
        })
    }

    /// Runs `op` until it succeeds, fails for good, or runs out of attempts.
    pub(crate) fn retry<T, Fut>(&self, what: &str, op: impl Fn() -> Fut) -> Result<T>
    where
        Fut: std::future::Future<Output = std::result::Result<T, Failure>>,
    {
        self.retry_prepared(what, || Ok(op()))
    }

    /// Like [`Remote::retry`], for requests prepared afresh for each attempt (a blob upload
    /// re-opens its bytes from the start); a failure to prepare ends the retries.
    pub(crate) fn retry_prepared<T, Fut>(
        &self,
        what: &str,
        mut prepare: impl FnMut() -> Result<Fut>,
    ) -> Result<T>
    where
        Fut: std::future::Future<Output = std::result::Result<T, Failure>>,
    {
        let mut delay = Duration::from_millis(250);
        for attempt in 1..=ATTEMPTS {
            match self.run(prepare()?) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let (error, transient) = classify(e, self.identity.as_deref());
                    if !transient || attempt == ATTEMPTS {
                        return Err(error.context(format!("{}: {what}", self.label)));
                    }
                    std::thread::sleep(delay);
                    delay *= 2;
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// The manifest `reference` names, verified against its digest (the pinned one, else the
    /// one the registry claims).
    pub(crate) fn manifest(&self, reference: &Reference) -> Result<(Vec<u8>, Digest)> {
        let wanted = reference
            .digest()
            .or(reference.tag())
            .unwrap_or("latest")
            .to_string();
        let fetched = self
            .retry("fetching manifest", || self.client.manifest(&wanted))
            .map_err(|e| match e.kind() {
                Kind::NotFound => e.with_hint(missing_hint(reference)),
                _ => e,
            })?;
        let computed = Digest::sha256_of(&fetched.bytes);
        if let Some(pinned) = reference.digest() {
            Digest::parse(pinned)?.verify(&computed, "manifest")?;
        } else if let Some(Ok(claimed)) = fetched.digest.as_deref().map(Digest::parse) {
            claimed.verify(&computed, "manifest")?;
        }
        Ok((fetched.bytes.to_vec(), computed))
    }

    /// The blob `digest` of `size` bytes (a config), whole and verified.
    pub(crate) fn small_blob(&self, digest: &Digest, size: u64, what: &str) -> Result<Vec<u8>> {
        if size > crate::source::files::MAX_METADATA_BYTES {
            return Err(Error::invalid(format!(
                "{what} {digest} claims {size} bytes, too large"
            )));
        }
        let name = digest.to_string();
        let bytes = self.retry(&format!("fetching {what}"), || {
            self.client.blob_bytes(&name)
        })?;
        verify_blob(&bytes, digest, Some(size), what)?;
        Ok(bytes.to_vec())
    }
}

impl Remote {
    /// Resolves `reference` to one image, following indexes by `platform`: manifests and config
    /// only, no layer. `name` is how the image is reported.
    fn image(&self, reference: &Reference, name: &str, platform: &Platform) -> Result<Image> {
        let mut current = reference.clone();
        for _ in 0..MAX_INDEX_DEPTH {
            let (bytes, digest) = self.manifest(&current)?;
            match parse_document(&bytes, &format!("manifest of {name}"))? {
                Document::Index(index) => {
                    let child = choose_from_index(&index, platform, name)?;
                    current = current.clone_with_digest(digest_of(child)?.to_string());
                }
                Document::Manifest(manifest) => {
                    let config_digest = digest_of(manifest.config())?;
                    let config =
                        self.small_blob(&config_digest, manifest.config().size(), "config")?;
                    let fetched = FetchedManifest {
                        digest,
                        bytes: &bytes,
                        manifest: &manifest,
                    };
                    return image_from_manifest(name.to_string(), fetched, &config);
                }
            }
        }
        Err(Error::invalid(format!(
            "{name}: image indexes nested too deeply"
        )))
    }
}

/// The layer source of `image`, streaming from `remote`.
fn layers_of(image: &Image, remote: Arc<Remote>) -> Box<dyn LayerSource> {
    Box::new(RegistryLayers {
        remote,
        digests: image.layers.iter().map(|l| l.digest.clone()).collect(),
    })
}

/// The digest of the manifest or index `reference` names now (a multi-platform tag resolves to its
/// index, as `docker pull` does), verified against the bytes: what a `FROM image:tag@sha256:...`
/// pins the tag to.
pub fn manifest_digest(reference: &str, opts: &RegistryOptions) -> Result<Digest> {
    mirrors::read_from(reference, opts, |at| {
        let remote = Remote::connect(&at.reference, &at.options)?;
        Ok(remote.manifest(&remote.reference)?.1)
    })
}

/// Resolves a registry reference to an image (manifests and config only) and a layer source,
/// read from the first of its registries.conf mirrors that has it ([`mirrors`]).
pub fn open_registry(
    reference: &str,
    platform: &Platform,
    opts: &RegistryOptions,
) -> Result<(Image, Box<dyn LayerSource>)> {
    mirrors::read_from(reference, opts, |at| {
        let remote = Remote::connect(&at.reference, &at.options)?;
        let image = remote.image(&remote.reference, reference, platform)?;
        let layers = layers_of(&image, Arc::new(remote));
        Ok((image, layers))
    })
}

/// A registry repository read by digest, for whole-index reads and copies (`--all-platforms`,
/// `copy --all`).
pub struct RegistryStore {
    remote: Arc<Remote>,
    name: String,
}

impl RegistryStore {
    /// Connects to the registry of `reference`; nothing is sent yet.
    pub fn connect(reference: &str, opts: &RegistryOptions) -> Result<RegistryStore> {
        Ok(RegistryStore {
            remote: Arc::new(Remote::connect(reference, opts)?),
            name: reference.to_string(),
        })
    }
}

impl crate::source::manifest::Store for RegistryStore {
    fn top(&self) -> Result<(Vec<u8>, String)> {
        let (bytes, _) = self.remote.manifest(&self.remote.reference)?;
        let media_type = crate::source::manifest::media_type_of(&bytes);
        Ok((bytes, media_type))
    }

    fn manifest(&self, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>> {
        let at = self.remote.reference.clone_with_digest(digest.to_string());
        let (bytes, _) = self.remote.manifest(&at)?;
        verify_blob(&bytes, digest, size, "manifest")?;
        Ok(bytes)
    }

    fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        RegistryLayers {
            remote: self.remote.clone(),
            digests: vec![Some(digest.clone())],
        }
        .open_layer(0)
    }

    /// The referrers API, or (where the registry answers it with 404) the `sha256-<hex>` tag.
    fn referrers(&self, subject: &Digest) -> Result<Vec<oci_spec::image::Descriptor>> {
        let remote = &self.remote;
        let what = format!("listing referrers of {subject}");
        let name = subject.to_string();
        let bytes = match remote.retry(&what, || remote.client.referrers(&name))? {
            Referrers::Index(bytes) => bytes.to_vec(),
            Referrers::NoApi => match remote.manifest(&referrers_tag(&remote.reference, subject)) {
                Ok((bytes, _)) => bytes,
                Err(e) if e.kind() == Kind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(e),
            },
        };
        let index: oci_spec::image::ImageIndex = serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid(format!("referrers of {subject}: {e}")))?;
        Ok(index.manifests().clone())
    }

    fn origin(&self) -> Option<String> {
        Some(self.name.clone())
    }
}

/// The tag under which a registry without the referrers API keeps `subject`'s referrers
/// (`sha256-<hex>`, the distribution spec's tag schema), in `reference`'s repository.
pub(crate) fn referrers_tag(reference: &Reference, subject: &Digest) -> Reference {
    Reference::with_tag(
        reference.registry().to_string(),
        reference.repository().to_string(),
        subject.to_string().replace(':', "-"),
    )
}

/// Tags asked for per page of `/v2/<name>/tags/list`.
const TAGS_PER_PAGE: usize = 1000;

/// One repository of a registry, read tag by tag over a single connection: what `strata
/// history` walks.
pub struct RepositoryClient {
    remote: Arc<Remote>,
    repository: Repository,
}

impl RepositoryClient {
    /// Connects to `repository`'s registry, or its first mirror that lists its tags (nothing is
    /// sent without mirrors).
    pub fn connect(repository: &Repository, opts: &RegistryOptions) -> Result<RepositoryClient> {
        mirrors::read_from(&repository.tagged("latest"), opts, |at| {
            let mut remote = Remote::connect(&at.reference, &at.options)?;
            remote.label = repository.to_string();
            let client = RepositoryClient {
                remote: Arc::new(remote),
                repository: repository.clone(),
            };
            // Nothing else is asked before the tags: a mirror without them falls through here.
            if !at.last {
                client.tags()?;
            }
            Ok(client)
        })
    }

    /// Every tag of the repository, in the registry's order, following the pagination of the
    /// distribution API (`n` and `last`, or the `Link` header's next page where it names one).
    pub fn tags(&self) -> Result<Vec<String>> {
        let remote = &self.remote;
        // The page a registry's `Link` named, else the one after the last tag seen.
        let mut link = None;
        collect_pages(|last| {
            let after = match (&link, last) {
                (Some(url), _) => After::Link(url),
                (None, Some(tag)) => After::Tag(tag),
                (None, None) => After::Start,
            };
            let page =
                remote.retry("listing tags", || remote.client.tags(TAGS_PER_PAGE, &after))?;
            link = page.next;
            Ok(page.tags)
        })
    }

    /// Opens the image `tag` names (manifests and config only; layers stream on demand).
    pub fn open(&self, tag: &str, platform: &Platform) -> Result<(Image, Box<dyn LayerSource>)> {
        let at = &self.remote.reference;
        let reference =
            Reference::with_tag(at.registry().into(), at.repository().into(), tag.into());
        let image = self
            .remote
            .image(&reference, &self.repository.tagged(tag), platform)?;
        let layers = layers_of(&image, self.remote.clone());
        Ok((image, layers))
    }
}

/// Gathers a paginated list: each page is asked for after the last item of the one before, until
/// a page is empty or brings nothing new (registries that ignore `last` repeat the first page).
fn collect_pages(mut page: impl FnMut(Option<&str>) -> Result<Vec<String>>) -> Result<Vec<String>> {
    let mut all: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    loop {
        let items = page(all.last().map(String::as_str))?;
        let before = all.len();
        all.extend(items.into_iter().filter(|t| seen.insert(t.clone())));
        if all.len() == before {
            return Ok(all);
        }
    }
}

struct RegistryLayers {
    remote: Arc<Remote>,
    digests: Vec<Option<Digest>>,
}

impl LayerSource for RegistryLayers {
    fn is_remote(&self) -> bool {
        true
    }

    fn open_layer(&self, index: usize) -> Result<Box<dyn Read + Send>> {
        let digest = self.digests[index]
            .clone()
            .ok_or_else(|| Error::invalid("registry layer without a digest"))?;
        let remote = &self.remote;
        let name = digest.to_string();
        let what = format!("fetching layer {digest}");
        let response = remote.retry(&what, || remote.client.blob(&name))?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<io::Result<Vec<u8>>>(8);
        let plan = Plan {
            digest: name,
            attempts: ATTEMPTS,
            min_rate: remote.min_rate,
        };
        let identity = remote.identity.clone();
        let judge = move |failure| classify(failure, identity.as_deref());
        let what = format!("{}: {what}", remote.label);
        let stream = remote
            .client
            .clone()
            .stream_blob(response, plan, judge, what, tx);
        remote.runtime.spawn(stream);
        Ok(Box::new(ChunkReader::new(move || rx.blocking_recv())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry holding `tags`, answering pages of at most `per_page` after `last`
    /// (or ignoring `last` entirely).
    fn pages(tags: &[&str], per_page: usize, honours_last: bool) -> (Vec<String>, usize) {
        let mut requests = 0;
        let all = collect_pages(|last| {
            requests += 1;
            let start = match last {
                Some(l) if honours_last => tags.iter().position(|t| *t == l).map_or(0, |i| i + 1),
                _ => 0,
            };
            Ok(tags[start..]
                .iter()
                .take(per_page)
                .map(|t| t.to_string())
                .collect())
        })
        .unwrap();
        (all, requests)
    }

    fn answered(status: u16, body: &str) -> Failure {
        Failure::Status {
            status,
            url: "http://127.0.0.1:5000/v2/app/manifests/nope".into(),
            errors: distribution::error::parse_envelope(body.as_bytes()),
        }
    }

    fn envelope(status: u16, code: &str) -> Failure {
        answered(
            status,
            &format!(r#"{{"errors":[{{"code":"{code}","message":"m"}}]}}"#),
        )
    }

    fn server(status: u16) -> Failure {
        answered(status, "<html>no</html>")
    }

    /// What each failed request becomes: kind, exit code, and whether it is retried.
    #[test]
    fn registry_failures_are_classified_once() {
        let cases: Vec<(Failure, Kind, bool)> = vec![
            (envelope(404, "MANIFEST_UNKNOWN"), Kind::NotFound, false),
            (envelope(404, "NAME_UNKNOWN"), Kind::NotFound, false),
            (envelope(404, "BLOB_UNKNOWN"), Kind::NotFound, false),
            (envelope(401, "UNAUTHORIZED"), Kind::Auth, false),
            (envelope(403, "DENIED"), Kind::Auth, false),
            (envelope(429, "TOOMANYREQUESTS"), Kind::Registry, true),
            (envelope(400, "TOOMANYREQUESTS"), Kind::Registry, true),
            (envelope(400, "MANIFEST_INVALID"), Kind::Registry, false),
            (envelope(503, "UNAVAILABLE"), Kind::Registry, true),
            (server(404), Kind::NotFound, false),
            (server(401), Kind::Auth, false),
            (server(403), Kind::Auth, false),
            (server(429), Kind::Registry, true),
            (server(503), Kind::Registry, true),
            (server(500), Kind::Registry, true),
            (server(400), Kind::Registry, false),
            (
                Failure::Stalled(Duration::from_secs(60)),
                Kind::Registry,
                true,
            ),
            (
                Failure::TooSlow {
                    bytes: 2,
                    window: Duration::from_secs(2),
                },
                Kind::Registry,
                true,
            ),
            (
                Failure::Protocol("an upload session without a Location".into()),
                Kind::Registry,
                false,
            ),
            (
                Failure::Auth(Error::Auth(
                    "authentication failed (401) at the token server".into(),
                )),
                Kind::Auth,
                false,
            ),
        ];
        for (failure, kind, transient) in cases {
            let shown = failure.to_string();
            assert!(!shown.contains("<html>"), "{shown}");
            let (error, retried) = classify(failure, None);
            assert_eq!((error.kind(), retried), (kind, transient), "{shown}");
            assert_eq!(
                error.exit_code(),
                crate::error::ExitCode::Registry,
                "{shown}"
            );
            assert!(error.to_string().starts_with("registry: "), "{error}");
        }
        let (auth, _) = classify(server(401), None);
        assert!(auth.hint().unwrap().contains("docker login"));
        let (stalled, _) = classify(Failure::Stalled(Duration::from_secs(60)), None);
        assert!(
            stalled
                .to_string()
                .contains("timed out: no progress for 60 s"),
            "{stalled}"
        );
    }

    #[test]
    fn a_missing_manifest_hints_at_the_tag_list() {
        let reference: Reference = "127.0.0.1:5000/team/app:v9".parse().unwrap();
        assert_eq!(
            missing_hint(&reference),
            "check the name and tag: `strata history 127.0.0.1:5000/team/app` lists the repository's tags"
        );
    }

    #[test]
    fn tag_pages_are_followed_to_the_end() {
        let tags = ["a", "b", "c", "d", "e"];
        assert_eq!(pages(&tags, 2, true), (tags.map(String::from).to_vec(), 4));
        assert_eq!(pages(&tags, 10, true).0.len(), 5);
        // A registry that ignores `last` repeats its first page: the walk still ends.
        assert_eq!(
            pages(&tags, 10, false),
            (tags.map(String::from).to_vec(), 2)
        );
        assert_eq!(pages(&[], 10, true), (vec![], 1));
    }
}
