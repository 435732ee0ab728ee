#include "bench/opencv_postprocess.h"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <algorithm>

namespace streaminfer {

std::string opencv_postprocess_status() { return std::string("OpenCV ") + CV_VERSION; }
bool opencv_postprocess_available() { return true; }

std::vector<std::vector<Detection>> decode_yolov8_opencv(const float* output, int batch,
                                                         int channels, int anchors,
                                                         const PostprocessOptions& options) {
  std::vector<std::vector<Detection>> result(static_cast<size_t>(batch));
  const int classes = channels - 4;
  // Larger than any coordinate: boxes of different classes then never overlap.
  constexpr double kClassOffset = 1e5;
  for (int b = 0; b < batch; ++b) {
    // [channels, anchors] -> [anchors, channels], one row per anchor, as the examples do.
    const cv::Mat frame(channels, anchors, CV_32F,
                        const_cast<float*>(output + static_cast<size_t>(b) * channels * anchors));
    cv::Mat rows;
    cv::transpose(frame, rows);
    std::vector<cv::Rect2d> offset_boxes;
    std::vector<Box> float_boxes;
    std::vector<float> scores;
    std::vector<int> class_ids;
    for (int a = 0; a < anchors; ++a) {
      const float* row = rows.ptr<float>(a);
      const cv::Mat class_scores(1, classes, CV_32F, const_cast<float*>(row + 4));
      double max_score = 0;
      cv::Point max_at;
      cv::minMaxLoc(class_scores, nullptr, &max_score, nullptr, &max_at);
      if (max_score <= options.score_threshold) continue;
      // Corners in float, as the engine computes them, so kept boxes compare bit for bit.
      const float hw = row[2] * 0.5f, hh = row[3] * 0.5f;
      const Box corners{row[0] - hw, row[1] - hh, row[0] + hw, row[1] + hh};
      const cv::Rect2d box(corners.x1, corners.y1, corners.x2 - corners.x1,
                           corners.y2 - corners.y1);
      float_boxes.push_back(corners);
      offset_boxes.push_back(box + cv::Point2d(max_at.x * kClassOffset, max_at.x * kClassOffset));
      scores.push_back(static_cast<float>(max_score));
      class_ids.push_back(max_at.x);
    }
    std::vector<int> kept;
    // OpenCV's top_k cuts candidates before NMS; the engine's max_detections cuts after it.
    cv::dnn::NMSBoxes(offset_boxes, scores, options.score_threshold, options.iou_threshold, kept);
    if (options.max_detections >= 0 && kept.size() > static_cast<size_t>(options.max_detections)) {
      kept.resize(static_cast<size_t>(options.max_detections));
    }
    auto& detections = result[static_cast<size_t>(b)];
    for (int i : kept) {
      Detection d;
      d.box = float_boxes[static_cast<size_t>(i)];
      d.score = scores[static_cast<size_t>(i)];
      d.class_id = class_ids[static_cast<size_t>(i)];
      detections.push_back(d);
    }
  }
  return result;
}

}  // namespace streaminfer
