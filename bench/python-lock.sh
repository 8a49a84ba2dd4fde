#!/usr/bin/env bash
# python-lock.sh [STRATA] — a Python image built from the lockfile for two platforms, against its
# floor. A uv project locks numpy 2.2.6 (platform wheels) and requests 2.32.3 (pure); strata
# builds it with no venv on the host for linux/amd64 and linux/arm64 onto the test-made Debian
# bases (bookworm amd64, Python 3.11; trixie arm64, Python 3.13: `cargo test --test it --
# python_lock::` makes them under /var/tmp/strata-test-debian) into one image index, its layer
# cache empty. The floor is what the build cannot avoid: `uv pip install --target DIR` of the same
# requirements with the same platform and Python strata picked, run once per platform by hand
# (download + unpack). Both with uv's cache cold (emptied before every run) and warm. Prints
# markdown table rows (hyperfine means ± σ), and the machine's load.
set -euo pipefail

die() { printf '[python-lock] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=bench/python-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/python-common.sh"
command -v hyperfine >/dev/null || die "hyperfine is not installed"
command -v umoci >/dev/null || die "umoci is not installed"

# The test-made bases: the amd64 one is the bookworm base with Python and nothing else added.
amd64=""
for d in "$DEBIAN"/bookworm-*/; do
    [ -e "$d/rootfs/usr/bin/python3" ] && [ ! -e "$d/rootfs/usr/bin/node" ] \
        && [ ! -e "$d/rootfs/usr/local/cargo" ] && [ ! -e "$d/rootfs/root/.cargo" ] \
        && amd64="${d%/}" && break
done
[ -n "$amd64" ] || die "no test-made amd64 Debian base under $DEBIAN (run the python_lock tests once)"

work="$(mktemp -d /var/tmp/strata-python-lock.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# One layout holding both bases, tagged `multi`: an index over them, as a multi-platform base is.
mkdir -p "$work/base/blobs/sha256"
cp -a "$amd64/layout/blobs/sha256/." "$arm64/layout/blobs/sha256/." "$work/base/blobs/sha256/"
cp "$amd64/layout/oci-layout" "$work/base/"
python3 - "$work/base" "$amd64/layout" "$arm64/layout" <<'EOF'
import json, sys, os
out, sources = sys.argv[1], sys.argv[2:]
manifests = []
for arch, layout in zip(["amd64", "arm64"], sources):
    m = json.load(open(os.path.join(layout, "index.json")))["manifests"][0]
    manifests.append({"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
                      "platform": {"os": "linux", "architecture": arch}})
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": manifests}).encode()
import hashlib
digest = hashlib.sha256(index).hexdigest()
open(os.path.join(out, "blobs/sha256", digest), "wb").write(index)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
           "digest": "sha256:" + digest, "size": len(index),
           "annotations": {"org.opencontainers.image.ref.name": "multi"}}]},
          open(os.path.join(out, "index.json"), "w"))
EOF

make_project "$work"

build="cd '$work/hello' && '$STRATA' build --installer '$UV' --cache-dir '$work/strata-cache' \
    --base 'oci:$work/base:multi' --platform linux/amd64,linux/arm64 \
    --output 'oci:$work/out:v1' --no-progress"
# The first build fills the warm uv cache and tells which platform and Python strata installs for.
UV_CACHE_DIR="$work/uv-warm" bash -c "$build" 2> "$work/first.txt" >/dev/null \
    || die "strata build failed: $(cat "$work/first.txt")"
mapfile -t targets < <(sed -n 's/.* python \([0-9.]*\) glibc [0-9.]* (\([a-z0-9_-]*\), uv .*/\2 \1/p' "$work/first.txt")
[ "${#targets[@]}" -eq 2 ] || die "strata did not say what it installed for: $(cat "$work/first.txt")"
floor=""
for t in "${targets[@]}"; do
    read -r platform python <<<"$t"
    floor+="'$UV' pip install --quiet --target '$work/floor-$platform' --python-platform $platform \
        --python-version $python --only-binary :all: --no-deps --link-mode copy \
        -r '$work/requirements.txt' && "
done
floor+="true"
UV_CACHE_DIR="$work/uv-warm" bash -c "$floor" || die "the floor's uv pip install failed"

reset="rm -rf '$work/strata-cache' '$work/out' '$work'/floor-*"
hyperfine --style "${HYPERFINE_STYLE:-none}" --runs "$RUNS" --export-json "$work/warm.json" \
    --prepare "$reset" \
    -n strata "UV_CACHE_DIR='$work/uv-warm' bash -c \"$build\"" \
    -n floor "UV_CACHE_DIR='$work/uv-warm' bash -c \"$floor\"" >&2
hyperfine --style "${HYPERFINE_STYLE:-none}" --runs "$RUNS" --export-json "$work/cold.json" \
    --prepare "$reset; rm -rf '$work/uv-cold'" \
    -n strata "UV_CACHE_DIR='$work/uv-cold' bash -c \"$build\"" \
    -n floor "UV_CACHE_DIR='$work/uv-cold' bash -c \"$floor\"" >&2

# --compile-bytecode's cost: one warm run (the base's Python compiles every .py, under qemu-user
# for arm64), its strata cache empty.
bash -c "$reset"
start=$(date +%s.%N)
UV_CACHE_DIR="$work/uv-warm" bash -c "$build --compile-bytecode" >/dev/null 2>&1 \
    || die "strata build --compile-bytecode failed"
compiled=$(python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$start" "$(date +%s.%N)")

echo "| uv cache | strata build, 2 platforms (s) | floor: uv pip install --target × 2 (s) | ratio |"
echo "|---|---:|---:|---:|"
for cache in warm cold; do
    python3 - "$work/$cache.json" "$cache" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
s, f = r["strata"], r["floor"]
print(f"| {sys.argv[2]} | {s['mean']:.2f} ± {s['stddev'] or 0:.2f} | {f['mean']:.2f} ± "
      f"{f['stddev'] or 0:.2f} | {s['mean'] / f['mean']:.2f}× |")
EOF
done
printf 'warm, with --compile-bytecode (one run): %.2f s\n' "$compiled"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; platforms: ${targets[*]}"
