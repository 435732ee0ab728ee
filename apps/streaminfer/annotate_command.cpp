// `streaminfer annotate -i DIR -o DIR`: runs the detector over every image of a folder in
// batches, writes each image with its boxes and labels drawn under the same name, and one JSON
// file (streaminfer's layout or COCO) with every detection.
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/types.h>

extern "C" {
#include <libavutil/frame.h>
}

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "commands.h"
#include "common/atomic_file.h"
#include "common/image_file.h"
#include "common/path_guard.h"
#include "common/stop_request.h"
#include "config/run_options.h"
#include "dataset_commands.h"
#include "infer/backend.h"
#include "postprocess/output_health.h"
#include "postprocess/yolo_decode.h"
#include "preprocess/letterbox.h"
#include "sink/box_drawing.h"
#include "sink/image_detections_json.h"
#include "streaminfer/clock.h"

namespace streaminfer::app {
namespace {
namespace fs = std::filesystem;

struct AnnotateOptions {
  std::string input_dir;
  std::string output_dir;
  // Model, weights, input size, thresholds, batch and threads: run's options, from the same table
  // (config/run_option_table.h), so their defaults and checks are run's.
  RunOptions run;
  std::string format = "json";
  int quality = 90;
};

// The run options annotate takes, and its own names for two of them.
const std::vector<std::string> kAnnotateRunOptions = {
    "model", "weights", "imgsz", "conf", "iou", "batch-size", "threads", "micro-batch"};
const std::map<std::string, std::string> kAnnotateAliases = {{"imgsz", "input-size"},
                                                             {"conf", "threshold"}};

Status validate_annotate(const AnnotateOptions& o) {
  SI_RETURN_IF_ERROR(validate(o.run));
  if (o.quality < 1 || o.quality > 100) return Status::error("--quality must be 1..100");
  if (o.format != "json" && o.format != "coco") {
    return Status::error(fmt::format("--format {}: use json or coco", o.format));
  }
  return Status::ok();
}

struct FolderListing {
  std::vector<std::string> images;  // file names, sorted
  int64_t other_files = 0;
};

Result<FolderListing> list_images(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::error(fmt::format("annotate: input folder '{}' {}; give -i a folder of images",
                                     dir,
                                     fs::exists(dir, ec) ? "is not a folder" : "does not exist"));
  }
  FolderListing listing;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    if (is_image_file_name(name)) {
      listing.images.push_back(name);
    } else {
      ++listing.other_files;
    }
  }
  if (ec) return Status::error(fmt::format("annotate: cannot list '{}': {}", dir, ec.message()));
  if (listing.images.empty()) {
    return Status::error(
        fmt::format("annotate: '{}' has no .png, .jpg, .jpeg or .bmp image ({} "
                    "other file(s))",
                    dir, listing.other_files));
  }
  std::sort(listing.images.begin(), listing.images.end());
  return listing;
}

// One image on its way through: decoded, then letterboxed into its slot of the batch.
struct Pending {
  std::string name;
  AvFramePtr rgb;
  LetterboxTransform letterbox;
};

BackendOptions annotate_backend_options(const AnnotateOptions& o) {
  BackendOptions b;
  b.model = o.run.model;
  b.weights = o.run.weights;
  b.input_size = o.run.imgsz;
  b.threads = o.run.threads;
  b.micro_batch = o.run.micro_batch;
  b.fp32_kernels = o.run.fp32_kernels;
  return b;
}

// Every image read, every drawn image and detections.json, checked against each other and for
// writability before the model loads (common/path_guard.h).
Status check_annotate_paths(const AnnotateOptions& o, const FolderListing& listing) {
  std::error_code ec;
  if (fs::exists(o.output_dir, ec) && fs::equivalent(o.input_dir, o.output_dir, ec)) {
    return Status::error(
        fmt::format("annotate: -o '{}' is the input folder; the drawn images would replace the "
                    "originals, give another folder",
                    o.output_dir));
  }
  PathPlan plan;
  plan.output_folder("annotate -o", o.output_dir);
  for (const auto& name : listing.images) {
    plan.input("annotate -i image", (fs::path(o.input_dir) / name).string());
    plan.output("annotate's drawn image", (fs::path(o.output_dir) / name).string());
  }
  plan.output("annotate's detections", (fs::path(o.output_dir) / "detections.json").string());
  if (fs::exists(o.run.model, ec)) plan.input("--model", o.run.model);
  plan.input("--weights", o.run.weights);
  if (Status checked = plan.check(); !checked)
    return Status::error("annotate: " + checked.message());
  return Status::ok();
}

