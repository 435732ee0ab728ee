#include "train/detector_trainer.h"

#include <torch/nn.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <torch/types.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "common/text.h"
#include "infer/caching_cpu_allocator.h"
#include "infer/weights_file.h"
#include "infer/yolov8.h"
#include "source/synthetic_source.h"
#include "train/adamw.h"
#include "train/detection_loss.h"
#include "train/detector_validation.h"
#include "train/synthetic_batches.h"

namespace streaminfer {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Status validate_train_options(const TrainOptions& o) {
  if (o.model != "yolov8n" && o.model != "yolov8s") {
    return Status::error(
        fmt::format("train: --model must be yolov8n or yolov8s (got '{}')", o.model));
  }
  if (o.input_size < 64 || o.input_size % 32 != 0) {
    return Status::error(fmt::format(
        "train: --input-size must be a multiple of 32, at least 64 (got {})", o.input_size));
  }
  if (o.epochs < 1 || o.steps_per_epoch < 1 || o.batch_size < 1 || o.validation_images < 1) {
    return Status::error(
        "train: --epochs, --steps-per-epoch, --batch-size and --val-images must be at least 1");
  }
  if (!(o.learning_rate > 0)) return Status::error("train: --lr must be positive");
  if (o.output.empty()) return Status::error("train: -o/--output must name a file");
  return Status::ok();
}

namespace {

// Exponential moving average of the weights, Ultralytics' ModelEMA: the decay ramps up from 0 so
// that the average does not remember the random start.
class WeightAverage {
 public:
  explicit WeightAverage(YoloV8 average) : average_(std::move(average)) {
    average_->eval();
    for (auto& p : average_->parameters()) p.set_requires_grad(false);
  }
  void update(const YoloV8& model, int64_t updates) {
    torch::NoGradGuard no_grad;
    const double decay = 0.9999 * (1 - std::exp(-static_cast<double>(updates) / 2000.0));
    auto averaged = average_->named_parameters();
    for (const auto& p : model->named_parameters()) {
      averaged[p.key()].mul_(decay).add_(p.value().detach(), 1 - decay);
    }
    auto averaged_buffers = average_->named_buffers();
    for (const auto& b : model->named_buffers()) averaged_buffers[b.key()].copy_(b.value());
  }
  YoloV8& model() { return average_; }

