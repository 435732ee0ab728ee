#pragma once
// What `run` and `serve` share: one path from options to a loaded, warmed model and a pipeline
// with its outputs and sources open, and one end-of-run report. `serve` is `run` with a stream
// list that changes and a listener; neither has an engine of its own.
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/stop_request.h"
#include "config/run_options.h"
#include "config/thread_plan.h"
#include "infer/backend.h"
#include "pipeline/pipeline.h"
#include "profile/system_info.h"

namespace streaminfer {
class OnlineTrainer;
}

namespace streaminfer::app {

class Engine {
 public:
  // Everything up to the loaded model, checked in the order a user's mistakes are cheapest to
  // report: options, paths, then the model. `streams` are the sources to run (after --shard).
  // On failure: the error line is printed and the exit code returned.
  static std::variant<std::unique_ptr<Engine>, int> load(RunOptions options, StopRequest& stop,
                                                         bool service);
  // The pipeline over `streams`, its outputs open and its sources opening (one that fails says
  // why in its own line); then the start-up block on the info stream and the warm-up. A failure
  // is printed and its exit code returned.
  // `worker_id`: a fleet worker's, on every JSONL line.
  std::optional<int> open(std::vector<StreamSpec> streams,
                          std::vector<std::shared_ptr<OutputPeer>> peers,
                          const std::string& worker_id = "");
  // A service's model changes while it runs: the options' model keys (RunOptionSpec::picks_model)
  // build a new model, checked at every batch size and warmed beside the running one, which
  // serves meanwhile; then the pipeline's next batch goes to it (Pipeline::use_backend) and the
  // old one is freed after its last batch. Fails (the running model kept) with the reason.
  // Returns what changed, for the log. One at a time (the caller serialises).
  Result<std::string> change_model(const RunOptions& next);
  // Inference frames per second at the configured batch, timed over a few forwards of the warm
  // model (a fleet worker's capacity, its share of the cameras).
  double measure_capacity_fps();
  // After Pipeline::run(): the summary, the backend's and the tensor cache's reports, the files
  // written; the exit code (0, or 1 when no source opened or the run failed).
  int finish(Result<RunStats>& stats);
  // The exit code of a run that ended (finish() returned 0): 0 when every frame read got its
  // result (a stop on request included), 128 + the signal when a second stop cut the drain
  // short, 1 when nothing was done.
  int exit_code(const RunStats& stats) const;

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const RunOptions& options() const { return options_; }
  const ModelInfo& model() const { return backend_->info(); }
  Pipeline& pipeline() { return *pipeline_; }
  InferenceBackend& backend() { return *backend_; }

 private:
  Engine() = default;

  RunOptions options_;
  StopRequest* stop_ = nullptr;
  bool service_ = false;
  ThreadPlan threads_;
  std::string binding_ = "not bound";
  std::string shard_line_;
  std::shared_ptr<InferenceBackend> backend_;
  std::unique_ptr<OnlineTrainer> trainer_;
  SystemInfo system_;
  std::unique_ptr<Pipeline> pipeline_;
  bool sources_opened_ = true;
};

}  // namespace streaminfer::app
