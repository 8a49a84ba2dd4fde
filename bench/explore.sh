#!/usr/bin/env bash
# explore.sh IMAGE [STRATA] — `strata explore`'s time to first screen, time until every layer is
# analyzed, and peak RSS (GNU time), in a 160x45 tmux session, against `strata report`'s wall time
# and peak RSS on the same image. Prints one line per command.
#
#   REGISTRY=1  also push IMAGE (any reference skopeo reads: oci:DIR:TAG, docker-archive:FILE) to
#               a docker-registry on a free loopback port (bench/registry.sh) and time explore's
#               first screen and analysis from there (docker://; the issue's bar: < 0.5 s)
#   DIVING=BIN  also time diving-rs (`cargo install diving --locked --root DIR`) on ARCHIVE, a
#               docker-archive of the same image (DIVING_IMAGE, e.g. file:///path/big.docker.tar):
#               first screen, its layers analyzed (its layer pane filled), peak RSS
# Needs: tmux, /usr/bin/time; with REGISTRY=1 docker-registry and skopeo.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image=$1
strata=${2:-target/release/strata}
work=$(mktemp -d)
session=strata-bench-explore-$$
trap 'tmux kill-session -t "$session" 2>/dev/null || true; kill ${registry_pid:-0} 2>/dev/null || true; rm -rf "$work"' EXIT

now() { date +%s.%N; }

# tui NAME READY DONE QUIT CMD...: runs CMD in a 160x45 tmux session under GNU time; prints
# "NAME FIRST DONE KB": seconds until the screen matches READY (a grep -E pattern), until it
# matches DONE, and the peak RSS, after QUIT (tmux key names) ended it.
tui() {
    local name=$1 ready=$2 done=$3 quit=$4 start first analyzed kb
    shift 4
    rm -f "$work/tui.time"
    start=$(now)
    tmux new-session -d -s "$session" -x 160 -y 45 \
        "/usr/bin/time -f '%e %M' -o '$work/tui.time' $*; sleep 600"
    until tmux capture-pane -p -t "$session" | grep -Eq "$ready"; do sleep 0.02; done
    first=$(now)
    until tmux capture-pane -p -t "$session" | grep -Eq "$done"; do sleep 0.1; done
    analyzed=$(now)
    # shellcheck disable=SC2086
    tmux send-keys -t "$session" $quit
    until [ -s "$work/tui.time" ]; do sleep 0.1; done
    tmux kill-session -t "$session"
    read -r _ kb < "$work/tui.time"
    awk -v n="$name" -v s="$start" -v f="$first" -v a="$analyzed" -v k="$kb" \
        'BEGIN { printf "%s %.2f %.2f %d\n", n, f - s, a - s, k }'
}

# report REF: "SECONDS KB" of `strata report REF --format json`.
report() {
    /usr/bin/time -f '%e %M' -o "$work/report.time" "$strata" report "$1" --format json > /dev/null
    cat "$work/report.time"
}

# row WHAT REPORT_LINE TUI_LINE: one line comparing explore to report.
row() {
    local what=$1 report_s report_kb
    read -r report_s report_kb <<< "$2"
    read -r _ first analyzed kb <<< "$3"
    awk -v w="$what" -v rs="$report_s" -v rk="$report_kb" -v f="$first" -v a="$analyzed" -v k="$kb" 'BEGIN {
      printf "%s report:  %.2f s, peak RSS %.1f MB\n", w, rs, rk / 1024
      printf "%s explore: first screen %.2f s, all layers analyzed %.2f s, peak RSS %.1f MB (%.2fx report)\n", w, f, a, k / 1024, k / rk
    }'
}

report "$image" > /dev/null # warm the page cache: the first run reads the blobs from disk
row "$image" "$(report "$image")" \
    "$(tui explore 'Layers \(' 'layers read' q "'$strata' explore '$image'")"

if [ "${REGISTRY:-}" = 1 ]; then
    # shellcheck source=bench/registry.sh
    . "$REPO/bench/registry.sh"
    start_registry "$work"
    ref="$registry_host/bench/explore:latest"
    skopeo copy --quiet --dest-tls-verify=false "$image" "docker://$ref"
    row "$ref" "$(report "$ref")" \
        "$(tui explore 'Layers \(' 'layers read' q "'$strata' explore '$ref'")"
fi

if [ -n "${DIVING:-}" ]; then
    tui diving "${DIVING_READY:-Layers}" "${DIVING_DONE:-Layers}" "${DIVING_QUIT:-q}" \
        "'$DIVING' '${DIVING_IMAGE:?DIVING_IMAGE: the image as diving names it}'" |
        awk '{ printf "diving: first screen %.2f s, analyzed %.2f s, peak RSS %.1f MB\n", $2, $3, $4 / 1024 }'
fi
