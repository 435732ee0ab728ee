#!/usr/bin/env bash
# Soak: 8 synthetic realtime cameras for a long run, resident memory (VmRSS) sampled every
# minute. Memory must not grow after warm-up: the script reports the growth from minute 2 (the
# model, the thread pools and the queues are all in place by then) to the last sample.
#   bench/soak.sh [build dir] [minutes] [cores]
# cores: what --core-bind gets (default 1: one core, so the machine stays usable meanwhile).
# Writes bench-out/soak/{rss.csv,run.out,run.err} and prints the samples and the verdict.
set -euo pipefail
BIN=${1:-build}/streaminfer
MINUTES=${2:-30}
CORES=${3:-1}
OUT=bench-out/soak
rm -rf "$OUT" && mkdir -p "$OUT"

sources=()
for seed in 1 2 3 4 5 6 7 8; do
  sources+=(--source "synthetic:?width=640&height=360&fps=10&objects=4&seed=$seed&frames=0")
done
"$BIN" run "${sources[@]}" --imgsz 320 --batch-size 8 --micro-batch 2 --threads 1 \
  --core-bind "$CORES" --metrics-dir "$OUT/metrics" --no-progress >"$OUT/run.out" 2>"$OUT/run.err" &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true' EXIT

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
echo "minute,rss_kib" >"$OUT/rss.csv"
echo "soak: pid $pid, ${MINUTES} min, 8 streams 640x360 @ 10 fps, imgsz 320, batch 8, 1 thread on cores $CORES"
for minute in $(seq 1 "$MINUTES"); do
  sleep 60
  kill -0 "$pid" 2>/dev/null || { echo "soak: streaminfer ended early"; cat "$OUT/run.err"; exit 1; }
  value=$(rss)
  echo "$minute,$value" >>"$OUT/rss.csv"
  echo "minute $minute: RSS $value KiB"
done
kill -INT "$pid"
wait "$pid" && status=0 || status=$?
trap - EXIT
echo "soak: streaminfer exited with $status after SIGINT"
sed -n '/== streaminfer summary/,/^inference thread/p' "$OUT/run.out"
python3 - "$OUT/rss.csv" <<'PY'
import csv, sys
rows = [(int(r["minute"]), int(r["rss_kib"])) for r in csv.DictReader(open(sys.argv[1]))]
base = dict(rows).get(2, rows[0][1])
last, peak = rows[-1][1], max(v for m, v in rows if m >= 2)
print(f"RSS minute 2: {base} KiB, last (minute {rows[-1][0]}): {last} KiB, peak after warm-up: "
      f"{peak} KiB; growth {100 * (last / base - 1):+.2f}% (peak {100 * (peak / base - 1):+.2f}%), "
      f"target under 5%: {'met' if last / base - 1 < 0.05 else 'MISSED'}")
PY
