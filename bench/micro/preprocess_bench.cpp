// Letterbox of one decoded 1280x720 picture into a 640x640 float CHW slot (libswscale path), and
// the per-pixel reference the tests compare it with.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "preprocess/letterbox.h"
#include "streaminfer/frame.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {
namespace {

AvFramePtr noise_frame(int width, int height, AVPixelFormat format) {
  AvFramePtr f = make_av_frame();
  f->format = format;
  f->width = width;
  f->height = height;
  if (av_frame_get_buffer(f.get(), 0) != 0) return nullptr;
  std::mt19937 rng(6);
  const int planes = format == AV_PIX_FMT_YUV420P ? 3 : 1;
  for (int p = 0; p < planes; ++p) {
    const int rows = p == 0 ? height : (height + 1) / 2;
    for (int y = 0; y < rows; ++y) {
      for (int x = 0; x < f->linesize[p]; ++x) f->data[p][y * f->linesize[p] + x] = rng() & 0xff;
    }
  }
  return f;
}

void run_letterbox(benchmark::State& state, AVPixelFormat format) {
  auto frame = noise_frame(1280, 720, format);
  if (!frame) {
    state.SkipWithError("av_frame_get_buffer failed");
    return;
  }
  LetterboxPreprocessor preprocessor;
  std::vector<float> slot(3 * 640 * 640);
  for (auto _ : state) {
    if (!preprocessor.run(*frame, 640, 640, slot.data(), nullptr)) {
      state.SkipWithError("letterbox failed");
      return;
    }
    benchmark::DoNotOptimize(slot.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_LetterboxRgb24(benchmark::State& state) { run_letterbox(state, AV_PIX_FMT_RGB24); }
void BM_LetterboxYuv420p(benchmark::State& state) { run_letterbox(state, AV_PIX_FMT_YUV420P); }

void BM_LetterboxReference(benchmark::State& state) {
  auto frame = noise_frame(1280, 720, AV_PIX_FMT_RGB24);
  std::vector<float> slot(3 * 640 * 640);
  for (auto _ : state) {
    letterbox_reference(frame->data[0], 1280, 720, frame->linesize[0], 640, 640, slot.data());
    benchmark::DoNotOptimize(slot.data());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_LetterboxRgb24)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LetterboxYuv420p)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LetterboxReference)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace streaminfer
