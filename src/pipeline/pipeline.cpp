#include "pipeline/pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <thread>

#include "batch/bounded_queue.h"
#include "pipeline/batch.h"
#include "pipeline/progress_display.h"
#include "pipeline/retrain_labels.h"
#include "pipeline/run_outputs.h"
#include "postprocess/classify.h"
#include "preprocess/letterbox.h"
#include "profile/accuracy_tracker.h"
#include "profile/nvtx.h"
#include "source/frame_sampler.h"
#include "streaminfer/clock.h"
#include "train/online_trainer.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {

namespace {

// Double buffering: one batch tensor in inference while the next one is filled. More tensors
// would only queue ready batches in front of inference and add their latency to every frame.
constexpr size_t kTensorPoolSize = 2;
constexpr size_t kStageQueueCapacity = 1;
constexpr auto kQueueSampleInterval = std::chrono::milliseconds(100);

}  // namespace

struct Pipeline::Impl {
  struct Stream {
    std::string uri;
    std::unique_ptr<Source> source;
    SourceInfo info;
    bool realtime = false;  // drops its oldest queued frame instead of waiting for room
    bool paced = false;     // delivered at its frame rate by the pipeline (synthetic, --pace)
    std::string status = "ok";
    std::atomic<int64_t> decoded{0};
    std::atomic<int64_t> skipped{0};  // left out on purpose (--every-nth, --sample-fps)
    std::atomic<int64_t> done{0};
  };

  Impl(PipelineOptions opts, InferenceBackend& backend_ref)
      : options(std::move(opts)),
        backend(backend_ref),
        outputs({options.output_jsonl, options.metrics_dir, options.trace_path, options.model_name,
                 options.sinks}) {}

  PipelineOptions options;
  InferenceBackend& backend;
  RunOutputs outputs;
  std::vector<std::unique_ptr<Stream>> streams;
  std::unique_ptr<Batcher> batcher;
  BoundedQueue<at::Tensor> tensor_pool{kTensorPoolSize, OverflowPolicy::kBlock};
  BoundedQueue<BatchPtr> to_inference{kStageQueueCapacity, OverflowPolicy::kBlock};
  BoundedQueue<BatchPtr> to_postprocess{kStageQueueCapacity, OverflowPolicy::kBlock};
  std::atomic<bool> stop{false};
  bool sources_interrupted = false;  // sampler thread only
  std::atomic<int64_t> batches_done{0};
  int64_t run_start = 0;
  int64_t inference_thread_end = 0;  // guarded by stats_mutex

  std::mutex sampler_mutex;
  std::condition_variable sampler_wake;
  bool sampler_done = false;

  std::mutex stats_mutex;  // guards stats and inference_error
  RunStats stats;
  std::string inference_error;

  void source_loop(int id);
  void report_end_of_stream(int id, int64_t frames);
  void preprocess_loop();
  void inference_loop();
  // Retrain mode: one fine-tuning step on the batch's first n rows; its forward's output is the
  // batch's output.
  Result<at::Tensor> train_step(Batch& b, int64_t n);
  void postprocess_loop();
  void sampler_loop();
  void record_batch(const Batch& batch);
  void fail_inference(const std::string& message);
  std::string live_detail();
  // For the streams whose source has ground truth; null when none has.
  std::unique_ptr<AccuracyTracker> accuracy_tracker() const;
};

