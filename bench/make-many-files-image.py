#!/usr/bin/env python3
"""make-many-files-image.py OUT FILES LAYERS [BYTES] — an OCI layout (tag "latest") whose LAYERS
gzip layers hold FILES regular files in all (BYTES each, default 1024, random so they do not
compress away), spread over nested directories; each layer after the first also rewrites a
tenth of the previous layer's files and deletes another tenth (whiteouts). `strata explore`'s
memory benchmark: FILES=35000 is the benchmark image's entry count, FILES=1000000 LAYERS=1 the
synthetic 1 M-entry layer."""
import gzip, hashlib, io, json, os, random, sys, tarfile

out, files, layers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
rng = random.Random(7)
os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)

def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)

def path(i):
    return f"data/d{i % 97}/e{(i // 97) % 89}/f{i}.bin"

per = files // layers
descs, diff_ids, history = [], [], []
for layer in range(layers):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        names = [path(layer * per + i) for i in range(per)]
        if layer:
            prev = [path((layer - 1) * per + i) for i in range(per)]
            names += prev[: per // 10]
            for gone in prev[per // 10 : per // 5]:
                d, b = gone.rsplit("/", 1)
                tar.addfile(tarfile.TarInfo(f"{d}/.wh.{b}"))
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(rng.randbytes(size)))
    data = raw.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
    digest, length = blob(gzip.compress(data, compresslevel=1, mtime=0))
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                  "digest": digest, "size": length})
    history.append({"created_by": f"synthetic layer {layer}: {len(names)} files"})
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": diff_ids},
                     "history": history, "config": {}}).encode()
cdigest, clen = blob(config)
manifest = json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": cdigest, "size": clen},
                       "layers": descs}).encode()
mdigest, mlen = blob(manifest)
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest,
        "size": mlen, "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
