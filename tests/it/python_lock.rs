//! Python images from the lockfile, for any platform: a real uv project (numpy: platform wheels;
//! requests: pure) built with no venv on the host for linux/amd64 (Debian bookworm, Python 3.11)
//! and linux/arm64 (Debian trixie from Debian's arm64 packages, Python 3.13 — not the host's
//! 3.11) in one run, into an image index. Oracles: skopeo (`inspect --raw`, `copy --all`), the
//! amd64 image run chrooted, the arm64 one under `qemu-aarch64-static -L ROOTFS`, and a loopback
//! registry's access log for what a code change and a changed pin push. Wheels are cached under
//! /var/tmp (uv's cache), the bases under /var/tmp/strata-test-debian.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::debian::{
    chroot, debian_arm64_python_base, debian_python_base, debian_python_builder, DebianImage, TAG,
};
use crate::support::layout::{blob_path, write_platform_index, Written};
use crate::support::registry::{self, Registry};
use crate::support::uv::{uv, uv_in, UV_VERSION};
use crate::support::{fresh_dir, have, require, sh, strata_in, write, Run};

/// uv's wheel cache, shared by runs on this machine (numpy's wheels are downloaded once).
const UV_CACHE: &str = "/var/tmp/strata-test-tools/uv-cache";

/// The uv project: numpy (platform wheels) and requests (pure, with its pure and platform
/// dependencies), an app that imports both.
fn project(dir: &Path) -> PathBuf {
    let p = dir.join("hello");
    write(
        &p,
        "pyproject.toml",
        "[project]\nname = \"hello\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\n\
         dependencies = [\"numpy==2.2.6\", \"requests==2.32.3\"]\n",
    );
    write(
        &p,
        "app.py",
        "import sys, numpy, requests\nprint('hello', sys.version_info[:2], numpy.__version__, \
         int(numpy.arange(4).sum()), requests.__version__)\n",
    );
    uv_in(&p, "lock --quiet");
    p
}

/// The environment strata (and the uv it runs) get: the machine's CA bundle, the shared cache.
fn env() -> Vec<(&'static str, PathBuf)> {
    vec![
        ("UV_CACHE_DIR", PathBuf::from(UV_CACHE)),
        (
            "SSL_CERT_FILE",
            PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
        ),
        ("UV_NATIVE_TLS", PathBuf::from("1")),
    ]
}

/// `strata build` of `project` with `args`, the test's uv and cache.
fn build(project: &Path, cache: &Path, args: &[&str]) -> Run {
    let uv = uv();
    let cache = cache.display().to_string();
    let mut all = vec![
        "build",
        "--installer",
        uv.to_str().unwrap(),
        "--cache-dir",
        &cache,
    ];
    all.extend_from_slice(args);
    let env = env();
    let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    strata_in(&all, &env, Some(project))
}

/// The manifest digest of `layout`'s [`TAG`].
fn tagged(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"]
        .as_str()
        .expect("a tagged manifest")
        .to_string()
}

/// One layout holding both bases, tagged `multi` as an index over them (what a multi-platform
/// base looks like).
fn two_platform_base(dir: &Path, amd64: &DebianImage, arm64: &DebianImage) -> String {
    let layout = dir.join("base");
    sh(&format!(
        "mkdir -p '{0}/blobs/sha256' && cp -a '{1}'/blobs/sha256/. '{2}'/blobs/sha256/. \
         '{0}/blobs/sha256/' && cp '{1}/oci-layout' '{0}/'",
        layout.display(),
        amd64.layout.display(),
        arm64.layout.display()
    ));
    let written = |l: &Path| Written {
        manifest_digest: tagged(l),
        layer_digests: Vec::new(),
        diff_ids: Vec::new(),
        config_digest: String::new(),
    };
    write_platform_index(
        &layout,
        "multi",
        &[
            ("linux/amd64", &written(&amd64.layout)),
            ("linux/arm64", &written(&arm64.layout)),
        ],
    );
    format!("oci:{}:multi", layout.display())
}

/// A JSON document of a blob in `layout`.
fn blob_json(layout: &Path, digest: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(blob_path(layout, digest)).unwrap()).unwrap()
}

/// Per platform (`amd64`): the manifest of the image index `oci:layout:tag`, read with skopeo.
fn platform_manifests(layout: &Path, tag: &str) -> BTreeMap<String, serde_json::Value> {
    let raw = sh(&format!("skopeo inspect --raw oci:{}:{tag}", layout.display()));
    let index: serde_json::Value = serde_json::from_str(&raw).expect("skopeo's raw index");
    assert_eq!(
        index["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{raw}"
    );
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let arch = m["platform"]["architecture"].as_str().unwrap().to_string();
            (arch, blob_json(layout, m["digest"].as_str().unwrap()))
        })
        .collect()
}