void Pipeline::Impl::source_loop(int id) {
  Stream& stream = *streams[id];
  const int64_t start = now_ns();
  const double fps = stream.info.fps > 0 ? stream.info.fps : 30.0;
  FrameSampler sampler(options.every_nth, options.sample_fps);
  int64_t index = 0;
  while (!stop.load()) {
    if (options.max_frames > 0 && index >= options.max_frames) break;
    FramePtr frame;
    const int64_t t0 = now_ns();
    Status status;
    {
      SI_NVTX_RANGE("decode");
      status = stream.source->next(frame);
    }
    if (!status) {
      std::lock_guard lock(stats_mutex);
      stream.status = "failed: " + status.message();
      std::fprintf(stderr, "streaminfer: error: stream %d: %s\n", id, status.message().c_str());
      break;
    }
    if (!frame) {
      report_end_of_stream(id, index);
      break;
    }
    int64_t t1 = now_ns();
    stream.decoded.fetch_add(1);
    // The index is the frame's number in the stream, so skipped frames leave gaps in it.
    const int64_t frame_number = index++;
    if (!sampler.keep(frame_number, frame->pts_seconds)) {
      stream.skipped.fetch_add(1);
      continue;
    }
    if (stream.paced) {
      // Deliver like a live camera: frame i is due i / fps after the stream started. The
      // frame's clock starts when it is due, as a camera's would.
      const int64_t due =
          start + static_cast<int64_t>(static_cast<double>(frame_number) * 1e9 / fps);
      if (due > t1) std::this_thread::sleep_for(std::chrono::nanoseconds(due - t1));
      const int64_t decode_ns = t1 - t0;
      t1 = now_ns();
      frame->t.decode_start = t1 - decode_ns;
    } else if (frame->t.decode_start <= 0 || frame->t.decode_start > t1) {
      // Not set by a live source: the clock starts when the frame was asked for. (A live
      // source's arrival time may be before t0: data that waited in buffers is latency too.)
      frame->t.decode_start = t0;
    }
    frame->t.decode_end = t1;
    frame->stream_id = id;
    frame->index = frame_number;
    // A live stream's queue drops its oldest frame when inference falls behind; the frame comes
    // back here so that its ground truth counts as missed, and is freed on this thread.
    FramePtr dropped;
    if (!batcher->push(std::move(frame), &dropped)) break;
    if (dropped) outputs.on_dropped(*dropped);
  }
  batcher->close_stream(id);
}

void Pipeline::Impl::report_end_of_stream(int id, int64_t frames) {
  Stream& stream = *streams[id];
  const std::string problem = stream.source->end_of_stream_problem();
  if (problem.empty()) {
    // Beside cameras that never end, this says when a file's last frame is in the pipeline (a
    // Ctrl-C from then on still gives every frame of it a result). Not when stdout carries the
    // JSONL.
    if (options.output_jsonl == "-") return;
    std::printf("stream %d: end of stream after %lld frame(s)\n", id,
                static_cast<long long>(frames));
    std::fflush(stdout);
    return;
  }
  std::lock_guard lock(stats_mutex);
  stream.status = "damaged: " + problem;
  std::fprintf(stderr, "streaminfer: error: stream %d: %s\n", id, problem.c_str());
}

void Pipeline::Impl::preprocess_loop() {
  LetterboxPreprocessor preprocessor;
  const int width = backend.info().input_width, height = backend.info().input_height;
  const int64_t plane = static_cast<int64_t>(3) * width * height;
  std::vector<bool> warned(streams.size(), false);
  int64_t step = 0;
  while (true) {
    if (options.max_steps > 0 && step >= options.max_steps) {
      stop.store(true);
      batcher->shutdown();
      break;
    }
    // Take a free tensor before asking for frames: frames that would wait for one are better
    // left in their stream queues, where a live stream replaces them with newer ones.
    auto input = tensor_pool.pop();
    if (!input) break;
    auto batch = std::make_unique<Batch>();
    batch->input = std::move(*input);
    batch->read_start = now_ns();
    auto frames = batcher->next_batch();
    if (!frames) break;
    batch->read_end = now_ns();
    batch->step = step++;
    batch->frames = std::move(*frames);
    float* base = batch->input.data_ptr<float>();
    SI_NVTX_RANGE("preprocess");
    batch->prep_start = now_ns();
    for (size_t i = 0; i < batch->frames.size(); ++i) {
      Frame& frame = *batch->frames[i];
      frame.t.prep_start = now_ns();
      float* slot = base + static_cast<int64_t>(i) * plane;
      Status status = preprocessor.run(*frame.image, width, height, slot, &frame.letterbox);
      if (!status) {
        // The frame still gets a (empty) result: nothing is lost silently.
        std::fill(slot, slot + plane, kLetterboxPadValue / 255.0f);
        frame.letterbox =
            LetterboxTransform::compute(frame.image->width, frame.image->height, width, height);
        if (!warned[frame.stream_id]) {
          warned[frame.stream_id] = true;
          std::fprintf(stderr, "streaminfer: error: stream %d: %s\n", frame.stream_id,
                       status.message().c_str());
        }
      }
      frame.image.reset();  // the decoded picture is no longer needed: free it early
      frame.t.prep_end = now_ns();
    }
    batch->prep_end = now_ns();
    if (!to_inference.push(std::move(batch))) break;
  }
  to_inference.close();
}

