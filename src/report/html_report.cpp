#include "report/html_report.h"

#include "common/atomic_file.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>

#include "report/chart_library.h"

namespace streaminfer {
namespace {

using nlohmann::json;

// Microsecond precision keeps the embedded JSON small; NaN (an empty cell) becomes null.
json ms(double value) {
  if (!std::isfinite(value)) return nullptr;
  return std::round(value * 1000.0) / 1000.0;
}

// Text placed inside <script> or <style> must not close the element early.
std::string escape_for_raw_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else if (text[i] == '<' && text.substr(i, 4) == "<!--") {
      out += "<\\!--";
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

// uPlot's banner names its home page; keep the credit without a URL, so that the page holds no
// network address at all.
std::string library_without_url() {
  std::string js(chart_library_js());
  const std::string_view url = "https://github.com/";
  if (const size_t at = js.find(url); at != std::string::npos && at < 16) {
    js.replace(at, url.size(), "uPlot, MIT licence, github.com/");
  }
  return js;
}

json batch_columns(const std::vector<BatchRow>& batches) {
  json t = json::array(), read = json::array(), prep = json::array(), exec = json::array(),
       post = json::array(), total = json::array(), size = json::array();
  for (const auto& b : batches) {
    t.push_back(ms(b.start_ms / 1000.0));
    read.push_back(ms(b.read_ms));
    prep.push_back(ms(b.prep_ms));
    exec.push_back(ms(b.exec_ms));
    post.push_back(ms(b.post_ms));
    total.push_back(ms(b.total_ms));
    size.push_back(b.batch_size);
  }
  return {{"t", t},       {"read", read},   {"prep", prep}, {"exec", exec},
          {"post", post}, {"total", total}, {"size", size}};
}

json frame_columns(const std::vector<FrameRow>& frames) {
  json t = json::array(), stream = json::array(), decode = json::array(),
       queue_wait = json::array(), batch_wait = json::array(), preprocess = json::array(),
       inference_wait = json::array(), exec = json::array(), post = json::array(),
       e2e = json::array();
  for (const auto& f : frames) {
    t.push_back(ms(f.done_ms / 1000.0));
    stream.push_back(f.stream);
    decode.push_back(ms(f.decode_ms));
    queue_wait.push_back(ms(f.queue_wait_ms));
    batch_wait.push_back(ms(f.batch_wait_ms));
    preprocess.push_back(ms(f.preprocess_ms));
    inference_wait.push_back(ms(f.inference_wait_ms));
    exec.push_back(ms(f.exec_ms));
    post.push_back(ms(f.post_ms));
    e2e.push_back(ms(f.end_to_end_ms));
  }
  return {{"t", t},
          {"stream", stream},
          {"decode", decode},
          {"queue_wait", queue_wait},
          {"batch_wait", batch_wait},
          {"preprocess", preprocess},
          {"inference_wait", inference_wait},
          {"exec", exec},
          {"post", post},
          {"end_to_end", e2e}};
}

json fps_columns(const std::vector<FrameRow>& frames) {
  const FpsSeries fps = fps_per_stream(frames);
  json streams = json::array();
  for (size_t i = 0; i < fps.stream_ids.size(); ++i) {
    json values = json::array();
    for (double v : fps.fps[i]) values.push_back(ms(v));
    streams.push_back({{"id", fps.stream_ids[i]}, {"fps", values}});
  }
  return {{"t", fps.seconds}, {"streams", streams}};
}

json queue_columns(const std::vector<QueueSample>& samples) {
  std::map<int, json> by_stream;
  for (const auto& q : samples) {
    json& s = by_stream[q.stream];
    if (s.is_null())
      s = {{"id", q.stream},
           {"t", json::array()},
           {"depth", json::array()},
           {"dropped", json::array()}};
    s["t"].push_back(ms(q.time_ms / 1000.0));
    s["depth"].push_back(q.depth);
    s["dropped"].push_back(q.dropped);
  }
  json streams = json::array();
  for (auto& [id, s] : by_stream) streams.push_back(std::move(s));
  return {{"streams", streams}};
}

constexpr std::string_view kPageStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 6px; }
.meta { color: #666; margin-bottom: 12px; } .note { color: #666; font-style: italic; }
.chart { margin: 8px 0 20px; } .hint { color: #555; margin: 0 0 6px; }
table { border-collapse: collapse; margin: 6px 0 14px; }
th, td { border: 1px solid #ccc; padding: 3px 9px; text-align: right; }
th { background: #f2f2f2; } td.text, th.text { text-align: left; }
.bottleneck { font-weight: 600; }
pre.table { background: #f7f7f7; padding: 8px 12px; overflow-x: auto; font-size: 12.5px; }
)";

}  // namespace

json report_page_data(const ReportData& data, const std::string& run_date,
                      const std::string& generated) {
  const auto name = [](const std::filesystem::path& p) -> json {
    return p.empty() ? json(nullptr) : json(p.filename().string());
  };
  json page = {{"model", data.files.model},
               {"pid", data.files.pid},
               {"run_date", run_date},
               {"generated", generated},
               {"files",
                {{"metrics", name(data.files.metrics)},
                 {"frames", name(data.files.frames)},
                 {"queues", name(data.files.queues)},
                 {"summary", name(data.files.summary)}}},
               {"batches", batch_columns(data.batches)},
               {"frames", nullptr},
               {"fps", nullptr},
               {"queues", nullptr},
               {"summary", data.summary}};
  if (!data.frames.empty()) {
    page["frames"] = frame_columns(data.frames);
    page["fps"] = fps_columns(data.frames);
  }
  if (!data.queues.empty()) page["queues"] = queue_columns(data.queues);
  return page;
}

std::string render_chart_page(const std::string& title, const json& data, std::string_view script) {
  // The title is text inside <title>; the JSON dump escapes what the data block needs.
  std::string safe_title;
  for (char c : title) {
    if (c == '<')
      safe_title += "&lt;";
    else if (c == '&')
      safe_title += "&amp;";
    else
      safe_title += c;
  }
  std::string html;
  html.reserve(chart_library_js().size() + 4096);
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>" + safe_title + "</title>\n";
  html += "<style>\n" + escape_for_raw_text(chart_library_css()) + "\n</style>\n";
  html += "<style>" + std::string(kPageStyle) + "</style>\n</head>\n<body>\n";
  html += "<div id=\"report\"></div>\n";
  html += "<script type=\"application/json\" id=\"report-data\">";
  html += escape_for_raw_text(data.dump(-1, ' ', false, json::error_handler_t::replace));
  html += "</script>\n<script>\n" + escape_for_raw_text(library_without_url()) + "\n</script>\n";
  html += "<script>\n" + escape_for_raw_text(ready_marker_js()) + "\n</script>\n";
  html += "<script>\n" + escape_for_raw_text(script) + "\n</script>\n</body>\n</html>\n";
  return html;
}

std::string render_html_report(const json& page_data) {
  const std::string model = page_data.value("model", "");
  return render_chart_page(
      fmt::format("streaminfer report: {} ({})", model, page_data.value("run_date", "")), page_data,
      report_js());
}

Status write_html_report(const std::string& path, const std::string& html) {
  return write_file_atomically(path, html, "report");
}

}  // namespace streaminfer
