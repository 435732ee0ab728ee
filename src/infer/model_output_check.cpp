#include "infer/model_output_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "common/text.h"

namespace streaminfer {

Status check_model_output(const ModelInfo& info, int64_t batch, const at::Tensor& output) {
  const bool detector = info.task == ModelTask::kDetect;
  const std::vector<int64_t> expected =
      detector ? std::vector<int64_t>{batch, 4 + info.num_classes, info.num_anchors}
               : std::vector<int64_t>{batch, info.num_classes};
  const auto sizes = output.sizes();
  const bool same_shape = std::vector<int64_t>(sizes.begin(), sizes.end()) == expected;
  if (same_shape && output.scalar_type() == at::kFloat && output.is_contiguous()) {
    return Status::ok();
  }
  if (!output.defined()) {
    return Status::error(
        fmt::format("model '{}' returned no tensor for a batch of {}", info.name, batch));
  }
  if (same_shape) {
    return Status::error(fmt::format(
        "model '{}' returned a {} {} tensor for a batch of {}; expected contiguous float32 (an "
        "internal error of the backend: please report it)",
        info.name, output.is_contiguous() ? "contiguous" : "non-contiguous",
        c10::toString(output.scalar_type()), batch));
  }
  const bool batch_ignored = output.dim() >= 1 && output.size(0) != batch;
  return Status::error(fmt::format(
      "model '{}' returned shape [{}] for a batch of {} frame(s); expected [{}]{}", info.name,
      fmt::join(sizes, ", "), batch, fmt::join(expected, ", "),
      batch_ignored ? ": its output does not follow the input's batch size (a model traced at "
                      "one batch size with a fixed view or reshape); export it with a dynamic "
                      "batch dimension, or run it with --batch-size 1"
                    : ""));
}

namespace {

// "RuntimeError: ...", "ValueError: ...", "c10::Error: ...": a name ending in Error or Exception,
// then ": " and the reason.
bool is_error_line(std::string_view line) {
  const size_t start = line.find_first_not_of(" \t");
  if (start == std::string_view::npos) return false;
  line.remove_prefix(start);
  const size_t colon = line.find(": ");
  if (colon == 0 || colon == std::string_view::npos || colon + 2 >= line.size()) return false;
  const std::string_view name = line.substr(0, colon);
  const auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '.';
  };
  if (!std::all_of(name.begin(), name.end(), name_char) ||
      std::isdigit(static_cast<unsigned char>(name.front()))) {
    return false;
  }
  return name.ends_with("Error") || name.ends_with("Exception");
}

}  // namespace

std::string error_reason(std::string_view what) {
  std::string_view reason;
  size_t start = 0;
  while (start < what.size()) {
    size_t end = what.find('\n', start);
    if (end == std::string_view::npos) end = what.size();
    const std::string_view line = what.substr(start, end - start);
    if (is_error_line(line)) reason = line.substr(line.find_first_not_of(" \t"));
    start = end + 1;
  }
  return reason.empty() ? first_line(what) : std::string(reason);
}

}  // namespace streaminfer
