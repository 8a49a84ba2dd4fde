//! The Python platform a base image is: its CPU (config), its interpreter's `X.Y` (the
//! `python3.X` in its filesystem) and its C library (glibc's version, or musl), read from the
//! base's layers with no daemon. Wheels are installed for exactly that: uv's
//! `--python-platform` (a manylinux tag floor no newer than the base's glibc) and
//! `--python-version`.

use crate::ecosystem::python::uv_wheel::UvPlatform;
use crate::error::{Error, Result};
use crate::preset::BaseInfo;
use crate::rootfs::base_fs::BaseFs;
use crate::rootfs::libc::Libc;
use crate::source::platform::Platform;
use crate::source::OpenedImage;

/// The manylinux glibc floors uv knows (`x86_64-manylinux_2_XX`), oldest first.
const MANYLINUX_MINORS: [u16; 12] = [17, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40];

/// What wheels a base can load, and the interpreter that loads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The base's platform, from its config.
    pub platform: Platform,
    /// `X.Y` of its interpreter.
    pub python: String,
    /// The interpreter, as an absolute path (`/usr/bin/python3.11`).
    pub interpreter: String,
    /// Its C library.
    pub libc: Libc,
}

/// The base's `python3.X` interpreters in `/usr/local/bin` and `/usr/bin`, as absolute paths,
/// sorted.
pub fn interpreters(base: &BaseFs) -> Vec<String> {
    let mut found: Vec<String> = ["/usr/local/bin", "/usr/bin"]
        .iter()
        .flat_map(|d| {
            base.list(d)
                .into_iter()
                .filter(|n| {
                    n.strip_prefix("python3.")
                        .is_some_and(|v| v.parse::<u32>().is_ok())
                })
                .map(move |n| format!("{d}/{n}"))
        })
        .collect();
    found.sort();
    found
}

/// `X.Y` of an interpreter path (`/usr/bin/python3.11` → `3.11`).
pub fn version_of(interpreter: &str) -> &str {
    interpreter.rsplit_once("/python").map_or("", |(_, v)| v)
}

/// The interpreter `python3` runs on `base` (`/usr/local/bin` first, as `PATH` has it), else the
/// newest `python3.X` there.
fn default_interpreter(base: &BaseFs) -> Option<String> {
    let found = interpreters(base);
    ["/usr/local/bin/python3", "/usr/bin/python3"]
        .iter()
        .filter_map(|p| base.resolve(p))
        .map(|r| format!("/{}", r.trim_start_matches('/')))
        .find(|r| found.contains(r))
        .or_else(|| found.last().cloned())
}

impl Target {
    /// Reads the target of `base`, from what was read of it (`info`: the interpreters, the C
    /// library).
    pub fn read(base: &OpenedImage, info: &BaseInfo) -> Result<Target> {
        let config = &base.image.config;
        let platform = Platform {
            os: config.os.clone(),
            architecture: config.architecture.clone(),
            variant: config.variant.clone(),
        };
        let interpreter = default_interpreter(&info.fs).ok_or_else(|| {
            Error::usage(format!(
                "the base image ({platform}) has no python3 interpreter (looked for python3.X in \
                 /usr/local/bin and /usr/bin); pick a base with Python"
            ))
        })?;
        let libc = info.libc.ok_or_else(|| {
            Error::usage(format!(
                "the base image ({platform}) has no C library (no libc.so.6, no ld-musl) that \
                 Python wheels could load"
            ))
        })?;
        Ok(Target {
            platform,
            python: version_of(&interpreter).to_string(),
            interpreter,
            libc,
        })
    }

    /// uv's `--python-platform` for this target: `x86_64-manylinux_2_36` for glibc 2.36 (the
    /// newest floor uv knows that the base's glibc meets), `aarch64-unknown-linux-musl` for musl.
    pub fn uv_platform(&self) -> Result<String> {
        let arch = match (
            self.platform.architecture.as_str(),
            self.platform.os.as_str(),
        ) {
            ("amd64", "linux") => "x86_64",
            ("arm64", "linux") => "aarch64",
            _ => {
                return Err(Error::usage(format!(
                    "installing wheels for {} is not supported (linux/amd64 and linux/arm64 are)",
                    self.platform
                )))
            }
        };
        match self.libc {
            Libc::Musl => Ok(format!("{arch}-unknown-linux-musl")),
            Libc::Glibc(v) => {
                let [major, minor, _] = v.0;
                let floor = MANYLINUX_MINORS
                    .iter()
                    .rev()
                    .find(|m| major > 2 || (major == 2 && **m <= minor));
                match floor {
                    Some(m) => Ok(format!("{arch}-manylinux_2_{m}")),
                    None => Err(Error::usage(format!(
                        "the base's glibc {major}.{minor} is older than manylinux2014's 2.17: \
                         no wheel on PyPI targets it; pick a newer base"
                    ))),
                }
            }
        }
    }

    /// Which uv binary runs on this target (a builder container's uv).
    pub fn uv_binary_platform(&self) -> Result<UvPlatform> {
        let tag = self.uv_platform()?;
        Ok(UvPlatform {
            arch: tag.split('-').next().unwrap_or_default().to_string(),
            libc: match self.libc {
                Libc::Musl => "musllinux",
                Libc::Glibc(_) => "manylinux",
            },
        })
    }

    /// The platform, Python and C library in one line, for notes and errors.
    pub fn describe(&self) -> String {
        let libc = match self.libc {
            Libc::Glibc(v) => format!("glibc {}.{}", v.0[0], v.0[1]),
            Libc::Musl => "musl".into(),
        };
        format!("{} python {} {libc}", self.platform, self.python)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::elf::GlibcVersion;
    use crate::rootfs::base_fs::tests::{debian, file, stacked};

    fn target(arch: &str, libc: Libc) -> Target {
        Target {
            platform: Platform::parse(&format!("linux/{arch}")).unwrap(),
            python: "3.11".into(),
            interpreter: "/usr/bin/python3.11".into(),
            libc,
        }
    }

    #[test]
    fn the_manylinux_floor_is_the_newest_the_glibc_meets() {
        let glibc = |minor| Libc::Glibc(GlibcVersion([2, minor, 0]));
        let platform = |arch, libc| target(arch, libc).uv_platform().unwrap();
        assert_eq!(platform("amd64", glibc(36)), "x86_64-manylinux_2_36");
        assert_eq!(platform("arm64", glibc(41)), "aarch64-manylinux_2_40");
        assert_eq!(platform("amd64", glibc(30)), "x86_64-manylinux_2_28");
        assert_eq!(platform("arm64", Libc::Musl), "aarch64-unknown-linux-musl");
        assert!(target("amd64", glibc(12)).uv_platform().is_err());
        let e = target("s390x", glibc(36)).uv_platform().unwrap_err();
        assert!(e.to_string().contains("linux/s390x"), "{e}");
    }

    #[test]
    fn the_interpreter_is_the_one_python3_runs() {
        let fs = stacked(&[&debian()]);
        assert_eq!(
            default_interpreter(&fs).as_deref(),
            Some("/usr/bin/python3.11")
        );
        let two = stacked(&[&[file("usr/bin/python3.13"), file("usr/local/bin/python3.12")]]);
        assert_eq!(
            default_interpreter(&two).as_deref(),
            Some("/usr/local/bin/python3.12")
        );
        assert_eq!(version_of("/usr/bin/python3.13"), "3.13");
    }
}
