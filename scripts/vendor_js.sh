#!/usr/bin/env bash
# Fetches the JavaScript that `streaminfer report` inlines into its HTML (uPlot, MIT licence) into
# third_party/npm/ (git-ignored). Idempotent: does nothing when the pinned version is present.
#   scripts/vendor_js.sh           install if missing
#   scripts/vendor_js.sh --check   exit 1 when missing (no network)
set -euo pipefail
cd "$(dirname "$0")/.."

UPLOT_VERSION=1.6.32
PREFIX=third_party/npm
PKG=$PREFIX/node_modules/uplot

present() {
  [ -f "$PKG/dist/uPlot.iife.min.js" ] && [ -f "$PKG/dist/uPlot.min.css" ] &&
    grep -q "\"version\": \"$UPLOT_VERSION\"" "$PKG/package.json" 2>/dev/null
}

if present; then
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "vendor_js: uplot@$UPLOT_VERSION missing under $PREFIX (run scripts/vendor_js.sh)" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "vendor_js: npm not found (apt-get install npm)" >&2
  exit 1
fi
echo "vendor_js: installing uplot@$UPLOT_VERSION into $PREFIX"
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
  "uplot@$UPLOT_VERSION" >/dev/null
present || {
  echo "vendor_js: uplot@$UPLOT_VERSION did not install into $PKG" >&2
  exit 1
}
