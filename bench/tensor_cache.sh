#!/usr/bin/env bash
# `bench batching` with the tensor cache on (the default, 1024 MB) and off (LibTorch's allocator),
# one after the other in one invocation, so the two tables come from the same quiet spell.
#   bench/tensor_cache.sh [build dir]   -> bench/results/tensor_cache/
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build}/streaminfer
DIR=bench/results/tensor_cache
mkdir -p "$DIR"
commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src apps || echo ' + working tree')"
for mb in 1024 0; do
  out="$DIR/batching_cache_${mb}mb_cpu.txt"
  args=(bench batching --tensor-cache-mb "$mb" --output-dir "$DIR/cache_${mb}mb")
  {
    echo "# command: $BIN ${args[*]}   (from bench/tensor_cache.sh)"
    echo "# commit: $commit, $(date -u +%Y-%m-%d)"
  } >"$out"
  /usr/bin/time -f "peak RSS %M KiB" "$BIN" "${args[@]}" >>"$out" 2>&1
  echo "bench/tensor_cache.sh: wrote $out"
done
