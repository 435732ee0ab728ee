#!/usr/bin/env bash
# Fetches ONNX Runtime for Node.js (onnxruntime-node, MIT), the peer that compare.sh times, into
# third_party/npm-peers/ (git-ignored). It serves this comparison only: the engine neither links
# nor loads it.
# --ignore-scripts: the package's install script only downloads the CUDA/TensorRT provider
# libraries (from a host this machine cannot reach); the CPU library ships inside the package.
# Idempotent: does nothing when the pinned version is present and loads.
set -euo pipefail
cd "$(dirname "$0")/../../.."

ORT_VERSION=1.31.1
PREFIX=third_party/npm-peers
PKG=$PREFIX/node_modules/onnxruntime-node

present() {
  grep -q "\"version\": \"$ORT_VERSION\"" "$PKG/package.json" 2>/dev/null
}

# The CPU execution provider is libonnxruntime.so.* beside the N-API binding, per platform.
check() {
  local lib
  lib=$(find "$PKG/bin" -path '*linux/x64/*' -name 'libonnxruntime.so*' 2>/dev/null | head -1)
  [ -n "$lib" ] || { echo "vendor: no linux/x64 libonnxruntime.so* under $PKG/bin" >&2; return 1; }
  # Loading the module loads the binding and the CPU library: a missing symbol or file fails here.
  NODE_PATH=$PREFIX/node_modules node -e '
    const ort = require("onnxruntime-node");
    if (typeof ort.InferenceSession?.create !== "function") throw new Error("no InferenceSession");' ||
    { echo "vendor: require(\"onnxruntime-node\") failed" >&2; return 1; }
}

if present && check; then
  exit 0
fi
for tool in npm node; do
  command -v "$tool" >/dev/null 2>&1 || { echo "vendor: $tool not found (apt-get install nodejs npm)" >&2; exit 1; }
done
echo "vendor: installing onnxruntime-node@$ORT_VERSION into $PREFIX"
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --ignore-scripts --no-save --no-audit --no-fund --no-package-lock \
  --loglevel=error "onnxruntime-node@$ORT_VERSION" >/dev/null
present || { echo "vendor: onnxruntime-node@$ORT_VERSION did not install into $PREFIX" >&2; exit 1; }
check