void Pipeline::Impl::inference_loop() {
  // The inference thread's time is busy (forward) or idle (waiting for a batch, handing it on,
  // and before its first batch); the rest is bookkeeping. The summary shows all
  // three against wall time.
  double idle_ms = ns_to_ms(now_ns() - run_start), busy_ms = 0;
  while (true) {
    const int64_t wait_start = now_ns();
    auto batch = to_inference.pop();
    idle_ms += ns_to_ms(now_ns() - wait_start);
    if (!batch) break;
    Batch& b = **batch;
    const int64_t n = static_cast<int64_t>(b.frames.size());
    Result<at::Tensor> output = Status::ok();
    if (options.trainer) {
      SI_NVTX_RANGE("retrain step");
      b.infer_start = now_ns();
      output = train_step(b, n);
      b.infer_end = now_ns();
    } else {
      SI_NVTX_RANGE("inference");
      b.infer_start = now_ns();
      output = backend.infer(b.input.narrow(0, 0, n));
      b.infer_end = now_ns();
    }
    busy_ms += ns_to_ms(b.infer_end - b.infer_start);
    for (auto& frame : b.frames) {
      frame->t.infer_start = b.infer_start;
      frame->t.infer_end = b.infer_end;
    }
    // Handing the buffer back and the batch on is waiting on the neighbouring stages (and where
    // the scheduler switches to the threads it wakes), so it counts as idle.
    const int64_t handoff_start = now_ns();
    tensor_pool.push(std::move(b.input));
    if (!output) {
      fail_inference(output.status().message());
      break;
    }
    b.output = std::move(output.value());
    const bool pushed = to_postprocess.push(std::move(*batch));
    idle_ms += ns_to_ms(now_ns() - handoff_start);
    if (!pushed) break;
  }
  to_postprocess.close();
  std::lock_guard lock(stats_mutex);
  stats.inference_thread.busy_ms = busy_ms;
  stats.inference_thread.idle_ms = idle_ms;
  inference_thread_end = now_ns();
}

Result<at::Tensor> Pipeline::Impl::train_step(Batch& b, int64_t n) {
  std::vector<std::vector<GroundTruthBox>> labels;
  labels.reserve(b.frames.size());
  for (const auto& frame : b.frames) {
    labels.push_back(retrain_labels(*frame, !streams[frame->stream_id]->info.has_ground_truth));
  }
  try {
    OnlineStep step = options.trainer->step(b.input.narrow(0, 0, n), labels);
    b.train = step.record;
    return std::move(step.output);
  } catch (const std::exception& e) {
    return Status::error(fmt::format("retrain step {}: {}", b.step, e.what()));
  }
}

void Pipeline::Impl::fail_inference(const std::string& message) {
  {
    std::lock_guard lock(stats_mutex);
    inference_error = message;
  }
  stop.store(true);
  batcher->shutdown();
  to_inference.close();
  tensor_pool.close();
}

