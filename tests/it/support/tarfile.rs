//! An independent reading of an image's layers: Python's tarfile over each layer blob, found
//! through the image's own index or manifest (`oci:`, `oci-archive:`, `docker-archive:`, a
//! loopback registry's `docker://`), so the tests can hold strata's per-layer figures against a
//! reader strata shares no code with.
//! Python 3.11's tarfile reads every member of a layer whose last file is unpadded (umoci's),
//! then raises "unexpected end of data" looking for the next: the script stops there, and
//! counts the layer read only when every file's content is whole.

use std::path::Path;
use std::process::Command;

use super::{have, report_json, require};

/// Reads the layers of the image given as `KIND PATH [TAG]` and prints, per layer, its stored
/// bytes, compression (and a gzip header's XFL byte: 2 after the slowest level, 4 the fastest),
/// uncompressed bytes, regular files (whiteouts are not files), their content bytes, entries,
/// and how the tar ended (as strata's `tar_end` names it).
const SCRIPT: &str = r#"
import gzip, io, json, os, subprocess, sys, tarfile

kind, path = sys.argv[1], sys.argv[2]
tag = sys.argv[3] if len(sys.argv) > 3 else None

if kind == "registry":
    import urllib.request
    ACCEPT = ", ".join("application/vnd." + t for t in [
        "oci.image.manifest.v1+json", "oci.image.index.v1+json",
        "docker.distribution.manifest.v2+json", "docker.distribution.manifest.list.v2+json"])
    def fetch(what):
        request = urllib.request.Request(path + what, headers={"Accept": ACCEPT})
        with urllib.request.urlopen(request) as response:
            return response.read()
elif kind == "oci":
    def blob(name):
        with open(os.path.join(path, name), "rb") as f:
            return f.read()
else:
    outer = tarfile.open(path)
    names = {m.name.lstrip("./"): m for m in outer.getmembers()}
    def blob(name):
        return outer.extractfile(names[name.lstrip("./")]).read()

def by_digest(d):
    if kind == "registry":
        return fetch("/blobs/" + d)
    return blob("blobs/" + d.replace(":", "/"))

