#!/usr/bin/env bash
# findings-vs-diving.sh [BIG_ARCHIVE] — strata's findings against diving-rs v0.12.
#
# (a) Recall: builds the planted image of issue 8 (fixtures/planted/build.sh), runs
#     `strata report --format json` and `diving FILE -o JSON` on its `docker save` archive,
#     and prints a markdown table: each planted item, reported by strata? by diving? An item
#     counts for diving when its JSON output names it in any form in a findings section
#     (recommendations, sensitive files, duplicate groups, runtime compatibility, unstripped
#     binaries, large files, wasted files) — the file tree listing every file does not count.
# (b) Speed: wall time and peak RSS (GNU time) of both on BIG_ARCHIVE (default
#     /var/tmp/strata-bench/out/big.docker.tar, made by bench/make-big-image.sh), best of
#     BENCH_RUNS (3) runs each, alternating. strata verifies every layer digest while it reads.
#     diving gets a fresh $HOME per run, so its analysis cache never answers for it.
#
# diving: /var/tmp/diving/bin/diving (installed there with `cargo install --locked
# diving@0.12.0 --root /var/tmp/diving` when missing). strata: target/release/strata
# (`cargo build --release` first). Needs: python3, GNU time (Debian `time`), Docker,
# busybox-static and gcc (for the planted image).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIG="${1:-/var/tmp/strata-bench/out/big.docker.tar}"
RUNS="${BENCH_RUNS:-3}"
DIVING="${DIVING:-/var/tmp/diving/bin/diving}"
STRATA="$ROOT/target/release/strata"

