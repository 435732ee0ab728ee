#include "config/run_options.h"

#include "config/shard.h"
#include "config/yaml_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "sink/mqtt_uri.h"

#include <algorithm>
#include <functional>
#include <map>

namespace streaminfer {

std::vector<std::string> default_sources() {
  std::vector<std::string> sources;
  for (int seed = 1; seed <= 4; ++seed) {
    sources.push_back(
        fmt::format("synthetic:?width=1280&height=720&fps=30&objects=6&seed={}&frames=300", seed));
  }
  return sources;
}

namespace {

using Setter = std::function<void(const YAML::Node&, RunOptions&)>;

template <typename T>
Setter set(T RunOptions::*field) {
  return [field](const YAML::Node& node, RunOptions& o) { o.*field = node.as<T>(); };
}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"source",
       [](const YAML::Node& node, RunOptions& o) {
         o.sources = node.IsSequence() ? node.as<std::vector<std::string>>()
                                       : std::vector<std::string>{node.as<std::string>()};
       }},
      {"sink",
       [](const YAML::Node& node, RunOptions& o) {
         o.sinks = node.IsSequence() ? node.as<std::vector<std::string>>()
                                     : std::vector<std::string>{node.as<std::string>()};
       }},
      {"model", set(&RunOptions::model)},
      {"weights", set(&RunOptions::weights)},
      {"imgsz", set(&RunOptions::imgsz)},
      {"batch-size", set(&RunOptions::batch_size)},
      {"max-wait-ms", set(&RunOptions::max_wait_ms)},
      {"threads", set(&RunOptions::threads)},
      {"micro-batch", set(&RunOptions::micro_batch)},
      {"tensor-cache-mb", set(&RunOptions::tensor_cache_mb)},
      {"decode-threads", set(&RunOptions::decode_threads)},
      {"warmup", set(&RunOptions::warmup)},
      {"max-frames", set(&RunOptions::max_frames)},
      {"every-nth", set(&RunOptions::every_nth)},
      {"sample-fps", set(&RunOptions::sample_fps)},
      {"stall-timeout", set(&RunOptions::stall_timeout)},
      {"max-reconnects", set(&RunOptions::max_reconnects)},
      {"max-steps", set(&RunOptions::max_steps)},
      {"pace", set(&RunOptions::pace)},
      {"queue-size", set(&RunOptions::queue_size)},
      {"conf", set(&RunOptions::conf)},
      {"iou", set(&RunOptions::iou)},
      {"max-det", set(&RunOptions::max_det)},
      {"device", set(&RunOptions::device)},
      {"precision", set(&RunOptions::precision)},
      {"split-point", set(&RunOptions::split_point)},
      {"output", set(&RunOptions::output)},
      {"metrics-dir", set(&RunOptions::metrics_dir)},
      {"trace", set(&RunOptions::trace)},
      {"core-bind", set(&RunOptions::core_bind)},
      {"shard", set(&RunOptions::shard)},
      {"progress", set(&RunOptions::progress)},
      {"mode", set(&RunOptions::mode)},
      {"retrain-lr", set(&RunOptions::retrain_lr)},
      {"retrain-save", set(&RunOptions::retrain_save)},
  };
  return table;
}

Status check_range(const char* flag, double value, double low, double high) {
  if (value >= low && value <= high) return Status::ok();
  return Status::error(fmt::format("--{} {}: must be between {} and {}", flag, value, low, high));
}

Status check_choice(const char* flag, const std::string& value,
                    const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return Status::ok();
  return Status::error(
      fmt::format("--{} {}: must be one of {}", flag, value, fmt::join(choices, ", ")));
}

}  // namespace

