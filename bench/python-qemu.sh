#!/usr/bin/env bash
# python-qemu.sh [STRATA] — an arm64 Python image's dependencies on an amd64 machine, the way
# `docker buildx` installs them (the installer run in an arm64 container, emulated by qemu-user
# through binfmt) against strata's cross-install (no emulation). The lock is bench/python-lock.sh's
# (numpy 2.2.6, requests 2.32.3 and its four dependencies); the base is the test-made Debian 13
# arm64 one (Python 3.13: `cargo test --test it -- python_lock::` makes it). Both sides run the
# same uv 0.13.9 with the same wheels-only, no-deps install of the same requirements:
#   emulated  docker run --platform linux/arm64 BASE uv pip install --target … --python python3.13
#             (the aarch64 uv binary and the base's own python3.13, both under qemu-aarch64)
#   strata    strata build --platform linux/arm64 onto the same base: the whole image (install,
#             startup check, layers, gzip, OCI layout), uv run natively for the target
#   floor     uv pip install --target … --python-platform aarch64-manylinux_2_40 on the host
# Cold empties uv's cache before each run, warm keeps it. Needs Docker, qemu-aarch64 registered
# with binfmt_misc (`make deps` as root), skopeo, hyperfine, pip (to fetch the aarch64 uv wheel).
# Prints markdown table rows (hyperfine means ± σ) and the machine's load.
set -euo pipefail

die() { printf '[python-qemu] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=bench/python-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/python-common.sh"
for tool in hyperfine skopeo docker python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || die "qemu-aarch64 is not registered with binfmt_misc (make deps as root)"

work="$(mktemp -d /var/tmp/strata-python-qemu.XXXXXX)"
image="strata-bench-arm64:$$"
trap 'rm -rf "$work"; docker rmi -f "$image" >/dev/null 2>&1 || true' EXIT

skopeo copy --quiet "oci:$arm64/layout:bookworm" "docker-daemon:$image"
python3 -m pip download --quiet "uv==$UV_VERSION" --platform manylinux_2_17_aarch64 \
    --only-binary :all: --no-deps -d "$work/wheel"
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2], "wb").write(z.read("uv-%s.data/scripts/uv" % sys.argv[3]))' \
    "$(ls "$work"/wheel/uv-*.whl)" "$work/uv-aarch64" "$UV_VERSION"
chmod 755 "$work/uv-aarch64"

make_project "$work"

# Each side's cache is its own directory (the container's is mounted), emptied for cold runs.
emulated() {
    echo "docker run --rm --platform linux/arm64 -v '$work/uv-aarch64:/usr/local/bin/uv:ro' \
        -v '$work/requirements.txt:/req.txt:ro' -v '$SSL_CERT_FILE:/ca.pem:ro' -v '$work/$1:/cache' \
        -e SSL_CERT_FILE=/ca.pem -e UV_NATIVE_TLS=1 -e UV_CACHE_DIR=/cache -e UV_PYTHON_DOWNLOADS=never \
        '$image' uv pip install --quiet --target /tmp/out --python python3.13 --only-binary :all: \
        --no-deps --link-mode copy --require-hashes -r /req.txt"
}
strata_build() {
    echo "cd '$work/hello' && UV_CACHE_DIR='$work/$1' '$STRATA' build --installer '$UV' \
        --cache-dir '$work/strata-cache' --base 'oci:$arm64/layout:bookworm' --platform linux/arm64 \
        --output 'oci:$work/out:v1' --no-progress 2>/dev/null"
}
floor() {
    echo "UV_CACHE_DIR='$work/$1' '$UV' pip install --quiet --target '$work/floor' \
        --python-platform aarch64-manylinux_2_40 --python-version 3.13 --only-binary :all: \
        --no-deps --link-mode copy --require-hashes -r '$work/requirements.txt'"
}
# Warm every cache once (and check that each side works).
for c in uv-emulated uv-strata uv-floor; do mkdir -p "$work/$c"; done
bash -c "$(emulated uv-emulated)" || die "the emulated install failed"
bash -c "$(strata_build uv-strata)" >/dev/null || die "strata build failed"
bash -c "$(floor uv-floor)" || die "the floor's install failed"

reset="rm -rf '$work/strata-cache' '$work/out' '$work/floor'"
hyperfine --style "${HYPERFINE_STYLE:-none}" --runs "$RUNS" --export-json "$work/warm.json" --prepare "$reset" \
    -n emulated "$(emulated uv-emulated)" -n strata "$(strata_build uv-strata)" \
    -n floor "$(floor uv-floor)" >&2
cold="$reset; rm -rf '$work'/uv-emulated/* '$work'/uv-strata '$work'/uv-floor"
hyperfine --style "${HYPERFINE_STYLE:-none}" --runs "$RUNS" --export-json "$work/cold.json" --prepare "$cold" \
    -n emulated "$(emulated uv-emulated)" -n strata "$(strata_build uv-strata)" \
    -n floor "$(floor uv-floor)" >&2

echo "| uv cache | emulated: uv in an arm64 container (s) | strata build --platform linux/arm64 (s) | floor: native uv --target (s) | emulated ÷ strata |"
echo "|---|---:|---:|---:|---:|"
for cache in warm cold; do
    python3 - "$work/$cache.json" "$cache" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
e, s, f = r["emulated"], r["strata"], r["floor"]
cell = lambda x: f"{x['mean']:.2f} ± {x['stddev'] or 0:.2f}"
print(f"| {sys.argv[2]} | {cell(e)} | {cell(s)} | {cell(f)} | {e['mean'] / s['mean']:.1f}× |")
EOF
done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
