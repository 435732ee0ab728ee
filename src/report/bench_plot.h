#pragma once
// The HTML plot every `streaminfer bench` experiment writes next to its CSV: the table the
// terminal showed, then line charts (uPlot, inlined: the page references nothing outside itself).
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "streaminfer/status.h"

namespace streaminfer {

inline constexpr double kNoPoint = std::numeric_limits<double>::quiet_NaN();

struct BenchSeries {
  std::string label;
  std::vector<double> values;  // one per x; kNoPoint where this series has none
};

struct BenchChart {
  std::string title;
  std::string hint;  // one sentence under the title: how to read the chart
  std::string x_label, y_label;
  std::vector<double> x;              // ascending
  std::vector<std::string> x_ticks;   // when set: labels of x = 0, 1, 2, ... instead of numbers
  bool log_x = false, log_y = false;  // log scales (every value must then be > 0)
  bool points_only = false;           // markers without lines (e.g. per-iteration samples)
  std::vector<BenchSeries> series;
};

struct BenchPlot {
  std::string title;  // "bench batching"
  std::string text;   // the experiment's terminal output: system block and table
  std::vector<BenchChart> charts;
};

nlohmann::json bench_plot_data(const BenchPlot& plot);
std::string render_bench_plot(const BenchPlot& plot);
// Writes the page to `path` (creating its directory); fails naming the path.
Status write_bench_plot(const std::string& path, const BenchPlot& plot);

}  // namespace streaminfer