Status load_run_options_yaml(const std::string& path, RunOptions& options) {
  auto loaded = load_yaml_file(path, "--config");
  if (!loaded) return loaded.status();
  const YAML::Node root = loaded.value();
  if (root.IsNull()) return Status::ok();
  if (!root.IsMap()) {
    return Status::error(
        fmt::format("--config '{}': expected a mapping of flag names to values", path));
  }
  for (const auto& entry : root) {
    std::string key = entry.first.as<std::string>();
    std::replace(key.begin(), key.end(), '_', '-');
    auto found = setters().find(key);
    if (found == setters().end()) {
      return Status::error(fmt::format("--config '{}': unknown key '{}' (line {})", path, key,
                                       entry.first.Mark().line + 1));
    }
    try {
      found->second(entry.second, options);
    } catch (const YAML::Exception&) {
      return Status::error(
          fmt::format("--config '{}': key '{}' has a value of the wrong type "
                      "(line {})",
                      path, key, entry.second.Mark().line + 1));
    }
  }
  return Status::ok();
}

Status validate(const RunOptions& o) {
  SI_RETURN_IF_ERROR(check_range("batch-size", o.batch_size, 1, 256));
  SI_RETURN_IF_ERROR(check_range("max-wait-ms", o.max_wait_ms, 0, 60000));
  SI_RETURN_IF_ERROR(check_range("threads", o.threads, 0, 1024));
  SI_RETURN_IF_ERROR(check_range("micro-batch", o.micro_batch, 0, 1024));
  SI_RETURN_IF_ERROR(check_range("tensor-cache-mb", o.tensor_cache_mb, 0, 1 << 20));
  SI_RETURN_IF_ERROR(check_range("decode-threads", o.decode_threads, 0, 64));
  SI_RETURN_IF_ERROR(check_range("warmup", o.warmup, 0, 1000));
  SI_RETURN_IF_ERROR(check_range("max-frames", static_cast<double>(o.max_frames), 0, 1e15));
  SI_RETURN_IF_ERROR(check_range("max-steps", static_cast<double>(o.max_steps), 0, 1e15));
  SI_RETURN_IF_ERROR(check_range("every-nth", o.every_nth, 1, 1000000));
  SI_RETURN_IF_ERROR(check_range("sample-fps", o.sample_fps, 0, 10000));
  SI_RETURN_IF_ERROR(check_range("stall-timeout", o.stall_timeout, 0.1, 3600));
  SI_RETURN_IF_ERROR(check_range("max-reconnects", o.max_reconnects, -1, 1000000));
  SI_RETURN_IF_ERROR(check_range("queue-size", o.queue_size, 0, 4096));
  SI_RETURN_IF_ERROR(check_range("conf", o.conf, 0, 1));
  SI_RETURN_IF_ERROR(check_range("iou", o.iou, 0, 1));
  SI_RETURN_IF_ERROR(check_range("max-det", o.max_det, 1, 100000));
  if (o.imgsz != 0) SI_RETURN_IF_ERROR(check_range("imgsz", o.imgsz, 32, 4096));
  if (o.imgsz % 32 != 0) {
    return Status::error(fmt::format("--imgsz {}: must be a multiple of 32", o.imgsz));
  }
  SI_RETURN_IF_ERROR(check_choice("pace", o.pace, {"auto", "max", "realtime"}));
  SI_RETURN_IF_ERROR(check_choice("mode", o.mode, {"infer", "retrain"}));
  SI_RETURN_IF_ERROR(check_range("retrain-lr", o.retrain_lr, 1e-9, 10));
  if (!o.retrain_save.empty() && o.mode != "retrain") {
    return Status::error(fmt::format(
        "--retrain-save {}: only --mode retrain changes the weights; add --mode retrain",
        o.retrain_save));
  }
  SI_RETURN_IF_ERROR(check_choice("device", o.device, {"cpu", "cuda"}));
  SI_RETURN_IF_ERROR(check_choice("precision", o.precision, {"fp32", "fp16", "bf16", "int8"}));
  if (!o.shard.empty()) SI_RETURN_IF_ERROR(parse_shard(o.shard).status());
  for (const auto& source : o.sources) {
    if (source.empty()) return Status::error("--source: an empty source was given");
  }
  for (const auto& sink : o.sinks) {
    // Malformed sinks fail here, before the model loads; brokers are only contacted by the run.
    auto parsed = parse_mqtt_uri(sink);
    if (!parsed) return parsed.status();
  }
  return Status::ok();
}

}  // namespace streaminfer
