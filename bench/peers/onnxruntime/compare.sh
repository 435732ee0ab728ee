#!/usr/bin/env bash
# ONNX Runtime's CPU forward against streaminfer's, on the same model, threads and cores.
#   bench/peers/onnxruntime/compare.sh [BIN] [ROUNDS] [THREADS] [BATCHES] [options]
#     BIN      the streaminfer binary (default build/streaminfer)
#     ROUNDS   interleaved rounds (default 3)
#     THREADS  intra-op threads of both runtimes (default 2)
#     BATCHES  comma-separated batch sizes (default 1,4)
#   options: --out FILE (the report, besides stdout), --reps R (timed forwards per measurement,
#     default 20, as `bench model`), --warmup W (default 3), --models yolov8n[,resnet50],
#     --profile (then one profiled ONNX Runtime run per batch and its per-operator table),
#     --work DIR (models and raw outputs; default bench-out/peers)
# Each round runs ONNX Runtime fp32 at each batch, then `streaminfer bench model` on its built-in
# model and on the TorchScript file of the same YOLOv8n (what a user's export gives), so that a
# noisy machine slows every runtime alike; the table takes the median over rounds.
# Needs node and npm (vendor.sh fetches onnxruntime-node), /usr/bin/python3 with python3-torch
# (export_onnx.py) and python3 (the tables). ONNX Runtime serves this comparison only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../../.."
COMMAND="$(printf '%q ' "$0" "$@")"
COMMAND=${COMMAND% }

BIN=build/streaminfer ROUNDS=3 THREADS=2 BATCHES=1,4
OUT_FILE="" REPS=20 WARMUP=3 MODELS=yolov8n PROFILE=0 WORK=bench-out/peers
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT_FILE=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --profile) PROFILE=1; shift ;;
    --work) WORK=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --*) echo "compare: unknown option $1" >&2; exit 1 ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -le 4 ] || { echo "compare: at most 4 positional arguments (--help)" >&2; exit 1; }
BIN=${positional[0]:-$BIN} ROUNDS=${positional[1]:-$ROUNDS}
THREADS=${positional[2]:-$THREADS} BATCHES=${positional[3]:-$BATCHES}
IFS=, read -r -a batches <<<"$BATCHES"
IFS=, read -r -a models <<<"$MODELS"
for n in "$ROUNDS" "$THREADS" "$REPS" "${batches[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "compare: '$n' is not a positive integer" >&2; exit 1; }
done
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "compare: --warmup '$WARMUP' is not an integer" >&2; exit 1; }
[ -x "$BIN" ] || { echo "compare: no streaminfer binary at $BIN (give its path first)" >&2; exit 1; }
for tool in node python3 /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "compare: $tool not found" >&2; exit 1; }
done

mkdir -p "$WORK"
if [ -n "$OUT_FILE" ]; then
  mkdir -p "$(dirname "$OUT_FILE")"
  exec > >(tee "$OUT_FILE")  # the whole report, on stdout and in the file
fi

# Both runtimes on the same logical CPUs: the first THREADS of those this shell may use. (Without
# taskset each would still use THREADS threads, but the OS could place them differently.)
cpus=$(python3 -c 'import os, sys; c = sorted(os.sched_getaffinity(0)); n = int(sys.argv[1])
print(",".join(map(str, c[:n])) if n <= len(c) else "")' "$THREADS")
pin=()
if [ -n "$cpus" ] && command -v taskset >/dev/null; then pin=(taskset -c "$cpus"); fi

bench/peers/onnxruntime/vendor.sh >&2
ORT_VERSION=$(grep -m1 '"version"' third_party/npm-peers/node_modules/onnxruntime-node/package.json |
  sed -E 's/.*"([0-9][^"]*)".*/\1/')

# Per model: its ONNX file and input size, streaminfer's built-in name, and the TorchScript file
# ("" when there is none: ResNet-50 is timed as streaminfer's built-in only).
declare -A onnx imgsz builtin torchscript check
for m in "${models[@]}"; do
  case $m in
    yolov8n) onnx[$m]=$WORK/yolov8n_640.onnx imgsz[$m]=640 builtin[$m]=yolov8n
      torchscript[$m]=$WORK/yolov8n_640.torchscript check[$m]=$WORK/yolov8n_640.check.bin ;;
    resnet50) onnx[$m]=$WORK/resnet50_224.onnx imgsz[$m]=224 builtin[$m]=resnet50
      torchscript[$m]="" check[$m]="" ;;
    *) echo "compare: unknown model '$m' (yolov8n, resnet50)" >&2; exit 1 ;;
  esac
  missing=0
  for f in "${onnx[$m]}" "${torchscript[$m]}" "${check[$m]}"; do [ -z "$f" ] || [ -f "$f" ] || missing=1; done
  if [ $missing = 1 ]; then
    echo "compare: exporting $m into $WORK (once; about a minute)" >&2
    /usr/bin/python3 bench/peers/onnxruntime/export_onnx.py --out-dir "$WORK" --models "$m" >&2
  fi
  [ -f "${onnx[$m]}" ] || { echo "compare: export of $m wrote no ${onnx[$m]}" >&2; exit 1; }
done

echo "# ONNX Runtime $ORT_VERSION vs streaminfer, CPU forward only"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "cores: $(nproc) usable logical CPUs ($(lscpu | sed -n 's/^CPU(s): *//p' | head -1) in the machine);" \
  "runs pinned to ${pin[*]:-no CPUs (taskset missing or THREADS > CPUs)}; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: $COMMAND"
# Both runtimes pick their kernels by instruction set (MLAS, oneDNN): name the ones that matter.
echo "isa: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' |
  grep -xE 'avx2|avx512f|avx512_vnni|avx_vnni|avx512_bf16|amx_bf16|amx_int8' | paste -sd' ' -)"
