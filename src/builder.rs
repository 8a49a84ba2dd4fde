//! A throwaway builder container in the Docker Engine: files put in, one command run, one
//! directory taken out, the container removed whatever happened. What cannot be built on the
//! host runs there — a Python sdist for the base's platform (`strata build --allow-build`) — on
//! the image's own C library and interpreter, on another CPU through the engine's binfmt
//! handlers (qemu-user, as `docker buildx` needs them), and with the build's own code kept off
//! the host. Files go in and out through the engine's archive API, never bind mounts, so a
//! remote engine (`DOCKER_HOST=tcp://…`) works as a local one does.

use std::io::{self, Read};
use std::path::{Component, Path};

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use crate::error::{printable, Error, Result};
use crate::source::engine::Engine;
use crate::source::platform::Platform;

/// Where a job's files are put in the container.
pub const WORKDIR: &str = "/strata";

/// A file given to the job: its name under [`WORKDIR`], its bytes, its mode.
pub struct JobFile {
    /// Relative to [`WORKDIR`] (`uv`, `requirements.txt`).
    pub name: String,
    /// Its content.
    pub bytes: Vec<u8>,
    /// Its permission bits (`0o755` for a program).
    pub mode: u32,
}

/// One command in a container of an engine image.
pub struct Job<'a> {
    /// The engine's name for the image (`strata-builder:…`, or the user's).
    pub image: &'a str,
    /// The platform the container runs as (another CPU needs the engine's binfmt handlers).
    pub platform: &'a Platform,
    /// What the job is given, under [`WORKDIR`].
    pub files: Vec<JobFile>,
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// Its environment, `KEY=VALUE`.
    pub env: Vec<String>,
    /// The directory of the container (under [`WORKDIR`]) whose content is the job's output.
    pub output: &'a str,
}

/// How a job ended.
pub struct Finished {
    /// The command's exit status.
    pub status: i64,
    /// What it printed (stdout then stderr interleaved as the engine kept them), control
    /// characters removed.
    pub logs: String,
}

/// Runs `job` in a new container of `engine` and, when it succeeds, unpacks its output
/// directory into `out` (directories and regular files only, none outside `out`). The container
/// is removed in every case.
pub fn run(engine: &Engine, job: &Job, out: &Path) -> Result<Finished> {
    let docker = engine.transfers();
    let failed = |what: &str, e: bollard::errors::Error| {
        Error::Registry(format!(
            "the Docker Engine at {}: {what} a container of {}: {e}",
            engine.host(),
            job.image
        ))
    };
    let options = CreateContainerOptionsBuilder::default()
        .platform(&job.platform.to_string())
        .build();
    let body = ContainerCreateBody {
        image: Some(job.image.to_string()),
        cmd: Some(job.argv.clone()),
        env: Some(job.env.clone()),
        working_dir: Some(WORKDIR.to_string()),
        user: Some("0:0".into()),
        entrypoint: Some(Vec::new()),
        labels: Some([("strata.builder".to_string(), "1".to_string())].into()),
        ..Default::default()
    };
    let created = engine
        .block_on(docker.create_container(Some(options), body))
        .map_err(|e| failed("creating", e))?;
    let id = created.id;
    let outcome = (|| {
        let files = job_archive(&job.files).map_err(|e| Error::io("the builder's files", e))?;
        let upload = UploadToContainerOptionsBuilder::default().path("/").build();
        engine
            .block_on(docker.upload_to_container(
                &id,
                Some(upload),
                bollard::body_full(files.into()),
            ))
            .map_err(|e| failed("copying files into", e))?;
        engine
            .block_on(docker.start_container(&id, None))
            .map_err(|e| start_error(e, job, engine))?;
        let status = engine.block_on(async {
            let mut waited = docker.wait_container(&id, None);
            match waited.next().await {
                Some(Ok(r)) => Ok(r.status_code),
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
                    Ok(code)
                }
                Some(Err(e)) => Err(failed("waiting for", e)),
                None => Err(Error::Registry(format!(
                    "the Docker Engine at {}: the container of {} ended with no status",
                    engine.host(),
                    job.image
                ))),
            }
        })?;
        let logs = logs_of(engine, &id);
        if status != 0 && logs.contains("exec format error") {
            return Err(cannot_run(job, engine));
        }
        if status == 0 {
            let path = format!("{WORKDIR}/{}", job.output);
            let options = DownloadFromContainerOptionsBuilder::default()
                .path(&path)
                .build();
            let tar = engine.reader(docker.download_from_container(&id, Some(options)));
            unpack_output(tar, out)
                .map_err(|e| Error::invalid(format!("the builder's output ({path}): {e}")))?;
        }
        Ok(Finished { status, logs })
    })();
    let remove = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let removed = engine.block_on(docker.remove_container(&id, Some(remove)));
    let finished = outcome?;
    removed.map_err(|e| failed("removing", e))?;
    Ok(finished)
}

