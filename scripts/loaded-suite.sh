#!/usr/bin/env bash
# The whole suite, RUNS times in a row (default 3), while HOGS processes (default 2) each keep a
# core busy: timing races show up here first. Every run's closing line is printed and its whole
# output kept in .loaded-runs/run-N.log (a failure is only worth its message); the hogs are stopped
# by pid. Used by `./build.sh test-loaded`; results go in docs/reliability.md.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
HOGS=${HOGS:-2}
hogs=()
stop_hogs() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null; done; for p in "${hogs[@]}"; do wait "$p" 2>/dev/null; done; }
trap stop_hogs EXIT
for _ in $(seq "$HOGS"); do
  node -e 'for (;;) {}' &
  hogs+=($!)
done
echo "==> $HOGS CPU hogs running: ${hogs[*]}" >&2
total_failed=0
mkdir -p .loaded-runs
for i in $(seq "$RUNS"); do
  start=$(date +%s)
  log=.loaded-runs/run-$i.log
  ./build.sh test >"$log" 2>&1
  rc=$?
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  echo "run $i/$RUNS: ${line:-no summary} (exit $rc, $(( $(date +%s) - start )) s, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; output in $log)"
  if [ "$rc" != 0 ]; then
    total_failed=$((total_failed + 1))
    grep -E ' FAIL ' "$log" | head -20
  fi
done
echo "loaded runs: $RUNS runs, $total_failed with failures, $HOGS CPU hogs"
[ "$total_failed" = 0 ]
