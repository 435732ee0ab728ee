#include <fmt/format.h>
#include <torch/types.h>

#include <algorithm>
#include <map>

#include "infer/backend.h"
#include "infer/libtorch_cpu_backend.h"

namespace streaminfer {

namespace {

// One line per backend (whisper.cpp/ggml style). A CUDA build adds its line in src/cuda/.
const std::map<std::string, BackendFactory>& registry() {
  static const std::map<std::string, BackendFactory> backends = {
      {"cpu", create_libtorch_cpu_backend},
  };
  return backends;
}

}  // namespace

std::vector<std::string> available_devices() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

Result<std::unique_ptr<InferenceBackend>> create_backend(const BackendOptions& options) {
  const auto& backends = registry();
  auto found = backends.find(options.device);
  if (found == backends.end()) {
    if (options.device == "cuda") {
      return Status::error(
          "--device cuda: this streaminfer was built without CUDA (rebuild with "
          "-DSTREAMINFER_CUDA=ON on a machine with nvcc and a CUDA LibTorch), use --device cpu");
    }
    return Status::error(fmt::format("--device {}: unknown device (available: {})", options.device,
                                     fmt::join(available_devices(), ", ")));
  }
  return found->second(options);
}

Status InferenceBackend::warm_up(int batch, int iterations) {
  const auto& model = info();
  auto zeros = torch::zeros({batch, 3, model.input_height, model.input_width});
  for (int i = 0; i < iterations; ++i) {
    auto result = infer(zeros);
    if (!result) return result.status();
  }
  return Status::ok();
}

Status InferenceBackend::check_batch_sizes(int max_batch) {
  const auto& model = info();
  const int largest = model.micro_batch > 0 ? std::min(max_batch, model.micro_batch) : max_batch;
  for (int n = 1; n <= largest; ++n) {
    if (checked_sizes_.count(n) != 0) continue;
    auto result = infer(torch::zeros({n, 3, model.input_height, model.input_width}));
    if (!result) return result.status();
  }
  return Status::ok();
}

const std::vector<std::string>& coco_labels() {
  static const std::vector<std::string> labels = {"person",        "bicycle",      "car",
                                                  "motorcycle",    "airplane",     "bus",
                                                  "train",         "truck",        "boat",
                                                  "traffic light", "fire hydrant", "stop sign",
                                                  "parking meter", "bench",        "bird",
                                                  "cat",           "dog",          "horse",
                                                  "sheep",         "cow",          "elephant",
                                                  "bear",          "zebra",        "giraffe",
                                                  "backpack",      "umbrella",     "handbag",
                                                  "tie",           "suitcase",     "frisbee",
                                                  "skis",          "snowboard",    "sports ball",
                                                  "kite",          "baseball bat", "baseball glove",
                                                  "skateboard",    "surfboard",    "tennis racket",
                                                  "bottle",        "wine glass",   "cup",
                                                  "fork",          "knife",        "spoon",
                                                  "bowl",          "banana",       "apple",
                                                  "sandwich",      "orange",       "broccoli",
                                                  "carrot",        "hot dog",      "pizza",
                                                  "donut",         "cake",         "chair",
                                                  "couch",         "potted plant", "bed",
                                                  "dining table",  "toilet",       "tv",
                                                  "laptop",        "mouse",        "remote",
                                                  "keyboard",      "cell phone",   "microwave",
                                                  "oven",          "toaster",      "sink",
                                                  "refrigerator",  "book",         "clock",
                                                  "vase",          "scissors",     "teddy bear",
                                                  "hair drier",    "toothbrush"};
  return labels;
}

}  // namespace streaminfer
