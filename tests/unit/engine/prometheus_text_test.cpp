#include "service/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace streaminfer {
namespace {

TEST(PrometheusText, FamiliesSamplesAndEscapedLabels) {
  PrometheusText out;
  out.family("streaminfer_frames_total", "counter", "Frames with a result.\nSecond line \\ end");
  out.sample("streaminfer_frames_total", {{"stream", "a\"b\\c\nd"}}, 12);
  out.sample("streaminfer_frames_total", {}, 0.5);
  EXPECT_EQ(out.text(),
            "# HELP streaminfer_frames_total Frames with a result.\\nSecond line \\\\ end\n"
            "# TYPE streaminfer_frames_total counter\n"
            "streaminfer_frames_total{stream=\"a\\\"b\\\\c\\nd\"} 12\n"
            "streaminfer_frames_total 0.5\n");
}

TEST(PrometheusText, CommonLabelsComeFirstOnEverySample) {
  PrometheusText out(MetricLabels{{"worker", "host:8080"}});
  out.family("streaminfer_streams", "gauge", "Streams.");
  out.sample("streaminfer_streams", {}, 2);
  out.sample("streaminfer_streams", {{"stream", "a"}}, 1);
  PrometheusHistogram h({1});
  h.observe(0.5);
  out.histogram("streaminfer_batch_size", {}, h);
  EXPECT_NE(out.text().find("streaminfer_streams{worker=\"host:8080\"} 2\n"), std::string::npos)
      << out.text();
  EXPECT_NE(out.text().find("streaminfer_streams{worker=\"host:8080\",stream=\"a\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.text().find("streaminfer_batch_size_bucket{worker=\"host:8080\",le=\"1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.text().find("streaminfer_batch_size_count{worker=\"host:8080\"} 1\n"),
            std::string::npos);
}

TEST(PrometheusText, ValuesAreWrittenAsTheFormatNamesThem) {
  EXPECT_EQ(format_metric_value(3), "3");
  EXPECT_EQ(format_metric_value(-2), "-2");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
}

TEST(PrometheusText, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  PrometheusHistogram h({0.1, 1});
  for (double v : {0.05, 0.1, 0.5, 2.0, 3.0}) h.observe(v);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<int64_t>{2, 3, 5}));
  PrometheusText out;
  out.histogram("x_seconds", {{"stage", "inference"}}, h);
  EXPECT_EQ(out.text(),
            "x_seconds_bucket{stage=\"inference\",le=\"0.1\"} 2\n"
            "x_seconds_bucket{stage=\"inference\",le=\"1\"} 3\n"
            "x_seconds_bucket{stage=\"inference\",le=\"+Inf\"} 5\n"
            "x_seconds_sum{stage=\"inference\"} 5.65\n"
            "x_seconds_count{stage=\"inference\"} 5\n");
}

}  // namespace
}  // namespace streaminfer
