#pragma once
// Weights files of the built-in architectures: every parameter and buffer by its dotted name
// ("model.0.conv.weight", "layer1.0.bn1.running_mean"), as PyTorch's state_dict names them.
#include <cstdint>
#include <string>
#include <vector>

#include "streaminfer/status.h"

namespace torch::nn {
class Module;
}  // namespace torch::nn

namespace streaminfer {

// Writes `module`'s parameters and buffers as a c10::Dict<std::string, Tensor> with
// torch::pickle_save: PyTorch's torch.load reads the file back as a plain state dict. Tensors keep
// the module's dtypes (convert the module to half first for a file half the size).
Status save_weights(const torch::nn::Module& module, const std::string& path);

// Reads a file written by save_weights (or by PyTorch's torch.save of a dict of tensors) or a
// TorchScript file whose parameters and buffers carry the same names, and copies every tensor into
// `module`, converting dtype (a float16 file loads into a float32 module). The names and shapes
// must match exactly, except that BatchNorm's num_batches_tracked may be missing; otherwise one
// line names up to 3 missing, unexpected and mismatched tensors and the file. `module` is left
// unchanged on any error.
Status load_weights(torch::nn::Module& module, const std::string& path);

// The shape of the tensor `name` in a weights file (as load_weights reads it): a built-in
// architecture's class count is read from its head's bias before the model is built.
Result<std::vector<int64_t>> weights_tensor_shape(const std::string& path, const std::string& name);

}  // namespace streaminfer
