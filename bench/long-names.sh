#!/usr/bin/env bash
# long-names.sh [STRATA] — time and memory bounds for huge names (issue 19, item 1).
#
#   STRATA  strata binary (default: target/release/strata of this repository)
#
# Generates (with Python's tarfile) an OCI layout whose one gzip layer (a few hundred KiB) holds
#   - a file named by a GNU long name (`././@LongLink`, type L) of 64 MiB,
#   - a symlink whose target is a GNU long link (type K) of 64 MiB,
#   - a file named by a PAX `path` record of 64 MiB,
#   - a symlink whose target is a PAX `linkpath` record of 64 MiB,
# then runs `strata report` in table, json and markdown and `strata check` (table and json), each
# under GNU time (/usr/bin/time -v), and asserts for every run: exit code as expected, CPU time
# (user + system; the wall time is printed too, but a shared machine's load inflates it) under
# BOUND_SECONDS (default 2) and peak RSS under BOUND_MB (default 100), and that the output
# carries strata's cut marker (`…(cut: 67108866 bytes, sha256 …)`) and no name longer than the
# limit (no run of a name's repeated letter past 64 KiB). Tables are drawn 1000 columns wide
# (COLUMNS), so a cell's marker is on one line. Prints a markdown table of the figures (the
# longest run of a name's letter among them); exits 1 when a bound fails.
#
# Env: BOUND_SECONDS, BOUND_MB, NAME_MIB (default 64), KEEP=1 keeps the work directory.
# Debian packages needed: python3, time.
set -euo pipefail

die() { printf '[long-names] ERROR: %s\n' "$*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STRATA="${1:-$REPO/target/release/strata}"
BOUND_SECONDS="${BOUND_SECONDS:-2}"
BOUND_MB="${BOUND_MB:-100}"
NAME_MIB="${NAME_MIB:-64}"

command -v python3 >/dev/null 2>&1 || die "python3 not found (apt-get install python3)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
[ -x "$STRATA" ] || die "strata binary not found at '$STRATA' — build it first (cargo build --release) or pass its path"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/strata-long-names.XXXXXX")"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; fi

python3 - "$WORK/oci" "$NAME_MIB" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile

out, mib = sys.argv[1], int(sys.argv[2])
n = mib << 20
members = []
def add(fmt_name, fmt, entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, target in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1
            if target is None:
                data = b"content\n"
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                info.type = tarfile.SYMTYPE
                info.linkname = target
                t.addfile(info)
    return buf.getvalue()

# One layer: the GNU entries, then the PAX ones (a tar may mix formats).
gnu = add("gnu", tarfile.GNU_FORMAT, [("g/" + "x" * n, None), ("g/link", "/" + "y" * (n - 1))])
pax = add("pax", tarfile.PAX_FORMAT, [("p/" + "z" * n, None), ("p/link", "/" + "w" * (n - 1))])
# Drop the first archive's end blocks (two zero blocks and the record padding).
end = len(gnu)
while end >= 512 and gnu[end - 512:end] == bytes(512):
    end -= 512
layer = gnu[:end] + pax

def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
    with open(f"{out}/blobs/sha256/{digest}", "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)

gz = gzip.compress(layer, compresslevel=9, mtime=0)
layer_digest, layer_size = blob(gz)
config = {
    "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
    "history": [{"created_by": "long names"}],
}
config_digest, config_size = blob(json.dumps(config).encode())
manifest = {
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": config_digest, "size": config_size},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer_digest, "size": layer_size}],
}
manifest_digest, manifest_size = blob(json.dumps(manifest).encode())
with open(f"{out}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest, "size": manifest_size,
        "annotations": {"org.opencontainers.image.ref.name": "long"}}]}, f)
with open(f"{out}/oci-layout", "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
print(f"[long-names] layer: {len(layer)} bytes of tar, {layer_size} bytes gzip; names of {n + 2} bytes",
      file=sys.stderr)
PY

IMAGE="oci:$WORK/oci:long"
MARKER="…(cut: $(((NAME_MIB << 20) + 2)) bytes, sha256 "
failed=0
printf '| run | exit | CPU s | wall s | peak RSS MB | marker | longest name run |\n|---|---|---|---|---|---|---|\n'
run() { # NAME EXPECTED_EXIT ARGS...
    local name="$1" expected="$2"
    shift 2
    local out="$WORK/$name.out" timing="$WORK/$name.time" code=0
    COLUMNS=1000 /usr/bin/time -v -o "$timing" "$STRATA" "$@" >"$out" 2>"$WORK/$name.err" || code=$?
    local wall rss_kb seconds cpu longest marker=no
    wall="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$timing")"
    rss_kb="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$timing")"
    seconds="$(awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$wall")"
    cpu="$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$timing")"
    longest="$(python3 -c 'import re, sys; t = open(sys.argv[1], "rb").read(); print(max([len(m.group()) for m in re.finditer(rb"x+|y+|z+|w+", t)] or [0]))' "$out")"
    grep -qF "$MARKER" "$out" && marker=yes
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$code" "$cpu" "$seconds" "$((rss_kb / 1024))" "$marker" "$longest"
    if [ "$code" != "$expected" ]; then
        printf '[long-names] FAIL %s: exit %s, expected %s: %s\n' "$name" "$code" "$expected" "$(head -c 300 "$WORK/$name.err")" >&2
        failed=1
    fi
    if awk -v s="$cpu" -v b="$BOUND_SECONDS" 'BEGIN { exit !(s >= b) }'; then
        printf '[long-names] FAIL %s: %s s of CPU, bound %s s\n' "$name" "$cpu" "$BOUND_SECONDS" >&2
        failed=1
    fi
    if [ "$((rss_kb / 1024))" -ge "$BOUND_MB" ]; then
        printf '[long-names] FAIL %s: %s MB peak RSS, bound %s MB\n' "$name" "$((rss_kb / 1024))" "$BOUND_MB" >&2
        failed=1
    fi
    if [ "$marker" != yes ]; then
        printf '[long-names] FAIL %s: no cut marker in the output\n' "$name" >&2
        failed=1
    fi
    # No output may hold more of a name than the limit (64 KiB).
    if [ "$longest" -gt 65536 ]; then
        printf '[long-names] FAIL %s: %s bytes of one name\n' "$name" "$longest" >&2
        failed=1
    fi
}
run report-table 0 report "$IMAGE" --format table
run report-json 0 report "$IMAGE" --format json
run report-markdown 0 report "$IMAGE" --format markdown
run check-table 1 check "$IMAGE" --forbid-path '/p/*' --forbid-path '/g/*'
run check-json 1 check "$IMAGE" --forbid-path '/p/*' --forbid-path '/g/*' --format json
if [ "$failed" != 0 ]; then
    printf '[long-names] a bound failed (KEEP=1 keeps the outputs)\n' >&2
    exit 1
fi
printf '[long-names] every run within %s s and %s MB\n' "$BOUND_SECONDS" "$BOUND_MB" >&2
