#!/usr/bin/env bash
# Fetches what the deployment files' test needs (tests/deploy/check_manifests.mjs): the
# Kubernetes object schemas as JSON-schema validators (kubernetes-models, Apache-2.0) and a YAML
# parser (yaml, ISC), into third_party/npm-test/ (git-ignored; not in the product or its image).
# Idempotent: does nothing when the pinned versions are present.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_MODELS_VERSION=4.5.1
YAML_VERSION=2.8.1
PREFIX=third_party/npm-test

present() {
  grep -q "\"version\": \"$KUBERNETES_MODELS_VERSION\"" \
    "$PREFIX/node_modules/kubernetes-models/package.json" 2>/dev/null &&
    grep -q "\"version\": \"$YAML_VERSION\"" "$PREFIX/node_modules/yaml/package.json" 2>/dev/null
}

if present; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "vendor_test_js: npm not found (apt-get install npm)" >&2
  exit 1
fi
echo "vendor_test_js: installing kubernetes-models@$KUBERNETES_MODELS_VERSION yaml@$YAML_VERSION into $PREFIX"
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
  "kubernetes-models@$KUBERNETES_MODELS_VERSION" "yaml@$YAML_VERSION" >/dev/null
present || {
  echo "vendor_test_js: the packages did not install into $PREFIX" >&2
  exit 1
}
