#include "infer/calibration_cache.h"

#include <torch/nn/module.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "infer/precision_probe.h"

namespace streaminfer {

namespace {

constexpr int kFormatVersion = 1;

// FNV-1a, 64 bits: stable across machines and runs (std::hash is neither).
class Fnv1a {
 public:
  void add(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      hash_ ^= bytes[i];
      hash_ *= 0x100000001b3ULL;
    }
  }
  void add(const std::string& text) { add(text.data(), text.size()); }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

std::string hex16(uint64_t value) { return fmt::format("{:016x}", value); }

}  // namespace

std::string weights_fingerprint(const torch::nn::Module& module) {
  Fnv1a hash;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    hash.add(item.key());
    const auto sizes = item.value().sizes();
    hash.add(sizes.data(), sizes.size() * sizeof(int64_t));
    const auto values = item.value().detach().to(torch::kFloat32).contiguous();
    hash.add(values.data_ptr<float>(), static_cast<size_t>(values.numel()) * sizeof(float));
  }
  return hex16(hash.value());
}

std::string calibration_mismatch(const CalibrationRecord& record, const CalibrationRecord& want) {
  if (record.model != want.model || record.input_size != want.input_size) {
    return fmt::format("made for {} at {}, not {} at {}", record.model, record.input_size,
                       want.model, want.input_size);
  }
  if (record.weights != want.weights) {
    return fmt::format("made for other weights of {} (fingerprint {}, these are {})", want.model,
                       record.weights, want.weights);
  }
  return {};
}

Status save_calibration(const std::string& path, const CalibrationRecord& record) {
  nlohmann::json j;
  j["streaminfer_calibration"] = kFormatVersion;
  j["model"] = record.model;
  j["input_size"] = record.input_size;
  j["weights_fingerprint"] = record.weights;
  j["source"] = record.source;
  j["source_uri"] = record.source_uri;
  j["frames"] = record.frames;
  j["agreement"] = record.agreement;
  j["comparison"] = record.comparison;
  nlohmann::json ranges = nlohmann::json::object();
  for (const auto& [site, range] : record.ranges) ranges[site] = {range.first, range.second};
  j["ranges"] = std::move(ranges);
  return write_file_atomically(path, j.dump(1) + "\n", "calibration cache");
}

Result<std::optional<CalibrationRecord>> load_calibration(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<CalibrationRecord>{};
  const auto fail = [&](const std::string& why) {
    return Status::error(fmt::format(
        "calibration cache '{}': {}; delete it (it is rewritten) or name another file", path, why));
  };
  std::ifstream in(path);
  if (!in) return fail("cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  const auto j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail("not JSON");
  const auto version = j.find("streaminfer_calibration");
  if (version == j.end() || !version->is_number_integer() || *version != kFormatVersion) {
    return fail(fmt::format("not a streaminfer calibration cache of format {}", kFormatVersion));
  }
  CalibrationRecord record;
  try {
    record.source_uri = j.value("source_uri", std::string());
    record.model = j.at("model").get<std::string>();
    record.input_size = j.at("input_size").get<int>();
    record.weights = j.at("weights_fingerprint").get<std::string>();
    record.source = j.at("source").get<std::string>();
    record.frames = j.at("frames").get<int64_t>();
    record.agreement = j.value("agreement", -1.0);
    record.comparison = j.value("comparison", std::string());
    for (const auto& [site, range] : j.at("ranges").items()) {
      if (!range.is_array() || range.size() != 2)
        return fail("range of " + site + " is not [min, max]");
      const float lo = range[0].get<float>(), hi = range[1].get<float>();
      if (!(lo <= hi)) return fail("range of " + site + " has min above max");
      record.ranges[site] = {lo, hi};
    }
  } catch (const std::exception& e) {
    return fail(fmt::format("a field is missing or has the wrong type ({})", e.what()));
  }
  if (record.ranges.empty() || record.frames <= 0) return fail("it holds no ranges");
  return std::optional<CalibrationRecord>{std::move(record)};
}

std::string default_calibration_cache_path(const std::string& weights, const std::string& model,
                                           int input_size, const std::string& fingerprint,
                                           const std::string& calibration_source) {
  Fnv1a source_hash;
  source_hash.add(calibration_source);
  const std::string key =
      calibration_source.empty() ? "synthetic" : hex16(source_hash.value()).substr(0, 8);
  if (!weights.empty()) return fmt::format("{}.int8-{}-{}.json", weights, input_size, key);
  const std::string dir = default_probe_cache_dir();
  if (dir.empty()) return {};
  return (std::filesystem::path(dir) / "calibration" /
          fmt::format("{}-{}-{}-{}.json", model, input_size, fingerprint, key))
      .string();
}

}  // namespace streaminfer
