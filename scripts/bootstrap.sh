#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   scripts/bootstrap.sh run [streaminfer run flags...]   install what is missing, build, run
#   scripts/bootstrap.sh test                             install, build, run every test
# Packages are installed with apt only when absent. Builds go to build/ (Release) and, for the
# tests, build-fuzz/ (the fuzz targets, clang), build-sanitize/ (AddressSanitizer +
# UndefinedBehaviorSanitizer) and build-tsan/ (ThreadSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format
  clang libclang-rt-14-dev  # scripts/fuzz.sh: clang++ and its libFuzzer/sanitizer runtimes
  libtorch-dev libopenblas0-pthread
  libdnnl-dev  # the float32 YOLOv8 on oneDNN directly (the oneDNN LibTorch runs on)
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libmosquitto-dev mosquitto
  libcpp-httplib-dev libcurl4-openssl-dev prometheus  # serve: its HTTP API, the tests' client and scraper
  etcd-server etcd-client  # the fleet: its tests' etcd
  ffmpeg python3-torch chromium
  libgstrtspserver-1.0-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good
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

# Unity builds (16 sources a file): LibTorch's, GoogleTest's and nlohmann-json's headers are parsed
# once per 16 files instead of once per file. On 2 cores the Release build took 167 s instead of
# 447 s, and the sanitizer builds gain as much (CI has 30 minutes for all three).
configure() {  # configure DIR [extra cmake args...]
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON \
    -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 "$@" >/dev/null
}

check_format() {
  local files
  files=$(git ls-files '*.cpp' '*.h' '*.cu' 2>/dev/null || find src apps tests bench -name '*.cpp' -o -name '*.h' -o -name '*.cu')
  # shellcheck disable=SC2086
  clang-format --dry-run --Werror $files
}

