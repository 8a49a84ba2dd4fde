#!/usr/bin/env bash
# report-engine.sh [STRATA] — `strata report` of the benchmark image held by the Docker Engine
# (strata-bench/big:latest, which make-big-image.sh builds), read through the engine's API
# (`docker-daemon:`), against what users did before: `docker save` to a file, then
# `strata report docker-archive:FILE`. Also with STRATA_ENGINE_MEMORY=0 (no member kept in
# memory: every layer from a shared re-export).
#
#   STRATA  strata binary (default: target/release/strata)
# Needs: docker (a running engine), hyperfine, /usr/bin/time. Prints a markdown table.
set -euo pipefail

die() { printf '[report-engine] ERROR: %s\n' "$*" >&2; exit 1; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STRATA="${1:-$REPO/target/release/strata}"
IMAGE="${BENCH_IMAGE:-strata-bench/big:latest}"
[ -x "$STRATA" ] || die "strata binary not found at $STRATA (cargo build --release)"
command -v hyperfine >/dev/null 2>&1 || die "hyperfine not found"
docker image inspect "$IMAGE" >/dev/null 2>&1 || die "$IMAGE not in the engine: run bench/make-big-image.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
runs="${BENCH_RUNS:-3}"
report="$STRATA report --format json --no-progress"

rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
engine_rss="$(rss $report "docker-daemon:$IMAGE")"
bounded_rss="$(STRATA_ENGINE_MEMORY=0 rss $report "docker-daemon:$IMAGE")"
docker save "$IMAGE" -o "$work/img.tar"
archive_rss="$(rss $report "docker-archive:$work/img.tar")"

hyperfine --warmup 1 --runs "$runs" --export-json "$work/h.json" \
    -n engine "$report docker-daemon:$IMAGE" \
    -n engine-no-memory "STRATA_ENGINE_MEMORY=0 $report docker-daemon:$IMAGE" \
    -n save-then-report "docker save $IMAGE -o $work/img.tar && $report docker-archive:$work/img.tar" >&2

python3 - "$work/h.json" "$engine_rss" "$bounded_rss" "$archive_rss" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rss = {"engine": sys.argv[2], "engine-no-memory": sys.argv[3], "save-then-report": sys.argv[4]}
floor = results["save-then-report"]["mean"]
print("| way | time (s) | vs docker save + report | peak RSS of strata (MiB) |")
print("|---|---:|---:|---:|")
for name in ["engine", "engine-no-memory", "save-then-report"]:
    r = results[name]
    print(f"| {name} | {r['mean']:.2f} ± {r['stddev']:.2f} | {r['mean'] / floor:.2f} | {int(rss[name]) / 1024:.0f} |")
PY
