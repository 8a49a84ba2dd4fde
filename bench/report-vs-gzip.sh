#!/usr/bin/env bash
# report-vs-gzip.sh [OUTDIR] [STRATA] — how close is `strata report` to the
# cost of just decompressing the image?
#
#   OUTDIR  output of make-big-image.sh (default: ${BENCH_CACHE:-/var/tmp/strata-bench}/out);
#           must contain the OCI layout big-oci/ (tag "latest")
#   STRATA  strata binary (default: target/release/strata of this repository)
#
# Measures with hyperfine (--warmup 1 --runs 5, page cache warm):
#   floor   decompress every layer blob of the OCI layout, one after the other,
#           to /dev/null (gzip -dc; zstd -dc / cat for other media types)
#   strata  STRATA report oci:OUTDIR/big-oci:latest --format json > /dev/null
# and the peak RSS of one strata run with GNU time (/usr/bin/time -v).
# Prints a markdown table: floor s, strata s, strata/floor, peak RSS.
#
# Env: BENCH_WARMUP (default 1), BENCH_RUNS (default 5).
# Debian packages needed: hyperfine, jq, time, gzip (+ zstd for zstd layers).
set -euo pipefail

die() { printf '[report-vs-gzip] ERROR: %s\n' "$*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTDIR="${1:-${BENCH_CACHE:-/var/tmp/strata-bench}/out}"
STRATA="${2:-$REPO/target/release/strata}"
WARMUP="${BENCH_WARMUP:-1}"
RUNS="${BENCH_RUNS:-5}"

# --- preconditions, each with a clear message -------------------------------
command -v hyperfine >/dev/null 2>&1 || die "hyperfine not found (apt-get install hyperfine)"
command -v jq >/dev/null 2>&1 || die "jq not found (apt-get install jq)"
command -v gzip >/dev/null 2>&1 || die "gzip not found (apt-get install gzip)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"

if [ ! -e "$STRATA" ]; then
    die "strata binary not found at '$STRATA' — build it first (cargo build --release) or pass its path as the 2nd argument"
fi
[ -x "$STRATA" ] || die "'$STRATA' is not executable"
STRATA="$(cd "$(dirname "$STRATA")" && pwd)/$(basename "$STRATA")"

LAYOUT="$OUTDIR/big-oci"
[ -f "$LAYOUT/index.json" ] || die "no OCI layout at '$LAYOUT' — run bench/make-big-image.sh '$OUTDIR' first"
LAYOUT="$(cd "$LAYOUT" && pwd)"
IMAGE_REF="oci:$LAYOUT:latest"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

blob_path() { printf '%s/blobs/%s/%s\n' "$LAYOUT" "${1%%:*}" "${1#*:}"; }

# --- the floor command: decompress each layer blob in manifest order ----------
manifest_digest="$(jq -r '
    (.manifests | map(select(.annotations["org.opencontainers.image.ref.name"] == "latest")) | first)
    // .manifests[0] | .digest' "$LAYOUT/index.json")"
manifest="$(blob_path "$manifest_digest")"
[ -f "$manifest" ] || die "manifest blob $manifest_digest missing from $LAYOUT"

floor_cmd=""
n_layers=0
compressed_bytes=0
while IFS=$'\t' read -r media digest; do
    path="$(blob_path "$digest")"
    [ -f "$path" ] || die "layer blob $digest missing from $LAYOUT"
    case "$media" in
        *+gzip|*.gzip)  tool="gzip -dc" ;;
        *+zstd|*.zstd)  tool="zstd -qdc"
                        command -v zstd >/dev/null 2>&1 || die "zstd layers need zstd (apt-get install zstd)" ;;
        *.tar|*.tar.v1|*image.rootfs.diff.tar) tool="cat" ;;
        *) die "unsupported layer media type: $media" ;;
    esac
    floor_cmd+="${floor_cmd:+ && }$tool $(printf '%q' "$path") >/dev/null"
    n_layers=$((n_layers + 1))
    compressed_bytes=$((compressed_bytes + $(stat -c %s "$path")))
done < <(jq -r '.layers[] | [.mediaType, .digest] | @tsv' "$manifest")
[ "$n_layers" -gt 0 ] || die "manifest $manifest_digest lists no layers"

strata_cmd="$(printf '%q' "$STRATA") report $(printf '%q' "$IMAGE_REF") --format json >/dev/null"

# --- one checked run first: fail clearly instead of benchmarking an error -----
# This run also gives the peak RSS (GNU time's "Maximum resident set size").
echo "strata: $STRATA" >&2
echo "image:  $IMAGE_REF ($n_layers layers, $((compressed_bytes / 1048576)) MiB compressed)" >&2
if ! /usr/bin/time -v -o "$TMP/time.txt" \
        "$STRATA" report "$IMAGE_REF" --format json >"$TMP/report.json" 2>"$TMP/stderr.txt"; then
    cat "$TMP/stderr.txt" >&2
    die "'$STRATA report $IMAGE_REF --format json' failed (see its stderr above)"
fi
# (jq accepts empty input, so check for output first.)
[ -s "$TMP/report.json" ] || die "strata report --format json printed nothing"
jq -e 'type == "object" or type == "array"' "$TMP/report.json" >/dev/null 2>&1 \
    || die "strata report --format json did not print a JSON object or array"
rss_kb="$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$TMP/time.txt")"
[ -n "$rss_kb" ] || die "could not read peak RSS from /usr/bin/time -v"

# --- the benchmark ------------------------------------------------------------
hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$TMP/hyperfine.json" \
    -n floor "$floor_cmd" \
    -n strata "$strata_cmd" >&2

floor_s="$(jq -r '.results[] | select(.command == "floor") | .mean' "$TMP/hyperfine.json")"
strata_s="$(jq -r '.results[] | select(.command == "strata") | .mean' "$TMP/hyperfine.json")"

awk -v f="$floor_s" -v s="$strata_s" -v kb="$rss_kb" 'BEGIN {
    print "| floor: gzip -dc all layers (s) | strata report (s) | strata/floor | strata peak RSS (MiB) |"
    print "|---:|---:|---:|---:|"
    printf "| %.3f | %.3f | %.2f | %.1f |\n", f, s, s / f, kb / 1024
}'
