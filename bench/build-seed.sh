#!/usr/bin/env bash
# build-seed.sh [STRATA] — the seed scenario end to end with real PyPI wheels: `strata build` of
# the benchmark app (Debian+Python base, a 1.2 GB .venv as the dependency layer, the code as the app
# layer) pushed to a loopback registry; then one changed line, rebuilt and pushed again. Compared
# with `umoci insert` of the same directories into the same base. Needs the output of
# make-big-image.sh (the base image in Docker and the build context), docker-registry, skopeo,
# umoci, hyperfine-free timing via /usr/bin/time. Prints markdown table rows.
set -euo pipefail

die() { printf '[build-seed] ERROR: %s\n' "$*" >&2; exit 1; }
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STRATA="${1:-$REPO/target/release/strata}"
CACHE="${BENCH_CACHE:-/var/tmp/strata-bench}"
VENV="$CACHE/context/app/.venv"
[ -x "$STRATA" ] || die "strata binary not found at $STRATA"
[ -d "$VENV" ] || die "$VENV missing: run bench/make-big-image.sh first"
docker image inspect strata-bench/base:latest >/dev/null 2>&1 || die "strata-bench/base:latest missing: run bench/make-big-image.sh"
for t in docker-registry skopeo umoci; do command -v "$t" >/dev/null || die "$t not found"; done

work="$(mktemp -d /var/tmp/strata-build-seed.XXXXXX)"
trap 'kill ${registry_pid:-0} 2>/dev/null; rm -rf "$work"' EXIT
skopeo copy --quiet docker-daemon:strata-bench/base:latest "oci:$work/base:latest"
cp -a "$CACHE/context/app/src" "$work/src"

# shellcheck source=bench/registry.sh
. "$REPO/bench/registry.sh"
start_registry "$work"
ref="$registry_host/bench/app"

# timed CMD... : prints "seconds max_rss_kb cpu_seconds" of CMD (its stdout goes to $work/last.json);
# CPU time (user + system) moves less than wall time on a shared machine.
# Each timed command starts with no dirty pages left behind by the previous step (`sync`), so no
# tool pays for another's writeback.
timed() {
    sync
    /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$@" > "$work/last.json"
    awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$work/time"
}
# build TAG DEST CACHE: the seed build to DEST (a registry ref or oci:DIR) with its own cache.
build() {
    timed "$STRATA" build --base "oci:$work/base:latest" \
        --layer "deps=$VENV:/app/.venv" --layer "app=$work/src:/app/src" \
        --entrypoint /app/.venv/bin/python --cmd -m --cmd strata_demo \
        --cache-dir "$3" --output "$2:$1" --format json --no-progress
}
uploaded() { python3 -c 'import json,sys; o=json.load(open(sys.argv[1]))["outputs"][0]; print(o["uploaded_bytes"], o["uploaded"], o["skipped"])' "$work/last.json"; }
src_file="$(find "$work/src" -name '*.py' | head -1)"

# Into an OCI layout, as umoci writes one: cold cache, then one changed line.
cp "$src_file" "$work/original.py"
read -r lay_s lay_rss lay_cpu <<<"$(build v1 "oci:$work/out" "$work/cache-layout")"
echo "# changed line" >> "$src_file"
read -r lay_code_s _ _ <<<"$(build v2 "oci:$work/out" "$work/cache-layout")"
read -r lay_code_bytes _ _ <<<"$(uploaded)"
cp "$work/original.py" "$src_file"

# Pushed to the registry: cold cache, then one changed line.
read -r full_s full_rss full_cpu <<<"$(build v1 "docker://$ref" "$work/cache")"
read -r full_bytes full_blobs _ <<<"$(uploaded)"
echo "# changed line" >> "$src_file"
read -r code_s code_rss _ <<<"$(build v2 "docker://$ref" "$work/cache")"
read -r code_bytes code_blobs code_skipped <<<"$(uploaded)"

# umoci insert of the same two directories into the same base (its own layout copy).
skopeo copy --quiet docker-daemon:strata-bench/base:latest "oci:$work/umoci:latest"
umoci_both() {
    umoci insert --rootless --image "$work/umoci:latest" "$VENV" /app/.venv
    umoci insert --rootless --image "$work/umoci:latest" "$work/src" /app/src
}
export -f umoci_both
export work VENV
read -r umoci_s _ umoci_cpu <<<"$(timed bash -c umoci_both)"
ratios() {
    python3 - "$@" <<'PY'
import sys
full, code, umoci, full_cpu, umoci_cpu = map(float, sys.argv[1:])
print("%.1f %.2f %.2f" % (100 * code / full, full / umoci, full_cpu / umoci_cpu))
PY
}
read -r lay_pct lay_ratio lay_cpu_ratio <<<"$(ratios "$lay_s" "$lay_code_s" "$umoci_s" "$lay_cpu" "$umoci_cpu")"
read -r code_pct umoci_ratio cpu_ratio <<<"$(ratios "$full_s" "$code_s" "$umoci_s" "$full_cpu" "$umoci_cpu")"
echo "| output | full build (s) | peak RSS (MB) | bytes written | code-only rebuild (s) | bytes written (blobs sent / skipped) | code-only / full | umoci insert (s) | full build / umoci | CPU s: strata / umoci |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
echo "| OCI layout | $lay_s | $((lay_rss / 1024)) | — | $lay_code_s | $lay_code_bytes | $lay_pct % | $umoci_s | $lay_ratio | $lay_cpu / $umoci_cpu ($lay_cpu_ratio) |"
echo "| registry push | $full_s | $((full_rss / 1024)) | $full_bytes | $code_s | $code_bytes ($code_blobs / $code_skipped) | $code_pct % | $umoci_s | $umoci_ratio | $full_cpu / $umoci_cpu ($cpu_ratio) |"
