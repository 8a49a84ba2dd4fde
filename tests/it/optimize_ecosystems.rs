//! `strata optimize` on images of other ecosystems than Python, built as a team builds them:
//! Docker, `FROM` a debootstrap-made Debian base, `COPY . /app` of a context holding everything.
//! - Node: a real `node_modules` tree (Debian's `node-*` packages, downloaded with apt-get and
//!   laid out as `npm ci` lays out the npm registry's: `node_modules/<name>/`, scoped
//!   `@types/<name>`, `.bin` links, the hidden lockfile) beside the app's code.
//! - Rust: a cargo project built on the host, its `target/` copied in by mistake beside the binary
//!   in `/usr/local/bin`.
//!
//! Each is optimized from its `docker save` and checked by [`assert_optimized`] (base kept, same
//! final filesystem and config, runs as the input does); then what the plan did with the
//! ecosystem's trees is read from the output's layers by Python's tarfile.

use std::path::Path;

use crate::support::debian::{debian_node_base, debian_python_base, DebianImage};
use crate::support::images::{deploy, DockerImages};
use crate::support::optimized::{assert_optimized, Checked};
use crate::support::{docker_ok, have, require, sh, strata_in, write};

/// Debian packages whose `/usr/share/nodejs` trees make the `node_modules`: what the app requires,
/// their dependencies (debug → ms, semver → lru-cache) and the `@types` packages they ship.
const NODE_DEBS: &[&str] = &[
    "node-lodash",
    "node-debug",
    "node-ms",
    "node-semver",
    "node-lru-cache",
    "node-commander",
    "node-minimist",
    "node-uuid",
];
/// The packages the app depends on, as its package.json names them.
const NODE_DEPS: &[&str] = &["commander", "debug", "lodash", "minimist", "semver", "uuid"];
/// Their dependencies, installed beside them (npm hoists them to the top of `node_modules`).
const NODE_HOISTED: &[&str] = &["lru-cache", "ms"];
/// The app's devDependencies, scoped packages (`npm ci` installs them too).
const NODE_TYPES: &[&str] = &["@types/debug", "@types/lodash", "@types/ms", "@types/semver"];

/// The app's code: `line` is the one line v2 changes.
fn index_js(line: &str) -> String {
    format!(
        "const _ = require('lodash');\nconst semver = require('semver');\nconst ms = require('ms');\n\
         const debug = require('debug')('app');\nconst minimist = require('minimist');\n\
         const {{ Command }} = require('commander');\nconst {{ v5 }} = require('uuid');\n\
         debug('not enabled, not printed');\n\
         const args = new Command().option('--who <name>').parse(['node', 'x', '--who', 'strata']).opts();\n\
         console.log({line});\n\
         console.log('lodash', _.VERSION, _.chunk([1, 2, 3], 2).length);\n\
         console.log('semver', semver.maxSatisfying(['1.2.3', '1.4.0', '2.0.0'], '^1'));\n\
         console.log('ms', ms('2h'), 'minimist', minimist(['--x', '3']).x, 'who', args.who);\n\
         console.log('uuid', v5('strata', v5.URL));\n\
         console.log('from', require.resolve('lodash'), require.resolve('semver'));\n"
    )
}

/// `name` and `version` of the package.json in `dir`.
fn name_version(dir: &Path) -> (String, String) {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("package.json")).unwrap()).unwrap();
    let field = |k: &str| json[k].as_str().unwrap_or_else(|| panic!("{k} in {dir:?}")).to_string();
    (field("name"), field("version"))
}

