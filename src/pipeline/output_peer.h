#pragma once
// An output that plugs into a run beside the built-in ones (JSONL, CSVs, trace, MQTT): a
// service's metrics registry is one. The run hands it every completed batch once, from the
// postprocess thread, every frame dropped before inference, and the queue samples (every
// 100 ms, sampler thread). A peer never blocks: the hot stages wait for it.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "pipeline/batch.h"

namespace streaminfer {

// One stream's queue at a sample: the streams running at that moment only (a removed stream
// has no row).
struct StreamQueueSample {
  int stream_id = 0;
  size_t depth = 0;
  int64_t dropped = 0;  // dropped so far by its overflow policy
  int64_t done = 0;     // frames with a result so far
};

class OutputPeer {
 public:
  virtual ~OutputPeer() = default;
  virtual void on_batch(const Batch& batch) = 0;
  virtual void on_dropped(const Frame& /*frame*/) {}
  virtual void on_queue_sample(int64_t /*ts_ns*/,
                               const std::vector<StreamQueueSample>& /*samples*/) {}
};

}  // namespace streaminfer
