#include "infer/yolov8_from_torchscript.h"

#include <fmt/format.h>

#include "infer/model_loading.h"
#include "infer/model_zoo.h"
#include "infer/weights_file.h"

namespace streaminfer {

Result<Yolov8FromTorchScript> yolov8_from_torchscript(const std::string& path) {
  // The stem's output channels tell the scale (width multiple 0.25: 16, 0.5: 32); the head's
  // class bias, the class count (as --weights finds it for a built-in detector).
  auto stem = weights_tensor_shape(path, "model.0.conv.weight");
  if (!stem) return Status::error("has no model.0.conv.weight (a YOLOv8's first convolution)");
  const int64_t stem_channels = stem->empty() ? 0 : stem->front();
  if (stem_channels != 16 && stem_channels != 32) {
    return Status::error(fmt::format(
        "has {} stem channels (model.0.conv.weight) where a YOLOv8n has 16 and a YOLOv8s 32",
        stem_channels));
  }
  const char scale = stem_channels == 16 ? 'n' : 's';
  auto classes = classes_in_weights(*find_builtin(fmt::format("yolov8{}", scale)), path);
  if (!classes)
    return Status::error("does not fit a built-in YOLOv8: " + classes.status().message());
  const int num_classes = classes.value();
  YoloV8 model(scale, num_classes);
  if (const Status loaded = load_weights(*model, path); !loaded.is_ok()) {
    return Status::error(
        fmt::format("does not fit the built-in yolov8{}: {}", scale, loaded.message()));
  }
  model->eval();
  if (auto fused = model->fuse_batch_norm(); !fused) return fused.status();
  return Yolov8FromTorchScript{model, fmt::format("yolov8{}, {} classes", scale, num_classes)};
}

}  // namespace streaminfer
