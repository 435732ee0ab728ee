#!/usr/bin/env bash
# Side by side on one 720p H.264 clip: the straightforward Python worker (python_worker.py: OpenCV
# capture, cv2 letterbox, TorchScript, torchvision NMS, frame by frame; as loaded, and frozen with
# torch.jit.freeze as a tuned worker would have it) and streaminfer's `run` with its defaults, on
# the same TorchScript yolov8n and on its built-in yolov8n. The runs alternate, ROUNDS times, so
# that a noisy machine slows all of them alike; the table gives the median FPS of each and its
# ratio to the faster Python worker.
#   bench/peers/python_worker_vs_engine.sh [build dir] [rounds]      (default: build 3)
# Needs /usr/bin/python3 with python3-torch, python3-opencv and python3-torchvision.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build}/streaminfer
ROUNDS=${2:-3}
PY=/usr/bin/python3
OUT=bench-out/peer
mkdir -p "$OUT"

if ! "$PY" -c "import cv2, torch, torchvision" 2>/dev/null; then
  echo "python_worker_vs_engine: $PY lacks cv2, torch or torchvision:" \
    "sudo apt-get install python3-opencv python3-torch python3-torchvision" >&2
  exit 1
fi
[ -x "$BIN" ] || { echo "python_worker_vs_engine: no $BIN: build first (scripts/bootstrap.sh)" >&2; exit 1; }

model=$OUT/yolov8n_640.torchscript
[ -f "$model" ] || "$PY" tests/scripts/make_yolov8_torchscript.py --scale n --nc 80 --imgsz 640 \
  --seed 0 --out "$model" >/dev/null
# The synthetic scene of `bench frames` (moving rectangles), 300 frames of 1280x720 at 30 fps.
clip=$OUT/synthetic_1280x720_30fps_300.mp4
[ -f "$clip" ] || "$BIN" bench decode --streams 1 --decode-threads 1 --frames 300 \
  --output-dir "$OUT" >/dev/null
[ -f "$clip" ] || { echo "python_worker_vs_engine: bench decode wrote no $clip" >&2; exit 1; }

run_python() {  # run_python ARRAY [--freeze]: run the worker once, print its line, add its FPS
  local -n into=$1
  shift
  local line
  line=$("$PY" bench/peers/python_worker.py --source "$clip" --model "$model" "$@")
  echo "round $round: $line"
  into+=("$(sed -E 's/.* = ([0-9.]+) FPS.*/\1/' <<<"$line")")
}

engine_fps() {  # engine_fps MODEL: run the clip once, print the FPS of its summary
  local metrics=$OUT/metrics_$$
  rm -rf "$metrics"
  "$BIN" run --source "$clip" --model "$1" --no-progress --metrics-dir "$metrics" >"$OUT/run.log" 2>&1 ||
    { cat "$OUT/run.log" >&2; return 1; }
  "$PY" -c 'import json,sys,glob; print("%.2f" % json.load(open(glob.glob(sys.argv[1] + "/*_summary.json")[0]))["fps"])' "$metrics"
  rm -rf "$metrics"
}

run_engine() {  # run_engine ARRAY MODEL: run the clip once, print the FPS, add it
  local -n into=$1
  local fps
  fps=$(engine_fps "$2") || exit 1
  echo "round $round: streaminfer run --model $2: $fps FPS"
  into+=("$fps")
}

echo "clip: $clip; model: yolov8n 640 (random weights); $(nproc) cores; $ROUNDS rounds, alternating"
declare -a python_fps python_frozen_fps engine_ts_fps engine_builtin_fps
for ((round = 1; round <= ROUNDS; round++)); do
  run_python python_fps
  run_python python_frozen_fps --freeze
  run_engine engine_ts_fps "$model"
  run_engine engine_builtin_fps yolov8n
done
grep -E "^forwards|^model:|^streaminfer " "$OUT/run.log" | sed 's/^/last engine run: /'

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
py=$(median "${python_fps[@]}")
py_frozen=$(median "${python_frozen_fps[@]}")
best_py=$(awk "BEGIN {print ($py_frozen > $py) ? $py_frozen : $py}")
ts=$(median "${engine_ts_fps[@]}")
builtin=$(median "${engine_builtin_fps[@]}")
echo
row() { printf '%-56s %10.2f  %7.2fx\n' "$1" "$2" "$(awk "BEGIN {print $2 / $best_py}")"; }
printf '%-56s %10s  %8s\n' "worker (same clip, 300 frames)" "median FPS" "vs best python"
row "python worker (OpenCV + TorchScript + torchvision)" "$py"
row "python worker, torch.jit.freeze" "$py_frozen"
row "streaminfer run, same TorchScript file (frozen)" "$ts"
row "streaminfer run, built-in yolov8n (the default)" "$builtin"