/// The Node build context in `ctx`: `node_modules` from [`NODE_DEBS`] (downloaded into `debs`),
/// the lockfiles `npm ci` reads and writes, the code, and its Dockerfile on `from`. Returns each
/// installed package's (name, version).
fn node_context(ctx: &Path, debs: &Path, from: &str) -> Vec<(String, String)> {
    std::fs::create_dir_all(debs).unwrap();
    let (d, c) = (debs.display(), ctx.display());
    sh(&format!(
        "cd '{d}' && apt-get download -q {} 2>/dev/null && mkdir x && for f in *.deb; do dpkg-deb -x $f x; done",
        NODE_DEBS.join(" ")
    ));
    let mut installed = Vec::new();
    let mut lock = serde_json::Map::new();
    for name in NODE_DEPS.iter().chain(NODE_HOISTED).chain(NODE_TYPES) {
        let dest = ctx.join("node_modules").join(name);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        sh(&format!("cp -a '{d}/x/usr/share/nodejs/{name}' '{}'", dest.display()));
        let (n, version) = name_version(&dest);
        assert_eq!(&n, name, "the package.json of {name}");
        let dev = NODE_TYPES.contains(name);
        lock.insert(
            format!("node_modules/{name}"),
            serde_json::json!({"version": version, "dev": dev, "license": "MIT"}),
        );
        installed.push((n, version));
    }
    // npm ci links the packages' bins and writes its hidden lockfile into node_modules.
    sh(&format!(
        "mkdir '{c}/node_modules/.bin' && ln -s ../semver/bin/semver.js '{c}/node_modules/.bin/semver' \
         && ln -s ../uuid/dist/bin/uuid '{c}/node_modules/.bin/uuid'"
    ));
    let deps = |names: &[&str]| -> serde_json::Map<String, serde_json::Value> {
        let versions: std::collections::HashMap<_, _> = installed.iter().cloned().collect();
        names
            .iter()
            .map(|n| (n.to_string(), format!("^{}", versions[*n]).into()))
            .collect()
    };
    let app = serde_json::json!({
        "name": "strata-node-demo", "version": "1.0.0", "main": "index.js",
        "dependencies": deps(NODE_DEPS), "devDependencies": deps(NODE_TYPES),
    });
    let hidden = serde_json::json!({"name": "strata-node-demo", "version": "1.0.0",
        "lockfileVersion": 3, "requires": true, "packages": lock.clone()});
    lock.insert("".into(), app.clone());
    let lockfile = serde_json::json!({"name": "strata-node-demo", "version": "1.0.0",
        "lockfileVersion": 3, "requires": true, "packages": lock});
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap() + "\n";
    write(ctx, "package.json", &pretty(&app));
    write(ctx, "package-lock.json", &pretty(&lockfile));
    write(ctx, "node_modules/.package-lock.json", &pretty(&hidden));
    write(ctx, "index.js", &index_js("'hello from v1'"));
    write(
        ctx,
        "Dockerfile",
        &format!("FROM {from}\nWORKDIR /app\nCOPY . /app\nCMD [\"node\", \"/app/index.js\"]\n"),
    );
    installed
}

/// A naive image and its base, as Docker made them, saved into `dir`.
struct Built {
    /// The `docker save` of the app image (`docker-archive:` reference).
    app: String,
    /// The `docker save` of the base as the engine holds it.
    base: String,
    /// skopeo's copy of the app image into an OCI layout (tag `v`): the checks' input.
    layout: std::path::PathBuf,
}

/// Loads `base` into Docker as `NAME-base:t` (once per `images`), builds `ctx` on it as
/// `NAME-VERSION:t` and saves both into `dir`.
fn docker_built(
    images: &mut DockerImages,
    base: &DebianImage,
    name: &str,
    version: &str,
    ctx: &Path,
    dir: &Path,
) -> Built {
    let (from, app) = (format!("{name}-base:t"), format!("{name}-{version}:t"));
    if !images.0.contains(&from) {
        images.load(&base.reference(), &from);
    }
    images.0.push(app.clone());
    sh(&format!(
        "DOCKER_BUILDKIT=0 docker build -q -t {app} '{}' >/dev/null",
        ctx.display()
    ));
    let layout = dir.join(format!("in-{version}"));
    let saved = DockerImages::save(&app, dir);
    sh(&format!(
        "skopeo copy -q {saved} oci:{}:v",
        layout.display()
    ));
    Built {
        app: saved,
        base: DockerImages::save(&from, dir),
        layout,
    }
}

