#pragma once
// Pipeline's state, shared by pipeline.cpp (batches: preprocess, inference, postprocess, the
// sampler and the run) and pipeline_sources.cpp (streams: opening them side by side, decoding).
// Internal to the pipeline module.
#include <ATen/core/Tensor.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "batch/bounded_queue.h"
#include "common/stop_request.h"
#include "pipeline/batch.h"
#include "pipeline/pipeline.h"
#include "pipeline/run_outputs.h"
#include "postprocess/output_health.h"
#include "profile/accuracy_tracker.h"

namespace streaminfer {

// Double buffering: one batch tensor in inference while the next one is filled. More tensors
// would only queue ready batches in front of inference and add their latency to every frame.
inline constexpr size_t kTensorPoolSize = 2;
inline constexpr size_t kStageQueueCapacity = 1;
inline constexpr auto kQueueSampleInterval = std::chrono::milliseconds(100);
// How long open_sources() waits for sources before the run goes on without the ones still
// opening (a camera that does not answer): they join when they open, or fail on their own.
inline constexpr auto kOpenGrace = std::chrono::seconds(1);

struct Pipeline::Impl {
  struct Stream {
    std::string uri;
    // Until `ready`: the open running on its own thread; the stream's thread takes it over.
    std::future<Result<std::unique_ptr<Source>>> opening;
    int64_t open_start_ns = 0;
    std::unique_ptr<Source> source;
    // Set (release) once source and info are in place; other threads read them only after.
    std::atomic<bool> ready{false};
    SourceInfo info;
    bool realtime = false;      // drops its oldest queued frame instead of waiting for room
    bool paced = false;         // delivered at its frame rate by the pipeline (synthetic, --pace)
    std::string status = "ok";  // guarded by stats_mutex once the run started
    std::atomic<int64_t> decoded{0};
    std::atomic<int64_t> skipped{0};  // left out on purpose (--every-nth, --sample-fps)
    std::atomic<int64_t> done{0};
    int64_t unprocessed = 0;  // abandoned by a shortened stop (sampler thread)
  };

  Impl(PipelineOptions opts, InferenceBackend& backend_ref);

  PipelineOptions options;
  InferenceBackend& backend;
  StopRequest own_stop;  // when options.stop is null
  StopRequest* stop_request;
  RunOutputs outputs;
  std::vector<std::unique_ptr<Stream>> streams;
  std::unique_ptr<Batcher> batcher;
  BoundedQueue<at::Tensor> tensor_pool{kTensorPoolSize, OverflowPolicy::kBlock};
  BoundedQueue<BatchPtr> to_inference{kStageQueueCapacity, OverflowPolicy::kBlock};
  BoundedQueue<BatchPtr> to_postprocess{kStageQueueCapacity, OverflowPolicy::kBlock};
  // The sources must end: a stop request, --max-steps, or inference failed. Also the sources'
  // cancel flag (SourceOptions::cancel), so an open still waiting for a camera gives up.
  std::atomic<bool> stop{false};
  std::atomic<bool> abandoned{false};  // a second stop request discarded the queued frames
  bool sources_interrupted = false;    // sampler thread only
  std::atomic<int> sources_running{0};
  std::atomic<int64_t> batches_done{0};
  int64_t run_start = 0;
  int64_t inference_thread_end = 0;  // guarded by stats_mutex
  std::unique_ptr<OutputHealthMonitor> health;
  std::atomic<bool> stdout_closed_said{false};

  std::mutex sampler_mutex;
  std::condition_variable sampler_wake;
  bool sampler_done = false;

  std::mutex stats_mutex;  // guards stats, inference_error and the streams' status
  RunStats stats;
  std::string inference_error;

  // pipeline_sources.cpp
  // Starts opening every source on its own thread and waits up to kOpenGrace for them.
  Status open_all();
  // The stream's open result, taken over: sets source, info and the batcher's policy. False when
  // it failed or was cancelled (status and the error line are done).
  bool adopt(int id, Result<std::unique_ptr<Source>> opened, bool late);
  void source_loop(int id);
  void report_end_of_stream(int id, int64_t frames);
  // Waits for every open still running (each gives up at once when `stop` is set).
  void wait_for_opens();

  // pipeline.cpp
  void preprocess_loop();
  void inference_loop();
  // Retrain mode: one fine-tuning step on the batch's first n rows; its forward's output is the
  // batch's output.
  Result<at::Tensor> train_step(Batch& b, int64_t n);
  void postprocess_loop();
  void postprocess(Batch& b);
  void sampler_loop();
  // Turns the stop request into the pipeline's own stop (and discards the queued frames on a
  // second request). Sampler thread.
  void follow_stop_request();
  void record_batch(const Batch& batch);
  void fail_inference(const std::string& message);
  std::string live_detail();
  // For the streams whose source has ground truth; null when none has.
  std::unique_ptr<AccuracyTracker> accuracy_tracker() const;
  std::optional<StopRecord> stop_record() const;
};

}  // namespace streaminfer