// One batch of decoded images through the model; their drawn copies are written and their
// detections appended to `results`.
Status annotate_batch(const AnnotateOptions& o, InferenceBackend& backend, const at::Tensor& input,
                      std::vector<Pending>& batch, OutputHealthMonitor& health,
                      std::vector<ImageDetections>& results, int64_t& detections) {
  const ModelInfo& model = backend.info();
  const int n = static_cast<int>(batch.size());
  auto output = backend.infer(input.narrow(0, 0, n));
  if (!output) return output.status();
  const at::Tensor& out = output.value();
  const int channels = static_cast<int>(out.size(1));
  const int64_t anchors = out.size(2);
  for (int i = 0; i < n; ++i) {
    const float* frame = out.data_ptr<float>() + static_cast<int64_t>(i) * channels * anchors;
    for (const auto& line : health.on_frame(0, static_cast<int64_t>(results.size()) + i,
                                            check_detector_output(frame, channels, anchors))) {
      std::fprintf(stderr, "streaminfer: warning: annotate: %s\n", line.c_str());
    }
  }
  PostprocessOptions post;
  post.score_threshold = o.run.conf;
  post.iou_threshold = o.run.iou;
  auto decoded = decode_yolov8(out.data_ptr<float>(), n, channels, static_cast<int>(anchors), post);
  ImageWriteOptions write_options;
  write_options.jpeg_quality = o.quality;
  for (int i = 0; i < n; ++i) {
    Pending& p = batch[static_cast<size_t>(i)];
    auto& found = decoded[static_cast<size_t>(i)];
    for (auto& d : found) d.box = p.letterbox.to_source(d.box);
    detections += static_cast<int64_t>(found.size());
    Status drawn = draw_detections(*p.rgb, found, model.labels);
    // Same name, same format: a .jpeg stays a JPEG, a .bmp a BMP.
    write_options.format = image_format_of_file(p.name).value();
    const std::string out_path = (fs::path(o.output_dir) / p.name).string();
    if (drawn) drawn = write_image(*p.rgb, out_path, write_options);
    if (!drawn) return drawn;
    results.push_back({p.name, p.rgb->width, p.rgb->height, std::move(found)});
  }
  return Status::ok();
}

