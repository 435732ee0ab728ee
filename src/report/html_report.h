#pragma once
// The self-contained HTML page of `streaminfer report`: the run's data as JSON in a
// <script type="application/json"> tag, uPlot and its stylesheet inlined, and report.js, which
// draws the charts when the page loads. The page references nothing outside itself.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "report/report_data.h"
#include "streaminfer/status.h"

namespace streaminfer {

// The data the page's script reads (columnar arrays, times in seconds since run start, values
// rounded to microseconds). `generated` is the time the report was made, shown in the header.
nlohmann::json report_page_data(const ReportData& data, const std::string& run_date,
                                const std::string& generated);

// The whole page.
std::string render_html_report(const nlohmann::json& page_data);

// Any self-contained chart page: uPlot and its stylesheet inlined, `data` as JSON in
// <script type="application/json" id="report-data">, then `script`, which draws into
// <div id="report">. The report and the benchmark plots are both made with it.
std::string render_chart_page(const std::string& title, const nlohmann::json& data,
                              std::string_view script);

Status write_html_report(const std::string& path, const std::string& html);

}  // namespace streaminfer
