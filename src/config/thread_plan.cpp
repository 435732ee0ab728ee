#include "config/thread_plan.h"

#include <algorithm>

#include <fmt/format.h>

namespace streaminfer {

ThreadPlan plan_threads(int cores, int streams, int threads, int decode_threads) {
  ThreadPlan plan;
  plan.cores = std::max(1, cores);
  plan.streams = std::max(1, streams);
  if (threads > 0) {
    plan.inference = threads;
    plan.inference_why = "--threads";
  } else {
    plan.inference = plan.cores;
    plan.inference_why = "all cores";
  }
  if (decode_threads > 0) {
    plan.decode_per_stream = decode_threads;
    plan.decode_why = "--decode-threads";
  } else {
    plan.decode_per_stream = std::clamp(plan.cores / (2 * plan.streams), 1, 4);
    plan.decode_why = fmt::format("planned: half of {} core(s) over {} stream(s), 1 to 4 each",
                                  plan.cores, plan.streams);
  }
  return plan;
}

std::string ThreadPlan::describe() const {
  return fmt::format(
      "threads on {} core(s): inference {} (LibTorch, {}), decode {} per stream x {} ({}), "
      "preprocess 1, postprocess 1",
      cores, inference, inference_why, decode_per_stream, streams, decode_why);
}

}  // namespace streaminfer
