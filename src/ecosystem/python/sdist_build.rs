//! `--allow-build`: the locked distributions that publish no wheel the target can load, built
//! from their sdist for the target by uv inside a builder container (the base image itself by
//! default, `--builder IMAGE` for one with a compiler), through the Docker Engine. The build runs
//! the sdist's own code, so it never runs on the host; another CPU runs through the engine's
//! binfmt handlers. uv in the container installs exactly the locked pins (`--no-deps`, the
//! lock's hashes required when it has them, which checks the sdist it downloads) into a target
//! directory whose content joins the wheels the host installed: one site-packages, split into
//! layers as any other.

use std::path::Path;

use crate::builder::{self, Job, JobFile, WORKDIR};
use crate::ecosystem::python::dockerfile::UV_VERSION;
use crate::ecosystem::python::installer;
use crate::ecosystem::python::target::Target;
use crate::error::{Error, Result};
use crate::sink::copy::copy_image;
use crate::source::engine::Engine;
use crate::source::reference::ImageRef;
use crate::source::{open, OpenedImage, SourceOptions};

/// Where the builder is: the engine's image and whether strata loaded it there (then it is
/// untagged again once the build is done).
struct BuilderImage {
    name: String,
    loaded: bool,
}

/// What `--allow-build` builds with: the image the builder container runs (`None`: the base),
/// how to open it, where strata's cache is (the builder's uv).
pub struct SdistBuilder<'a> {
    /// The base image, the default builder.
    pub base: &'a OpenedImage,
    /// `--builder IMAGE`: an image with a compiler and Python's headers for native sdists.
    pub builder: Option<&'a str>,
    /// How images are opened (the builder's platform is the target's).
    pub opts: &'a SourceOptions,
    /// strata's cache directory (the builder's uv is kept there).
    pub cache_dir: &'a Path,
}

impl SdistBuilder<'_> {
    /// What the build's result depends on besides the requirements: the builder image and the
    /// uv it runs.
    pub fn key(&self) -> String {
        format!(
            "build\0{}\0{}\0uv {UV_VERSION}",
            self.builder.unwrap_or_default(),
            self.base.image.config_digest
        )
    }

    /// Builds `requirements` (the entries with no wheel) for `target` and unpacks what uv
    /// installed into `site`.
    pub fn build(
        &self,
        requirements: &str,
        hashed: bool,
        names: &[String],
        target: &Target,
        site: &Path,
    ) -> Result<()> {
        let engine = Engine::connect().map_err(|e| {
            e.context(format!(
                "--allow-build builds {} in a container",
                names.join(", ")
            ))
        })?;
        let image = self.image(&engine, target)?;
        let uv = installer::pinned_for(&target.uv_binary_platform()?, self.cache_dir)?;
        let uv_bytes = std::fs::read(&uv).map_err(|e| Error::io(uv.display(), e))?;
        let mut files = vec![
            JobFile {
                name: "uv".into(),
                bytes: uv_bytes,
                mode: 0o755,
            },
            JobFile {
                name: "requirements.txt".into(),
                bytes: requirements.as_bytes().to_vec(),
                mode: 0o644,
            },
        ];
        let mut env = container_env();
        if let Some(ca) = ca_bundle() {
            let bytes = std::fs::read(&ca).map_err(|e| Error::io(ca.display(), e))?;
            files.push(JobFile {
                name: "ca.pem".into(),
                bytes,
                mode: 0o644,
            });
            env.push(format!("SSL_CERT_FILE={WORKDIR}/ca.pem"));
            env.push("UV_NATIVE_TLS=1".into());
        }
        let mut argv: Vec<String> = [
            "./uv",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--link-mode",
            "copy",
            "--target",
            "out",
            "--python",
        ]
        .map(String::from)
        .into();
        argv.push(format!("python{}", target.python));
        argv.extend(["-r".to_string(), "requirements.txt".to_string()]);
        if hashed {
            argv.push("--require-hashes".into());
        }
        let job = Job {
            image: &image.name,
            platform: &target.platform,
            files,
            argv,
            env,
            output: "out",
        };
        let ran = builder::run(&engine, &job, site);
        if image.loaded {
            engine.untag(&image.name);
        }
        let finished = ran?;
        if finished.status != 0 {
            return Err(build_error(&finished.logs, names, target, &self.shown()));
        }
        Ok(())
    }

    /// The builder as the user named it, for messages.
    fn shown(&self) -> String {
        self.builder
            .map_or_else(|| "the base image".to_string(), str::to_string)
    }

    /// The builder in the engine: a `docker-daemon:` image as it is there, any other reference
    /// (the base by default) loaded into the engine under `strata-builder:<config digest>`
    /// unless the engine has that image already.
    fn image(&self, engine: &Engine, target: &Target) -> Result<BuilderImage> {
        let opened;
        let image = match self.builder.map(ImageRef::parse).transpose()? {
            Some(ImageRef::Daemon(name)) => {
                return Ok(BuilderImage {
                    name,
                    loaded: false,
                })
            }
            Some(other) => {
                let opts = SourceOptions {
                    platform: target.platform.clone(),
                    ..self.opts.clone()
                };
                opened = open(&other, &opts)
                    .map_err(|e| e.context(format!("--builder {}", self.shown())))?;
                &opened
            }
            None => self.base,
        };
        let id = image.image.config_digest.to_string();
        if engine.has_image(&id)? {
            return Ok(BuilderImage {
                name: id,
                loaded: false,
            });
        }
        let name = format!("strata-builder:{}", &image.image.config_digest.hex()[..16]);
        let mut sink = crate::sink::engine::engine_sink(&name)?;
        copy_image(image, &mut sink, std::sync::Arc::new(())).map_err(|e| {
            e.context(format!(
                "loading the builder ({}) into the engine",
                self.shown()
            ))
        })?;
        Ok(BuilderImage { name, loaded: true })
    }
}

