//! Real Debian images for tests that must run what strata builds, made by `debootstrap
//! --variant=minbase`, trimmed of docs, translations and apt caches, and packed by umoci
//! (ownership, modes and special files preserved) into an OCI layout that strata reads as
//! `--base oci:DIR:TAG`:
//! - [`debian_python_base`]: bookworm with python3, python3-venv and ca-certificates, the base
//!   apps run on;
//! - [`debian_rust_builder`]: bookworm with gcc, libc6-dev and ca-certificates plus the host's
//!   Rust toolchain (rustc, cargo and the host target's standard library) under `/usr/local`,
//!   the builder the generated Rust Dockerfiles compile on (no Docker Hub `rust` image needed);
//! - [`debian_node_base`]: bookworm with Debian's nodejs, the base Node apps run on;
//! - [`debian_python_builder`]: bookworm with python3-dev and gcc, where native sdists compile.
//!
//! debootstrap takes about a minute and a half, so each image is made once per machine and
//! cached under `/var/tmp/strata-test-debian/<suite>-<recipe hash>`: a file lock lets parallel
//! test binaries share one build, and the finished directory appears by an atomic rename. The
//! unpacked rootfs stays next to the layout so tests can chroot into a copy of it and use the
//! base's own python (to make a virtualenv, say). Needs root, debootstrap and umoci: a test skips
//! without them on a developer machine and fails under CI=true.

use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::{have, require, sh, strata_in};

/// Where made bases are kept between test runs.
const CACHE_ROOT: &str = "/var/tmp/strata-test-debian";
const SUITE: &str = "bookworm";
const MIRROR: &str = "http://deb.debian.org/debian";
/// Directories emptied after debootstrap: nothing at run time reads them.
const TRIMMED: &[&str] = &[
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/log",
];
/// The image's `PATH`, as Debian's own images set it (umoci leaves the config empty).
const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Bumped when the steps below change in a way the constants above do not show, so a cache made
/// by the old steps is not reused.
const RECIPE_VERSION: u32 = 1;

/// The tag of the base image in its layout.
pub const TAG: &str = "bookworm";

/// What one kind of made image holds beyond minbase.
struct Recipe {
    /// Debian packages debootstrap installs (`--include`).
    packages: &'static str,
    /// The image's default command.
    cmd: &'static str,
    /// Files added to the trimmed rootfs before packing.
    extra: Option<Extra>,
}

/// Files a [`Recipe`] adds to the rootfs beyond Debian's packages.
struct Extra {
    /// Adds them to the rootfs it is given.
    add: fn(&Path),
    /// Names exactly what they are (it goes into the cache key: other files, another image).
    what: String,
}

/// A made Debian image. Shared by every test on the machine: treat both paths as read-only (use
/// [`DebianImage::copy_rootfs`] to change files).
pub struct DebianImage {
    /// The unpacked root filesystem the image was packed from.
    pub rootfs: PathBuf,
    /// The OCI image layout holding the image, tagged [`TAG`].
    pub layout: PathBuf,
}

impl DebianImage {
    /// The image as a strata (and skopeo) reference: `oci:DIR:TAG`.
    pub fn reference(&self) -> String {
        format!("oci:{}:{TAG}", self.layout.display())
    }

    /// Copies the rootfs to `dest` (which must not exist) with owners, modes and device nodes
    /// kept, for a test that changes files in it, e.g. `chroot DEST python3 -m venv /opt/venv`.
    pub fn copy_rootfs(&self, dest: &Path) {
        sh(&format!(
            "cp -a --reflink=auto '{}' '{}'",
            self.rootfs.display(),
            dest.display()
        ));
    }
}

/// A made Debian + Python base: the image and its Python version.
pub struct DebianBase {
    image: DebianImage,
    /// The base's Python version, `major.minor` (`"3.11"` for bookworm).
    pub python: String,
}

impl Deref for DebianBase {
    type Target = DebianImage;

    fn deref(&self) -> &DebianImage {
        &self.image
    }
}

/// The machine's Debian + Python base, made on first use (the test is skipped, or fails under
/// CI=true, when root, debootstrap or umoci is missing).
pub fn debian_python_base() -> &'static DebianBase {
    static BASE: OnceLock<DebianBase> = OnceLock::new();
    BASE.get_or_init(|| {
        let recipe = Recipe {
            packages: "python3,python3-venv,ca-certificates",
            cmd: "python3",
            extra: None,
        };
        let image = made(&recipe);
        DebianBase {
            python: python_version(&image.rootfs),
            image,
        }
    })
}

