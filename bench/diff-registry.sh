#!/usr/bin/env bash
# diff-registry.sh [OUTDIR] [STRATA] — `strata diff` of two large images in a real registry
# (Debian's docker-registry on loopback): v1 is the benchmark image (make-big-image.sh), v2 is v1
# plus one small code layer. Counts every request and byte the registry served during the diff
# (from its access log) and times the diff with hyperfine. Prints markdown table rows.
#
# Needs: docker-registry, skopeo, hyperfine, python3.
set -euo pipefail

die() { printf '[diff-registry] ERROR: %s\n' "$*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTDIR="${1:-${BENCH_CACHE:-/var/tmp/strata-bench}/out}"
STRATA="${2:-$REPO/target/release/strata}"
[ -x "$STRATA" ] || die "strata binary not found at $STRATA (cargo build --release)"
[ -d "$OUTDIR/big-oci" ] || die "$OUTDIR/big-oci missing: run bench/make-big-image.sh first"
for tool in docker-registry skopeo hyperfine python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

work="$(mktemp -d)"
trap 'kill ${registry_pid:-0} 2>/dev/null; rm -rf "$work"' EXIT

# v2 = v1 + one gzip layer holding a changed source file (blobs hard-linked, not copied).
python3 - "$OUTDIR/big-oci" "$work/v2" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(f"{dst}/blobs/sha256")
for name in os.listdir(f"{src}/blobs/sha256"):
    os.link(f"{src}/blobs/sha256/{name}", f"{dst}/blobs/sha256/{name}")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(f"{dst}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return "sha256:" + d
index = json.load(open(f"{src}/index.json"))
desc = index["manifests"][0]
manifest = json.load(open(f"{src}/blobs/sha256/{desc['digest'].split(':')[1]}"))
config = json.load(open(f"{src}/blobs/sha256/{manifest['config']['digest'].split(':')[1]}"))
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as tar:
    body = b"print('v2: one changed line')\n"
    info = tarfile.TarInfo("app/src/strata_demo/version.py"); info.size = len(body); info.mtime = 1
    tar.addfile(info, io.BytesIO(body))
layer_tar = buf.getvalue()
layer = gzip.compress(layer_tar, mtime=0)
manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": put(layer), "size": len(layer)})
config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(layer_tar).hexdigest())
config.setdefault("history", []).append({"created_by": "COPY src/ /app/src/ (v2)"})
config_bytes = json.dumps(config).encode()
manifest["config"]["digest"] = put(config_bytes); manifest["config"]["size"] = len(config_bytes)
manifest_bytes = json.dumps(manifest).encode()
desc = dict(desc, digest=put(manifest_bytes), size=len(manifest_bytes))
json.dump({"schemaVersion": 2, "manifests": [desc]}, open(f"{dst}/index.json", "w"))
open(f"{dst}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
tag="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0].get("annotations",{}).get("org.opencontainers.image.ref.name","latest"))' "$work/v2/index.json")"

# shellcheck source=bench/registry.sh
. "$REPO/bench/registry.sh"
start_registry "$work" "$work/access.log"
host="$registry_host"
skopeo copy --quiet --dest-tls-verify=false "oci:$OUTDIR/big-oci:latest" "docker://$host/bench/app:v1"
skopeo copy --quiet --dest-tls-verify=false "oci:$work/v2:$tag" "docker://$host/bench/app:v2"

# One diff, with the access log measured around it.
before="$(wc -l < "$work/access.log")"
"$STRATA" diff "$host/bench/app:v1" "$host/bench/app:v2" --format json > "$work/diff.json"
tail -n +"$((before + 1))" "$work/access.log" > "$work/diff.log"
read -r requests served blob_bytes <<EOF2
$(python3 - "$work/diff.log" <<'PY'
import re, sys
requests = served = blobs = 0
for line in open(sys.argv[1]):
    m = re.search(r'"(GET|HEAD) (\S+) HTTP/[\d.]+" (\d+) (\d+|-)', line)
    if not m:
        continue
    n = 0 if m.group(4) == "-" else int(m.group(4))
    requests += 1; served += n
    if "/blobs/" in m.group(2) and m.group(1) == "GET":
        blobs += n
print(requests, served, blobs)
PY
)
EOF2
pull="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pull_bytes"])' "$work/diff.json")"
image_bytes="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["new"]["compressed_bytes"])' "$work/diff.json")"

json="$work/hyperfine.json"
hyperfine --warmup 1 --runs "${BENCH_RUNS:-10}" --export-json "$json" \
    "$STRATA diff $host/bench/app:v1 $host/bench/app:v2 --format json" >&2
mean="$(python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["mean"])' "$json")"

echo "| image (compressed) | requests | bytes served | of which blobs (configs) | pull_bytes reported | strata diff (s) |"
echo "|---:|---:|---:|---:|---:|---:|"
echo "| $image_bytes | $requests | $served | $blob_bytes | $pull | $mean |"
