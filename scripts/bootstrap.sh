#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   scripts/bootstrap.sh run [streaminfer run flags...]   install what is missing, build, run
#   scripts/bootstrap.sh test                             install, build, run every test
# Packages are installed with apt only when absent. Builds go to build/ (Release) and, for the
# tests, build-sanitize/ (AddressSanitizer + UndefinedBehaviorSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format
  libtorch-dev libopenblas0-pthread
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  ffmpeg python3-torch chromium
)
JOBS=$(nproc)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # npm often comes with a nodejs that is not Debian's (NodeSource ships it inside nodejs):
  # install Debian's only when there is no npm at all.
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if ((${#missing[@]})); then
    echo "bootstrap: installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

build() {  # build DIR [extra cmake args...]
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

check_format() {
  local files
  files=$(git ls-files '*.cpp' '*.h' 2>/dev/null || find src apps tests bench -name '*.cpp' -o -name '*.h')
  # shellcheck disable=SC2086
  clang-format --dry-run --Werror $files
}

cmd=${1:-run}
shift || true
install_missing
scripts/vendor_js.sh  # the report's chart library, inlined into the binary at build time
case "$cmd" in
  run)
    build build -DSTREAMINFER_WERROR=ON
    exec ./build/streaminfer run "$@"
    ;;
  test)
    check_format
    build build -DSTREAMINFER_WERROR=ON
    (cd build && ctest --output-on-failure -j "$JOBS" --timeout 900)
    build build-sanitize -DSTREAMINFER_WERROR=ON -DSTREAMINFER_SANITIZE=address,undefined \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo
    (cd build-sanitize &&
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --output-on-failure -j "$JOBS" --timeout 900)
    ;;
  *)
    echo "usage: scripts/bootstrap.sh run [flags] | test" >&2
    exit 2
    ;;
esac