/// The machine's Debian + Python + gcc builder (python3-dev, libc6-dev): the image a native
/// sdist is compiled in (`strata build --allow-build --builder`), made on first use like the
/// base.
pub fn debian_python_builder() -> &'static DebianImage {
    static BASE: OnceLock<DebianImage> = OnceLock::new();
    BASE.get_or_init(|| {
        made(&Recipe {
            packages: "python3,python3-dev,gcc,libc6-dev,ca-certificates",
            cmd: "python3",
            extra: None,
        })
    })
}

/// The machine's Debian + Node.js base, made on first use (the test is skipped, or fails under
/// CI=true, when root, debootstrap or umoci is missing).
pub fn debian_node_base() -> &'static DebianImage {
    static BASE: OnceLock<DebianImage> = OnceLock::new();
    BASE.get_or_init(|| {
        made(&Recipe {
            packages: "nodejs,ca-certificates",
            cmd: "node",
            extra: None,
        })
    })
}

/// The machine's Debian + gcc + host Rust toolchain builder, made on first use (the test is
/// skipped, or fails under CI=true, when root, debootstrap, umoci or the host's rustc is missing).
pub fn debian_rust_builder() -> &'static DebianImage {
    static BUILDER: OnceLock<DebianImage> = OnceLock::new();
    BUILDER.get_or_init(|| {
        require(have("rustc"), "the host's Rust toolchain (rustc)");
        let recipe = Recipe {
            packages: "gcc,libc6-dev,ca-certificates",
            cmd: "bash",
            extra: Some(Extra {
                add: add_rust_toolchain,
                what: sh("rustc -vV"),
            }),
        };
        made(&recipe)
    })
}

/// The host's rustc, cargo, their libraries and the host target's standard library and linker,
/// copied under `rootfs/usr/local` (rustc finds its sysroot next to its own binary).
fn add_rust_toolchain(rootfs: &Path) {
    let sysroot = sh("rustc --print sysroot");
    let host = sh("rustc --print host-tuple");
    let (sysroot, host, local) = (sysroot.trim(), host.trim(), rootfs.join("usr/local"));
    let local = local.display();
    sh(&format!(
        "set -e; mkdir -p '{local}/bin' '{local}/lib/rustlib'
         cp -a '{sysroot}/bin/rustc' '{sysroot}/bin/cargo' '{local}/bin/'
         cp -a '{sysroot}'/lib/librustc_driver-*.so '{sysroot}'/lib/libLLVM* '{local}/lib/'
         cp -a '{sysroot}/lib/rustlib/{host}' '{local}/lib/rustlib/'"
    ));
}

/// The image of `recipe`, from the cache or made now (a skip, or a failure under CI=true, when
/// root, debootstrap or umoci is missing).
fn made(recipe: &Recipe) -> DebianImage {
    let root = sh("id -u").trim() == "0";
    require(
        root && have("debootstrap") && have("umoci"),
        "root with debootstrap and umoci (Debian packages)",
    );
    cached_or_made(Path::new(CACHE_ROOT), recipe)
}

/// `<suite>-<hash of everything that decides the image's contents>`.
fn cache_key(recipe: &Recipe) -> String {
    let packages = recipe.packages;
    let mut text = format!("{RECIPE_VERSION} {SUITE} {MIRROR} {packages} {TRIMMED:?} {PATH_ENV}");
    if let Some(extra) = &recipe.extra {
        text.push_str(&format!(" cmd={} extra={}", recipe.cmd, extra.what));
    }
    let digest = super::layout::sha256(text.as_bytes());
    format!("{SUITE}-{}", &digest["sha256:".len()..][..12])
}

/// Returns the cached image under `cache`, making it first (under an exclusive file lock, so one
/// process makes it while the others wait) when it is not there yet.
fn cached_or_made(cache: &Path, recipe: &Recipe) -> DebianImage {
    cached_or_filled(cache, &cache_key(recipe), &|dir| make(dir, recipe))
}

/// The image cached under `cache/key`, made by `fill` (which writes `dir/rootfs` and
/// `dir/layout`) under an exclusive file lock when it is not there yet.
fn cached_or_filled(cache: &Path, key: &str, fill: &dyn Fn(&Path)) -> DebianImage {
    let done = cache.join(key);
    std::fs::create_dir_all(cache).expect("create the Debian base cache");
    let lock = File::create(cache.join(format!("{key}.lock"))).expect("create the lock file");
    lock.lock().expect("lock the Debian base cache");
    if !done.exists() {
        let partial = cache.join(format!("{key}.partial"));
        if partial.exists() {
            // Left by a run that was killed while making the image.
            std::fs::remove_dir_all(&partial).expect("remove a partial Debian base");
        }
        std::fs::create_dir_all(&partial).expect("create the partial Debian base");
        fill(&partial);
        std::fs::rename(&partial, &done).expect("publish the Debian base");
    }
    drop(lock);
    DebianImage {
        rootfs: done.join("rootfs"),
        layout: done.join("layout"),
    }
}

