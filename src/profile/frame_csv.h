#pragma once
// Per-frame CSV, F_{model}_P_{pid}_frames.csv: where each frame's time went, one row per frame,
// loadable by pandas as it is. Columns (ms, 3 decimals; empty cell = stage not reached):
//   stream,frame,step,batch_size,decode_ms,queue_wait_ms,batch_wait_ms,preprocess_ms,
//   inference_wait_ms,exec_ms,post_ms,end_to_end_ms,done_ms,detections,recall
// queue_wait = decode end -> batched, batch_wait = batched -> preprocess start,
// inference_wait = preprocess end -> inference start, end_to_end = decode start -> post end,
// done_ms = post end since the run started, recall = share of the ground-truth boxes found at
// IoU 0.5 (4 decimals; empty when the source has no ground truth).
// Not thread-safe: one writer thread (the postprocess thread).
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>

#include "profile/timeline.h"
#include "streaminfer/status.h"

namespace streaminfer {

class FrameCsvWriter {
 public:
  // Creates the directory if needed; file name from frames_file_name().
  static Result<std::unique_ptr<FrameCsvWriter>> open(const std::string& path,
                                                      int64_t run_start_ns);
  void write(const BatchTimeline& batch);  // one row per frame of the batch
  Status close();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int64_t run_start_ns_ = 0;
  std::ofstream out_;
};

// "F_{model}_P_{pid}_frames.csv", the model part sanitized exactly as metrics_file_name() does.
std::string frames_file_name(const std::string& model, int pid);

}  // namespace streaminfer
