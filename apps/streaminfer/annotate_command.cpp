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
#include <memory>

#include "commands.h"
#include "common/image_file.h"
#include "config/run_options.h"
#include "dataset_commands.h"
#include "infer/backend.h"
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
  // The defaults of `run`, taken from RunOptions so that a new default model (or default
  // weights) reaches both commands from one place.
  std::string model = RunOptions{}.model;
  std::string weights = RunOptions{}.weights;
  int input_size = RunOptions{}.imgsz;
  float threshold = RunOptions{}.conf;
  float iou = RunOptions{}.iou;
  int batch_size = RunOptions{}.batch_size;
  int threads = RunOptions{}.threads;
  int micro_batch = RunOptions{}.micro_batch;
  std::string format = "json";
  int quality = 90;
};

Status validate_annotate(const AnnotateOptions& o) {
  if (o.input_size < 32 || o.input_size > 4096 || o.input_size % 32 != 0) {
    return Status::error(
        fmt::format("--input-size {}: must be a multiple of 32 from 32 to 4096", o.input_size));
  }
  if (!(o.threshold >= 0 && o.threshold <= 1)) return Status::error("--threshold must be 0..1");
  if (!(o.iou >= 0 && o.iou <= 1)) return Status::error("--iou must be 0..1");
  if (o.batch_size < 1) return Status::error("--batch-size must be >= 1");
  if (o.micro_batch < 0) return Status::error("--micro-batch must be >= 0 (0: measured at load)");
  if (o.threads < 0) return Status::error("--threads must be >= 0 (0: all cores)");
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
  b.model = o.model;
  b.weights = o.weights;
  b.input_size = o.input_size;
  b.threads = o.threads;
  b.micro_batch = o.micro_batch;
  return b;
}

