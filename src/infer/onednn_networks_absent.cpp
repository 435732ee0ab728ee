// Linked instead of the oneDNN networks (yolov8_onednn.cpp, resnet_onednn.cpp) and the plans
// under them when CMake finds no oneDNN headers: create() says how to get them.
#include "infer/resnet_onednn.h"
#include "infer/yolov8_onednn.h"

namespace streaminfer {

namespace {

Status not_built() {
  return Status::error(
      "not built: oneDNN's headers were not found (apt-get install libdnnl-dev, then reconfigure)");
}

}  // namespace

struct YoloV8OneDnn::Impl {};
YoloV8OneDnn::YoloV8OneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
YoloV8OneDnn::~YoloV8OneDnn() = default;
Result<std::unique_ptr<YoloV8OneDnn>> YoloV8OneDnn::create(YoloV8, OneDnnLayout) {
  return not_built();
}
torch::Tensor YoloV8OneDnn::forward(const torch::Tensor&) {
  TORCH_CHECK(false, "oneDNN: not built");
}
void YoloV8OneDnn::keep_batches(int64_t, int64_t, int64_t) {}
std::string YoloV8OneDnn::describe() const { return "not built"; }

struct ResNetOneDnn::Impl {};
ResNetOneDnn::ResNetOneDnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResNetOneDnn::~ResNetOneDnn() = default;
Result<std::unique_ptr<ResNetOneDnn>> ResNetOneDnn::create(ResNet, OneDnnLayout, bool, Winograd) {
  return not_built();
}
torch::Tensor ResNetOneDnn::forward(const torch::Tensor&) {
  TORCH_CHECK(false, "oneDNN: not built");
}
void ResNetOneDnn::keep_batches(int64_t, int64_t, int64_t) {}
std::string ResNetOneDnn::describe() const { return "not built"; }

bool onednn_networks_built() { return false; }

}  // namespace streaminfer