/// `strata optimize BUILT --base ITS-BASE --output oci:OUT:v --format json` run in `cwd`.
fn optimize(built: &Built, out: &Path, cwd: &Path) -> serde_json::Value {
    let dest = format!("oci:{}:v", out.display());
    let args = ["optimize", &built.app, "--base", &built.base, "--output", &dest];
    let run = strata_in(&[&args[..], &["--format", "json"]].concat(), &[], Some(cwd));
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

/// The paths of each layer above the base, as [`assert_optimized`] read them.
fn layers_above_base(checked: &Checked) -> Vec<Vec<String>> {
    checked.after["layer_paths"].as_array().unwrap()[checked.base_layers..]
        .iter()
        .map(|l| {
            let paths = l.as_array().unwrap().iter();
            paths.map(|p| p.as_str().unwrap().to_string()).collect()
        })
        .collect()
}

/// The package a path under `app/node_modules/` belongs to (`lodash`, `@types/ms`), if any.
fn node_package(path: &str) -> Option<String> {
    let rest = path.strip_prefix("app/node_modules/")?;
    let mut parts = rest.split('/');
    let first = parts.next()?;
    match (first.starts_with('@'), parts.next()) {
        (true, Some(name)) => Some(format!("{first}/{name}")),
        (true, None) => None,
        (false, _) => Some(first.to_string()),
    }
}

fn a_node_image_is_optimized_by_package() {
    require(docker_ok(&["info"]), "a running Docker Engine");
    require(have("skopeo") && have("apt-get") && have("dpkg-deb"), "skopeo, apt-get, dpkg-deb");
    let base = debian_node_base();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let ctx = p.join("ctx");
    let tag = format!("strata-opt-node-{}", std::process::id());
    let installed = node_context(&ctx, &p.join("debs"), &format!("{tag}-base:t"));
    let mut images = DockerImages::default();
    let v1 = docker_built(&mut images, base, &tag, "v1", &ctx, p);
    let summary = optimize(&v1, &p.join("o1"), p);
    let checked = assert_optimized(&v1.layout, &v1.base, &p.join("o1"), "v", p);
    // The app ran on the node_modules tree, not on a copy of the packages elsewhere.
    let lodash = &installed.iter().find(|(n, _)| n == "lodash").unwrap().1;
    assert!(checked.stdout.contains(&format!("lodash {lodash} 2\n")), "{}", checked.stdout);
    assert!(
        checked.stdout.contains("from /app/node_modules/lodash/lodash.js /app/node_modules/semver/index.js"),
        "{}",
        checked.stdout
    );
    // Twelve packages, past the default --max-layers 8: the five largest a layer each, lowest,
    // the seven smallest sharing the sixth, one left free for a next version's additions, the
    // code last.
    let layers = layers_above_base(&checked);
    assert_eq!(layers.len(), 7, "{:?}", summary["layers"]);
    let (deps, app) = layers.split_at(layers.len() - 1);
    let bytes = |package: &str| -> u64 {
        let fs = checked.after["fs"].as_object().unwrap();
        let mine = fs.iter().filter(|(p, _)| node_package(p).as_deref() == Some(package));
        mine.map(|(_, e)| e[4].as_u64().unwrap()).sum()
    };
    let mut placed: Vec<Vec<String>> = Vec::new();
    for (layer, paths) in deps.iter().enumerate() {
        let owners: std::collections::BTreeSet<_> =
            paths.iter().filter_map(|p| node_package(p)).collect();
        let outside: Vec<_> = paths.iter().filter(|p| node_package(p).is_none()).collect();
        assert!(
            outside.iter().all(|p| owners.iter().any(|o| format!("app/node_modules/{o}").starts_with(p.as_str()))),
            "layer {layer}: only the parent directories of {owners:?} beside them: {outside:?}"
        );
        for owner in &owners {
            let manifest = format!("app/node_modules/{owner}/package.json");
            assert!(paths.contains(&manifest), "layer {layer} holds all of {owner}");
        }
        let owners: Vec<String> = owners.into_iter().collect();
        let holds = summary["layers"][layer]["holds"].as_str().unwrap();
        assert_eq!(holds, format!("node deps: {}", owners.join(", ")), "layer {layer}");
        placed.push(owners);
    }
    let (alone, shared) = placed.split_at(5);
    assert!(alone.iter().all(|o| o.len() == 1), "{placed:?}");
    let smallest_alone = alone.iter().map(|o| bytes(&o[0])).min().unwrap();
    assert!(
        shared[0].iter().all(|o| bytes(o) <= smallest_alone),
        "the smallest share a layer: {placed:?}"
    );
    let mut placed: Vec<String> = placed.concat();
    placed.sort();
    let mut want: Vec<String> = installed.iter().map(|(n, _)| n.clone()).collect();
    want.sort();
    assert_eq!(placed, want, "each package in one dependency layer");
    let app = &app[0];
    for code in ["app/index.js", "app/package.json", "app/package-lock.json", "app/Dockerfile"] {
        assert!(app.iter().any(|p| p == code), "{code} in the app layer: {app:?}");
    }
    let stray: Vec<_> = app.iter().filter(|p| node_package(p).is_some()).collect();
    assert!(
        stray.iter().all(|p| p.starts_with("app/node_modules/.")),
        "only npm's own files (.bin, the hidden lockfile) in the app layer: {stray:?}"
    );
    // v2 changes one line of code: the deploy of it ships the app layer alone.
    write(&ctx, "index.js", &index_js("'hello from v2'"));
    let v2 = docker_built(&mut images, base, &tag, "v2", &ctx, p);
    optimize(&v2, &p.join("o2"), p);
    let checked = assert_optimized(&v2.layout, &v2.base, &p.join("o2"), "v", p);
    assert!(checked.stdout.starts_with("hello from v2\n"), "{}", checked.stdout);
    let oci = |dir: &str| format!("oci:{}:v", p.join(dir).display());
    let (as_built, optimized) = (deploy(&v1.app, &v2.app), deploy(&oci("o1"), &oci("o2")));
    let above = layers.len();
    assert_eq!(optimized.shared, checked.base_layers + above - 1, "all but the app layer shared");
    assert!(optimized.pull < 20_000, "v1→v2 ships {} bytes", optimized.pull);
    assert!(as_built.pull > 20 * optimized.pull, "as built {} vs {}", as_built.pull, optimized.pull);
    eprintln!("node v1→v2: as built {} bytes, optimized {}", as_built.pull, optimized.pull);
}

/// A cargo project in `ctx` with one binary, `hello`, built on the host into `ctx/target`, and a
/// Dockerfile on `from` that copies all of it to /app and the binary to /usr/local/bin.
fn rust_context(ctx: &Path, from: &str) {
    write(
        ctx,
        "Cargo.toml",
        "[package]\nname = \"hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    );
    write(
        ctx,
        "src/main.rs",
        "fn main() {\n    let words: Vec<String> = std::env::args().skip(1).collect();\n    \
         println!(\"hello from rust, {} args\", words.len());\n}\n",
    );
    let out = std::process::Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .current_dir(ctx)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("run cargo");
    assert!(out.status.success(), "cargo build: {}", String::from_utf8_lossy(&out.stderr));
    write(
        ctx,
        "Dockerfile",
        &format!(
            "FROM {from}\nCOPY . /app\nCOPY target/release/hello /usr/local/bin/hello\nCMD [\"hello\"]\n"
        ),
    );
}

fn a_rust_image_with_its_target_dir_is_optimized() {
    require(docker_ok(&["info"]), "a running Docker Engine");
    require(have("skopeo") && have("cargo"), "skopeo and cargo");
    let base = debian_python_base();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let ctx = p.join("ctx");
    let tag = format!("strata-opt-rust-{}", std::process::id());
    rust_context(&ctx, &format!("{tag}-base:t"));
    let mut images = DockerImages::default();
    let built = docker_built(&mut images, base, &tag, "v1", &ctx, p);
    let summary = optimize(&built, &p.join("out"), p);
    let checked = assert_optimized(&built.layout, &built.base, &p.join("out"), "v", p);
    assert_eq!(checked.stdout, "hello from rust, 0 args\n");
    // The same input optimized in another directory: the same image.
    let other = tempfile::tempdir().unwrap();
    let again = optimize(&built, &other.path().join("out"), other.path());
    assert_eq!(summary["written"]["manifest_digest"], again["written"]["manifest_digest"]);
    // What the plan did with target/: what strata's Rust ecosystem recognizes there.
    let layers = layers_above_base(&checked);
    let holds: Vec<&str> = summary["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["holds"].as_str().unwrap())
        .collect();
    eprintln!("rust layers: {holds:?}");
    let (deps, app) = layers.split_at(layers.len() - 1);
    let app = &app[0];
    for code in ["app/src/main.rs", "app/Cargo.toml", "app/Cargo.lock", "usr/local/bin/hello"] {
        assert!(app.iter().any(|p| p == code), "{code} in the app layer: {app:?}");
    }
    assert!(app.iter().all(|p| !p.starts_with("app/target/release/")), "{app:?}");
    assert_eq!(deps.len(), 1, "target/release is one tree: {holds:?}");
    assert_eq!(holds[0], "rust deps: release");
    assert!(deps[0].iter().any(|p| p == "app/target/release/hello"), "{:?}", deps[0]);
    assert!(
        deps[0]
            .iter()
            .all(|p| p.starts_with("app/target/release") || "app/target".starts_with(p.as_str())),
        "only the release profile's outputs and their parents: {:?}",
        deps[0]
    );
    for marker in ["app/target/CACHEDIR.TAG", "app/target/.rustc_info.json"] {
        assert!(app.iter().any(|p| p == marker), "cargo's {marker} is in no package: {app:?}");
    }
}

crate::tests![a_node_image_is_optimized_by_package, a_rust_image_with_its_target_dir_is_optimized];