/// Makes `dir/rootfs` with debootstrap and packs it into the layout `dir/layout`.
fn make(dir: &Path, recipe: &Recipe) {
    let rootfs = dir.join("rootfs");
    sh(&format!(
        "debootstrap --variant=minbase --include={} {SUITE} '{}' {MIRROR}",
        recipe.packages,
        rootfs.display()
    ));
    trim(&rootfs);
    if let Some(extra) = &recipe.extra {
        (extra.add)(&rootfs);
    }
    pack(dir, recipe.cmd, None);
}

/// Empties the [`TRIMMED`] directories of `rootfs`.
fn trim(rootfs: &Path) {
    let globs: Vec<String> = TRIMMED.iter().map(|d| format!("{d}/*")).collect();
    sh(&format!(
        "cd '{}' && rm -rf {}",
        rootfs.display(),
        globs.join(" ")
    ));
}

/// Packs `dir/rootfs` into the layout `dir/layout` (tagged [`TAG`], running `cmd`, for
/// `architecture` when it is not the host's).
fn pack(dir: &Path, cmd: &str, architecture: Option<&str>) {
    let (rootfs, layout, bundle) = (dir.join("rootfs"), dir.join("layout"), dir.join("bundle"));
    // umoci packs a bundle's rootfs against the empty image it was unpacked from, so the rootfs
    // goes into an unpacked empty image for the repack and comes back out afterwards.
    let image = format!("{}:{TAG}", layout.display());
    sh(&format!("umoci init --layout '{}'", layout.display()));
    sh(&format!("umoci new --image '{image}'"));
    sh(&format!(
        "umoci unpack --image '{image}' '{}'",
        bundle.display()
    ));
    let packed = bundle.join("rootfs");
    std::fs::remove_dir(&packed).expect("empty image rootfs");
    std::fs::rename(&rootfs, &packed).expect("move the rootfs into the bundle");
    sh(&format!(
        "umoci repack --image '{image}' '{}'",
        bundle.display()
    ));
    std::fs::rename(&packed, &rootfs).expect("move the rootfs out of the bundle");
    std::fs::remove_dir_all(&bundle).expect("remove the bundle");
    let arch = architecture.map_or(String::new(), |a| format!("--architecture {a}"));
    sh(&format!(
        "umoci config --image '{image}' {arch} --config.env '{PATH_ENV}' --config.cmd {cmd}"
    ));
    sh(&format!("umoci gc --layout '{}'", layout.display()));
}

/// The suite of the foreign base: another Python than bookworm's (3.13), so a build on a 3.11
/// host shows the host's Python plays no part.
const FOREIGN_SUITE: &str = "trixie";

/// The machine's Debian arm64 + Python base (trixie's python3, 3.13), made on first use without
/// running anything of arm64: the dependency closure of `python3` downloaded by apt-get for arm64
/// into a private apt state (the host's apt configuration is untouched), each package unpacked
/// by `dpkg-deb -x` (no maintainer scripts run), plus the merged-/usr links Debian's
/// `usrmerge` makes. Runs under `qemu-aarch64-static -L ROOTFS`. The test is skipped, or fails
/// under CI=true, without root, apt-get, dpkg-deb and umoci.
pub fn debian_arm64_python_base() -> &'static DebianBase {
    static BASE: OnceLock<DebianBase> = OnceLock::new();
    BASE.get_or_init(|| {
        let root = sh("id -u").trim() == "0";
        require(
            root && have("apt-get") && have("dpkg-deb") && have("umoci"),
            "root with apt-get, dpkg-deb and umoci (Debian packages)",
        );
        // libstdc++6: numpy's extension modules link it (bookworm's minbase has it for apt).
        let packages = "python3 libstdc++6";
        let text =
            format!("{RECIPE_VERSION} {FOREIGN_SUITE} arm64 {packages} {MIRROR} {TRIMMED:?}");
        let digest = super::layout::sha256(text.as_bytes());
        let key = format!("{FOREIGN_SUITE}-arm64-{}", &digest["sha256:".len()..][..12]);
        let image = cached_or_filled(Path::new(CACHE_ROOT), &key, &|dir| {
            unpack_foreign(dir, "arm64", packages);
            trim(&dir.join("rootfs"));
            pack(dir, "python3", Some("arm64"));
        });
        DebianBase {
            python: python_version(&image.rootfs),
            image,
        }
    })
}