/// The container's environment: its `PATH` and home, uv without colours or Python downloads,
/// the index and proxies the host uses.
fn container_env() -> Vec<String> {
    let mut env: Vec<String> = [
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "HOME=/strata",
        "NO_COLOR=1",
        "UV_PYTHON_DOWNLOADS=never",
        "UV_CACHE_DIR=/strata/cache",
    ]
    .map(String::from)
    .into();
    env.push(format!(
        "UV_INDEX_URL={}",
        crate::ecosystem::python::from_lock::index_url()
    ));
    for key in [
        "UV_EXTRA_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    ] {
        if let Some(value) = std::env::var(key).ok().filter(|v| !v.is_empty()) {
            let key = key.replace("PIP_", "UV_");
            env.push(format!("{key}={value}"));
        }
    }
    env
}

/// The CA bundle the host's uv trusts (`SSL_CERT_FILE`, `PIP_CERT`, Debian's bundle): the
/// container trusts the same roots (a proxy's or a mirror's private CA included).
fn ca_bundle() -> Option<std::path::PathBuf> {
    ["SSL_CERT_FILE", "PIP_CERT"]
        .iter()
        .filter_map(std::env::var_os)
        .map(std::path::PathBuf::from)
        .chain([std::path::PathBuf::from(
            "/etc/ssl/certs/ca-certificates.crt",
        )])
        .find(|p| p.is_file())
}

/// What a failed build in the container means: the index unreachable (exit 3) as on the host,
/// else the build's own first error, with what a native build needs.
fn build_error(logs: &str, names: &[String], target: &Target, builder: &str) -> Error {
    if logs.contains("Failed to fetch: ") {
        return crate::ecosystem::python::from_lock::index_error(logs);
    }
    let lines = || logs.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines()
        .find(|l| l.starts_with("error:"))
        .or_else(|| lines().next_back())
        .unwrap_or("no diagnostics");
    // The build's own last error (a missing compiler, a missing header) says more than uv's.
    let cause = lines()
        .rfind(|l| *l != first && l.to_ascii_lowercase().contains("error"))
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let line = first.trim_start_matches("error:").trim();
    Error::invalid(format!(
        "--allow-build: building {} from source for {} in {builder} failed: {line}{cause}",
        names.join(", "),
        target.platform
    ))
    .with_hint(format!(
        "an sdist with C code needs a compiler and Python's headers: pass --builder IMAGE, an \
         image for {} with gcc and python{}-dev (its Python must be {})",
        target.platform, target.python, target.python
    ))
}

/// One requirement of a requirements text: the package's normalized name and its lines
/// (continuations included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// PEP 503-normalized (`sgmllib3k`, `typing-extensions`).
    pub name: String,
    /// Its text, ending in a newline.
    pub text: String,
}

/// The requirements of `text` (`name==1.0 \` then `--hash=…` lines, or one line each),
/// comments and blank lines left out.
pub fn requirements(text: &str) -> Vec<Requirement> {
    let mut out: Vec<Requirement> = Vec::new();
    let mut continued = false;
    for line in text.lines() {
        let trimmed = line.trim();
        let continues = trimmed.ends_with('\\');
        if continued {
            if let Some(last) = out.last_mut() {
                last.text.push_str(line);
                last.text.push('\n');
            }
        } else if !trimmed.is_empty() && !trimmed.starts_with('#') {
            let name: String = trimmed
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            out.push(Requirement {
                name: crate::python::pep508::normalize_name(&name),
                text: format!("{line}\n"),
            });
        }
        continued = continues;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::elf::GlibcVersion;
    use crate::rootfs::libc::Libc;
    use crate::source::platform::Platform;

    #[test]
    fn a_failed_build_names_the_package_the_platform_and_the_compiler_it_lacked() {
        let target = Target {
            platform: Platform::parse("linux/arm64").unwrap(),
            python: "3.13".into(),
            interpreter: "/usr/bin/python3.13".into(),
            libc: Libc::Glibc(GlibcVersion([2, 41, 0])),
        };
        let logs = "error: Failed to build `lev==0.12.2`\n  |-> The build backend returned an \
                    error\n      [stderr]\n      error: command 'gcc' failed: No such file or \
                    directory\n";
        let e = build_error(logs, &["lev==0.12.2".into()], &target, "the base image");
        let shown = format!("{e} {}", e.hint().unwrap_or_default());
        for needle in [
            "lev==0.12.2",
            "linux/arm64",
            "command 'gcc' failed",
            "--builder IMAGE",
            "python3.13-dev",
        ] {
            assert!(shown.contains(needle), "{needle}: {shown}");
        }
        let unreachable = "error: Request failed\n  cause: Failed to fetch: \
                           https://mirror.example/simple/lev/\n";
        let e = build_error(unreachable, &["lev".into()], &target, "the base image");
        assert_eq!(e.exit_code(), crate::error::ExitCode::Registry);
    }

    #[test]
    fn requirements_keep_their_continuations_and_normalized_names() {
        let text = "# via x\nsgmllib3k==1.0.0 \\\n    --hash=sha256:ab\nSix_Pkg==1.17.0 ; \
                    python_version >= \"3\"\n\n";
        let found = requirements(text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].name, "sgmllib3k");
        assert_eq!(found[0].text, "sgmllib3k==1.0.0 \\\n    --hash=sha256:ab\n");
        assert_eq!(found[1].name, "six-pkg");
    }
}
