#include "infer/int8_model.h"

#include <fmt/format.h>
#include <torch/nn.h>

namespace streaminfer {

Status Int8Model::take_parameters(torch::nn::Module& model, const std::string& first_conv_bias) {
  if (model.is_training()) return Status::error("int8: the model must be in eval mode");
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    parameters_[item.key()] = item.value().detach();
  }
  if (parameters_.count(first_conv_bias) == 0) {
    return Status::error("int8: fold BatchNorm into the convolutions first (fuse_batch_norm)");
  }
  if (parameters_.at(first_conv_bias).scalar_type() != torch::kFloat32) {
    return Status::error("int8: the model must be float32");
  }
  return Status::ok();
}

const torch::Tensor& Int8Model::parameter(const std::string& name) const {
  const auto found = parameters_.find(name);
  TORCH_CHECK(found != parameters_.end(), "int8: the model has no parameter ", name);
  return found->second;
}

torch::Tensor Int8Model::observed(const std::string& site, torch::Tensor x) {
  ranges_[site].observe(x);
  return x;
}

int8::QuantParams Int8Model::params(const std::string& site) const {
  const auto found = params_.find(site);
  TORCH_CHECK(found != params_.end(), "int8: no calibrated range for ", site);
  return found->second;
}

void Int8Model::note_conv(const std::string& prefix, const std::string& weight_name,
                          const std::string& bias_name, int64_t stride) {
  convs_[prefix] = {weight_name, bias_name, stride};
}

torch::Tensor Int8Model::calibrate(const torch::Tensor& x) {
  TORCH_CHECK(!converted_, "int8: calibrate() after convert()");
  torch::NoGradGuard no_grad;
  auto output = run(x.to(torch::kFloat32));
  calibration_images_ += x.size(0);
  return output;
}

torch::Tensor Int8Model::forward(const torch::Tensor& x) {
  TORCH_CHECK(converted_, "int8: forward() before convert()");
  return run(x.to(torch::kFloat32));
}

std::map<std::string, std::pair<float, float>> Int8Model::ranges() const {
  std::map<std::string, std::pair<float, float>> out;
  for (const auto& [site, range] : ranges_) out[site] = {range.min(), range.max()};
  return out;
}

Status Int8Model::use_ranges(const std::map<std::string, std::pair<float, float>>& ranges,
                             int64_t images) {
  if (converted_) return Status::error("int8: use_ranges() after convert()");
  if (images <= 0) return Status::error("int8: cached ranges must stand for some images");
  {
    torch::NoGradGuard no_grad;
    run(torch::zeros({1, 3, 64, 64}));
  }
  for (auto& [site, range] : ranges_) {
    const auto found = ranges.find(site);
    if (found == ranges.end()) {
      // Said before clear(): `site` is a key of ranges_.
      Status refused =
          Status::error(fmt::format("no range for {}: the ranges are of another graph", site));
      ranges_.clear();
      return refused;
    }
    range.set(found->second.first, found->second.second);
  }
  if (ranges.size() != ranges_.size()) {
    const size_t sites = ranges_.size();
    ranges_.clear();
    return Status::error(
        fmt::format("{} ranges for a graph of {} sites: another graph", ranges.size(), sites));
  }
  calibration_images_ = images;
  return Status::ok();
}

float Int8Model::range_floor(const std::string& /*site*/, float min) const { return min; }

Status Int8Model::convert() {
  if (converted_) return Status::ok();
  if (calibration_images_ == 0) return Status::error("int8: calibrate on some images first");
  engine_ = int8::select_quantized_engine();
  if (engine_.empty()) {
    return Status::error(
        "int8: this LibTorch has no x86 quantized engine (fbgemm or onednn); use fp32");
  }
  try {
    torch::NoGradGuard no_grad;
    for (const auto& [site, range] : ranges_) {
      params_[site] = int8::params_for_range(range_floor(site, range.min()), range.max());
    }
    for (const auto& [prefix, spec] : convs_) {
      const auto& weight = parameter(spec.weight);
      packed_[prefix] =
          int8::pack_conv(weight, parameter(spec.bias), spec.stride, weight.size(2) / 2);
    }
    after_convert();
  } catch (const std::exception& e) {
    packed_.clear();
    return Status::error(fmt::format("int8: packing the weights failed: {}", e.what()));
  }
  converted_ = true;
  return Status::ok();
}

std::string Int8Model::describe() const {
  return fmt::format("{} int8 convolutions ({}); calibrated on {} images", convs_.size(), engine_,
                     calibration_images_);
}

}  // namespace streaminfer