/// Downloads `packages` and their dependency closure for `arch` from [`FOREIGN_SUITE`] into
/// `dir/apt` (apt's own state and cache there) and unpacks them into `dir/rootfs`.
fn unpack_foreign(dir: &Path, arch: &str, packages: &str) {
    let (apt, rootfs) = (dir.join("apt"), dir.join("rootfs"));
    let apt = apt.display();
    sh(&format!(
        "set -e; mkdir -p '{apt}/lists/partial' '{apt}/archives/partial' '{apt}/cache'
         touch '{apt}/status'
         echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {MIRROR} \
           {FOREIGN_SUITE} main' > '{apt}/sources.list'"
    ));
    let options = format!(
        "-q -o Dir::Etc::SourceList='{apt}/sources.list' -o Dir::Etc::SourceParts=/dev/null \
         -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
         -o Dir::State::Lists='{apt}/lists' -o Dir::State::status='{apt}/status' \
         -o Dir::Cache='{apt}/cache' -o Dir::Cache::archives='{apt}/archives' \
         -o APT::Architecture={arch} -o APT::Architectures::={arch} -o Debug::NoLocking=1"
    );
    sh(&format!(
        "set -e; apt-get {options} update >/dev/null
         apt-get {options} install -y -d --no-install-recommends {packages} >/dev/null
         mkdir -p '{root}'
         for deb in '{apt}'/archives/*.deb; do dpkg-deb -x \"$deb\" '{root}'; done
         cd '{root}' && for d in bin sbin lib; do [ -e $d ] || ln -s usr/$d $d; done
         rm -rf '{apt}'",
        root = rootfs.display()
    ));
}

/// `major.minor` from the `usr/bin/python3 -> python3.X` link Debian installs.
fn python_version(rootfs: &Path) -> String {
    let link = rootfs.join("usr/bin/python3");
    let target = std::fs::read_link(&link)
        .unwrap_or_else(|e| panic!("{} is not a symlink: {e}", link.display()));
    let target = target.to_string_lossy();
    target
        .strip_prefix("python")
        .filter(|v| v.contains('.'))
        .unwrap_or_else(|| panic!("{} points to {target}, not python3.X", link.display()))
        .to_string()
}

/// Runs `args` chrooted into `rootfs` with exactly `env`, returning stdout; panics with the
/// output on failure.
pub fn chroot(rootfs: &Path, args: &[&str], env: &[(String, String)]) -> String {
    // By path: the child's PATH (the image's) decides how a bare name would be found.
    let out = Command::new("/usr/sbin/chroot")
        .arg(rootfs)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("run /usr/sbin/chroot");
    assert!(
        out.status.success(),
        "chroot {} {args:?} failed: {}{}",
        rootfs.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An image unpacked by umoci: its process (entrypoint + cmd) and env as umoci's runtime config
/// gives them, and its rootfs.
pub struct Unpacked {
    /// The process's arguments.
    pub args: Vec<String>,
    /// The process's environment.
    pub env: Vec<(String, String)>,
    /// The unpacked root filesystem.
    pub rootfs: PathBuf,
}

/// Unpacks `layout:tag` with umoci into `dir/bundle`.
pub fn unpack(layout: &Path, tag: &str, dir: &Path) -> Unpacked {
    let bundle = dir.join("bundle");
    sh(&format!(
        "umoci unpack --image '{}:{tag}' '{}'",
        layout.display(),
        bundle.display()
    ));
    let runtime: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    let process = &runtime["process"];
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    };
    let env = strings(&process["env"])
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Unpacked {
        args: strings(&process["args"]),
        env,
        rootfs: bundle.join("rootfs"),
    }
}

/// Unpacks `layout:tag` with umoci into `dir/bundle` and runs its process (entrypoint + cmd,
/// with the image's env, as umoci's runtime config gives them) chrooted into the rootfs: returns
/// the process's arguments, its stdout, and the rootfs.
pub fn unpack_and_run(layout: &Path, tag: &str, dir: &Path) -> (Vec<String>, String, PathBuf) {
    let image = unpack(layout, tag, dir);
    let argv: Vec<&str> = image.args.iter().map(String::as_str).collect();
    let out = chroot(&image.rootfs, &argv, &image.env);
    (image.args, out, image.rootfs)
}

/// strata's own binary packaged by itself (the Rust preset, `--no-cargo`) on `base` into the
/// docker-archive `archive`, tagged `reference` (`dir` holds the layer cache).
pub fn strata_image_archive(base: &str, archive: &Path, reference: &str, dir: &Path) {
    let run = strata_in(
        &[
            "build",
            "--preset",
            "rust",
            "--no-cargo",
            "--binary",
            env!("CARGO_BIN_EXE_strata"),
            "--base",
            base,
            "--cache-dir",
            dir.join("cache").to_str().unwrap(),
            "--output",
            &format!("docker-archive:{}:{reference}", archive.display()),
        ],
        &[],
        Some(dir),
    );
    assert_eq!(run.code, 0, "strata build of strata: {}", run.stderr);
}
