#!/usr/bin/env bash
# Fuzzes the parsers that read what users give (fuzz/, libFuzzer + AddressSanitizer +
# UndefinedBehaviorSanitizer): source and sink URIs, `run --config` YAML, `launch` files, and the
# CSV and JSON loaders of `streaminfer report`.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
# Builds build-fuzz/ with clang (only the fuzz targets: no LibTorch, FFmpeg or GoogleTest), then
# runs each target for SECONDS on a copy of its seed corpus fuzz/corpus/<target>/ (the committed
# corpus is not modified), $(nproc) targets at a time. Any crash, leak, sanitizer report, timeout
# (10 s an input) or use of over 2 GB fails the script, which names the target and the input
# that did it. Reproduce with: build-fuzz/fuzz/<target> <that input>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
build=build-fuzz
jobs=$(nproc)
targets=(fuzz_source_uri fuzz_run_config fuzz_launch_file fuzz_report_csv fuzz_report_json)

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DSTREAMINFER_FUZZ=ON -DSTREAMINFER_WERROR=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs"

runs=$build/runs
rm -rf "$runs"
mkdir -p "$runs/tmp"
# fuzz_launch_file writes the workers' folders under $TMPDIR: keep them in the build folder.
export TMPDIR=$PWD/$runs/tmp
# Every report is fatal (the targets are also built with -fno-sanitize-recover=all).
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

run_target() {  # run_target NAME: fuzzes one target; its exit status is libFuzzer's
  local name=$1 dir=$runs/$1
  mkdir -p "$dir"
  cp -r "fuzz/corpus/$name" "$dir/corpus"
  local dict=()
  [ -f "fuzz/$name.dict" ] && dict=("-dict=fuzz/$name.dict")
  "$build/fuzz/$name" "$dir/corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$dir/" -print_final_stats=1 >"$dir/log" 2>&1
}

declare -A pid_of
for name in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  run_target "$name" &
  pid_of[$name]=$!
done

failed=0
for name in "${targets[@]}"; do
  dir=$runs/$name
  if wait "${pid_of[$name]}"; then
    runs_done=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
    echo "fuzz.sh: $name: ok, ${runs_done:-?} inputs in ${seconds} s, corpus $(ls "$dir/corpus" | wc -l) files"
  else
    failed=1
    reproducer=$(ls -t "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null |
      head -n 1 || true)
    echo "fuzz.sh: $name FAILED; log: $dir/log" >&2
    grep -E "ERROR|SUMMARY|fuzz check failed|runtime error|terminate called|what\(\)" "$dir/log" | head -n 5 >&2 || true
    if [ -n "$reproducer" ]; then
      echo "fuzz.sh: reproduce with: $build/fuzz/$name $reproducer" >&2
    fi
  fi
done
exit "$failed"
