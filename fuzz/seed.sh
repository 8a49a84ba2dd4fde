#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds taken from the third-party fixtures in ../shared/fixtures/
# (a sibling of the checkout; override with FIXTURES=DIR). Seeds are named by their SHA-256, so running
# this again adds nothing twice. Corpora are git-ignored: never commit them.
#
#   layer_walk       layer blobs (plain, gzip, zstd, estargz) from the OCI layouts and the archives,
#                    plus the small archives themselves (a tar is a tar)
#   manifest         manifest, index and config JSON from the layouts and archives
#   docker_archive   whole archives of at most 100 KB
#   analyze_archive  the same archives
#   analyze_layers   none: its input is structured (arbitrary), the fuzzer starts from scratch
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fixtures=${FIXTURES:-$here/../../shared/fixtures}
corpus=$here/corpus
max_archive=$((100 * 1024))  # whole archives up to this size
max_layer=$((1024 * 1024))   # layer blobs up to this size (run.sh truncates inputs to -max_len anyway)

if [ ! -d "$fixtures" ]; then
    echo "seed.sh: no fixtures at $fixtures (set FIXTURES=DIR)" >&2
    exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

for t in layer_walk manifest docker_archive analyze_archive analyze_layers; do
    mkdir -p "$corpus/$t"
done

# add TARGET FILE: copies FILE into the target's corpus under its content hash.
add() {
    local sum
    sum=$(sha256sum "$2" | cut -c1-40)
    cp -f "$2" "$corpus/$1/$sum"
    chmod u+w "$corpus/$1/$sum"
}

is_json() {
    # The first non-blank byte is { or [.
    local first
    first=$(head -c 256 "$1" | tr -d ' \t\r\n\000' | head -c1)
    [ "$first" = "{" ] || [ "$first" = "[" ]
}

# classify FILE: JSON goes to manifest, everything else that is not too big is a layer candidate.
classify() {
    local f=$1 size
    size=$(stat -c %s "$f")
    [ "$size" -gt 0 ] || return 0
    if is_json "$f"; then
        [ "$size" -le "$max_layer" ] && add manifest "$f"
    elif [ "$size" -le "$max_layer" ]; then
        add layer_walk "$f"
    fi
    return 0
}

# OCI layouts on disk: index.json and every blob.
while IFS= read -r -d '' f; do
    classify "$f"
done < <(find "$fixtures" -path '*/blobs/*' -type f -print0 -o -name index.json -type f -print0)

# Archives: the members (layers, manifest.json, configs, index.json, blobs), and small archives whole.
n=0
while IFS= read -r -d '' archive; do
    n=$((n + 1))
    dir=$scratch/$n
    mkdir -p "$dir"
    if tar -xf "$archive" -C "$dir" 2>/dev/null; then
        while IFS= read -r -d '' f; do
            classify "$f"
        done < <(find "$dir" -type f -print0)
    fi
    if [ "$(stat -c %s "$archive")" -le "$max_archive" ]; then
        add docker_archive "$archive"
        add analyze_archive "$archive"
        add layer_walk "$archive"
    fi
done < <(find "$fixtures" -name '*.tar' -type f -print0)

for t in layer_walk manifest docker_archive analyze_archive analyze_layers; do
    printf '%-16s %4d seeds, %8d bytes\n' "$t" "$(find "$corpus/$t" -type f | wc -l)" \
        "$(find "$corpus/$t" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
done