int annotate(const AnnotateOptions& o) {
  if (Status valid = validate_annotate(o); !valid) {
    print_error("annotate: " + valid.message());
    return 2;
  }
  auto listing = list_images(o.input_dir);
  if (!listing) {
    print_error(listing.status().message());
    return 2;
  }
  std::error_code ec;
  if (fs::exists(o.output_dir, ec) && fs::equivalent(o.input_dir, o.output_dir, ec)) {
    print_error(
        fmt::format("annotate: -o '{}' is the input folder; the drawn images would "
                    "replace the originals, give another folder",
                    o.output_dir));
    return 2;
  }
  fs::create_directories(o.output_dir, ec);
  if (ec) {
    print_error(
        fmt::format("annotate: cannot create the folder '{}': {}", o.output_dir, ec.message()));
    return 2;
  }
  auto backend = create_backend(annotate_backend_options(o));
  if (!backend) {
    print_error(backend.status().message());
    return 2;
  }
  const ModelInfo& model = backend.value()->info();
  std::printf("model: %s, input %dx%d, %d LibTorch thread(s)\n", model.description.c_str(),
              model.input_width, model.input_height, at::get_num_threads());
  std::printf("annotate: %zu image(s) in %s, batches of %d\n", listing->images.size(),
              o.input_dir.c_str(), o.batch_size);
  std::fflush(stdout);

  const int size = o.input_size;
  const int64_t plane = 3LL * size * size;
  at::Tensor input = torch::empty({o.batch_size, 3, size, size}, torch::kFloat32);
  LetterboxPreprocessor preprocessor;
  PostprocessOptions post;
  post.score_threshold = o.threshold;
  post.iou_threshold = o.iou;
  ImageWriteOptions write_options;
  write_options.jpeg_quality = o.quality;

  std::vector<ImageDetections> results;
  int64_t unreadable = 0, detections = 0;
  const int64_t start = now_ns();
  const auto& names = listing->images;
  size_t next = 0;
  while (next < names.size()) {
    // Fill a batch with images that decode; one that does not is reported and skipped.
    std::vector<Pending> batch;
    while (next < names.size() && static_cast<int>(batch.size()) < o.batch_size) {
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
    const int n = static_cast<int>(batch.size());
    auto output = backend.value()->infer(input.narrow(0, 0, n));
    if (!output) {
      print_error("annotate: " + output.status().message());
      return 1;
    }
    const at::Tensor& out = output.value();
    auto decoded = decode_yolov8(out.data_ptr<float>(), n, static_cast<int>(out.size(1)),
                                 static_cast<int>(out.size(2)), post);
    for (int i = 0; i < n; ++i) {
      Pending& p = batch[static_cast<size_t>(i)];
      for (auto& d : decoded[static_cast<size_t>(i)]) d.box = p.letterbox.to_source(d.box);
      detections += static_cast<int64_t>(decoded[static_cast<size_t>(i)].size());
      Status drawn = draw_detections(*p.rgb, decoded[static_cast<size_t>(i)], model.labels);
      // Same name, same format: a .jpeg stays a JPEG, a .bmp a BMP.
      write_options.format = image_format_of_file(p.name).value();
      const std::string out_path = (fs::path(o.output_dir) / p.name).string();
      if (drawn) drawn = write_image(*p.rgb, out_path, write_options);
      if (!drawn) {
        print_error("annotate: " + drawn.message());
        return 1;
      }
      results.push_back(
          {p.name, p.rgb->width, p.rgb->height, std::move(decoded[static_cast<size_t>(i)])});
    }
  }
  const double seconds = ns_to_ms(now_ns() - start) / 1000.0;

  const std::string json_path = (fs::path(o.output_dir) / "detections.json").string();
  const nlohmann::json json = o.format == "coco"
                                  ? detections_coco_json(results, model.labels, model.name)
                                  : detections_json(results, model.labels, model.name);
  std::ofstream json_file(json_path);
  json_file << json.dump(1) << '\n';
  json_file.close();
  if (!json_file) {
    print_error(fmt::format("annotate: cannot write '{}'", json_path));
    return 1;
  }
  const size_t done = results.size();
  std::printf(
      "annotate: %zu image(s) annotated, %lld detection(s) at threshold %g, in %.2f s "
      "(%.1f ms/image); %lld unreadable, %lld non-image file(s) skipped\n",
      done, static_cast<long long>(detections), o.threshold, seconds,
      done ? seconds * 1000.0 / static_cast<double>(done) : 0.0, static_cast<long long>(unreadable),
      static_cast<long long>(listing->other_files));
  if (model.random_weights) {
    std::printf("note: the model has random weights: its boxes are meaningless (see --weights)\n");
  }
  std::printf("wrote %s (%s)\n", json_path.c_str(), o.format.c_str());
  std::fflush(stdout);
  if (done == 0) {
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
  cmd->add_option("--model", o->model,
                  "yolov8n-shapes (bundled, the default), yolov8n, yolov8s or a TorchScript file "
                  "([B, 4+nc, A] output)")
      ->capture_default_str();
  cmd->add_option("--weights", o->weights,
                  "TorchScript file whose parameters (by name) load into a built-in architecture");
  cmd->add_option("--input-size,--imgsz", o->input_size,
                  "Model input size (square, multiple of 32)")
      ->capture_default_str();
  cmd->add_option("--threshold,--conf", o->threshold, "Score threshold")->capture_default_str();
  cmd->add_option("--iou", o->iou, "NMS IoU threshold")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Images per model forward")->capture_default_str();
  cmd->add_option("--micro-batch", o->micro_batch,
                  "Images per model forward at most (0: measure 1, 2 and 4 at load and keep the "
                  "fastest per image)")
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "LibTorch intra-op threads (0: all cores)")
      ->capture_default_str();
  cmd->add_option("--format", o->format,
                  "detections.json layout: json (per image: file, size, detections) or coco "
                  "(images, categories, annotations)")
      ->capture_default_str();
  cmd->add_option("--quality", o->quality, "Quality of drawn .jpg images, 1..100")
      ->capture_default_str();
  return [=]() -> int { return cmd->parsed() ? annotate(*o) : -1; };
}

}  // namespace streaminfer::app
