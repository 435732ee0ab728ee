#!/usr/bin/env bash
# The whole GPU verification in one command, on a machine with an NVIDIA GPU (under 8 minutes):
#   scripts/gpu_check.sh [--out DIR] [--build-dir DIR] [--torch-prefix DIR] [--arch LIST] [--dry-run]
#   scripts/gpu_check.sh --fetch-deps      (here, before: the .debs the GPU machine lacks)
#
# 1. what the machine is: nvidia-smi -q (head), driver, the commit checked
# 2. the kernels-only CUDA build (src/cuda/ + tests/cuda/: nvcc and GoogleTest, no FFmpeg, no
#    LibTorch), for the GPU it runs on, and its `gpu` tests: every kernel against its CPU
#    emulation, which CI holds to the CPU path
# 3. the full CUDA build against PyTorch's CUDA LibTorch (found through python3) and
#    `streaminfer bench gpu`, where FFmpeg's development files are installed; where they are not
#    (the lent GPU machines), the step says so and is skipped: the FFmpeg-optional build is not
#    written yet
# Everything lands in DIR (default bench/results/gpu/): gpu_check.log, nvidia_smi.txt,
# gpu_tests.txt, bench_gpu.txt, summary.txt. --dry-run runs everything that needs no GPU
# (arguments, the LibTorch lookup, the kernels-only configure, the result layout) and prints the
# rest; a test runs it in CI (tests/integration/gpu_check_test.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."

out=bench/results/gpu
build_dir=build-gpu
torch_prefix=""
arch=native
dry_run=0
deps_dir=.gpu_deps

usage() {
  echo "usage: scripts/gpu_check.sh [--out DIR] [--build-dir DIR] [--torch-prefix DIR] [--arch LIST] [--dry-run] | --fetch-deps" >&2
  exit 2
}

while (($#)); do
  case "$1" in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a folder}; shift 2 ;;
    --torch-prefix) torch_prefix=${2:?--torch-prefix needs a folder}; shift 2 ;;
    --arch) arch=${2:?--arch needs CUDA architectures, e.g. 90 or native}; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --fetch-deps)
      # GoogleTest for the kernel tests: the GPU machine's image has none, and no network.
      mkdir -p "$deps_dir"
      (cd "$deps_dir" && apt-get download libgtest-dev)
      git rev-parse HEAD >"$deps_dir/commit" 2>/dev/null || true
      echo "gpu_check: $(ls "$deps_dir"/*.deb) in $deps_dir/; carry $deps_dir to the GPU machine"
      exit 0
      ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1'" >&2; usage ;;
  esac
done

mkdir -p "$out"
log="$out/gpu_check.log"
: >"$log"
say() { echo "gpu_check: $*" | tee -a "$log"; }
# Runs a step, or prints it in a dry run.
step() {
  if ((dry_run)); then
    say "dry run, would run: $*"
  else
    say "running: $*"
    "$@" 2>&1 | tee -a "$log"
  fi
}
summary=()
failed=0

# 1. The machine.
commit=$(git rev-parse HEAD 2>/dev/null || cat "$deps_dir/commit" 2>/dev/null || echo unknown)
say "commit $commit, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -srm)"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -q >"$out/nvidia_smi.txt.full" 2>&1; then
  head -60 "$out/nvidia_smi.txt.full" >"$out/nvidia_smi.txt"
  rm -f "$out/nvidia_smi.txt.full"
  say "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
  has_gpu=1
else
  rm -f "$out/nvidia_smi.txt.full"
  echo "nvidia-smi: not found or no GPU" >"$out/nvidia_smi.txt"
  say "no NVIDIA GPU here (nvidia-smi found none)"
  has_gpu=0
fi
if ((!has_gpu && !dry_run)); then
  say "needs an NVIDIA GPU and its driver; use --dry-run to check the GPU-free parts"
  exit 1
fi

# GoogleTest from the carried .deb where the machine has none.
prefix_path=()
if [ -d "$deps_dir" ] && compgen -G "$deps_dir/*.deb" >/dev/null; then
  mkdir -p "$build_dir/deps"
  for deb in "$deps_dir"/*.deb; do dpkg -x "$deb" "$build_dir/deps"; done
  prefix_path+=("$PWD/$build_dir/deps/usr")
fi

# 2. The kernels-only build and its gpu tests. Configured for real in a dry run too: that checks
# nvcc, the CUDA toolkit and the CMake code here.
kernels_dir="$build_dir/kernels"
say "configuring the kernels-only build in $kernels_dir (CUDA architectures: $arch)"
configure_arch=$arch
if ((dry_run)) && [ "$arch" = native ]; then configure_arch=90; fi  # no GPU to ask
old_ifs=$IFS
IFS=';'
cmake -S . -B "$kernels_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTREAMINFER_KERNELS_ONLY=ON \
  -DSTREAMINFER_WERROR=ON "-DCMAKE_CUDA_ARCHITECTURES=$configure_arch" \
  "-DCMAKE_PREFIX_PATH=${prefix_path[*]:-}" >>"$log" 2>&1
IFS=$old_ifs
summary+=("kernels-only configure: ok")
step cmake --build "$kernels_dir" -j "$(nproc)"
if ((dry_run)); then
  summary+=("gpu tests: not run (dry run)")
else
  if ! (cd "$kernels_dir" && ctest -L gpu --output-on-failure) 2>&1 | tee "$out/gpu_tests.txt" |
    tee -a "$log"; then
    failed=1
  fi
  summary+=("gpu tests: $(grep -E 'tests passed|tests failed' "$out/gpu_tests.txt" | tail -1)")
fi

# 3. The full CUDA build and bench gpu.
if [ -z "$torch_prefix" ]; then
  torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
fi
if [ -z "$torch_prefix" ] || [ ! -f "$torch_prefix/Torch/TorchConfig.cmake" ]; then
  say "no CUDA LibTorch found (python3 -c 'import torch' gave '${torch_prefix:-nothing}'; give --torch-prefix DIR holding Torch/TorchConfig.cmake)"
  summary+=("full CUDA build: skipped (no LibTorch CMake config)")
elif ! pkg-config --exists libavformat libavcodec libswscale 2>/dev/null; then
  say "LibTorch: $torch_prefix; FFmpeg's development files are missing here, so the full build and bench gpu are skipped (the FFmpeg-optional build is not written yet)"
  summary+=("full CUDA build and bench gpu: skipped (no FFmpeg development files)")
else
  full_dir="$build_dir/full"
  step cmake -S . -B "$full_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTREAMINFER_CUDA=ON \
    -DSTREAMINFER_TESTS=OFF -DSTREAMINFER_BENCH=OFF "-DCMAKE_CUDA_ARCHITECTURES=$arch" \
    "-DCMAKE_PREFIX_PATH=$torch_prefix"
  step cmake --build "$full_dir" -j "$(nproc)"
  if ((dry_run)); then
    say "dry run, would run: $full_dir/streaminfer bench gpu --output-dir $out"
    summary+=("bench gpu: not run (dry run)")
  else
    if ! "$full_dir/streaminfer" bench gpu --output-dir "$out" 2>&1 | tee "$out/bench_gpu.txt" |
      tee -a "$log"; then
      failed=1
    fi
    summary+=("bench gpu: $out/bench_gpu.txt")
  fi
fi

{
  echo "gpu_check $( ((dry_run)) && echo "(dry run)") at commit $commit"
  for line in "${summary[@]}"; do echo "  $line"; done
} | tee "$out/summary.txt"
exit "$failed"
