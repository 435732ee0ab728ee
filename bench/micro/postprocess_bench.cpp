// YOLOv8 box decode + class-aware NMS on one realistic [B, 84, 8400] output: the vectorized
// path the pipeline uses against the per-anchor reference.
#include <benchmark/benchmark.h>

#include "postprocess/synthetic_yolo_output.h"
#include "postprocess/yolo_decode.h"

namespace streaminfer {
namespace {

constexpr int kClasses = 80, kAnchors = 8400;

void run_decode(benchmark::State& state, bool reference) {
  const int batch = static_cast<int>(state.range(0));
  const auto output = realistic_yolov8_output(batch, kClasses, kAnchors, 42);
  const PostprocessOptions options;
  size_t kept = 0;
  for (auto _ : state) {
    const auto detections =
        reference ? decode_yolov8_reference(output.data(), batch, 4 + kClasses, kAnchors, options)
                  : decode_yolov8(output.data(), batch, 4 + kClasses, kAnchors, options);
    kept = detections[0].size();
    benchmark::DoNotOptimize(detections.data());
  }
  state.counters["kept_frame0"] = static_cast<double>(kept);
  state.SetItemsProcessed(state.iterations() * batch);  // frames
}

void BM_DecodeVectorized(benchmark::State& state) { run_decode(state, false); }
void BM_DecodeReference(benchmark::State& state) { run_decode(state, true); }

BENCHMARK(BM_DecodeVectorized)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeReference)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace streaminfer
