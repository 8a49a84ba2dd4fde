#!/usr/bin/env bash
# optimize.sh [SEED_DIR] [STRATA] — what `strata optimize` costs on the seed scenario (issue 18):
#
#   SEED_DIR  output of fixtures/seed/build.sh (default: build.sh run on the Debian + Python base
#             the tests made under /var/tmp/strata-test-debian; cached, so instant after the
#             first time); its oci/ layout holds tags base, v1 and v2
#   STRATA    strata binary (default: target/release/strata of this repository)
#
# Measures with hyperfine (--warmup 1 --runs 3, page cache warm, each run into an empty output):
#   floor     `gzip -dc` of every layer blob of v1, one after the other, to /dev/null
#   cold      STRATA optimize oci:SEED_DIR/oci:v1 --base …:base, with no previous image
#   previous  STRATA optimize oci:SEED_DIR/oci:v2 --previous o1, o1 being the cold run's output
# and the peak RSS of one cold run with GNU time (/usr/bin/time -v). Prints a markdown table:
# floor s, cold s, cold/floor, peak RSS, with --previous s, previous/cold. The targets of issue 18
# are cold ≤ 1.5 × floor, peak RSS ≤ 200 MB, previous ≤ 0.5 × cold.
#
# Env: BENCH_WARMUP (default 1), BENCH_RUNS (default 3), TMPDIR (the outputs, ~1 GB).
# Debian packages needed: hyperfine, jq, time, gzip; build.sh's own (docker, skopeo, pip).
set -euo pipefail

die() { printf '[optimize] ERROR: %s\n' "$*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SEED_DIR="${1:-}"
STRATA="${2:-$REPO/target/release/strata}"
WARMUP="${BENCH_WARMUP:-1}"
RUNS="${BENCH_RUNS:-3}"

for tool in hyperfine jq gzip; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install $tool)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
[ -x "$STRATA" ] || die "strata binary not found at '$STRATA' — build it first (cargo build --release) or pass its path as the 2nd argument"
STRATA="$(cd "$(dirname "$STRATA")" && pwd)/$(basename "$STRATA")"

if [ -z "$SEED_DIR" ]; then
    # The tests' Debian + Python base: the one made image with python3-venv in it.
    base=""
    for dir in /var/tmp/strata-test-debian/bookworm-*/; do
        compgen -G "$dir/rootfs/usr/lib/python3*/venv" >/dev/null && base="${dir%/}"
    done
    [ -n "$base" ] || die "no Debian + Python base in /var/tmp/strata-test-debian: run \`cargo test --test it -- debian_base::\` first, or pass SEED_DIR"
    SEED_DIR="$("$REPO/fixtures/seed/build.sh" "$base/rootfs" "$base/layout")"
fi
LAYOUT="$SEED_DIR/oci"
[ -f "$LAYOUT/index.json" ] || die "no OCI layout at '$LAYOUT' — pass the output of fixtures/seed/build.sh"
LAYOUT="$(cd "$LAYOUT" && pwd)"

TMP="$(mktemp -d "${TMPDIR:-/var/tmp}/strata-bench-optimize.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

blob_path() { printf '%s/blobs/%s/%s\n' "$LAYOUT" "${1%%:*}" "${1#*:}"; }
manifest_of() {
    local digest
    digest="$(jq -r --arg tag "$1" '.manifests[]
        | select(.annotations["org.opencontainers.image.ref.name"] == $tag) | .digest' "$LAYOUT/index.json")"
    [ -n "$digest" ] || die "no tag $1 in $LAYOUT"
    blob_path "$digest"
}

# --- the floor: decompress each layer blob of v1 in manifest order ----------------------------
floor_cmd=""
n_layers=0
compressed_bytes=0
while IFS=$'\t' read -r media digest; do
    path="$(blob_path "$digest")"
    case "$media" in
        *+gzip|*.gzip) ;;
        *) die "layer $digest is $media, not gzip: the floor is gzip -dc" ;;
    esac
    floor_cmd+="${floor_cmd:+ && }gzip -dc $(printf '%q' "$path") >/dev/null"
    n_layers=$((n_layers + 1))
    compressed_bytes=$((compressed_bytes + $(stat -c %s "$path")))
done < <(jq -r '.layers[] | [.mediaType, .digest] | @tsv' "$(manifest_of v1)")

q() { printf '%q' "$1"; }
optimize_cmd() { # VERSION OUT [PREVIOUS]
    printf '%s optimize %s --base %s --output %s --no-progress%s >/dev/null' "$(q "$STRATA")" \
        "$(q "oci:$LAYOUT:$1")" "$(q "oci:$LAYOUT:base")" "$(q "oci:$2:v")" \
        "${3:+ --previous $(q "oci:$3:v")}"
}
cold_cmd="$(optimize_cmd v1 "$TMP/cold")"
previous_cmd="$(optimize_cmd v2 "$TMP/o2" "$TMP/o1")"

# --- checked runs first (o1, the previous image of the last measure; the peak RSS) -----------
echo "strata: $STRATA" >&2
echo "image:  oci:$LAYOUT:v1 ($n_layers layers, $((compressed_bytes / 1048576)) MiB compressed)" >&2
run_checked() { # NAME COMMAND
    if ! /usr/bin/time -v -o "$TMP/$1.time" bash -c "$2" 2>"$TMP/$1.err"; then
        cat "$TMP/$1.err" >&2
        die "$1 run failed: $2"
    fi
}
run_checked cold "$(optimize_cmd v1 "$TMP/o1")"
rss_kb="$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$TMP/cold.time")"
[ -n "$rss_kb" ] || die "could not read peak RSS from /usr/bin/time -v"
run_checked previous "$previous_cmd"

# --- the benchmark ------------------------------------------------------------------------------
hyperfine --warmup "$WARMUP" --runs "$RUNS" --export-json "$TMP/hyperfine.json" \
    --prepare true -n floor "$floor_cmd" \
    --prepare "rm -rf $(q "$TMP/cold")" -n cold "$cold_cmd" \
    --prepare "rm -rf $(q "$TMP/o2")" -n previous "$previous_cmd" >&2

mean() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean' "$TMP/hyperfine.json"; }
awk -v f="$(mean floor)" -v c="$(mean cold)" -v p="$(mean previous)" -v kb="$rss_kb" 'BEGIN {
    print "| floor: gzip -dc all layers (s) | cold optimize (s) | cold/floor | peak RSS (MiB) | v2 with --previous (s) | previous/cold |"
    print "|---:|---:|---:|---:|---:|---:|"
    printf "| %.3f | %.3f | %.2f | %.1f | %.3f | %.2f |\n", f, c, c / f, kb / 1024, p, p / c
}'