die() { printf 'findings-vs-diving: %s\n' "$*" >&2; exit 1; }
log() { printf '[findings-vs-diving %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[ -x /usr/bin/time ] || die "GNU time is missing (apt-get install time)"
command -v python3 >/dev/null || die "python3 is missing"
[ -f "$BIG" ] || die "$BIG is missing (run bench/make-big-image.sh)"
if [ ! -x "$DIVING" ]; then
    log "installing diving 0.12.0 into /var/tmp/diving"
    cargo install --locked diving@0.12.0 --root /var/tmp/diving
fi
(cd "$ROOT" && cargo build --release --quiet)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# (a) recall on the planted image
"$ROOT/fixtures/planted/build.sh" "$WORK/planted" 2>/dev/null
PLANTED="$WORK/planted/planted.tar"
"$STRATA" report "docker-archive:$PLANTED" --format json --no-progress >"$WORK/strata.json"
HOME="$WORK/home" "$DIVING" "file://$PLANTED" -o "$WORK/diving.json" </dev/null >/dev/null 2>&1 ||
    die "diving failed on the planted archive"

python3 - "$WORK/strata.json" "$WORK/diving.json" <<'EOF'
import json, sys

strata = json.load(open(sys.argv[1]))
diving = json.load(open(sys.argv[2]))
found = {(f["rule"], f["path"]) for f in strata["findings"]}

# diving's findings sections, by name; recommendations also by their id.
sections = {k: diving.get(k) for k in (
    "sensitiveFiles", "duplicateGroups", "runtimeCompat", "unstrippedBinaries",
    "bigModifiedFileList", "fileSummaryList")}
for rec in diving.get("recommendations", []):
    sections[rec["id"]] = rec

def diving_names(where, needle):
    """True when one of the sections `where` ("*": all) exists and names `needle`."""
    keys = sections.keys() if where == "*" else where.split(",")
    return any(sections.get(k) and needle in json.dumps(sections[k]) for k in keys)

# (planted item, strata rule, strata path, diving sections, what diving must name)
ITEMS = [
    ("private key, deleted by a later layer", "secret-private-key", "/root/.ssh/id_rsa", "secfiles,sensitiveFiles", "root/.ssh/id_rsa"),
    ("AWS access key id in a text file", "secret-aws-key", "/app/config.txt", "*", "app/config.txt"),
    (".npmrc token", "secret-npm-token", "/app/.npmrc", "*", "app/.npmrc"),
    (".env file", "secret-env-file", "/app/.env", "*", "app/.env"),
    ("setuid file", "setuid", "/bin/planted-su", "*", "bin/planted-su"),
    ("world-writable directory", "world-writable", "/shared", "*", "shared"),
    ("runs as root (no USER)", "runs-as-root", "(config) User", "runasroot", ""),
    ("entrypoint's library missing", "wont-start-missing-library", "/app/app", "*", "libplanted"),
    ("unstripped entrypoint ELF", "unstripped", "/app/app", "unstrippedBinaries", "app/app"),
    ("duplicate file", "duplicate", "/app/data/b.bin", "*", "app/data/b.bin"),
    ("docs", "docs", "/usr/share/doc", "*", "usr/share/doc"),
    ("log file", "logs", "/var/log", "*", "var/log/planted.log"),
    ("dev artifact (C header)", "dev-artifacts", "/usr/include", "*", "usr/include/planted.h"),
    ("toolchain (usr/lib/gcc)", "toolchain", "/usr/lib/gcc", "*", "usr/lib/gcc"),
    ("junk (.DS_Store)", "junk", "**/{.DS_Store,Thumbs.db,*.swp,*~,.idea,.vscode}", "*", "app/.DS_Store"),
    ("large file in the newest layer", "large-recent-file", "/app/assets/big.bin", "*", "app/assets/big.bin"),
    ("oversized layer (52 MB)", "oversized-layer", "(layer 4)", "oversized", ""),
    ("pip cache", "pip-cache", "/root/.cache/pip", "*", "root/.cache/pip"),
    ("dependencies in an app layer", "python", "/app/.venv", "*", "site-packages"),
    ("dead bytes (the deleted key)", "deleted", "/root/.ssh/id_rsa", "wasted,fileSummaryList", "root/.ssh/id_rsa"),
]

yes = lambda b: "yes" if b else "no"
hits = [0, 0]
print("| Planted item | strata | diving |")
print("|---|---|---|")
for name, rule, path, where, needle in ITEMS:
    s, d = (rule, path) in found, diving_names(where, needle)
    hits[0] += s
    hits[1] += d
    print(f"| {name} | {yes(s)} (`{rule}`) | {yes(d)} |")
n = len(ITEMS)
print(f"| **recall** | **{hits[0]}/{n} ({100 * hits[0] // n} %)** | **{hits[1]}/{n} ({100 * hits[1] // n} %)** |")
extra = sorted(found - {(r, p) for _, r, p, _, _ in ITEMS})
if extra:
    print(f"\nstrata findings beyond the planted items: {extra}")
EOF

# (b) speed on the big archive: best of RUNS, tools alternating
measure() { # measure NAME CMD... -> appends "NAME wall_seconds max_rss_kb" to $WORK/times
    local name="$1"
    shift
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/stderr.txt" ||
        die "$name failed: $(tail -3 "$WORK/stderr.txt")"
    awk -v n="$name" '/Elapsed \(wall clock\)/ { split($NF, t, ":"); s = 0;
            for (i = 1; i <= length(t); i++) s = s * 60 + t[i]; wall = s }
        /Maximum resident set size/ { rss = $NF }
        END { print n, wall, rss }' "$WORK/time.txt" >>"$WORK/times"
}
log "load before the timings: $(uptime)"
for run in $(seq "$RUNS"); do
    log "run $run/$RUNS"
    measure strata "$STRATA" report "docker-archive:$BIG" --format json --no-progress
    rm -rf "$WORK/home"
    measure diving env HOME="$WORK/home" "$DIVING" "file://$BIG" -o "$WORK/big-diving.json"
done
log "load after the timings: $(uptime)"
echo
echo "Big archive: $BIG ($(du -h "$BIG" | cut -f1)), best of $RUNS; load: $(uptime | sed 's/.*load average: //')"
echo
awk '{ if (!($1 in wall) || $2 < wall[$1]) wall[$1] = $2; if (!($1 in rss) || $3 < rss[$1]) rss[$1] = $3 }
    END {
        print "| Tool | Wall (s) | Peak RSS (MiB) |"; print "|---|---|---|"
        printf "| strata report (digests verified) | %.2f | %.0f |\n", wall["strata"], rss["strata"] / 1024
        printf "| diving -o | %.2f | %.0f |\n", wall["diving"], rss["diving"] / 1024
        printf "| **strata / diving** | **%.2f** | **%.2f** |\n", wall["strata"] / wall["diving"], rss["strata"] / rss["diving"]
    }' "$WORK/times"