int annotate(const AnnotateOptions& o) {
  // Ctrl-C / SIGTERM: the batch in hand finishes and detections.json lists what was done.
  StopRequest& stop = process_stop_request();
  install_stop_signals(stop);
  if (Status valid = validate_annotate(o); !valid) {
    print_error("annotate: " + valid.message());
    return 2;
  }
  auto listing = list_images(o.input_dir);
  if (!listing) {
    print_error(listing.status().message());
    return 2;
  }
  if (Status paths = check_annotate_paths(o, listing.value()); !paths) {
    print_error(paths.message());
    return 2;
  }
  auto backend = create_backend(annotate_backend_options(o));
  if (!backend) {
    print_error(backend.status().message());
    return 2;
  }
  const ModelInfo& model = backend.value()->info();
  if (model.task != ModelTask::kDetect) {
    print_error(
        fmt::format("annotate: --model {} is a classifier; annotate draws a detector's boxes "
                    "(give yolov8n-shapes, yolov8n, yolov8s or a TorchScript detector)",
                    o.run.model));
    return 2;
  }
  if (Status sizes = backend.value()->check_batch_sizes(o.run.batch_size); !sizes) {
    print_error("annotate: --model: " + sizes.message());
    return 2;
  }
  if (const std::string warning =
          threads_warning(o.run.threads, static_cast<int>(std::thread::hardware_concurrency()));
      !warning.empty()) {
    std::fprintf(stderr, "streaminfer: warning: %s\n", warning.c_str());
  }
  std::printf("model: %s, input %dx%d, %d LibTorch thread(s)\n", model.description.c_str(),
              model.input_width, model.input_height, at::get_num_threads());
  std::printf("annotate: %zu image(s) in %s, batches of %d\n", listing->images.size(),
              o.input_dir.c_str(), o.run.batch_size);
  std::fflush(stdout);

  const int size = model.input_width;
  const int64_t plane = 3LL * size * size;
  at::Tensor input = torch::empty({o.run.batch_size, 3, size, size}, torch::kFloat32);
  LetterboxPreprocessor preprocessor;
  OutputHealthMonitor health(model.name, /*detector=*/true);

  std::vector<ImageDetections> results;
  int64_t unreadable = 0, detections = 0;
  const int64_t start = now_ns();
  const auto& names = listing->images;
  size_t next = 0;
  while (next < names.size() && !stop.requested()) {
    // Fill a batch with images that decode; one that does not is reported and skipped.
    std::vector<Pending> batch;
    while (next < names.size() && static_cast<int>(batch.size()) < o.run.batch_size) {
      const std::string& name = names[next++];
      const std::string path = (fs::path(o.input_dir) / name).string();
      auto image = read_image(path);
      Result<AvFramePtr> rgb =
          image ? to_rgb24(*image.value()) : Result<AvFramePtr>(image.status());
      if (!rgb) {
        std::fprintf(stderr, "streaminfer: warning: annotate: skipped %s\n",
                     rgb.status().message().c_str());
        ++unreadable;
        continue;
      }
      Pending p{name, std::move(rgb.value()), {}};
      float* slot = input.data_ptr<float>() + static_cast<int64_t>(batch.size()) * plane;
      if (Status prepared = preprocessor.run(*p.rgb, size, size, slot, &p.letterbox); !prepared) {
        std::fprintf(stderr, "streaminfer: warning: annotate: skipped '%s': %s\n", path.c_str(),
                     prepared.message().c_str());
        ++unreadable;
        continue;
      }
      batch.push_back(std::move(p));
    }
    if (batch.empty()) continue;
    if (Status done =
            annotate_batch(o, *backend.value(), input, batch, health, results, detections);
        !done) {
      print_error("annotate: " + done.message());
      return 1;
    }
  }
  const double seconds = ns_to_ms(now_ns() - start) / 1000.0;

  // Written whole, also after a stop: it lists the images that were drawn.
  const std::string json_path = (fs::path(o.output_dir) / "detections.json").string();
  const nlohmann::json json = o.format == "coco"
                                  ? detections_coco_json(results, model.labels, model.name)
                                  : detections_json(results, model.labels, model.name);
  if (Status written = write_file_atomically(json_path, json.dump(1) + "\n", "detections");
      !written) {
    print_error("annotate: " + written.message());
    return 1;
  }
  const size_t done = results.size();
  if (stop.requested()) {
    std::printf(
        "annotate: interrupted by %s after %zu of %zu image(s); detections.json lists "
        "those\n",
        stop.first_cause().c_str(), done, names.size());
  }
  std::printf(
      "annotate: %zu image(s) annotated, %lld detection(s) at threshold %g, in %.2f s "
      "(%.1f ms/image); %lld unreadable, %lld non-image file(s) skipped\n",
      done, static_cast<long long>(detections), o.run.conf, seconds,
      done ? seconds * 1000.0 / static_cast<double>(done) : 0.0, static_cast<long long>(unreadable),
      static_cast<long long>(listing->other_files));
  if (model.random_weights) {
    std::printf("note: the model has random weights: its boxes are meaningless (see --weights)\n");
  }
  std::printf("wrote %s (%s)\n", json_path.c_str(), o.format.c_str());
  std::fflush(stdout);
  if (done == 0 && !stop.requested()) {
    print_error(fmt::format("annotate: none of the {} image(s) in '{}' could be read", names.size(),
                            o.input_dir));
    return 1;
  }
  return 0;
}

}  // namespace

std::function<int()> add_annotate_command(CLI::App& app) {
  auto o = std::make_shared<AnnotateOptions>();
  auto* cmd = app.add_subcommand(
      "annotate",
      "Run the detector over a folder of images: images with boxes drawn, and detections.json");
  cmd->add_option("-i,--input", o->input_dir, "Folder of .png/.jpg/.jpeg/.bmp images")->required();
  cmd->add_option("-o,--output", o->output_dir,
                  "Folder for the drawn images (same names) and detections.json")
      ->required();
  add_run_option_flags(*cmd, o->run, kAnnotateRunOptions, kAnnotateAliases);
  cmd->add_option("--format", o->format,
                  "detections.json layout: json (per image: file, size, detections) or coco "
                  "(images, categories, annotations)")
      ->capture_default_str();
  cmd->add_option("--quality", o->quality, "Quality of drawn .jpg images, 1..100")
      ->capture_default_str();
  return [=]() -> int { return cmd->parsed() ? annotate(*o) : -1; };
}

}  // namespace streaminfer::app
