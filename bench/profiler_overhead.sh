#!/usr/bin/env bash
# Throughput with profiling fully on (per-batch + per-frame CSV, queue samples, summary JSON,
# trace timeline, live display) versus fully off, measured side by side: runs alternate on/off so
# both see the same machine load. Prints every run and the ratio of medians.
#   bench/profiler_overhead.sh [build dir] [repetitions]
set -euo pipefail
BIN=${1:-build}/streaminfer
REPS=${2:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
COMMON=(run --source 'synthetic:?width=1280&height=720&seed=1&frames=160'
        --source 'synthetic:?width=1280&height=720&seed=2&frames=160'
        --pace max --imgsz 320 --batch-size 4 --threads 2 --warmup 3)

fps_of() { sed -n 's/.*frames in .* s, \([0-9.]*\) FPS total.*/\1/p'; }

on=() off=()
for i in $(seq 1 "$REPS"); do
  f_off=$("$BIN" "${COMMON[@]}" --no-progress 2>/dev/null | fps_of)
  rm -rf "$WORK/out"
  on_out=$("$BIN" "${COMMON[@]}" --metrics-dir "$WORK/out" --trace "$WORK/out/trace.json" \
           --output "$WORK/out/det.jsonl" 2>/dev/null)
  f_on=$(echo "$on_out" | fps_of)
  cost=$(echo "$on_out" | sed -n 's/^outputs and profiling: .*, \([0-9.]*\)% of wall time/\1/p')
  echo "rep $i: profiling off $f_off FPS, on $f_on FPS; with profiling on, outputs and profiling took $cost% of wall time"
  off+=("$f_off") on+=("$f_on")
done
python3 - "${off[*]}" "${on[*]}" <<'PY'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
m_off, m_on = statistics.median(off), statistics.median(on)
print(f"median FPS off {m_off:.2f}, on {m_on:.2f}: overhead {100 * (1 - m_on / m_off):+.2f}% "
      f"(spread off {min(off):.2f}..{max(off):.2f}, on {min(on):.2f}..{max(on):.2f})")
PY
