#include "infer/bf16_copy.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include "infer/yolov8.h"

namespace streaminfer {

bool native_bf16(const PrecisionProbe& probe) {
  if (!probe.available) return false;
  // One implementation per space-separated token, e.g. "brgconv:avx512_core_bf16".
  size_t at = 0;
  while (at < probe.conv_impl.size()) {
    size_t end = probe.conv_impl.find(' ', at);
    if (end == std::string::npos) end = probe.conv_impl.size();
    const std::string token = probe.conv_impl.substr(at, end - at);
    const size_t colon = token.find(':');
    if (colon != std::string::npos) {
      const std::string isa = token.substr(colon + 1);
      if (isa.find("_bf16") != std::string::npos || isa.find("amx") != std::string::npos) {
        return true;
      }
    }
    at = end + 1;
  }
  return false;
}

Result<BuiltinModel> make_bf16_copy(const std::string& name, int num_classes,
                                    const BuiltinModel& fp32, bool fold_batch_norm) {
  auto made = make_builtin_model(name, num_classes);
  if (!made) return made.status();
  BuiltinModel copy = std::move(made.value());
  copy.module->eval();
  if (fold_batch_norm && copy.fuse_batch_norm) {
    auto folded = copy.fuse_batch_norm();
    if (!folded) return folded.status();
  }
  torch::NoGradGuard no_grad;
  const auto source_parameters = fp32.module->named_parameters();
  const auto source_buffers = fp32.module->named_buffers();
  auto parameters = copy.module->named_parameters();
  auto buffers = copy.module->named_buffers();
  if (parameters.size() != source_parameters.size() || buffers.size() != source_buffers.size()) {
    return Status::error(fmt::format(
        "bf16 copy of {}: {} parameters and {} buffers where the model has {} and {}", name,
        parameters.size(), buffers.size(), source_parameters.size(), source_buffers.size()));
  }
  using Tensors = torch::OrderedDict<std::string, torch::Tensor>;
  const auto copy_by_name = [&](const char* kind, const Tensors& from, Tensors& to) -> Status {
    for (auto& item : to) {
      const torch::Tensor* source = from.find(item.key());
      if (source == nullptr || source->sizes() != item.value().sizes()) {
        return Status::error(
            fmt::format("bf16 copy of {}: {} {} does not match", name, kind, item.key()));
      }
      item.value().copy_(*source);
    }
    return Status::ok();
  };
  SI_RETURN_IF_ERROR(copy_by_name("parameter", source_parameters, parameters));
  SI_RETURN_IF_ERROR(copy_by_name("buffer", source_buffers, buffers));
  copy.module->to(torch::kBFloat16);
  // oneDNN's bfloat16 convolutions take channels-last without a reorder (bench model's bf16 row
  // is channels-last too).
  convert_to_channels_last(*copy.module);
  return copy;
}

}  // namespace streaminfer