/// The digests of the layers strata added above `base_layers` base layers, with the names the
/// build gave them (from the config's history).
fn new_layers(
    layout: &Path,
    manifest: &serde_json::Value,
    base_layers: usize,
) -> BTreeMap<String, (String, u64)> {
    let config = blob_json(layout, manifest["config"]["digest"].as_str().unwrap());
    let names: Vec<String> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["empty_layer"].as_bool() != Some(true))
        .skip(base_layers)
        .map(|h| {
            let by = h["created_by"].as_str().unwrap();
            by.split_whitespace().nth(3).unwrap().to_string()
        })
        .collect();
    let layers = manifest["layers"].as_array().unwrap();
    names
        .into_iter()
        .zip(&layers[base_layers..])
        .map(|(n, l)| {
            let d = l["digest"].as_str().unwrap().to_string();
            (n, (d, l["size"].as_u64().unwrap()))
        })
        .collect()
}

/// Unpacks the layers of `manifest` above the base onto a copy of `base`'s rootfs at `dest`.
fn unpack_onto(base: &DebianImage, layout: &Path, manifest: &serde_json::Value, dest: &Path) {
    base.copy_rootfs(dest);
    let base_layers = blob_json(&base.layout, &tagged(&base.layout))["layers"]
        .as_array()
        .unwrap()
        .len();
    for layer in &manifest["layers"].as_array().unwrap()[base_layers..] {
        let blob = blob_path(layout, layer["digest"].as_str().unwrap());
        sh(&format!(
            "tar -xzf '{}' -C '{}'",
            blob.display(),
            dest.display()
        ));
    }
}

/// The blobs the registry was sent (`PUT …?digest=`), in log order.
fn uploaded(registry: &Registry) -> BTreeSet<String> {
    registry
        .log()
        .lines()
        .filter(|l| l.contains("\"PUT /v2/") && l.contains("/blobs/uploads/"))
        .filter_map(|l| {
            let at = l.find("digest=sha256")? + "digest=".len();
            let rest = l[at..].replace("%3A", ":");
            Some(rest[..rest.find([' ', '&', '"'])?].to_string())
        })
        .collect()
}