def manifest_of(index):
    chosen = [m for m in index["manifests"]
              if tag is None or m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    m = json.loads(by_digest(chosen[0]["digest"]))
    return manifest_of(m) if "manifests" in m else m

if kind == "docker-archive":
    layers = [blob(p) for p in json.loads(blob("manifest.json"))[0]["Layers"]]
elif kind == "registry":
    manifest = json.loads(fetch("/manifests/" + tag))
    if "manifests" in manifest:
        manifest = json.loads(fetch("/manifests/" + manifest["manifests"][0]["digest"]))
    layers = [by_digest(l["digest"]) for l in manifest["layers"]]
else:
    layers = [by_digest(l["digest"]) for l in manifest_of(json.loads(blob("index.json")))["layers"]]

out = []
for data in layers:
    if data[:2] == b"\x1f\x8b":
        compression, raw = "gzip", gzip.decompress(data)
    elif data[:4] == b"\x28\xb5\x2f\xfd":
        compression = "zstd"
        raw = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    else:
        compression, raw = "none", data
    tf = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
    members = []
    while True:
        try:
            m = tf.next()
        except tarfile.ReadError:
            # Past a last member without its padding, tarfile ends with "unexpected end of data";
            # that member's content must be whole (read below) for the layer to count as read.
            break
        if m is None:
            break
        members.append(m)
    files = [m for m in members if m.isreg() and not os.path.basename(m.name).startswith(".wh.")]
    for m in files:
        assert len(tf.extractfile(m).read()) == m.size, "content cut short: " + m.name
    if members:
        last = members[-1]
        padded_end = last.offset_data + (last.size + 511) // 512 * 512
        end = ("unpadded_last_entry" if len(raw) < padded_end
               else "no_end_of_archive" if len(raw) == padded_end else "end_of_archive")
    else:
        end = "no_end_of_archive" if not raw else "end_of_archive"
    out.append({"stored_bytes": len(data), "compression": compression,
                "gzip_xfl": data[8] if compression == "gzip" else None,
                "uncompressed_bytes": len(raw), "files": len(files),
                "content_bytes": sum(m.size for m in files), "entries": len(members),
                "tar_end": end})
json.dump(out, sys.stdout)
"#;

/// Python's reading of the layers of `reference` (`oci:DIR:TAG`, `oci-archive:FILE`,
/// `docker-archive:FILE`, or `docker://HOST/NAME:TAG` of a plain-HTTP loopback registry, whose
/// blobs Python fetches itself), one JSON object per layer with the keys of strata's layer report.
pub fn tarfile_layers(reference: &str) -> Vec<serde_json::Value> {
    require(have("python3") && have("zstd"), "python3 and zstd");
    let (kind, rest) = reference.split_once(':').expect("a KIND:PATH reference");
    let mut args = vec![kind.to_string()];
    match (kind, rest.rsplit_once(':')) {
        ("docker", Some((name, tag))) => {
            let (host, name) = name
                .trim_start_matches('/')
                .split_once('/')
                .expect("HOST/NAME");
            let base = format!("http://{host}/v2/{name}");
            args = vec!["registry".to_string(), base, tag.to_string()];
        }
        ("oci", Some((dir, tag))) => args.extend([dir.to_string(), tag.to_string()]),
        _ => args.push(rest.to_string()),
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(&args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "tarfile could not read {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script's JSON")
}

/// `strata report REF --format json`, after asserting that every layer's stored, compressed,
/// uncompressed and content bytes, files, entries and tar ending are what Python's tarfile reads.
pub fn report_as_tarfile_reads(reference: &str) -> serde_json::Value {
    let report = report_json(reference);
    let expected = tarfile_layers(reference);
    let layers = report["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), expected.len(), "{reference}: layer count");
    for (index, (got, want)) in layers.iter().zip(&expected).enumerate() {
        for key in [
            "stored_bytes",
            "compression",
            "uncompressed_bytes",
            "files",
            "content_bytes",
            "entries",
            "tar_end",
        ] {
            assert_eq!(got[key], want[key], "{reference} layer {index}: {key}");
        }
        if want["compression"] != "none" {
            assert_eq!(
                got["compressed_bytes"], want["stored_bytes"],
                "{reference} layer {index}: a compressed layer transfers as stored"
            );
        }
    }
    report
}

/// Reads the image `TAG` of the OCI layout `DIR` (`-`: the last manifest of its index) layer by
/// layer (whiteouts and opaque directories of a layer applied to the layers below it) and prints
/// its manifest, the manifest's layer digests, its config's diff_ids, each layer's paths
/// (`layer_paths`) and hard links (`links`), and its final filesystem: path → [type, mode, uid,
/// gid, size, sha256 of the content, link target, xattrs]. A hard link is the file it links to.
/// With MASK `pyc`, a `.pyc` file's bytes 8..12 (the source mtime its header records) are hashed
/// as zeros. Each blob is streamed, and read to a last member without its padding as [`SCRIPT`]
/// is.
const FINAL_FILESYSTEM: &str = r#"
import hashlib, json, sys, tarfile
root, tag, mask = sys.argv[1], sys.argv[2], sys.argv[3] == "pyc"
blob = lambda digest: root + "/blobs/" + digest.replace(":", "/")
index = json.load(open(root + "/index.json"))
if tag == "-":
    entry = index["manifests"][-1]
else:
    entry, = [m for m in index["manifests"]
              if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
manifest = json.load(open(blob(entry["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
fs, layer_paths, links = {}, [], []
def drop(prefix, keep_self, ours):
    for path in [p for p in fs if p.startswith(prefix + "/") or (p == prefix and not keep_self)]:
        if path not in ours:
            del fs[path]
for layer in manifest["layers"]:
    ours = set()  # this layer's own paths: its whiteouts hide only the layers below
    paths, hard_links = [], 0
    with tarfile.open(blob(layer["digest"]), "r|*") as tar:
        while True:
            try:
                m = tar.next()
            except tarfile.ReadError:
                break  # past an unpadded last member (umoci's), whose content was read whole
            if m is None:
                break
            name = m.name.removeprefix("./").strip("/")
            name = "" if name == "." else name  # the root, as `tar -C DIR .` names it
            paths.append(name)
            parent, _, leaf = name.rpartition("/")
            if leaf == ".wh..wh..opq":
                drop(parent, True, ours)
                continue
            if leaf.startswith(".wh."):
                drop((parent + "/" if parent else "") + leaf[4:], False, ours)
                continue
            if not name:
                continue
            digest, size = hashlib.sha256(), 0
            if m.isfile():
                f = tar.extractfile(m)
                if mask and name.endswith(".pyc"):
                    head = f.read(16)
                    digest.update(head[:8] + bytes(len(head[8:12])) + head[12:])
                    size += len(head)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
                    size += len(chunk)
            xattrs = {k: v for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}
            kind, link = ("0", m.linkname) if m.isreg() else (m.type.decode(), m.linkname)
            if m.islnk():
                kind, link, hard_links = "0", "", hard_links + 1
                size, digest = fs[m.linkname.removeprefix("./").strip("/")][4:6]
            ours.add(name)
            fs[name] = [kind, m.mode, m.uid, m.gid, size, digest, link, xattrs]
    layer_paths.append(sorted(paths))
    links.append(hard_links)
for v in fs.values():
    v[5] = v[5].hexdigest()
print(json.dumps({"manifest": manifest, "layers": [l["digest"] for l in manifest["layers"]],
                  "diff_ids": config["rootfs"]["diff_ids"], "layer_paths": layer_paths,
                  "links": links, "fs": fs}))
"#;

/// How [`final_filesystem`] hashes a `.pyc` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pyc {
    /// Every byte, as any file.
    AsIs,
    /// The source mtime its header records (bytes 8..12) as zeros: what optimize rewrites.
    MtimeMasked,
}

/// Python's reading of the image `tag` (`None`: the last manifest of the index) of the OCI
/// layout `layout`, as [`FINAL_FILESYSTEM`] prints it: `manifest`, `layers` (the manifest's
/// digests), `diff_ids`, `layer_paths`, `links` and `fs` (the final filesystem): the oracle the
/// optimize tests compare the filesystems an image holds before and after with, and check each
/// layer's paths against.
pub fn final_filesystem(layout: &Path, tag: Option<&str>, pyc: Pyc) -> serde_json::Value {
    require(have("python3"), "python3");
    let out = Command::new("python3")
        .arg("-c")
        .arg(FINAL_FILESYSTEM)
        .arg(layout)
        .arg(tag.unwrap_or("-"))
        .arg(if pyc == Pyc::MtimeMasked { "pyc" } else { "-" })
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "tarfile could not read {}:{}: {}",
        layout.display(),
        tag.unwrap_or("-"),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script's JSON")
}
