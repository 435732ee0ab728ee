#pragma once
// What every post-training int8 model here shares (yolov8_int8.h, resnet_int8.h): the float32
// model's parameters by name, activation ranges recorded at named sites while calibrating, and
// at conversion the quantization parameters of every site and the packed int8 weights of every
// convolution met while calibrating.
//
// A model's graph is written once and runs in both modes: calibrating (float32 tensors, each op
// records its output range with observed()) and converted (quint8 tensors, each op reads
// params() and packed()).
#include <torch/nn/module.h>

#include <map>
#include <string>
#include <utility>

#include "infer/quantized_ops.h"
#include "streaminfer/status.h"

namespace streaminfer {

class Int8Model {
 public:
  virtual ~Int8Model() = default;
  // The float32 forward, recording activation ranges (only before convert()), and the int8
  // forward (only after); both return what the float32 model returns, for its input.
  torch::Tensor calibrate(const torch::Tensor& x);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t calibration_images() const { return calibration_images_; }
  // The recorded activation ranges, site -> (min, max), e.g. for a calibration cache.
  std::map<std::string, std::pair<float, float>> ranges() const;
  // Ranges measured before instead of calibrating (only before convert()): one float32 forward
  // of a small blank image finds the graph's sites and convolutions (it records no range), then
  // `ranges` stand for `images` calibration images. Fails when the sites are not the graph's.
  Status use_ranges(const std::map<std::string, std::pair<float, float>>& ranges, int64_t images);
  bool converted() const { return converted_; }
  // Quantizes and packs every convolution's weights and freezes the recorded ranges. Fails when
  // nothing was calibrated or no int8 engine is built into LibTorch.
  Status convert();
  // e.g. "63 int8 convolutions (onednn); calibrated on 32 images".
  std::string describe() const;

 protected:
  // `parameters`: the float32 model's named parameters, BatchNorm folded (each conv has a bias).
  Status take_parameters(torch::nn::Module& model, const std::string& first_conv_bias);
  const torch::Tensor& parameter(const std::string& name) const;
  bool has_parameter(const std::string& name) const { return parameters_.count(name) > 0; }

  // Calibrating: records the range of `x` at `site` and returns it.
  torch::Tensor observed(const std::string& site, torch::Tensor x);
  int8::QuantParams params(const std::string& site) const;
  // Calibrating: the convolution `weight_name` / `bias_name` runs int8 at `prefix` after convert.
  void note_conv(const std::string& prefix, const std::string& weight_name,
                 const std::string& bias_name, int64_t stride);
  const int8::PackedConv& packed(const std::string& prefix) const { return packed_.at(prefix); }

  // The model's graph, in whichever mode converted() says; x is float32.
  virtual torch::Tensor run(const torch::Tensor& x) = 0;
  // Hooks of convert(): the lowest value kept of a site's range (default: its minimum), and
  // whatever a model derives from the parameters once they exist (code tables, split weights).
  virtual float range_floor(const std::string& site, float min) const;
  virtual void after_convert() {}

  struct ConvSpec {
    std::string weight, bias;
    int64_t stride = 1;
  };
  const std::map<std::string, ConvSpec>& convs() const { return convs_; }
  std::map<std::string, int8::PackedConv>& packed_convs() { return packed_; }

 private:
  std::map<std::string, torch::Tensor> parameters_;
  std::map<std::string, int8::RangeObserver> ranges_;
  std::map<std::string, int8::QuantParams> params_;
  std::map<std::string, ConvSpec> convs_;
  std::map<std::string, int8::PackedConv> packed_;
  std::string engine_;
  int64_t calibration_images_ = 0;
  bool converted_ = false;
};

}  // namespace streaminfer
