#!/usr/bin/env bash
# Builds the fuzz targets and runs each for SECONDS (default 60), one after the other, then prints per
# target the executions, executions per second, corpus size and whether a crash was found.
#
#   fuzz/run.sh [SECONDS] [TARGET...]        (all targets when none is named)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); works on stable Rust through
# RUSTC_BOOTSTRAP=1. A target's corpus is seeded on first use (fuzz/seed.sh: ../shared/fixtures,
# the project's fixtures/ and test literals).
# RUNS=N also stops each target after N executions (whichever of SECONDS and N comes first).
# SANITIZER=address switches AddressSanitizer on (default none: strata is safe Rust, and without ASan
# the targets run about twice as fast; debug assertions and overflow checks stay on either way).
# Logs go to fuzz/logs/<target>.log, crashing inputs to fuzz/artifacts/<target>/.
# Exit status: 0 no crash, 1 a target crashed (or hung, or ran out of memory), 2 a build failed
# (and nothing crashed).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
secs=${1:-60}
shift $(( $# > 0 ? 1 : 0 ))
if ! [[ $secs =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: fuzz/run.sh [SECONDS] [TARGET...]  (SECONDS > 0; libFuzzer treats 0 as forever)" >&2
    exit 2
fi
all=(layer_walk manifest docker_archive analyze_archive analyze_layers reference dockerfile uv_lock
    poetry_lock pylock requirements strata_toml dive_ci docker_config cargo_recipe)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
sanitizer=${SANITIZER:-none}
runs=()
if [ -n "${RUNS:-}" ]; then
    if ! [[ $RUNS =~ ^[1-9][0-9]*$ ]]; then
        echo "run.sh: RUNS must be a number of executions > 0" >&2
        exit 2
    fi
    runs=(-runs="$RUNS")
fi
export RUSTC_BOOTSTRAP=1

# Inputs longer than this are truncated by libFuzzer (seeds included).
max_len() {
    case $1 in
        layer_walk) echo $((256 * 1024)) ;;   # larger seeds are cut: tar bugs need no big inputs
        docker_archive | analyze_archive) echo $((128 * 1024)) ;; # seeds are archives <= 100 KB
        reference) echo 4096 ;;                           # one command-line argument
        *) echo $((64 * 1024)) ;;    # JSON, TOML, YAML, Dockerfiles, lockfiles, structured input
    esac
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
for t in "${targets[@]}"; do
    if [ ! -d "corpus/$t" ]; then
        # seed.sh adds only what is missing (seeds are named by content), so older corpora stay.
        ./seed.sh || echo "run.sh: no seeds; fuzzing from empty corpora" >&2
        break
    fi
done
cargo fuzz build --sanitizer "$sanitizer" || exit 2

mkdir -p logs
status=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    before=$(find "artifacts/$t" -type f | wc -l)
    echo "== $t: ${secs}s" >&2
    cargo fuzz run --sanitizer "$sanitizer" "$t" -- \
        -max_total_time="$secs" -rss_limit_mb=1024 -max_len="$(max_len "$t")" \
        -timeout=30 -print_final_stats=1 "${runs[@]}" >"logs/$t.log" 2>&1
    rc=$?
    # The archive targets write each input to a per-process scratch file, the text targets into a
    # per-process scratch directory (fuzz_targets/common.rs).
    rm -rf /dev/shm/strata-fuzz-"$t"-*.tar "${TMPDIR:-/tmp}"/strata-fuzz-"$t"-*.tar \
        /dev/shm/strata-fuzz-"$t"-*.d "${TMPDIR:-/tmp}"/strata-fuzz-"$t"-*.d
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "logs/$t.log" | tail -1)
    rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "logs/$t.log" | tail -1)
    size=$(find "corpus/$t" -type f | wc -l)
    after=$(find "artifacts/$t" -type f | wc -l)
    if ! grep -q '^INFO: Seed:' "logs/$t.log"; then
        # cargo fuzz run rebuilds first; the tree may have changed since the build above.
        [ "$status" -eq 1 ] || status=2
        verdict="NOT RUN (build failed, see logs/$t.log)"
    elif [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        status=1
        artifact=$(grep -o 'Test unit written to [^ ]*' "logs/$t.log" | tail -1 | cut -d' ' -f5)
        kind=$(grep -o -m1 'ERROR: libFuzzer: [a-z-]*' "logs/$t.log" | cut -d' ' -f3)
        verdict="CRASH (${kind:-exit $rc}) ${artifact:-see logs/$t.log}"
    else
        verdict="no crash"
    fi
    summary+=("$(printf '%-16s %12s execs %8s/s  corpus %5s  %s' "$t" "${execs:-?}" "${rate:-?}" "$size" "$verdict")")
    echo "${summary[-1]}" >&2
done

echo
echo "fuzz summary (${secs}s${RUNS:+ or $RUNS executions} per target, sanitizer $sanitizer):"
printf '%s\n' "${summary[@]}"
if [ "$status" -eq 1 ]; then
    echo
    echo "reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer TARGET ARTIFACT"
    echo "minimize:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin --sanitizer $sanitizer TARGET ARTIFACT"
fi
exit "$status"
