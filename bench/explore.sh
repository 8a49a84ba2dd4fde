#!/usr/bin/env bash
# explore.sh IMAGE [STRATA] — `strata explore`'s time to first screen, time until every layer is
# analyzed, and peak RSS (GNU time), in a 160x45 tmux session, against `strata report`'s wall time
# and peak RSS on the same image. Prints one line per command.
set -euo pipefail
image=$1
strata=${2:-target/release/strata}
work=$(mktemp -d)
session=strata-bench-explore-$$
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"' EXIT

/usr/bin/time -f '%e %M' -o "$work/report.time" "$strata" report "$image" --format json > /dev/null
read -r report_s report_kb < "$work/report.time"

now() { date +%s.%N; }
start=$(now)
tmux new-session -d -s "$session" -x 160 -y 45 \
  "/usr/bin/time -f '%e %M' -o '$work/explore.time' '$strata' explore '$image'; sleep 60"
until tmux capture-pane -p -t "$session" | grep -q 'Layers ('; do sleep 0.02; done
first=$(now)
until tmux capture-pane -p -t "$session" | grep -q 'layers read'; do sleep 0.1; done
analyzed=$(now)
tmux send-keys -t "$session" q
until [ -s "$work/explore.time" ]; do sleep 0.1; done
read -r _ explore_kb < "$work/explore.time"
awk -v s="$start" -v f="$first" -v a="$analyzed" -v rs="$report_s" -v rk="$report_kb" -v ek="$explore_kb" 'BEGIN {
  printf "report:  %.2f s, peak RSS %.1f MB\n", rs, rk / 1024
  printf "explore: first screen %.2f s, all layers analyzed %.2f s, peak RSS %.1f MB (%.2fx report)\n", f - s, a - s, ek / 1024, ek / rk
}'
