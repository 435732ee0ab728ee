#!/usr/bin/env bash
# A service's model changed twice through POST /reload while two 10 fps cameras run: the bundled
# detector in fp32, then int8, then ResNet-18 (a classifier, another input size). Every frame's
# end-to-end latency from the per-frame CSV, by window: steady on each model and while the next
# one is built beside it; frames dropped and lines in the JSONL from the summary.
#   bench/serve/model_swap.sh [streaminfer binary] [output folder] [seconds per model]
set -euo pipefail
BIN=$(realpath "${1:-build/streaminfer}")
OUT=${2:-bench-out/model_swap}
STEADY=${3:-15}
rm -rf "$OUT" && mkdir -p "$OUT" && cd "$OUT"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
STREAMS='streams:
  - uri: "synthetic:?width=640&height=360&fps=10&objects=3&seed=1"
    name: a
  - uri: "synthetic:?width=640&height=360&fps=10&objects=3&seed=2"
    name: b'
printf 'precision: fp32\n%s\n' "$STREAMS" >cams.yaml
"$BIN" serve --config cams.yaml --listen "127.0.0.1:$PORT" --metrics-dir m --output det.jsonl \
  >out.txt 2>err.txt &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$PORT/readyz")" = 200 ] && break
  sleep 1
done
start=$(date +%s.%N)
reload() {
  printf '%b\n%s\n' "$1" "$STREAMS" >cams.yaml
  local before after
  before=$(date +%s.%N)
  curl -s -X POST -H 'Content-Type: application/json' -d '' "127.0.0.1:$PORT/reload" >>reloads.jsonl
  echo >>reloads.jsonl
  after=$(date +%s.%N)
  echo "$before $after" >>windows.txt
}
sleep "$STEADY"
reload 'precision: int8'
sleep "$STEADY"
reload 'model: resnet18\nprecision: fp32'
sleep "$STEADY"
kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
trap - EXIT
echo "serve exited with $status after SIGTERM"
grep -E "^model changed|^total " out.txt
python3 - "$start" <<'PY'
import csv, glob, json, sys
# The run's clock starts a little before readiness; the frames CSV's done_ms counts from it.
rows = list(csv.DictReader(open(glob.glob("m/F_*frames.csv")[0])))
summary = json.load(open(glob.glob("m/S_*summary.json")[0]))
changes = summary.get("model_changes", [])
answers = [json.loads(l) for l in open("reloads.jsonl") if l.strip()]
for a in answers:
    print("reload:", a.get("model", "")[-110:], "| errors:", a["errors"])
# Window edges in run time: each change's time from the summary, each build's length from the
# answer ("built and warmed in X s").
def built_s(a):
    text = a.get("model", "")
    return float(text.split("built and warmed in ")[1].split(" s")[0])
edges = []
for change, a in zip(changes, answers):
    at = float(change.split("at ")[1].split(" s:")[0])
    edges.append((at - built_s(a), at))
names = ["yolov8n-shapes fp32", "yolov8n-shapes int8", "resnet18 fp32"]
windows, t = [], 3.0
for i, (b0, b1) in enumerate(edges):
    windows.append((f"{names[i]}, steady", t, b0))
    windows.append((f"building {names[i + 1]} beside it", b0, b1))
    t = b1 + 1.0
windows.append((f"{names[len(edges)]}, steady", t, 1e9))
for label, lo, hi in windows:
    v = sorted(float(r["end_to_end_ms"]) for r in rows if lo <= float(r["done_ms"]) / 1000 < hi)
    if not v:
        continue
    p = lambda q: v[min(len(v) - 1, int(q * len(v)))]
    print(f"{label:45s} {lo:6.1f}-{min(hi, summary['wall_seconds']):6.1f} s  frames {len(v):4d}  "
          f"end-to-end p50 {p(.5):6.1f}  p99 {p(.99):6.1f}  max {v[-1]:6.1f} ms")
seen, dups = set(), 0
for line in open("det.jsonl"):
    j = json.loads(line)
    key = (j["stream"], j["frame"])
    dups += key in seen
    seen.add(key)
dropped = sum(s["dropped"] for s in summary["streams"])
decoded = sum(s["decoded"] for s in summary["streams"])
print(f"frames decoded {decoded}, with a result {summary['frames']}, dropped {dropped}; JSONL lines "
      f"{len(seen)}, reported twice {dups}")
PY
