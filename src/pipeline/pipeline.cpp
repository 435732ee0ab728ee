#include "pipeline/pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "common/console.h"
#include "infer/model_output_check.h"
#include "pipeline/pipeline_impl.h"
#include "pipeline/progress_display.h"
#include "pipeline/retrain_labels.h"
#include "postprocess/classify.h"
#include "preprocess/letterbox.h"
#include "profile/nvtx.h"
#include "streaminfer/clock.h"
#include "train/online_trainer.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {

Pipeline::Impl::Impl(PipelineOptions opts, std::shared_ptr<InferenceBackend> first_backend)
    : options(std::move(opts)),
      current_backend(std::move(first_backend)),
      stop_request(options.stop != nullptr ? options.stop : &own_stop),
      outputs({options.output_jsonl, options.metrics_dir, options.trace_path, options.model_name,
               options.sinks, options.peers, options.worker_id,
               // A stream's slot never moves and its name never changes (StreamTable).
               [this](int id) -> std::string_view {
                 const auto i = static_cast<size_t>(id);
                 return id >= 0 && i < streams.size() && streams[i] ? streams[i]->given_name
                                                                    : std::string_view();
               }}) {}

void Pipeline::Impl::preprocess_loop() {
  LetterboxPreprocessor preprocessor;
  std::vector<bool> warned;  // per stream, grown as streams join
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
    batch->read_start = now_ns();
    auto frames = batcher->next_batch();
    if (!frames) break;
    batch->read_end = now_ns();
    // The model is read per batch: it may have changed since the last (use_backend).
    batch->model = backend();
    const int width = batch->model->info().input_width;
    const int height = batch->model->info().input_height;
    const int64_t plane = static_cast<int64_t>(3) * width * height;
    if (input->size(2) != height || input->size(3) != width) {
      // The first batch for a model of another input size: the pool's tensors take its shape
      // one by one as they come round.
      *input = at::empty({options.batcher.max_batch, 3, height, width}, at::kFloat);
    }
    batch->input = std::move(*input);
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
        const auto id = static_cast<size_t>(frame.stream_id);
        if (warned.size() <= id) warned.resize(id + 1, false);
        if (!warned[id]) {
          warned[id] = true;
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
      output = b.model->infer(b.input.narrow(0, 0, n));
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
    // The backend checks its forwards; a trainer's output is checked here. Nothing indexes an
    // output that does not match its batch.
    if (output) {
      if (Status shaped = check_model_output(b.model->info(), n, output.value()); !shaped) {
        output = shaped;
      }
    }
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
    return step.output.to(at::kFloat).contiguous();
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

void Pipeline::Impl::postprocess(Batch& b) {
  // A classifier's [B, nc] logits become each frame's top classes (softmax), a detector's
  // [B, 4 + nc, A] its detections. Each frame's output is checked first (output_health.h).
  const bool classifier = b.model->info().task == ModelTask::kClassify;
  if (health_model.lock() != b.model) {
    health_model = b.model;
    health->set_model(b.model->info().name, !classifier);
  }
  constexpr int kTopClasses = 5;
  const auto& out = b.output;
  const float* data = out.data_ptr<float>();
  const int n = static_cast<int>(out.size(0));
  const int64_t per_frame = n > 0 ? out.numel() / n : 0;
  for (int i = 0; i < n; ++i) {
    const float* frame_out = data + i * per_frame;
    const Frame& frame = *b.frames[static_cast<size_t>(i)];
    const OutputHealth h =
        classifier ? check_logits(frame_out, static_cast<int>(out.size(1)))
                   : check_detector_output(frame_out, static_cast<int>(out.size(1)), out.size(2));
    for (const auto& line : health->on_frame(frame.stream_id, frame.index, h)) {
      std::fprintf(stderr, "streaminfer: warning: %s\n", line.c_str());
    }
  }
  if (classifier) {
    auto classes = top_k_classes(data, n, static_cast<int>(out.size(1)), kTopClasses);
    for (size_t i = 0; i < b.frames.size(); ++i) {
      b.frames[i]->classes = std::move(classes[i]);
      b.frames[i]->classified = true;
    }
    return;
  }
  auto detections = decode_yolov8(data, n, static_cast<int>(out.size(1)),
                                  static_cast<int>(out.size(2)), options.postprocess);
  for (size_t i = 0; i < b.frames.size(); ++i) {
    Frame& frame = *b.frames[i];
    frame.detections = std::move(detections[i]);
    for (auto& d : frame.detections) d.box = frame.letterbox.to_source(d.box);
  }
}

void Pipeline::Impl::postprocess_loop() {
  while (auto batch = to_postprocess.pop()) {
    Batch& b = **batch;
    {
      SI_NVTX_RANGE("postprocess");
      b.post_start = now_ns();
      postprocess(b);
      b.post_end = now_ns();
    }
    for (auto& frame : b.frames) {
      frame->t.post_start = b.post_start;
      frame->t.post_end = b.post_end;
    }
    const int64_t outputs_start = now_ns();
    {
      SI_NVTX_RANGE("sinks");
      outputs.on_batch(b, b.model->info().labels);
    }
    if (outputs.stdout_closed() && !stdout_closed_said.exchange(true)) {
      // The reader of the detections went away (`| head`): nothing more can reach it.
      std::fprintf(stderr,
                   "streaminfer: warning: --output -: stdout was closed by its reader; stopping "
                   "the run (the summary goes to stderr)\n");
      stop_request->request(kStopStdoutClosed);
    }
    const int64_t delivered = now_ns();
    for (auto& frame : b.frames) {
      Stream& stream = *streams[static_cast<size_t>(frame->stream_id)];
      stream.done.fetch_add(1);
      stream.last_result_ns.store(delivered);
    }
    record_batch(b);
    batches_done.fetch_add(1);
    std::lock_guard lock(stats_mutex);
    stats.outputs_ms += ns_to_ms(now_ns() - outputs_start);
  }
}

void Pipeline::Impl::sampler_loop() {
  std::vector<StreamQueueSample> samples;
  std::unique_lock lock(sampler_mutex);
  do {
    follow_stop_request();
    reap_ended_streams();
    samples.clear();
    for (const auto& stream : streams) {
      // A removed stream is sampled while its queued frames get their results, then once more.
      if (stream->removed.load()) {
        if (stream->final_sampled) continue;
        if (stream->drained.load()) stream->final_sampled = true;
      }
      samples.push_back({stream->id, batcher->depth(stream->id), batcher->dropped(stream->id),
                         stream->done.load()});
    }
    outputs.on_queue_sample(now_ns(), samples);
  } while (!sampler_wake.wait_for(lock, kQueueSampleInterval, [this] { return sampler_done; }));
}

void Pipeline::Impl::follow_stop_request() {
  // A stop request may come from a signal handler, which can only set a flag: the sources
  // blocked on a network read are interrupted from here.
  if (stop_request->requested()) stop.store(true);
  if (const std::string said = stop_request->take_announcement(); !said.empty()) {
    std::fprintf(stderr, "%s\n", said.c_str());
  }
  if (stop.load() && !sources_interrupted) {
    sources_interrupted = true;
    // Streams are no longer added (add_stream refuses once `stop` is set; this lock orders it).
    std::lock_guard lifecycle(lifecycle_mutex);
    batcher->stop_waiting_for_new_streams();
    for (auto& stream : streams) {
      stream->cancel.store(true);
      if (stream->ready.load(std::memory_order_acquire) && stream->source) {
        stream->source->interrupt();
      }
    }
  }
  if (stop_request->hurry() && !abandoned.exchange(true)) {
    // A second request: the frames still queued are left (and counted); the batches already
    // in preprocess or inference finish, and every output closes validly.
    const std::vector<int64_t> lost = batcher->abandon();
    for (size_t i = 0; i < lost.size() && i < streams.size(); ++i) {
      streams[i]->unprocessed += lost[i];
    }
  }
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
    const auto ms = frame_stage_ms(frame->t);
    for (const Stage stage : {Stage::kDecode, Stage::kQueueWait, Stage::kBatchWait,
                              Stage::kPreprocess, Stage::kEndToEnd}) {
      stats.stage(stage).add(ms[static_cast<size_t>(stage)]);
    }
    stats.busy_ms[static_cast<size_t>(Stage::kDecode)] += ms[static_cast<size_t>(Stage::kDecode)];
    auto& s = stats.streams[frame->stream_id];
    if (s.frames_done == 0) s.first_frame_s = now_s;
    s.frames_done++;
    s.last_frame_s = now_s;
  }
}

std::unique_ptr<AccuracyTracker> Pipeline::Impl::accuracy_tracker() const {
  // The streams at the start: one added later is not tracked (its ground-truth classes could not
  // join the class list the figures are already counted in).
  std::vector<bool> has_ground_truth;
  std::vector<std::vector<std::string>> classes;
  for (const auto& stream : streams) {
    const bool known =
        stream->ready.load(std::memory_order_acquire) && stream->info.has_ground_truth;
    has_ground_truth.push_back(known);
    if (known) classes.push_back(stream->info.ground_truth_classes);
  }
  if (classes.empty()) return nullptr;
  return std::make_unique<AccuracyTracker>(has_ground_truth,
                                           accuracy_class_names(classes, backend()->info().labels),
                                           options.postprocess.score_threshold);
}

std::string Pipeline::Impl::live_detail() {
  std::string queues;
  const size_t count = streams.size();
  for (size_t i = 0; i < count; ++i) {
    queues += fmt::format("{}{}", i ? "," : "", batcher->depth(static_cast<int>(i)));
  }
  std::string states;
  for (size_t i = 0; i < count; ++i) {
    if (!streams[i]->ready.load(std::memory_order_acquire)) continue;
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
    // Not owned: an empty owner, so the caller's backend is never deleted from here.
    : Pipeline(std::move(options),
               std::shared_ptr<InferenceBackend>(std::shared_ptr<InferenceBackend>(), &backend)) {}

Pipeline::Pipeline(PipelineOptions options, std::shared_ptr<InferenceBackend> backend)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(backend))) {}

void Pipeline::use_backend(std::shared_ptr<InferenceBackend> next) {
  Impl& m = *impl_;
  const ModelInfo& to = next->info();
  std::shared_ptr<InferenceBackend> was;
  {
    std::lock_guard lock(m.backend_mutex);
    was = std::exchange(m.current_backend, std::move(next));
  }
  const ModelInfo& from = was->info();
  std::lock_guard lock(m.stats_mutex);
  const int64_t run_start = m.run_start.load();
  const double at_s = run_start > 0 ? ns_to_ms(now_ns() - run_start) / 1000.0 : 0.0;
  m.stats.model_changes.push_back(fmt::format("at {:.1f} s: {} {} {}x{} -> {} {} {}x{}", at_s,
                                              from.name, precision_name(from), from.input_width,
                                              from.input_height, to.name, precision_name(to),
                                              to.input_width, to.input_height));
  m.stats.precision = precision_name(to);
  m.stats.precision_why = to.precision_why;
  m.stats.calibration = to.calibration;
}

Pipeline::~Pipeline() {
  // An open still waiting for a camera gives up at once; its thread must end before the state
  // it reads goes away. So must a stream thread that run() never joined (a service that was
  // never run).
  impl_->stop.store(true);
  for (const auto& stream : impl_->streams) {
    stream->cancel.store(true);
    if (stream->thread.joinable()) stream->thread.join();
  }
  impl_->wait_for_opens();
}

void Pipeline::request_stop() { impl_->stop_request->request(0); }

std::vector<std::string> Pipeline::written_files() const { return impl_->outputs.written_files(); }

Status Pipeline::open_outputs() { return impl_->outputs.open(); }

std::optional<StopRecord> Pipeline::Impl::stop_record() const {
  if (!stop_request->requested()) return std::nullopt;
  StopRecord record;
  record.cause = stop_request->first_cause();
  record.phase = run_phase_name(stop_request->phase_at_first());
  record.after_s = ns_to_ms(stop_request->first_at_ns() - stop_request->started_ns()) / 1000.0;
  const std::time_t at = static_cast<std::time_t>(stop_request->first_at_unix_ns() / 1000000000);
  std::tm local{};
  localtime_r(&at, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  record.at_time = text;
  record.second_cause = stop_request->second_cause();
  for (const auto& stream : streams) record.unprocessed += stream->unprocessed;
  return record;
}

Result<RunStats> Pipeline::run() {
  Impl& m = *impl_;
  const auto first_model = m.backend();
  const auto& model = first_model->info();
  for (size_t i = 0; i < kTensorPoolSize; ++i) {
    m.tensor_pool.push(at::empty(
        {m.options.batcher.max_batch, 3, model.input_height, model.input_width}, at::kFloat));
  }
  {
    std::lock_guard lock(m.stats_mutex);  // use_backend() may run already (a service's reload)
    m.stats.precision = precision_name(model);
    m.stats.precision_why = model.precision_why;
    m.stats.calibration = model.calibration;
  }
  m.stats.thread_plan = m.options.thread_plan;
  if (m.options.trainer) {
    m.stats.retrain = RetrainStats{};
    m.stats.retrain->model = m.options.trainer->description();
    m.stats.retrain->generated_label_streams = generated_label_streams();
  }
  if (auto tracker = m.accuracy_tracker(); tracker) {
    m.outputs.track_accuracy(std::move(tracker), model.labels);
  }
  m.health = std::make_unique<OutputHealthMonitor>(model.name, model.task == ModelTask::kDetect);
  m.run_start = now_ns();
  SI_RETURN_IF_ERROR(m.outputs.start(m.run_start.load(), static_cast<int>(m.streams.size())));
  m.stop_request->set_phase(RunPhase::kRunning);
  if (m.stop_request->requested()) m.stop.store(true);

  {
    std::lock_guard lock(m.lifecycle_mutex);
    m.running = true;
    for (const auto& stream : m.streams) {
      if (!stream->removed.load() && (stream->ready.load() || stream->opening.valid())) {
        m.start_stream_thread(*stream);
      } else {
        m.batcher->close_stream(stream->id);
      }
    }
    if (m.sources_running.load() == 0 && !m.options.service) {
      m.stop_request->set_phase(RunPhase::kDraining);
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
  {
    // Inference is over (the streams ended, a stop drained, --max-steps, or a failure): every
    // source still reading gives up now, then the threads are joined outside the lock, which the
    // sampler and the API need meanwhile.
    std::vector<std::thread> stream_threads;
    {
      std::lock_guard lock(m.lifecycle_mutex);
      m.stop.store(true);
      for (const auto& stream : m.streams) {
        stream->cancel.store(true);
        if (stream->ready.load(std::memory_order_acquire) && stream->source) {
          stream->source->interrupt();
        }
        if (stream->thread.joinable()) stream_threads.push_back(std::move(stream->thread));
      }
    }
    for (auto& thread : stream_threads) thread.join();
  }
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

  // The API may still remove a stream (and release its source) while this reads them.
  std::scoped_lock lock(m.lifecycle_mutex, m.stats_mutex);
  RunStats stats = std::move(m.stats);
  stats.wall_seconds = ns_to_ms(run_end - m.run_start) / 1000.0;
  // After its last batch the inference thread is idle until the run ends (last postprocess,
  // outputs closing), so its life is the run's wall time.
  stats.inference_thread.idle_ms += ns_to_ms(run_end - m.inference_thread_end);
  stats.inference_thread.lifetime_ms = stats.wall_seconds * 1000.0;
  for (size_t i = 0; i < m.streams.size() && i < stats.streams.size(); ++i) {
    auto& s = stats.streams[i];
    const auto& stream = *m.streams[i];
    s.status = stream.status;
    s.frames_decoded = stream.decoded.load();
    s.skipped = stream.skipped.load();
    s.dropped = m.batcher->dropped(static_cast<int>(i));
    s.decode_errors =
        stream.source ? stream.source->decode_errors() : stream.kept_decode_errors.load();
    s.reconnects = stream.source ? stream.source->reconnects() : stream.kept_reconnects.load();
    s.unprocessed = stream.unprocessed;
    s.non_finite_frames = m.health->non_finite_frames(static_cast<int>(i));
  }
  // Decode runs on one thread per stream: report its busy share per thread.
  const auto running =
      std::max<size_t>(1, std::count_if(m.streams.begin(), m.streams.end(),
                                        [](const auto& s) { return s->ready.load(); }));
  stats.busy_ms[static_cast<size_t>(Stage::kDecode)] /= static_cast<double>(running);
  stats.accuracy = m.outputs.accuracy();
  stats.stopped = m.stop_record();
  // Closed whatever happened, so that what was written stays valid (whole JSONL lines, CSVs
  // with their header, a trace that parses, the summary).
  const Status closed = m.outputs.close(stats, m.options.system);
  if (!m.inference_error.empty()) return Status::error(m.inference_error);
  SI_RETURN_IF_ERROR(closed);
  return stats;
}

}  // namespace streaminfer
