#pragma once
// Per-batch metrics CSV, M_{model}_P_{pid}_metrics.csv, loadable by pandas as it is.
// Columns: step,read_latency_ms,prep_latency_ms,exec_latency_ms,post_latency_ms,
//          total_step_latency_ms,batch_size,loss,start_ms,streams,box_loss,cls_loss,dfl_loss,
//          forward_ms,backward_ms,optimizer_ms
// The retrain columns come last so that the first ones keep their positions; they are empty in
// inference mode (and the loss parts for classifiers, whose loss has none).
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "profile/retrain_stats.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct BatchRecord {
  int64_t step = 0;
  double read_ms = 0;   // batcher: from asking for a batch until it was formed
  double prep_ms = 0;   // letterbox of the whole batch
  double exec_ms = 0;   // model forward
  double post_ms = 0;   // decode + NMS
  double total_ms = 0;  // read + prep + exec + post
  int batch_size = 0;
  std::optional<TrainStepRecord> train;  // retrain mode only: loss and stage times
  double start_ms = 0;                   // batch formed, ms since run start
  std::string streams;                   // stream ids in the batch, e.g. "0;1;0;1"
};

class MetricsCsvWriter {
 public:
  // Creates the directory if needed; file name from metrics_file_name().
  static Result<std::unique_ptr<MetricsCsvWriter>> open(const std::string& path);
  void write(const BatchRecord& record);
  Status close();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

// "M_{model}_P_{pid}_metrics.csv"; characters of the model name other than [A-Za-z0-9_.-]
// (a path's slashes, for instance) become '_', and a path contributes only its stem.
std::string metrics_file_name(const std::string& model, int pid);
// Any file of a run's metrics folder, named alike: {prefix}_{model}_P_{pid}_{suffix}, e.g.
// F_yolov8n_P_42_frames.csv.
std::string run_file_name(char prefix, const std::string& model, int pid,
                          const std::string& suffix);
// Any file of a run's metrics folder: {prefix}_{model}_P_{pid}_{suffix}, e.g.
// F_yolov8n_P_42_frames.csv (the model's file stem, characters outside [A-Za-z0-9_.-] as '_').
std::string run_file_name(char prefix, const std::string& model, int pid,
                          const std::string& suffix);

}  // namespace streaminfer
