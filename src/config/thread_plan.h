#pragma once
// How a run's threads share the cores: decode, preprocess, inference and postprocess planned
// together instead of each stage taking what it would take alone (2 decoder threads per stream
// plus a LibTorch thread per core put 10 busy threads on 2 cores for the default job).
#include <string>

namespace streaminfer {

struct ThreadPlan {
  int cores = 1;  // usable by this process (its affinity mask)
  int streams = 1;
  int inference = 1;          // LibTorch intra-op threads
  int decode_per_stream = 1;  // FFmpeg decoder threads of each stream
  std::string inference_why;  // "all cores" or "--threads"
  std::string decode_why;     // how decode_per_stream was chosen, or "--decode-threads"

  // "threads on 2 cores: inference 2 (LibTorch, all cores), decode 1 per stream x 4 (...),
  // preprocess 1, postprocess 1"
  std::string describe() const;
};

// `threads` and `decode_threads`: the user's --threads and --decode-threads, 0 to plan.
// Inference takes every core (it is what the run is for, and its OpenMP threads sleep when
// idle); decoding gets half the cores shared over the streams, at least 1 and at most 4
// threads a stream (FFmpeg's frame threads add a frame of delay each and gain little beyond 4),
// so with more streams than half the cores it is one thread a stream.
ThreadPlan plan_threads(int cores, int streams, int threads, int decode_threads);

}  // namespace streaminfer
