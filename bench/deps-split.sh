#!/usr/bin/env bash
# deps-split.sh [STRATA] — what `--deps-layers N` saves when one package is upgraded. The Python
# preset packages the benchmark app's real 1.2 GB .venv (make-big-image.sh) onto the Debian +
# Python base and pushes it to a loopback registry, once with one dependency layer and once with
# N; then one package is upgraded in the venv with pip (a small one, then a large one), rebuilt and
# pushed again. Prints markdown table rows: bytes each push uploaded.
set -euo pipefail

die() { printf '[deps-split] ERROR: %s\n' "$*" >&2; exit 1; }
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STRATA="${1:-$REPO/target/release/strata}"
CACHE="${BENCH_CACHE:-/var/tmp/strata-bench}"
SPLIT="${DEPS_LAYERS:-8}"
[ -x "$STRATA" ] || die "strata binary not found at $STRATA"
[ -d "$CACHE/context/app/.venv" ] || die "run bench/make-big-image.sh first"
docker image inspect strata-bench/base:latest >/dev/null 2>&1 || die "strata-bench/base:latest missing"

work="$(mktemp -d /var/tmp/strata-deps-split.XXXXXX)"
trap 'kill ${registry_pid:-0} 2>/dev/null; rm -rf "$work"' EXIT
skopeo copy --quiet docker-daemon:strata-bench/base:latest "oci:$work/base:latest"
cp -a "$CACHE/context/app/.venv" "$work/venv"
mkdir -p "$work/app"
cp -a "$CACHE/context/app/src" "$work/app/src"
printf '[project]\nname = "strata-demo"\nversion = "1.0"\n' > "$work/app/pyproject.toml"

# shellcheck source=bench/registry.sh
. "$REPO/bench/registry.sh"
start_registry "$work"

# push N TAG: builds with N dependency layers and pushes; prints "uploaded_bytes layers".
push() {
    (cd "$work/app" && "$STRATA" build --base "oci:$work/base:latest" --venv "$work/venv" \
        --deps-layers "$1" --entrypoint /app/.venv/bin/python --cache-dir "$work/cache-$1" \
        --push "$registry_host/bench/split-$1:$2" --format json --no-progress 2>/dev/null) > "$work/out.json"
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(o["outputs"][0]["uploaded_bytes"], len(o["layers"]))' "$work/out.json"
}
# upgrade SPEC: installs SPEC into the venv with its own pip (no other package changes).
upgrade() { "$work/venv/bin/python" -m pip install -q --no-deps --upgrade "$1" >/dev/null; }
version() { "$work/venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))"; }

read -r one_full one_layers <<<"$(push 1 v1)"
read -r split_full split_layers <<<"$(push "$SPLIT" v1)"
six_from="$(version six)"
upgrade 'six==1.16.0'
read -r one_six _ <<<"$(push 1 v2)"
read -r split_six _ <<<"$(push "$SPLIT" v2)"
pandas_from="$(version pandas)"
upgrade 'pandas==2.3.0'
read -r one_pandas _ <<<"$(push 1 v3)"
read -r split_pandas _ <<<"$(push "$SPLIT" v3)"

echo "| layers (deps + venv + app) | first push (bytes) | six $six_from → 1.16.0 | pandas $pandas_from → 2.3.0 |"
echo "|---|---:|---:|---:|"
echo "| --deps-layers 1 ($one_layers) | $one_full | $one_six | $one_pandas |"
echo "| --deps-layers $SPLIT ($split_layers) | $split_full | $split_six | $split_pandas |"
