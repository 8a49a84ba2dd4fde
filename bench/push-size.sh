#!/usr/bin/env bash
# push-size.sh [OUTDIR] [STRATA] — how close is strata's "est. push" figure for a `docker save`
# archive (layers stored uncompressed) to what a push really sends, and what does it cost?
#
#   OUTDIR  output of make-big-image.sh (default: ${BENCH_CACHE:-/var/tmp/strata-bench}/out);
#           must contain big.docker.tar and the OCI layout big-oci/ (gzip layers made by skopeo)
#   STRATA  strata binary (default: target/release/strata of this repository)
#
# Per layer, three figures for the same tar:
#   strata   `strata report docker-archive:big.docker.tar --format json`: layers[].compressed_bytes
#            (compressed_bytes_source = estimated_push_gzip)
#   gzip -6  GNU gzip at its default level over the layer tar (the exact level-6 size)
#   skopeo   the blob size in big-oci/, which `skopeo copy` gzipped (what a push of the archive
#            with skopeo sends)
# and the wall time (hyperfine) of the strata report against `gzip -6` of every layer, one after
# the other (what measuring every byte exactly would cost) and `cat` of every layer (reading it).
# Prints markdown tables.
#
# Env: BENCH_WARMUP (default 1), BENCH_RUNS (default 3).
# Debian packages needed: hyperfine, jq, gzip, tar.
set -euo pipefail

die() { printf '[push-size] ERROR: %s\n' "$*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUTDIR="${1:-${BENCH_CACHE:-/var/tmp/strata-bench}/out}"
STRATA="${2:-$REPO/target/release/strata}"
WARMUP="${BENCH_WARMUP:-1}"
RUNS="${BENCH_RUNS:-3}"

for tool in hyperfine jq gzip tar; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (apt-get install $tool)"
done
[ -x "$STRATA" ] || die "strata binary not found at '$STRATA' — build it first (cargo build --release) or pass its path"
ARCHIVE="$OUTDIR/big.docker.tar"
LAYOUT="$OUTDIR/big-oci"
[ -f "$ARCHIVE" ] || die "no docker archive at '$ARCHIVE' — run bench/make-big-image.sh '$OUTDIR' first"
[ -f "$LAYOUT/index.json" ] || die "no OCI layout at '$LAYOUT' — run bench/make-big-image.sh '$OUTDIR' first"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
tar -xf "$ARCHIVE" -C "$TMP"
mapfile -t LAYERS < <(jq -r '.[0].Layers[]' "$TMP/manifest.json")

"$STRATA" report "docker-archive:$ARCHIVE" --format json --no-progress > "$TMP/report.json"
jq -e '.layers | all(.compressed_bytes_source == "estimated_push_gzip")' "$TMP/report.json" >/dev/null \
    || die "strata did not estimate every layer of the archive (is it a docker save of uncompressed layers?)"

manifest_of() { # the layout's image manifest for tag latest
    local digest
    digest="$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest") | .digest' "$LAYOUT/index.json")"
    cat "$LAYOUT/blobs/${digest%%:*}/${digest#*:}"
}
mapfile -t SKOPEO < <(manifest_of | jq -r '.layers[].size')
[ "${#SKOPEO[@]}" = "${#LAYERS[@]}" ] || die "the layout and the archive differ in layer count"

echo "| layer | stored (tar) | strata est. push | gzip -6 | skopeo's gzip | strata vs gzip -6 | strata vs skopeo |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
total_est=0; total_gz=0; total_sk=0; total_tar=0
for i in "${!LAYERS[@]}"; do
    file="$TMP/${LAYERS[$i]}"
    tar_bytes="$(stat -c %s "$file")"
    est="$(jq -r ".layers[$i].compressed_bytes" "$TMP/report.json")"
    gz="$(gzip -6 -c "$file" | wc -c)"
    sk="${SKOPEO[$i]}"
    total_est=$((total_est + est)); total_gz=$((total_gz + gz)); total_sk=$((total_sk + sk))
    total_tar=$((total_tar + tar_bytes))
    awk -v i="$i" -v t="$tar_bytes" -v e="$est" -v g="$gz" -v s="$sk" 'BEGIN {
        printf "| %d | %d | %d | %d | %d | %+.2f %% | %+.2f %% |\n", i, t, e, g, s, (e-g)*100/g, (e-s)*100/s }'
done
awk -v t="$total_tar" -v e="$total_est" -v g="$total_gz" -v s="$total_sk" 'BEGIN {
    printf "| all | %d | %d | %d | %d | %+.2f %% | %+.2f %% |\n", t, e, g, s, (e-g)*100/g, (e-s)*100/s }'
echo

files=""
for l in "${LAYERS[@]}"; do files="$files $TMP/$l"; done
hyperfine --style basic --warmup "$WARMUP" --runs "$RUNS" --export-markdown "$TMP/times.md" \
    -n "strata report docker-archive (with the estimate)" \
    "$STRATA report docker-archive:$ARCHIVE --format json --no-progress > /dev/null" \
    -n "gzip -6 of every layer" "for f in $files; do gzip -6 -c \$f > /dev/null; done" \
    -n "cat of every layer" "cat $files > /dev/null" >&2
cat "$TMP/times.md"
