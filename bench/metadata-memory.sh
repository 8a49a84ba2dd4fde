#!/usr/bin/env bash
# metadata-memory.sh [STRATA] — time and peak memory of strata on huge metadata (issue 19, item 9):
#
#   files   one layer of 1 000 000 empty files (a 1 GB tar of headers, gzip -1): `report` in
#           every format and `check` must each finish within MAX_SECONDS and MAX_RSS_MB
#   layers  a manifest of 150 000 layers (24 MB, all the same tiny blob) as an OCI layout:
#           `report` and `check` must exit 2 naming the layer cap, within LAYERS_SECONDS and
#           LAYERS_RSS_MB (refused before anything per layer is built)
#
# Measured with /usr/bin/time -v (elapsed wall clock, maximum resident set size). Prints one
# markdown row per run and exits 1 when any bound is exceeded.
#
#   STRATA  strata binary (default: target/release/strata of this repository)
# Env: MAX_SECONDS (default 120), MAX_RSS_MB (default 300), LAYERS_SECONDS (default 5),
#      LAYERS_RSS_MB (default 200), BENCH_FILES (default 1000000), BENCH_LAYERS (default 150000),
#      BENCH_CACHE (default /var/tmp/strata-bench: the images are made once, under metadata/).
# Debian packages needed: python3, time.
set -euo pipefail

die() { printf '[metadata-memory] ERROR: %s\n' "$*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STRATA="${1:-$REPO/target/release/strata}"
MAX_SECONDS="${MAX_SECONDS:-120}"
MAX_RSS_MB="${MAX_RSS_MB:-300}"
LAYERS_SECONDS="${LAYERS_SECONDS:-5}"
LAYERS_RSS_MB="${LAYERS_RSS_MB:-200}"
FILES="${BENCH_FILES:-1000000}"
LAYERS="${BENCH_LAYERS:-150000}"
CACHE="${BENCH_CACHE:-/var/tmp/strata-bench}/metadata"

command -v python3 >/dev/null 2>&1 || die "python3 not found (apt-get install python3)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
[ -x "$STRATA" ] || die "strata binary not found at '$STRATA' — build it first (cargo build --release) or pass its path"
mkdir -p "$CACHE"

# make_layout DIR KIND N: an OCI layout tagged `t`; KIND files (one layer of N files) or layers
# (N layers, one blob).
make_layout() {
    [ -f "$1/index.json" ] && return 0
    rm -rf "$1.tmp"
    python3 - "$1.tmp" "$2" "$3" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile

root, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(os.path.join(root, "blobs", "sha256"))

def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest

def tar_of(names):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name in names:
            info = tarfile.TarInfo(name)
            info.mtime = 1
            t.addfile(info)
    return buf.getvalue()

if kind == "files":
    tar = tar_of(f"usr/share/d{i % 1000}/file-{i}.txt" for i in range(n))
    count = 1
else:
    tar = tar_of(["f"])
    count = n
gz = gzip.compress(tar, 1, mtime=0)
layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(gz), "size": len(gz)}
diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": [diff_id] * count},
                     "history": [{"created_by": "generated"}] * count}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": blob(config), "size": len(config)},
                       "layers": [layer] * count}).encode()
index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": blob(manifest), "size": len(manifest),
         "annotations": {"org.opencontainers.image.ref.name": "t"}}]}
with open(os.path.join(root, "index.json"), "w") as f:
    json.dump(index, f)
with open(os.path.join(root, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
PY
    mv "$1.tmp" "$1"
}

FAILED=0
# measure NAME WANT_EXIT MAX_S MAX_MB ARGS...: runs strata ARGS under /usr/bin/time -v.
measure() {
    local name="$1" want="$2" max_s="$3" max_mb="$4"
    shift 4
    local stats="$TMP/time.txt" code=0
    /usr/bin/time -v -o "$stats" "$STRATA" "$@" >"$TMP/out" 2>"$TMP/err" || code=$?
    local rss_kb wall secs mb verdict=ok
    rss_kb="$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$stats")"
    wall="$(sed -n 's/^\s*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$stats")"
    secs="$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')"
    mb=$((rss_kb / 1024))
    if [ "$code" != "$want" ]; then
        verdict="FAIL: exit $code, not $want ($(head -c 300 "$TMP/err"))"
    elif awk -v s="$secs" -v m="$max_s" 'BEGIN { exit !(s > m) }'; then
        verdict="FAIL: over $max_s s"
    elif [ "$mb" -gt "$max_mb" ]; then
        verdict="FAIL: over $max_mb MB"
    fi
    [ "$verdict" = ok ] || FAILED=1
    printf '| %s | %s | %s s | %s MB | %s |\n' "$name" "$code" "$secs" "$mb" "$verdict"
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
make_layout "$CACHE/files-$FILES" files "$FILES"
make_layout "$CACHE/layers-$LAYERS" layers "$LAYERS"
FILES_REF="oci:$CACHE/files-$FILES:t"
LAYERS_REF="oci:$CACHE/layers-$LAYERS:t"

echo "| run | exit | wall | max RSS | verdict |"
echo "|---|---:|---:|---:|---|"
for format in table json markdown html; do
    measure "report $FILES files --format $format" 0 "$MAX_SECONDS" "$MAX_RSS_MB" \
        report "$FILES_REF" --format "$format" --no-progress
done
measure "check $FILES files" 0 "$MAX_SECONDS" "$MAX_RSS_MB" check "$FILES_REF" --max-total 10GB --no-progress
for command in report check; do
    measure "$command $LAYERS layers" 2 "$LAYERS_SECONDS" "$LAYERS_RSS_MB" "$command" "$LAYERS_REF" --no-progress
    grep -q "layers, more than the 4096 strata reads" "$TMP/err" \
        || { echo "[metadata-memory] $command of $LAYERS layers did not name the cap: $(head -c 300 "$TMP/err")" >&2; FAILED=1; }
done
exit "$FAILED"
