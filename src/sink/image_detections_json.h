#pragma once
// The detections of a folder of images (`streaminfer annotate`) as one JSON document: either
// streaminfer's own layout (per image: file, size, detections with corner boxes) or COCO's
// results-with-images layout (images, categories, annotations with [x, y, w, h] boxes), which
// dataset tools (pycocotools, CVAT, FiftyOne) import.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "streaminfer/geometry.h"

namespace streaminfer {

struct ImageDetections {
  std::string file;  // the image's file name, as written next to the JSON
  int width = 0, height = 0;
  std::vector<Detection> detections;  // boxes in the image's pixels
};

// {"model": ..., "images": [{"file", "width", "height", "detections": [{"box": [x1, y1, x2, y2],
// "score", "class_id", "label"}]}]}; coordinates rounded to 0.01 px, scores to 1e-4.
nlohmann::json detections_json(const std::vector<ImageDetections>& images,
                               const std::vector<std::string>& labels, const std::string& model);

// COCO: "images" [{"id", "file_name", "width", "height"}], "categories" [{"id", "name"}] (every
// label of the model), "annotations" [{"id", "image_id", "category_id", "bbox": [x, y, w, h],
// "area", "iscrowd": 0, "score"}]. Ids start at 1, as in COCO: category_id is class_id + 1.
nlohmann::json detections_coco_json(const std::vector<ImageDetections>& images,
                                    const std::vector<std::string>& labels,
                                    const std::string& model);

}  // namespace streaminfer
