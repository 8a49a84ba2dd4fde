//! The pinned uv installed into strata's cache when neither `--installer`, `PATH` nor the cache
//! has it: its wheel for the host is looked up in the package index uv installs from
//! ([`index_url`]: PEP 691's JSON, or the PEP 503 HTML a static mirror serves), downloaded, its
//! sha256 checked against the index's before a byte of it is used, and the `uv` binary taken out
//! of it is written atomically (a temp file renamed into place) with mode 0755.

use std::fs;
use std::io::{Cursor, IsTerminal, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::ecosystem::python::from_lock::index_url;
use crate::error::{Error, Result};
use crate::layer::digest::Digest;
use crate::source::certs::Trust;
use crate::source::distribution::transport::Transport;
use crate::temp::{self, TempPath};

/// A wheel the index lists: its file name, where it is, the sha256 the index gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    filename: String,
    url: Url,
    sha256: String,
}

/// PEP 691's project page: the files, each with its hashes.
#[derive(Debug, Deserialize)]
struct Page {
    files: Vec<PageFile>,
}

#[derive(Debug, Deserialize)]
struct PageFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
}

/// The files of a project page, from its JSON (PEP 691) or HTML (PEP 503: anchors whose URL
/// ends in `#sha256=HEX`), URLs made absolute against the page's; files without a sha256 are
/// left out (nothing unverified is used).
fn listed(page: &Url, body: &str, json: bool) -> Result<Vec<Listed>> {
    let file = |filename: &str, href: &str, sha256: Option<String>| -> Option<Listed> {
        let mut url = page.join(href).ok()?;
        let sha256 = sha256.or_else(|| {
            url.fragment()?
                .strip_prefix("sha256=")
                .map(str::to_ascii_lowercase)
        })?;
        url.set_fragment(None);
        Some(Listed {
            filename: filename.trim().to_string(),
            url,
            sha256,
        })
    };
    if json {
        let parsed: Page = serde_json::from_str(body)
            .map_err(|e| Error::invalid(format!("{page}: not a PEP 691 project page: {e}")))?;
        return Ok(parsed
            .files
            .iter()
            .filter_map(|f| file(&f.filename, &f.url, f.hashes.get("sha256").cloned()))
            .collect());
    }
    let anchor = regex::Regex::new(r#"(?s)<a\s[^>]*href="([^"]+)"[^>]*>([^<]+)</a>"#)
        .map_err(|e| Error::invalid(format!("the anchor pattern: {e}")))?;
    Ok(anchor
        .captures_iter(body)
        .filter_map(|c| file(&c[2], &c[1].replace("&amp;", "&"), None))
        .collect())
}

/// Which of uv's Linux wheels a machine runs: its CPU as the wheel tags spell it (`x86_64`,
/// `aarch64`) and its C library's tag family (`manylinux` for glibc, `musllinux`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UvPlatform {
    /// The CPU (`x86_64`, `aarch64`).
    pub arch: String,
    /// `manylinux` or `musllinux`.
    pub libc: &'static str,
}

impl UvPlatform {
    /// The machine strata runs on.
    pub fn host() -> UvPlatform {
        UvPlatform {
            arch: std::env::consts::ARCH.to_string(),
            libc: if cfg!(target_env = "musl") {
                "musllinux"
            } else {
                "manylinux"
            },
        }
    }
}

/// The wheel of uv `version` for `platform` among `files`.
fn pick<'a>(files: &'a [Listed], version: &str, platform: &UvPlatform) -> Option<&'a Listed> {
    files.iter().find(|f| {
        let Some(tags) = f
            .filename
            .strip_prefix(&format!("uv-{version}-"))
            .and_then(|t| t.strip_suffix(".whl"))
        else {
            return false;
        };
        let tag = tags.rsplit('-').next().unwrap_or_default();
        tag.split('.')
            .any(|p| p.starts_with(platform.libc) && p.ends_with(&platform.arch))
    })
}

/// What `GET url` answered, as text or bytes; an index that cannot be reached is exit 3.
fn get(client: &reqwest::Client, url: &Url, accept: &str) -> Result<(Vec<u8>, String)> {
    let unreachable = |e: reqwest::Error| {
        Error::Registry(format!("the package index cannot be reached ({url}): {e}"))
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("a tokio runtime", e))?;
    runtime.block_on(async {
        let response = client
            .get(url.clone())
            .header("Accept", accept)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::Registry(format!(
                "the package index answered {status} for {url}"
            )));
        }
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.bytes().await.map_err(unreachable)?;
        Ok((body.to_vec(), kind))
    })
}