fn builds_an_index_for_two_platforms_from_the_lockfile() {
    require(
        have("skopeo") && have("qemu-aarch64-static") && registry::Registry::installed(),
        "skopeo, qemu-user-static and docker-registry (Debian packages)",
    );
    let (amd64, arm64) = (debian_python_base(), debian_arm64_python_base());
    assert_eq!(amd64.python, "3.11");
    assert_eq!(arm64.python, "3.13", "the arm64 base's Python differs from the host's");
    let dir = fresh_dir("python_lock");
    let base = two_platform_base(&dir, amd64, arm64);
    let project = project(&dir);
    let (cache, out) = (dir.join("cache"), dir.join("out"));
    let registry = Registry::start(None);
    let push = |tag: &str| format!("docker://{}/team/hello:{tag}", registry.host);
    let platforms = "linux/amd64,linux/arm64";
    // Both platforms to the layout `out` as `tag`, and to the registry when `pushed`.
    let both = |tag: &str, pushed: bool| {
        let layout = format!("oci:{}:{tag}", out.display());
        let mut args = vec!["--base", &base, "--platform", platforms, "--output", &layout];
        let pushed_to = push(tag);
        if pushed {
            args.extend(["--output", &pushed_to]);
        }
        build(&project, &cache, &args)
    };
    let started = std::time::Instant::now();
    let first = both("v1", true);
    assert_eq!(first.code, 0, "{}", first.stderr);
    eprintln!("two-platform build: {:.1?}", started.elapsed());
    for needle in [
        "linux/amd64 python 3.11 glibc 2.36",
        "linux/arm64 python 3.13 glibc 2.41",
        "aarch64-manylinux_2_40",
    ] {
        assert!(first.stderr.contains(needle), "{needle}: {}", first.stderr);
    }

    // skopeo reads the index and copies every platform.
    let manifests = platform_manifests(&out, "v1");
    assert_eq!(
        manifests.keys().collect::<Vec<_>>(),
        ["amd64", "arm64"],
        "{manifests:?}"
    );
    sh(&format!(
        "skopeo copy --quiet --all oci:{}:v1 oci:{}:copied",
        out.display(),
        dir.join("copied").display()
    ));
    let base_count = |b: &DebianImage| {
        blob_json(&b.layout, &tagged(&b.layout))["layers"]
            .as_array()
            .unwrap()
            .len()
    };
    let layers_amd = new_layers(&out, &manifests["amd64"], base_count(amd64));
    let layers_arm = new_layers(&out, &manifests["arm64"], base_count(arm64));
    assert_eq!(
        layers_amd.keys().collect::<Vec<_>>(),
        ["app", "deps", "deps-pure", "venv"],
        "{layers_amd:?}"
    );
    assert_eq!(
        layers_amd["deps-pure"], layers_arm["deps-pure"],
        "pure wheels: one blob for both platforms"
    );
    assert_eq!(layers_amd["app"], layers_arm["app"], "the code layer is shared");
    assert_ne!(layers_amd["deps"], layers_arm["deps"], "numpy differs per platform");
    // strata report of the index lists exactly those two blobs as shared, with their places.
    let layout = format!("oci:{}:v1", out.display());
    let run = crate::support::strata(&["report", &layout, "--all-platforms", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let across = &report["layers_across_platforms"];
    let shared: BTreeSet<&str> = across["shared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = [&layers_amd["deps-pure"].0, &layers_amd["app"].0]
        .into_iter()
        .map(String::as_str)
        .collect();
    assert_eq!(shared, expected, "{across}");
    assert_eq!(across["distinct_layers"], across["layers"].as_u64().unwrap() - 2);
    let table = crate::support::strata(&["report", &layout, "--all-platforms"]).stdout;
    assert!(table.contains("Layers across platforms"), "{table}");

    // amd64 runs chrooted, arm64 under qemu-user: both import numpy and requests.
    let amd_root = dir.join("amd64-rootfs");
    unpack_onto(amd64, &out, &manifests["amd64"], &amd_root);
    let ran = chroot(
        &amd_root,
        &["/app/.venv/bin/python", "/app/app.py"],
        &[("PATH".into(), "/app/.venv/bin:/usr/bin:/bin".into())],
    );
    assert!(ran.contains("hello (3, 11) 2.2.6 6 2.32.3"), "{ran}");
    let arm_root = dir.join("arm64-rootfs");
    unpack_onto(arm64, &out, &manifests["arm64"], &arm_root);
    // qemu-user looks absolute paths up under -L first, so the image's own paths work; the
    // venv's site-packages is added as its pyvenv.cfg would (bin/python links to the base's
    // interpreter by an absolute path, which the host's kernel would resolve on the host).
    let root = arm_root.display();
    let ran = sh(&format!(
        "qemu-aarch64-static -L '{root}' '{root}/usr/bin/python3' -c \"import site, runpy; \
         site.addsitedir('/app/.venv/lib/python3.13/site-packages'); \
         runpy.run_path('/app/app.py', run_name='__main__')\""
    ));
    assert!(ran.contains("hello (3, 13) 2.2.6 6 2.32.3"), "{ran}");

    // The same inputs again: nothing new is written.
    let again = build(
        &project,
        &cache,
        &["--base", &base, "--platform", platforms, "--format", "json", "--output", &push("v1")],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["outputs"][0]["uploaded"], 0, "{}", again.stdout);

    // A one-line code change pushes the app layer (one blob for both platforms) and configs.
    write(&project, "app.py", &(std::fs::read_to_string(project.join("app.py")).unwrap() + "# v2\n"));
    let before = uploaded(&registry);
    let v2 = both("v2", true);
    assert_eq!(v2.code, 0, "{}", v2.stderr);
    let sent: BTreeSet<String> = uploaded(&registry).difference(&before).cloned().collect();
    let m2 = platform_manifests(&out, "v2");
    let v2_amd = new_layers(&out, &m2["amd64"], base_count(amd64));
    let v2_arm = new_layers(&out, &m2["arm64"], base_count(arm64));
    let mut expected: BTreeSet<String> = [&v2_amd["app"].0, &v2_arm["app"].0]
        .into_iter()
        .cloned()
        .collect();
    for m in m2.values() {
        expected.insert(m["config"]["digest"].as_str().unwrap().to_string());
    }
    assert_eq!(sent, expected, "only the app layers and configs are pushed");
    let bytes: u64 = v2_amd["app"].1
        + m2.values()
            .map(|m| m["config"]["size"].as_u64().unwrap())
            .sum::<u64>();
    assert!(bytes < 100_000, "{bytes} bytes pushed for a one-line change");
    for name in ["deps", "deps-pure", "venv"] {
        assert_eq!(v2_amd[name], layers_amd[name], "{name} unchanged");
        assert_eq!(v2_arm[name], layers_arm[name], "{name} unchanged");
    }

    // A changed pin of a pure distribution rebuilds the pure layer only.
    let pyproject = std::fs::read_to_string(project.join("pyproject.toml")).unwrap();
    write(&project, "pyproject.toml", &pyproject.replace("requests==2.32.3", "requests==2.32.4"));
    uv_in(&project, "lock --quiet");
    let v3 = both("v3", false);
    assert_eq!(v3.code, 0, "{}", v3.stderr);
    let m3 = platform_manifests(&out, "v3");
    let v3_amd = new_layers(&out, &m3["amd64"], base_count(amd64));
    let v3_arm = new_layers(&out, &m3["arm64"], base_count(arm64));
    assert_ne!(v3_amd["deps-pure"], v2_amd["deps-pure"]);
    assert_eq!(v3_amd["deps-pure"], v3_arm["deps-pure"]);
    assert_eq!(v3_amd["deps"], v2_amd["deps"], "numpy's layer is kept");
    assert_eq!(v3_arm["deps"], v2_arm["deps"], "numpy's layer is kept");
}

/// A requirements project on the amd64 base, built for it from `requirements` (the lockfile).
fn requirements_build(area: &str, requirements: &str, extra_env: &[(&str, &str)]) -> Run {
    let base = debian_python_base();
    let dir = fresh_dir(area);
    let p = dir.join("app");
    write(&p, "requirements.txt", requirements);
    write(&p, "main.py", "print('hi')\n");
    let uv = uv();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(["build", "--installer"])
        .arg(&uv)
        .args(["--cache-dir"])
        .arg(dir.join("cache"))
        .args(["--base", &base.reference(), "--output"])
        .arg(format!("oci:{}:v1", dir.join("out").display()))
        .current_dir(&p)
        .env("NO_COLOR", "1");
    for (k, v) in env() {
        cmd.env(k, v);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run strata");
    assert!(!dir.join("out").exists(), "nothing is written on failure");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn an_sdist_only_dependency_is_named_with_the_platform_and_the_options() {
    let run = requirements_build("python_lock_sdist", "sgmllib3k==1.0.0\n", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for needle in ["sgmllib3k==1.0.0", "linux/amd64", "pin a version", "--allow-build"] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
}

/// Builder containers the engine has, or images tagged `strata-builder` (what a build left).
fn builder_leftovers() -> String {
    sh("docker ps -aq --filter label=strata.builder; docker images -q strata-builder")
}

/// Held by each test that runs builder containers, for all of it: what [`builder_leftovers`]
/// finds is then the test's own.
static BUILDERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Waits for the other builder tests (a failed one does not poison the others).
fn builders_alone() -> std::sync::MutexGuard<'static, ()> {
    BUILDERS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn an_sdist_only_dependency_is_built_in_a_container_for_each_platform() {
    crate::support::images::docker_ready();
    let _alone = builders_alone();
    require(
        std::path::Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists(),
        "qemu-aarch64 registered with binfmt_misc (`make deps` as root)",
    );
    let (amd64, arm64) = (debian_python_base(), debian_arm64_python_base());
    let dir = fresh_dir("python_lock_allow_build");
    let base = two_platform_base(&dir, amd64, arm64);
    let p = dir.join("app");
    // sgmllib3k publishes an sdist only (pure Python, setuptools); six has a wheel.
    write(&p, "requirements.txt", "sgmllib3k==1.0.0\nsix==1.17.0\n");
    write(&p, "main.py", "print('ok')\n");
    let out = dir.join("out");
    let layout = format!("oci:{}:v1", out.display());
    // No --platform: a lockfile build makes every platform of an index base.
    let args = ["--base", &base, "--allow-build", "--output", &layout];
    let run = build(&p, &dir.join("cache"), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("built from source in the base image: sgmllib3k==1.0.0").count(),
        2,
        "{}",
        run.stderr
    );
    assert_eq!(builder_leftovers().trim(), "", "no container or builder tag is left");
    let manifests = platform_manifests(&out, "v1");
    let import = "import sgmllib, six; print(sgmllib.SGMLParser.__name__, six.__version__)";
    let pure = "/app/.venv/lib/pure/site-packages";

    // The image's own Python imports the module built from the sdist: amd64 chrooted...
    let root = dir.join("amd64-rootfs");
    unpack_onto(amd64, &out, &manifests["amd64"], &root);
    let said = sh(&format!(
        "chroot '{}' /app/.venv/bin/python -c '{import}'",
        root.display()
    ));
    assert_eq!(said.trim(), "SGMLParser 1.17.0");
    assert!(root.join(&pure[1..]).join("sgmllib.py").is_file());
    // ...and arm64 under qemu-user, its Python 3.13.
    let root = dir.join("arm64-rootfs");
    unpack_onto(arm64, &out, &manifests["arm64"], &root);
    let r = root.display();
    let said = sh(&format!(
        "qemu-aarch64-static -L '{r}' '{r}/usr/bin/python3' -c \"import site; \
         site.addsitedir('/app/.venv/lib/python3.13/site-packages'); {import}\""
    ));
    assert_eq!(said.trim(), "SGMLParser 1.17.0");

    // A rebuild with the same lock, platforms (named this time) and builder runs no container.
    let since = sh("date +%s").trim().to_string();
    let layout = format!("oci:{}:v2", out.display());
    let platforms = ["--platform", "linux/amd64,linux/arm64"];
    let again = [&args[..3], &platforms, &["--output", &layout]].concat();
    let run = build(&p, &dir.join("cache"), &again);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let created = sh(&format!(
        "docker events --since {since} --until $(date +%s) --filter type=container \
         --filter event=create --format '{{{{.ID}}}}'"
    ));
    assert_eq!(created.trim(), "", "the rebuild created containers");
    let rebuilt = platform_manifests(&out, "v2");
    for arch in ["amd64", "arm64"] {
        assert_eq!(rebuilt[arch]["layers"], manifests[arch]["layers"], "{arch}");
    }
}

fn a_native_sdist_builds_in_the_builder_image_given() {
    crate::support::images::docker_ready();
    let _alone = builders_alone();
    let (base, builder) = (debian_python_base(), debian_python_builder());
    let dir = fresh_dir("python_lock_builder");
    let p = dir.join("app");
    // python-Levenshtein 0.12.2: an sdist only, a C extension.
    write(&p, "requirements.txt", "python-Levenshtein==0.12.2\n");
    write(&p, "main.py", "print('ok')\n");
    let out = dir.join("out");
    let layout = format!("oci:{}:v1", out.display());
    let reference = base.reference();
    let args = ["--base", &reference, "--allow-build", "--output", &layout];
    // The base has no compiler: the build's own error says so, with the way out.
    let run = build(&p, &dir.join("cache"), &args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for needle in ["python-levenshtein==0.12.2", "gcc", "--builder IMAGE"] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert!(!out.exists(), "nothing is written on failure");
    let builder = builder.reference();
    let with_builder = [&args[..3], &["--builder", &builder], &args[3..]].concat();
    let run = build(&p, &dir.join("cache"), &with_builder);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(builder_leftovers().trim(), "", "no container or builder tag is left");
    // The base's own Python loads the extension compiled in the builder and runs it.
    let manifest = blob_json(&out, &tagged(&out));
    let root = dir.join("rootfs");
    unpack_onto(base, &out, &manifest, &root);
    let said = sh(&format!(
        "chroot '{}' /app/.venv/bin/python -c \"import Levenshtein; \
         print(Levenshtein.__file__.endswith('.py'), Levenshtein.distance('kitten', 'sitting'))\"",
        root.display()
    ));
    assert_eq!(said.trim(), "True 3");
}

fn an_unreachable_index_is_exit_3_with_its_url() {
    let run = requirements_build(
        "python_lock_index",
        "six==1.17.0\n",
        &[
            ("UV_INDEX_URL", "http://127.0.0.1:9/simple"),
            ("UV_HTTP_RETRIES", "0"),
            ("UV_NO_CACHE", "1"),
        ],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("http://127.0.0.1:9/simple"), "{}", run.stderr);
}

fn a_hash_edited_by_hand_is_refused() {
    let wrong = "0".repeat(64);
    let run = requirements_build(
        "python_lock_hash",
        &format!("six==1.17.0 --hash=sha256:{wrong}\n"),
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("six==1.17.0") && run.stderr.contains("edited by hand"),
        "{}",
        run.stderr
    );
}

fn the_lockfile_comes_first_and_a_venv_of_another_python_is_refused() {
    let base = debian_arm64_python_base();
    let dir = fresh_dir("python_lock_venv");
    let p = dir.join("app");
    crate::support::python::write_six_venv(&p);
    write(&p, "main.py", "print('hi')\n");
    write(&p, "requirements.txt", "six==1.17.0\n");
    let (cache, base) = (dir.join("cache"), format!("oci:{}:{TAG}", base.layout.display()));
    let out = format!("oci:{}:v1", dir.join("out").display());
    let args = ["--preset", "python", "--base", &base, "--output", &out];
    // The host's venv (Python 3.11) is there, but the lockfile says what the image holds.
    let locked = build(&p, &cache, &args);
    assert_eq!(locked.code, 0, "{}", locked.stderr);
    assert!(
        locked.stderr.contains("requirements.txt for linux/arm64 python 3.13"),
        "{}",
        locked.stderr
    );
    let mut with_venv = args.to_vec();
    with_venv.extend(["--venv", ".venv"]);
    let run = build(&p, &cache, &with_venv);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("Python 3.11.2") && run.stderr.contains("Python 3.13"),
        "{}",
        run.stderr
    );
}

/// The pinned uv's wheel for this machine as PyPI's JSON API lists it (the project's JSON: this
/// machine's PyPI answers 404 for the per-version one), fetched and unpacked with
/// python3 (urllib, zipfile), not strata: prints the wheel's listed sha256 after checking the
/// download against it, then the sha256 of the `uv` binary inside.
const PYPI_UV: &str = r#"
import hashlib, io, json, platform, sys, urllib.parse, urllib.request, zipfile
version = sys.argv[1]
page = "https://pypi.org/pypi/uv/json"
meta = json.load(urllib.request.urlopen(page))
arch = platform.machine()
wheel = next(u for u in meta["releases"][version] if u["filename"].endswith(".whl")
             and any(t.startswith("manylinux") and t.endswith(arch)
                     for t in u["filename"][:-4].split("-")[-1].split(".")))
data = urllib.request.urlopen(urllib.parse.urljoin(page, wheel["url"])).read()
assert hashlib.sha256(data).hexdigest() == wheel["digests"]["sha256"]
binary = zipfile.ZipFile(io.BytesIO(data)).read(f"uv-{version}.data/scripts/uv")
print(wheel["digests"]["sha256"], hashlib.sha256(binary).hexdigest())
"#;

/// `PATH` without uv: the system's directories (the test's uv lives under /var/tmp).
const NO_UV_PATH: &str = "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A requirements project (six) built on the amd64 base with no `--installer` and no uv on
/// `PATH`, the index being `index` (PyPI when `None`).
fn build_without_uv(dir: &Path, index: Option<&str>) -> Run {
    require(
        !NO_UV_PATH.split(':').any(|d| Path::new(d).join("uv").exists()),
        "no uv in the system's PATH directories",
    );
    let base = debian_python_base();
    let p = dir.join("app");
    write(&p, "requirements.txt", "six==1.17.0\n");
    write(&p, "main.py", "import six\n");
    let (base, out) = (base.reference(), format!("oci:{}:v1", dir.join("out").display()));
    let cache = dir.join("cache").display().to_string();
    let args = ["build", "--preset", "python", "--cache-dir", &cache, "--base", &base, "--output", &out];
    let mut env = env();
    env.push(("PATH", PathBuf::from(NO_UV_PATH)));
    if let Some(index) = index {
        env.push(("UV_DEFAULT_INDEX", PathBuf::from(index)));
    }
    let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    strata_in(&args, &env, Some(&p))
}

/// Where strata's cache under `dir` keeps the pinned uv.
fn cached_uv(dir: &Path) -> PathBuf {
    dir.join(format!("cache/tools/uv-{UV_VERSION}/uv"))
}

fn the_pinned_uv_is_installed_from_pypi_when_there_is_none() {
    let dir = fresh_dir("python_lock_uv_install");
    let run = build_without_uv(&dir, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cached = cached_uv(&dir);
    let (version, _) = sh(&format!("'{}' --version", cached.display()))
        .trim()
        .strip_prefix("uv ")
        .and_then(|v| v.split_once(' '))
        .map(|(v, rest)| (v.to_string(), rest.to_string()))
        .expect("uv VERSION (TARGET)");
    assert_eq!(version, UV_VERSION);
    let oracle = sh(&format!("python3 -c '{}' {UV_VERSION}", PYPI_UV.replace('\'', "'\\''")));
    let binary_sha = oracle.split_whitespace().nth(1).expect("two digests").to_string();
    let ours = sh(&format!("sha256sum '{}'", cached.display()));
    assert_eq!(ours.split_whitespace().next(), Some(binary_sha.as_str()), "{oracle}");
    let mode = std::fs::metadata(&cached).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o755);
}

/// A static index (PEP 503 HTML, `python3 -m http.server`) serving files of projects, each
/// listed with the sha256 given for it; the server is stopped on drop.
struct StaticIndex {
    url: String,
    server: std::process::Child,
}

/// A file a [`StaticIndex`] serves: its project, its name, its bytes, the sha256 hex listed.
struct Served<'a> {
    project: &'a str,
    name: String,
    bytes: Vec<u8>,
    listed: String,
}

impl StaticIndex {
    fn start(dir: &Path, files: &[Served]) -> StaticIndex {
        let root = dir.join("index");
        std::fs::create_dir_all(root.join("files")).unwrap();
        for f in files {
            std::fs::write(root.join("files").join(&f.name), &f.bytes).unwrap();
            let (name, hex) = (&f.name, &f.listed);
            write(
                &root.join("simple").join(f.project),
                "index.html",
                &format!("<html><body><a href=\"../../files/{name}#sha256={hex}\">{name}</a></body></html>\n"),
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = std::process::Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "-d"])
            .arg(&root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let url = format!("http://127.0.0.1:{port}/simple");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        StaticIndex { url, server }
    }

    /// An index listing a uv wheel whose bytes are not the ones its sha256 names.
    fn tampered(dir: &Path) -> StaticIndex {
        let arch = std::env::consts::ARCH;
        let listed = crate::support::layout::sha256(b"the wheel the index lists");
        let served = Served {
            project: "uv",
            name: format!("uv-{UV_VERSION}-py3-none-manylinux_2_17_{arch}.manylinux2014_{arch}.whl"),
            bytes: b"not the wheel the index lists".to_vec(),
            listed: listed["sha256:".len()..].to_string(),
        };
        StaticIndex::start(dir, &[served])
    }
}

impl Drop for StaticIndex {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn a_tampered_uv_wheel_or_an_unreachable_index_installs_nothing() {
    require(have("python3"), "python3 (its http.server serves the index)");
    let dir = fresh_dir("python_lock_uv_tampered");
    let index = StaticIndex::tampered(&dir);
    let run = build_without_uv(&dir, Some(&index.url));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("sha256") && run.stderr.contains("refused"), "{}", run.stderr);
    let tools = dir.join("cache/tools");
    let left: Vec<_> = walk_files(&tools);
    assert!(left.is_empty(), "nothing is written to the cache: {left:?}");
    drop(index);
    let run = build_without_uv(&dir, Some("http://127.0.0.1:9/simple"));
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("http://127.0.0.1:9/simple/uv/"), "{}", run.stderr);
    assert!(!cached_uv(&dir).exists());
}

/// Every file below `dir` (none when it does not exist).
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                pending.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// The first eight bytes of the `.pyc` of `module` (a file of site-packages `dir`) for
/// `CPython tag` under `rootfs`: the magic number and the flags word.
fn pyc_header(rootfs: &Path, dir: &str, module: &str, tag: &str) -> (Vec<u8>, u32) {
    let (package, file) = module.rsplit_once('/').unwrap();
    let stem = file.trim_end_matches(".py");
    let pyc = rootfs.join(format!(
        "{}/{package}/__pycache__/{stem}.{tag}.pyc",
        dir.trim_start_matches('/')
    ));
    let bytes = std::fs::read(&pyc).unwrap_or_else(|e| panic!("{}: {e}", pyc.display()));
    (bytes[..4].to_vec(), u32::from_le_bytes(bytes[4..8].try_into().unwrap()))
}

fn compiled_bytecode_is_used_by_the_image_python_and_rebuilds_identically() {
    require(have("qemu-aarch64-static"), "qemu-user-static (Debian package)");
    let (amd64, arm64) = (debian_python_base(), debian_arm64_python_base());
    let dir = fresh_dir("python_lock_bytecode");
    let base = two_platform_base(&dir, amd64, arm64);
    let project = project(&dir);
    let out = dir.join("out");
    // Two builds with their own layer caches: the second compiles again from scratch.
    let built = |cache: &str, tag: &str| {
        let layout = format!("oci:{}:{tag}", out.display());
        let args = [
            "--base",
            &base,
            "--platform",
            "linux/amd64,linux/arm64",
            "--compile-bytecode",
            "--output",
            &layout,
        ];
        let run = build(&project, &dir.join(cache), &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        platform_manifests(&out, tag)
    };
    let first = built("cache1", "v1");
    let second = built("cache2", "v2");
    for arch in ["amd64", "arm64"] {
        let layers = |m: &serde_json::Value| m["layers"].clone();
        assert_eq!(
            layers(&first[arch]),
            layers(&second[arch]),
            "{arch}: a rebuild gives the same layers"
        );
    }

    // amd64, chrooted: the image's python imports requests (pure) and numpy (platform wheel)
    // from the shipped checked-hash .pyc, whose magic number is its own.
    let amd_root = dir.join("amd64-rootfs");
    unpack_onto(amd64, &out, &first["amd64"], &amd_root);
    let root = amd_root.display();
    let verbose = sh(&format!(
        "chroot '{root}' /app/.venv/bin/python -v -c 'import requests, numpy' 2>&1"
    ));
    let pure = "/app/.venv/lib/pure/site-packages";
    let native = "/app/.venv/lib/python3.11/site-packages";
    for source in [format!("{pure}/requests/__init__.py"), format!("{native}/numpy/__init__.py")] {
        assert!(verbose.contains(&format!(" matches {source}")), "{source}: {verbose}");
        assert!(!verbose.contains(&format!("code object from {source}")), "{verbose}");
    }
    let magic = sh(&format!(
        "chroot '{root}' /usr/bin/python3 -c 'import importlib.util, sys; \
         sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())'"
    ));
    let (got, flags) = pyc_header(&amd_root, pure, "requests/__init__.py", "cpython-311");
    assert_eq!(hex(&got), magic.trim());
    assert_eq!(flags, 0b11, "checked-hash pyc");

    // arm64, under qemu-user: the same with the base's Python 3.13.
    let arm_root = dir.join("arm64-rootfs");
    unpack_onto(arm64, &out, &first["arm64"], &arm_root);
    let root = arm_root.display();
    let native = "/app/.venv/lib/python3.13/site-packages";
    let verbose = sh(&format!(
        "qemu-aarch64-static -L '{root}' '{root}/usr/bin/python3' -v -c \"import site; \
         site.addsitedir('{native}'); import requests, numpy\" 2>&1"
    ));
    for source in [format!("{pure}/requests/__init__.py"), format!("{native}/numpy/__init__.py")] {
        assert!(verbose.contains(&format!(" matches {source}")), "{source}: {verbose}");
    }
    let magic = sh(&format!(
        "qemu-aarch64-static -L '{root}' '{root}/usr/bin/python3' -c 'import importlib.util, \
         sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())'"
    ));
    let (got, flags) = pyc_header(&arm_root, native, "numpy/__init__.py", "cpython-313");
    assert_eq!(hex(&got), magic.trim());
    assert_eq!(flags, 0b11, "checked-hash pyc");
}

/// A wheel (`oldstyle-1.0-py3-none-any.whl`, made by python3's zipfile) whose package holds a
/// module and a Python 2 example that no Python 3 compiles.
fn python2_wheel(dir: &Path) -> Vec<u8> {
    let path = dir.join("oldstyle-1.0-py3-none-any.whl");
    let script = "import sys, zipfile\n\
        files = {'oldstyle/__init__.py': 'VALUE = 1\\n', 'oldstyle/py2_example.py': \
        'print \"hello\"\\n', 'oldstyle-1.0.dist-info/METADATA': 'Metadata-Version: 2.1\\n\
        Name: oldstyle\\nVersion: 1.0\\n', 'oldstyle-1.0.dist-info/WHEEL': 'Wheel-Version: \
        1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'}\n\
        files['oldstyle-1.0.dist-info/RECORD'] = ''.join(n + ',,\\n' for n in files) + \
        'oldstyle-1.0.dist-info/RECORD,,\\n'\n\
        with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
        \x20   [z.writestr(n, c) for n, c in files.items()]\n";
    std::fs::write(dir.join("wheel.py"), script).unwrap();
    sh(&format!("python3 '{}' '{}'", dir.join("wheel.py").display(), path.display()));
    std::fs::read(&path).unwrap()
}

fn a_file_that_does_not_compile_is_kept_as_source() {
    require(have("python3"), "python3 (its http.server serves the index)");
    let base = debian_python_base();
    let dir = fresh_dir("python_lock_bytecode_py2");
    let wheel = python2_wheel(&dir);
    let listed = crate::support::layout::sha256(&wheel)["sha256:".len()..].to_string();
    let index = StaticIndex::start(
        &dir,
        &[Served {
            project: "oldstyle",
            name: "oldstyle-1.0-py3-none-any.whl".into(),
            bytes: wheel,
            listed,
        }],
    );
    let p = dir.join("app");
    write(&p, "requirements.txt", "oldstyle==1.0\n");
    write(&p, "main.py", "print('ok')\n");
    let out = dir.join("out");
    let layout = format!("oci:{}:v1", out.display());
    let reference = base.reference();
    let args = ["--base", &reference, "--compile-bytecode", "--output", &layout];
    let uv = uv();
    let mut all = vec!["build", "--installer", uv.to_str().unwrap(), "--cache-dir"];
    let cache = dir.join("cache").display().to_string();
    all.push(&cache);
    all.extend_from_slice(&args);
    let url = PathBuf::from(&index.url);
    let run = strata_in(&all, &[("UV_INDEX_URL", url.as_path()), ("UV_NO_CACHE", Path::new("1"))], Some(&p));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("1 kept as source") && run.stderr.contains("oldstyle/py2_example.py"),
        "{}",
        run.stderr
    );
    // The image: the module compiled, the example shipped as its source, no .pyc of it.
    let root = dir.join("rootfs");
    unpack_onto(base, &out, &blob_json(&out, &tagged(&out)), &root);
    let package = root.join("app/.venv/lib/pure/site-packages/oldstyle");
    let cached: Vec<String> = std::fs::read_dir(package.join("__pycache__"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached, ["__init__.cpython-311.pyc"]);
    assert!(package.join("py2_example.py").is_file());
    let said = sh(&format!(
        "chroot '{}' /app/.venv/bin/python -c 'import oldstyle; print(oldstyle.VALUE)'",
        root.display()
    ));
    assert_eq!(said.trim(), "1");
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

crate::tests![
    builds_an_index_for_two_platforms_from_the_lockfile,
    an_sdist_only_dependency_is_named_with_the_platform_and_the_options,
    an_sdist_only_dependency_is_built_in_a_container_for_each_platform,
    a_native_sdist_builds_in_the_builder_image_given,
    an_unreachable_index_is_exit_3_with_its_url,
    a_hash_edited_by_hand_is_refused,
    the_lockfile_comes_first_and_a_venv_of_another_python_is_refused,
    the_pinned_uv_is_installed_from_pypi_when_there_is_none,
    a_tampered_uv_wheel_or_an_unreachable_index_installs_nothing,
    compiled_bytecode_is_used_by_the_image_python_and_rebuilds_identically,
    a_file_that_does_not_compile_is_kept_as_source,
];
