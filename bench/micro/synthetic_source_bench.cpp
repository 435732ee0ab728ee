// Cost of rendering one synthetic camera frame: 4 cameras at 30 fps must leave the cores to
// inference.
#include <benchmark/benchmark.h>

#include "source/source.h"

namespace streaminfer {
namespace {

void BM_SyntheticFrame(benchmark::State& state) {
  const std::string uri =
      "synthetic:?width=1280&height=720&objects=" + std::to_string(state.range(0));
  auto source = open_source(uri, SourceOptions{});
  if (!source) {
    state.SkipWithError(source.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    FramePtr frame;
    if (!source.value()->next(frame) || !frame) {
      state.SkipWithError("synthetic source gave no frame");
      return;
    }
    benchmark::DoNotOptimize(frame.get());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_SyntheticFrame)->Arg(6)->Arg(24)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace streaminfer
