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
#include <thread>
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
// How long remove_stream() waits at most for the frames the stream had queued or in the stages
// to get their results: a few batches' inference, normally well under a second.
inline constexpr auto kRemoveDrainWait = std::chrono::seconds(10);
// Streams reading at once in a service, at most: each has a thread and a decoder; a client that
// adds cameras without end gets a refusal, not a process out of threads.
inline constexpr int kMaxReadingStreams = 1024;

struct Pipeline::Impl {
  struct Stream {
    int id = 0;
    std::string uri;
    std::string name;
    std::string given_name;  // the spec's, on its JSONL lines (empty: none); set before add()
    int every_nth = 1;
    double sample_fps = 0;
    // Its open and its reads give up (the source's interrupt callback): the run stops or the
    // stream is removed.
    std::atomic<bool> cancel{false};
    std::atomic<bool> removed{false};
    // remove_stream() waited for its frames: the sampler takes one last sample of it, with its
    // final counts (outputs' totals keep them), and none after (final_sampled, sampler thread).
    std::atomic<bool> drained{false};
    bool final_sampled = false;
    std::atomic<bool> ended{false};  // its thread is done (joined by the sampler or the remover)
    std::thread thread;              // guarded by lifecycle_mutex
    std::atomic<int64_t> last_result_ns{0};
    // A released source's counters (release_source), for the API and the summary.
    std::atomic<int64_t> kept_reconnects{0};
    std::atomic<int64_t> kept_decode_errors{0};
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

  // Streams by id. Ids are never reused: a removed stream keeps its slot (a tombstone without its
  // source), so the threads that look a stream up by a frame's stream_id never see a slot move
  // or go away while the run lasts. Readers on any thread see the streams added before size();
  // add() is called under lifecycle_mutex.
  class StreamTable {
   public:
    static constexpr int kCapacity = 1 << 16;
    StreamTable() : slots_(std::make_unique<std::unique_ptr<Stream>[]>(kCapacity)) {}
    size_t size() const { return count_.load(std::memory_order_acquire); }
    const std::unique_ptr<Stream>& operator[](size_t id) const { return slots_[id]; }
    const std::unique_ptr<Stream>* begin() const { return slots_.get(); }
    const std::unique_ptr<Stream>* end() const { return slots_.get() + size(); }
    bool full() const { return size() >= static_cast<size_t>(kCapacity); }
    Stream& add(std::unique_ptr<Stream> stream) {
      const size_t id = count_.load(std::memory_order_relaxed);
      stream->id = static_cast<int>(id);
      slots_[id] = std::move(stream);
      count_.store(id + 1, std::memory_order_release);
      return *slots_[id];
    }

   private:
    std::unique_ptr<std::unique_ptr<Stream>[]> slots_;
    std::atomic<size_t> count_{0};
  };

  Impl(PipelineOptions opts, std::shared_ptr<InferenceBackend> first_backend);

  PipelineOptions options;
  // The model new batches are preprocessed for (each batch keeps its own: Batch::model).
  std::shared_ptr<InferenceBackend> backend() const {
    std::lock_guard lock(backend_mutex);
    return current_backend;
  }
  mutable std::mutex backend_mutex;
  std::shared_ptr<InferenceBackend> current_backend;  // guarded by backend_mutex
  StopRequest own_stop;                               // when options.stop is null
  StopRequest* stop_request;
  RunOutputs outputs;
  StreamTable streams;
  // Serialises adding, removing and listing streams (API threads, the sampler's reaping) and
  // guards each Stream::thread; taken before stats_mutex, never after.
  mutable std::mutex lifecycle_mutex;
  bool running = false;  // run() started the stream threads; guarded by lifecycle_mutex
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
  std::atomic<int64_t> run_start{0};  // use_backend() reads it from another thread
  int64_t inference_thread_end = 0;   // guarded by stats_mutex
  std::unique_ptr<OutputHealthMonitor> health;
  std::weak_ptr<const InferenceBackend>
      health_model;  // the model `health` names (postprocess thread)
  std::atomic<bool> stdout_closed_said{false};

  std::mutex sampler_mutex;
  std::condition_variable sampler_wake;
  bool sampler_done = false;

  mutable std::mutex stats_mutex;  // guards stats, inference_error and the streams' status
  RunStats stats;
  std::string inference_error;

  // pipeline_sources.cpp
  // Starts opening every source on its own thread and waits up to kOpenGrace for them.
  Status open_all();
  // A new stream (under lifecycle_mutex): its slot, batcher queue and stats row, and its open
  // started on its own thread.
  Stream& create_stream(const StreamSpec& spec);
  // Starts the stream's thread (under lifecycle_mutex, once the run runs).
  void start_stream_thread(Stream& stream);
  // Joins the threads of streams that ended on their own (sampler thread).
  void reap_ended_streams();
  // A service's stream that stopped reading (its thread done) gives its source back: decoder,
  // buffers, sockets; its counters are kept in the Stream. A service that adds and removes
  // cameras for days must not keep every one it ever opened. Under lifecycle_mutex.
  void release_source(Stream& stream);
  // The stream could not get a thread: it fails (status, queue closed) instead of holding the
  // run open.
  void fail_to_start(Stream& stream, const std::string& why);
  // A stream's row for the API (under lifecycle_mutex).
  StreamState state_of(const Stream& stream, int64_t now) const;
  // The stream's open result, taken over: sets source, info and the batcher's policy. False when
  // it failed or was cancelled (status and the error line are done).
  bool adopt(int id, Result<std::unique_ptr<Source>> opened, bool late);
  void source_loop(int id);
  // A stream's thread stops reading (the last one of a run that is not a service: the run
  // drains).
  void leave_running();
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
