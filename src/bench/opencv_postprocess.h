#pragma once
// The outside reference of `streaminfer bench postprocess`: YOLOv8 decode written as in
// OpenCV's and Ultralytics' C++ examples (transpose the output, cv::minMaxLoc over each anchor's
// class scores, then cv::dnn::NMSBoxes with the per-class coordinate offset that makes it
// class-aware). Built only when CMake finds OpenCV's dnn module (Debian libopencv-dev), for the
// benchmark only; without it opencv_postprocess_available() is false and the row is skipped.
#include <string>
#include <vector>

#include "postprocess/yolo_decode.h"

namespace streaminfer {

// "OpenCV 4.6.0", or why there is no OpenCV row ("not built: libopencv-dev not found").
std::string opencv_postprocess_status();
bool opencv_postprocess_available();

// output: [batch, channels, anchors] floats. Same contract as decode_yolov8. Empty per frame
// when OpenCV is not available.
std::vector<std::vector<Detection>> decode_yolov8_opencv(const float* output, int batch,
                                                         int channels, int anchors,
                                                         const PostprocessOptions& options);

}  // namespace streaminfer
