// Linked instead of opencv_postprocess.cpp when CMake finds no OpenCV dnn module.
#include "bench/opencv_postprocess.h"

namespace streaminfer {

std::string opencv_postprocess_status() {
  return "not built: OpenCV's dnn module was not found (apt-get install libopencv-dev, then "
         "reconfigure)";
}
bool opencv_postprocess_available() { return false; }

std::vector<std::vector<Detection>> decode_yolov8_opencv(const float*, int batch, int, int,
                                                         const PostprocessOptions&) {
  return std::vector<std::vector<Detection>>(static_cast<size_t>(batch));
}

}  // namespace streaminfer