void Pipeline::Impl::postprocess_loop() {
  const auto& labels = backend.info().labels;
  // A classifier's [B, nc] logits become each frame's top classes (softmax), a detector's
  // [B, 4 + nc, A] its detections.
  const bool classifier = backend.info().task == ModelTask::kClassify;
  constexpr int kTopClasses = 5;
  while (auto batch = to_postprocess.pop()) {
    Batch& b = **batch;
    {
      SI_NVTX_RANGE("postprocess");
      b.post_start = now_ns();
      const auto& out = b.output;
      if (classifier) {
        auto classes = top_k_classes(out.data_ptr<float>(), static_cast<int>(out.size(0)),
                                     static_cast<int>(out.size(1)), kTopClasses);
        for (size_t i = 0; i < b.frames.size(); ++i) b.frames[i]->classes = std::move(classes[i]);
      } else {
        auto detections = decode_yolov8(out.data_ptr<float>(), static_cast<int>(out.size(0)),
                                        static_cast<int>(out.size(1)),
                                        static_cast<int>(out.size(2)), options.postprocess);
        for (size_t i = 0; i < b.frames.size(); ++i) {
          Frame& frame = *b.frames[i];
          frame.detections = std::move(detections[i]);
          for (auto& d : frame.detections) d.box = frame.letterbox.to_source(d.box);
        }
      }
      b.post_end = now_ns();
    }
    for (auto& frame : b.frames) {
      frame->t.post_start = b.post_start;
      frame->t.post_end = b.post_end;
    }
    const int64_t outputs_start = now_ns();
    {
      SI_NVTX_RANGE("sinks");
      outputs.on_batch(b, labels);
    }
    for (auto& frame : b.frames) streams[frame->stream_id]->done.fetch_add(1);
    record_batch(b);
    batches_done.fetch_add(1);
    std::lock_guard lock(stats_mutex);
    stats.outputs_ms += ns_to_ms(now_ns() - outputs_start);
  }
}

void Pipeline::Impl::sampler_loop() {
  std::vector<size_t> depths(streams.size());
  std::vector<int64_t> dropped(streams.size());
  std::vector<int64_t> done(streams.size());
  std::unique_lock lock(sampler_mutex);
  do {
    // request_stop() may come from a signal handler, which can only set a flag: the sources
    // blocked on a network read are interrupted from here.
    if (stop.load() && !sources_interrupted) {
      sources_interrupted = true;
      for (auto& stream : streams) {
        if (stream->source) stream->source->interrupt();
      }
    }
    for (size_t i = 0; i < streams.size(); ++i) {
      depths[i] = batcher->depth(static_cast<int>(i));
      dropped[i] = batcher->dropped(static_cast<int>(i));
      done[i] = streams[i]->done.load();
    }
    outputs.on_queue_sample(now_ns(), depths, dropped, done);
  } while (!sampler_wake.wait_for(lock, kQueueSampleInterval, [this] { return sampler_done; }));
}

void Pipeline::Impl::record_batch(const Batch& b) {
  std::lock_guard lock(stats_mutex);
  stats.batches++;
  const double prep_ms = ms_between(b.prep_start, b.prep_end);
  const double exec_ms = ms_between(b.infer_start, b.infer_end);
  const double post_ms = ms_between(b.post_start, b.post_end);
  stats.stage(Stage::kInference).add(exec_ms);
  stats.stage(Stage::kPostprocess).add(post_ms);
  if (b.train && stats.retrain) stats.retrain->add(*b.train);
  stats.busy_ms[static_cast<size_t>(Stage::kPreprocess)] += prep_ms;
  stats.busy_ms[static_cast<size_t>(Stage::kInference)] += exec_ms;
  stats.busy_ms[static_cast<size_t>(Stage::kPostprocess)] += post_ms;
  const double now_s = ns_to_ms(now_ns() - run_start) / 1000.0;
  for (const auto& frame : b.frames) {
    const auto& t = frame->t;
    const double decode_ms = ms_between(t.decode_start, t.decode_end);
    stats.stage(Stage::kDecode).add(decode_ms);
    stats.busy_ms[static_cast<size_t>(Stage::kDecode)] += decode_ms;
    stats.stage(Stage::kQueueWait).add(ms_between(t.decode_end, t.batched));
    stats.stage(Stage::kBatchWait).add(ms_between(t.batched, t.prep_start));
    stats.stage(Stage::kPreprocess).add(ms_between(t.prep_start, t.prep_end));
    stats.stage(Stage::kEndToEnd).add(ms_between(t.decode_start, t.post_end));
    auto& s = stats.streams[frame->stream_id];
    if (s.frames_done == 0) s.first_frame_s = now_s;
    s.frames_done++;
    s.last_frame_s = now_s;
  }
}

