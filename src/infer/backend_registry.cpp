#include <fmt/format.h>
#include <torch/types.h>

#include <algorithm>
#include <map>

#include "infer/backend.h"
#include "infer/libtorch_cpu_backend.h"
#if defined(STREAMINFER_CUDA_BACKEND)
#include "cuda/gpu_bench.h"
#include "cuda/libtorch_cuda_backend.h"
#endif

namespace streaminfer {

namespace {

// One line per backend (whisper.cpp/ggml style); the cuda line where LibTorch is a CUDA build
// (src/cuda/CMakeLists.txt).
const std::map<std::string, BackendFactory>& registry() {
  static const std::map<std::string, BackendFactory> backends = {
    {"cpu", create_libtorch_cpu_backend},
#if defined(STREAMINFER_CUDA_BACKEND)
    {"cuda", create_libtorch_cuda_backend},
#endif
  };
  return backends;
}

}  // namespace

std::string precision_name(const ModelInfo& info) {
  return info.precision.substr(0, info.precision.find(' '));
}

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
          "--device cuda: this streaminfer has no cuda backend (it was built against a LibTorch "
          "without CUDA; scripts/gpu_check.sh builds one with PyTorch's CUDA LibTorch on a GPU "
          "machine, see the README's GPU section); use --device cpu");
    }
    return Status::error(fmt::format("--device {}: unknown device (available: {})", options.device,
                                     fmt::join(available_devices(), ", ")));
  }
  return found->second(options);
}

GpuBench gpu_bench() {
#if defined(STREAMINFER_CUDA_BACKEND)
  return run_gpu_bench;
#else
  return {};
#endif
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