 private:
  YoloV8 average_;
};

void copy_weights(const YoloV8& from, YoloV8& to) {
  torch::NoGradGuard no_grad;
  auto to_params = to->named_parameters();
  for (const auto& p : from->named_parameters()) to_params[p.key()].copy_(p.value());
  auto to_buffers = to->named_buffers();
  for (const auto& b : from->named_buffers()) to_buffers[b.key()].copy_(b.value());
}

double learning_rate_at(const TrainOptions& o, int64_t step) {
  const int64_t total = static_cast<int64_t>(o.epochs) * o.steps_per_epoch;
  if (step < o.warmup_steps) return o.learning_rate * (step + 1) / o.warmup_steps;
  const double progress =
      static_cast<double>(step - o.warmup_steps) / std::max<int64_t>(1, total - o.warmup_steps);
  const double floor = 0.01;
  return o.learning_rate * (floor + (1 - floor) * 0.5 * (1 + std::cos(M_PI * progress)));
}

void print_progress(int epoch, int epochs, int step, int steps, double loss, double box, double cls,
                    double dfl, double seconds_per_step) {
  constexpr int kWidth = 24;
  const int filled = kWidth * step / steps;
  std::string bar(filled, '=');
  if (filled < kWidth) bar += '>' + std::string(kWidth - filled - 1, ' ');
  const double eta = seconds_per_step * (steps - step);
  std::fprintf(stderr,
               "\repoch %d/%d [%s] %d/%d  loss %.3f (box %.3f cls %.3f dfl %.3f)  %.2f s/step  "
               "%d:%02d left ",
               epoch, epochs, bar.c_str(), step, steps, loss, box, cls, dfl, seconds_per_step,
               static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  std::fflush(stderr);
}

struct Checkpoint {
  int next_epoch = 1;
  double best_map50_95 = -1;
  double best_map50 = 0;
  int best_epoch = 0;
};

void save_checkpoint(const std::string& path, YoloV8& model, WeightAverage& average,
                     torch::optim::Optimizer& optimizer, const Checkpoint& state) {
  torch::serialize::OutputArchive archive, model_archive, average_archive, optimizer_archive;
  model->save(model_archive);
  average.model()->save(average_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("average", average_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("next_epoch", torch::tensor(static_cast<int64_t>(state.next_epoch)));
  archive.write("best_map50_95", torch::tensor(state.best_map50_95, torch::kFloat64));
  archive.write("best_map50", torch::tensor(state.best_map50, torch::kFloat64));
  archive.write("best_epoch", torch::tensor(static_cast<int64_t>(state.best_epoch)));
  // Written aside and renamed, so that a run killed while saving keeps the previous checkpoint.
  const std::string partial = path + ".partial";
  archive.save_to(partial);
  std::filesystem::rename(partial, path);
}

Result<Checkpoint> load_checkpoint(const std::string& path, YoloV8& model, WeightAverage& average,
                                   torch::optim::Optimizer& optimizer) {
  try {
    torch::serialize::InputArchive archive, model_archive, average_archive, optimizer_archive;
    archive.load_from(path);
    archive.read("model", model_archive);
    archive.read("average", average_archive);
    archive.read("optimizer", optimizer_archive);
    model->load(model_archive);
    average.model()->load(average_archive);
    optimizer.load(optimizer_archive);
    Checkpoint state;
    torch::Tensor value;
    archive.read("next_epoch", value);
    state.next_epoch = static_cast<int>(value.item<int64_t>());
    archive.read("best_map50_95", value);
    state.best_map50_95 = value.item<double>();
    archive.read("best_map50", value);
    state.best_map50 = value.item<double>();
    archive.read("best_epoch", value);
    state.best_epoch = static_cast<int>(value.item<int64_t>());
    return state;
  } catch (const std::exception& e) {
    return Status::error(fmt::format(
        "train: cannot resume from '{}': not a checkpoint of this model and options ({}); "
        "start without --resume",
        path, first_line(e.what())));
  }
}

// Weights are saved in float16: half the size, and the detector's accuracy does not change.
Status save_half_weights(const YoloV8& model, const std::string& path) {
  YoloV8 copy(model->scale(), model->num_classes());
  copy_weights(model, copy);
  copy->to(torch::kHalf);
  return save_weights(*copy, path);
}

}  // namespace

Result<TrainSummary> train_detector(const TrainOptions& o, std::ostream& out) {
  SI_RETURN_IF_ERROR(validate_train_options(o));
  const auto start = Clock::now();
  // Each step frees and allocates the same activations again; without the cache, glibc hands
  // them back to the kernel and every step page-faults them in anew (see BackendOptions).
  install_caching_cpu_allocator(size_t{4096} << 20);
  at::set_num_threads(o.threads > 0 ? o.threads
                                    : std::max(1u, std::thread::hardware_concurrency()));
  torch::manual_seed(o.seed);
  const char scale = o.model.back();
  const int num_classes = synthetic_num_classes();
  YoloV8 model(scale, num_classes);
  if (!o.init_weights.empty()) SI_RETURN_IF_ERROR(load_weights(*model, o.init_weights));
  model->train();
  WeightAverage average{YoloV8(scale, num_classes)};
  copy_weights(model, average.model());

  std::vector<torch::Tensor> trainable;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  const auto adamw = make_adamw(trainable, o.learning_rate, o.weight_decay);
  torch::optim::AdamW& optimizer = *adamw;

  const std::string checkpoint = o.checkpoint.empty() ? o.output + ".ckpt" : o.checkpoint;
  const std::string log_csv = o.log_csv.empty() ? o.output + ".csv" : o.log_csv;
  Checkpoint state;
  if (o.resume) {
    if (!std::filesystem::exists(checkpoint)) {
      return Status::error(fmt::format(
          "train: --resume: no checkpoint '{}' (it is written after every epoch)", checkpoint));
    }
    auto loaded = load_checkpoint(checkpoint, model, average, optimizer);
    if (!loaded) return loaded.status();
    state = *loaded;
    out << fmt::format("resuming from '{}' at epoch {}\n", checkpoint, state.next_epoch);
  }
  if (const auto dir = std::filesystem::path(o.output).parent_path(); !dir.empty()) {
    std::filesystem::create_directories(dir);
  }
  std::ofstream log(log_csv, state.next_epoch > 1 ? std::ios::app : std::ios::trunc);
  if (!log) return Status::error(fmt::format("train: cannot write '{}'", log_csv));
  if (state.next_epoch == 1) {
    log << "epoch,loss,box_loss,cls_loss,dfl_loss,learning_rate,val_map50,val_map50_95,"
           "seconds\n";
  }

  const auto validation = validation_scenes(kValidationSeedBase, o.validation_images);
  SceneSampler sampler(kTrainingSeedBase, o.seed);
  sampler.skip(static_cast<int64_t>(state.next_epoch - 1) * o.steps_per_epoch * o.batch_size);
  auto draw_batch = [&sampler, &o]() {
    std::vector<SceneSpec> scenes;
    for (int i = 0; i < o.batch_size; ++i) scenes.push_back(sampler.next());
    return render_scenes(scenes, o.input_size);
  };
  const bool show_progress = o.progress && isatty(STDERR_FILENO);
  out << fmt::format(
      "training {} ({} classes: rectangle, ellipse, triangle, cross) at {}x{}: {} epoch(s) of {} "
      "step(s) x {} scenes, AdamW lr {}, {} thread(s); validation: {} scenes (seeds {}+)\n",
      o.model, num_classes, o.input_size, o.input_size, o.epochs, o.steps_per_epoch, o.batch_size,
      o.learning_rate, at::get_num_threads(), o.validation_images, kValidationSeedBase);
  out.flush();

  TrainSummary summary;
  int64_t step = static_cast<int64_t>(state.next_epoch - 1) * o.steps_per_epoch;
  // The next batch is rendered on another thread while this one trains.
  std::future<Result<DetectionBatch>> pending = std::async(std::launch::async, draw_batch);
  for (int epoch = state.next_epoch; epoch <= o.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    double loss_sum = 0, box_sum = 0, cls_sum = 0, dfl_sum = 0;
    double lr = 0;
    for (int i = 1; i <= o.steps_per_epoch; ++i, ++step) {
      auto batch = pending.get();
      if (!batch) return batch.status();
      pending = std::async(std::launch::async, draw_batch);
      lr = learning_rate_at(o, step);
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      }
      auto raw = model->forward_raw(batch->images);
      DetectionLoss loss = detection_loss(raw, batch->targets, num_classes);
      optimizer.zero_grad();
      loss.total.backward();
      torch::nn::utils::clip_grad_norm_(model->parameters(), 10.0);
      optimizer.step();
      average.update(model, step + 1);
      const double total = loss.box + loss.cls + loss.dfl;
      if (!std::isfinite(total)) {
        return Status::error(
            fmt::format("train: the loss is not finite at epoch {} step {}; lower --lr (now {})",
                        epoch, i, o.learning_rate));
      }
      loss_sum += total;
      box_sum += loss.box;
      cls_sum += loss.cls;
      dfl_sum += loss.dfl;
      if (show_progress) {
        print_progress(epoch, o.epochs, i, o.steps_per_epoch, loss_sum / i, box_sum / i,
                       cls_sum / i, dfl_sum / i, seconds_since(epoch_start) / i);
      }
    }
    if (show_progress) std::fprintf(stderr, "\r\033[K");
    auto accuracy = validate_detector(average.model(), validation, o.input_size);
    if (!accuracy) return accuracy.status();
    const double seconds = seconds_since(epoch_start);
    const int n = o.steps_per_epoch;
    const bool best = accuracy->map50_95 > state.best_map50_95;
    if (best) {
      state.best_map50_95 = accuracy->map50_95;
      state.best_map50 = accuracy->map50;
      state.best_epoch = epoch;
      SI_RETURN_IF_ERROR(save_half_weights(average.model(), o.output));
    }
    out << fmt::format(
        "epoch {}/{}: loss {:.3f} (box {:.3f} cls {:.3f} dfl {:.3f}), lr {:.5f}, val mAP@0.5 "
        "{:.3f} mAP@0.5:0.95 {:.3f}{}, {:.0f} s\n",
        epoch, o.epochs, loss_sum / n, box_sum / n, cls_sum / n, dfl_sum / n, lr, accuracy->map50,
        accuracy->map50_95, best ? " (best, saved)" : "", seconds);
    out.flush();
    log << fmt::format("{},{:.5f},{:.5f},{:.5f},{:.5f},{:.6f},{:.4f},{:.4f},{:.1f}\n", epoch,
                       loss_sum / n, box_sum / n, cls_sum / n, dfl_sum / n, lr, accuracy->map50,
                       accuracy->map50_95, seconds);
    log.flush();
    state.next_epoch = epoch + 1;
    save_checkpoint(checkpoint, model, average, optimizer, state);
    ++summary.epochs_run;
  }
  pending.wait();
  summary.best_map50 = state.best_map50;
  summary.best_map50_95 = state.best_map50_95;
  summary.best_epoch = state.best_epoch;
  summary.seconds = seconds_since(start);
  out << fmt::format(
      "best: epoch {}, val mAP@0.5 {:.3f} mAP@0.5:0.95 {:.3f}; weights '{}', checkpoint '{}', "
      "log '{}' ({:.0f} s)\n",
      summary.best_epoch, summary.best_map50, summary.best_map50_95, o.output, checkpoint, log_csv,
      summary.seconds);
  out << format_tensor_cache(installed_tensor_cache_stats());
  return summary;
}

}  // namespace streaminfer