std::unique_ptr<AccuracyTracker> Pipeline::Impl::accuracy_tracker() const {
  std::vector<bool> has_ground_truth;
  std::vector<std::vector<std::string>> classes;
  for (const auto& stream : streams) {
    const bool known = stream->source && stream->info.has_ground_truth;
    has_ground_truth.push_back(known);
    if (known) classes.push_back(stream->info.ground_truth_classes);
  }
  if (classes.empty()) return nullptr;
  return std::make_unique<AccuracyTracker>(has_ground_truth,
                                           accuracy_class_names(classes, backend.info().labels),
                                           options.postprocess.score_threshold);
}

std::string Pipeline::Impl::live_detail() {
  std::string queues;
  for (size_t i = 0; i < streams.size(); ++i) {
    queues += fmt::format("{}{}", i ? "," : "", batcher->depth(static_cast<int>(i)));
  }
  std::string states;
  for (size_t i = 0; i < streams.size(); ++i) {
    if (!streams[i]->source) continue;
    const std::string state = streams[i]->source->state();
    if (!state.empty()) states += fmt::format(" | stream {} {}", i, state);
  }
  std::lock_guard lock(stats_mutex);
  return fmt::format("queues {}{} | p50 ms prep {:.1f} infer {:.1f} post {:.1f} e2e {:.0f}", queues,
                     states, stats.stage(Stage::kPreprocess).percentile(50),
                     stats.stage(Stage::kInference).percentile(50),
                     stats.stage(Stage::kPostprocess).percentile(50),
                     stats.stage(Stage::kEndToEnd).percentile(50));
}

Pipeline::Pipeline(PipelineOptions options, InferenceBackend& backend)
    : impl_(std::make_unique<Impl>(std::move(options), backend)) {}

Pipeline::~Pipeline() = default;

void Pipeline::request_stop() { impl_->stop.store(true); }

std::vector<std::string> Pipeline::written_files() const { return impl_->outputs.written_files(); }

Status Pipeline::open_outputs() { return impl_->outputs.open(); }

Status Pipeline::open_sources() {
  Impl& m = *impl_;
  std::vector<OverflowPolicy> policies;
  int opened = 0;
  for (const auto& uri : m.options.sources) {
    auto stream = std::make_unique<Impl::Stream>();
    stream->uri = uri;
    auto source = open_source(uri, m.options.source_options);
    if (source) {
      stream->source = std::move(source.value());
      stream->info = stream->source->info();
      stream->realtime = m.options.pace == PaceMode::kRealtime ||
                         (m.options.pace == PaceMode::kAuto && stream->info.live);
      // A camera is its own clock; pacing it by a stated fps that is wrong would pile frames up.
      stream->paced = stream->realtime && !stream->info.self_paced;
      ++opened;
    } else {
      stream->status = "failed: " + source.status().message();
      stream->info.uri = uri;
      stream->info.description = "failed to open";
      std::fprintf(stderr, "streaminfer: error: stream %zu: %s\n", m.streams.size(),
                   source.status().message().c_str());
    }
    policies.push_back(stream->realtime ? OverflowPolicy::kDropOldest : OverflowPolicy::kBlock);
    source_infos_.push_back(stream->info);
    m.streams.push_back(std::move(stream));
  }
  m.batcher = std::make_unique<Batcher>(m.options.batcher, std::move(policies));
  if (opened == 0) {
    return Status::error(fmt::format("none of the {} source(s) could be opened, nothing to run",
                                     m.options.sources.size()));
  }
  return Status::ok();
}

std::vector<int> Pipeline::generated_label_streams() const {
  std::vector<int> ids;
  if (!impl_->options.trainer) return ids;
  for (size_t i = 0; i < impl_->streams.size(); ++i) {
    const auto& stream = *impl_->streams[i];
    if (stream.source && !stream.info.has_ground_truth) ids.push_back(static_cast<int>(i));
  }
  return ids;
}