/// The `uv` binary in the wheel `bytes` of uv `version`.
fn binary_in(bytes: &[u8], version: &str, shown: &str) -> Result<Vec<u8>> {
    let corrupt = |e: zip::result::ZipError| Error::invalid(format!("{shown}: {e}"));
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    let mut entry = zip
        .by_name(&format!("uv-{version}.data/scripts/uv"))
        .map_err(corrupt)?;
    let mut binary = Vec::new();
    entry
        .read_to_end(&mut binary)
        .map_err(|e| Error::io(shown, e))?;
    Ok(binary)
}

/// Installs uv `version` for `platform` at `path` from the package index (see the module's
/// doc).
pub fn install(version: &str, platform: &UvPlatform, path: &Path) -> Result<()> {
    let index = index_url();
    let page = Url::parse(&format!("{}/uv/", index.trim_end_matches('/')))
        .map_err(|e| Error::usage(format!("the package index URL {index}: {e}")))?;
    let trust = Trust::default();
    let client = Transport {
        trust: &trust,
        insecure: false,
        connect_timeout: Duration::from_secs(30),
        read_timeout: Some(Duration::from_secs(60)),
    }
    .client(page.host_str().unwrap_or_default())?;
    let (body, kind) = get(
        &client,
        &page,
        "application/vnd.pypi.simple.v1+json, text/html;q=0.1",
    )?;
    let files = listed(
        &page,
        &String::from_utf8_lossy(&body),
        kind.contains("json"),
    )?;
    let wheel = pick(&files, version, platform).ok_or_else(|| {
        Error::usage(format!(
            "{page} lists no uv {version} wheel with a sha256 for {} ({})",
            platform.arch, platform.libc
        ))
    })?;
    if std::io::stderr().is_terminal() {
        eprintln!("strata: installing uv {version} from {}", wheel.url);
    }
    let (bytes, _) = get(&client, &wheel.url, "*/*")?;
    let got = Digest::sha256_of(&bytes);
    if got.hex() != wheel.sha256 {
        return Err(Error::invalid(format!(
            "{}: its sha256 is {} but the index lists {}; refused (nothing installed)",
            wheel.url,
            got.hex(),
            wheel.sha256
        )));
    }
    let binary = binary_in(&bytes, version, &wheel.filename)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), e))?;
    let (tmp, ()) = TempPath::create(temp::beside(path), |t| {
        fs::write(t, &binary)?;
        fs::set_permissions(t, fs::Permissions::from_mode(0o755))
    })
    .map_err(|e| Error::io(path.display(), e))?;
    tmp.persist(path)
        .map_err(|failed| Error::io(path.display(), failed.error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheels_are_listed_from_json_and_html_with_their_hashes() {
        let page = Url::parse("http://127.0.0.1:8000/simple/uv/").unwrap();
        let arch = std::env::consts::ARCH;
        let name = format!("uv-0.13.9-py3-none-manylinux_2_17_{arch}.manylinux2014_{arch}.whl");
        let html = format!(
            "<html><body><a href=\"../../files/{name}#sha256=AB12\">{name}</a>\n\
             <a href=\"../../files/uv-0.13.9.tar.gz\">uv-0.13.9.tar.gz</a></body></html>"
        );
        let files = listed(&page, &html, false).unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(
            files[0].url.as_str(),
            format!("http://127.0.0.1:8000/files/{name}")
        );
        assert_eq!(files[0].sha256, "ab12");
        let host = UvPlatform::host();
        assert_eq!(pick(&files, "0.13.9", &host), Some(&files[0]));
        assert_eq!(pick(&files, "0.13.8", &host), None);
        let musl = UvPlatform {
            libc: "musllinux",
            ..host
        };
        assert_eq!(pick(&files, "0.13.9", &musl), None);
        let json = format!(
            "{{\"files\": [{{\"filename\": \"{name}\", \"url\": \"https://files.example/{name}\", \
             \"hashes\": {{\"sha256\": \"cd34\"}}}}, {{\"filename\": \
             \"uv-0.13.9-py3-none-win_amd64.whl\", \"url\": \"w.whl\", \"hashes\": {{}}}}]}}"
        );
        let files = listed(&page, &json, true).unwrap();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].sha256, "cd34");
        assert!(listed(&page, "{", true).is_err());
    }
}
