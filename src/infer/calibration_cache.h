#pragma once
// int8 activation ranges kept between runs, so a second start does not calibrate again.
//
// A record names what it was measured for (model, input size, a fingerprint of the weights) and
// on what (the calibration source and its frame count); one made for another model, size or
// weights never loads silently: mismatch() says in one line what differs.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "streaminfer/status.h"

namespace torch::nn {
class Module;
}

namespace streaminfer {

struct CalibrationRecord {
  std::string model;       // "yolov8n-shapes"
  int input_size = 0;      // square model input
  std::string weights;     // weights_fingerprint() of the float32 model that was calibrated
  std::string source;      // what the ranges were measured on: "64 frames of clip.mp4 (...)"
  std::string source_uri;  // the --calibration source as given; empty: synthetic scenes
  int64_t frames = 0;      // calibration forwards' images
  // fp32 and int8 agreement on held-out frames (int8_agreement.h), -1 when not measured.
  double agreement = -1;
  std::string comparison;  // what the comparison on held-out frames found, for the next starts
  std::map<std::string, std::pair<float, float>> ranges;  // site -> (min, max)
};

// 16 hex digits over every parameter's name, shape and float values (any dtype is read as
// float32): the same weights give the same fingerprint on every machine.
std::string weights_fingerprint(const torch::nn::Module& module);

// Empty when `record` was made for `want`'s model, input size and weights; otherwise what
// differs, e.g. "made for yolov8n at 640, not yolov8s at 640".
std::string calibration_mismatch(const CalibrationRecord& record, const CalibrationRecord& want);

// Written atomically as JSON.
Status save_calibration(const std::string& path, const CalibrationRecord& record);
// nullopt when the file does not exist; an error naming the file when it is not a calibration
// cache (unreadable, not JSON, wrong fields).
Result<std::optional<CalibrationRecord>> load_calibration(const std::string& path);

// Where the ranges are kept when --calibration-cache is not given: beside --weights
// ("WEIGHTS.int8-SIZE-KEY.json") when there are weights, else under the user's cache folder
// ($XDG_CACHE_HOME/streaminfer/calibration/MODEL-SIZE-FINGERPRINT-KEY.json); KEY tells the
// calibration sources apart ("synthetic" or a hash of the source). Empty when there is no
// cache folder.
std::string default_calibration_cache_path(const std::string& weights, const std::string& model,
                                           int input_size, const std::string& fingerprint,
                                           const std::string& calibration_source);

}  // namespace streaminfer
