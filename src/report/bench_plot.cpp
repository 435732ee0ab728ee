#include "report/bench_plot.h"

#include <fmt/format.h>

#include <cmath>

#include "report/chart_library.h"
#include "report/html_report.h"

namespace streaminfer {

using nlohmann::json;

namespace {

json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

}  // namespace

json bench_plot_data(const BenchPlot& plot) {
  json charts = json::array();
  for (const auto& c : plot.charts) {
    json series = json::array();
    for (const auto& s : c.series) {
      json values = json::array();
      for (size_t i = 0; i < c.x.size(); ++i) {
        values.push_back(i < s.values.size() ? number_or_null(s.values[i]) : json(nullptr));
      }
      series.push_back({{"label", s.label}, {"values", values}});
    }
    charts.push_back({{"title", c.title},
                      {"hint", c.hint},
                      {"x_label", c.x_label},
                      {"y_label", c.y_label},
                      {"x", c.x},
                      {"x_ticks", c.x_ticks},
                      {"log_x", c.log_x},
                      {"log_y", c.log_y},
                      {"points_only", c.points_only},
                      {"series", series}});
  }
  return {{"title", plot.title}, {"text", plot.text}, {"charts", charts}};
}

std::string render_bench_plot(const BenchPlot& plot) {
  return render_chart_page("streaminfer " + plot.title, bench_plot_data(plot), bench_plot_js());
}

Status write_bench_plot(const std::string& path, const BenchPlot& plot) {
  const Status written = write_html_report(path, render_bench_plot(plot));
  if (!written) return Status::error(fmt::format("{}: cannot write '{}'", plot.title, path));
  return Status::ok();
}

}  // namespace streaminfer
