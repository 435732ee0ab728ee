// Linked instead of yolov8_onednn.cpp and onednn_plan.cpp when CMake finds no oneDNN headers.
#include "infer/yolov8_onednn.h"

namespace streaminfer {

struct YoloV8OneDnn::Impl {};

YoloV8OneDnn::YoloV8OneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
YoloV8OneDnn::~YoloV8OneDnn() = default;

Result<std::unique_ptr<YoloV8OneDnn>> YoloV8OneDnn::create(YoloV8, OneDnnLayout) {
  return Status::error(
      "not built: oneDNN's headers were not found (apt-get install libdnnl-dev, then reconfigure)");
}

torch::Tensor YoloV8OneDnn::forward(const torch::Tensor&) {
  TORCH_CHECK(false, "oneDNN: not built");
}

void YoloV8OneDnn::keep_batches(int64_t, int64_t, int64_t) {}

std::string YoloV8OneDnn::describe() const { return "not built"; }

bool yolov8_onednn_built() { return false; }

}  // namespace streaminfer
