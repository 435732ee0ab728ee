#pragma once
// What every backend does the same way when it loads a model, whatever device runs it: the
// class count of a weights file, the labels, the detection tensor of a scripted module's result
// and the output layout read off one forward.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "infer/backend.h"
#include "infer/model_zoo.h"
#include "streaminfer/status.h"

namespace c10 {
class IValue;
}  // namespace c10

namespace streaminfer {

// COCO's names for an 80-class detector; "class_N" otherwise (ImageNet's names are not bundled).
std::vector<std::string> labels_for(int num_classes, ModelTask task);

// The detection tensor of whatever a scripted module returns (a tensor, or a tuple or list whose
// first element is the tensor, as some exports do).
Result<at::Tensor> detection_tensor(const c10::IValue& value);

// The class count of a weights file for a built-in architecture: the length of its last layer's
// bias.
Result<int> classes_in_weights(const BuiltinSpec& spec, const std::string& weights);

// A built-in model ready for inference on the CPU, before any device or precision change: the
// weights to load (--weights, else the bundled file, else none), the class count they imply,
// the weights loaded, eval mode, BatchNorm folded (options.fuse_bn). Fills info's name, task,
// random_weights and num_parameters (counted before folding); `weights_loaded` gets the file.
Result<BuiltinModel> load_builtin_model(const BackendOptions& options, ModelInfo* info,
                                        std::string* weights_loaded);

// Reads task-specific layout (classes, anchors, labels) off the output of one forward of a
// [1, 3, input_size, input_size] input into `info`; an error names the model and the shape.
Status read_output_layout(const at::Tensor& output, const std::string& model, int input_size,
                          ModelInfo* info);

}  // namespace streaminfer