Result<RunStats> Pipeline::run() {
  Impl& m = *impl_;
  const auto& model = m.backend.info();
  for (size_t i = 0; i < kTensorPoolSize; ++i) {
    m.tensor_pool.push(at::empty(
        {m.options.batcher.max_batch, 3, model.input_height, model.input_width}, at::kFloat));
  }
  m.stats.streams.resize(m.streams.size());
  for (size_t i = 0; i < m.streams.size(); ++i) {
    m.stats.streams[i].stream_id = static_cast<int>(i);
    m.stats.streams[i].uri = m.streams[i]->uri;
  }
  if (m.options.trainer) {
    m.stats.retrain = RetrainStats{};
    m.stats.retrain->model = m.options.trainer->description();
    m.stats.retrain->generated_label_streams = generated_label_streams();
  }
  if (auto tracker = m.accuracy_tracker(); tracker) m.outputs.track_accuracy(std::move(tracker));
  m.run_start = now_ns();
  SI_RETURN_IF_ERROR(m.outputs.start(m.run_start, static_cast<int>(m.streams.size())));

  std::vector<std::thread> source_threads;
  for (size_t i = 0; i < m.streams.size(); ++i) {
    if (m.streams[i]->source) {
      source_threads.emplace_back([&m, i] { m.source_loop(static_cast<int>(i)); });
    } else {
      m.batcher->close_stream(static_cast<int>(i));
    }
  }
  std::thread preprocess([&m] { m.preprocess_loop(); });
  std::thread postprocess([&m] { m.postprocess_loop(); });
  std::thread sampler([&m] { m.sampler_loop(); });

  std::unique_ptr<ProgressDisplay> progress;
  if (m.options.progress) {
    std::vector<ProgressDisplay::StreamCounters> counters;
    for (size_t i = 0; i < m.streams.size(); ++i) {
      counters.push_back(
          {&m.streams[i]->done, [&m, i] { return m.batcher->dropped(static_cast<int>(i)); }});
    }
    progress = std::make_unique<ProgressDisplay>(std::move(counters), &m.batches_done,
                                                 [&m] { return m.live_detail(); });
  }

  // Inference runs on the calling thread, the one that built the backend (and, usually, ran
  // the precision probe and micro-batch timing): its OpenMP team is already up, and forwards
  // from it measured ~4% faster here than from a thread started for the run
  // (bench/results/frames).
  m.inference_loop();
  for (auto& t : source_threads) t.join();
  preprocess.join();
  postprocess.join();
  {
    std::lock_guard lock(m.sampler_mutex);
    m.sampler_done = true;
  }
  m.sampler_wake.notify_all();
  sampler.join();
  if (progress) progress->stop();
  const int64_t run_end = now_ns();

  std::lock_guard lock(m.stats_mutex);
  if (!m.inference_error.empty()) return Status::error(m.inference_error);
  RunStats stats = std::move(m.stats);
  stats.wall_seconds = ns_to_ms(run_end - m.run_start) / 1000.0;
  // After its last batch the inference thread is idle until the run ends (last postprocess,
  // outputs closing), so its life is the run's wall time.
  stats.inference_thread.idle_ms += ns_to_ms(run_end - m.inference_thread_end);
  stats.inference_thread.lifetime_ms = stats.wall_seconds * 1000.0;
  for (size_t i = 0; i < m.streams.size(); ++i) {
    auto& s = stats.streams[i];
    const auto& stream = *m.streams[i];
    s.status = stream.status;
    s.frames_decoded = stream.decoded.load();
    s.skipped = stream.skipped.load();
    s.dropped = m.batcher->dropped(static_cast<int>(i));
    s.decode_errors = stream.source ? stream.source->decode_errors() : 0;
    s.reconnects = stream.source ? stream.source->reconnects() : 0;
  }
  // Decode runs on one thread per stream: report its busy share per thread.
  const auto running =
      std::max<size_t>(1, std::count_if(m.streams.begin(), m.streams.end(),
                                        [](const auto& s) { return s->source != nullptr; }));
  stats.busy_ms[static_cast<size_t>(Stage::kDecode)] /= static_cast<double>(running);
  stats.accuracy = m.outputs.accuracy();
  SI_RETURN_IF_ERROR(m.outputs.close(stats, m.options.system));
  return stats;
}

}  // namespace streaminfer
