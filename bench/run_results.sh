#!/usr/bin/env bash
# Runs experiments of `streaminfer bench` and keeps their output under bench/results/<name>/:
# <name>_<tag>.txt (the exact command, the commit, then everything the run printed), the CSV
# files and the HTML plot. Run it on an otherwise idle machine: the figures are only as quiet as
# the machine was.
#   bench/run_results.sh [build dir] [tag] [experiment ...]   (default: all, tag "cpu")
# "model-shapes" is `bench model` on the bundled detector at its own size (320), with each
# step's mAP on held-out synthetic scenes: the accuracy cost of bf16 and int8.
# "model-resnet18" is `bench model` on the ResNet-18 classifier at 224 (speed only: random weights).
# "frames-synthetic" is `bench frames` on a synthetic camera instead of the encoded clip.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build}/streaminfer
TAG=${2:-cpu}
shift 2 || true
EXPERIMENTS=("$@")
((${#EXPERIMENTS[@]})) || EXPERIMENTS=(postprocess batching frames frames-synthetic idle-gap placement decode
  model model-shapes model-resnet18)

commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src apps || echo ' + working tree')"
for name in "${EXPERIMENTS[@]}"; do
  dir="bench/results/${name//-/_}"
  mkdir -p "$dir"
  args=(bench "${name%%-*}" --output-dir "$dir")
  case "$name" in
    model-shapes) args+=(--model yolov8n-shapes --imgsz 320) ;;
    model-resnet18) args+=(--model resnet18 --imgsz 224) ;;
    frames-synthetic) args+=(--source "synthetic:?width=1280&height=720&fps=30&objects=6&seed=1&frames=300") ;;
    postprocess) args+=(--model yolov8n --threads 1) ;;
    idle-gap) args+=(--keep-warm --iterations 200) ;;
  esac
  out="$dir/${name//-/_}_${TAG}.txt"
  {
    echo "# command: $BIN ${args[*]}"
    echo "# commit: $commit, $(date -u +%Y-%m-%d)"
  } >"$out"
  echo "bench/run_results.sh: $name -> $out"
  "$BIN" "${args[@]}" 2>&1 | tee -a "$out"
  # The clip frames/decode encode is reproducible from its seed: not kept in git (.gitignore).
done
