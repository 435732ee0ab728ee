#pragma once
// A TorchScript file that is a built-in YOLOv8: an Ultralytics export carries the parameter names
// and shapes of the built-in architecture (yolov8.h). Loaded into it, its convolutions can run on
// the oneDNN plans (yolov8_onednn.h), which a TorchScript graph cannot. Names and shapes do not
// prove that the file's forward is the architecture's (the same decode, the same activations):
// the caller compares the two outputs before running it.
#include <string>

#include "infer/yolov8.h"
#include "streaminfer/status.h"

namespace streaminfer {

struct Yolov8FromTorchScript {
  YoloV8 model{nullptr};  // eval mode, BatchNorm fused, float32
  std::string name;       // e.g. "yolov8n, 80 classes"
};

// The file's parameters and buffers in the YOLOv8 (n or s, its class count) they fit exactly;
// otherwise why they fit none (for a line that begins "the TorchScript file ...").
Result<Yolov8FromTorchScript> yolov8_from_torchscript(const std::string& path);

}  // namespace streaminfer