cmd=${1:-run}
shift || true
install_missing
scripts/vendor_js.sh  # the report's chart library, inlined into the binary at build time
case "$cmd" in
  run)
    configure build -DSTREAMINFER_WERROR=ON
    cmake --build build -j "$JOBS"
    exec ./build/streaminfer run "$@"
    ;;
  test)
    # Each stage says when it ended (seconds since the start): CI has 35 minutes on 2 cores.
    stage_done() { echo "bootstrap: $1 done at ${SECONDS} s"; }
    scripts/vendor_test_js.sh  # the Kubernetes schemas the deployment files' test checks against
    check_format
    # The parsers of user input under libFuzzer + ASan/UBSan (scripts/fuzz.sh): 6 s a target
    # (10 until CI took 2346 s; longer runs: scripts/fuzz.sh 60), two at a time on 2 cores: 67 s
    # for the whole stage at 10 s on a 2-core VM (AMD EPYC), build-fuzz/
    # from scratch included (about 40 s of it).
    scripts/fuzz.sh 6
    stage_done fuzzing
    # With the CUDA toolkit installed the Release build is the CUDA one (src/cuda/): the kernels
    # and their tests for Hopper (sm_90, one architecture to keep the build short), and the cuda
    # backend compiled; it links only against a CUDA LibTorch, which this machine lacks
    # (scripts/gpu_check.sh builds and runs it on a GPU machine).
    cuda_flags=()
    if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
      cuda_flags=(-DSTREAMINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
    else
      echo "bootstrap: no nvcc (CUDA toolkit): the CUDA kernels and backend are not built"
    fi
    configure build -DSTREAMINFER_WERROR=ON "${cuda_flags[@]}"
    cmake --build build -j "$JOBS"
    stage_done "Release build"
    # Tests run side by side on 2 cores, each streaminfer with 2 LibTorch threads. With OpenMP's
    # default spin-waiting those threads burn the cores the other process needs: two default jobs
    # in parallel took 11.5 s instead of 3.4 s with passive waiting, and the micro-batch timing at
    # load measured 242 instead of 41 ms a frame. Three at a time: many end-to-end tests mostly
    # wait (servers restarting, cameras in real time, signals).
    export OMP_WAIT_POLICY=passive
    # CTest starts the longest tests first when it has their times; a fresh machine has none and
    # would start them in declaration order, leaving a long one (the fleet's, 49 s) to run alone
    # at the end. tests/ctest_cost_data.txt: the times of a local run, copied once.
    mkdir -p build/Testing/Temporary
    [ -f build/Testing/Temporary/CTestCostData.txt ] ||
      cp tests/ctest_cost_data.txt build/Testing/Temporary/CTestCostData.txt
    (cd build && ctest --output-on-failure -j 3 --timeout 900)
    stage_done "Release tests"
    # Under the sanitizers the two unit-test programs run once each, every test in one process:
    # a sanitizer's start-up (LibTorch's libraries and their shadow memory) costs seconds, and
    # CTest would pay it once per test.
    # The two programs side by side, one per core: the engine's tests keep the CPU busy while
    # the module tests mostly wait (etcd's leases, brokers, sockets): 60-70 s less per stage than
    # one after the other. Each writes its own log, shown whole when it fails.
    # run_unit_tests BUILD_DIR [GTEST_FILTER of engine_unit_tests] [GTEST_FILTER of unit_tests]
    run_unit_tests() {
      local status=0 program pids=()
      "$1/tests/unit_tests" --gtest_brief=1 "--gtest_filter=${3:-*}" >"$1/unit_tests.log" 2>&1 &
      pids+=($!)
      "$1/tests/engine_unit_tests" --gtest_brief=1 "--gtest_filter=${2:-*}" \
        >"$1/engine_unit_tests.log" 2>&1 &
      pids+=($!)
      for i in 0 1; do
        program=$([ "$i" = 0 ] && echo unit_tests || echo engine_unit_tests)
        if wait "${pids[$i]}"; then
          tail -n 2 "$1/$program.log"
        else
          echo "bootstrap: $program failed under $1:"
          cat "$1/$program.log"
          status=1
        fi
      done
      return "$status"
    }
    # The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer: the modules, the
    # backends and the threaded pipeline, in process. The end-to-end tests run in the Release
    # and ThreadSanitizer builds only: under ASan the model runs 20-100x slower.
    # -O1 -g1 (line tables) compiles in half the time of RelWithDebInfo's -O2 -g with LibTorch's
    # headers, and the stack traces still name file and line.
    # -fno-sanitize=vptr: UBSan's dynamic-type check instruments every member access and call
    # through LibTorch's class hierarchy; it made the largest file take 104 s instead of 84. The
    # other UBSan checks stay.
    configure build-sanitize -DSTREAMINFER_WERROR=ON -DSTREAMINFER_SANITIZE=address,undefined \
      -DSTREAMINFER_SANITIZE_EXCLUDE=vptr -DSTREAMINFER_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
    cmake --build build-sanitize -j "$JOBS" --target unit_tests engine_unit_tests
    stage_done "ASan + UBSan build"
    (export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
      run_unit_tests build-sanitize)
    stage_done "ASan + UBSan unit tests"
    # The whole suite again under ThreadSanitizer, the end-to-end tests included: the Release
    # build's end-to-end tests run the TSan build's streaminfer ($STREAMINFER_TEST_BIN; the tests
    # themselves are no code under test and are not built again), and every streaminfer they
    # start inherits TSAN_OPTIONS; any report fails the test. LibTorch, its OpenMP runtime and
    # FFmpeg are not built for TSan: ignore_noninstrumented_modules stops their
    # memcpy/memset/malloc calls being checked (their threads synchronise in ways TSan cannot
    # see), and tests/tsan.supp drops reports with an FFmpeg frame in a stack. Accesses made by
    # our code are all checked.
    configure build-tsan -DSTREAMINFER_WERROR=ON -DSTREAMINFER_SANITIZE=thread \
      -DSTREAMINFER_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
    cmake --build build-tsan -j "$JOBS" --target streaminfer unit_tests engine_unit_tests
    stage_done "TSan build"
    tsan_options="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1"
    export TSAN_OPTIONS="$tsan_options suppressions=$PWD/tests/tsan.supp"
    # Not again under TSan (they ran in the Release and ASan stages): the engine's tests that
    # start no thread of ours, numerics of one model on the test's thread (classifier backends,
    # weights files, BatchNorm folding, int8, PyTorch interop, the oneDNN plans, the model zoo,
    # split points): 78 of engine_unit_tests' 151 s under TSan, measured on the 2-core VM; and
    # unit_tests' NMS and letterbox arithmetic (30 of its 84 s).
    run_unit_tests build-tsan "-ClassifierBackend.*:WeightsFile.*:YoloV8Fuse.*:YoloV8Int8.*:\
ResNetInterop.*:*Fp32Kernels*:ModelZoo.*:Int8Calibration.*:*YoloV8OneDnn*:ResNetOneDnn.*:\
ResNetInt8.*:SplitPoint.*" "-NmsTest.*:LetterboxTest.*"
    stage_done "TSan unit tests"
    # Not again under TSan (they ran in the Release stage): what exits before any thread of ours
    # starts (the bad-input suite's rows, the older bad-input and bench cases that end in exit 2,
    # the README's commands), and what has no thread of ours (report, train). The stop tests run
    # with SIGINT here: the three signals take the same path once caught; a first signal during
    # start-up or running is also the first of the two-signal cases, and a drain to its end is
    # every other test's end. One container of the clip test: the same threads read each. The
    # precision choice and int8 calibration happen at load, on one thread, before the pipeline
    # starts (290 s of TSan test time for nothing a pipeline test does not cover). Nor the tests that vary only
    # the model, its weights or precision, or run a bench experiment or an offline tool
    # (TorchScript and ResNet files, split points, precisions, accuracy, bench, annotate, dataset
    # tools): the pipeline threads they start are those of the run, live, stop, classifier and
    # serve tests that do run here. They take about 450 s of test time in the Release stage and
    # several times that under TSan. Nor the fleet's test: three workers on two cores under TSan
    # cannot hold its failover bound (TTL + 5 s); the member's threads run under TSan in
    # FleetMemberTest (unit tests, real etcd), the serve threads in the Serve tests. Nor the
    # deployment files' checks (Deploy: node and `serve --help`, no thread of ours). Nor, since
    # CI passed 35 minutes (2399 s), the cases whose threads another case here already runs:
    # flag errors refused before any thread (Cli's three, ViT's size, core binding, a bad worker
    # key, a malformed sink, refused fp32 kernels), the YAML twin of the flags run, the truncated
    # twin of the corrupt clip, sampling (every-nth: the live run's decode thread), CUDA decode's
    # CPU fallback (the file source's threads), the API token (the serve tests' threads), the
    # classifier run with PyTorch's weights (ResNet18WritesTopFive's threads; most of its time is
    # Python), and three of the four retrain cases (the refused model, the classifier's and the
    # file source's; the synthetic one stays): 17 cases, about 150 s of Release test time, two to
    # three times that under TSan. Nor, since CI took 2346 s, the oneDNN plans' run (the plan's
    # forwards run on the inference thread as LibTorch's do; 46 s under TSan), one SIGINT while
    # draining (the first signal of the two-signal drain case; 77 s), and the default job (its
    # load-time choices of precision and kernels run on one thread before the pipeline starts, its
    # four synthetic cameras' threads are the synthetic and live runs'; 50 s).
    no_threads='BadInputSuite|^Readme\.|^Report\.|^TrainCommand\.|^BadInput\.[A-Za-z]+Exits2$'
    no_threads+='|StopSignal\..*/(TERM|HUP|INTOnceStartUp|INTOnceRunning|INTOnceDraining)|^GpuCheck\.|^CudaOptions\.'
    no_threads+='|^PrecisionAuto\.|^Containers/FileSource\..*/clip_(mkv|mpeg4_mkv) '
    no_threads+='|^BenchCommand\.|^TorchScriptModel\.|^ResNetInterop\.'
    no_threads+='|^SplitPointRun\.|^Precision\.|^AccuracyRun\.|^Annotate|^DatasetTools\.|^Fleet\.|^Deploy\.'
    no_threads+='|^Cli\.(RunHelp|Unknown)|^ClassifierRun\.(Vit|WeightsFromPyTorch)|CoreBindToACore'
    no_threads+='|AWorkerWithABadKey|MalformedSinkIsRejected|^RetrainRun\.(ATorchScript|AClassifier|AFileSource)'
    no_threads+='|^SyntheticRun\.YamlConfig|^DamagedClip\.Truncated|^LiveRun\.EveryNth|^HwdecCuda\.'
    no_threads+='|^Serve\.AnAddressOffLoopback|^Fp32KernelsRun\.|^Cli\.DefaultJobRunsFourSyntheticCameras'
    (cd build && STREAMINFER_TEST_BIN="$PWD/../build-tsan/streaminfer" \
      ctest --output-on-failure -j 3 --timeout 900 -L integration -E "$no_threads")
    stage_done "TSan end-to-end tests"
    ;;
  *)
    echo "usage: scripts/bootstrap.sh run [flags] | test" >&2
    exit 2
    ;;
esac
