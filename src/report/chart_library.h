#pragma once
// Files that `streaminfer report` inlines into its HTML, embedded at build time by
// cmake/embed_file.cmake (generated .cpp files in the build directory).
#include <string_view>

namespace streaminfer {

// uPlot (MIT licence), third_party/npm/node_modules/uplot/dist/uPlot.iife.min.js.
std::string_view chart_library_js();
// Its stylesheet, dist/uPlot.min.css.
std::string_view chart_library_css();
// The report's own chart-drawing code, src/report/report.js.
std::string_view report_js();
// streaminferMarkReady(charts), shared by both pages: src/report/ready_marker.js.
std::string_view ready_marker_js();
// The benchmark plots' chart-drawing code, src/report/bench_plot.js.
std::string_view bench_plot_js();

}  // namespace streaminfer