echo "streaminfer: $BIN, $("$BIN" --version), LibTorch $("$BIN" info 2>/dev/null | sed -n 's/^LibTorch: //p');" \
  "scripts at $(git log -1 --format='%h %cs' 2>/dev/null || echo 'an unknown commit')"
echo "setup: $THREADS intra-op threads each; ONNX Runtime: CPU execution provider, 1 inter-op thread," \
  "sequential, graph optimization 'all'; $WARMUP warm-up + $REPS timed forwards per measurement;" \
  "$ROUNDS interleaved round(s); batches ${batches[*]}; random fp32 input"
# Between operators ONNX Runtime's threads spin (session.intra_op.allow_spinning, on by default);
# streaminfer's OpenMP threads spin a short while (GOMP_SPINCOUNT=1000), then sleep, unless
# OMP_WAIT_POLICY or GOMP_SPINCOUNT says otherwise (common/openmp_waiting.h).
waiting="a short spin (GOMP_SPINCOUNT=1000), the streaminfer default"
told=""
for v in OMP_WAIT_POLICY GOMP_SPINCOUNT; do [ -z "${!v:-}" ] || told="$told $v=${!v}"; done
[ -z "$told" ] || waiting="${told# } (set for this run)"
echo "waiting between operators: ONNX Runtime spins; streaminfer's OpenMP threads: $waiting"
echo

results=$WORK/results_$$.tsv
: >"$results"
trap 'rm -f "$results"' EXIT

# One line of RESULTS: model, row, batch, round, ms, max box difference ("" if not measured).
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

ort_time() {  # ort_time MODEL BATCH [more ort_time.mjs options]: print its JSON line
  local m=$1 b=$2
  shift 2
  "${pin[@]}" node bench/peers/onnxruntime/ort_time.mjs "${onnx[$m]}" --batch "$b" \
    --threads "$THREADS" --warmup "$WARMUP" --reps "$REPS" "$@"
}

json_field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

run_ort() {  # run_ort MODEL BATCH ROUND
  local line ms
  line=$(ort_time "$1" "$2")
  ms=$(json_field "$line" median_ms)
  echo "round $3: ONNX Runtime fp32 $1 b$2: $ms ms"
  record "$1" "ONNX Runtime fp32" "$2" "$3" "$ms" ""
}

# `bench model` steps as its table names them; a row whose note says the step is not available
# for this model (int8 on a TorchScript file runs fp32) is dropped, it would repeat fused BN.
run_streaminfer() {  # run_streaminfer MODEL BATCH ROUND LABEL MODEL_ARG
  local dir=$WORK/streaminfer_$$ rows
  rm -rf "$dir"
  "${pin[@]}" "$BIN" bench model --model "$5" --imgsz "${imgsz[$1]}" --batch "$2" --threads "$THREADS" \
    --reps "$REPS" --warmup "$WARMUP" --accuracy-scenes 0 --output-dir "$dir" >"$WORK/streaminfer.log" 2>&1 ||
    { cat "$WORK/streaminfer.log" >&2; exit 1; }
  rows=$(python3 - "$dir/model_speed.csv" <<'EOF'
import csv, sys
labels = {"eager": "eager fp32", "fused_bn": "+ fused BatchNorm", "channels_last": "+ channels-last",
          "bf16": "+ bf16", "int8": "int8 (fused BN)"}
for r in csv.DictReader(open(sys.argv[1])):
    if r["available"] != "1" or "not available" in r["note"]:
        continue
    print(f'{labels.get(r["step"], r["step"])}\t{r["p50_ms"]}\t{r["max_box_diff_px"]}')
EOF
  )
  rm -rf "$dir"
  echo "round $3: $4 $1 b$2: $(cut -f1,2 <<<"$rows" | sed 's/\t/ /' | paste -sd, - | sed 's/,/, /g') ms"
  while IFS=$'\t' read -r step ms box; do
    record "$1" "$4: $step" "$2" "$3" "$ms" "$box"
  done <<<"$rows"
}

for m in "${models[@]}"; do
  if [ -n "${check[$m]}" ]; then
    diff=$(json_field "$(ort_time "$m" 1 --warmup 0 --reps 1 --check "${check[$m]}")" check_max_abs_diff)
    echo "check: ONNX Runtime's $m output on export_onnx.py's input differs from PyTorch's by at most $diff"
  fi
done
for ((round = 1; round <= ROUNDS; round++)); do
  for m in "${models[@]}"; do
    for b in "${batches[@]}"; do run_ort "$m" "$b" "$round"; done
    for b in "${batches[@]}"; do run_streaminfer "$m" "$b" "$round" "streaminfer built-in" "${builtin[$m]}"; done
    if [ -n "${torchscript[$m]}" ]; then
      for b in "${batches[@]}"; do
        run_streaminfer "$m" "$b" "$round" "streaminfer TorchScript" "${torchscript[$m]}"
      done
    fi
  done
done

echo
echo "ms/forward: median over rounds of each measurement's median (spread: (max - min) / median" \
  "over rounds); vs ORT: ONNX Runtime fp32 ms / row ms, above 1 is faster than ONNX Runtime;" \
  "max Δbox px vs eager: bench model's largest box difference from the same model's eager fp32"
echo
python3 bench/peers/onnxruntime/compare_table.py "$results"

if [ $PROFILE = 1 ]; then
  for m in "${models[@]}"; do
    for b in "${batches[@]}"; do
      echo
      profile=$(json_field "$(ort_time "$m" "$b" --profile "$WORK/profile")" profile)
      python3 bench/peers/onnxruntime/profile_table.py "$profile" --last "$REPS"
    done
  done
fi
