#!/usr/bin/env bash
# report-registry.sh [OUTDIR] [STRATA] — `strata report` of the benchmark image served by a real
# registry on loopback (Debian's docker-registry), against the same gzip -dc floor: the layers are
# streamed from HTTP straight into the analysis, never written to disk.
#
#   OUTDIR  output of make-big-image.sh (default: ${BENCH_CACHE:-/var/tmp/strata-bench}/out)
#   STRATA  strata binary (default: target/release/strata)
# Needs: docker-registry, skopeo, hyperfine, /usr/bin/time. Prints one markdown table row.
set -euo pipefail

die() { printf '[report-registry] ERROR: %s\n' "$*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTDIR="${1:-${BENCH_CACHE:-/var/tmp/strata-bench}/out}"
STRATA="${2:-$REPO/target/release/strata}"
[ -x "$STRATA" ] || die "strata binary not found at $STRATA (cargo build --release)"
[ -d "$OUTDIR/big-oci" ] || die "$OUTDIR/big-oci missing: run bench/make-big-image.sh first"
for tool in docker-registry skopeo hyperfine; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

work="$(mktemp -d)"
trap 'kill ${registry_pid:-0} 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck source=bench/registry.sh
. "$REPO/bench/registry.sh"
start_registry "$work"

ref="$registry_host/bench/big:latest"
skopeo copy --quiet --dest-tls-verify=false "oci:$OUTDIR/big-oci:latest" "docker://$ref"

rss_kb="$(/usr/bin/time -f '%M' "$STRATA" report "$ref" --format json --no-progress 2>&1 >/dev/null | tail -1)"
json="$(mktemp)"
hyperfine --warmup 1 --runs "${BENCH_RUNS:-5}" --export-json "$json" \
    "$STRATA report $ref --format json --no-progress" >&2
mean="$(python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["mean"])' "$json")"
echo "| strata report docker:// (loopback registry) (s) | peak RSS (MiB) |"
echo "|---:|---:|"
echo "| $mean | $(python3 -c "print('%.1f' % ($rss_kb/1024))") |"
