#include "service/prometheus_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace streaminfer {

PrometheusHistogram::PrometheusHistogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void PrometheusHistogram::observe(double value) {
  const auto bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                          bounds_.begin());
  ++counts_[bucket];
  ++count_;
  sum_ += value;
}

std::vector<int64_t> PrometheusHistogram::cumulative_counts() const {
  std::vector<int64_t> cumulative(counts_.size());
  int64_t running = 0;
  for (size_t i = 0; i < counts_.size(); ++i) cumulative[i] = running += counts_[i];
  return cumulative;
}

std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  return fmt::format("{}", value);
}

namespace {

std::string label_text(const MetricLabels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += fmt::format("{}=\"{}\"", labels[i].first, escape_label_value(labels[i].second));
  }
  return out + "}";
}

}  // namespace

void PrometheusText::family(const std::string& name, const std::string& type,
                            const std::string& help) {
  // HELP text escapes backslash and newline only.
  std::string escaped;
  for (const char c : help) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escaped, name, type);
}

void PrometheusText::sample(const std::string& name, const MetricLabels& labels, double value) {
  if (common_labels_.empty()) {
    text_ += fmt::format("{}{} {}\n", name, label_text(labels), format_metric_value(value));
    return;
  }
  MetricLabels all = common_labels_;
  all.insert(all.end(), labels.begin(), labels.end());
  text_ += fmt::format("{}{} {}\n", name, label_text(all), format_metric_value(value));
}

void PrometheusText::histogram(const std::string& name, const MetricLabels& labels,
                               const PrometheusHistogram& histogram) {
  const auto cumulative = histogram.cumulative_counts();
  for (size_t i = 0; i < cumulative.size(); ++i) {
    MetricLabels with_le = labels;
    with_le.emplace_back("le", i < histogram.bounds().size()
                                   ? format_metric_value(histogram.bounds()[i])
                                   : std::string("+Inf"));
    sample(name + "_bucket", with_le, static_cast<double>(cumulative[i]));
  }
  sample(name + "_sum", labels, histogram.sum());
  sample(name + "_count", labels, static_cast<double>(histogram.count()));
}

}  // namespace streaminfer