/// A start that fails because the engine cannot run the platform's binaries says so, with
/// what fixes it.
fn start_error(e: bollard::errors::Error, job: &Job, engine: &Engine) -> Error {
    let said = e.to_string();
    if said.contains("exec format error") {
        return cannot_run(job, engine);
    }
    Error::Registry(format!(
        "the Docker Engine at {}: starting a container of {}: {}",
        engine.host(),
        job.image,
        printable(&said)
    ))
}

/// The engine runs no binaries of the job's platform (no binfmt handler for its CPU).
fn cannot_run(job: &Job, engine: &Engine) -> Error {
    Error::usage(format!(
        "the Docker Engine at {} cannot run {} containers (exec format error)",
        engine.host(),
        job.platform
    ))
    .with_hint(
        "register qemu-user-static's binfmt handlers on the engine's machine (Debian: \
         `cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register`), as \
         docker buildx needs them",
    )
}

/// The container's output so far, as one printable text (the engine frames each line).
fn logs_of(engine: &Engine, id: &str) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let chunks: Vec<String> = engine.block_on(
        engine
            .transfers()
            .logs(id, Some(options))
            .filter_map(|c| async move { c.ok().map(|c| c.to_string()) })
            .collect(),
    );
    chunks
        .concat()
        .lines()
        .map(|l| printable(l) + "\n")
        .collect()
}

/// The tar the engine unpacks at `/`: [`WORKDIR`] and the job's files in it.
fn job_archive(files: &[JobFile]) -> io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    tar.append_data(&mut dir, WORKDIR.trim_start_matches('/'), io::empty())?;
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(file.mode);
        header.set_size(file.bytes.len() as u64);
        let path = format!("{}/{}", WORKDIR.trim_start_matches('/'), file.name);
        tar.append_data(&mut header, path, file.bytes.as_slice())?;
    }
    tar.into_inner()
}

/// Unpacks the engine's archive of the output directory into `out`: the directory's own name
/// (the archive's first component) dropped, only directories and regular files, no path with
/// `..` or a root; anything else is refused.
fn unpack_output(tar: impl Read, out: &Path) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let mut parts = path.components();
        parts.next();
        let inner = parts.as_path();
        let plain = inner
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            return Err(io::Error::other(format!(
                "an entry outside the directory: {}",
                printable(&path.display().to_string())
            )));
        }
        if inner.as_os_str().is_empty() {
            continue;
        }
        let dest = out.join(inner);
        match entry.header().entry_type() {
            tar::EntryType::Directory => std::fs::create_dir_all(&dest)?,
            tar::EntryType::Regular => {
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let mode = entry.header().mode()? & 0o755;
                let mut file = std::fs::File::create(&dest)?;
                io::copy(&mut entry, &mut file)?;
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(mode | 0o644))?;
            }
            other => {
                return Err(io::Error::other(format!(
                    "{}: a {other:?} entry (a build's output is files and directories)",
                    printable(&inner.display().to_string())
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, kind, bytes) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            h.set_size(bytes.len() as u64);
            if *kind == tar::EntryType::Symlink {
                h.set_link_name("/etc").unwrap();
            }
            // Raw names: `append_data` would refuse `..` itself.
            let name = h.as_old_mut().name.as_mut();
            name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            tar.append(&h, *bytes).unwrap();
        }
        tar.into_inner().unwrap()
    }

    #[test]
    fn the_output_is_unpacked_without_its_own_name_and_nothing_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("site");
        let good = tar_of(&[
            ("out", tar::EntryType::Directory, b""),
            ("out/pkg", tar::EntryType::Directory, b""),
            ("out/pkg/__init__.py", tar::EntryType::Regular, b"x = 1\n"),
        ]);
        unpack_output(good.as_slice(), &out).unwrap();
        assert_eq!(
            std::fs::read(out.join("pkg/__init__.py")).unwrap(),
            b"x = 1\n"
        );
        for bad in [
            ("out/../escape", tar::EntryType::Regular),
            ("out/link", tar::EntryType::Symlink),
        ] {
            let tar = tar_of(&[(bad.0, bad.1, b"")]);
            let e = unpack_output(tar.as_slice(), &out).unwrap_err();
            assert!(e.to_string().contains("outside") || e.to_string().contains("Symlink"));
        }
        assert!(!dir.path().join("escape").exists());
    }

    #[test]
    fn the_job_archive_holds_the_workdir_and_the_files_with_their_modes() {
        let files = [JobFile {
            name: "uv".into(),
            bytes: b"#!".to_vec(),
            mode: 0o755,
        }];
        let bytes = job_archive(&files).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let seen: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("strata".to_string(), 0o755),
                ("strata/uv".to_string(), 0o755)
            ]
        );
    }
}
